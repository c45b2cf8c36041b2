//! nuvemshop: reads Nuvemshop (Tiendanube) thin notifications `{store_id, event, id}` and the
//! order / abandoned-checkout resources fetched after them into events, and checks
//! `X-Linkedstore-HMAC-SHA256`. Uses `ingest::common` and `domain` only.

use serde_json::Value;

use super::common::{at, body_value, first_text, int, reais, text, timestamp, utm_from_url};
use super::signature::{check_hex, hmac_sha256};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// Reads one body: a notification (it names no buyer, so a mapped one comes out without a
/// phone), or an order or checkout resource read by its own state.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    if let Some(event) = text(&body, "event") {
        let mut draft = Draft::new(event.clone());
        draft.event.kind = kind_for(&event);
        if event.starts_with("order/") {
            draft.event.order_id = text(&body, "id");
        }
        return Ok(vec![draft]);
    }
    if at(&body, "abandoned_checkout_url").is_some()
        || (at(&body, "contact_email").is_some() && at(&body, "payment_status").is_none())
    {
        let mut draft = Draft::new("checkout (resource)");
        draft.event.kind = Some(EventKind::CheckoutAbandoned);
        read_resource(&mut draft, &body);
        draft.event.payment.checkout_url = text(&body, "abandoned_checkout_url");
        return Ok(vec![draft]);
    }
    if at(&body, "payment_status").is_some() || at(&body, "shipping_status").is_some() {
        let state = ["status", "payment_status", "shipping_status"]
            .map(|p| text(&body, p).unwrap_or_else(|| "-".into()));
        let mut draft = Draft::new(format!("order (resource) {}", state.join("/")));
        let method = method(&body);
        draft.event.kind = order_state_kind(&state[0], &state[1], &state[2], method);
        read_resource(&mut draft, &body);
        draft.event.payment.method = method;
        return Ok(vec![draft]);
    }
    Err(ParseError::UnknownShape(
        "a Nuvemshop notification carries an \"event\" field; this body has none and is not an \
         order or checkout resource"
            .into(),
    ))
}

/// `X-Linkedstore-HMAC-SHA256` is hex HMAC-SHA256 of the raw body with the app's client secret.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    let expected = hmac_sha256(secret.as_bytes(), req.body);
    check_hex(
        req.header("x-linkedstore-hmac-sha256"),
        &expected,
        "X-Linkedstore-HMAC-SHA256 header",
    )
}

/// The notification table. app/*, category/*, product/*, domain/*, theme/* and the LGPD
/// store/customers events are not about a buyer's order; order/created, order/updated and
/// order/packed say nothing a buyer needs to hear (packing precedes the tracking code).
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("order/paid", Some(EventKind::OrderPaid)),
    ("order/fulfilled", Some(EventKind::OrderShipped)),
    ("order/cancelled", Some(EventKind::OrderCanceled)),
    ("order/created", None),
    ("order/updated", None),
    ("order/packed", None),
];

fn kind_for(event: &str) -> Option<EventKind> {
    super::common::table_kind(EVENTS, event)
}

/// An order resource's state as a kind: the latest step wins (shipped beats paid).
fn order_state_kind(
    status: &str,
    payment: &str,
    shipping: &str,
    method: Option<PaymentMethod>,
) -> Option<EventKind> {
    use EventKind::*;
    match (status, payment, shipping) {
        ("cancelled", "refunded", _) | (_, "refunded", _) => Some(OrderRefunded),
        ("cancelled", _, _) | (_, "voided", _) => Some(OrderCanceled),
        (_, "paid", "shipped" | "fulfilled") => Some(OrderShipped),
        (_, "paid", _) => Some(OrderPaid),
        (_, "pending", _) => match method {
            Some(PaymentMethod::Boleto) => Some(BoletoGenerated),
            Some(PaymentMethod::Pix) => Some(PixGenerated),
            _ => None,
        },
        _ => None,
    }
}

/// The method from `payment_details.method`, else the gateway's name; any other gateway is
/// `other`.
fn method(body: &Value) -> Option<PaymentMethod> {
    let named = first_text(body, &["payment_details.method", "gateway_name", "gateway"])?;
    let m = named.to_lowercase();
    Some(if m.contains("boleto") || m.contains("ticket") {
        PaymentMethod::Boleto
    } else if m.contains("pix") {
        PaymentMethod::Pix
    } else if m.contains("card") || m.contains("cartão") || m.contains("cartao") {
        PaymentMethod::CreditCard
    } else {
        PaymentMethod::Other
    })
}

