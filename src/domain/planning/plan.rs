//! The plan of one recognised event, pure: which pending reminders the happy path cancels, which
//! payment is credited to a recovery, and which messages are created, rendered once, with their
//! due time and their first status (scheduled, or canceled by the buyer cap, an opt-out or a
//! closed order, or failed when the template does not render). `db` gathers the `Facts` and
//! applies the `Plan` in the intake's write transaction.

use std::borrow::Cow;

use super::{
    closed_by_payment, closes_order, counts_toward_cap, due_time, is_recovery, pays_a_charge,
};
use crate::domain::deliverability::ReplyRole;
use crate::domain::reason::Reason;
use crate::domain::template::MessageTemplate;
use crate::domain::{
    Event, EventId, EventKind, Message, MessageId, MessageSettings, MessageStatus, Platform,
    StatusChange, Store, StoreId,
};

/// A phone+product purchase closes reminders of that buyer for this long (days).
pub const PURCHASE_MEMORY_DAYS: i64 = 30;

/// Product names, sorted and joined: the same purchase across platforms and order ids.
pub fn product_key(event: &Event) -> String {
    let mut names: Vec<String> = event
        .products
        .iter()
        .map(|p| p.name.trim().to_lowercase())
        .collect();
    names.sort();
    names.join("|")
}

/// The shipped templates and the renderer (`render` in production): planning renders once, and
/// `domain` does not depend on `render`, so they come in from outside.
pub trait Templates {
    /// The template avisa ships for `kind` in a store of `platform`, used when the store saved
    /// none.
    fn shipped(&self, kind: EventKind, platform: Platform) -> MessageTemplate;
    /// One part's text for this event; `Err` says why it does not render.
    /// `public_name` is the store's buyer-facing name.
    fn render(&self, part: &str, event: &Event, public_name: &str) -> Result<String, String>;
}

/// What storage knows when an event is planned, read in the same write transaction.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    /// The stored event the messages come from.
    pub event_id: EventId,
    pub store: &'a Store,
    /// The name buyers read for the store (`Store::buyer_facing_name`), never its nickname.
    pub public_name: &'a str,
    pub settings: &'a MessageSettings,
    /// The store's own template for the event's kind, if it saved one.
    pub saved_template: Option<MessageTemplate>,
    /// The messages already planned for this order in this store, by id.
    pub order_messages: Vec<Message>,
    /// The messages already planned for this buyer's phone, in every store, by id.
    pub phone_messages: Vec<Message>,
    /// The order was closed before (paid, canceled, …).
    pub order_closed: bool,
    /// The buyer's purchase of these products was closed: (store, when).
    pub purchase_closed: Option<(StoreId, i64)>,
    /// The buyer is on the opt-out list.
    pub opted_out: bool,
    /// The last message id used; new messages take the ones after it.
    pub last_message_id: MessageId,
}

/// The order (or buyer purchase) a close or a credit is about.
#[derive(Clone, Copy, Debug)]
pub struct Order<'a> {
    pub store_id: StoreId,
    pub order_id: Option<&'a str>,
    pub phone: Option<&'a str>,
    /// `product_key` of the event; empty when it named no products.
    pub product_key: &'a str,
}

impl Order<'_> {
    /// The phone and products, when both are known (purchases without an order id match on them).
    fn purchase(&self) -> Option<(&str, &str)> {
        self.phone
            .filter(|_| !self.product_key.is_empty())
            .map(|phone| (phone, self.product_key))
    }
}

/// The happy path: record the order (and the buyer's purchase) closed, cancel these reminders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Close {
    pub order_id: Option<String>,
    /// (phone, product key).
    pub purchase: Option<(String, String)>,
    /// Pending recovery messages to cancel, by id.
    pub cancel: Vec<MessageId>,
    pub reason: Reason,
}

/// A payment to credit to the recovery message that preceded it (Relatórios).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credit {
    pub order_id: String,
    /// From the paid event; `None` falls back to the credited message's event.
    pub amount_cents: Option<i64>,
    /// The attribution window (seconds).
    pub window_s: i64,
    /// The order's messages and the buyer's unnumbered ones for the same purchase, by id.
    pub candidates: Vec<MessageId>,
}

/// What planning one event does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub close: Option<Close>,
    pub credit: Option<Credit>,
    /// A refund or chargeback of this order: a recovered order shows it.
    pub refund: Option<String>,
    /// The messages to write, with their ids.
    pub create: Vec<Message>,
}

