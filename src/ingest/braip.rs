//! Braip postbacks: reads `type` (STATUS_ALTERADO, ABANDONO) and the sale status into one
//! event; checks the `basic_authentication` key. Amounts arrive in cents.

use serde_json::Value;

use super::common::{body_value, cents, first_text, int, list, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// The sale's `trans_status` text, lower-case without accents, and its kind. No primary Braip
/// documentation was found (searched again in docs, code and stored pages for the postback's
/// status list: nothing from Braip itself), so nothing documented is missing from this table:
/// these are the statuses integrators handle; `None` means known but nothing to tell the buyer.
/// "aguardando pagamento" is refined by the payment method.
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("aguardando pagamento", Some(EventKind::BoletoGenerated)),
    ("pagamento aprovado", Some(EventKind::OrderPaid)),
    ("aprovado", Some(EventKind::OrderPaid)),
    ("em analise", Some(EventKind::PaymentInReview)),
    ("recusado", Some(EventKind::PaymentRefused)),
    ("pagamento recusado", Some(EventKind::PaymentRefused)),
    ("pagamento atrasado", Some(EventKind::PaymentOverdue)),
    ("vencido", Some(EventKind::PaymentExpired)),
    ("expirado", Some(EventKind::PaymentExpired)),
    ("cancelada", Some(EventKind::OrderCanceled)),
    ("cancelado", Some(EventKind::OrderCanceled)),
    ("devolvida", Some(EventKind::OrderRefunded)),
    ("reembolsado", Some(EventKind::OrderRefunded)),
    ("estornado", Some(EventKind::OrderRefunded)),
    ("chargeback", Some(EventKind::OrderChargeback)),
    ("enviado", Some(EventKind::OrderShipped)),
    ("entregue", Some(EventKind::ShippingDelivered)),
    ("estorno pendente", None),
    ("agendado", None),
];

/// The `trans_status_code` confirmed by every example: 1 = awaiting payment. Other codes are
/// unverified, so the status text decides for them.
const AWAITING_PAYMENT_CODE: i64 = 1;

/// Reads one Braip postback.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let v = &body_value(req)?;
    let kind_name = text(v, "type").ok_or_else(|| {
        ParseError::UnknownShape(
            "a Braip postback has `type` (STATUS_ALTERADO or ABANDONO); this body has none".into(),
        )
    })?;
    let method = int(v, "trans_payment").map(method);
    let status = text(v, "trans_status");
    let (name, kind) = match kind_name.as_str() {
        "ABANDONO" => (kind_name.clone(), Some(EventKind::CheckoutAbandoned)),
        "STATUS_ALTERADO" => {
            let kind = sale_kind(int(v, "trans_status_code"), status.as_deref(), method);
            // An unmapped status keeps its text so two different ones never share a dedup key.
            match (kind, &status) {
                (None, Some(s)) => (format!("{kind_name} ({s})"), None),
                _ => (kind_name.clone(), kind),
            }
        }
        _ => (kind_name.clone(), None),
    };
    let mut draft = Draft::new(name);
    let ev = &mut draft.event;
    ev.kind = kind;
    ev.order_id = first_text(v, &["trans_key", "abandonment_key"]);
    ev.occurred_at = ["trans_updatedate", "trans_createdate"]
        .iter()
        .find_map(|p| timestamp(v, p));
    ev.customer.name = text(v, "client_name");
    ev.customer.email = text(v, "client_email");
    ev.customer.document = text(v, "client_documment");

    let items = list(v, "trans_items");
    for item in &items {
        push_product(&mut ev.products, item);
    }
    if items.is_empty() {
        push_product(&mut ev.products, v);
    }
    ev.total_cents = cents(v, "trans_total_value").or_else(|| cents(v, "trans_value"));
    ev.currency = text(v, "currency");

    let p = &mut ev.payment;
    p.method = method;
    p.boleto_url = text(v, "trans_payment_url");
    p.boleto_barcode = first_text(v, &["trans_payment_line", "trans_payment_bar_code"]);
    p.pix_code = text(v, "trans_qrcode_pix");
    p.pix_qr_url = text(v, "trans_url_pix");
    p.checkout_url = first_text(v, &["checkout_url", "trans_payment_link_checkout"]);
    p.installments = int(v, "trans_installments").and_then(|n| u32::try_from(n).ok());

    ev.shipping.tracking_code = text(v, "tracking_code");
    ev.shipping.carrier = text(v, "shipping_company");
    ev.subscription.id = text(v, "subs_key");
    ev.subscription.plan = text(v, "plan_name").filter(|_| ev.subscription.id.is_some());
    ev.utm.source = first_text(v, &["meta.utm_source", "meta.src"]);
    ev.utm.medium = text(v, "meta.utm_medium");
    ev.utm.campaign = text(v, "meta.utm_campaign");
    ev.utm.content = text(v, "meta.utm_content");
    ev.utm.term = text(v, "meta.utm_term");

    set_phone(&mut draft, text(v, "client_cel"));
    Ok(vec![draft])
}

fn push_product(products: &mut Vec<Product>, item: &Value) {
    if let Some(name) = first_text(item, &["plan_name", "product_name"]) {
        products.push(Product {
            name,
            id: first_text(item, &["plan_key", "product_key"]),
            quantity: int(item, "plan_amount").and_then(|q| u32::try_from(q).ok()),
            price_cents: cents(item, "plan_value"),
            image_url: None,
        });
    }
}

