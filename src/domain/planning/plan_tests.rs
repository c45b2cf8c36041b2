//! `plan` as a table: an event and the facts storage would gather → the expected plan. No
//! database: the facts are written out, the templates and the renderer are a fake.

use super::*;
use crate::domain::reason::Reason;
use crate::domain::template::{MessageTemplate, StepDelay, TemplateStep};
use crate::domain::{
    Customer, Event, EventId, EventKind, Message, MessageId, MessageSettings, MessageStatus, Phone,
    Platform, Product, StatusChange, Store, StoreId,
};

/// 2025-11-18 12:00 in Brasília (a Tuesday, outside quiet hours).
const NOON: i64 = 1_763_478_000;
const DAY: i64 = 86_400;
const PHONE: &str = "+5511987654321";

/// Every kind ships two steps: one part now, two parts an hour later.
struct Fake;

impl Templates for Fake {
    fn shipped(&self, kind: EventKind, _: Platform) -> MessageTemplate {
        template(kind, &[&["first"], &["second", "second, part 2"]])
    }

    fn render(&self, part: &str, _: &Event, store_name: &str) -> Result<String, String> {
        match part {
            "BAD" => Err("line 1: unknown variable `x`".into()),
            "" => Ok(String::new()),
            text => Ok(format!("{text} ({store_name})")),
        }
    }
}

fn template(kind: EventKind, steps: &[&[&str]]) -> MessageTemplate {
    MessageTemplate {
        kind,
        enabled: true,
        ask_reply: Default::default(),
        steps: steps
            .iter()
            .enumerate()
            .map(|(i, parts)| TemplateStep {
                delay: StepDelay::After {
                    minutes: i as u32 * 60,
                },
                parts: parts.iter().map(|p| (*p).to_owned()).collect(),
            })
            .collect(),
    }
}

fn store(id: u64) -> Store {
    Store {
        id: StoreId(id),
        name: "Loja".into(),
        slug: "loja".into(),
        platform: Platform::Api,
        enabled: true,
        secret: None,
        webhook_token: "t".into(),
        created_at: 0,
        first_event_at: None,
        last_event_at: None,
        event_count: 0,
        test_mode: false,
        instance_id: None,
        public_name: String::new(),
    }
}

fn event(kind: EventKind, order: Option<&str>) -> Event {
    Event {
        platform: "api".into(),
        kind: Some(kind),
        platform_event: kind.as_str().into(),
        order_id: order.map(str::to_owned),
        customer: Customer {
            name: Some("Ana Souza".into()),
            phone: Some(Phone::parse(PHONE).expect("phone")),
            ..Customer::default()
        },
        products: vec![Product {
            name: "Curso".into(),
            id: None,
            quantity: Some(1),
            price_cents: Some(19_700),
            image_url: None,
        }],
        total_cents: Some(19_700),
        ..Event::default()
    }
}

/// A message already stored: (id, store, kind, order, status), due at NOON, product "curso".
fn stored(
    id: u64,
    store: u64,
    kind: EventKind,
    order: Option<&str>,
    status: MessageStatus,
) -> Message {
    Message {
        id: MessageId(id),
        store_id: StoreId(store),
        event_id: EventId(1),
        kind,
        step: 0,
        part: 0,
        order_id: order.map(str::to_owned),
        phone: PHONE.into(),
        buyer_name: None,
        product_key: "curso".into(),
        text: "oi".into(),
        due_at: NOON,
        status,
        history: vec![StatusChange {
            at: NOON - DAY,
            status,
            reason: None,
        }],
        test: false,
        created_at: NOON - DAY,
        attempts: 0,
        maybe_sent: false,
        wire_id: None,
        awaiting_reply: false,
        reply_role: None,
        instance_id: None,
    }
}

/// The facts of a fresh buyer in store 1.
fn facts<'a>(store: &'a Store, settings: &'a MessageSettings) -> Facts<'a> {
    Facts {
        event_id: EventId(9),
        store,
        public_name: "Doces da Ana",
        settings,
        saved_template: None,
        order_messages: Vec::new(),
        phone_messages: Vec::new(),
        order_closed: false,
        purchase_closed: None,
        opted_out: false,
        last_message_id: MessageId(10),
    }
}

