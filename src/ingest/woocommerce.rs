//! woocommerce: reads WooCommerce webhooks (topic in `X-WC-Webhook-Topic`, body = the REST order
//! resource, Brazilian gateway facts in `meta_data`) into events, and checks
//! `X-WC-Webhook-Signature`. Uses `ingest::common` and `domain` only.

use serde_json::Value;

use super::catalog::table_choose;
use super::common::{at, body_value, first_text, int, reais, text, timestamp};
use super::signature::{check_base64, hmac_sha256};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Reads one delivery: the order's `status` (with the gateway) decides the kind for
/// order.created and order.updated alike, since Woo fires both for the same state changes.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    // The first delivery after a webhook is created is a form ping `webhook_id=N`.
    if at(&body, "webhook_id").is_some() && at(&body, "id").is_none() {
        return Ok(vec![Draft::new("webhook ping")]);
    }
    let topic = topic(req, &body)?;
    let mut draft = Draft::new(topic.clone());
    let is_order = topic == "order" || topic.starts_with("order.");
    let status = text(&body, "status");
    let method = method(&body);
    if is_order && !matches!(topic.as_str(), "order.deleted" | "order.restored") {
        draft.event.kind = status.as_deref().and_then(|s| kind_for(s, method));
    }
    if is_order {
        read_order(&mut draft, &body, method);
    }
    draft.event.event_id = req
        .header("x-wc-webhook-delivery-id")
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned);
    // Woo makes a new delivery id for every delivery, and order.updated repeats the same state
    // on every save (notes, stock): the content hash, not the delivery id, drops those repeats.
    draft.delivery_id = None;
    Ok(vec![draft])
}

/// `X-WC-Webhook-Signature` is base64 HMAC-SHA256 of the raw body with the webhook's secret.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    let expected = hmac_sha256(secret.as_bytes(), req.body);
    check_base64(
        req.header("x-wc-webhook-signature"),
        &expected,
        "X-WC-Webhook-Signature header",
    )
}

/// The topic header, else resource + event headers, else an order body read as "order".
fn topic(req: &Request, body: &Value) -> Result<String, ParseError> {
    let header = |name: &str| req.header(name).map(str::trim).filter(|v| !v.is_empty());
    if let Some(topic) = header("x-wc-webhook-topic") {
        return Ok(topic.to_owned());
    }
    if let (Some(resource), Some(event)) = (
        header("x-wc-webhook-resource"),
        header("x-wc-webhook-event"),
    ) {
        return Ok(format!("{resource}.{event}"));
    }
    if at(body, "status").is_some() && at(body, "line_items").is_some() {
        return Ok("order".to_owned());
    }
    Err(ParseError::UnknownShape(
        "WooCommerce sends the event name in the X-WC-Webhook-Topic header, which is missing"
            .into(),
    ))
}

/// Order status (and gateway) to kind. Boleto and PIX gateways leave orders pending or on-hold
/// until paid; `completed` means fulfilled in Woo, read as the order being concluded.
fn kind_for(status: &str, method: Option<PaymentMethod>) -> Option<EventKind> {
    use EventKind::*;
    table_choose(EVENTS, status, |kinds| match method {
        Some(PaymentMethod::Boleto) => Some(BoletoGenerated),
        Some(PaymentMethod::Pix) => Some(PixGenerated),
        _ => kinds.contains(&PaymentInReview).then_some(PaymentInReview),
    })
}

/// Woo's order statuses; `pending` and `on-hold` are picked by the gateway in [`kind_for`]: with
/// a boleto or PIX gateway the voucher is out, pending with another has nothing to tell, on-hold
/// awaits the merchant's check.
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("pending", Some(EventKind::BoletoGenerated)),
    ("pending", Some(EventKind::PixGenerated)),
    ("on-hold", Some(EventKind::BoletoGenerated)),
    ("on-hold", Some(EventKind::PixGenerated)),
    ("on-hold", Some(EventKind::PaymentInReview)),
    ("processing", Some(EventKind::OrderPaid)),
    ("completed", Some(EventKind::OrderCompleted)),
    ("cancelled", Some(EventKind::OrderCanceled)),
    ("refunded", Some(EventKind::OrderRefunded)),
    ("failed", Some(EventKind::PaymentRefused)),
    // Drafts and the bin: nothing to tell the buyer.
    ("checkout-draft", None),
    ("trash", None),
];

/// The gateway id/title as a method; core offline gateways (bacs, cheque, cod) are `other`.
fn method(body: &Value) -> Option<PaymentMethod> {
    let id = first_text(body, &["payment_method", "payment_method_title"])?;
    let both = format!(
        "{} {}",
        id.to_lowercase(),
        text(body, "payment_method_title")
            .unwrap_or_default()
            .to_lowercase()
    );
    Some(
        if ["boleto", "billet", "bank_slip", "ticket"]
            .iter()
            .any(|w| both.contains(w))
        {
            PaymentMethod::Boleto
        } else if both.contains("pix") {
            PaymentMethod::Pix
        } else if ["card", "cartão", "cartao", "credito", "crédito", "stripe"]
            .iter()
            .any(|w| both.contains(w))
        {
            PaymentMethod::CreditCard
        } else {
            PaymentMethod::Other
        },
    )
}

