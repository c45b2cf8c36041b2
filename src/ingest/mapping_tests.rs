//! Merchant-made mappings: paths on JSON and form bodies, amounts in both units, phones through
//! the shared phone code, unknown names held as unmapped, "ignorar", token checks, validation.

use serde_json::json;

use super::mapping::*;
use super::signature::hmac_sha256;
use super::{ReasonCode, Request, Status, recognise_with};
use crate::domain::{EventKind, PaymentMethod, Platform};

fn erp_mapping() -> Mapping {
    serde_json::from_value(json!({
        "event_field": "data.event",
        "kinds": { "order_paid": "order.paid", "pix_created": "pix.generated", "ping": "ignore" },
        "fields": {
            "customer.phone": "data.buyer.phone",
            "customer.name": "data.buyer.name",
            "customer.email": "data.buyer.email",
            "order_id": "data.id",
            "total": "data.amount",
            "payment.method": "data.method",
            "payment.pix_code": "data.pix.copy_paste",
            "products.name": "data.items.*.name",
            "utm.source": "data.utm.source",
        },
        "amount_unit": "cents",
    }))
    .expect("a mapping")
}

fn custom(mapping: Option<&Mapping>, body: &str, headers: &[(String, String)]) -> super::Reading {
    let mut readings = recognise_with(
        Platform::Custom,
        mapping,
        &Request::new(body.as_bytes(), headers, ""),
    );
    assert_eq!(readings.len(), 1);
    readings.remove(0)
}

fn pix_body(event: &str) -> String {
    json!({"data": {
        "event": event,
        "id": "A-77",
        "amount": 9790,
        "method": "PIX",
        "pix": {"copy_paste": "00020126PIX"},
        "buyer": {"name": "Ana Souza", "phone": "(11) 98765-4321", "email": "ana@x.com"},
        "items": [{"name": "Curso"}, {"name": "Apostila"}],
        "utm": {"source": "instagram"},
    }})
    .to_string()
}

#[test]
fn mapping_reads_a_json_body_by_dotted_paths() {
    let reading = custom(Some(&erp_mapping()), &pix_body("pix_created"), &[]);
    assert_eq!(reading.status, Status::Ok, "{reading:?}");
    let event = reading.event.expect("an event");
    assert_eq!(event.platform, "custom");
    assert_eq!(event.platform_event, "pix_created");
    assert_eq!(event.kind, Some(EventKind::PixGenerated));
    assert_eq!(event.order_id.as_deref(), Some("A-77"));
    assert_eq!(event.total_cents, Some(9790));
    assert_eq!(event.payment.method, Some(PaymentMethod::Pix));
    assert_eq!(event.payment.pix_code.as_deref(), Some("00020126PIX"));
    assert_eq!(event.customer.first_name.as_deref(), Some("Ana"));
    let names: Vec<&str> = event.products.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Curso", "Apostila"]);
    assert_eq!(event.utm.source.as_deref(), Some("instagram"));
    insta::assert_json_snapshot!(event, {".dedup_key" => "[key]"});
}