/// A plan, short: cancels (ids, reason), credit candidates, refund, created (step, part,
/// status, reason, test).
type Created = (u32, u32, MessageStatus, Option<String>, bool);
type Short = (
    Option<(Vec<u64>, Reason)>,
    Option<Vec<u64>>,
    Option<String>,
    Vec<Created>,
);

fn short(plan: &Plan) -> Short {
    (
        plan.close
            .as_ref()
            .map(|c| (c.cancel.iter().map(|id| id.0).collect(), c.reason)),
        plan.credit
            .as_ref()
            .map(|c| c.candidates.iter().map(|id| id.0).collect()),
        plan.refund.clone(),
        plan.create
            .iter()
            .map(|m| {
                (
                    m.step,
                    m.part,
                    m.status,
                    m.reason().map(str::to_owned),
                    m.test,
                )
            })
            .collect(),
    )
}

fn scheduled(test: bool) -> Vec<Created> {
    [(0, 0), (1, 0), (1, 1)]
        .into_iter()
        .map(|(s, p)| (s, p, MessageStatus::Scheduled, None, test))
        .collect()
}

fn canceled(reason: Reason) -> Vec<Created> {
    [(0, 0), (1, 0), (1, 1)]
        .into_iter()
        .map(|(s, p)| {
            (
                s,
                p,
                MessageStatus::Canceled,
                Some(reason.code().into()),
                false,
            )
        })
        .collect()
}

