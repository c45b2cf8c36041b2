//! Vindi webhooks: `{event: {type, created_at, data: {bill | charge | subscription}}}`, amounts
//! as reais strings ("100.0"). The customer has a name and an e-mail but no phone (its
//! `phones[]` come from GET /v1/customers/{id}). Vindi signs nothing.

use serde_json::Value;

use super::common::{at, email, first_text, int, list, reais, table_kind, text, timestamp};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Vindi's `event.type` names (atendimento.vindi.com.br "Webhooks": eventos).
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    // A bill to pay: a boleto when paid by bank slip (refined in [`kind`]).
    ("bill_created", Some(EventKind::BoletoGenerated)),
    ("bill_paid", Some(EventKind::OrderPaid)),
    ("bill_canceled", Some(EventKind::OrderCanceled)),
    ("bill_seen", None),
    ("charge_created", None),
    ("charge_rejected", Some(EventKind::PaymentRefused)),
    ("charge_refunded", Some(EventKind::OrderRefunded)),
    ("charge_canceled", None),
    ("period_created", None),
    ("subscription_created", Some(EventKind::SubscriptionStarted)),
    (
        "subscription_canceled",
        Some(EventKind::SubscriptionCanceled),
    ),
    ("subscription_reactivated", None),
    ("customer_created", None),
    ("customer_updated", None),
    ("payment_profile_created", None),
    ("issue_created", None),
    ("invoice_issued", None),
    ("test", None),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = super::common::body_value(req)?;
    let name = text(&body, "event.type").ok_or_else(|| {
        ParseError::UnknownShape("a Vindi webhook names its event in `event.type`".into())
    })?;
    let data = at(&body, "event.data").unwrap_or(&Value::Null);
    let mut draft = Draft::new(name.as_str());
    draft.event.occurred_at = timestamp(&body, "event.created_at");
    let charge = at(data, "charge").unwrap_or(&Value::Null);
    let bill = at(data, "bill")
        .or_else(|| at(charge, "bill"))
        .unwrap_or(&Value::Null);
    let sub = at(data, "subscription")
        .or_else(|| at(bill, "subscription"))
        .unwrap_or(&Value::Null);
    let e = &mut draft.event;
    let first_charge = list(bill, "charges").into_iter().next();
    let charge = if charge.is_object() {
        charge
    } else {
        first_charge.unwrap_or(&Value::Null)
    };
    if bill.is_object() {
        e.order_id = text(bill, "id");
        e.total_cents = reais(bill, "amount");
        for item in list(bill, "bill_items") {
            if let Some(name) = text(item, "product.name") {
                e.products.push(Product {
                    name,
                    id: text(item, "product.id"),
                    quantity: int(item, "quantity").and_then(|q| u32::try_from(q).ok()),
                    price_cents: reais(item, "amount"),
                    image_url: None,
                });
            }
        }
        e.payment.due_at = timestamp(bill, "due_at");
        e.payment.checkout_url = text(bill, "url");
    } else if at(data, "subscription").is_some() {
        e.order_id = text(sub, "id");
        let mut total = 0;
        for item in list(sub, "product_items") {
            let price = reais(item, "pricing_schema.price");
            let quantity = int(item, "quantity").unwrap_or(1);
            total += price.unwrap_or(0) * quantity;
            if let Some(name) = text(item, "product.name") {
                e.products.push(Product {
                    name,
                    id: text(item, "product.id"),
                    quantity: u32::try_from(quantity).ok(),
                    price_cents: price,
                    image_url: None,
                });
            }
        }
        e.total_cents = (total > 0).then_some(total);
    }
    if e.total_cents.is_none() {
        e.total_cents = reais(charge, "amount");
    }
    e.currency = Some("BRL".into());
    let method = text(charge, "payment_method.code")
        .or_else(|| text(sub, "payment_method.code"))
        .map(|m| method_of(&m));
    e.kind = kind(&name, method);
    let p = &mut e.payment;
    p.method = method;
    // A bank slip charge's `print_url` is the boleto.
    if method == Some(PaymentMethod::Boleto) {
        p.boleto_url = text(charge, "print_url");
        p.due_at = timestamp(charge, "due_at").or(p.due_at.take());
    }
    p.installments = int(charge, "installments").and_then(|n| u32::try_from(n).ok());
    if e.kind == Some(EventKind::PaymentRefused) {
        p.refusal_reason = text(charge, "last_transaction.gateway_message");
    }
    let customer = [
        at(bill, "customer"),
        at(sub, "customer"),
        at(charge, "customer"),
        at(data, "customer"),
    ]
    .into_iter()
    .flatten()
    .find(|c| c.is_object())
    .unwrap_or(&Value::Null);
    e.customer.name = text(customer, "name");
    e.customer.email = email(customer, "email");
    e.subscription.id = text(sub, "id");
    e.subscription.plan = text(sub, "plan.name");
    e.subscription.status = text(sub, "status");
    e.subscription.next_charge_at = timestamp(sub, "next_billing_at");
    // A customer resource fetched from the API lists its phones.
    let phone = list(customer, "phones")
        .into_iter()
        .find(|p| text(p, "phone_type").as_deref() == Some("mobile"))
        .or_else(|| list(customer, "phones").into_iter().next())
        .and_then(|p| first_text(p, &["number"]));
    draft.phone(phone);
    Ok(vec![draft])
}

fn kind(name: &str, method: Option<PaymentMethod>) -> Option<EventKind> {
    match table_kind(EVENTS, name)? {
        // A card bill is charged at once; only a bank slip leaves the buyer something to pay.
        EventKind::BoletoGenerated => {
            (method == Some(PaymentMethod::Boleto)).then_some(EventKind::BoletoGenerated)
        }
        other => Some(other),
    }
}

fn method_of(code: &str) -> PaymentMethod {
    match code {
        "credit_card" | "debit_card" => PaymentMethod::CreditCard,
        "bank_slip" | "online_bank_slip" => PaymentMethod::Boleto,
        "pix" | "pix_bank_slip" => PaymentMethod::Pix,
        _ => PaymentMethod::Other,
    }
}

/// Vindi signs nothing: the secret URL (and HTTP basic auth in it, if the merchant adds one)
/// is the protection.
pub(super) fn verify(_secret: &str, _req: &Request) -> Result<(), SignatureError> {
    Ok(())
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use crate::ingest::recognise;

    fn kind_of(name: &str, method: &str) -> Option<EventKind> {
        let body = format!(
            r#"{{"event":{{"type":"{name}","data":{{"bill":{{"id":1,"charges":[{{"payment_method":{{"code":"{method}"}}}}]}}}}}}}}"#
        );
        recognise(Platform::Vindi, &Request::new(body.as_bytes(), &[], ""))[0]
            .event
            .as_ref()
            .and_then(|e| e.kind)
    }

    #[test]
    fn every_documented_event_has_a_decided_kind() {
        for (name, kind) in EVENTS {
            assert_eq!(kind_of(name, "bank_slip"), *kind, "{name}");
        }
        assert_eq!(kind_of("bill_created", "credit_card"), None);
    }
}
