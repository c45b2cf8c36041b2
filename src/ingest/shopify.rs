//! shopify: reads Shopify webhooks (topic in `X-Shopify-Topic`, body = the REST resource) into
//! events, and checks `X-Shopify-Hmac-Sha256`. Uses `ingest::common` and `domain` only.

use serde_json::Value;

use super::catalog::{awaiting_kind, table_choose};
use super::common::{
    at, body_value, first_text, int, reais, table_kind, text, timestamp, utm_from_url,
};
use super::signature::{check_base64, hmac_sha256};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Reads one delivery. The body has no event name: the topic header decides, and without it
/// only the resources that cannot be mistaken (checkout, fulfillment, refund, dispute) are read.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let topic = match req.header("x-shopify-topic").map(str::trim) {
        Some(t) if !t.is_empty() => t.to_owned(),
        _ => infer_topic(&body)?.to_owned(),
    };
    let mut draft = Draft::new(topic.clone());
    draft.event.kind = kind_for(&topic, &body);
    let resource = topic.split('/').next().unwrap_or_default();
    match resource {
        "fulfillments" => read_fulfillment(&mut draft, &body),
        "fulfillment_events" => draft.event.order_id = text(&body, "order_id"),
        "refunds" => read_refund(&mut draft, &body),
        "disputes" | "order_transactions" => {
            draft.event.order_id = text(&body, "order_id");
            draft.event.total_cents = reais(&body, "amount");
            draft.event.currency = text(&body, "currency");
            draft.event.payment.refusal_reason = first_text(&body, &["message", "error_code"])
                .filter(|_| draft.event.kind == Some(EventKind::PaymentRefused));
        }
        "subscription_contracts" | "subscription_billing_attempts" => {
            read_subscription(&mut draft, &body)
        }
        _ => read_order(&mut draft, &body),
    }
    let e = &mut draft.event;
    e.occurred_at = req
        .header("x-shopify-triggered-at")
        .and_then(|t| timestamp(&serde_json::json!({ "t": t }), "t"))
        .or_else(|| {
            ["happened_at", "initiated_at", "updated_at", "created_at"]
                .iter()
                .find_map(|p| timestamp(&body, p))
        });
    // The event id is shared by every topic one change fires, so it is only unique per topic;
    // the webhook id is the same across retries of one delivery.
    let event_id = req.header("x-shopify-event-id").map(str::trim);
    e.event_id = event_id
        .or_else(|| req.header("x-shopify-webhook-id").map(str::trim))
        .filter(|id| !id.is_empty())
        .map(str::to_owned);
    draft.delivery_id = match event_id.filter(|id| !id.is_empty()) {
        Some(id) => Some(format!("{topic}:{id}")),
        None => req
            .header("x-shopify-webhook-id")
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned),
    };
    Ok(vec![draft])
}

/// `X-Shopify-Hmac-Sha256` is base64 HMAC-SHA256 of the raw body with the app's secret.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    let expected = hmac_sha256(secret.as_bytes(), req.body);
    check_base64(
        req.header("x-shopify-hmac-sha256"),
        &expected,
        "X-Shopify-Hmac-Sha256 header",
    )
}

/// Guesses the topic of a body sent without its header, only where the shape is unmistakable.
fn infer_topic(body: &Value) -> Result<&'static str, ParseError> {
    if at(body, "abandoned_checkout_url").is_some() {
        Ok("checkouts/create")
    } else if at(body, "refund_line_items").is_some() {
        Ok("refunds/create")
    } else if at(body, "tracking_number").is_some() || at(body, "tracking_numbers").is_some() {
        Ok("fulfillments/create")
    } else if at(body, "evidence_due_by").is_some() || at(body, "network_reason_code").is_some() {
        Ok("disputes/create")
    } else {
        Err(ParseError::UnknownShape(
            "Shopify sends the event name in the X-Shopify-Topic header, which is missing".into(),
        ))
    }
}

