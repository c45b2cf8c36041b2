//! Asaas webhooks: the envelope `{id, event, dateCreated, payment | subscription | checkout}`,
//! amounts in reais, the static `asaas-access-token` header. The buyer is only an id (`cus_…`):
//! a payment names no phone, so its events need the customer from Asaas's API or an earlier
//! event of the same order.

use serde_json::Value;

use super::catalog::table_choose;
use super::common::{at, body_value, email, int, list, reais, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Asaas's `event` names (docs.asaas.com "Eventos para cobranças", "Eventos para assinaturas",
/// "Eventos para checkout"). PAYMENT_CREATED and PAYMENT_OVERDUE are refined in [`kind`].
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    // A charge created: for a boleto or a PIX the buyer has something to pay.
    // A boleto or PIX charge is out; a card or undefined one has nothing to remind yet.
    ("PAYMENT_CREATED", Some(EventKind::BoletoGenerated)),
    ("PAYMENT_CREATED", Some(EventKind::PixGenerated)),
    (
        "PAYMENT_AWAITING_RISK_ANALYSIS",
        Some(EventKind::PaymentInReview),
    ),
    ("PAYMENT_APPROVED_BY_RISK_ANALYSIS", None),
    (
        "PAYMENT_REPROVED_BY_RISK_ANALYSIS",
        Some(EventKind::PaymentRefused),
    ),
    // A card authorised but not captured yet: PAYMENT_CONFIRMED follows.
    ("PAYMENT_AUTHORIZED", None),
    ("PAYMENT_UPDATED", None),
    ("PAYMENT_CONFIRMED", Some(EventKind::OrderPaid)),
    ("PAYMENT_RECEIVED", Some(EventKind::OrderPaid)),
    (
        "PAYMENT_CREDIT_CARD_CAPTURE_REFUSED",
        Some(EventKind::PaymentRefused),
    ),
    ("PAYMENT_ANTICIPATED", None),
    // A subscription's charge overdue is the subscription overdue.
    ("PAYMENT_OVERDUE", Some(EventKind::PaymentOverdue)),
    ("PAYMENT_OVERDUE", Some(EventKind::SubscriptionOverdue)),
    // The merchant removed the charge: nothing is owed any more.
    ("PAYMENT_DELETED", Some(EventKind::OrderCanceled)),
    ("PAYMENT_RESTORED", None),
    ("PAYMENT_REFUNDED", Some(EventKind::OrderRefunded)),
    // A partial refund leaves the purchase standing.
    ("PAYMENT_PARTIALLY_REFUNDED", None),
    ("PAYMENT_REFUND_IN_PROGRESS", None),
    ("PAYMENT_RECEIVED_IN_CASH_UNDONE", None),
    (
        "PAYMENT_CHARGEBACK_REQUESTED",
        Some(EventKind::OrderChargeback),
    ),
    // Later steps of the same dispute: the buyer was told once.
    ("PAYMENT_CHARGEBACK_DISPUTE", None),
    ("PAYMENT_AWAITING_CHARGEBACK_REVERSAL", None),
    ("PAYMENT_DUNNING_RECEIVED", None),
    ("PAYMENT_DUNNING_REQUESTED", None),
    ("PAYMENT_BANK_SLIP_VIEWED", None),
    ("PAYMENT_CHECKOUT_VIEWED", None),
    ("SUBSCRIPTION_CREATED", Some(EventKind::SubscriptionStarted)),
    ("SUBSCRIPTION_UPDATED", None),
    (
        "SUBSCRIPTION_INACTIVATED",
        Some(EventKind::SubscriptionCanceled),
    ),
    (
        "SUBSCRIPTION_DELETED",
        Some(EventKind::SubscriptionCanceled),
    ),
    // A hosted checkout opened: nothing paid or abandoned yet.
    ("CHECKOUT_CREATED", None),
    ("CHECKOUT_CANCELED", None),
    ("CHECKOUT_EXPIRED", Some(EventKind::CheckoutAbandoned)),
    ("CHECKOUT_PAID", Some(EventKind::OrderPaid)),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let name = text(&body, "event").ok_or_else(|| {
        ParseError::UnknownShape("an Asaas webhook names its event in `event`".into())
    })?;
    let mut draft = Draft::new(name.as_str());
    draft.event.event_id = text(&body, "id");
    draft.event.occurred_at = timestamp(&body, "dateCreated");
    // No delivery id on purpose: a card payment's PAYMENT_CONFIRMED and its later
    // PAYMENT_RECEIVED carry different envelope ids but are the same payment, and the facts'
    // hash (kind, payment id, value) makes them one event.
    if let Some(payment) = at(&body, "payment").filter(|p| p.is_object()) {
        read_payment(&mut draft, payment);
    } else if let Some(sub) = at(&body, "subscription").filter(|s| s.is_object()) {
        read_subscription(&mut draft, sub);
    } else if let Some(checkout) = at(&body, "checkout").filter(|c| c.is_object()) {
        read_checkout(&mut draft, checkout);
    }
    let method = draft.event.payment.method;
    let has_subscription = draft.event.subscription.id.is_some();
    draft.event.kind = kind(&name, method, has_subscription);
    Ok(vec![draft])
}