/// The buyer, cart and shipment shared by order and checkout resources.
fn read_resource(draft: &mut Draft, body: &Value) {
    for path in [
        "contact_phone",
        "customer.phone",
        "billing_phone",
        "shipping_address.phone",
        "shipping_phone",
        "customer.default_address.phone",
    ] {
        draft.phone(text(body, path));
    }
    let e = &mut draft.event;
    e.order_id = text(body, "id");
    e.customer.name = first_text(
        body,
        &[
            "contact_name",
            "customer.name",
            "billing_name",
            "shipping_address.name",
        ],
    );
    e.customer.email = first_text(body, &["contact_email", "customer.email"]);
    e.customer.document = first_text(body, &["contact_identification", "customer.identification"]);
    e.total_cents = reais(body, "total").or_else(|| reais(body, "price"));
    e.currency = text(body, "currency");
    e.occurred_at = timestamp(body, "updated_at").or_else(|| timestamp(body, "created_at"));
    e.payment.installments =
        int(body, "payment_details.installments").and_then(|n| u32::try_from(n).ok());
    e.shipping.tracking_code = text(body, "shipping_tracking_number");
    e.shipping.tracking_url = text(body, "shipping_tracking_url");
    e.shipping.carrier = e
        .shipping
        .tracking_code
        .as_ref()
        .and_then(|_| first_text(body, &["shipping_option", "shipping"]));
    e.utm = utm_from_url(text(body, "landing_site").as_deref());
    if let Some(Value::Array(items)) = at(body, "products") {
        e.products = items
            .iter()
            .filter_map(|item| {
                Some(Product {
                    // Names are plain strings in orders, per-language objects in some versions.
                    name: first_text(item, &["name", "name.pt", "name.es", "name.en"])?,
                    id: text(item, "product_id"),
                    quantity: int(item, "quantity").and_then(|q| u32::try_from(q).ok()),
                    price_cents: reais(item, "price"),
                    image_url: text(item, "image.src"),
                })
            })
            .collect();
    }
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(body: &Value) -> Draft {
        let raw = body.to_string();
        parse(&Request::new(raw.as_bytes(), &[], ""))
            .expect("readable")
            .remove(0)
    }

    #[test]
    fn nuvemshop_signature_is_hex_hmac_of_the_raw_body() {
        let body = br#"{"store_id":1,"event":"order/paid","id":2}"#;
        let sig = hex::encode(hmac_sha256(b"client-secret", body));
        let h = vec![("X-Linkedstore-HMAC-SHA256".to_owned(), sig)];
        assert_eq!(verify("client-secret", &Request::new(body, &h, "")), Ok(()));
        assert_eq!(
            verify("other", &Request::new(body, &h, "")),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify("client-secret", &Request::new(body, &[], "")),
            Err(SignatureError::Missing(_))
        ));
        let bad = vec![("X-Linkedstore-HMAC-SHA256".to_owned(), "zz".to_owned())];
        assert!(matches!(
            verify("client-secret", &Request::new(body, &bad, "")),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn nuvemshop_notification_events_map_to_kinds() {
        use EventKind::*;
        let table = [
            ("order/created", None),
            ("order/updated", None),
            ("order/paid", Some(OrderPaid)),
            ("order/packed", None),
            ("order/fulfilled", Some(OrderShipped)),
            ("order/cancelled", Some(OrderCanceled)),
            ("app/uninstalled", None),
            ("app/suspended", None),
            ("app/resumed", None),
            ("category/created", None),
            ("product/updated", None),
            ("domain/updated", None),
            ("theme/updated", None),
            ("store/redact", None),
            ("customers/redact", None),
            ("customers/data_request", None),
        ];
        for (event, kind) in table {
            let d = read(&json!({"store_id": 1, "event": event, "id": 42}));
            assert_eq!(d.event.kind, kind, "{event}");
            assert_eq!(d.event.order_id.is_some(), event.starts_with("order/"));
        }
    }

    #[test]
    fn nuvemshop_order_resource_is_read_by_its_state() {
        use EventKind::*;
        let table = [
            ("open", "paid", "unshipped", "Cartão", Some(OrderPaid)),
            ("open", "paid", "shipped", "Cartão", Some(OrderShipped)),
            (
                "open",
                "pending",
                "unshipped",
                "Boleto Bancário",
                Some(BoletoGenerated),
            ),
            ("open", "pending", "unshipped", "Pix", Some(PixGenerated)),
            ("open", "pending", "unshipped", "PayPal", None),
            (
                "cancelled",
                "voided",
                "unshipped",
                "Pix",
                Some(OrderCanceled),
            ),
            ("closed", "refunded", "shipped", "Pix", Some(OrderRefunded)),
            ("open", "abandoned", "unshipped", "Pix", None),
        ];
        for (status, payment, shipping, gateway, kind) in table {
            let d = read(
                &json!({"id": 1, "status": status, "payment_status": payment,
                "shipping_status": shipping, "gateway_name": gateway}),
            );
            assert_eq!(d.event.kind, kind, "{status}/{payment}/{shipping}");
        }
    }

    #[test]
    fn nuvemshop_odd_bodies_are_refused_or_read_without_panics() {
        let raw = json!({"store_id": 1}).to_string();
        let err = parse(&Request::new(raw.as_bytes(), &[], "")).expect_err("no event");
        assert!(err.to_string().contains("\"event\""));
        let d = read(&json!({"payment_status": ["paid"], "products": {"a": 1}, "total": true}));
        assert_eq!(d.event.kind, None);
        assert!(d.event.products.is_empty());
        assert_eq!(d.event.total_cents, None);
    }
}
