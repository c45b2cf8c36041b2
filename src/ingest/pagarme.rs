//! pagarme: reads Pagar.me API v5 webhooks (`type`, amounts in cents) and legacy v4 postbacks
//! (`event` + `current_status`, form or JSON) into events, and checks v4's `X-Hub-Signature` or
//! v5's HTTP Basic credentials. Uses `ingest::common` and `domain` only.

use serde_json::Value;

use super::catalog::{awaiting_kind, table_choose};
use super::common::{at, body_value, cents, first_text, int, text, timestamp};
use super::signature::{check_hex, hmac_sha1, same};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Reads one delivery: v5 bodies name the event in `type`, v4 postbacks in `event`.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    if let Some(kind) = text(&body, "type") {
        return Ok(vec![read_v5(&body, kind)]);
    }
    if let Some(event) = text(&body, "event") {
        return Ok(vec![read_v4(&body, event)]);
    }
    Err(ParseError::UnknownShape(
        "a Pagar.me webhook names its event in \"type\" (API v5) or \"event\" (v4 postback)".into(),
    ))
}

/// v4 postbacks: `X-Hub-Signature: sha1=<hex HMAC-SHA1(api key, body)>`. v5 webhooks carry the
/// Basic credentials configured with the webhook; the secret is `user:password`.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    if let Some(sig) = req.header("x-hub-signature") {
        let hex_sig = sig.trim().strip_prefix("sha1=").unwrap_or(sig);
        let expected = hmac_sha1(secret.as_bytes(), req.body);
        return check_hex(Some(hex_sig), &expected, "X-Hub-Signature header");
    }
    let auth = req.header("authorization").ok_or(SignatureError::Missing(
        "X-Hub-Signature or Authorization header",
    ))?;
    let encoded = auth
        .trim()
        .strip_prefix("Basic ")
        .ok_or(SignatureError::Malformed("Authorization header"))?;
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| SignatureError::Malformed("Authorization header"))?;
    if same(&decoded, secret.trim().as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// API v5 webhook `type`s (docs.pagar.me "Lista de Events" and the webhook reference).
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    // An order or charge awaiting a boleto or PIX payment: the voucher is out. A card one is
    // being processed and tells the buyer nothing yet.
    ("order.created", Some(EventKind::BoletoGenerated)),
    ("order.created", Some(EventKind::PixGenerated)),
    ("charge.pending", Some(EventKind::BoletoGenerated)),
    ("charge.pending", Some(EventKind::PixGenerated)),
    ("charge.antifraud_manual", Some(EventKind::PaymentInReview)),
    ("charge.antifraud_pending", Some(EventKind::PaymentInReview)),
    ("order.payment_failed", Some(EventKind::PaymentRefused)),
    ("charge.payment_failed", Some(EventKind::PaymentRefused)),
    ("charge.antifraud_reproved", Some(EventKind::PaymentRefused)),
    ("order.paid", Some(EventKind::OrderPaid)),
    ("charge.paid", Some(EventKind::OrderPaid)),
    ("subscription.created", Some(EventKind::SubscriptionStarted)),
    ("invoice.paid", Some(EventKind::SubscriptionRenewed)),
    (
        "invoice.payment_failed",
        Some(EventKind::SubscriptionOverdue),
    ),
    ("order.canceled", Some(EventKind::OrderCanceled)),
    ("charge.refunded", Some(EventKind::OrderRefunded)),
    ("charge.partial_canceled", Some(EventKind::OrderRefunded)),
    ("charge.chargedback", Some(EventKind::OrderChargeback)),
    (
        "subscription.canceled",
        Some(EventKind::SubscriptionCanceled),
    ),
    // Steps the buyer does not act on: a charge created or processing (its voucher comes with
    // charge.pending), paid too little or too much (the merchant settles it), an approval
    // already followed by charge.paid, an order closed or updated, an invoice issued.
    ("order.closed", None),
    ("order.updated", None),
    ("charge.created", None),
    ("charge.updated", None),
    ("charge.processing", None),
    ("charge.underpaid", None),
    ("charge.overpaid", None),
    ("charge.antifraud_approved", None),
    ("invoice.created", None),
    ("invoice.updated", None),
    ("invoice.canceled", None),
    ("subscription.updated", None),
    ("checkout.created", None),
    ("checkout.canceled", None),
    ("checkout.closed", None),
    // The account's records, not a buyer's order.
    ("customer.created", None),
    ("customer.updated", None),
    ("card.created", None),
    ("card.updated", None),
    ("card.expired", None),
    ("card.deleted", None),
    ("address.created", None),
    ("address.updated", None),
    ("address.deleted", None),
    ("plan.created", None),
    ("plan.updated", None),
    ("plan.deleted", None),
    ("plan_item.created", None),
    ("plan_item.updated", None),
    ("plan_item.deleted", None),
    ("subscription_item.created", None),
    ("subscription_item.updated", None),
    ("subscription_item.deleted", None),
];

