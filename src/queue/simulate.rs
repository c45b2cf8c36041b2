//! A dry run of planning: webhook bodies replayed in order through recognition and planning, on
//! a throwaway data file and a virtual clock, reporting what would be sent and what the happy
//! path canceled. `avisa simulate` prints it; the planning specs use it as their test bed.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::db::{Db, DbError, DbOptions, Delivery, MessageFilter, RawDelivery};

use crate::domain::NewStore;
use crate::domain::{MessageId, MessageStatus, Platform, StoreId};
use crate::ingest::{self, Request};

/// One outcome line.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outcome {
    Planned {
        file: String,
        kind: String,
        step: u32,
        due_in_s: i64,
        text: String,
    },
    Canceled {
        file: String,
        kind: String,
        step: u32,
        reason: String,
    },
    /// The file was read but plans nothing (unmapped, invalid, template off, duplicate).
    Ignored {
        file: String,
        status: String,
        reason: String,
    },
}

/// One input: a name for the report, the platform, headers and body.
pub struct Input {
    pub name: String,
    pub platform: Platform,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Replays `inputs`, `step_s` virtual seconds apart, each platform in a store of its own.
pub fn simulate(
    work_dir: &Path,
    inputs: &[Input],
    start: i64,
    step_s: i64,
) -> Result<Vec<Outcome>, DbError> {
    let db = Db::open(
        work_dir,
        &DbOptions {
            cache_bytes: 4 << 20,
            ..DbOptions::default()
        },
    )?;
    let mut stores: HashMap<Platform, StoreId> = HashMap::new();
    let mut seen: HashMap<MessageId, MessageStatus> = HashMap::new();
    let mut outcomes = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let now = start + i as i64 * step_s;
        let store = match stores.get(&input.platform) {
            Some(id) => *id,
            None => {
                let record = db.create_store(NewStore {
                    name: format!("Loja {}", input.platform.label()),
                    slug: input.platform.id().into(),
                    platform: input.platform,
                    enabled: true,
                    secret: None,
                    webhook_token: format!("simulate-{}", input.platform.id()),
                    created_at: now,
                })?;
                stores.insert(input.platform, record.id);
                record.id
            }
        };
        let readings = ingest::recognise(
            input.platform,
            &Request::new(&input.body, &input.headers, ""),
        );
        let recorded = db.record_deliveries(&[Delivery {
            store_id: store,
            received_at: now,
            raw: RawDelivery::default(),
            readings: readings.clone(),
        }])?;
        let messages = db.list_messages(&MessageFilter {
            limit: usize::MAX,
            ..MessageFilter::default()
        })?;
        let before = outcomes.len();
        for m in messages.iter().rev() {
            let previous = seen.insert(m.id, m.status);
            let file = input.name.clone();
            match (previous, m.status) {
                (None, MessageStatus::Scheduled) => outcomes.push(Outcome::Planned {
                    file,
                    kind: m.kind.as_str().into(),
                    step: m.step,
                    due_in_s: m.due_at - now,
                    text: m.text.clone(),
                }),
                (prev, MessageStatus::Canceled) if prev != Some(MessageStatus::Canceled) => {
                    outcomes.push(Outcome::Canceled {
                        file,
                        kind: m.kind.as_str().into(),
                        step: m.step,
                        reason: m.reason().unwrap_or_default().into(),
                    })
                }
                _ => {}
            }
        }
        if outcomes.len() == before {
            let reading = readings.first();
            let status = reading
                .map(|r| {
                    serde_json::to_value(r.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            let duplicate = recorded
                .first()
                .and_then(|r| r.first())
                .is_some_and(|r| matches!(r, crate::db::Recorded::Duplicate(_)));
            let reason = if duplicate {
                "duplicate".to_owned()
            } else {
                reading
                    .and_then(|r| r.reason.as_ref().map(|r| r.detail.clone()))
                    .unwrap_or_else(|| {
                        "nothing to send for this event (template off or nothing new)".to_owned()
                    })
            };
            outcomes.push(Outcome::Ignored {
                file: input.name.clone(),
                status,
                reason,
            });
        }
    }
    Ok(outcomes)
}