#[test]
fn planning_table_event_and_facts_to_plan() {
    use EventKind::*;
    use MessageStatus::*;
    let settings = MessageSettings::default();
    let test_settings = MessageSettings {
        test_numbers: vec![PHONE.into()],
        ..MessageSettings::default()
    };
    let one = store(1);
    let off = Store {
        enabled: false,
        ..store(1)
    };
    let pix = event(PixGenerated, Some("A1"));
    let paid = event(OrderPaid, Some("A1"));
    let unnumbered_pix = event(PixGenerated, None);
    let refunded = event(OrderRefunded, Some("A1"));
    let pending_pix = stored(1, 1, PixGenerated, Some("A1"), Scheduled);
    let sent_pix = stored(2, 1, PixGenerated, Some("A1"), Sent);
    let unnumbered = stored(3, 1, CheckoutAbandoned, None, Queued);
    let other_store = stored(4, 2, PixGenerated, Some("B7"), Scheduled);
    let confirmation = stored(5, 1, OrderPaid, Some("A1"), Scheduled);
    let renewed = event(SubscriptionRenewed, Some("A1"));
    let started_paid = event(SubscriptionStarted, Some("A1"));
    let mut started_trial = event(SubscriptionStarted, Some("A1"));
    started_trial.subscription.status = Some("trialing".into());
    let mut started_free = event(SubscriptionStarted, Some("A1"));
    started_free.total_cents = None;
    let pending_boleto = stored(1, 1, BoletoGenerated, Some("A1"), Scheduled);
    let pending_overdue = stored(6, 1, SubscriptionOverdue, Some("A1"), Scheduled);
    let mut no_phone = pix.clone();
    no_phone.customer.phone = None;
    let mut saved_off = template(PixGenerated, &[&["first"]]);
    saved_off.enabled = false;

    let base = || facts(&one, &settings);
    let cases: Vec<(&str, &Event, Facts, Short)> = vec![
        (
            "no phone plans nothing",
            &no_phone,
            base(),
            (None, None, None, vec![]),
        ),
        (
            "a recovery is scheduled step by step",
            &pix,
            base(),
            (None, None, None, scheduled(false)),
        ),
        (
            "paid closes the order's and the buyer's pending reminders and credits the payment",
            &paid,
            Facts {
                order_messages: vec![pending_pix.clone(), sent_pix.clone()],
                phone_messages: vec![
                    pending_pix.clone(),
                    sent_pix.clone(),
                    unnumbered.clone(),
                    other_store.clone(),
                ],
                ..base()
            },
            (
                Some((vec![1, 3, 4], Reason::OrderClosed)),
                Some(vec![1, 2, 3]),
                None,
                scheduled(false),
            ),
        ),
        (
            "a paid renewal closes the charge's boleto and overdue reminders and credits it",
            &renewed,
            Facts {
                order_messages: vec![pending_boleto.clone(), pending_overdue.clone()],
                phone_messages: vec![pending_boleto.clone(), pending_overdue.clone()],
                ..base()
            },
            (
                Some((vec![1, 6], Reason::OrderClosed)),
                Some(vec![1, 6]),
                None,
                scheduled(false),
            ),
        ),
        (
            "a subscription that starts with a payment closes the charge's reminders",
            &started_paid,
            Facts {
                order_messages: vec![pending_boleto.clone()],
                ..base()
            },
            (
                Some((vec![1], Reason::OrderClosed)),
                Some(vec![1]),
                None,
                scheduled(false),
            ),
        ),
        (
            "a trial start is no payment: the boleto reminder stays",
            &started_trial,
            Facts {
                order_messages: vec![pending_boleto.clone()],
                ..base()
            },
            (None, None, None, scheduled(false)),
        ),
        (
            "a start without an amount is no payment either",
            &started_free,
            Facts {
                order_messages: vec![pending_boleto.clone()],
                ..base()
            },
            (None, None, None, scheduled(false)),
        ),
        (
            "the same confirmation twice plans it once",
            &paid,
            Facts {
                order_messages: vec![confirmation.clone()],
                phone_messages: vec![confirmation.clone()],
                ..base()
            },
            (
                Some((vec![], Reason::OrderClosed)),
                Some(vec![5]),
                None,
                vec![],
            ),
        ),
        (
            "a refund is recorded and its confirmation planned",
            &refunded,
            base(),
            (
                Some((vec![], Reason::OrderClosed)),
                None,
                Some("A1".into()),
                scheduled(false),
            ),
        ),
        (
            "an opted-out buyer's messages are canceled as planned",
            &pix,
            Facts {
                opted_out: true,
                ..base()
            },
            (None, None, None, canceled(Reason::OptedOut)),
        ),
        (
            "a recovery for a closed order is canceled as planned",
            &pix,
            Facts {
                order_closed: true,
                opted_out: true,
                ..base()
            },
            (None, None, None, canceled(Reason::OrderClosed)),
        ),
        (
            "a purchase closed in this store closes an unnumbered recovery",
            &unnumbered_pix,
            Facts {
                purchase_closed: Some((StoreId(1), NOON - DAY)),
                ..base()
            },
            (None, None, None, canceled(Reason::OrderClosed)),
        ),
        (
            "a purchase closed over 30 days ago is forgotten",
            &unnumbered_pix,
            Facts {
                purchase_closed: Some((StoreId(1), NOON - 31 * DAY)),
                ..base()
            },
            (None, None, None, scheduled(false)),
        ),
        (
            "the buyer cap counts this plan's own earlier steps",
            &pix,
            Facts {
                phone_messages: vec![
                    stored(6, 1, PixGenerated, Some("Z1"), Scheduled),
                    stored(7, 2, BoletoGenerated, Some("Z2"), Sent),
                    stored(8, 1, OrderPaid, Some("Z3"), Sent),
                    stored(9, 1, PixGenerated, Some("Z4"), Canceled),
                ],
                ..base()
            },
            (
                None,
                None,
                None,
                vec![
                    (0, 0, Scheduled, None, false),
                    (1, 0, Canceled, Some("buyer_cap".into()), false),
                    (1, 1, Canceled, Some("buyer_cap".into()), false),
                ],
            ),
        ),
        (
            "a merchant test number is never capped and goes to the sandbox",
            &pix,
            Facts {
                phone_messages: vec![
                    stored(6, 1, PixGenerated, Some("Z1"), Scheduled),
                    stored(7, 1, PixGenerated, Some("Z2"), Scheduled),
                    stored(8, 1, PixGenerated, Some("Z3"), Scheduled),
                ],
                ..facts(&one, &test_settings)
            },
            (None, None, None, scheduled(true)),
        ),
        (
            "a switched-off store still closes and credits but plans no messages",
            &paid,
            Facts {
                order_messages: vec![pending_pix.clone()],
                ..facts(&off, &settings)
            },
            (
                Some((vec![1], Reason::OrderClosed)),
                Some(vec![1]),
                None,
                vec![],
            ),
        ),
        (
            "a template switched off plans nothing",
            &pix,
            Facts {
                saved_template: Some(saved_off),
                ..base()
            },
            (None, None, None, vec![]),
        ),
        (
            "the store's template wins; an empty part is skipped; a render error fails",
            &pix,
            Facts {
                saved_template: Some(template(PixGenerated, &[&["", "BAD", "ok"]])),
                ..base()
            },
            (
                None,
                None,
                None,
                vec![
                    (
                        0,
                        0,
                        Failed,
                        Some("render_error: line 1: unknown variable `x`".into()),
                        false,
                    ),
                    (0, 1, Scheduled, None, false),
                ],
            ),
        ),
    ];
    for (name, event, facts, expected) in cases {
        let plan = plan(event, &Fake, &facts, NOON);
        assert_eq!(short(&plan), expected, "{name}");
        for (i, m) in plan.create.iter().enumerate() {
            assert_eq!(m.id.0, 11 + i as u64, "{name}: ids follow the last one");
            assert_eq!((m.event_id.0, m.created_at), (9, NOON), "{name}");
        }
    }
}