/// Legacy v4 postbacks, written `event:current_status` (v4 "Postbacks": the transaction and
/// subscription statuses).
pub(super) const EVENTS_V4: &[(&str, Option<EventKind>)] = &[
    // An unpaid boleto or PIX was issued (by method); a card has nothing to pay.
    (
        "transaction_status_changed:waiting_payment",
        Some(EventKind::BoletoGenerated),
    ),
    (
        "transaction_status_changed:waiting_payment",
        Some(EventKind::PixGenerated),
    ),
    (
        "transaction_status_changed:analyzing",
        Some(EventKind::PaymentInReview),
    ),
    (
        "transaction_status_changed:pending_review",
        Some(EventKind::PaymentInReview),
    ),
    (
        "transaction_status_changed:refused",
        Some(EventKind::PaymentRefused),
    ),
    (
        "transaction_status_changed:paid",
        Some(EventKind::OrderPaid),
    ),
    (
        "transaction_status_changed:refunded",
        Some(EventKind::OrderRefunded),
    ),
    (
        "transaction_status_changed:chargedback",
        Some(EventKind::OrderChargeback),
    ),
    // Steps before a decision, or a refund not yet made: the buyer is not told.
    ("transaction_status_changed:processing", None),
    ("transaction_status_changed:authorized", None),
    ("transaction_status_changed:pending_refund", None),
    (
        "subscription_status_changed:trialing",
        Some(EventKind::SubscriptionStarted),
    ),
    (
        "subscription_status_changed:paid",
        Some(EventKind::SubscriptionRenewed),
    ),
    (
        "subscription_status_changed:pending_payment",
        Some(EventKind::SubscriptionOverdue),
    ),
    (
        "subscription_status_changed:unpaid",
        Some(EventKind::SubscriptionOverdue),
    ),
    (
        "subscription_status_changed:canceled",
        Some(EventKind::SubscriptionCanceled),
    ),
    (
        "subscription_status_changed:ended",
        Some(EventKind::SubscriptionCanceled),
    ),
];

/// A v5 `type`'s kind; several kinds for one type are picked by the method.
fn v5_kind(event: &str, method: Option<PaymentMethod>) -> Option<EventKind> {
    table_choose(EVENTS, event, |_| awaiting_kind(method))
}

/// A v4 postback's kind: every event that is not a subscription's is a transaction's.
fn v4_kind(event: &str, status: &str, method: Option<PaymentMethod>) -> Option<EventKind> {
    let event = match event {
        "subscription_status_changed" => event,
        _ => "transaction_status_changed",
    };
    table_choose(EVENTS_V4, &format!("{event}:{status}"), |_| {
        awaiting_kind(method)
    })
}

/// Rows of a list: a JSON array, or the `{"0": …, "1": …}` object a form's `items[0][…]` makes.
fn rows(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Object(items)) => items.values().collect(),
        _ => Vec::new(),
    }
}

fn method_of(name: Option<String>) -> Option<PaymentMethod> {
    Some(match name?.to_lowercase().as_str() {
        "boleto" => PaymentMethod::Boleto,
        "pix" => PaymentMethod::Pix,
        "credit_card" | "debit_card" => PaymentMethod::CreditCard,
        _ => PaymentMethod::Other,
    })
}

