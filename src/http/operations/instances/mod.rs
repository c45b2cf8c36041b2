//! What the console and the API both do with instances: read them with their live state, today's
//! counters and queue (`Overview`, `InstanceView`: never a secret, the QR only for admins on the
//! live page), and create, change, delete and link them with their side effects on the channel
//! registry and the outbox. No actix types. The settings rules are in `rules`.

pub mod rules;

use std::collections::HashMap;

use serde::Serialize;

use crate::db::{Db, DbError};
use crate::domain::sending::Pacing;
use crate::domain::{Instance, InstanceId, InstanceMode, Store, StoreId};
use crate::http::AppState;
use crate::queue::channel::ChannelState;
use rules::{CheckedChange, apply_change, hhmm};

/// Scheduled messages counted for the queue column at most (beyond it the count says "or more").
pub const QUEUE_CAP: usize = 10_000;

/// The state as a page or API client may see it: the pairing QR only when `show_qr` (admins on
/// the live page); it would let whoever scans it attach their own phone.
pub fn state_json(state: &ChannelState, show_qr: bool) -> serde_json::Value {
    let mut value = serde_json::to_value(state).expect("channel state serialises");
    if let Some(map) = value.as_object_mut() {
        if !show_qr {
            // The QR payload and the pairing code link a phone to this number: admins only.
            map.remove("qr");
            map.remove("code");
        } else if let ChannelState::WaitingForQr { qr, .. } = state
            && let Some(svg) = qr_svg(qr)
        {
            map.insert("qr_svg".into(), svg.into());
        }
    }
    value
}

/// The pairing QR as an SVG image, drawn here so the page needs no QR library.
pub fn qr_svg(payload: &str) -> Option<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(payload, qrcode::EcLevel::L).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(264, 264)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Inline in the page: the XML declaration has no place in HTML.
    let start = image.find("<svg")?;
    Some(image[start..].to_owned())
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct QuietHoursView {
    pub start: String,
    pub end: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LinkedStoreView {
    #[schema(value_type = u64)]
    pub id: StoreId,
    pub name: String,
}

/// An instance as the API and the pages show it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct InstanceView {
    #[schema(value_type = u64)]
    pub id: InstanceId,
    pub name: String,
    /// `whatsapp` or `sandbox`.
    #[schema(value_type = String)]
    pub mode: InstanceMode,
    pub interval_s: u32,
    pub jitter_pct: u8,
    /// The interval is below `Pacing::WARN_BELOW_S`: WhatsApp may flag the number as robotic.
    pub interval_warning: bool,
    /// Sends per Brasília day; 0 means no limit.
    pub daily_limit: u32,
    /// Equal start and end mean no quiet hours.
    pub quiet_hours: QuietHoursView,
    pub typing_seconds: u8,
    pub created_at: i64,
    /// The channel's state (`connected`, `waiting_for_qr`, …) with its details.
    #[schema(value_type = Object)]
    pub state: serde_json::Value,
    pub connected: bool,
    pub sent_today: u32,
    pub daily_limit_reached: bool,
    pub last_sent_at: Option<i64>,
    /// When the next queued message goes out: the later of the earliest due message and the
    /// pacing slot. `None` when nothing is queued for this instance.
    pub next_send_at: Option<i64>,
    /// `next_send_at` has come: the outbox sends it on its next pass (if connected).
    pub next_send_due: bool,
    /// Now is inside the quiet hours: sending resumes at this time.
    pub quiet_until: Option<i64>,
    pub stores: Vec<LinkedStoreView>,
    /// Scheduled messages of the linked stores (counted up to `QUEUE_CAP`).
    pub queued: usize,
    pub queued_capped: bool,
}

/// What the views are built from, read in one go.
pub struct Overview {
    pub instances: Vec<Instance>,
    pub stores: Vec<Store>,
    /// Scheduled messages by store (store test-mode messages go to the test inbox, never
    /// through an instance, so they are not counted).
    pub queued_by_store: HashMap<StoreId, usize>,
    /// The earliest due time of each store's scheduled (non-test) messages.
    pub earliest_due_by_store: HashMap<StoreId, i64>,
    pub queue_capped: bool,
}

impl Overview {
    pub fn load(db: &Db) -> Result<Overview, DbError> {
        let mut instances = db.list_instances()?;
        instances.sort_by_key(|i| (i.name.to_lowercase(), i.id));
        let mut stores = db.list_stores()?;
        stores.sort_by_key(|s| (s.name.to_lowercase(), s.id));
        let due = db.due_messages(i64::MAX, QUEUE_CAP)?;
        let mut queued_by_store = HashMap::new();
        let mut earliest_due_by_store = HashMap::new();
        // In due order: the first of a store is its earliest.
        for message in due.iter().filter(|m| !m.test) {
            *queued_by_store.entry(message.store_id).or_insert(0) += 1;
            earliest_due_by_store
                .entry(message.store_id)
                .or_insert(message.due_at);
        }
        Ok(Overview {
            instances,
            stores,
            queued_by_store,
            earliest_due_by_store,
            queue_capped: due.len() >= QUEUE_CAP,
        })
    }