/// The kind of a status change. The confirmed awaiting-payment code wins over the text: one
/// real delivery says "Pagamento Aprovado" beside code 1, an open boleto and no payment date.
fn sale_kind(
    code: Option<i64>,
    status: Option<&str>,
    method: Option<PaymentMethod>,
) -> Option<EventKind> {
    let key = if code == Some(AWAITING_PAYMENT_CODE) {
        "aguardando pagamento".to_owned()
    } else {
        fold(status?)
    };
    let base = EVENTS
        .iter()
        .find(|(s, _)| *s == key)
        .and_then(|(_, k)| *k)?;
    Some(match (base, method) {
        (EventKind::BoletoGenerated, Some(PaymentMethod::Pix)) => EventKind::PixGenerated,
        (EventKind::BoletoGenerated, Some(PaymentMethod::CreditCard | PaymentMethod::Other)) => {
            EventKind::PaymentInReview
        }
        (kind, _) => kind,
    })
}

/// Lower-case, accents off, single spaces: "Em Análise" and "em analise" are one status.
fn fold(s: &str) -> String {
    let plain: String = s
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' => 'a',
            'é' | 'ê' => 'e',
            'í' => 'i',
            'ó' | 'ô' | 'õ' => 'o',
            'ú' => 'u',
            'ç' => 'c',
            other => other,
        })
        .collect();
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `trans_payment`: 1 = boleto and 5 = PIX in every example; the card code is unconfirmed.
fn method(code: i64) -> PaymentMethod {
    match code {
        1 => PaymentMethod::Boleto,
        5 => PaymentMethod::Pix,
        _ => PaymentMethod::Other,
    }
}

/// Braip writes `client_cel` as "<country code> <national number>"; the country code must not be
/// read as an area code ("55 999999999" lacks its DDD and stays invalid).
fn set_phone(draft: &mut Draft, raw: Option<String>) {
    let Some(raw) = raw else { return };
    match raw.trim().split_once(' ') {
        Some((cc, rest)) if cc.len() <= 3 && cc.chars().all(|c| c.is_ascii_digit()) => {
            draft.phone_parts(Some(cc.to_owned()), None, Some(rest.trim().to_owned()));
        }
        _ => draft.phone(Some(raw)),
    }
}

/// Braip signs nothing: the postback carries the dashboard's static key in the body.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    let sent = body_value(req)
        .ok()
        .and_then(|b| text(&b, "basic_authentication"));
    check_token(sent.as_deref(), secret, "basic_authentication")
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use crate::ingest::{Reading, ReasonCode, recognise};

    fn read(body: &str) -> Vec<Reading> {
        recognise(Platform::Braip, &Request::new(body.as_bytes(), &[], ""))
    }

    fn kind_of(body: &str) -> Option<&'static str> {
        read(body)[0]
            .event
            .as_ref()
            .and_then(|e| e.kind)
            .and_then(EventKind::static_str)
    }

    #[test]
    fn every_known_status_and_type_has_a_decided_kind() {
        for (status, want) in EVENTS {
            let body = format!(r#"{{"type":"STATUS_ALTERADO","trans_status":"{status}"}}"#);
            assert_eq!(
                kind_of(&body),
                want.and_then(EventKind::static_str),
                "{status}"
            );
        }
        assert_eq!(
            kind_of(r#"{"type":"ABANDONO"}"#),
            Some("checkout.abandoned")
        );
        let pix =
            r#"{"type":"STATUS_ALTERADO","trans_status":"Aguardando Pagamento","trans_payment":5}"#;
        assert_eq!(kind_of(pix), Some("pix.generated"));
        let accents = r#"{"type":"STATUS_ALTERADO","trans_status":"Em  Análise"}"#;
        assert_eq!(kind_of(accents), Some("payment.in_review"));
    }

    #[test]
    fn unknown_statuses_stay_unmapped_with_their_text() {
        let readings = read(
            r#"{"type":"STATUS_ALTERADO","trans_status":"Novo Status","trans_status_code":42}"#,
        );
        let event = readings[0].event.as_ref().expect("event");
        assert_eq!(event.platform_event, "STATUS_ALTERADO (Novo Status)");
        assert_eq!(event.kind, None);
    }

    #[test]
    fn country_code_and_number_are_read_apart() {
        let ok = read(r#"{"type":"ABANDONO","client_cel":"55 11987654321"}"#);
        let phone = ok[0].event.as_ref().and_then(|e| e.customer.phone.clone());
        assert_eq!(
            phone.map(|p| p.to_string()).as_deref(),
            Some("+5511987654321")
        );
        let short = read(r#"{"type":"ABANDONO","client_cel":"55 999999999"}"#);
        assert_eq!(
            short[0].reason.as_ref().map(|r| r.code),
            Some(ReasonCode::BadPhone)
        );
    }

    #[test]
    fn basic_authentication_must_match_the_store_key() {
        let body = br#"{"type":"ABANDONO","basic_authentication":"k3y"}"#;
        assert_eq!(verify("k3y", &Request::new(body, &[], "")), Ok(()));
        assert_eq!(
            verify("nope", &Request::new(body, &[], "")),
            Err(SignatureError::Mismatch)
        );
        let none = br#"{"type":"ABANDONO"}"#;
        assert!(matches!(
            verify("k3y", &Request::new(none, &[], "")),
            Err(SignatureError::Missing(_))
        ));
    }

    #[test]
    fn odd_bodies_never_panic_and_say_why() {
        assert_eq!(
            read(r#"{"trans_key":"v1"}"#)[0]
                .reason
                .as_ref()
                .map(|r| r.code),
            Some(ReasonCode::UnknownShape)
        );
        let odd = r#"{"type":"STATUS_ALTERADO","trans_status":{},"trans_total_value":"x","trans_items":7,"client_cel":[]}"#;
        let readings = read(odd);
        let event = readings[0].event.as_ref().expect("event");
        assert_eq!((event.kind, event.total_cents), (None, None));
    }
}