fn kind(name: &str, method: Option<PaymentMethod>, subscription: bool) -> Option<EventKind> {
    use EventKind::*;
    table_choose(EVENTS, name, |kinds| {
        if kinds.contains(&BoletoGenerated) {
            // A card charge is created already being processed; an undefined one lets the buyer
            // choose on the invoice page: nothing to remind yet.
            match method? {
                PaymentMethod::Boleto => Some(BoletoGenerated),
                PaymentMethod::Pix => Some(PixGenerated),
                _ => None,
            }
        } else if subscription {
            Some(SubscriptionOverdue)
        } else {
            Some(PaymentOverdue)
        }
    })
}

fn read_payment(draft: &mut Draft, payment: &Value) {
    let e = &mut draft.event;
    e.order_id = text(payment, "id");
    e.total_cents = reais(payment, "value");
    e.currency = Some("BRL".into());
    if let Some(description) = text(payment, "description") {
        e.products.push(Product {
            name: description,
            id: text(payment, "externalReference"),
            quantity: Some(1),
            price_cents: reais(payment, "value"),
            image_url: None,
        });
    }
    let p = &mut e.payment;
    p.method = text(payment, "billingType").map(|b| method_of(&b));
    p.boleto_url = text(payment, "bankSlipUrl");
    // Asaas documents bankSlipUrl as the boleto's download (`/b/pdf/…`): the PDF itself.
    p.boleto_pdf_url = text(payment, "bankSlipUrl");
    p.boleto_barcode = text(payment, "identificationField");
    p.pix_code = text(payment, "pixQrCode.payload").or_else(|| text(payment, "payload"));
    // The invoice page is where the buyer pays (PIX QR code, boleto, card).
    p.checkout_url = text(payment, "invoiceUrl");
    p.due_at = timestamp(payment, "dueDate");
    p.installments = int(payment, "installmentCount").and_then(|n| u32::try_from(n).ok());
    p.refusal_reason = text(payment, "creditCard.refusalReason");
    e.subscription.id = text(payment, "subscription");
}

fn read_subscription(draft: &mut Draft, sub: &Value) {
    let e = &mut draft.event;
    e.order_id = text(sub, "id");
    e.total_cents = reais(sub, "value");
    e.currency = Some("BRL".into());
    e.payment.method = text(sub, "billingType").map(|b| method_of(&b));
    e.subscription.id = text(sub, "id");
    e.subscription.plan = text(sub, "description");
    e.subscription.status = text(sub, "status");
    e.subscription.next_charge_at = timestamp(sub, "nextDueDate");
}

