//! Monetizze postbacks: reads the `tipoEvento` code (form or JSON body, with its `json` copy)
//! into one event, tracking updates by `rastreio.status`; checks the `chave_unica` key.

use serde_json::Value;

use super::catalog::table_choose;
use super::common::{body_value, first_text, int, list, reais, table_kind, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// `tipoEvento.codigo` values (Monetizze's postback docs, SOURCES.md), written `code name` as
/// the panel names them; the recogniser looks the code up ([`named`]). Several kinds for one
/// code are picked in [`kind`].
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("7 Abandono de checkout", Some(EventKind::CheckoutAbandoned)),
    // Awaiting payment: a boleto or PIX to pay, or a card still being processed.
    ("1 Aguardando pagamento", Some(EventKind::BoletoGenerated)),
    ("1 Aguardando pagamento", Some(EventKind::PixGenerated)),
    ("1 Aguardando pagamento", Some(EventKind::PaymentInReview)),
    // The payment-method notice of a boleto (a PIX one when paid by PIX).
    ("99 Boleto", Some(EventKind::BoletoGenerated)),
    ("99 Boleto", Some(EventKind::PixGenerated)),
    ("2 Finalizada / Aprovada", Some(EventKind::OrderPaid)),
    // Later installments of an active subscription are renewals.
    ("101 Assinatura ativa", Some(EventKind::SubscriptionStarted)),
    ("101 Assinatura ativa", Some(EventKind::SubscriptionRenewed)),
    (
        "102 Assinatura inadimplente",
        Some(EventKind::SubscriptionOverdue),
    ),
    (
        "104 Assinatura aguardando pagamento",
        Some(EventKind::SubscriptionOverdue),
    ),
    // A tracking update: its kind is the tracking status ([`TRACKING`]).
    ("120 Rastreio", Some(EventKind::OrderShipped)),
    ("6 Completa", Some(EventKind::OrderCompleted)),
    ("3 Cancelada", Some(EventKind::OrderCanceled)),
    ("4 Devolvida", Some(EventKind::OrderRefunded)),
    (
        "103 Assinatura cancelada",
        Some(EventKind::SubscriptionCanceled),
    ),
    // Bloqueada: held by Monetizze for review; telling the buyer would be premature.
    ("5 Bloqueada", None),
    ("8 Oculto", None),
    // The card's payment-method notice says nothing new to the buyer.
    ("98 Cartão", None),
    // Installment recovery of a debt: Monetizze's own collection, not a message of the store.
    ("105 Recuperação parcelada ativa", None),
    ("106 Recuperação parcelada cancelada", None),
];

/// `rastreio.status` values of a tracking postback (code 120), written like [`EVENTS`].
pub(super) const TRACKING: &[(&str, Option<EventKind>)] = &[
    ("rastreio.status 2 Postado", Some(EventKind::OrderShipped)),
    (
        "rastreio.status 7 Em trânsito",
        Some(EventKind::OrderShipped),
    ),
    (
        "rastreio.status 5 Saiu para entrega",
        Some(EventKind::ShippingOutForDelivery),
    ),
    (
        "rastreio.status 8 Aguardando retirada",
        Some(EventKind::ShippingAwaitingPickup),
    ),
    (
        "rastreio.status 6 Entregue",
        Some(EventKind::ShippingDelivered),
    ),
    (
        "rastreio.status 3 Extraviado",
        Some(EventKind::ShippingProblem),
    ),
    (
        "rastreio.status 4 Devolvido",
        Some(EventKind::ShippingProblem),
    ),
];