/// Shopify's webhook topics (`X-Shopify-Topic`; shopify.dev "Webhook topics", SOURCES.md).
/// Topics of other resources (products, inventory, fulfillment orders, themes, …) are not about
/// a buyer's order and are not listed: like an unlisted name, they have no kind.
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    // A checkout that was completed is an order, not an abandoned cart (see [`kind_for`]).
    ("checkouts/create", Some(EventKind::CheckoutAbandoned)),
    ("checkouts/update", Some(EventKind::CheckoutAbandoned)),
    ("checkouts/delete", None),
    ("carts/create", None),
    ("carts/update", None),
    // Brazilian stores take boleto/PIX through gateways that leave the order pending.
    ("orders/create", Some(EventKind::BoletoGenerated)),
    ("orders/create", Some(EventKind::PixGenerated)),
    // A failed sale, authorization or capture.
    ("order_transactions/create", Some(EventKind::PaymentRefused)),
    ("orders/paid", Some(EventKind::OrderPaid)),
    ("orders/fulfilled", Some(EventKind::OrderShipped)),
    ("orders/partially_fulfilled", Some(EventKind::OrderShipped)),
    // A fulfillment's kind is its shipment status ([`SHIPMENTS`]); none yet: it just shipped.
    ("fulfillments/create", Some(EventKind::OrderShipped)),
    ("fulfillments/update", Some(EventKind::OrderShipped)),
    ("fulfillment_events/create", Some(EventKind::OrderShipped)),
    ("orders/cancelled", Some(EventKind::OrderCanceled)),
    ("refunds/create", Some(EventKind::OrderRefunded)),
    ("disputes/create", Some(EventKind::OrderChargeback)),
    // Updates of a dispute already announced (won, lost, evidence) tell the buyer nothing.
    ("disputes/update", None),
    (
        "subscription_contracts/create",
        Some(EventKind::SubscriptionStarted),
    ),
    (
        "subscription_contracts/activate",
        Some(EventKind::SubscriptionStarted),
    ),
    (
        "subscription_billing_attempts/success",
        Some(EventKind::SubscriptionRenewed),
    ),
    (
        "subscription_contracts/fail",
        Some(EventKind::SubscriptionOverdue),
    ),
    (
        "subscription_billing_attempts/failure",
        Some(EventKind::SubscriptionOverdue),
    ),
    (
        "subscription_contracts/cancel",
        Some(EventKind::SubscriptionCanceled),
    ),
    (
        "subscription_contracts/expire",
        Some(EventKind::SubscriptionCanceled),
    ),
    // Changes the merchant makes, or steps the buyer does not act on.
    ("orders/updated", None),
    ("orders/edited", None),
    ("orders/delete", None),
    ("orders/risk_assessment_changed", None),
    ("subscription_contracts/pause", None),
    ("subscription_contracts/update", None),
    ("subscription_billing_attempts/challenged", None),
    ("customers/create", None),
    ("customers/update", None),
    ("draft_orders/create", None),
    ("draft_orders/update", None),
    ("app/uninstalled", None),
];

/// A fulfillment's `shipment_status` (a fulfillment event's `status`): Shopify's documented
/// values, each a shipping kind.
pub(super) const SHIPMENTS: &[(&str, Option<EventKind>)] = &[
    (
        "shipment_status: label_printed",
        Some(EventKind::OrderShipped),
    ),
    (
        "shipment_status: label_purchased",
        Some(EventKind::OrderShipped),
    ),
    ("shipment_status: confirmed", Some(EventKind::OrderShipped)),
    (
        "shipment_status: carrier_picked_up",
        Some(EventKind::OrderShipped),
    ),
    ("shipment_status: in_transit", Some(EventKind::OrderShipped)),
    (
        "shipment_status: out_for_delivery",
        Some(EventKind::ShippingOutForDelivery),
    ),
    (
        "shipment_status: ready_for_pickup",
        Some(EventKind::ShippingAwaitingPickup),
    ),
    (
        "shipment_status: delivered",
        Some(EventKind::ShippingDelivered),
    ),
    (
        "shipment_status: picked_up",
        Some(EventKind::ShippingDelivered),
    ),
    (
        "shipment_status: attempted_delivery",
        Some(EventKind::ShippingProblem),
    ),
    ("shipment_status: delayed", Some(EventKind::ShippingProblem)),
    ("shipment_status: failure", Some(EventKind::ShippingProblem)),
];

/// The topic's kind from [`EVENTS`], refined by the body where one topic says several things.
fn kind_for(topic: &str, body: &Value) -> Option<EventKind> {
    let shipment = |field: &str| match text(body, field) {
        Some(status) => table_kind(SHIPMENTS, &format!("shipment_status: {status}")),
        None => table_kind(EVENTS, topic),
    };
    let kind = table_choose(EVENTS, topic, |_| {
        // orders/create: only a pending order has a voucher to pay.
        (text(body, "financial_status").as_deref() == Some("pending"))
            .then(|| awaiting_kind(method(body)))
            .flatten()
    })?;
    match topic {
        "checkouts/create" | "checkouts/update" => {
            at(body, "completed_at").is_none().then_some(kind)
        }
        "fulfillments/create" | "fulfillments/update" => match text(body, "status").as_deref() {
            // A fulfillment that was cancelled or failed did not ship.
            Some("cancelled" | "error" | "failure") => None,
            _ => shipment("shipment_status"),
        },
        "fulfillment_events/create" => shipment("status"),
        "order_transactions/create" => {
            let sale = matches!(
                text(body, "kind").as_deref(),
                Some("sale" | "authorization" | "capture")
            );
            let failed = matches!(text(body, "status").as_deref(), Some("failure" | "error"));
            (sale && failed).then_some(kind)
        }
        _ => Some(kind),
    }
}

