//! Tray notifications: a form body `seller_id, scope_id, scope_name, act` and nothing else. The
//! order's state, buyer and amount come only from GET /orders/{scope_id}/complete with the
//! store's access token (`read_order`, for `ingest::enrich`); read from the body alone every
//! notification is unmapped. Tray signs nothing.

use serde_json::Value;

use super::common::{body_value, reais, table_kind, text};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod};

/// `scope_name` + `act` (developers.tray.com.br "Sistema de Notificação"): none of them says
/// what happened to an order, so none has a kind.
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("order insert", None),
    ("order update", None),
    ("order delete", None),
    ("product insert", None),
    ("product update", None),
    ("product delete", None),
    ("customer insert", None),
    ("customer update", None),
    ("customer delete", None),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let act = text(&body, "act").ok_or_else(|| {
        ParseError::UnknownShape("a Tray notification has `scope_name` and `act`".into())
    })?;
    let scope = text(&body, "scope_name").unwrap_or_default();
    let mut draft = Draft::new(act.as_str());
    draft.event.kind = table_kind(EVENTS, &format!("{scope} {act}"));
    if scope == "order" {
        draft.event.order_id = text(&body, "scope_id");
    }
    Ok(vec![draft])
}

/// GET {api_address}/orders/{id}/complete (the answer to an order notification): `{"Order":
/// {id, status, total, payment_method, Customer: {name, email, cpf, cellphone, phone}}}`. The
/// notification has no kind: the order's status gives it. Tray lets each store rename its
/// statuses, so the default names are read by their words (`AGUARDANDO PAGAMENTO` with a boleto
/// or PIX is one to remind of, `A ENVIAR` paid, `ENVIADO` shipped, `CANCELADO` canceled,
/// `FINALIZADO` / `ENTREGUE` done); another name leaves the event unmapped. `Err`: not this
/// Tray order.
pub(super) fn read_order(draft: &mut Draft, answer: &Value) -> Result<(), String> {
    let order = answer.get("Order").filter(|o| o.is_object());
    let Some((order, id)) = order.and_then(|o| Some((o, text(o, "id")?))) else {
        return Err("the answer is not a Tray order".into());
    };
    let e = &mut draft.event;
    if e.order_id.as_deref().is_some_and(|thin| thin != id) {
        return Err(format!("the answer is order {id:?}, not {:?}", e.order_id));
    }
    let method = text(order, "payment_method").map(|m| payment_method(&m));
    let status = text(order, "status").unwrap_or_default().to_uppercase();
    if e.kind.is_none() {
        e.kind = status_kind(&status, method);
    }
    e.total_cents = reais(order, "total").or(e.total_cents);
    e.currency = Some("BRL".into());
    let c = &mut e.customer;
    c.name = text(order, "Customer.name").or(c.name.take());
    c.email = text(order, "Customer.email").or(c.email.take());
    c.document = text(order, "Customer.cpf")
        .or_else(|| text(order, "Customer.cnpj"))
        .or(c.document.take());
    e.payment.method = method.or(e.payment.method);
    draft.phone(text(order, "Customer.cellphone"));
    draft.phone(text(order, "Customer.phone"));
    Ok(())
}

/// `payment_method` is the name the store shows ("Boleto Bancário", "Pix", "Cartão de Crédito
/// Visa" …).
fn payment_method(name: &str) -> PaymentMethod {
    let name = name.to_lowercase();
    if name.contains("boleto") {
        PaymentMethod::Boleto
    } else if name.contains("pix") {
        PaymentMethod::Pix
    } else if name.contains("cart") || name.contains("card") {
        PaymentMethod::CreditCard
    } else {
        PaymentMethod::Other
    }
}

fn status_kind(status: &str, method: Option<PaymentMethod>) -> Option<EventKind> {
    let has = |word: &str| status.contains(word);
    if has("CANCELAD") {
        Some(EventKind::OrderCanceled)
    } else if has("AGUARDANDO PAGAMENTO") {
        match method {
            Some(PaymentMethod::Boleto) => Some(EventKind::BoletoGenerated),
            Some(PaymentMethod::Pix) => Some(EventKind::PixGenerated),
            _ => None,
        }
    } else if has("A ENVIAR") {
        Some(EventKind::OrderPaid)
    } else if has("ENVIADO") {
        Some(EventKind::OrderShipped)
    } else if has("ENTREGUE") {
        Some(EventKind::ShippingDelivered)
    } else if has("FINALIZADO") {
        Some(EventKind::OrderCompleted)
    } else {
        None
    }
}

/// Nothing to check: Tray's notifications carry no token or signature.
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
    use crate::ingest::{Status, recognise};

    #[test]
    fn every_notification_is_unmapped_with_its_order_id() {
        for (name, kind) in EVENTS {
            let (scope, act) = name.split_once(' ').expect("scope and act");
            let body = format!("seller_id=1&scope_id=42&scope_name={scope}&act={act}");
            let readings = recognise(Platform::Tray, &Request::new(body.as_bytes(), &[], ""));
            let event = readings[0].event.as_ref().expect("event");
            assert_eq!(
                (event.kind, readings[0].status),
                (*kind, Status::Unmapped),
                "{name}"
            );
            assert_eq!(event.order_id.is_some(), scope == "order", "{name}");
        }
    }
}
