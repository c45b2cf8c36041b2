//! Greenn: reads `{type, event, oldStatus, currentStatus, sale, client, product, contract}`
//! webhooks into drafts; checks the producer's static token. Uses only `common` and `domain`.

use serde_json::Value;

use super::catalog::{awaiting_kind, table_choose};
use super::common::{at, body_value, first_text, int, reais, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Reads one Greenn delivery. `event` names the envelope, `currentStatus` the state; the
/// platform event is written `event:currentStatus` (e.g. `saleUpdated:paid`) so that unmapped
/// states stay readable.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let event = text(&body, "event").ok_or_else(|| {
        ParseError::UnknownShape("Greenn body without an `event` field (the event name)".into())
    })?;
    let status = text(&body, "currentStatus");
    let name = match &status {
        Some(s) => format!("{event}:{s}"),
        None => event.clone(),
    };
    let mut draft = Draft::new(name);
    read(&body, &mut draft);
    let old = text(&body, "oldStatus");
    draft.event.kind = kind_of(
        &event,
        status.as_deref().unwrap_or_default(),
        old.as_deref(),
        draft.event.payment.method,
    );
    Ok(vec![draft])
}

/// Greenn documents no HMAC; the producer sets a token on the integration, and integrations
/// receive it in the body, the query string or a header (no primary doc says which). Any of
/// those places may carry it; one that matches is enough.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    let body = body_value(req).ok();
    let mut sent: Vec<String> = Vec::new();
    if let Some(body) = &body {
        sent.extend(first_text(body, &["token", "webhook_token"]));
    }
    sent.extend(req.query_param("token"));
    for header in ["token", "x-greenn-token", "x-token", "authorization"] {
        if let Some(value) = req.header(header) {
            let value = value.trim();
            sent.push(value.strip_prefix("Bearer ").unwrap_or(value).to_owned());
        }
    }
    if sent.is_empty() {
        return Err(SignatureError::Missing("token"));
    }
    if sent
        .iter()
        .any(|s| check_token(Some(s), secret, "token").is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Greenn's notifications, written `event:currentStatus` (a `checkoutAbandoned` whatever its
/// status).
///
/// Primary source, searched for again (docs, code and stored pages; official repositories
/// under "greenn"): none exists for the payload. Greenn's own help centre names the events
/// only as the integration screen shows them ("Eventos de Integração Greenn",
/// greenn.crisp.help/pt-br/article/eventos-de-integracao-greenn-9hud98, 14/09/2023): Venda
/// Paga, Venda Recusada, Venda Reembolsada, Chargeback realizado, Venda Não Paga, Aguardando
/// Pagamento; Assinatura Paga, Não Paga, em Trial, Aguardando Pagamento, Finalizada; Checkout
/// Abandonado. Each has a row below; the `event`/`currentStatus` strings they arrive as are the
/// integrators' (SOURCES.md), not Greenn's word.
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("checkoutAbandoned", Some(EventKind::CheckoutAbandoned)),
    ("saleUpdated:abandoned", Some(EventKind::CheckoutAbandoned)),
    // "Aguardando pagamento": the boleto or PIX is out, or the card is in analysis (by method).
    (
        "saleUpdated:waiting_payment",
        Some(EventKind::BoletoGenerated),
    ),
    ("saleUpdated:waiting_payment", Some(EventKind::PixGenerated)),
    (
        "saleUpdated:waiting_payment",
        Some(EventKind::PaymentInReview),
    ),
    ("saleUpdated:refused", Some(EventKind::PaymentRefused)),
    // "Venda não paga": the boleto or PIX ran out unpaid.
    ("saleUpdated:unpaid", Some(EventKind::PaymentExpired)),
    ("saleUpdated:expired", Some(EventKind::PaymentExpired)),
    ("saleUpdated:paid", Some(EventKind::OrderPaid)),
    ("saleUpdated:canceled", Some(EventKind::OrderCanceled)),
    ("saleUpdated:refunded", Some(EventKind::OrderRefunded)),
    ("saleUpdated:chargedback", Some(EventKind::OrderChargeback)),
    // A sale just created has no charge yet.
    ("saleUpdated:created", None),
    // A contract leaving creation or trial is its first charge; later ones renew it.
    ("contractUpdated:paid", Some(EventKind::SubscriptionStarted)),
    ("contractUpdated:paid", Some(EventKind::SubscriptionRenewed)),
    (
        "contractUpdated:unpaid",
        Some(EventKind::SubscriptionOverdue),
    ),
    (
        "contractUpdated:pending_payment",
        Some(EventKind::SubscriptionOverdue),
    ),
    (
        "contractUpdated:canceled",
        Some(EventKind::SubscriptionCanceled),
    ),
    // Created, trial, waiting for its first charge (the sale's own notification tells the buyer
    // about the boleto or PIX) and ended (finalizada): nothing to tell the buyer.
    ("contractUpdated:created", None),
    ("contractUpdated:trialing", None),
    ("contractUpdated:waiting_payment", None),
    ("contractUpdated:ended", None),
];

