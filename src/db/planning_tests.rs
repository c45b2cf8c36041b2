//! Planning and happy-path rules as table tests, replayed through `simulate` with avisa's own
//! event format (`platform: api`).

use serde_json::json;

use crate::domain::Platform;
use crate::queue::simulate::{Input, Outcome, simulate};

/// 2025-11-18 12:00 in Brasília (a Tuesday, outside quiet hours).
const NOON: i64 = 1_763_478_000;

fn api(kind: &str, id: &str, order: Option<&str>, phone: &str, product: &str) -> Input {
    let mut body = json!({
        "kind": kind,
        "event_id": id,
        "customer": { "name": "Ana Souza", "phone": phone },
        "products": [ { "name": product, "quantity": 1, "price_cents": 19700 } ],
        "total_cents": 19700,
        "payment": { "boleto_url": "https://b.example/1", "boleto_barcode": "34191.79001 01043.510047 91020.150008 5 84460000019700", "pix_code": "000201PIX", "due_at": "2026-11-21" }
    });
    if let Some(order) = order {
        body["order_id"] = json!(order);
    }
    Input {
        name: format!("{id}:{kind}"),
        platform: Platform::Api,
        headers: Vec::new(),
        body: body.to_string().into_bytes(),
    }
}

fn run(inputs: &[Input]) -> Vec<Outcome> {
    let tmp = tempfile::tempdir().expect("tempdir");
    simulate(tmp.path(), inputs, NOON, 60).expect("simulates")
}

fn summary(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Planned {
                file, kind, step, ..
            } => format!("{file} planned {kind}#{step}"),
            Outcome::Canceled {
                file,
                kind,
                step,
                reason,
            } => format!("{file} canceled {kind}#{step} {reason}"),
            Outcome::Ignored { file, .. } => format!("{file} ignored"),
        })
        .collect()
}

#[test]
fn boleto_then_paid_cancels_the_reminders_and_confirms() {
    let got = summary(&run(&[
        api("boleto.generated", "e1", Some("O1"), "11987654321", "Curso"),
        api("order.paid", "e2", Some("O1"), "11987654321", "Curso"),
    ]));
    assert_eq!(
        got,
        [
            "e1:boleto.generated planned boleto.generated#0",
            "e1:boleto.generated planned boleto.generated#0",
            "e1:boleto.generated planned boleto.generated#1",
            "e1:boleto.generated planned boleto.generated#2",
            "e2:order.paid canceled boleto.generated#0 order_closed",
            "e2:order.paid canceled boleto.generated#0 order_closed",
            "e2:order.paid canceled boleto.generated#1 order_closed",
            "e2:order.paid canceled boleto.generated#2 order_closed",
            "e2:order.paid planned order.paid#0",
        ]
    );
}

