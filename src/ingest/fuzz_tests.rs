//! Randomised bad input for every recogniser and the `api` format: arbitrary bytes, arbitrary
//! JSON shapes (with the field names platforms use, so deep reads are reached) and real fixtures
//! with values swapped for arbitrary ones, with arbitrary headers and query. Seeded, so a failure
//! reproduces; no shrinking files are written. No input may panic, and every outcome is a reading
//! (ok with an event and a phone) or a reason.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{Map, Number, Value};

use super::{Reading, Request, Status, recognise, verify_signature};
use crate::domain::Platform;

const SEED: u64 = 0x61_7669_7361; // "avisa"

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(SEED),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Field names the recognisers read, so random objects reach past the first lookup.
const KEYS: &[&str] = &[
    "event",
    "event_type",
    "webhook_event_type",
    "type",
    "kind",
    "status",
    "data",
    "order",
    "buyer",
    "customer",
    "Customer",
    "cliente",
    "comprador",
    "phone",
    "mobile",
    "telefone",
    "celular",
    "checkout_phone",
    "phone_number",
    "ddd",
    "ddi",
    "name",
    "full_name",
    "email",
    "product",
    "products",
    "produto",
    "items",
    "line_items",
    "purchase",
    "transaction",
    "payment",
    "payment_method",
    "billet_url",
    "boleto_url",
    "pix_code",
    "pix_qrcode",
    "due_date",
    "amount",
    "value",
    "total",
    "total_cents",
    "price",
    "currency",
    "id",
    "order_id",
    "order_ref",
    "created_at",
    "date",
    "venda",
    "tipoEvento",
    "codigo",
    "plano",
    "subscription",
    "offer",
    "contact",
    "billing",
    "shipping",
    "tracking",
    "object",
    "attributes",
    "metadata",
    "resource",
    "action",
    "topic",
    "token",
    "chave_unica",
    "hottok",
    "json",
    "Commissions",
    "trans_status",
    "cus_cel",
    "payment_status",
    "sale",
    "client",
    "cellphone",
];

/// Strings that have broken parsers elsewhere: empty, huge numbers, odd dates and phones, NUL,
/// right-to-left marks, lone surrogates escaped, multi-byte cut points.
const STRINGS: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "NaN",
    "99999999999999999999999",
    "18446744073709551616",
    "0.000000001",
    "1.234,56",
    "R$ 1.234,56",
    "+55",
    "+55 (11) 98765-4321",
    "11987654321",
    "5511987654321",
    "9",
    "(((",
    "2024-02-30",
    "2024-13-01T25:61:61Z",
    "0000-00-00 00:00:00",
    "9999-12-31T23:59:59Z",
    "-0001-01-01",
    "\u{0}",
    "\u{202e}",
    "ç",
    "😀",
    "\\ud800",
    "approved",
    "PURCHASE_APPROVED",
    "order_approved",
    "paid",
    "waiting_payment",
    "pix",
    "billet",
    "boleto",
    "credit_card",
    "abandoned",
    "refunded",
    "chargeback",
    "canceled",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(STRINGS).prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(KEYS).prop_map(str::to_owned),
                        "[a-z_]{1,12}"
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Headers a platform might send, with arbitrary values.
fn arb_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    const NAMES: &[&str] = &[
        "content-type",
        "x-shopify-topic",
        "x-wc-webhook-topic",
        "x-wc-webhook-resource",
        "x-wc-webhook-event",
        "x-hotmart-hottok",
        "x-signature",
        "x-hub-signature",
        "stripe-signature",
        "x-kiwify-signature",
        "x-request-id",
        "x-shopify-hmac-sha256",
        "x-shopify-webhook-id",
        "x-linkedstore-hmac-sha256",
        "x-webhook-id",
    ];
    prop::collection::vec(
        (
            prop::sample::select(NAMES).prop_map(str::to_owned),
            prop_oneof![
                prop::sample::select(STRINGS).prop_map(str::to_owned),
                "[ -~]{0,40}",
                Just("orders/paid".to_owned()),
                Just("application/x-www-form-urlencoded".to_owned()),
                Just("t=1,v1=00".to_owned()),
            ],
        ),
        0..4,
    )
}

fn arb_query() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ -~]{0,30}",
        Just("token=x&signature=00".to_owned())
    ]
}

