//! The variables a message template can use: the normalised event plus the store's buyer-facing
//! name, with every variable always present (absent facts are empty strings), and which ones
//! matter for each kind (the editor lists those).
//!
//! The store's nickname (apelido) is the merchant's alone and is never in the context:
//! `store.public_name` is the name buyers read, and `store.name`, which templates written before
//! it existed use, renders that same buyer-facing name.

use minijinja::{Value, context};

use crate::domain::{Event, EventKind};

/// Every variable, dotted. Order is the editor's.
pub const VARIABLES: &[&str] = &[
    "saudacao",
    "customer.name",
    "customer.first_name",
    "customer.phone",
    "customer.email",
    "customer.document",
    "store.public_name",
    "order_id",
    "products",
    "product_names",
    "total_cents",
    "currency",
    "platform",
    "kind",
    "payment.method",
    "payment.boleto_url",
    "payment.boleto_barcode",
    "payment.pix_code",
    "payment.pix_qr_url",
    "payment.due_at",
    "payment.checkout_url",
    "payment.refusal_reason",
    "payment.installments",
    "shipping.tracking_code",
    "shipping.tracking_url",
    "shipping.carrier",
    "subscription.id",
    "subscription.plan",
    "subscription.status",
    "subscription.next_charge_at",
    "access.url",
    "access.login",
    "utm.source",
    "utm.medium",
    "utm.campaign",
];

/// Names a template may use: the schema, its top-level objects, and loop variables' fields.
pub(super) fn is_known(name: &str) -> bool {
    VARIABLES.contains(&name)
        // Older templates' name for the store; it renders the buyer-facing name.
        || name == "store.name"
        // The text of a send API request (`api.send`'s shipped template); empty elsewhere.
        || name == "mensagem"
        || [
            "customer",
            "store",
            "payment",
            "shipping",
            "subscription",
            "access",
            "utm",
        ]
        .contains(&name)
        || name.starts_with("products.")
}

/// The variables worth listing for a kind: the buyer, the order, and that kind's own facts.
pub fn variables_for(kind: EventKind) -> Vec<&'static str> {
    let common = [
        "saudacao",
        "customer.first_name",
        "customer.name",
        "store.public_name",
        "order_id",
        "product_names",
        "total_cents",
    ];
    let specific: &[&str] = match kind {
        EventKind::CheckoutAbandoned => &["payment.checkout_url"],
        EventKind::BoletoGenerated | EventKind::PaymentOverdue => &[
            "payment.boleto_url",
            "payment.boleto_barcode",
            "payment.due_at",
            "payment.pix_code",
            "payment.checkout_url",
        ],
        EventKind::PixGenerated => &["payment.pix_code", "payment.pix_qr_url", "payment.due_at"],
        EventKind::PaymentRefused => &[
            "payment.refusal_reason",
            "payment.checkout_url",
            "payment.method",
        ],
        EventKind::PaymentExpired | EventKind::PaymentInReview => {
            &["payment.method", "payment.checkout_url"]
        }
        EventKind::OrderPaid | EventKind::OrderCompleted => &[
            "payment.method",
            "payment.installments",
            "access.url",
            "access.login",
        ],
        EventKind::OrderCanceled | EventKind::OrderRefunded | EventKind::OrderChargeback => {
            &["payment.method"]
        }
        EventKind::OrderShipped
        | EventKind::ShippingOutForDelivery
        | EventKind::ShippingAwaitingPickup
        | EventKind::ShippingDelivered
        | EventKind::ShippingProblem => &[
            "shipping.tracking_code",
            "shipping.tracking_url",
            "shipping.carrier",
        ],
        EventKind::SubscriptionStarted
        | EventKind::SubscriptionRenewed
        | EventKind::SubscriptionOverdue
        | EventKind::SubscriptionCanceled => &[
            "subscription.plan",
            "subscription.next_charge_at",
            "payment.checkout_url",
            "access.url",
        ],
        EventKind::AccessGranted => &["access.url", "access.login"],
        EventKind::ApiSend => &["mensagem"],
        // A custom kind's own variables (`vars.<name>`) are in its definition: the editor adds
        // them (`http::console::templates`).
        EventKind::Custom(_) => &[],
    };
    common.iter().chain(specific).copied().collect()
}

/// `saudacao`: "Olá, Ana" with the buyer's first name, or "Olá" without one, so a template
/// reads as text (`{{ saudacao }}! Seu pedido…`) instead of an `{% if %}` around the name.
fn greeting(event: &Event) -> String {
    let c = &event.customer;
    let first = c
        .first_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .or_else(|| c.name.as_deref().and_then(|n| n.split_whitespace().next()));
    match first {
        Some(name) => format!("Olá, {name}"),
        None => "Olá".to_owned(),
    }
}

fn s(value: &Option<String>) -> Value {
    Value::from(value.clone().unwrap_or_default())
}

/// The rendering context of an event: every variable present.
pub fn message_context(event: &Event, public_name: &str) -> Value {
    let c = &event.customer;
    let p = &event.payment;
    let products: Vec<Value> = event
        .products
        .iter()
        .map(|pr| {
            context! {
                name => pr.name.clone(),
                quantity => pr.quantity.unwrap_or(1),
                price_cents => pr.price_cents.map(Value::from).unwrap_or_else(|| Value::from("")),
            }
        })
        .collect();
    let product_names = event
        .products
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    context! {
        saudacao => greeting(event),
        customer => context! {
            name => s(&c.name),
            first_name => s(&c.first_name),
            phone => c.phone.as_ref().map(|p| p.to_string()).unwrap_or_default(),
            email => s(&c.email),
            document => s(&c.document),
        },
        store => context! { public_name => public_name, name => public_name },
        order_id => s(&event.order_id),
        products => products,
        product_names => product_names,
        total_cents => event.total_cents.map(Value::from).unwrap_or_else(|| Value::from("")),
        currency => event.currency.clone().unwrap_or_else(|| "BRL".into()),
        platform => event.platform.clone(),
        kind => event.kind.as_ref().map(EventKind::as_str).unwrap_or_default(),
        payment => context! {
            method => p.method.map(|m| serde_json::to_value(m).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()).unwrap_or_default(),
            boleto_url => s(&p.boleto_url),
            boleto_barcode => s(&p.boleto_barcode),
            pix_code => s(&p.pix_code),
            pix_qr_url => s(&p.pix_qr_url),
            due_at => s(&p.due_at),
            checkout_url => s(&p.checkout_url),
            refusal_reason => s(&p.refusal_reason),
            installments => p.installments.map(Value::from).unwrap_or_else(|| Value::from("")),
        },
        shipping => context! {
            tracking_code => s(&event.shipping.tracking_code),
            tracking_url => s(&event.shipping.tracking_url),
            carrier => s(&event.shipping.carrier),
        },
        subscription => context! {
            id => s(&event.subscription.id),
            plan => s(&event.subscription.plan),
            status => s(&event.subscription.status),
            next_charge_at => s(&event.subscription.next_charge_at),
        },
        access => context! { url => s(&event.access.url), login => s(&event.access.login) },
        mensagem => s(&event.text),
        utm => context! {
            source => s(&event.utm.source),
            medium => s(&event.utm.medium),
            campaign => s(&event.utm.campaign),
        },
    }
}
