//! The variables a message template can use: the normalised event plus the store's buyer-facing
//! name, with every variable always present (absent facts are empty strings), and which ones
//! matter for each kind (the editor lists those).
//!
//! The store's nickname (apelido) is the merchant's alone and is never in the context:
//! `store.public_name` is the name buyers read, and `store.name`, which templates written before
//! it existed use, renders that same buyer-facing name.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::context;
use minijinja::value::{Object, Value};

use crate::domain::custom_kind::is_var_name;
use crate::domain::{Event, EventKind};

/// `vars`: a custom kind's free variables. Like every other variable, one the event did not
/// carry renders empty instead of failing: an automation that leaves out `vars.cupom` sends the
/// message without it, as a platform that leaves out the boleto URL does.
#[derive(Debug)]
struct Vars(BTreeMap<String, String>);

impl Object for Vars {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        Some(Value::from(self.0.get(name).cloned().unwrap_or_default()))
    }
}

/// The `vars.<name>` a template source names, sorted; what the editor checks
/// against the names a custom kind declares. Unparsable sources give none (the syntax check
/// reports those).
pub fn vars_used(source: &str) -> Vec<String> {
    let env = minijinja::Environment::new();
    let Ok(template) = env.template_from_str(source) else {
        return Vec::new();
    };
    let mut used: Vec<String> = template
        .undeclared_variables(true)
        .into_iter()
        .filter_map(|name| name.strip_prefix("vars.").map(str::to_owned))
        .collect();
    used.sort();
    used
}

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
    "product_image_url",
    "total_cents",
    "currency",
    "platform",
    "kind",
    "payment.method",
    "payment.boleto_url",
    "payment.boleto_pdf_url",
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
        // A custom kind's free variables: any name renders (empty when absent); the editor
        // refuses names the kind does not declare (`unknown_vars`).
        || name == "vars"
        || name.strip_prefix("vars.").is_some_and(is_var_name)
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
        EventKind::CheckoutAbandoned => &["payment.checkout_url", "product_image_url"],
        EventKind::BoletoGenerated | EventKind::PaymentOverdue => &[
            "payment.boleto_url",
            "payment.boleto_pdf_url",
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
                image_url => pr.image_url.clone().unwrap_or_default(),
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
        // The first product picture the platform sent: a cart reminder's `#imagem`.
        product_image_url => event.products.iter().find_map(|p| p.image_url.clone()).unwrap_or_default(),
        total_cents => event.total_cents.map(Value::from).unwrap_or_else(|| Value::from("")),
        currency => event.currency.clone().unwrap_or_else(|| "BRL".into()),
        platform => event.platform.clone(),
        kind => event.kind.as_ref().map(EventKind::as_str).unwrap_or_default(),
        payment => context! {
            method => p.method.map(|m| serde_json::to_value(m).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()).unwrap_or_default(),
            boleto_url => s(&p.boleto_url),
            boleto_pdf_url => s(&p.boleto_pdf_url),
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
        vars => Value::from_object(Vars(event.vars.clone())),
        utm => context! {
            source => s(&event.utm.source),
            medium => s(&event.utm.medium),
            campaign => s(&event.utm.campaign),
        },
    }
}
