//! pagarme: signature vectors, the event-name table and odd inputs.

use super::*;
use base64::Engine as _;
use serde_json::json;

fn read(body: &Value) -> Draft {
    let raw = body.to_string();
    parse(&Request::new(raw.as_bytes(), &[], ""))
        .expect("readable")
        .remove(0)
}

fn header(name: &str, value: String) -> Vec<(String, String)> {
    vec![(name.to_owned(), value)]
}

#[test]
fn pagarme_v4_signature_is_sha1_hmac_of_the_raw_body() {
    let body = b"id=1&event=transaction_status_changed";
    let sig = format!("sha1={}", hex::encode(hmac_sha1(b"ak_test", body)));
    let h = header("X-Hub-Signature", sig);
    assert_eq!(verify("ak_test", &Request::new(body, &h, "")), Ok(()));
    assert_eq!(
        verify("ak_other", &Request::new(body, &h, "")),
        Err(SignatureError::Mismatch)
    );
    assert!(matches!(
        verify("ak_test", &Request::new(body, &[], "")),
        Err(SignatureError::Missing(_))
    ));
}

#[test]
fn pagarme_v5_basic_credentials_must_match_the_secret() {
    let basic = |creds: &str| {
        let encoded = base64::engine::general_purpose::STANDARD.encode(creds);
        header("Authorization", format!("Basic {encoded}"))
    };
    let ok = basic("loja:s3nha");
    assert_eq!(verify("loja:s3nha", &Request::new(b"{}", &ok, "")), Ok(()));
    let wrong = basic("loja:outra");
    assert_eq!(
        verify("loja:s3nha", &Request::new(b"{}", &wrong, "")),
        Err(SignatureError::Mismatch)
    );
    let bearer = header("Authorization", "Bearer x".into());
    assert!(matches!(
        verify("loja:s3nha", &Request::new(b"{}", &bearer, "")),
        Err(SignatureError::Malformed(_))
    ));
}

#[test]
fn pagarme_v5_types_map_to_kinds() {
    use EventKind::*;
    let table = [
        ("order.paid", "credit_card", Some(OrderPaid)),
        ("order.payment_failed", "credit_card", Some(PaymentRefused)),
        ("order.canceled", "credit_card", Some(OrderCanceled)),
        ("order.created", "boleto", Some(BoletoGenerated)),
        ("order.created", "pix", Some(PixGenerated)),
        ("order.created", "credit_card", None),
        ("order.closed", "pix", None),
        ("order.updated", "pix", None),
        ("charge.paid", "pix", Some(OrderPaid)),
        ("charge.pending", "boleto", Some(BoletoGenerated)),
        ("charge.payment_failed", "credit_card", Some(PaymentRefused)),
        ("charge.refunded", "credit_card", Some(OrderRefunded)),
        (
            "charge.partial_canceled",
            "credit_card",
            Some(OrderRefunded),
        ),
        ("charge.chargedback", "credit_card", Some(OrderChargeback)),
        (
            "charge.antifraud_manual",
            "credit_card",
            Some(PaymentInReview),
        ),
        (
            "charge.antifraud_pending",
            "credit_card",
            Some(PaymentInReview),
        ),
        (
            "charge.antifraud_reproved",
            "credit_card",
            Some(PaymentRefused),
        ),
        ("charge.antifraud_approved", "credit_card", None),
        ("charge.underpaid", "pix", None),
        ("charge.overpaid", "pix", None),
        ("charge.processing", "credit_card", None),
        ("invoice.paid", "credit_card", Some(SubscriptionRenewed)),
        (
            "invoice.payment_failed",
            "credit_card",
            Some(SubscriptionOverdue),
        ),
        (
            "subscription.created",
            "credit_card",
            Some(SubscriptionStarted),
        ),
        (
            "subscription.canceled",
            "credit_card",
            Some(SubscriptionCanceled),
        ),
        ("customer.created", "credit_card", None),
        ("card.expired", "credit_card", None),
        ("plan.created", "credit_card", None),
    ];
    for (event, method, kind) in table {
        assert_eq!(
            v5_kind(event, method_of(Some(method.into()))),
            kind,
            "{event}"
        );
    }
}

#[test]
fn pagarme_v5_pix_charge_carries_code_phone_and_order() {
    let d = read(&json!({"id": "hook_1", "type": "charge.pending", "data": {
        "id": "ch_1", "amount": 9700, "payment_method": "pix", "order": {"id": "or_1"},
        "customer": {"name": "Ana Souza", "phones": {"mobile_phone":
            {"country_code": "55", "area_code": "11", "number": "987654321"}}},
        "last_transaction": {"qr_code": "00020101", "qr_code_url": "https://q/1.png"}}}));
    assert_eq!(d.event.kind, Some(EventKind::PixGenerated));
    assert_eq!(d.event.order_id.as_deref(), Some("or_1"));
    assert_eq!(d.event.total_cents, Some(9700));
    assert_eq!(d.event.payment.pix_code.as_deref(), Some("00020101"));
    assert_eq!(d.delivery_id.as_deref(), Some("hook_1"));
    assert_eq!(
        d.event.customer.phone.expect("phone").as_str(),
        "+5511987654321"
    );
}

#[test]
fn pagarme_v4_form_postback_statuses_map_to_kinds() {
    use EventKind::*;
    for (status, method, kind) in [
        ("paid", "credit_card", Some(OrderPaid)),
        ("waiting_payment", "boleto", Some(BoletoGenerated)),
        ("waiting_payment", "pix", Some(PixGenerated)),
        ("refused", "credit_card", Some(PaymentRefused)),
        ("refunded", "credit_card", Some(OrderRefunded)),
        ("chargedback", "credit_card", Some(OrderChargeback)),
        ("analyzing", "credit_card", Some(PaymentInReview)),
        ("pending_review", "credit_card", Some(PaymentInReview)),
        ("authorized", "credit_card", None),
        ("processing", "credit_card", None),
        ("pending_refund", "credit_card", None),
    ] {
        let form = format!(
            "id=7&event=transaction_status_changed&current_status={status}\
             &transaction[payment_method]={method}&transaction[amount]=1990\
             &transaction[boleto_url]=https%3A%2F%2Fb&transaction[phone][ddd]=21\
             &transaction[phone][number]=987654321&transaction[items][0][title]=Curso"
        );
        let d = parse(&Request::new(form.as_bytes(), &[], ""))
            .expect("form")
            .remove(0);
        assert_eq!(d.event.kind, kind, "{status}");
        assert_eq!(d.event.total_cents, Some(1990));
        assert_eq!(d.event.products.len(), 1);
        assert!(d.event.customer.phone.is_some());
    }
    for (status, kind) in [
        ("paid", Some(SubscriptionRenewed)),
        ("trialing", Some(SubscriptionStarted)),
        ("unpaid", Some(SubscriptionOverdue)),
        ("pending_payment", Some(SubscriptionOverdue)),
        ("canceled", Some(SubscriptionCanceled)),
    ] {
        assert_eq!(v4_kind("subscription_status_changed", status, None), kind);
    }
}

#[test]
fn pagarme_odd_bodies_do_not_panic() {
    let err = parse(&Request::new(br#"{"data": {}}"#, &[], "")).expect_err("no type");
    assert!(err.to_string().contains("\"type\""));
    let d = read(
        &json!({"type": "order.paid", "data": {"charges": "x", "amount": [1],
        "customer": {"phones": {"mobile_phone": 5}}, "items": 3}}),
    );
    assert_eq!(d.event.kind, Some(EventKind::OrderPaid));
    assert_eq!(d.event.total_cents, None);
    assert!(d.event.products.is_empty());
}