/// The payment method from the gateway names a Brazilian store uses ("Pix", "Boleto Bancário").
fn method(body: &Value) -> Option<PaymentMethod> {
    let names = first_text(body, &["gateway", "payment_gateway_names.0"])?.to_lowercase();
    if names.contains("boleto") {
        Some(PaymentMethod::Boleto)
    } else if names.contains("pix") {
        Some(PaymentMethod::Pix)
    } else if names.contains("card") || names.contains("cartão") || names.contains("cartao") {
        Some(PaymentMethod::CreditCard)
    } else {
        None
    }
}

/// An order or a checkout: the buyer, the cart and where the buyer came from.
fn read_order(draft: &mut Draft, body: &Value) {
    // The order's own contact first; the customer's default address belongs to their profile
    // (often another country) and is not read.
    for path in [
        "customer.phone",
        "phone",
        "billing_address.phone",
        "shipping_address.phone",
    ] {
        draft.phone(text(body, path));
    }
    let e = &mut draft.event;
    e.order_id = text(body, "id");
    e.customer.name = full_name(body, "customer")
        .or_else(|| text(body, "billing_address.name"))
        .or_else(|| text(body, "shipping_address.name"));
    e.customer.first_name = text(body, "customer.first_name");
    e.customer.email = first_text(body, &["email", "contact_email", "customer.email"]);
    e.products = products(at(body, "line_items"), "");
    e.total_cents = reais(body, "total_price");
    e.currency = text(body, "currency");
    e.payment.method = method(body);
    e.payment.checkout_url = text(body, "abandoned_checkout_url");
    e.utm = utm_from_url(text(body, "landing_site").as_deref());
    if let Some(Value::Array(fulfillments)) = at(body, "fulfillments")
        && let Some(last) = fulfillments.last()
    {
        read_tracking(draft, last);
    }
}

fn read_fulfillment(draft: &mut Draft, body: &Value) {
    draft.phone(text(body, "destination.phone"));
    let e = &mut draft.event;
    e.order_id = text(body, "order_id");
    e.customer.name = text(body, "destination.name");
    e.customer.email = text(body, "email");
    e.products = products(at(body, "line_items"), "");
    read_tracking(draft, body);
}

fn read_tracking(draft: &mut Draft, fulfillment: &Value) {
    let s = &mut draft.event.shipping;
    s.tracking_code = first_text(fulfillment, &["tracking_number", "tracking_numbers.0"]);
    s.tracking_url = first_text(fulfillment, &["tracking_url", "tracking_urls.0"]);
    s.carrier = text(fulfillment, "tracking_company");
}

/// A refund: the amount is what the refund transactions actually returned.
fn read_refund(draft: &mut Draft, body: &Value) {
    let e = &mut draft.event;
    e.order_id = text(body, "order_id");
    e.products = products(at(body, "refund_line_items"), "line_item");
    if let Some(Value::Array(txs)) = at(body, "transactions") {
        let refunded: Vec<&Value> = txs
            .iter()
            .filter(|t| text(t, "kind").as_deref() == Some("refund"))
            .filter(|t| matches!(text(t, "status").as_deref(), None | Some("success")))
            .collect();
        e.total_cents = refunded
            .iter()
            .map(|t| reais(t, "amount"))
            .sum::<Option<i64>>()
            .filter(|_| !refunded.is_empty());
        e.currency = refunded.iter().find_map(|t| text(t, "currency"));
    }
}

fn read_subscription(draft: &mut Draft, body: &Value) {
    let e = &mut draft.event;
    e.order_id = first_text(body, &["origin_order_id", "order_id"]);
    e.subscription.id = first_text(body, &["subscription_contract_id", "admin_graphql_api_id"]);
    e.subscription.status = text(body, "status");
    e.currency = text(body, "currency_code");
    e.payment.refusal_reason = first_text(body, &["error_message", "error_code"]);
}

/// Line items; for refunds each row wraps the item under `inner` with its own quantity.
fn products(items: Option<&Value>, inner: &str) -> Vec<Product> {
    let Some(Value::Array(items)) = items else {
        return Vec::new();
    };
    let item_path = |p: &str| {
        if inner.is_empty() {
            p.to_owned()
        } else {
            format!("{inner}.{p}")
        }
    };
    items
        .iter()
        .filter_map(|row| {
            Some(Product {
                name: first_text(row, &[&item_path("name"), &item_path("title")])?,
                id: text(row, &item_path("product_id")),
                quantity: int(row, "quantity").and_then(|q| u32::try_from(q).ok()),
                price_cents: reais(row, &item_path("price")),
                image_url: None,
            })
        })
        .collect()
}

fn full_name(body: &Value, prefix: &str) -> Option<String> {
    let first = text(body, &format!("{prefix}.first_name"));
    let last = text(body, &format!("{prefix}.last_name"));
    let name = [first, last].into_iter().flatten().collect::<Vec<_>>();
    (!name.is_empty()).then(|| name.join(" "))
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

// The module keeps the name `tests` so the snapshot files keep their names.
#[cfg(test)]
#[path = "shopify_tests.rs"]
mod tests;
