//! Efí (ex-Gerencianet) Pix API notifications: `{"pix": [ … ]}` with no event name. An entry is
//! a Pix received on the charge `txid`; an entry with `devolucoes[]` reports a refund. No buyer
//! phone ever: the charge's debtor (GET /v2/cob/{txid}, `read_cob`) has a name and CPF only.

use serde_json::Value;

use super::common::{body_value, list, reais, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod};

/// How an entry of `pix[]` is named in avisa (Efí sends no event name): what it carries decides.
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    // A Pix paid on a charge the merchant created (it has a txid).
    ("pix", Some(EventKind::OrderPaid)),
    // A Pix to the key with no charge behind it: a transfer, not an order.
    ("pix sem txid", None),
    ("devolucao DEVOLVIDO", Some(EventKind::OrderRefunded)),
    ("devolucao EM_PROCESSAMENTO", None),
    ("devolucao NAO_REALIZADO", None),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let entries = list(&body, "pix");
    if entries.is_empty() {
        return Err(ParseError::UnknownShape(
            "an Efí Pix notification carries a `pix` list".into(),
        ));
    }
    let mut drafts = Vec::new();
    for pix in entries {
        let refunds = list(pix, "devolucoes");
        if refunds.is_empty() {
            let name = if text(pix, "txid").is_some() {
                "pix"
            } else {
                "pix sem txid"
            };
            let mut draft = read(name, pix);
            draft.event.total_cents = reais(pix, "valor");
            draft.event.occurred_at = timestamp(pix, "horario");
            draft.delivery_id = text(pix, "endToEndId");
            drafts.push(draft);
        }
        for refund in refunds {
            let status = text(refund, "status").unwrap_or_default();
            let mut draft = read(&format!("devolucao {status}"), pix);
            draft.event.total_cents = reais(refund, "valor");
            draft.event.occurred_at = timestamp(refund, "horario.liquidacao")
                .or_else(|| timestamp(refund, "horario.solicitacao"));
            draft.delivery_id = text(refund, "rtrId")
                .or_else(|| text(refund, "id"))
                .map(|id| format!("{id} {status}"));
            drafts.push(draft);
        }
    }
    Ok(drafts)
}

/// A charge's `status` (GET /v2/cob/{txid}, the Banco Central's Pix API as Efí serves it).
pub(super) const COB_STATUSES: &[&str] = &[
    "ATIVA",
    "CONCLUIDA",
    "REMOVIDA_PELO_USUARIO_RECEBEDOR",
    "REMOVIDA_PELO_PSP",
];

/// Reads a charge (GET /v2/cob/{txid}) into `draft`, whose event is the notification's: the
/// amount, the PIX copia-e-cola and the debtor's name and CPF/CNPJ (the charge has no phone).
/// `Err` when the body is not a charge.
pub(super) fn read_cob(draft: &mut Draft, cob: &Value) -> Result<(), String> {
    let status = text(cob, "status").unwrap_or_default();
    if text(cob, "txid").is_none() || !COB_STATUSES.contains(&status.as_str()) {
        return Err("the answer is not an Efí Pix charge".into());
    }
    let e = &mut draft.event;
    if e.total_cents.is_none() {
        e.total_cents = reais(cob, "valor.original");
    }
    e.payment.pix_code = text(cob, "pixCopiaECola").or(e.payment.pix_code.take());
    let c = &mut e.customer;
    c.name = text(cob, "devedor.nome").or(c.name.take());
    c.first_name = None;
    c.document = text(cob, "devedor.cpf")
        .or_else(|| text(cob, "devedor.cnpj"))
        .or(c.document.take());
    Ok(())
}

fn read(name: &str, pix: &Value) -> Draft {
    let mut draft = Draft::new(name);
    let kind = EVENTS
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, k)| *k);
    let e = &mut draft.event;
    e.kind = kind;
    e.event_id = text(pix, "endToEndId");
    e.order_id = text(pix, "txid");
    e.currency = Some("BRL".into());
    e.payment.method = Some(PaymentMethod::Pix);
    draft
}

/// Efí checks itself with mutual TLS, which avisa behind a proxy cannot see; when the merchant
/// registers the webhook skipping mTLS, Efí's docs tell them to put a secret in the URL:
/// `?hmac=<secret>&ignorar=` (Efí appends `/pix` to the URL, which `ignorar=` swallows).
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    check_token(
        req.query_param("hmac").as_deref(),
        secret,
        "hmac URL parameter",
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

    fn kinds(body: &str) -> Vec<(String, Option<EventKind>)> {
        recognise(Platform::Efi, &Request::new(body.as_bytes(), &[], ""))
            .into_iter()
            .filter_map(|r| r.event)
            .map(|e| (e.platform_event, e.kind))
            .collect()
    }

    #[test]
    fn every_entry_shape_has_a_decided_kind() {
        let body = r#"{"pix":[
            {"endToEndId":"E1","txid":"t1","valor":"1.00"},
            {"endToEndId":"E2","valor":"2.00"},
            {"endToEndId":"E3","txid":"t3","devolucoes":[
                {"id":"d1","rtrId":"D1","valor":"1.00","status":"DEVOLVIDO"},
                {"id":"d2","rtrId":"D2","valor":"1.00","status":"EM_PROCESSAMENTO"},
                {"id":"d3","rtrId":"D3","valor":"1.00","status":"NAO_REALIZADO"}]}]}"#;
        let got = kinds(body);
        let want: Vec<(String, Option<EventKind>)> =
            EVENTS.iter().map(|(n, k)| ((*n).to_owned(), *k)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn the_hmac_url_parameter_must_match() {
        assert_eq!(
            verify("s", &Request::new(b"{}", &[], "hmac=s&ignorar=/pix")),
            Ok(())
        );
        assert_eq!(
            verify("s", &Request::new(b"{}", &[], "hmac=x&ignorar=")),
            Err(SignatureError::Mismatch)
        );
        assert!(verify("s", &Request::new(b"{}", &[], "")).is_err());
    }
}
