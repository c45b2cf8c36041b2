//! VTEX order hooks (orders feed v3 "Hook"): `{Domain, OrderId, State, LastState, LastChange,
//! Origin}`. The state is in the body; the buyer, the amount and the tracking are only in the
//! order (GET /api/oms/pvt/orders/{OrderId}, `read_order`, for `ingest::enrich`). VTEX signs nothing: the hook's custom headers
//! and the secret URL protect it.

use serde_json::Value;

use super::common::{body_value, cents, int, list, table_kind, text, timestamp};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod};

/// The order states a hook reports (developer.vtex.com "Order flow and status").
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("order-created", None),
    ("order-completed", None),
    ("on-order-completed", None),
    ("payment-pending", None),
    ("waiting-for-order-authorization", None),
    ("approve-payment", None),
    ("payment-approved", Some(EventKind::OrderPaid)),
    ("payment-denied", Some(EventKind::PaymentRefused)),
    ("request-cancel", None),
    ("waiting-for-seller-decision", None),
    ("authorize-fulfillment", None),
    ("order-create-error", None),
    ("order-creation-error", None),
    ("window-to-cancel", None),
    ("ready-for-handling", None),
    ("start-handling", None),
    ("handling", None),
    ("invoice-after-cancellation-deny", None),
    ("order-accepted", None),
    // Invoiced is VTEX's "shipped": the invoice carries the tracking number.
    ("invoiced", Some(EventKind::OrderShipped)),
    ("cancel", None),
    ("canceled", Some(EventKind::OrderCanceled)),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let state = text(&body, "State").ok_or_else(|| {
        ParseError::UnknownShape("a VTEX order hook names the order's state in `State`".into())
    })?;
    let mut draft = Draft::new(state.as_str());
    let e = &mut draft.event;
    e.kind = table_kind(EVENTS, &state);
    e.order_id = text(&body, "OrderId");
    e.occurred_at = timestamp(&body, "CurrentChange").or_else(|| timestamp(&body, "LastChange"));
    Ok(vec![draft])
}

/// GET /api/oms/pvt/orders/{orderId} (the answer to a hook): the buyer (`clientProfileData`),
/// the total (`value`, cents), the payment (`paymentData.transactions[].payments[]`: `group`
/// bankInvoice / instantPayment / creditCard, the boleto's URL and line) and the tracking
/// (`packageAttachment.packages[]`). A hook without a kind (payment-pending) takes it from the
/// payment: a boleto or a PIX waiting. `Err`: not this VTEX order.
pub(super) fn read_order(draft: &mut Draft, order: &Value) -> Result<(), String> {
    let Some(id) = text(order, "orderId") else {
        return Err("the answer is not a VTEX order".into());
    };
    let e = &mut draft.event;
    if e.order_id.as_deref().is_some_and(|thin| thin != id) {
        return Err(format!("the answer is order {id:?}, not {:?}", e.order_id));
    }
    let payment = list(order, "paymentData.transactions")
        .into_iter()
        .flat_map(|t| list(t, "payments"))
        .next();
    let group = payment.and_then(|p| text(p, "group")).unwrap_or_default();
    let method = match group.as_str() {
        "bankInvoice" => Some(PaymentMethod::Boleto),
        "instantPayment" => Some(PaymentMethod::Pix),
        "creditCard" => Some(PaymentMethod::CreditCard),
        "" => None,
        _ => Some(PaymentMethod::Other),
    };
    if e.kind.is_none() && e.platform_event == "payment-pending" {
        e.kind = match method {
            Some(PaymentMethod::Boleto) => Some(EventKind::BoletoGenerated),
            Some(PaymentMethod::Pix) => Some(EventKind::PixGenerated),
            _ => None,
        };
    }
    e.total_cents = cents(order, "value").or(e.total_cents);
    e.currency = text(order, "storePreferencesData.currencyCode").or(e.currency.take());
    let c = &mut e.customer;
    let first = text(order, "clientProfileData.firstName");
    let last = text(order, "clientProfileData.lastName");
    c.name = match (&first, &last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        _ => first.clone().or(last),
    }
    .or(c.name.take());
    c.first_name = first.or(c.first_name.take());
    // An e-mail VTEX replaced by its conversation tracker's alias is not the buyer's.
    c.email = text(order, "clientProfileData.email")
        .filter(|m| !m.contains("@ct.vtex"))
        .or(c.email.take());
    c.document = text(order, "clientProfileData.document").or(c.document.take());
    let p = &mut e.payment;
    p.method = method.or(p.method);
    if let Some(pay) = payment {
        p.boleto_url = text(pay, "url").filter(|_| group == "bankInvoice");
        p.boleto_barcode = text(pay, "bankIssuedInvoiceIdentificationNumberFormatted")
            .or_else(|| text(pay, "bankIssuedInvoiceIdentificationNumber"));
        p.due_at = text(pay, "dueDate").filter(|d| d.contains('-'));
        p.installments = int(pay, "installments").and_then(|n| u32::try_from(n).ok());
    }
    if let Some(package) = list(order, "packageAttachment.packages").into_iter().next() {
        let s = &mut e.shipping;
        s.tracking_code = text(package, "trackingNumber");
        s.tracking_url = text(package, "trackingUrl");
        s.carrier = text(package, "courier");
    }
    let phone = text(order, "clientProfileData.phone");
    draft.phone(phone);
    Ok(())
}

/// Nothing to check: VTEX sends back only the static headers the merchant configured.
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

    #[test]
    fn every_documented_state_has_a_decided_kind() {
        for (name, kind) in EVENTS {
            let body = format!(r#"{{"OrderId":"v1-01","State":"{name}"}}"#);
            let readings = recognise(Platform::Vtex, &Request::new(body.as_bytes(), &[], ""));
            assert_eq!(
                readings[0].event.as_ref().expect("event").kind,
                *kind,
                "{name}"
            );
        }
    }
}
