//! shopify: signature vectors, the event-name table and odd inputs.

use super::*;
use base64::Engine as _;
use serde_json::json;

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn read(topic: Option<&str>, body: &Value) -> Draft {
    let raw = body.to_string();
    let h = headers(
        &topic
            .map(|t| ("x-shopify-topic", t))
            .into_iter()
            .collect::<Vec<_>>(),
    );
    let mut drafts = parse(&Request::new(raw.as_bytes(), &h, "")).expect("readable");
    drafts.remove(0)
}

#[test]
fn shopify_signature_is_base64_hmac_of_the_raw_body() {
    let body = br#"{"id":1}"#;
    let sig = base64::engine::general_purpose::STANDARD.encode(hmac_sha256(b"shh", body));
    let ok = headers(&[("X-Shopify-Hmac-Sha256", &sig)]);
    assert_eq!(verify("shh", &Request::new(body, &ok, "")), Ok(()));
    assert_eq!(
        verify("other", &Request::new(body, &ok, "")),
        Err(SignatureError::Mismatch)
    );
    assert!(matches!(
        verify("shh", &Request::new(body, &[], "")),
        Err(SignatureError::Missing(_))
    ));
}

#[test]
fn shopify_topics_map_to_kinds() {
    use EventKind::*;
    let order = json!({"id": 1});
    let table = [
        ("checkouts/create", Some(CheckoutAbandoned)),
        ("checkouts/update", Some(CheckoutAbandoned)),
        ("checkouts/delete", None),
        ("orders/create", None),
        ("orders/updated", None),
        ("orders/paid", Some(OrderPaid)),
        ("orders/cancelled", Some(OrderCanceled)),
        ("orders/fulfilled", Some(OrderShipped)),
        ("orders/partially_fulfilled", Some(OrderShipped)),
        ("orders/edited", None),
        ("orders/delete", None),
        ("orders/risk_assessment_changed", None),
        ("order_transactions/create", None),
        ("carts/create", None),
        ("carts/update", None),
        ("fulfillments/create", Some(OrderShipped)),
        ("fulfillments/update", Some(OrderShipped)),
        ("fulfillment_events/create", Some(OrderShipped)),
        ("fulfillment_orders/moved", None),
        ("refunds/create", Some(OrderRefunded)),
        ("disputes/create", Some(OrderChargeback)),
        ("disputes/update", None),
        ("customers/create", None),
        ("draft_orders/create", None),
        ("subscription_contracts/activate", Some(SubscriptionStarted)),
        ("subscription_contracts/create", Some(SubscriptionStarted)),
        ("subscription_contracts/cancel", Some(SubscriptionCanceled)),
        ("subscription_contracts/expire", Some(SubscriptionCanceled)),
        ("subscription_contracts/fail", Some(SubscriptionOverdue)),
        ("subscription_contracts/pause", None),
        ("subscription_contracts/update", None),
        (
            "subscription_billing_attempts/success",
            Some(SubscriptionRenewed),
        ),
        (
            "subscription_billing_attempts/failure",
            Some(SubscriptionOverdue),
        ),
        ("subscription_billing_attempts/challenged", None),
        ("app/uninstalled", None),
    ];
    for (topic, kind) in table {
        assert_eq!(kind_for(topic, &order), kind, "{topic}");
    }
}

#[test]
fn shopify_shipment_status_picks_the_shipping_kind() {
    use EventKind::*;
    for (status, kind) in [
        ("in_transit", Some(OrderShipped)),
        ("out_for_delivery", Some(ShippingOutForDelivery)),
        ("ready_for_pickup", Some(ShippingAwaitingPickup)),
        ("delivered", Some(ShippingDelivered)),
        ("attempted_delivery", Some(ShippingProblem)),
        ("failure", Some(ShippingProblem)),
    ] {
        let body = json!({"order_id": 5, "tracking_number": "BR1", "shipment_status": status});
        assert_eq!(read(Some("fulfillments/update"), &body).event.kind, kind);
    }
}

#[test]
fn shopify_pending_pix_order_is_a_pix_and_reads_utm() {
    let body = json!({"id": 9, "financial_status": "pending", "gateway": "Pix",
        "phone": "+55 11 98765-4321", "total_price": "97.00",
        "landing_site": "/?utm_source=ig&utm_campaign=bf"});
    let d = read(Some("orders/create"), &body);
    assert_eq!(d.event.kind, Some(EventKind::PixGenerated));
    assert_eq!(d.event.total_cents, Some(9700));
    assert_eq!(d.event.utm.source.as_deref(), Some("ig"));
    assert_eq!(d.event.utm.campaign.as_deref(), Some("bf"));
}

#[test]
fn shopify_damaged_phone_is_remembered_not_guessed() {
    let body = json!({"id": 1, "shipping_address": {"phone": "555-555-SHIP"}});
    let d = read(Some("orders/paid"), &body);
    assert!(d.event.customer.phone.is_none());
    assert!(d.phone_error.is_some());
}

#[test]
fn shopify_wrong_types_make_facts_absent() {
    let body = json!({"id": {"x": 1}, "total_price": [1], "line_items": "no", "customer": 3});
    let d = read(Some("orders/paid"), &body);
    assert_eq!(d.event.order_id, None);
    assert_eq!(d.event.total_cents, None);
    assert!(d.event.products.is_empty());
}

#[test]
fn shopify_order_without_topic_header_says_which_header_is_missing() {
    let raw = json!({"id": 1, "line_items": []}).to_string();
    let err = parse(&Request::new(raw.as_bytes(), &[], "")).expect_err("no topic");
    assert!(err.to_string().contains("X-Shopify-Topic"));
    let checkout = json!({"id": 2, "abandoned_checkout_url": "https://x"});
    assert_eq!(
        read(None, &checkout).event.kind,
        Some(EventKind::CheckoutAbandoned)
    );
}