#[test]
fn the_boleto_line_goes_alone_in_its_own_message() {
    let outcomes = run(&[api(
        "boleto.generated",
        "e1",
        Some("O1"),
        "11987654321",
        "Curso",
    )]);
    let texts: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Planned { step: 0, text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(texts.len(), 2);
    assert_eq!(
        texts[1],
        "34191.79001 01043.510047 91020.150008 5 84460000019700"
    );
}

#[test]
fn paid_twice_confirms_once() {
    let got = summary(&run(&[
        api("order.paid", "e1", Some("O1"), "11987654321", "Curso"),
        api("order.paid", "e2", Some("O1"), "11987654321", "Curso"),
        api("order.paid", "e1", Some("O1"), "11987654321", "Curso"),
    ]));
    assert_eq!(
        got,
        [
            "e1:order.paid planned order.paid#0",
            "e2:order.paid ignored",
            "e1:order.paid ignored"
        ]
    );
}

#[test]
fn a_reminder_arriving_after_the_payment_is_not_sent() {
    let got = summary(&run(&[
        api("order.paid", "e1", Some("O1"), "11987654321", "Curso"),
        api("pix.generated", "e2", Some("O1"), "11987654321", "Curso"),
    ]));
    assert_eq!(got[0], "e1:order.paid planned order.paid#0");
    assert!(
        got[1..]
            .iter()
            .all(|l| l.contains("canceled pix.generated") && l.ends_with("order_closed")),
        "{got:?}"
    );
}

#[test]
fn refund_after_paid_plans_nothing_new_and_stops_nothing_else() {
    let got = summary(&run(&[
        api("order.paid", "e1", Some("O1"), "11987654321", "Curso"),
        api("order.refunded", "e2", Some("O1"), "11987654321", "Curso"),
    ]));
    assert_eq!(
        got,
        [
            "e1:order.paid planned order.paid#0",
            "e2:order.refunded ignored"
        ]
    );
}

#[test]
fn a_payment_on_another_platform_silences_the_cart_of_the_same_buyer_and_product() {
    // The cart comes through a custom integration; the payment is Kiwify's own test delivery
    // (buyer +88802598880, "Example product"): two platforms, two stores, one buyer.
    let kiwify_paid = Input {
        name: "kiwify:order_approved".into(),
        platform: Platform::Kiwify,
        headers: Vec::new(),
        body: std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/kiwify/order_approved-test.json"
        ))
        .expect("fixture"),
    };
    let got = summary(&run(&[
        api(
            "checkout.abandoned",
            "c1",
            None,
            "+88802598880",
            "Example product",
        ),
        kiwify_paid,
    ]));
    assert!(
        got.contains(&"c1:checkout.abandoned planned checkout.abandoned#1".to_owned()),
        "{got:?}"
    );
    assert!(
        got.contains(
            &"kiwify:order_approved canceled checkout.abandoned#0 order_closed".to_owned()
        ),
        "{got:?}"
    );
    assert!(
        got.contains(
            &"kiwify:order_approved canceled checkout.abandoned#1 order_closed".to_owned()
        ),
        "{got:?}"
    );
    assert!(
        got.contains(&"kiwify:order_approved planned order.paid#0".to_owned()),
        "{got:?}"
    );
}

#[test]
fn a_cart_then_a_payment_on_the_same_platform_without_an_order_id_stops_too() {
    let got = summary(&run(&[
        api("checkout.abandoned", "c1", None, "11987654321", "Curso"),
        api("order.paid", "p1", Some("X9"), "+55 11 98765-4321", "Curso"),
    ]));
    assert!(
        got.contains(&"p1:order.paid canceled checkout.abandoned#0 order_closed".to_owned()),
        "{got:?}"
    );
}

#[test]
fn another_product_of_the_same_buyer_keeps_its_reminders() {
    let got = summary(&run(&[
        api("checkout.abandoned", "c1", None, "11987654321", "Curso A"),
        api("order.paid", "p1", Some("X9"), "11987654321", "Curso B"),
    ]));
    assert!(!got.iter().any(|l| l.contains("canceled")), "{got:?}");
}

#[test]
fn the_fourth_reminder_in_a_day_is_held_back_for_the_buyer() {
    let got = summary(&run(&[
        api("payment.refused", "r1", Some("A"), "11987654321", "P1"),
        api("payment.refused", "r2", Some("B"), "11987654321", "P2"),
        api("payment.refused", "r3", Some("C"), "11987654321", "P3"),
        api("payment.refused", "r4", Some("D"), "11987654321", "P4"),
        api("order.paid", "p5", Some("E"), "11987654321", "P5"),
    ]));
    assert_eq!(
        got,
        [
            "r1:payment.refused planned payment.refused#0",
            "r2:payment.refused planned payment.refused#0",
            "r3:payment.refused planned payment.refused#0",
            "r4:payment.refused canceled payment.refused#0 buyer_cap",
            "p5:order.paid planned order.paid#0",
        ]
    );
}