/// Every reading is either ok with an event and a phone, or carries a reason; and it
/// serialises (what the intake stores).
fn check(platform: Platform, readings: &[Reading]) -> Result<(), TestCaseError> {
    prop_assert!(!readings.is_empty(), "{platform:?}: no reading");
    for reading in readings {
        match reading.status {
            Status::Ok => {
                let event = reading.event.as_ref();
                prop_assert!(reading.reason.is_none(), "{platform:?}: ok with a reason");
                prop_assert!(
                    event.is_some_and(|e| e.kind.is_some()),
                    "{platform:?}: ok, no kind"
                );
                prop_assert!(
                    event.is_some_and(|e| e.customer.phone.is_some()),
                    "{platform:?}"
                );
            }
            Status::Awaiting => prop_assert!(false, "{platform:?}: a recogniser never awaits"),
            Status::Unmapped | Status::Invalid | Status::Ignored => {
                let reason = reading.reason.as_ref();
                prop_assert!(
                    reason.is_some_and(|r| !r.detail.is_empty()),
                    "{platform:?}: no reason"
                );
            }
        }
        prop_assert!(
            serde_json::to_vec(reading).is_ok(),
            "{platform:?}: does not serialise"
        );
        if let Some(event) = &reading.event {
            // The intake stores the event as JSON and every page reads it back.
            let stored = serde_json::to_vec(event).expect("an event serialises");
            let read = serde_json::from_slice::<crate::domain::Event>(&stored);
            prop_assert!(read.as_ref().ok() == Some(event), "{platform:?}: {read:?}");
            prop_assert!(!event.dedup_key.is_empty(), "{platform:?}: no dedup key");
        }
    }
    Ok(())
}

/// Recognises (and checks the signature of) one delivery for `platform`.
fn run_one(
    platform: Platform,
    body: &[u8],
    headers: &[(String, String)],
    query: &str,
) -> Result<(), TestCaseError> {
    let req = Request::new(body, headers, query);
    let readings = recognise(platform, &req);
    check(platform, &readings)?;
    // Signature checks read the same hostile input; any answer is fine, a panic is not.
    let _ = verify_signature(platform, "segredo", &req, 1_700_000_000);
    for reading in readings.iter().filter(|r| r.status == Status::Ok) {
        let event = reading.event.as_ref().expect("checked above");
        let kind = event.kind.expect("checked above");
        for step in crate::render::default_template(kind).steps {
            for part in step.parts {
                let _ = crate::render::render(&part, event, "Loja");
            }
        }
    }
    Ok(())
}

/// Every real fixture, with its platform.
fn fixtures() -> Vec<(Platform, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut all = Vec::new();
    for platform in Platform::ALL {
        let Ok(dir) = std::fs::read_dir(root.join(platform.id())) else {
            continue;
        };
        let mut files: Vec<_> = dir.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for file in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "json"))
        {
            let text = std::fs::read(file).expect("fixture");
            if let Ok(value) = serde_json::from_slice::<Value>(&text) {
                all.push((platform, value));
            }
        }
    }
    all
}

/// Every path (object keys and array indexes) in `value`, depth first.
fn paths(value: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(prefix.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                prefix.push(Value::from(k.as_str()));
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                prefix.push(Value::from(i));
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn at_path<'a>(value: &'a mut Value, path: &[Value]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |v, step| match (v, step) {
        (Value::Object(map), Value::String(k)) => map.get_mut(k),
        (Value::Array(items), Value::Number(i)) => items.get_mut(i.as_u64()? as usize),
        _ => None,
    })
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn arbitrary_bytes_never_panic_any_recogniser(
        body in prop::collection::vec(any::<u8>(), 0..512),
        headers in arb_headers(),
        query in arb_query(),
    ) {
        for platform in Platform::ALL {
            run_one(platform, &body, &headers, &query)?;
        }
    }

    #[test]
    fn arbitrary_json_shapes_never_panic_any_recogniser(
        body in arb_json(),
        headers in arb_headers(),
        query in arb_query(),
    ) {
        let bytes = serde_json::to_vec(&body).expect("a JSON value serialises");
        for platform in Platform::ALL {
            run_one(platform, &bytes, &headers, &query)?;
        }
    }
}

proptest! {
    #![proptest_config(config(3000))]

    /// Real deliveries with a few values swapped for arbitrary ones: reaches every refinement
    /// past the event name, where a type surprise is likeliest.
    #[test]
    fn real_fixtures_with_arbitrary_values_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), arb_json()), 1..4),
        headers in arb_headers(),
        as_form in any::<bool>(),
    ) {
        static FIXTURES: std::sync::OnceLock<Vec<(Platform, Value)>> = std::sync::OnceLock::new();
        let all = FIXTURES.get_or_init(fixtures);
        let (platform, original) = pick.get(all);
        let mut body = original.clone();
        for (at, replacement) in edits {
            let mut found = Vec::new();
            paths(&body, &mut Vec::new(), &mut found);
            let path = at.get(&found).clone();
            if let Some(slot) = at_path(&mut body, &path) {
                *slot = replacement;
            }
        }
        let bytes = if as_form {
            // Some platforms post forms: the same fields, flattened one level.
            let mut form = form_urlencoded::Serializer::new(String::new());
            if let Value::Object(map) = &body {
                for (k, v) in map {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    form.append_pair(k, &text);
                }
            }
            form.finish().into_bytes()
        } else {
            serde_json::to_vec(&body).expect("a JSON value serialises")
        };
        run_one(*platform, &bytes, &headers, "")?;
    }
}