/// The happy path for `order`: its pending reminders (and, without an order id or across stores
/// when `cross_store`, the buyer's reminders for the same products) are canceled with `reason`.
pub fn close(
    order: &Order<'_>,
    cross_store: bool,
    reason: Reason,
    order_messages: &[Message],
    phone_messages: &[Message],
) -> Close {
    let mut candidates: Vec<&Message> = Vec::new();
    if order.order_id.is_some() {
        candidates.extend(order_messages);
    }
    if let Some((_, key)) = order.purchase() {
        candidates.extend(phone_messages.iter().filter(|m| {
            let same_purchase = m.product_key == key;
            let same_store_unnumbered =
                m.store_id == order.store_id && (m.order_id.is_none() || order.order_id.is_none());
            let other_store = m.store_id != order.store_id && cross_store;
            same_purchase && (same_store_unnumbered || other_store)
        }));
    }
    let mut cancel: Vec<MessageId> = candidates
        .into_iter()
        .filter(|m| closed_by_payment(m.kind) && m.status.is_pending())
        .map(|m| m.id)
        .collect();
    cancel.sort_unstable();
    cancel.dedup();
    Close {
        order_id: order.order_id.map(str::to_owned),
        purchase: order
            .purchase()
            .map(|(phone, key)| (phone.to_owned(), key.to_owned())),
        cancel,
        reason,
    }
}

/// The messages a payment of `order` may be credited to: the order's, then the buyer's
/// unnumbered ones for the same purchase in the same store.
pub fn credit_candidates(
    order: &Order<'_>,
    order_messages: &[Message],
    phone_messages: &[Message],
) -> Vec<MessageId> {
    let mut candidates: Vec<MessageId> = order_messages.iter().map(|m| m.id).collect();
    if let Some((_, key)) = order.purchase() {
        candidates.extend(
            phone_messages
                .iter()
                .filter(|m| {
                    m.store_id == order.store_id && m.order_id.is_none() && m.product_key == key
                })
                .map(|m| m.id),
        );
    }
    candidates
}

/// True when a recovery event comes for an order (or purchase) already closed.
fn already_closed(event: &Event, key: &str, facts: &Facts<'_>, now: i64) -> bool {
    if event.order_id.is_some() && facts.order_closed {
        return true;
    }
    if key.is_empty() {
        return false;
    }
    match facts.purchase_closed {
        Some((closed_store, at)) if now - at < PURCHASE_MEMORY_DAYS * 86_400 => {
            (closed_store == facts.store.id && event.order_id.is_none())
                || (closed_store != facts.store.id && facts.settings.cross_store_happy_path)
        }
        _ => false,
    }
}

/// Reminders among `messages` that count toward the buyer's cap around `due`.
fn capped_count<'m>(messages: impl Iterator<Item = &'m Message>, due: i64, window: i64) -> u32 {
    messages
        .filter(|m| {
            m.part == 0
                && counts_toward_cap(m.kind)
                && m.status.is_live()
                && !m.test
                && (m.due_at - due).abs() < window
        })
        .count() as u32
}

/// Plans one recognised event received at `now`: the happy path, the recovery credit, and the
/// messages of the kind's template (the store's, or the shipped one), each step due by its delay
/// and rendered once. An event without a kind or a phone plans nothing.
pub fn plan(event: &Event, templates: &impl Templates, facts: &Facts<'_>, now: i64) -> Plan {
    let (Some(kind), Some(phone)) = (event.kind, event.customer.phone.as_ref()) else {
        return Plan::default();
    };
    let key = product_key(event);
    let order = Order {
        store_id: facts.store.id,
        order_id: event.order_id.as_deref(),
        phone: Some(phone.as_str()),
        product_key: &key,
    };
    let mut plan = happy_path(kind, event, &order, facts);
    // A switched-off store still closes and credits its orders; it plans no messages.
    if facts.store.enabled {
        plan.create = messages(kind, event, &order, templates, facts, now);
    }
    plan
}

/// What the event does to the order it belongs to: a closing kind cancels its reminders, a
/// payment is credited to a recovery, a refund or chargeback is shown on a recovered order.
fn happy_path(kind: EventKind, event: &Event, order: &Order<'_>, facts: &Facts<'_>) -> Plan {
    let settings = facts.settings;
    let mut plan = Plan::default();
    if closes_order(event) {
        plan.close = Some(close(
            order,
            settings.cross_store_happy_path,
            Reason::OrderClosed,
            &facts.order_messages,
            &facts.phone_messages,
        ));
    }
    if let Some(order_id) = event.order_id.as_deref() {
        match kind {
            _ if pays_a_charge(event) => {
                plan.credit = Some(Credit {
                    order_id: order_id.to_owned(),
                    amount_cents: event.total_cents,
                    window_s: i64::from(settings.attribution_days) * 86_400,
                    candidates: credit_candidates(
                        order,
                        &facts.order_messages,
                        &facts.phone_messages,
                    ),
                })
            }
            EventKind::OrderRefunded | EventKind::OrderChargeback => {
                plan.refund = Some(order_id.to_owned())
            }
            _ => {}
        }
    }
    plan
}

