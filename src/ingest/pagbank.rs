//! PagBank (PagSeguro) webhooks: the body is the resource itself, an order (`ORDE_…`, its state
//! in `charges[].status`) or a checkout (`CHEC_…`, its `status`); amounts in cents; signed with
//! `x-authenticity-token` = hex SHA-256 of `<token>-<raw body>`. Not a thin notification: the
//! body is what the API answers for the same resource (`ingest::enrich_credentials`). The
//! legacy API's transaction notifications (a `notificationCode` form) are: `pagbank_legacy`.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::common::{at, body_value, cents, email, first_text, int, list, text, timestamp};
use super::signature::check_hex;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// The states a PagBank body is named by: `charges[0].status` for orders, `status` for
/// checkouts. Checked against developer.pagbank.com.br: reference/webhooks-checkout lists the
/// transactional PAID, IN_ANALYSIS, DECLINED, CANCELED, WAITING and the checkout's EXPIRED;
/// the Order object's charge adds AUTHORIZED (a card authorised, not captured); the checkout
/// object is ACTIVE or INACTIVE; ORDER_CREATED is avisa's name for an order with a PIX QR code
/// and no charge yet. WAITING and CANCELED are refined in [`order_kind`].
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    // An order with a PIX QR code and no charge yet: the buyer has a code to pay.
    ("ORDER_CREATED", Some(EventKind::PixGenerated)),
    ("AUTHORIZED", None),
    ("IN_ANALYSIS", Some(EventKind::PaymentInReview)),
    ("WAITING", Some(EventKind::BoletoGenerated)),
    ("PAID", Some(EventKind::OrderPaid)),
    ("DECLINED", Some(EventKind::PaymentRefused)),
    ("CANCELED", Some(EventKind::OrderCanceled)),
    ("ACTIVE", None),
    // A checkout link that expired or was switched off without payment.
    ("INACTIVE", Some(EventKind::CheckoutAbandoned)),
    ("EXPIRED", Some(EventKind::CheckoutAbandoned)),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    if let Some(code) = super::pagbank_legacy::notification_code(&body) {
        return Ok(vec![super::pagbank_legacy::parse(code)]);
    }
    let id = text(&body, "id").unwrap_or_default();
    let is_checkout = id.starts_with("CHEC_") || at(&body, "customer_modifiable").is_some();
    let charge = list(&body, "charges")
        .into_iter()
        .next()
        .unwrap_or(&Value::Null);
    let method = text(charge, "payment_method.type")
        .map(|m| method_of(&m))
        .or_else(|| {
            (!list(&body, "qr_codes").is_empty() || !list(&body, "qr_code").is_empty())
                .then_some(PaymentMethod::Pix)
        });
    let name = if is_checkout {
        text(&body, "status")
    } else if let Some(status) = text(charge, "status") {
        Some(status)
    } else if method == Some(PaymentMethod::Pix) {
        Some("ORDER_CREATED".to_owned())
    } else {
        None
    };
    let Some(name) = name else {
        return Err(ParseError::UnknownShape(
            "a PagBank body is an order with charges or QR codes, or a checkout with a status"
                .into(),
        ));
    };
    let mut draft = Draft::new(name.as_str());
    let e = &mut draft.event;
    e.kind = order_kind(&name, method, charge);
    e.order_id = Some(id).filter(|i| !i.is_empty());
    e.occurred_at = timestamp(charge, "paid_at")
        .or_else(|| timestamp(charge, "created_at"))
        .or_else(|| timestamp(&body, "created_at"));
    e.customer.name = text(&body, "customer.name");
    e.customer.email = email(&body, "customer.email");
    e.customer.document = text(&body, "customer.tax_id");
    let mut items_total = 0;
    for item in list(&body, "items") {
        let quantity = int(item, "quantity").unwrap_or(1);
        let price = cents(item, "unit_amount");
        items_total += price.unwrap_or(0) * quantity;
        if let Some(name) = text(item, "name") {
            e.products.push(Product {
                name,
                id: text(item, "reference_id"),
                quantity: u32::try_from(quantity).ok(),
                price_cents: price,
                image_url: text(item, "image_url"),
            });
        }
    }
    let qr = list(&body, "qr_codes")
        .into_iter()
        .chain(list(&body, "qr_code"))
        .next()
        .unwrap_or(&Value::Null);
    e.total_cents = cents(charge, "amount.value")
        .or_else(|| cents(qr, "amount.value"))
        .or((items_total > 0).then_some(items_total));
    e.currency = text(charge, "amount.currency").or(Some("BRL".into()));
    let p = &mut e.payment;
    p.method = if is_checkout { None } else { method };
    p.pix_code = text(qr, "text");
    p.pix_qr_url = link(qr, "QRCODE.PNG");
    p.due_at = timestamp(qr, "expiration_date")
        .or_else(|| timestamp(charge, "payment_method.boleto.due_date"));
    p.boleto_barcode = first_text(
        charge,
        &[
            "payment_method.boleto.formatted_barcode",
            "payment_method.boleto.barcode",
        ],
    );
    p.boleto_url = link(charge, "BOLETO.PDF");
    p.installments = int(charge, "payment_method.installments").and_then(|n| u32::try_from(n).ok());
    if e.kind == Some(EventKind::PaymentRefused) {
        p.refusal_reason = text(charge, "payment_response.message");
    }
    if is_checkout {
        p.checkout_url = link(&body, "PAY");
    }
    let phone = list(&body, "customer.phones")
        .into_iter()
        .find(|ph| text(ph, "type").as_deref() == Some("MOBILE"))
        .or_else(|| list(&body, "customer.phones").into_iter().next())
        .or_else(|| at(&body, "customer.phone"))
        .unwrap_or(&Value::Null);
    draft.phone_parts(
        text(phone, "country").map(|c| c.trim_start_matches('+').to_owned()),
        text(phone, "area"),
        text(phone, "number"),
    );
    Ok(vec![draft])
}