/// The kind of `event:status`, refined by the method (awaiting payment) or by the contract's
/// previous status (first charge or renewal).
fn kind_of(
    event: &str,
    status: &str,
    old: Option<&str>,
    method: Option<PaymentMethod>,
) -> Option<EventKind> {
    let name = format!("{event}:{status}");
    let name = if table_has(&name) {
        name
    } else {
        event.to_owned()
    };
    table_choose(EVENTS, &name, |kinds| {
        if kinds.contains(&EventKind::SubscriptionStarted) {
            Some(match old {
                None | Some("created" | "trialing" | "waiting_payment" | "pending_payment") => {
                    EventKind::SubscriptionStarted
                }
                Some(_) => EventKind::SubscriptionRenewed,
            })
        } else {
            awaiting_kind(method)
        }
    })
}

fn table_has(name: &str) -> bool {
    EVENTS.iter().any(|(n, _)| *n == name)
}

fn method_of(raw: &str) -> PaymentMethod {
    match raw.to_ascii_uppercase().as_str() {
        "CREDIT_CARD" | "TWO_CREDIT_CARDS" => PaymentMethod::CreditCard,
        "BOLETO" | "BANK_SLIP" => PaymentMethod::Boleto,
        "PIX" => PaymentMethod::Pix,
        _ => PaymentMethod::Other,
    }
}

