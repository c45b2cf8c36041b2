//! PagBank's (PagSeguro's) legacy transaction notifications, the "URL de notificação" of the
//! account's preferences that older checkouts and store plugins still use: a form body
//! `notificationCode=…&notificationType=transaction`, unsigned, and nothing else. The
//! transaction comes only from `GET /v3/transactions/notifications/{code}?email=…&token=…` on
//! ws.pagseguro.uol.com.br (dev.pagseguro.uol.com.br/v1.0/docs/api-notificacao-v1), which
//! answers XML in ISO-8859-1: `read_transaction`, for `ingest::enrich`. Read from the body
//! alone every notification is unmapped, waiting for that call.
//!
//! Nothing in the notification can be trusted or needs to be: the code only names a
//! transaction of the merchant's own account, fetched with the merchant's own token, so a
//! forged code is answered 404 by PagBank and the event ends invalid with that reason.

use serde_json::{Map, Value};

use super::common::{body_value, reais, text, timestamp};
use super::{Draft, Request};
use crate::domain::{EventKind, PaymentMethod, Product};

/// The `platform_event` of a legacy notification (its `notificationType`).
pub(super) const TRANSACTION: &str = "transaction";

/// The notification's code, when `body` (a form read as a JSON object) is a legacy
/// transaction notification.
pub(super) fn notification_code(body: &Value) -> Option<String> {
    let kind = text(body, "notificationType");
    text(body, "notificationCode").filter(|_| kind.as_deref() == Some(TRANSACTION))
}

/// Whether `req` is a legacy transaction notification (`pagbank::verify` lets it through
/// unsigned). Runs on every signed PagBank webhook, so a JSON body that never names
/// `notificationCode` — every current order and checkout — is not parsed a second time.
pub(super) fn is_notification(req: &Request) -> bool {
    const KEY: &[u8] = b"\"notificationCode\"";
    let json = req.body.trim_ascii_start().starts_with(b"{");
    if json && !req.body.windows(KEY.len()).any(|w| w == KEY) {
        return false;
    }
    body_value(req).is_ok_and(|b| notification_code(&b).is_some())
}

/// The thin event of a legacy notification: its code is the event's id and the delivery's (one
/// per status change: the same code sent twice is one event, two codes are two events, though
/// nothing else in them differs); no order, no kind yet.
pub(super) fn parse(code: String) -> Draft {
    let mut draft = Draft::new(TRANSACTION);
    draft.event.event_id = Some(code.clone());
    draft.delivery_id = Some(code);
    draft
}

/// The kind a transaction status ("Status da transação": 1 aguardando pagamento, 2 em análise,
/// 3 paga, 4 disponível, 5 em disputa, 6 devolvida, 7 cancelada, 8 debitada, 9 retenção
/// temporária) gives. 1 depends on the method: a boleto waiting is the reminder's start; a card
/// waiting is being authorised, and this API gives no PIX code to remind with, so those stay
/// unmapped. 7 is a card refused, or a boleto that went unpaid.
fn kind_of(status: &str, method: Option<PaymentMethod>) -> Option<EventKind> {
    match (status, method) {
        ("1", Some(PaymentMethod::Boleto)) => Some(EventKind::BoletoGenerated),
        ("2", _) => Some(EventKind::PaymentInReview),
        ("3", _) => Some(EventKind::OrderPaid),
        ("6", _) => Some(EventKind::OrderRefunded),
        ("7", Some(PaymentMethod::CreditCard)) => Some(EventKind::PaymentRefused),
        ("7", Some(PaymentMethod::Boleto)) => Some(EventKind::PaymentExpired),
        ("7", _) => Some(EventKind::OrderCanceled),
        ("8", _) => Some(EventKind::OrderChargeback),
        // 4: the money of a transaction already paid is available; 5 and 9: a dispute opened,
        // nothing to tell the buyer yet.
        _ => None,
    }
}

/// `paymentMethod.type` ("Tipo do meio de pagamento"): 1 card, 2 boleto, 3 online debit,
/// 4 PagBank balance, 5 Oi Paggo, 7 bank deposit.
fn method_of(code: &str) -> PaymentMethod {
    match code {
        "1" => PaymentMethod::CreditCard,
        "2" => PaymentMethod::Boleto,
        _ => PaymentMethod::Other,
    }
}