#[test]
fn planning_renders_once_with_due_times_and_part_spacing() {
    let settings = MessageSettings::default();
    let one = store(1);
    let plan = plan(
        &event(EventKind::PixGenerated, Some("A1")),
        &Fake,
        &facts(&one, &settings),
        NOON,
    );
    let got: Vec<(i64, &str, &str)> = plan
        .create
        .iter()
        .map(|m| (m.due_at - NOON, m.text.as_str(), m.product_key.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, "first (Doces da Ana)", "curso"),
            (3600, "second (Doces da Ana)", "curso"),
            (3605, "second, part 2 (Doces da Ana)", "curso"),
        ]
    );
}

#[test]
fn a_send_api_message_starts_at_its_requested_time_and_counts_toward_the_cap() {
    let settings = MessageSettings::default();
    let one = store(1);
    let due = |send_at: Option<i64>| {
        let mut request = event(EventKind::ApiSend, None);
        request.send_at = send_at;
        plan(&request, &Fake, &facts(&one, &settings), NOON).create[0].due_at - NOON
    };
    // Later: from then; absent or past: now. 02:00 next day is quiet: 08:00.
    assert_eq!(due(Some(NOON + 600)), 600);
    assert_eq!(due(None), 0);
    assert_eq!(due(Some(NOON - 600)), 0);
    assert_eq!(due(Some(NOON + 14 * 3600)), 20 * 3600);

    // Three earlier API sends fill the default cap (3 in 24 h): the fourth is canceled.
    let earlier: Vec<Message> = (1..=3)
        .map(|id| stored(id, 1, EventKind::ApiSend, None, MessageStatus::Scheduled))
        .collect();
    let capped = Facts {
        phone_messages: earlier,
        ..facts(&one, &settings)
    };
    let fourth = plan(&event(EventKind::ApiSend, None), &Fake, &capped, NOON);
    assert_eq!(fourth.create[0].status, MessageStatus::Canceled);
    assert_eq!(fourth.create[0].reason(), Some(Reason::BuyerCap.code()));
}

#[test]
fn planning_dar_baixa_closes_only_the_order() {
    use MessageStatus::*;
    let order = Order {
        store_id: StoreId(1),
        order_id: Some("A1"),
        phone: None,
        product_key: "",
    };
    let messages = [
        stored(1, 1, EventKind::PixGenerated, Some("A1"), Scheduled),
        stored(2, 1, EventKind::PixGenerated, Some("A1"), Sent),
        stored(3, 1, EventKind::OrderPaid, Some("A1"), Scheduled),
    ];
    let close = close(&order, false, Reason::MarkedPaid, &messages, &[]);
    assert_eq!(close.cancel, vec![MessageId(1)]);
    assert_eq!(
        (close.order_id.as_deref(), close.purchase),
        (Some("A1"), None)
    );
    assert_eq!(
        credit_candidates(&order, &messages, &[]),
        [1, 2, 3].map(MessageId)
    );
}

// The merchant's own kinds, with this file's fake templates and facts.
#[path = "plan_custom_tests.rs"]
mod custom;
