//! Eduzz's legacy Órbita postback (`type` + `trans_status` codes, JSON or form): one event.

use serde_json::{Value, json};

use crate::domain::{EventKind, PaymentMethod, Product};
use crate::ingest::Draft;
use crate::ingest::common::{first_text, list, reais, text, timestamp};

/// Legacy `trans_status` codes. 1 (open) and 15 (waiting payment) are refined in [`legacy_kind`].
const LEGACY_STATUS: &[(&str, Option<EventKind>)] = &[
    ("1", Some(EventKind::BoletoGenerated)),
    ("3", Some(EventKind::OrderPaid)),
    ("4", Some(EventKind::OrderCanceled)),
    ("6", None),
    ("7", Some(EventKind::OrderRefunded)),
    ("9", None),
    ("10", Some(EventKind::PaymentExpired)),
    ("11", Some(EventKind::PaymentOverdue)),
    ("15", Some(EventKind::PaymentInReview)),
];

/// A legacy Órbita postback. Form bodies nest `trans_items[0][x]`; the docs' JSON test body
/// keeps those bracketed keys flat, so both spellings are read.
pub(super) fn read(body: &Value) -> Draft {
    let kind_name = text(body, "type").unwrap_or_default();
    let status = text(body, "trans_status");
    let abandonment = kind_name == "abandonment"
        || text(body, "event_name").as_deref() == Some("cart_abandonment");
    let method = text(body, "trans_paymentmethod").map(|m| legacy_method(&m));
    let name = if abandonment {
        "abandonment".to_owned()
    } else {
        text(body, "event_name")
            .or_else(|| status.clone())
            .unwrap_or(kind_name.clone())
    };
    let mut draft = Draft::new(name.as_str());
    let ev = &mut draft.event;
    ev.kind = if abandonment {
        Some(EventKind::CheckoutAbandoned)
    } else {
        legacy_kind(&kind_name, body, status.as_deref(), method)
    };
    let f = |a: &str, b: &str| first_text(body, &[a, b]);
    ev.order_id = first_text(body, &["trans_cod", "invoiceId"]);
    ev.occurred_at = legacy_time(body, "trans_createdate", "trans_createtime")
        .or_else(|| timestamp(body, "cartAccessedAt"));
    ev.customer.name = first_text(body, &["cus_name", "customer.name", "customer[name]"]);
    ev.customer.email = first_text(body, &["cus_email", "customer.email", "customer[email]"]);
    ev.customer.document = text(body, "cus_taxnumber");
    let items = list(body, "trans_items");
    for item in &items {
        push_legacy_item(&mut ev.products, |k| text(item, k));
    }
    if items.is_empty() {
        push_legacy_item(&mut ev.products, |k| {
            text(body, &format!("trans_items[0][{k}]"))
        });
    }
    if ev.products.is_empty()
        && let Some(name) = first_text(body, &["product_name", "product.title", "product[title]"])
    {
        let id = first_text(body, &["product_cod", "product.id", "product[id]"]);
        ev.products.push(Product {
            name,
            id,
            ..Product::default()
        });
    }
    ev.total_cents = reais(body, "trans_value");
    ev.currency = text(body, "trans_currency");
    let p = &mut ev.payment;
    p.method = method;
    p.boleto_url = f("billet_url", "trans_bankslip");
    p.boleto_barcode = text(body, "trans_barcode");
    p.due_at = legacy_time(body, "trans_duedate", "");
    p.checkout_url = f("checkoutUrl", "page_checkout_url");
    ev.utm.source = f("utm_source", "tracker_utm_source");
    ev.utm.medium = f("utm_medium", "tracker_utm_medium");
    ev.utm.campaign = f("utm_campaign", "tracker_utm_campaign");
    ev.utm.content = f("utm_content", "tracker_utm_content");
    ev.subscription.id = text(body, "recurrence_cod");
    ev.subscription.plan = text(body, "recurrence_plan");
    ev.subscription.status = text(body, "recurrence_status_name");
    for path in [
        "cus_cel",
        "cus_tel",
        "cus_tel2",
        "customer.phone",
        "customer[phone]",
    ] {
        draft.phone(text(body, path));
    }
    draft
}