fn read_v5(body: &Value, event: String) -> Draft {
    let mut draft = Draft::new(event.clone());
    let empty = Value::Null;
    let data = at(body, "data").unwrap_or(&empty);
    let is_charge = event.starts_with("charge.");
    // Order events carry their charges; charge events are the charge itself.
    let charge = if is_charge {
        data
    } else {
        match at(data, "charges") {
            Some(Value::Array(charges)) => charges.last().unwrap_or(&empty),
            _ => &empty,
        }
    };
    let tx = at(charge, "last_transaction").unwrap_or(&empty);
    let method = method_of(text(charge, "payment_method").or_else(|| text(tx, "transaction_type")));
    draft.event.kind = v5_kind(&event, method);
    let customer = at(data, "customer")
        .or_else(|| at(charge, "customer"))
        .unwrap_or(&empty);
    for phone in ["mobile_phone", "home_phone"] {
        let part = |p: &str| text(customer, &format!("phones.{phone}.{p}"));
        draft.phone_parts(part("country_code"), part("area_code"), part("number"));
    }
    let e = &mut draft.event;
    e.event_id = text(body, "id");
    e.occurred_at = timestamp(body, "created_at");
    e.order_id = if is_charge {
        first_text(data, &["order.id", "id"])
    } else {
        text(data, "id")
    };
    e.customer.name = text(customer, "name");
    e.customer.email = text(customer, "email");
    e.customer.document = text(customer, "document");
    e.total_cents = cents(data, "amount");
    e.currency = text(data, "currency");
    e.products = rows(at(data, "items"))
        .into_iter()
        .filter_map(|item| {
            Some(Product {
                name: first_text(item, &["description", "name"])?,
                id: first_text(item, &["code", "id"]),
                quantity: int(item, "quantity").and_then(|q| u32::try_from(q).ok()),
                price_cents: cents(item, "amount"),
                image_url: None,
            })
        })
        .collect();
    let p = &mut e.payment;
    p.method = method;
    p.installments = int(tx, "installments").and_then(|n| u32::try_from(n).ok());
    p.boleto_url =
        first_text(tx, &["url", "pdf"]).filter(|_| method == Some(PaymentMethod::Boleto));
    p.boleto_barcode = text(tx, "line");
    p.pix_code = text(tx, "qr_code");
    p.pix_qr_url = text(tx, "qr_code_url");
    p.due_at = timestamp(tx, "due_at").or_else(|| timestamp(tx, "expires_at"));
    if e.kind == Some(EventKind::PaymentRefused) {
        p.refusal_reason = first_text(
            tx,
            &[
                "acquirer_message",
                "gateway_response.errors.0.message",
                "antifraud_response.status",
            ],
        );
    }
    let sub = if event.starts_with("subscription.") {
        Some(data)
    } else {
        at(data, "subscription")
    };
    if let Some(sub) = sub {
        e.subscription.id = text(sub, "id");
        e.subscription.plan = first_text(sub, &["plan.name", "description"]);
        e.subscription.status = text(sub, "status");
        e.subscription.next_charge_at = timestamp(sub, "next_billing_at");
    }
    // The hook id is the same on every retry of one delivery.
    draft.delivery_id = text(body, "id");
    draft
}

fn read_v4(body: &Value, event: String) -> Draft {
    let mut draft = Draft::new(event.clone());
    let empty = Value::Null;
    let tx = at(body, "transaction")
        .or_else(|| at(body, "subscription.current_transaction"))
        .unwrap_or(&empty);
    let method =
        method_of(first_text(tx, &["payment_method"]).or_else(|| text(body, "payment_method")));
    let status = text(body, "current_status").unwrap_or_default();
    draft.event.kind = v4_kind(&event, &status, method);
    let customer = at(tx, "customer")
        .or_else(|| at(body, "subscription.customer"))
        .unwrap_or(&empty);
    draft.phone_parts(
        text(tx, "phone.ddi"),
        text(tx, "phone.ddd"),
        text(tx, "phone.number"),
    );
    draft.phone(text(customer, "phone_numbers.0"));
    draft.phone_parts(
        text(customer, "phone.ddi"),
        text(customer, "phone.ddd"),
        text(customer, "phone.number"),
    );
    let e = &mut draft.event;
    // Transaction ids repeat across status changes, so no delivery id: the content hash decides.
    e.order_id = text(body, "id");
    e.customer.name = text(customer, "name");
    e.customer.email = text(customer, "email");
    e.customer.document = first_text(customer, &["document_number", "documents.0.number"]);
    e.total_cents = cents(tx, "amount");
    e.occurred_at = timestamp(tx, "date_updated");
    e.products = rows(at(tx, "items"))
        .into_iter()
        .filter_map(|item| {
            Some(Product {
                name: text(item, "title")?,
                id: text(item, "id"),
                quantity: int(item, "quantity").and_then(|q| u32::try_from(q).ok()),
                price_cents: cents(item, "unit_price"),
                image_url: None,
            })
        })
        .collect();
    let p = &mut e.payment;
    p.method = method;
    p.installments = int(tx, "installments").and_then(|n| u32::try_from(n).ok());
    p.boleto_url = text(tx, "boleto_url");
    p.boleto_barcode = text(tx, "boleto_barcode");
    p.pix_code = text(tx, "pix_qr_code");
    p.due_at =
        timestamp(tx, "boleto_expiration_date").or_else(|| timestamp(tx, "pix_expiration_date"));
    if e.kind == Some(EventKind::PaymentRefused) {
        p.refusal_reason = first_text(
            tx,
            &[
                "refuse_reason",
                "status_reason",
                "acquirer_response_message",
            ],
        );
    }
    if event == "subscription_status_changed" {
        e.subscription.id = text(body, "id");
        e.subscription.plan = text(body, "subscription.plan.name");
        e.subscription.status = Some(status).filter(|s| !s.is_empty());
        e.subscription.next_charge_at = timestamp(body, "subscription.current_period_end");
    }
    draft
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

// The module keeps the name `tests` so the snapshot files keep their names.
#[cfg(test)]
#[path = "pagarme_tests.rs"]
mod tests;
