//! iugu triggers: a form body (`event=invoice.status_changed&data[id]=…&data[status]=paid`);
//! the state of an invoice is in `data[status]`, amounts in cents (`data[paid_cents]`, only on
//! some payments). The payer's phone is never in it: GET /v1/invoices/{id} has it
//! (`read_invoice`, for `ingest::enrich`).

use serde_json::Value;

use super::common::{body_value, cents, table_kind, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod};

/// iugu's trigger names (dev.iugu.com "Gatilhos"); `invoice.status_changed` is named by its
/// status as `invoice.status_changed <status>`.
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    // A new invoice says neither boleto nor PIX nor the amount: nothing to remind yet.
    ("invoice.created", None),
    ("invoice.status_changed pending", None),
    ("invoice.status_changed paid", Some(EventKind::OrderPaid)),
    ("invoice.status_changed partially_paid", None),
    (
        "invoice.status_changed canceled",
        Some(EventKind::OrderCanceled),
    ),
    (
        "invoice.status_changed expired",
        Some(EventKind::PaymentExpired),
    ),
    (
        "invoice.status_changed refunded",
        Some(EventKind::OrderRefunded),
    ),
    (
        "invoice.status_changed chargeback",
        Some(EventKind::OrderChargeback),
    ),
    (
        "invoice.status_changed in_protest",
        Some(EventKind::OrderChargeback),
    ),
    ("invoice.status_changed authorized", None),
    ("invoice.due", Some(EventKind::PaymentOverdue)),
    ("invoice.payment_failed", Some(EventKind::PaymentRefused)),
    ("invoice.refund", Some(EventKind::OrderRefunded)),
    ("invoice.dunning_action", None),
    ("invoice.installment_released", None),
    ("invoice.released", None),
    ("subscription.created", None),
    (
        "subscription.activated",
        Some(EventKind::SubscriptionStarted),
    ),
    ("subscription.renewed", Some(EventKind::SubscriptionRenewed)),
    (
        "subscription.suspended",
        Some(EventKind::SubscriptionCanceled),
    ),
    (
        "subscription.expired",
        Some(EventKind::SubscriptionCanceled),
    ),
    ("subscription.changed", None),
    ("withdraw_request.created", None),
    ("withdraw_request.status_changed", None),
    ("referrals.verification", None),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let event = text(&body, "event").ok_or_else(|| {
        ParseError::UnknownShape("an iugu trigger names its event in `event`".into())
    })?;
    let status = text(&body, "data.status");
    // The status-change trigger is one name for every state: the state names the event.
    let name = match (&event[..], &status) {
        ("invoice.status_changed", Some(status)) => format!("{event} {status}"),
        _ => event.clone(),
    };
    let mut draft = Draft::new(event.as_str());
    let e = &mut draft.event;
    e.kind = table_kind(EVENTS, &name);
    e.order_id = if event.starts_with("subscription.") {
        text(&body, "data.id").or_else(|| text(&body, "data.subscription_id"))
    } else {
        text(&body, "data.id")
    };
    e.occurred_at = timestamp(&body, "data.paid_at");
    e.total_cents = cents(&body, "data.paid_cents").or_else(|| cents(&body, "data.total_cents"));
    e.currency = Some("BRL".into());
    e.customer.name = text(&body, "data.payer_name");
    e.customer.document = text(&body, "data.payer_cpf_cnpj");
    e.subscription.id = text(&body, "data.subscription_id");
    e.payment.method = text(&body, "data.payment_method").map(|m| method(&m));
    Ok(vec![draft])
}