fn push_legacy_item(products: &mut Vec<Product>, get: impl Fn(&str) -> Option<String>) {
    if let Some(name) = get("item_product_name").or_else(|| get("item_name")) {
        products.push(Product {
            name,
            id: get("item_product_id").or_else(|| get("item_id")),
            quantity: Some(1),
            price_cents: get("item_value").and_then(|v| reais(&json!({ "v": v }), "v")),
            image_url: None,
        });
    }
}

fn legacy_kind(
    kind_name: &str,
    body: &Value,
    status: Option<&str>,
    method: Option<PaymentMethod>,
) -> Option<EventKind> {
    // A contract postback speaks through its recurrence status.
    if kind_name == "contract" {
        return match text(body, "recurrence_status").as_deref() {
            Some("4") => Some(EventKind::SubscriptionCanceled),
            Some("2" | "3" | "7") => Some(EventKind::SubscriptionOverdue),
            _ => None,
        };
    }
    let base = LEGACY_STATUS
        .iter()
        .find(|(c, _)| Some(*c) == status)
        .and_then(|(_, k)| *k)?;
    Some(match (base, method) {
        (EventKind::BoletoGenerated | EventKind::PaymentInReview, Some(PaymentMethod::Pix)) => {
            EventKind::PixGenerated
        }
        (EventKind::PaymentInReview, Some(PaymentMethod::Boleto)) => EventKind::BoletoGenerated,
        // 15 is documented as a recurring charge awaiting payment: the subscription is late.
        (EventKind::PaymentInReview, _) if text(body, "recurrence_cod").is_some() => {
            EventKind::SubscriptionOverdue
        }
        (other, _) => other,
    })
}

fn legacy_method(code: &str) -> PaymentMethod {
    match code {
        "1" => PaymentMethod::Boleto,
        "32" => PaymentMethod::Pix,
        "13" | "14" | "15" | "16" | "21" | "23" | "24" | "27" => PaymentMethod::CreditCard,
        _ => PaymentMethod::Other,
    }
}

/// Legacy dates are `YYYYMMDD` with a separate `HH:MM:SS` (Brasília time).
fn legacy_time(body: &Value, date: &str, time: &str) -> Option<String> {
    let d = text(body, date).filter(|d| d.len() == 8 && d.chars().all(|c| c.is_ascii_digit()))?;
    let day = format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]);
    let stamp = match text(body, time) {
        Some(t) => format!("{day} {t}"),
        None => day,
    };
    timestamp(&json!({ "t": stamp }), "t")
}

#[cfg(test)]
mod tests {
    use crate::domain::Platform;
    use crate::ingest::Request;
    use crate::ingest::recognise;

    fn kind(body: &str) -> Option<&'static str> {
        let readings = recognise(Platform::Eduzz, &Request::new(body.as_bytes(), &[], ""));
        readings[0]
            .event
            .as_ref()
            .and_then(|e| e.kind)
            .and_then(crate::domain::EventKind::static_str)
    }

    #[test]
    fn every_legacy_status_code_has_a_decided_kind() {
        let want = [
            ("1", Some("boleto.generated")),
            ("3", Some("order.paid")),
            ("4", Some("order.canceled")),
            ("6", None),
            ("7", Some("order.refunded")),
            ("9", None),
            ("10", Some("payment.expired")),
            ("11", Some("payment.overdue")),
            ("15", Some("payment.in_review")),
        ];
        for (code, k) in want {
            assert_eq!(
                kind(&format!("type=invoice&trans_status={code}")),
                k,
                "{code}"
            );
        }
        assert_eq!(
            kind("type=invoice&trans_status=1&trans_paymentmethod=32"),
            Some("pix.generated")
        );
        assert_eq!(
            kind("type=invoice&trans_status=15&recurrence_cod=9"),
            Some("subscription.overdue")
        );
        assert_eq!(
            kind("type=contract&recurrence_status=4"),
            Some("subscription.canceled")
        );
        assert_eq!(
            kind("type=abandonment&customer[phone]=11987654321"),
            Some("checkout.abandoned")
        );
    }
}