fn read(b: &Value, draft: &mut Draft) {
    let e = &mut draft.event;
    e.order_id = text(b, "sale.id");
    e.occurred_at = ["sale.updated_at", "sale.update_at", "contract.updated_at"]
        .iter()
        .find_map(|p| timestamp(b, p));
    e.customer.name = text(b, "client.name");
    e.customer.email = text(b, "client.email");
    e.customer.document = first_text(b, &["client.cpf_cnpj", "client.document"]);
    // Greenn amounts are in reais.
    e.total_cents = reais(b, "sale.total").or_else(|| reais(b, "sale.amount"));
    if let Some(name) = first_text(b, &["product.name", "offer.name"]) {
        e.products.push(Product {
            name,
            id: text(b, "product.id"),
            quantity: None,
            price_cents: reais(b, "offer.amount").or_else(|| reais(b, "product.amount")),
            image_url: None,
        });
    }
    let p = &mut e.payment;
    p.method = text(b, "sale.method").map(|m| method_of(&m));
    p.installments = int(b, "sale.installments").and_then(|n| u32::try_from(n).ok());
    p.boleto_url = first_text(b, &["sale.boleto_url", "sale.bank_slip_url"]);
    p.boleto_barcode = first_text(b, &["sale.boleto_barcode", "sale.digitable_line"]);
    p.pix_code = first_text(b, &["sale.pix_code", "sale.qrcode"]);
    p.checkout_url = first_text(b, &["checkout_url", "sale.checkout_url"]);
    if let Some(contract) = at(b, "contract").filter(|c| c.is_object()) {
        let s = &mut e.subscription;
        s.id = text(contract, "id");
        s.status = text(contract, "status");
        s.next_charge_at = timestamp(contract, "current_period_end");
        s.plan = first_text(b, &["offer.name", "product.name"]);
    }
    for metas in ["saleMetas", "productMetas", "proposalMetas"] {
        let Some(Value::Array(items)) = at(b, metas) else {
            continue;
        };
        for item in items {
            let (Some(key), Some(value)) = (
                first_text(item, &["meta_key", "key"]),
                first_text(item, &["meta_value", "value"]),
            ) else {
                continue;
            };
            let slot = match key.as_str() {
                "utm_source" => &mut e.utm.source,
                "utm_medium" => &mut e.utm.medium,
                "utm_campaign" => &mut e.utm.campaign,
                "utm_content" => &mut e.utm.content,
                "utm_term" => &mut e.utm.term,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
    }
    draft.phone(first_text(b, &["client.cellphone", "client.phone"]));
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use crate::ingest::{ReasonCode, recognise};

    fn read_body(body: &str) -> crate::ingest::Reading {
        recognise(Platform::Greenn, &Request::new(body.as_bytes(), &[], "")).remove(0)
    }

    #[test]
    fn greenn_token_may_come_in_body_query_or_header() {
        let body = br#"{"event":"saleUpdated","token":"tok"}"#;
        assert_eq!(verify("tok", &Request::new(body, &[], "")), Ok(()));
        let bare = br#"{"event":"saleUpdated"}"#;
        assert_eq!(verify("tok", &Request::new(bare, &[], "token=tok")), Ok(()));
        let headers = [("authorization".to_owned(), "Bearer tok".to_owned())];
        assert_eq!(verify("tok", &Request::new(bare, &headers, "")), Ok(()));
        assert_eq!(
            verify("other", &Request::new(body, &[], "")),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("tok", &Request::new(bare, &[], "")),
            Err(SignatureError::Missing("token"))
        );
    }

    #[test]
    fn greenn_every_documented_state_has_its_kind() {
        use EventKind::*;
        let card = Some(PaymentMethod::CreditCard);
        let table: &[(&str, &str, Option<EventKind>)] = &[
            ("checkoutAbandoned", "abandoned", Some(CheckoutAbandoned)),
            ("saleUpdated", "paid", Some(OrderPaid)),
            ("saleUpdated", "refused", Some(PaymentRefused)),
            ("saleUpdated", "refunded", Some(OrderRefunded)),
            ("saleUpdated", "chargedback", Some(OrderChargeback)),
            ("saleUpdated", "waiting_payment", Some(PaymentInReview)),
            ("saleUpdated", "unpaid", Some(PaymentExpired)),
            ("saleUpdated", "created", None),
            ("contractUpdated", "paid", Some(SubscriptionRenewed)),
            ("contractUpdated", "unpaid", Some(SubscriptionOverdue)),
            ("contractUpdated", "canceled", Some(SubscriptionCanceled)),
            ("contractUpdated", "trialing", None),
            ("contractUpdated", "ended", None),
        ];
        for (event, status, kind) in table {
            assert_eq!(
                kind_of(event, status, Some("paid"), card),
                *kind,
                "{event}:{status}"
            );
        }
        let boleto = Some(PaymentMethod::Boleto);
        assert_eq!(
            kind_of("saleUpdated", "waiting_payment", None, boleto),
            Some(BoletoGenerated)
        );
        assert_eq!(
            kind_of("contractUpdated", "paid", Some("created"), card),
            Some(SubscriptionStarted)
        );
    }

    #[test]
    fn greenn_body_without_event_is_an_unknown_shape() {
        let r = read_body(r#"{"type":"sale","currentStatus":"paid"}"#);
        assert_eq!(r.reason.expect("reason").code, ReasonCode::UnknownShape);
    }

    #[test]
    fn greenn_wrong_types_make_facts_absent() {
        let r = read_body(
            r#"{"event":"saleUpdated","currentStatus":"paid","sale":[1],"contract":"x",
               "saleMetas":{"utm_source":"y"},"client":{"cellphone":"(11) 9876S-4321"}}"#,
        );
        assert_eq!(r.reason.clone().expect("reason").code, ReasonCode::BadPhone);
        let e = r.event.expect("event");
        assert_eq!(e.platform_event, "saleUpdated:paid");
        assert_eq!(e.order_id, None);
        assert_eq!(e.total_cents, None);
        assert!(e.subscription.is_empty() && e.utm.is_empty());
    }
}