/// The messages of the kind's template for this buyer, each with its first status: scheduled,
/// or canceled (closed order, opt-out, buyer cap), or failed when its text does not render.
fn messages(
    kind: EventKind,
    event: &Event,
    order: &Order<'_>,
    templates: &impl Templates,
    facts: &Facts<'_>,
    now: i64,
) -> Vec<Message> {
    let (store, settings) = (facts.store, facts.settings);
    let template = match &facts.saved_template {
        Some(saved) => Cow::Borrowed(saved),
        None => Cow::Owned(templates.shipped(kind, store.platform)),
    };
    if !template.enabled {
        return Vec::new();
    }
    // The same confirmation twice for one order (two platforms' events, a re-sent paid): once.
    if !is_recovery(kind)
        && event.order_id.is_some()
        && facts
            .order_messages
            .iter()
            .any(|m| m.kind == kind && m.status.is_live())
    {
        return Vec::new();
    }
    let phone = order.phone.unwrap_or_default();
    let closed = is_recovery(kind) && already_closed(event, order.product_key, facts, now);
    let test = store.test_mode || settings.test_numbers.iter().any(|t| t == phone);
    let window = i64::from(settings.cap_window_hours) * 3600;
    // A send API request may name a later time; the steps count from it.
    let start = event.send_at.filter(|at| *at > now).unwrap_or(now);
    let mut created: Vec<Message> = Vec::new();
    for (step_index, step) in template.steps.iter().enumerate() {
        let Some(due) = due_time(
            start,
            kind,
            step_index,
            step.delay,
            event.payment.due_at.as_deref(),
            settings.quiet_hours,
        ) else {
            continue;
        };
        // The buyer's reminders so far, this plan's own earlier steps included.
        let capped = counts_toward_cap(kind)
            && !test
            && capped_count(facts.phone_messages.iter().chain(&created), due, window)
                >= settings.buyer_cap;
        // Why this step's messages are canceled as they are planned, first match wins.
        let stop = if closed {
            Some(Reason::OrderClosed)
        } else if facts.opted_out {
            Some(Reason::OptedOut)
        } else if capped {
            Some(Reason::BuyerCap)
        } else {
            None
        };
        let rendered: Vec<(String, Option<String>)> = step
            .parts
            .iter()
            .filter_map(
                |part| match templates.render(part, event, facts.public_name) {
                    Ok(text) if text.is_empty() => None,
                    Ok(text) => Some((text, None)),
                    Err(e) => Some((String::new(), Some(Reason::RenderError.with(e)))),
                },
            )
            .collect();
        // "Pedir resposta": the first step opens with the invitation; its parts wait for it.
        let invite = (step_index == 0 && template.ask_reply.enabled && !rendered.is_empty())
            .then(|| {
                let ask = &template.ask_reply;
                match templates.render(ask.invite_text(kind), event, facts.public_name) {
                    Ok(text) if text.is_empty() => None,
                    Ok(text) => Some((text, None)),
                    Err(e) => Some((String::new(), Some(Reason::RenderError.with(e)))),
                }
            })
            .flatten();
        let first_id = MessageId(facts.last_message_id.0 + created.len() as u64 + 1);
        let timeout_min = template.ask_reply.timeout_min;
        let roles = std::iter::once(
            invite
                .is_some()
                .then_some(ReplyRole::Invite { timeout_min }),
        )
        .chain(std::iter::repeat(invite.is_some().then_some(
            ReplyRole::Held {
                invite: first_id,
                timeout_min,
                first_due: due,
            },
        )));
        for (part_index, ((text, failure), role)) in
            invite.into_iter().chain(rendered).zip(roles).enumerate()
        {
            let part_index = part_index as u32;
            let (status, reason) = match (failure, stop) {
                (Some(f), _) => (MessageStatus::Failed, Some(f)),
                (None, Some(stop)) => (MessageStatus::Canceled, Some(stop.code().to_owned())),
                (None, None) if matches!(role, Some(ReplyRole::Held { .. })) => (
                    MessageStatus::Scheduled,
                    Some(Reason::AwaitingReply.code().to_owned()),
                ),
                (None, None) => (MessageStatus::Scheduled, None),
            };
            // A held part's due time assumes the invitation goes on time; `db` moves it to
            // the invitation's real send time (plus the wait) or to the buyer's answer.
            let wait = match role {
                Some(ReplyRole::Held { .. }) => i64::from(timeout_min) * 60,
                _ => 0,
            };
            created.push(Message {
                id: MessageId(facts.last_message_id.0 + created.len() as u64 + 1),
                store_id: store.id,
                event_id: facts.event_id,
                kind,
                step: step_index as u32,
                part: part_index,
                order_id: event.order_id.clone(),
                phone: phone.to_owned(),
                buyer_name: event.customer.name.clone(),
                product_key: order.product_key.to_owned(),
                text,
                // Parts of one step keep their order: a few seconds apart.
                due_at: due + wait + i64::from(part_index) * 5,
                status,
                history: vec![StatusChange {
                    at: now,
                    status,
                    reason,
                }],
                test,
                created_at: now,
                attempts: 0,
                maybe_sent: false,
                wire_id: None,
                awaiting_reply: false,
                reply_role: role,
                instance_id: None,
            });
        }
    }
    created
}