/// An Asaas Checkout: its items, and the buyer when the merchant filled `customerData`.
fn read_checkout(draft: &mut Draft, checkout: &Value) {
    let e = &mut draft.event;
    e.order_id = text(checkout, "id");
    let mut total = 0i64;
    for item in list(checkout, "items") {
        let quantity = int(item, "quantity").unwrap_or(1);
        let price = reais(item, "value");
        total += price.unwrap_or(0) * quantity;
        if let Some(name) = text(item, "name") {
            e.products.push(Product {
                name,
                id: None,
                quantity: u32::try_from(quantity).ok(),
                price_cents: price,
                image_url: None,
            });
        }
    }
    e.total_cents = (total > 0).then_some(total);
    e.currency = Some("BRL".into());
    e.payment.method = text(checkout, "billingTypes.0").map(|b| method_of(&b));
    e.payment.checkout_url = text(checkout, "link");
    let buyer = at(checkout, "customerData").unwrap_or(&Value::Null);
    e.customer.name = text(buyer, "name");
    e.customer.email = email(buyer, "email");
    e.customer.document = text(buyer, "cpfCnpj");
    let phone = text(buyer, "phone");
    draft.phone(phone);
}

fn method_of(raw: &str) -> PaymentMethod {
    match raw {
        "BOLETO" => PaymentMethod::Boleto,
        "PIX" => PaymentMethod::Pix,
        // The checkout example names the card acquirer (MUNDIPAGG_CIELO) instead of the method.
        "CREDIT_CARD" | "DEBIT_CARD" | "MUNDIPAGG_CIELO" => PaymentMethod::CreditCard,
        _ => PaymentMethod::Other,
    }
}

/// `asaas-access-token` carries the token chosen when the webhook was configured.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    check_token(
        req.header("asaas-access-token"),
        secret,
        "asaas-access-token header",
    )
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use crate::ingest::recognise;

    fn kind_of(body: &str) -> Option<&'static str> {
        let readings = recognise(Platform::Asaas, &Request::new(body.as_bytes(), &[], ""));
        readings[0]
            .event
            .as_ref()
            .and_then(|e| e.kind.and_then(EventKind::static_str))
    }

    #[test]
    fn every_documented_event_has_a_decided_kind() {
        for (name, kind) in EVENTS {
            if crate::ingest::catalog::table_kinds(EVENTS, name).first() != kind.as_ref() {
                continue; // a second kind of the name: picked by the body, tested below
            }
            let body = format!(
                r#"{{"event":"{name}","payment":{{"id":"pay_1","billingType":"BOLETO"}}}}"#
            );
            assert_eq!(
                kind_of(&body),
                kind.and_then(EventKind::static_str),
                "{name}"
            );
        }
        let mut names: Vec<_> = EVENTS.iter().map(|(n, _)| n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), EVENTS.len() - 2, "a name is listed twice");
    }

    #[test]
    fn a_created_charge_is_a_pix_a_boleto_or_nothing_and_overdue_subscriptions_say_so() {
        let created = |method: &str| {
            kind_of(&format!(
                r#"{{"event":"PAYMENT_CREATED","payment":{{"billingType":"{method}"}}}}"#
            ))
        };
        assert_eq!(created("PIX"), Some("pix.generated"));
        assert_eq!(created("BOLETO"), Some("boleto.generated"));
        assert_eq!(created("CREDIT_CARD"), None);
        assert_eq!(created("UNDEFINED"), None);
        assert_eq!(
            kind_of(r#"{"event":"PAYMENT_OVERDUE","payment":{"subscription":"sub_1"}}"#),
            Some("subscription.overdue")
        );
    }

    #[test]
    fn confirmed_then_received_is_one_event() {
        let read = |name: &str, id: &str| {
            let body = format!(
                r#"{{"id":"{id}","event":"{name}","payment":{{"id":"pay_1","value":10.5,"billingType":"CREDIT_CARD"}}}}"#
            );
            recognise(Platform::Asaas, &Request::new(body.as_bytes(), &[], ""))[0]
                .event
                .clone()
                .expect("event")
                .dedup_key
        };
        assert_eq!(
            read("PAYMENT_CONFIRMED", "evt_1"),
            read("PAYMENT_RECEIVED", "evt_2")
        );
    }

    #[test]
    fn the_access_token_header_must_match() {
        let headers = vec![("asaas-access-token".to_owned(), "tok".to_owned())];
        assert_eq!(verify("tok", &Request::new(b"{}", &headers, "")), Ok(()));
        assert_eq!(
            verify("other", &Request::new(b"{}", &headers, "")),
            Err(SignatureError::Mismatch)
        );
        assert!(verify("tok", &Request::new(b"{}", &[], "")).is_err());
    }
}