/// A real Hotmart delivery with a usable phone in place of the scrubbed one (the published
/// body's phone has letters in it, so it plans nothing), and its event name, status and id
/// optionally replaced.
fn hotmart(file: &str, event: Option<(&str, &str, &str)>) -> Input {
    let path = format!(
        "{}/tests/fixtures/hotmart/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut body: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("fixture")).expect("JSON");
    body["data"]["buyer"]["checkout_phone"] = json!("+55 11 98765-4321");
    body["data"]["buyer"]["checkout_phone_code"] = json!("11");
    let mut name = file.to_owned();
    if let Some((event, status, id)) = event {
        body["event"] = json!(event);
        body["data"]["purchase"]["status"] = json!(status);
        body["id"] = json!(id);
        name = format!("{file} as {event}");
    }
    Input {
        name,
        platform: Platform::Hotmart,
        headers: Vec::new(),
        body: body.to_string().into_bytes(),
    }
}

#[test]
fn a_paid_subscription_renewal_stops_its_boleto_reminders() {
    // PURCHASE_BILLET_PRINTED of recurrence 3, then PURCHASE_APPROVED of the same transaction
    // with `recurrence_number: 3`: Hotmart's paid renewal, read as subscription.renewed.
    let outcomes = run(&[
        hotmart("purchase-billet-printed-boleto.json", None),
        hotmart(
            "purchase-billet-printed-boleto.json",
            Some(("PURCHASE_APPROVED", "APPROVED", "approved-recurrence-3")),
        ),
    ]);
    insta::assert_snapshot!(summary(&outcomes).join("\n"));
}

/// Planning one avisa-format event in a store nicknamed for the merchant, with a company name
/// in Configurações: the texts buyers would get.
fn texts_for_buyers(public_name: &str, saved: Option<&str>) -> Vec<String> {
    use crate::db::{Db, DbOptions, Delivery, MessageFilter, RawDelivery};
    use crate::domain::{ConsoleSettings, EventKind, NewStore};
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = Db::open(
        tmp.path(),
        &DbOptions {
            cache_bytes: 4 << 20,
            ..DbOptions::default()
        },
    )
    .expect("db");
    db.save_console_settings(&ConsoleSettings {
        company_name: "Doces da Ana".into(),
        ..ConsoleSettings::default()
    })
    .expect("settings");
    let store = db
        .create_store(NewStore {
            name: "Curso de Confeitaria — Hotmart".into(),
            slug: "curso".into(),
            platform: Platform::Api,
            enabled: true,
            secret: None,
            webhook_token: "t".repeat(32),
            created_at: NOON,
        })
        .expect("store");
    db.update_store(store.id, |s| s.public_name = public_name.to_owned())
        .expect("public name");
    if let Some(text) = saved {
        let mut template = crate::render::default_template(EventKind::OrderPaid);
        template.steps[0].parts = vec![text.to_owned()];
        db.save_template(store.id, &template).expect("template");
    }
    let input = api("order.paid", "e1", Some("O1"), "11987654321", "Bolo");
    let readings = crate::ingest::recognise(
        Platform::Api,
        &crate::ingest::Request::new(&input.body, &[], ""),
    );
    db.record_deliveries(&[Delivery {
        store_id: store.id,
        received_at: NOON,
        raw: RawDelivery::default(),
        readings,
    }])
    .expect("recorded");
    db.list_messages(&MessageFilter {
        limit: usize::MAX,
        ..MessageFilter::default()
    })
    .expect("messages")
    .into_iter()
    .map(|m| m.text)
    .collect()
}

#[test]
fn buyers_read_the_buyer_facing_name_never_the_nickname() {
    let company = texts_for_buyers("", None);
    let own = texts_for_buyers("Ateliê Bia", None);
    let old_template = texts_for_buyers("", Some("Obrigado, {{ store.name }}"));
    for text in company.iter().chain(&own).chain(&old_template) {
        assert!(
            !text.contains("Hotmart"),
            "the nickname reached a buyer: {text}"
        );
    }
    insta::assert_snapshot!(
        [company, own, old_template]
            .map(|t| t.join(" / "))
            .join("\n")
    );
}