/// Reads the answer to `GET /v3/transactions/notifications/{code}`: `<transaction>` with
/// `code`, `status`, `paymentMethod/type`, `grossAmount` (reais), `paymentLink` (a boleto's),
/// `items/item`, `sender` (`name`, `email`, `phone/areaCode` + `phone/number`,
/// `documents/document/value`). The transaction's code is the order (every later notification
/// of the same transaction names it). `Err`: not a transaction.
pub(super) fn read_transaction(draft: &mut Draft, answer: &[u8]) -> Result<(), String> {
    let (root, tx) = xml_value(answer)?;
    if root != "transaction" {
        return Err(format!("the answer is <{root}>, not a PagBank transaction"));
    }
    let (Some(code), Some(status)) = (text(&tx, "code"), text(&tx, "status")) else {
        return Err("the transaction has no code or status".into());
    };
    let method = text(&tx, "paymentMethod.type").map(|t| method_of(&t));
    let e = &mut draft.event;
    if e.kind.is_none() {
        e.kind = kind_of(&status, method);
    }
    e.order_id = Some(code);
    e.occurred_at = timestamp(&tx, "lastEventDate")
        .or_else(|| timestamp(&tx, "date"))
        .or(e.occurred_at.take());
    e.total_cents = reais(&tx, "grossAmount").or(e.total_cents);
    e.currency = Some("BRL".into());
    for item in each(&tx, "items.item") {
        if let Some(name) = text(item, "description") {
            e.products.push(Product {
                name,
                id: text(item, "id"),
                quantity: text(item, "quantity").and_then(|q| q.parse().ok()),
                price_cents: reais(item, "amount"),
                image_url: None,
            });
        }
    }
    let c = &mut e.customer;
    c.name = text(&tx, "sender.name").or(c.name.take());
    c.email = text(&tx, "sender.email").or(c.email.take());
    c.document = each(&tx, "sender.documents.document")
        .into_iter()
        .find_map(|d| text(d, "value"))
        .or(c.document.take());
    let p = &mut e.payment;
    p.method = method.or(p.method);
    if method == Some(PaymentMethod::Boleto) {
        p.boleto_url = text(&tx, "paymentLink");
    }
    p.installments = text(&tx, "installmentCount").and_then(|n| n.parse().ok());
    draft.phone_parts(
        Some("55".into()),
        text(&tx, "sender.phone.areaCode"),
        text(&tx, "sender.phone.number"),
    );
    Ok(())
}

/// The element(s) at `path`: one element is an object, several of the same name an array.
fn each<'v>(value: &'v Value, path: &str) -> Vec<&'v Value> {
    match super::common::at(value, path) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    }
}

/// An XML document as the root element's name and its content as JSON: an element with
/// elements inside is an object by child name (a name repeated becomes an array, in order),
/// any other element its trimmed text. Attributes are not read (PagBank's answers have none).
/// ISO-8859-1, which PagBank declares, is decoded as such; anything else must be UTF-8. A DTD
/// is refused (roxmltree's default), so no entity is ever expanded.
fn xml_value(bytes: &[u8]) -> Result<(String, Value), String> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(100)]).to_ascii_lowercase();
    let latin1 = head.starts_with("<?xml") && head.contains("iso-8859-1");
    let decoded = if latin1 {
        bytes.iter().map(|&b| char::from(b)).collect()
    } else {
        String::from_utf8(bytes.to_vec()).map_err(|_| "the answer is not UTF-8".to_owned())?
    };
    let document = roxmltree::Document::parse(&decoded).map_err(|e| format!("not XML: {e}"))?;
    let root = document.root_element();
    Ok((root.tag_name().name().to_owned(), element(root)))
}

fn element(node: roxmltree::Node) -> Value {
    let children: Vec<_> = node.children().filter(|n| n.is_element()).collect();
    if children.is_empty() {
        let text: String = node
            .children()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect();
        return Value::String(text.trim().to_owned());
    }
    let mut map = Map::new();
    for child in children {
        let name = child.tag_name().name().to_owned();
        let value = element(child);
        match map.get_mut(&name) {
            None => {
                map.insert(name, value);
            }
            Some(Value::Array(items)) => items.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
        }
    }
    Value::Object(map)
}