#[test]
fn mapping_reads_a_form_body_by_form_keys_or_dotted_paths() {
    let mapping: Mapping = serde_json::from_value(json!({
        "event_field": "tipo",
        "kinds": { "venda_aprovada": "order.paid" },
        "fields": {
            "customer.phone": "comprador[telefone]",
            "order_id": "venda.codigo",
            "total": "venda[valor]",
            "products.name": "produto[0][nome]",
        },
    }))
    .expect("a mapping");
    let mapping = mapping.validate(Platform::Custom).expect("valid");
    assert_eq!(mapping.fields["customer.phone"], "comprador.telefone");
    assert_eq!(mapping.fields["products.name"], "produto.0.nome");
    let body = "tipo=venda_aprovada&comprador%5Btelefone%5D=5511987654321&venda%5Bcodigo%5D=V9\
                &venda%5Bvalor%5D=49%2C90&produto%5B0%5D%5Bnome%5D=Ebook";
    let form = [(
        "content-type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];
    let reading = custom(Some(&mapping), body, &form);
    assert_eq!(reading.status, Status::Ok, "{reading:?}");
    let event = reading.event.expect("an event");
    assert_eq!(event.order_id.as_deref(), Some("V9"));
    assert_eq!(event.total_cents, Some(4990));
    assert_eq!(event.products[0].name, "Ebook");
    assert_eq!(
        event.customer.phone.as_ref().map(|p| p.as_str()),
        Some("+5511987654321")
    );
}

#[test]
fn mapping_amounts_are_read_in_reais_or_in_cents() {
    let body = json!({"e": "paid", "v": "1.234,56", "c": 123456, "p": "11987654321"}).to_string();
    for (unit, path, cents) in [
        ("reais", "v", Some(123_456)),
        ("cents", "c", Some(123_456)),
        ("reais", "c", Some(12_345_600)),
        ("cents", "v", None),
    ] {
        let mapping: Mapping = serde_json::from_value(json!({
            "event_field": "e", "kinds": {"paid": "order.paid"},
            "fields": {"total": path, "customer.phone": "p"}, "amount_unit": unit,
        }))
        .expect("a mapping");
        let event = custom(Some(&mapping), &body, &[]).event.expect("an event");
        assert_eq!(event.total_cents, cents, "{unit} at {path}");
    }
}

#[test]
fn mapping_phones_go_through_the_shared_phone_code() {
    let mapping = erp_mapping();
    let with_phone = |phone: &str| {
        let body = json!({"data": {"event": "order_paid", "id": "1", "buyer": {"phone": phone}}});
        custom(Some(&mapping), &body.to_string(), &[])
    };
    let ok = with_phone("+55 (21) 9 8888-7777");
    assert_eq!(
        ok.event
            .and_then(|e| e.customer.phone)
            .map(|p| p.as_str().to_owned()),
        Some("+5521988887777".to_owned())
    );
    let bad = with_phone("12");
    assert_eq!(bad.status, Status::Invalid);
    assert_eq!(bad.reason.map(|r| r.code), Some(ReasonCode::BadPhone));
    let body = json!({"data": {"event": "order_paid", "id": "1"}}).to_string();
    let none = custom(Some(&mapping), &body, &[]);
    assert_eq!(none.reason.map(|r| r.code), Some(ReasonCode::NoPhone));
}

#[test]
fn mapping_leaves_an_unknown_name_unmapped_and_everything_before_a_mapping() {
    let unknown = custom(Some(&erp_mapping()), &pix_body("boleto_created"), &[]);
    assert_eq!(unknown.status, Status::Unmapped);
    assert_eq!(
        unknown.event.as_ref().map(|e| e.platform_event.as_str()),
        Some("boleto_created")
    );
    let before = custom(None, &pix_body("pix_created"), &[]);
    assert_eq!(before.status, Status::Unmapped);
    assert_eq!(
        before.reason.as_ref().map(|r| r.code),
        Some(ReasonCode::UnmappedEvent)
    );
    // Without a mapping, the same bytes are the same delivery and other bytes another one.
    let again = custom(None, &pix_body("pix_created"), &[]);
    let other = custom(None, &pix_body("order_paid"), &[]);
    let key = |r: &super::Reading| r.event.as_ref().map(|e| e.dedup_key.clone());
    assert_eq!(key(&before), key(&again));
    assert_ne!(key(&before), key(&other));
}

#[test]
fn mapping_ignore_keeps_the_event_without_a_message() {
    let reading = custom(Some(&erp_mapping()), &pix_body("ping"), &[]);
    assert_eq!(reading.status, Status::Ignored);
    assert_eq!(reading.reason.map(|r| r.code), Some(ReasonCode::Ignored));
    assert_eq!(reading.event.and_then(|e| e.kind), None);
}

#[test]
fn mapping_kinds_complete_a_known_platforms_recogniser() {
    let body = json!({
        "event": "CLUB_MODULE_COMPLETED", "id": "h-1",
        "data": {"buyer": {"name": "Ana", "checkout_phone": "11987654321"}},
    })
    .to_string();
    let request = Request::new(body.as_bytes(), &[], "");
    let plain = recognise_with(Platform::Hotmart, None, &request);
    assert_eq!(plain[0].status, Status::Unmapped, "{plain:?}");
    let mapping: Mapping =
        serde_json::from_value(json!({"kinds": {"CLUB_MODULE_COMPLETED": "access.granted"}}))
            .expect("a mapping");
    let mapping = mapping
        .validate(Platform::Hotmart)
        .expect("kinds only is valid");
    let mapped = recognise_with(Platform::Hotmart, Some(&mapping), &request);
    let event = mapped[0].event.as_ref().expect("an event");
    assert_eq!(event.kind, Some(EventKind::AccessGranted), "{mapped:?}");
    // A name the recogniser knows is never overridden by a mapping.
    let paid = json!({"event": "PURCHASE_APPROVED", "id": "h-2",
        "data": {"buyer": {"checkout_phone": "11987654321"}}})
    .to_string();
    let mapping: Mapping =
        serde_json::from_value(json!({"kinds": {"PURCHASE_APPROVED": "ignore"}})).expect("ok");
    let read = recognise_with(
        Platform::Hotmart,
        Some(&mapping),
        &Request::new(paid.as_bytes(), &[], ""),
    );
    assert_eq!(
        read[0].event.as_ref().and_then(|e| e.kind),
        Some(EventKind::OrderPaid)
    );
}

#[test]
fn mapping_validation_says_why() {
    let v = |value: serde_json::Value, platform: Platform| {
        serde_json::from_value::<Mapping>(value)
            .map_err(|e| e.to_string())
            .and_then(|m| m.validate(platform).map_err(|e| e.to_string()))
    };
    let table = [
        (
            json!({"event_field": "e", "fields": {"customer.phone": "a..b"}}),
            "is not a path",
        ),
        (
            json!({"event_field": "e", "fields": {"customer.phone": "a b"}}),
            "is not a path",
        ),
        (
            json!({"event_field": "e", "fields": {"order_id": "items.*.id"}}),
            "is not a path",
        ),
        (
            json!({"event_field": "e", "fields": {"buyer.phone": "x"}}),
            "is not an avisa field",
        ),
        (
            json!({"event_field": "e", "kinds": {"x": "order.payed"}}),
            "unknown kind",
        ),
        (
            json!({"kinds": {"x": "order.paid"}}),
            "event_field is required",
        ),
        (
            json!({"event_field": "e", "auth": {"scheme": "header", "header": "x token"}}),
            "not a header name",
        ),
        (
            json!({"event_field": "e", "kinds": {" ": "order.paid"}}),
            "not an event name",
        ),
        (json!({"event_field": "e", "extra": 1}), "unknown field"),
    ];
    for (value, why) in table {
        let err = v(value.clone(), Platform::Custom).expect_err("refused");
        assert!(err.contains(why), "{value}: {err}");
    }
    let err = v(
        json!({"kinds": {}, "fields": {"order_id": "x"}}),
        Platform::Kiwify,
    )
    .expect_err("kinds only");
    assert!(err.contains("maps event names only"), "{err}");
    assert!(v(json!({"kinds": {"x": "ignore"}}), Platform::Kiwify).is_ok());
}

#[test]
fn mapping_token_checks_a_header_or_an_hmac_of_the_body() {
    let body = br#"{"e":"x"}"#;
    let header = |name: &str, value: &str| vec![(name.to_owned(), value.to_owned())];
    let by_header: Mapping = serde_json::from_value(json!({
        "event_field": "e", "auth": {"scheme": "header", "header": "x-erp-token"}}))
    .expect("ok");
    let req = |h: &[(String, String)]| {
        verify_custom(Some(&by_header), "s3cret", &Request::new(body, h, "")).is_ok()
    };
    assert!(req(&header("x-erp-token", "s3cret")));
    assert!(!req(&header("x-erp-token", "other")));
    assert!(!req(&[]));
    let by_hmac: Mapping = serde_json::from_value(json!({
        "event_field": "e", "auth": {"scheme": "hmac_sha256", "header": "x-signature"}}))
    .expect("ok");
    let sig = hex::encode(hmac_sha256(b"s3cret", body));
    let check = |value: String| {
        verify_custom(
            Some(&by_hmac),
            "s3cret",
            &Request::new(body, &header("x-signature", &value), ""),
        )
        .is_ok()
    };
    assert!(check(sig.clone()));
    assert!(check(format!("sha256={sig}")));
    use base64::Engine as _;
    assert!(check(
        base64::engine::general_purpose::STANDARD.encode(hmac_sha256(b"s3cret", body))
    ));
    assert!(!check(hex::encode(hmac_sha256(b"other", body))));
    // No auth in the mapping: the URL's token is the protection.
    assert!(verify_custom(None, "s3cret", &Request::new(body, &[], "")).is_ok());
}

fn preset_reading(id: &str, body: serde_json::Value) -> super::Reading {
    let mapping = super::mapping_presets::preset(id).expect("a preset");
    custom(Some(&mapping), &body.to_string(), &[])
}

fn lastlink_request(payment: serde_json::Value) -> serde_json::Value {
    json!({
        "Id": "evt-1",
        "Event": "Purchase_Request_Confirmed",
        "Data": {
            "Products": [{"Id": "p1", "Name": "Curso"}],
            "Buyer": {"Name": "Moises Pereira", "Email": "m@x.com", "PhoneNumber": "+5511987654321"},
            "Purchase": payment,
        }
    })
}

#[test]
fn awaiting_payment_becomes_pix_or_boleto_by_the_events_payment_method() {
    let pix = preset_reading(
        "lastlink",
        lastlink_request(json!({
            "PaymentId": "pay-1", "Price": {"Value": 12.5},
            "Payment": {"PaymentMethod": "pix"},
            "Pix": {"QrCodeText": "00020126PIX"},
        })),
    );
    assert_eq!(pix.status, Status::Ok, "{pix:?}");
    let event = pix.event.expect("an event");
    assert_eq!(event.kind, Some(EventKind::PixGenerated));
    assert_eq!(event.payment.pix_code.as_deref(), Some("00020126PIX"));
    assert_eq!(event.total_cents, Some(1250));
    assert_eq!(
        event.customer.phone.as_ref().map(|p| p.as_str()),
        Some("+5511987654321")
    );
    assert_eq!(event.products[0].name, "Curso");

    // Lastlink writes "bankslip": still a boleto.
    let boleto = preset_reading(
        "lastlink",
        lastlink_request(json!({
            "PaymentId": "pay-2",
            "Payment": {"PaymentMethod": "bankslip"},
            "BankSlip": {"DigitableLine": "34191.09008 63571.277447 91020.150008 5 12340000000000"},
            "InvoiceUrl": "https://invoice.lastlink.com/x",
        })),
    );
    let event = boleto.event.expect("an event");
    assert_eq!(event.kind, Some(EventKind::BoletoGenerated));
    assert_eq!(event.payment.method, Some(PaymentMethod::Boleto));

    // A card waiting for approval has nothing to remind of: ignored, with the reason.
    let card = preset_reading(
        "lastlink",
        lastlink_request(
            json!({"PaymentId": "pay-3", "Payment": {"PaymentMethod": "credit_card"}}),
        ),
    );
    assert_eq!(card.status, Status::Ignored, "{card:?}");
    assert!(
        card.reason
            .expect("a reason")
            .detail
            .contains("neither boleto nor PIX")
    );

    // No payment facts at all: held as unmapped, saying what to map.
    let unknown = preset_reading("lastlink", lastlink_request(json!({"PaymentId": "pay-4"})));
    assert_eq!(unknown.status, Status::Unmapped, "{unknown:?}");
    let reason = unknown.reason.expect("a reason");
    assert_eq!(reason.code, ReasonCode::UnmappedEvent);
    assert!(
        reason.detail.contains("payment method"),
        "{}",
        reason.detail
    );
}

#[test]
fn a_path_with_alternatives_reads_the_first_place_that_has_a_value() {
    let paid = preset_reading(
        "cartpanda",
        json!({"event": "order.paid", "order": {
            "id": 9001, "total_price": "197.00",
            "customer": {"full_name": "Ana Souza", "email": "ana@x.com", "phone": "11987654321"},
            "line_items": [{"title": "Camiseta"}, {"title": "Boné"}],
        }}),
    );
    assert_eq!(paid.status, Status::Ok, "{paid:?}");
    let event = paid.event.expect("an event");
    assert_eq!(event.kind, Some(EventKind::OrderPaid));
    assert_eq!(event.order_id.as_deref(), Some("9001"));
    assert_eq!(event.total_cents, Some(19700));
    assert_eq!(event.customer.name.as_deref(), Some("Ana Souza"));
    let names: Vec<_> = event.products.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Camiseta", "Boné"]);

    let cart = preset_reading(
        "cartpanda",
        json!({"event": "abandoned.created", "data": {
            "id": 55, "cart_url": "https://loja.mycartpanda.com/r/abc",
            "customer": {"first_name": "Bia", "phone": "+55 21 99876-5432"},
        }}),
    );
    assert_eq!(cart.status, Status::Ok, "{cart:?}");
    let event = cart.event.expect("an event");
    assert_eq!(event.kind, Some(EventKind::CheckoutAbandoned));
    assert_eq!(event.customer.name.as_deref(), Some("Bia"));
    assert_eq!(
        event.payment.checkout_url.as_deref(),
        Some("https://loja.mycartpanda.com/r/abc")
    );
}

#[test]
fn alternatives_are_validated_and_normalised_one_by_one() {
    let mut mapping = erp_mapping();
    mapping.fields.insert(
        "customer.phone".into(),
        " order[customer][phone] | data.phone ".into(),
    );
    let saved = mapping.clone().validate(Platform::Custom).expect("valid");
    assert_eq!(
        saved.fields["customer.phone"],
        "order.customer.phone|data.phone"
    );

    mapping
        .fields
        .insert("customer.phone".into(), "order.phone | | data.phone".into());
    let err = mapping
        .validate(Platform::Custom)
        .expect_err("an empty alternative");
    assert_eq!(err.code(), "bad_path");
}
