//! Monetizze postbacks: reads the `tipoEvento` code (form or JSON body, with its `json` copy)
//! into one event, tracking updates by `rastreio.status`; checks the `chave_unica` key.

use serde_json::Value;

use super::common::{body_value, first_text, int, list, reais, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// `tipoEvento.codigo` values. `None`: known, no message kind. 1, 99, 101, 104 and 120 are
/// refined in [`kind`].
const EVENTS: &[(i64, Option<EventKind>)] = &[
    (1, Some(EventKind::BoletoGenerated)), // Aguardando pagamento
    (2, Some(EventKind::OrderPaid)),       // Finalizada / Aprovada
    (3, Some(EventKind::OrderCanceled)),   // Cancelada
    (4, Some(EventKind::OrderRefunded)),   // Devolvida
    // Bloqueada: held by Monetizze for review; telling the buyer would be premature.
    (5, None),
    (6, Some(EventKind::OrderCompleted)), // Completa (warranty over)
    (7, Some(EventKind::CheckoutAbandoned)), // Abandono de checkout
    (8, None),                            // Oculto
    // 98 Cartão / 99 Boleto: payment-method notices; a card one says nothing new to the buyer.
    (98, None),
    (99, Some(EventKind::BoletoGenerated)),
    (101, Some(EventKind::SubscriptionStarted)), // Assinatura ativa
    (102, Some(EventKind::SubscriptionOverdue)), // Inadimplente
    (103, Some(EventKind::SubscriptionCanceled)), // Cancelada
    (104, Some(EventKind::SubscriptionOverdue)), // Aguardando pagamento
    (105, None),                                 // Recuperação parcelada ativa
    (106, None),                                 // Recuperação parcelada cancelada
    (120, Some(EventKind::OrderShipped)),        // Rastreio
];

/// `rastreio.status` values of a tracking postback.
const TRACKING: &[(i64, EventKind)] = &[
    (2, EventKind::OrderShipped),           // Postado
    (3, EventKind::ShippingProblem),        // Extraviado
    (4, EventKind::ShippingProblem),        // Devolvido
    (5, EventKind::ShippingOutForDelivery), // Saiu para entrega
    (6, EventKind::ShippingDelivered),      // Entregue
    (7, EventKind::OrderShipped),           // Em trânsito
    (8, EventKind::ShippingAwaitingPickup), // Aguardando retirada
];

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

/// The kind of one postback: its event code, refined by the payment method or tracking status.
fn kind(code: i64, v: &Value, method: Option<PaymentMethod>) -> Option<EventKind> {
    let base = EVENTS
        .iter()
        .find(|(c, _)| *c == code)
        .and_then(|(_, k)| *k)?;
    match code {
        // Awaiting payment: a boleto or PIX to pay, or a card still being processed.
        1 => Some(match method {
            Some(PaymentMethod::Pix) => EventKind::PixGenerated,
            Some(PaymentMethod::CreditCard) => EventKind::PaymentInReview,
            _ => base,
        }),
        99 if method == Some(PaymentMethod::Pix) => Some(EventKind::PixGenerated),
        // Later installments of an active subscription are renewals.
        101 if int(v, "assinatura.parcela").is_some_and(|n| n > 1) => {
            Some(EventKind::SubscriptionRenewed)
        }
        120 => {
            let status = int(v, "rastreio.status")?;
            TRACKING.iter().find(|(s, _)| *s == status).map(|(_, k)| *k)
        }
        _ => Some(base),
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
        for (code, want) in EVENTS {
            let body = format!("tipoEvento[codigo]={code}&rastreio[status]=2");
            assert_eq!(
                kind_of(&body),
                want.and_then(EventKind::static_str),
                "code {code}"
            );
        }
        let pix = "tipoEvento[codigo]=1&venda[formaPagamento]=Pix";
        assert_eq!(kind_of(pix), Some("pix.generated"));
        let card = "tipoEvento[codigo]=1&venda[formaPagamento]=Cart%C3%A3o+de+cr%C3%A9dito";
        assert_eq!(kind_of(card), Some("payment.in_review"));
    }

    #[test]
    fn tracking_postbacks_follow_the_tracking_status() {
        for (status, want) in TRACKING {
            let body =
                format!("tipoEvento[codigo]=120&rastreio[status]={status}&rastreio[codigo]=AA1BR");
            assert_eq!(kind_of(&body), Some(want.as_str()), "status {status}");
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