fn read_order(draft: &mut Draft, body: &Value, method: Option<PaymentMethod>) {
    // "Brazilian Market on WooCommerce" adds a mobile field; it is the WhatsApp one when present.
    for path in ["billing.cellphone", "billing.phone", "shipping.phone"] {
        draft.phone(text(body, path));
    }
    let e = &mut draft.event;
    e.order_id = text(body, "id");
    let name = [
        text(body, "billing.first_name"),
        text(body, "billing.last_name"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>();
    e.customer.name = (!name.is_empty()).then(|| name.join(" "));
    e.customer.email = text(body, "billing.email");
    e.customer.document = first_text(body, &["billing.cpf", "billing.cnpj"]);
    e.total_cents = reais(body, "total");
    e.currency = text(body, "currency");
    e.payment.method = method;
    e.occurred_at = ["date_modified_gmt", "date_created_gmt"]
        .iter()
        .find_map(|p| text(body, p))
        // The *_gmt fields are UTC without an offset; the others are the store's local time.
        .and_then(|t| timestamp(&serde_json::json!({ "t": format!("{t}Z") }), "t"));
    if let Some(Value::Array(items)) = at(body, "line_items") {
        e.products = items
            .iter()
            .filter_map(|item| {
                Some(Product {
                    name: unescape(&text(item, "name")?),
                    id: text(item, "product_id"),
                    quantity: int(item, "quantity").and_then(|q| u32::try_from(q).ok()),
                    price_cents: reais(item, "price"),
                    image_url: None,
                })
            })
            .collect();
    }
    if let Some(Value::Array(meta)) = at(body, "meta_data") {
        for entry in meta {
            let key = text(entry, "key").unwrap_or_default().to_lowercase();
            match at(entry, "value") {
                Some(Value::Object(_)) => read_gateway_object(draft, at(entry, "value")),
                Some(Value::Array(rows)) => rows.iter().for_each(|r| read_tracking_row(draft, r)),
                Some(_) => read_gateway_meta(draft, &key, text(entry, "value")),
                None => {}
            }
            if key == "_billing_cpf" || key == "_billing_cnpj" {
                let e = &mut draft.event.customer;
                e.document = e.document.take().or_else(|| text(entry, "value"));
            }
        }
    }
}

/// One flat meta entry from a Brazilian gateway or shipping plugin, recognised by its key.
fn read_gateway_meta(draft: &mut Draft, key: &str, value: Option<String>) {
    let Some(value) = value else { return };
    let is_url = value.starts_with("http");
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    let p = &mut draft.event.payment;
    let slot = if has(&["boleto", "billet", "bank_slip", "ticket"]) && is_url {
        &mut p.boleto_url
    } else if has(&[
        "linha_digitavel",
        "digitable",
        "barcode",
        "boleto_line",
        "boleto_code",
    ]) {
        &mut p.boleto_barcode
    } else if key.contains("pix") && is_url && has(&["qr", "image", "url"]) {
        &mut p.pix_qr_url
    } else if key.contains("pix")
        && has(&["copia", "code", "payload", "emv", "qr"])
        && !has(&["base64", "expir", "image"])
    {
        &mut p.pix_code
    } else if has(&["due_date", "vencimento"]) {
        &mut p.due_at
    } else if has(&["tracking_code", "tracking_number", "rastreio"]) {
        &mut draft.event.shipping.tracking_code
    } else {
        return;
    };
    if slot.is_none() {
        *slot = Some(value);
    }
}

/// Gateways that keep their transaction as one object (e.g. `_wc_pagarme_transaction_data`).
fn read_gateway_object(draft: &mut Draft, value: Option<&Value>) {
    let Some(Value::Object(map)) = value else {
        return;
    };
    for (key, v) in map {
        read_gateway_meta(draft, &key.to_lowercase(), scalar(v));
    }
}

/// Shipment tracking plugins keep a list of `{tracking_number, tracking_provider, …}`.
fn read_tracking_row(draft: &mut Draft, row: &Value) {
    let s = &mut draft.event.shipping;
    if s.tracking_code.is_none() {
        s.tracking_code = text(row, "tracking_number");
        s.carrier = first_text(row, &["tracking_provider", "custom_tracking_provider"]);
        s.tracking_url = text(row, "custom_tracking_link");
    }
}

/// Woo stores product names HTML-escaped (`Camiseta &ndash; Azul`); messages are plain text.
fn unescape(name: &str) -> String {
    [
        ("&ndash;", "–"),
        ("&#8211;", "–"),
        ("&mdash;", "—"),
        ("&#8212;", "—"),
        ("&quot;", "\""),
        ("&#039;", "'"),
        ("&#8217;", "’"),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(name.to_owned(), |acc, (from, to)| acc.replace(from, to))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use serde_json::json;

    fn read(topic: &str, body: &Value) -> Draft {
        let raw = body.to_string();
        let h = vec![("X-WC-Webhook-Topic".to_owned(), topic.to_owned())];
        parse(&Request::new(raw.as_bytes(), &h, ""))
            .expect("readable")
            .remove(0)
    }

    #[test]
    fn woocommerce_signature_is_base64_hmac_of_the_raw_body() {
        let body = br#"{"id":727}"#;
        let sig = base64::engine::general_purpose::STANDARD.encode(hmac_sha256(b"k", body));
        let h = vec![("X-WC-Webhook-Signature".to_owned(), sig)];
        assert_eq!(verify("k", &Request::new(body, &h, "")), Ok(()));
        assert_eq!(
            verify("j", &Request::new(body, &h, "")),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify("k", &Request::new(body, &[], "")),
            Err(SignatureError::Missing(_))
        ));
    }

    #[test]
    fn woocommerce_statuses_map_to_kinds() {
        use EventKind::*;
        let table = [
            ("pending", "bacs", None),
            ("pending", "pagarme-banking-ticket", Some(BoletoGenerated)),
            ("on-hold", "woo-mercado-pago-pix", Some(PixGenerated)),
            ("on-hold", "bacs", Some(PaymentInReview)),
            ("processing", "bacs", Some(OrderPaid)),
            ("completed", "bacs", Some(OrderCompleted)),
            ("cancelled", "bacs", Some(OrderCanceled)),
            ("refunded", "bacs", Some(OrderRefunded)),
            ("failed", "credit_card", Some(PaymentRefused)),
            ("trash", "bacs", None),
        ];
        for (status, gateway, kind) in table {
            let body = json!({"id": 1, "status": status, "payment_method": gateway});
            assert_eq!(read("order.updated", &body).event.kind, kind, "{status}");
        }
        let order = json!({"id": 1, "status": "processing"});
        for topic in [
            "order.deleted",
            "order.restored",
            "product.created",
            "action.x",
        ] {
            assert_eq!(read(topic, &order).event.kind, None, "{topic}");
        }
    }

    #[test]
    fn woocommerce_boleto_and_pix_come_from_gateway_meta_data() {
        let body = json!({"id": 9, "status": "on-hold", "payment_method": "boleto",
            "billing": {"cellphone": "(11) 98765-4321", "phone": "1133334444", "cpf": "123"},
            "meta_data": [
                {"key": "_boleto_url", "value": "https://x/b.pdf"},
                {"key": "linha_digitavel", "value": "23790.00000"},
                {"key": "_correios_tracking_code", "value": "BR123"},
                {"key": "_wc_pagarme_transaction_data", "value": {"pix_qr_code": "000201"}}]});
        let d = read("order.created", &body);
        assert_eq!(d.event.kind, Some(EventKind::BoletoGenerated));
        assert_eq!(
            d.event.payment.boleto_url.as_deref(),
            Some("https://x/b.pdf")
        );
        assert_eq!(
            d.event.payment.boleto_barcode.as_deref(),
            Some("23790.00000")
        );
        assert_eq!(d.event.payment.pix_code.as_deref(), Some("000201"));
        assert_eq!(d.event.shipping.tracking_code.as_deref(), Some("BR123"));
        let phone = d.event.customer.phone.expect("mobile");
        assert_eq!(phone.as_str(), "+5511987654321");
    }

    #[test]
    fn woocommerce_ping_is_unmapped_not_invalid() {
        let h = vec![(
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )];
        let d = parse(&Request::new(b"webhook_id=12", &h, "")).expect("ping reads");
        assert_eq!(d[0].event.kind, None);
        assert_eq!(d[0].event.platform_event, "webhook ping");
    }

    #[test]
    fn woocommerce_odd_bodies_do_not_panic() {
        let d = read(
            "order.updated",
            &json!({"status": 5, "total": {}, "meta_data": "x"}),
        );
        assert_eq!(d.event.kind, None);
        assert_eq!(d.event.total_cents, None);
        let raw = json!({"name": "a product"}).to_string();
        let err = parse(&Request::new(raw.as_bytes(), &[], "")).expect_err("no topic");
        assert!(err.to_string().contains("X-WC-Webhook-Topic"));
        let order = json!({"id": 1, "status": "processing", "line_items": []}).to_string();
        let d = parse(&Request::new(order.as_bytes(), &[], "")).expect("order shape");
        assert_eq!(d[0].event.kind, Some(EventKind::OrderPaid));
    }
}