    pub fn view(
        &self,
        record: &Instance,
        state: &ChannelState,
        show_qr: bool,
        now: i64,
    ) -> InstanceView {
        let stores: Vec<&Store> = self
            .stores
            .iter()
            .filter(|s| s.instance_id == Some(record.id))
            .collect();
        let queued = stores
            .iter()
            .map(|s| self.queued_by_store.get(&s.id).copied().unwrap_or(0))
            .sum();
        let earliest_due = stores
            .iter()
            .filter_map(|s| self.earliest_due_by_store.get(&s.id).copied())
            .min();
        let next_send_at = earliest_due.map(|due| due.max(record.next_slot));
        let quiet = record.quiet_hours;
        InstanceView {
            id: record.id,
            name: record.name.clone(),
            mode: record.mode,
            interval_s: record.pacing.interval_s,
            jitter_pct: record.pacing.jitter_pct,
            interval_warning: record.pacing.interval_s < Pacing::WARN_BELOW_S,
            daily_limit: record.daily_limit,
            quiet_hours: QuietHoursView {
                start: hhmm(quiet.start_min),
                end: hhmm(quiet.end_min),
            },
            typing_seconds: record.typing_seconds,
            created_at: record.created_at,
            state: state_json(state, show_qr),
            connected: state.is_connected(),
            sent_today: record.sent_on(now),
            daily_limit_reached: record.daily_limit_reached(now),
            last_sent_at: record.last_sent_at,
            next_send_at,
            next_send_due: next_send_at.is_some_and(|at| at <= now),
            quiet_until: quiet.contains(now).then(|| quiet.defer(now)),
            stores: stores
                .iter()
                .map(|s| LinkedStoreView {
                    id: s.id,
                    name: s.name.clone(),
                })
                .collect(),
            queued,
            queued_capped: self.queue_capped,
        }
    }

    pub fn find(&self, id: InstanceId) -> Option<&Instance> {
        self.instances.iter().find(|i| i.id == id)
    }
}

/// Every instance's view as the lists show it (no QR), with the overview they were built from.
pub async fn load_views(state: &AppState) -> Result<(Vec<InstanceView>, Overview), DbError> {
    let overview = state.run(Overview::load).await?;
    let now = state.clock.now();
    let views = overview
        .instances
        .iter()
        .map(|r| overview.view(r, &state.channels.state(r.id), false, now))
        .collect();
    Ok((views, overview))
}

/// One instance's view, read fresh (`NotFound` for an unknown id).
pub async fn load_view(
    state: &AppState,
    id: InstanceId,
    show_qr: bool,
) -> Result<(InstanceView, Overview), DbError> {
    let overview = state.run(Overview::load).await?;
    let record = overview.find(id).ok_or(DbError::NotFound)?;
    let live = state.channels.state(id);
    let view = overview.view(record, &live, show_qr, state.clock.now());
    Ok((view, overview))
}

/// Links `store_id` to `instance_id` (moving it from any other instance) and wakes the outbox:
/// the store's waiting messages may go now.
pub async fn link_store(
    state: &AppState,
    instance_id: InstanceId,
    store_id: StoreId,
) -> Result<(), DbError> {
    state
        .run(move |db| {
            db.instance(instance_id)?;
            db.update_store(store_id, |s| s.instance_id = Some(instance_id))?;
            Ok(())
        })
        .await?;
    state.outbox_wake.notify_one();
    Ok(())
}

/// Unlinks `store_id` if it sends through `instance_id`; its messages wait for a new link.
pub async fn unlink_store(
    state: &AppState,
    instance_id: InstanceId,
    store_id: StoreId,
) -> Result<(), DbError> {
    state
        .run(move |db| {
            db.instance(instance_id)?;
            db.update_store(store_id, |s| {
                if s.instance_id == Some(instance_id) {
                    s.instance_id = None;
                }
            })?;
            Ok(())
        })
        .await
}

/// Creates an instance and gives it its channel (a sandbox is connected at once).
pub async fn create_instance(
    state: &AppState,
    name: String,
    mode: InstanceMode,
) -> Result<Instance, DbError> {
    let new = Instance::new(&name, mode, state.clock.now());
    let record = state.run(move |db| db.create_instance(new)).await?;
    state.channels.ensure(&record);
    if record.mode == InstanceMode::Sandbox {
        state.outbox_wake.notify_one();
    }
    Ok(record)
}

/// Saves a checked change, re-homes the channel when the mode changed and wakes the outbox.
pub async fn save_instance(
    state: &AppState,
    id: InstanceId,
    change: CheckedChange,
) -> Result<Instance, DbError> {
    let mode_changed = change.changes_mode();
    let record = state.run(move |db| apply_change(db, id, change)).await?;
    if mode_changed {
        state.channels.ensure(&record);
    }
    state.outbox_wake.notify_one();
    Ok(record)
}

/// Deletes an instance; its stores are unlinked and its channel goes.
pub async fn delete_instance(state: &AppState, id: InstanceId) -> Result<(), DbError> {
    state.run(move |db| db.delete_instance(id)).await?;
    state.channels.remove(id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_qr_is_left_out_unless_asked_for() {
        let state = ChannelState::WaitingForQr {
            qr: "2@secret".into(),
            expires_at: 9,
        };
        assert_eq!(
            state_json(&state, false),
            json!({"state": "waiting_for_qr", "expires_at": 9})
        );
        assert_eq!(state_json(&state, true)["qr"], "2@secret");
    }
}