/// The name a table gives a numeric code, its first number (`7` → `7 Abandono de checkout`,
/// `2` → `rastreio.status 2 Postado`).
fn named(table: &[(&'static str, Option<EventKind>)], code: i64) -> Option<&'static str> {
    table
        .iter()
        .map(|(name, _)| *name)
        .find(|name| name.split(' ').find_map(|c| c.parse().ok()) == Some(code))
}

/// Reads one Monetizze postback.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let code = ["tipoEvento.codigo", "postback_evento", "codigo_status"]
        .iter()
        .find_map(|p| text(&body, p))
        .ok_or_else(|| {
            ParseError::UnknownShape(
                "a Monetizze postback has `tipoEvento.codigo` (or `postback_evento`); \
                 this body has neither"
                    .into(),
            )
        })?;
    let v = &body;
    let method = text(v, "venda.formaPagamento").map(|m| method(&m));
    let mut draft = Draft::new(code.as_str());
    let ev = &mut draft.event;
    ev.kind = code.parse().ok().and_then(|c| kind(c, v, method));
    ev.order_id = first_text(v, &["venda.codigo", "codigo_venda"]);
    ev.occurred_at = ["venda.dataFinalizada", "venda.dataInicio"]
        .iter()
        .find_map(|p| timestamp(v, p));
    ev.customer.name = text(v, "comprador.nome");
    ev.customer.email = text(v, "comprador.email");
    ev.customer.document = text(v, "comprador.cnpj_cpf");

    for item in list(v, "produtos") {
        if let Some(name) = text(item, "nome") {
            ev.products.push(Product {
                name,
                id: text(item, "produto"),
                quantity: int(item, "quantidade").and_then(|q| u32::try_from(q).ok()),
                price_cents: reais(item, "valor"),
                image_url: None,
            });
        }
    }
    if ev.products.is_empty()
        && let Some(name) = text(v, "produto.nome")
    {
        ev.products.push(Product {
            name,
            id: text(v, "produto.codigo"),
            quantity: int(v, "venda.quantidade").and_then(|q| u32::try_from(q).ok()),
            price_cents: None,
            image_url: None,
        });
    }
    ev.total_cents = reais(v, "venda.valor");
    ev.currency = Some("BRL".to_owned()).filter(|_| ev.total_cents.is_some());

    let p = &mut ev.payment;
    p.method = method;
    p.boleto_url = text(v, "venda.linkBoleto");
    p.boleto_barcode = text(v, "venda.linha_digitavel");
    p.pix_code = text(v, "pix_codigo_qrcode");
    p.pix_qr_url = text(v, "pix_imagem_qrcode");
    p.checkout_url = text(v, "url_recuperacao");
    p.installments = int(v, "venda.parcelas").and_then(|n| u32::try_from(n).ok());

    ev.shipping.tracking_code = text(v, "rastreio.codigo");
    ev.subscription.id = text(v, "assinatura.codigo");
    ev.subscription.status = text(v, "assinatura.status");
    ev.subscription.plan = text(v, "plano.nome");
    ev.utm.source = first_text(v, &["venda.utm_source", "venda.src"]);
    ev.utm.medium = text(v, "venda.utm_medium");
    ev.utm.campaign = text(v, "venda.utm_campaign");
    ev.utm.content = text(v, "venda.utm_content");

    draft.phone(text(v, "comprador.telefone"));
    draft.phone(text(v, "ecommerce_dados.dados_comprador.celular"));
    Ok(vec![draft])
}

/// The kind of one postback: its event code, refined by the payment method, the installment
/// or the tracking status.
fn kind(code: i64, v: &Value, method: Option<PaymentMethod>) -> Option<EventKind> {
    use EventKind::*;
    let name = named(EVENTS, code)?;
    let kind = table_choose(EVENTS, name, |kinds| {
        if kinds.contains(&SubscriptionRenewed) {
            Some(match int(v, "assinatura.parcela") {
                Some(n) if n > 1 => SubscriptionRenewed,
                _ => SubscriptionStarted,
            })
        } else {
            Some(match method {
                Some(PaymentMethod::Pix) => PixGenerated,
                Some(PaymentMethod::CreditCard) if kinds.contains(&PaymentInReview) => {
                    PaymentInReview
                }
                _ => BoletoGenerated,
            })
        }
    })?;
    match code {
        120 => table_kind(TRACKING, named(TRACKING, int(v, "rastreio.status")?)?),
        _ => Some(kind),
    }
}

fn method(name: &str) -> PaymentMethod {
    let name = name.to_lowercase();
    if name.contains("boleto") {
        PaymentMethod::Boleto
    } else if name.contains("pix") {
        PaymentMethod::Pix
    } else if name.contains("cart") {
        PaymentMethod::CreditCard
    } else {
        PaymentMethod::Other
    }
}

/// Monetizze signs nothing: the postback carries the account's `chave_unica` in the body.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    let sent = body_value(req).ok().and_then(|b| text(&b, "chave_unica"));
    check_token(sent.as_deref(), secret, "chave_unica")
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use crate::ingest::{ReasonCode, recognise};

    fn read(body: &str) -> Vec<crate::ingest::Reading> {
        let headers = vec![(
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )];
        recognise(
            Platform::Monetizze,
            &Request::new(body.as_bytes(), &headers, ""),
        )
    }

    fn kind_of(body: &str) -> Option<&'static str> {
        read(body)[0]
            .event
            .as_ref()
            .and_then(|e| e.kind)
            .and_then(EventKind::static_str)
    }

    #[test]
    fn every_documented_event_code_has_a_decided_kind() {
        let code = |name: &str| name.split(' ').next().expect("code").to_owned();
        for (name, want) in EVENTS {
            if crate::ingest::catalog::table_kinds(EVENTS, name).len() > 1 {
                continue;
            }
            let body = format!("tipoEvento[codigo]={}&rastreio[status]=2", code(name));
            assert_eq!(
                kind_of(&body),
                want.and_then(EventKind::static_str),
                "{name}"
            );
        }
        let boleto = "tipoEvento[codigo]=1";
        assert_eq!(kind_of(boleto), Some("boleto.generated"));
        let pix = "tipoEvento[codigo]=1&venda[formaPagamento]=Pix";
        assert_eq!(kind_of(pix), Some("pix.generated"));
        let card = "tipoEvento[codigo]=1&venda[formaPagamento]=Cart%C3%A3o+de+cr%C3%A9dito";
        assert_eq!(kind_of(card), Some("payment.in_review"));
        assert_eq!(kind_of("tipoEvento[codigo]=99"), Some("boleto.generated"));
        let pix = "tipoEvento[codigo]=99&venda[formaPagamento]=Pix";
        assert_eq!(kind_of(pix), Some("pix.generated"));
        let first = "tipoEvento[codigo]=101&assinatura[parcela]=1";
        assert_eq!(kind_of(first), Some("subscription.started"));
        let renewal = "tipoEvento[codigo]=101&assinatura[parcela]=2";
        assert_eq!(kind_of(renewal), Some("subscription.renewed"));
    }

    #[test]
    fn tracking_postbacks_follow_the_tracking_status() {
        for (name, want) in TRACKING {
            let status = name.split(' ').nth(1).expect("code");
            let body =
                format!("tipoEvento[codigo]=120&rastreio[status]={status}&rastreio[codigo]=AA1BR");
            assert_eq!(
                kind_of(&body),
                want.and_then(EventKind::static_str),
                "{name}"
            );
        }
        assert_eq!(kind_of("tipoEvento[codigo]=120&rastreio[status]=1"), None);
    }

    #[test]
    fn form_lists_and_the_json_copy_are_read() {
        let body = "postback_evento=2&produtos[0][nome]=Curso&produtos[0][valor]=97.00\
                    &comprador[telefone]=(11)+98765-4321&venda[valor]=97.00";
        let readings = read(body);
        let event = readings[0].event.as_ref().expect("event");
        assert_eq!(event.products[0].price_cents, Some(9700));
        assert_eq!(event.total_cents, Some(9700));
        assert_eq!(readings[0].status, crate::ingest::Status::Ok);
    }

    #[test]
    fn chave_unica_must_match_the_store_key() {
        let body = b"chave_unica=abc123&postback_evento=2";
        assert_eq!(verify("abc123", &Request::new(body, &[], "")), Ok(()));
        assert_eq!(
            verify("zzz", &Request::new(body, &[], "")),
            Err(SignatureError::Mismatch)
        );
        let none = b"postback_evento=2";
        assert!(matches!(
            verify("abc123", &Request::new(none, &[], "")),
            Err(SignatureError::Missing(_))
        ));
    }

    #[test]
    fn odd_bodies_never_panic_and_say_why() {
        assert_eq!(
            read("venda[codigo]=1")[0].reason.as_ref().map(|r| r.code),
            Some(ReasonCode::UnknownShape)
        );
        let odd = r#"{"tipoEvento":{"codigo":"x"},"venda":{"valor":{}},"produtos":"no"}"#;
        let readings = recognise(Platform::Monetizze, &Request::new(odd.as_bytes(), &[], ""));
        let event = readings[0].event.as_ref().expect("event");
        assert_eq!(
            (event.kind, event.total_cents, event.products.len()),
            (None, None, 0)
        );
    }
}