fn order_kind(name: &str, method: Option<PaymentMethod>, charge: &Value) -> Option<EventKind> {
    let base = EVENTS
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, k)| *k)?;
    match base {
        EventKind::BoletoGenerated => match method {
            Some(PaymentMethod::Boleto) => Some(EventKind::BoletoGenerated),
            Some(PaymentMethod::Pix) => Some(EventKind::PixGenerated),
            _ => None,
        },
        // PagBank cancels a paid charge to refund it; the summary says how much went back.
        EventKind::OrderCanceled
            if cents(charge, "amount.summary.refunded").is_some_and(|r| r > 0) =>
        {
            Some(EventKind::OrderRefunded)
        }
        other => Some(other),
    }
}

fn method_of(raw: &str) -> PaymentMethod {
    match raw {
        "PIX" => PaymentMethod::Pix,
        "BOLETO" => PaymentMethod::Boleto,
        "CREDIT_CARD" | "DEBIT_CARD" => PaymentMethod::CreditCard,
        _ => PaymentMethod::Other,
    }
}

/// The `href` of the link with relation `rel`.
fn link(value: &Value, rel: &str) -> Option<String> {
    list(value, "links")
        .into_iter()
        .find(|l| text(l, "rel").as_deref() == Some(rel))
        .and_then(|l| text(l, "href"))
}

/// `x-authenticity-token` is hex SHA-256 of `<token>-<raw body>` (PagBank "Confirmar
/// autenticidade da notificação"). A legacy transaction notification is never signed and needs
/// no signature: it carries only a code, and what avisa reads is the transaction PagBank
/// answers to the merchant's own token (`pagbank_legacy`).
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    if super::pagbank_legacy::is_notification(req) {
        return Ok(());
    }
    let mut hasher = Sha256::new();
    hasher.update(secret.trim().as_bytes());
    hasher.update(b"-");
    hasher.update(req.body);
    check_hex(
        req.header("x-authenticity-token"),
        &hasher.finalize(),
        "x-authenticity-token header",
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

    fn kind_of(body: &str) -> Option<EventKind> {
        recognise(Platform::Pagbank, &Request::new(body.as_bytes(), &[], ""))[0]
            .event
            .as_ref()
            .and_then(|e| e.kind)
    }

    #[test]
    fn every_documented_state_has_a_decided_kind() {
        for (name, kind) in EVENTS {
            let body = match *name {
                "ORDER_CREATED" => r#"{"id":"ORDE_1","qr_codes":[{"text":"000201"}]}"#.to_owned(),
                "ACTIVE" | "INACTIVE" | "EXPIRED" => {
                    format!(r#"{{"id":"CHEC_1","status":"{name}"}}"#)
                }
                _ => format!(
                    r#"{{"id":"ORDE_1","charges":[{{"status":"{name}","payment_method":{{"type":"BOLETO"}}}}]}}"#
                ),
            };
            assert_eq!(kind_of(&body), *kind, "{name}");
        }
        let refunded = r#"{"id":"ORDE_1","charges":[{"status":"CANCELED","amount":{"value":500,"summary":{"refunded":500}}}]}"#;
        assert_eq!(kind_of(refunded), Some(EventKind::OrderRefunded));
        let pix_waiting =
            r#"{"id":"ORDE_1","charges":[{"status":"WAITING","payment_method":{"type":"PIX"}}]}"#;
        assert_eq!(kind_of(pix_waiting), Some(EventKind::PixGenerated));
    }

    #[test]
    fn the_authenticity_token_is_sha256_of_token_dash_body() {
        let body = br#"{"id":"ORDE_1"}"#;
        let mut h = Sha256::new();
        h.update(b"tok-{\"id\":\"ORDE_1\"}");
        let headers = vec![("x-authenticity-token".to_owned(), hex::encode(h.finalize()))];
        assert_eq!(verify("tok", &Request::new(body, &headers, "")), Ok(()));
        assert_eq!(
            verify("other", &Request::new(body, &headers, "")),
            Err(SignatureError::Mismatch)
        );
    }
}