/// GET /v1/invoices/{id} (the answer to a thin trigger): the payer (name, e-mail, CPF/CNPJ,
/// phone as `payer_phone_prefix` + `payer_phone`), the total in cents, the boleto (line, URLs)
/// and the PIX code. A trigger without a kind (`invoice.created`, a pending invoice) takes it
/// from the invoice: pending with a boleto line is a boleto to remind of, with only a PIX code a
/// PIX; any other state is read by the trigger table. `Err`: not an iugu invoice.
pub(super) fn read_invoice(draft: &mut Draft, invoice: &Value) -> Result<(), String> {
    let id = text(invoice, "id").filter(|_| invoice.get("status").is_some());
    let Some(id) = id else {
        return Err("the answer is not an iugu invoice".into());
    };
    let e = &mut draft.event;
    if let Some(thin) = &e.order_id
        && !thin.eq_ignore_ascii_case(&id)
    {
        return Err(format!("the answer is invoice {id:?}, not {thin:?}"));
    }
    let status = text(invoice, "status").unwrap_or_default();
    let line = text(invoice, "bank_slip.digitable_line");
    let pix = text(invoice, "pix.qrcode_text");
    if e.kind.is_none() {
        e.kind = match (&status[..], &line, &pix) {
            ("pending", Some(_), _) => Some(EventKind::BoletoGenerated),
            ("pending", None, Some(_)) => Some(EventKind::PixGenerated),
            (other, ..) => table_kind(EVENTS, &format!("invoice.status_changed {other}")),
        };
    }
    e.total_cents = cents(invoice, "total_cents").or(e.total_cents);
    e.currency = text(invoice, "currency").or(e.currency.take());
    let c = &mut e.customer;
    c.name = text(invoice, "payer_name").or(c.name.take());
    c.email = text(invoice, "payer_email")
        .or_else(|| text(invoice, "email"))
        .or(c.email.take());
    c.document = text(invoice, "payer_cpf_cnpj").or(c.document.take());
    let p = &mut e.payment;
    p.method = p.method.or(match (&line, &pix) {
        (Some(_), _) if status == "pending" => Some(PaymentMethod::Boleto),
        (None, Some(_)) if status == "pending" => Some(PaymentMethod::Pix),
        _ => text(invoice, "payment_method").map(|m| method(&m)),
    });
    p.boleto_barcode = line;
    p.boleto_url = text(invoice, "bank_slip.bank_slip_url").or_else(|| text(invoice, "secure_url"));
    p.boleto_pdf_url = text(invoice, "bank_slip.bank_slip_pdf_url");
    p.pix_code = pix;
    p.pix_qr_url = text(invoice, "pix.qrcode");
    p.due_at = text(invoice, "due_date");
    p.checkout_url = text(invoice, "secure_url");
    let area = text(invoice, "payer_phone_prefix");
    draft.phone_parts(None, area, text(invoice, "payer_phone"));
    Ok(())
}

fn method(name: &str) -> PaymentMethod {
    match name {
        "iugu_pix" | "pix" => PaymentMethod::Pix,
        "iugu_bank_slip" | "bank_slip" => PaymentMethod::Boleto,
        "iugu_credit_card" | "credit_card" => PaymentMethod::CreditCard,
        _ => PaymentMethod::Other,
    }
}

/// iugu lets the merchant set an `Authorization` header value on the trigger: compared as is.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    check_token(req.header("authorization"), secret, "Authorization header")
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
    fn every_documented_trigger_has_a_decided_kind() {
        for (name, kind) in EVENTS {
            let (event, status) = name.split_once(' ').unwrap_or((name, "x"));
            let body = format!("event={event}&data[id]=ABC&data[status]={status}");
            let headers = vec![(
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            )];
            let readings = recognise(Platform::Iugu, &Request::new(body.as_bytes(), &headers, ""));
            assert_eq!(
                readings[0].event.as_ref().expect("event").kind,
                *kind,
                "{name}"
            );
        }
    }

    #[test]
    fn the_authorization_header_must_match() {
        let headers = vec![("authorization".to_owned(), "abc".to_owned())];
        assert_eq!(
            verify("abc", &Request::new(b"event=x", &headers, "")),
            Ok(())
        );
        assert_eq!(
            verify("abd", &Request::new(b"event=x", &headers, "")),
            Err(SignatureError::Mismatch)
        );
    }
}
