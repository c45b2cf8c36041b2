//! The send API's checks and the event a request becomes.

use super::*;

fn request(to: &str, text: &str, key: Option<&str>) -> SendRequest {
    SendRequest {
        target: Target::Store(StoreId(1)),
        to: to.into(),
        name: Some("  Ana Souza ".into()),
        text: text.into(),
        kind: None,
        vars: Default::default(),
        email: None,
        due_at: Some(1_800_000_000),
        idempotency_key: key.map(str::to_owned),
        body: Vec::new(),
    }
}

#[test]
fn a_request_is_checked_before_anything_is_stored() {
    let long_key = "k".repeat(MAX_KEY_LEN + 1);
    let huge_text = "a".repeat(crate::render::MAX_OUTPUT_BYTES + 1);
    let cases: [(SendRequest, Result<&str, &str>); 7] = [
        (request("(11) 98765-4321", "Oi", None), Ok("+5511987654321")),
        (
            request("11987654321", "Oi", Some("pedido-1")),
            Ok("+5511987654321"),
        ),
        (request("123", "Oi", None), Err("to:")),
        (request("11987654321", " \n ", None), Err("text is empty")),
        (request("11987654321", &huge_text, None), Err("longer than")),
        (
            request("11987654321", "Oi", Some(&long_key)),
            Err("idempotency_key"),
        ),
        (
            request("11987654321", "Oi", Some("com espaço")),
            Err("idempotency_key"),
        ),
    ];
    for (req, want) in cases {
        let got = check(&req).map(|p| p.as_str().to_owned());
        match (got, want) {
            (Ok(phone), Ok(want)) => assert_eq!(phone, want),
            (Err(why), Err(want)) => assert!(why.contains(want), "{why} should say {want}"),
            (got, want) => panic!("{:?}: got {got:?}, want {want:?}", req.to),
        }
    }
}

#[test]
fn the_event_carries_the_text_the_time_and_a_key_scoped_to_the_user() {
    let req = request("11987654321", "  Oi, Ana!  ", Some("live-1"));
    let phone = check(&req).expect("valid");
    let event = event_of(&req, phone, 7);
    assert_eq!(event.kind, Some(EventKind::ApiSend));
    assert_eq!(event.platform, "api");
    assert_eq!(event.text.as_deref(), Some("Oi, Ana!"));
    assert_eq!(event.send_at, Some(1_800_000_000));
    assert_eq!(event.customer.name.as_deref(), Some("Ana Souza"));
    assert_eq!(event.dedup_key, "api.send:7:live-1");
    assert_eq!(
        event_of(&req, check(&req).expect("valid"), 8).dedup_key,
        "api.send:8:live-1"
    );
    let unkeyed = request("11987654321", "Oi", None);
    let event = event_of(&unkeyed, check(&unkeyed).expect("valid"), 7);
    assert!(event.dedup_key.is_empty(), "no key: every request is new");
}

#[test]
fn the_shipped_api_send_template_prints_the_text_as_written() {
    let req = request(
        "11987654321",
        "Live às 20h {{ não é template }} {% if %}",
        None,
    );
    let event = event_of(&req, check(&req).expect("valid"), 7);
    let template = crate::render::default_template(EventKind::ApiSend);
    assert_eq!(template.steps.len(), 1);
    let text = crate::render::render(&template.steps[0].parts[0], &event, "Loja").expect("renders");
    assert_eq!(text, "Live às 20h {{ não é template }} {% if %}");
}

fn custom_request(kind: &str, text: &str, vars: &[(&str, &str)]) -> SendRequest {
    SendRequest {
        kind: EventKind::parse_with_custom(kind),
        vars: vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        email: Some(" ana@example.com ".into()),
        ..request("11987654321", text, Some("niver-2026"))
    }
}

#[test]
fn kind_and_vars_replace_the_text_and_only_for_a_custom_kind() {
    let cases: [(SendRequest, Result<(), &str>); 5] = [
        (
            custom_request("custom.aniversario", "", &[("idade", "30")]),
            Ok(()),
        ),
        (custom_request("custom.aniversario", "", &[]), Ok(())),
        (
            custom_request("order.paid", "", &[]),
            Err("not a custom kind"),
        ),
        (
            custom_request("custom.aniversario", "Oi", &[]),
            Err("not both"),
        ),
        (
            SendRequest {
                vars: [("idade".to_owned(), "30".to_owned())].into(),
                ..request("11987654321", "Oi", None)
            },
            Err("vars go with a kind"),
        ),
    ];
    for (req, want) in cases {
        match (check(&req).map(|_| ()), want) {
            (Ok(()), Ok(())) => {}
            (Err(why), Err(want)) => assert!(why.contains(want), "{why} should say {want}"),
            (got, want) => panic!("{:?}: got {got:?}, want {want:?}", req.kind),
        }
    }
}

#[test]
fn a_kind_request_becomes_that_kinds_event_with_the_lead_and_vars() {
    let req = custom_request("custom.aniversario", "", &[("idade", "30")]);
    let event = event_of(&req, check(&req).expect("valid"), 7);
    assert_eq!(
        event.kind,
        EventKind::parse_with_custom("custom.aniversario")
    );
    assert_eq!(event.platform_event, "custom.aniversario");
    assert_eq!(event.text, None, "the template writes the text");
    assert_eq!(event.vars.get("idade").map(String::as_str), Some("30"));
    assert_eq!(event.customer.email.as_deref(), Some("ana@example.com"));
    assert_eq!(event.customer.first_name.as_deref(), Some("Ana"));
    assert_eq!(event.dedup_key, "api.send:7:niver-2026");
}
