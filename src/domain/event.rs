//! The normalised event: one vocabulary of kinds for every platform (DESIGN.md).

use serde::{Deserialize, Serialize};

use super::phone::Phone;

/// The closed set of canonical event kinds. A new kind is a design change made in DESIGN.md first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "checkout.abandoned")]
    CheckoutAbandoned,
    #[serde(rename = "boleto.generated")]
    BoletoGenerated,
    #[serde(rename = "pix.generated")]
    PixGenerated,
    #[serde(rename = "payment.in_review")]
    PaymentInReview,
    #[serde(rename = "payment.refused")]
    PaymentRefused,
    #[serde(rename = "payment.overdue")]
    PaymentOverdue,
    #[serde(rename = "payment.expired")]
    PaymentExpired,
    #[serde(rename = "order.paid")]
    OrderPaid,
    #[serde(rename = "order.completed")]
    OrderCompleted,
    #[serde(rename = "order.canceled")]
    OrderCanceled,
    #[serde(rename = "order.refunded")]
    OrderRefunded,
    #[serde(rename = "order.chargeback")]
    OrderChargeback,
    #[serde(rename = "order.shipped")]
    OrderShipped,
    #[serde(rename = "shipping.out_for_delivery")]
    ShippingOutForDelivery,
    #[serde(rename = "shipping.awaiting_pickup")]
    ShippingAwaitingPickup,
    #[serde(rename = "shipping.delivered")]
    ShippingDelivered,
    #[serde(rename = "shipping.problem")]
    ShippingProblem,
    #[serde(rename = "subscription.started")]
    SubscriptionStarted,
    #[serde(rename = "subscription.renewed")]
    SubscriptionRenewed,
    #[serde(rename = "subscription.overdue")]
    SubscriptionOverdue,
    #[serde(rename = "subscription.canceled")]
    SubscriptionCanceled,
    #[serde(rename = "access.granted")]
    AccessGranted,
    /// A message someone asked for through the send API (`POST /api/v1/messages`): its text is
    /// the event's `text`. Not a platform's kind: no recogniser produces it, the templates page
    /// does not list it, and it is not in [`EventKind::ALL`].
    #[serde(rename = "api.send")]
    ApiSend,
}

impl EventKind {
    /// Every kind, in the order of DESIGN.md's table.
    pub const ALL: [EventKind; 22] = [
        EventKind::CheckoutAbandoned,
        EventKind::BoletoGenerated,
        EventKind::PixGenerated,
        EventKind::PaymentInReview,
        EventKind::PaymentRefused,
        EventKind::PaymentOverdue,
        EventKind::PaymentExpired,
        EventKind::OrderPaid,
        EventKind::OrderCompleted,
        EventKind::OrderCanceled,
        EventKind::OrderRefunded,
        EventKind::OrderChargeback,
        EventKind::OrderShipped,
        EventKind::ShippingOutForDelivery,
        EventKind::ShippingAwaitingPickup,
        EventKind::ShippingDelivered,
        EventKind::ShippingProblem,
        EventKind::SubscriptionStarted,
        EventKind::SubscriptionRenewed,
        EventKind::SubscriptionOverdue,
        EventKind::SubscriptionCanceled,
        EventKind::AccessGranted,
    ];

    /// The stable wire name, e.g. `boleto.generated`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CheckoutAbandoned => "checkout.abandoned",
            EventKind::BoletoGenerated => "boleto.generated",
            EventKind::PixGenerated => "pix.generated",
            EventKind::PaymentInReview => "payment.in_review",
            EventKind::PaymentRefused => "payment.refused",
            EventKind::PaymentOverdue => "payment.overdue",
            EventKind::PaymentExpired => "payment.expired",
            EventKind::OrderPaid => "order.paid",
            EventKind::OrderCompleted => "order.completed",
            EventKind::OrderCanceled => "order.canceled",
            EventKind::OrderRefunded => "order.refunded",
            EventKind::OrderChargeback => "order.chargeback",
            EventKind::OrderShipped => "order.shipped",
            EventKind::ShippingOutForDelivery => "shipping.out_for_delivery",
            EventKind::ShippingAwaitingPickup => "shipping.awaiting_pickup",
            EventKind::ShippingDelivered => "shipping.delivered",
            EventKind::ShippingProblem => "shipping.problem",
            EventKind::SubscriptionStarted => "subscription.started",
            EventKind::SubscriptionRenewed => "subscription.renewed",
            EventKind::SubscriptionOverdue => "subscription.overdue",
            EventKind::SubscriptionCanceled => "subscription.canceled",
            EventKind::AccessGranted => "access.granted",
            EventKind::ApiSend => "api.send",
        }
    }

    /// The shipping family: a physical parcel on its way.
    pub fn is_shipping(self) -> bool {
        matches!(
            self,
            EventKind::OrderShipped
                | EventKind::ShippingOutForDelivery
                | EventKind::ShippingAwaitingPickup
                | EventKind::ShippingDelivered
                | EventKind::ShippingProblem
        )
    }

    /// Parses a wire name back into a kind.
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the buyer paid or is paying.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Boleto,
    Pix,
    CreditCard,
    Other,
}

/// One webhook, recognised and normalised. Absent facts are `None` (absent keys in JSON).
///
/// `kind` is `None` when the platform is known but the event name is not (unmapped).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub platform: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<EventKind>,
    pub platform_event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// RFC 3339 timestamp, UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<String>,
    #[serde(default, skip_serializing_if = "Customer::is_empty")]
    pub customer: Customer,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<Product>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_cents: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Payment::is_empty")]
    pub payment: Payment,
    #[serde(default, skip_serializing_if = "Shipping::is_empty")]
    pub shipping: Shipping,
    #[serde(default, skip_serializing_if = "Subscription::is_empty")]
    pub subscription: Subscription,
    #[serde(default, skip_serializing_if = "Access::is_empty")]
    pub access: Access,
    #[serde(default, skip_serializing_if = "Utm::is_empty")]
    pub utm: Utm,
    /// Stable key for "the same platform, the same data, the same buyer". Filled by `ingest`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dedup_key: String,
    /// The text asked for through the send API (`api.send`): its template prints it as is.
    /// No recogniser fills it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// When the send API asked the message to go out (Unix seconds); absent: at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<i64>,
}

macro_rules! all_none {
    ($self:ident, $($field:ident),+) => { true $(&& $self.$field.is_none())+ };
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
}

impl Customer {
    pub fn is_empty(&self) -> bool {
        all_none!(self, name, first_name, phone, email, document)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_cents: Option<i64>,
    /// The product's picture, when the platform sends one (a cart reminder's `#imagem`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<PaymentMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boleto_url: Option<String>,
    /// A link the platform says is the boleto as a PDF (`boleto_url` is often a web page), for
    /// a `#documento` part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boleto_pdf_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boleto_barcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pix_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pix_qr_url: Option<String>,
    /// RFC 3339 timestamp or a `YYYY-MM-DD` date, as precise as the platform sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installments: Option<u32>,
}

impl Payment {
    pub fn is_empty(&self) -> bool {
        all_none!(
            self,
            method,
            boleto_url,
            boleto_pdf_url,
            boleto_barcode,
            pix_code,
            pix_qr_url,
            due_at,
            checkout_url,
            refusal_reason,
            installments
        )
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Shipping {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
}

impl Shipping {
    pub fn is_empty(&self) -> bool {
        all_none!(self, tracking_code, tracking_url, carrier)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_charge_at: Option<String>,
}

impl Subscription {
    pub fn is_empty(&self) -> bool {
        all_none!(self, id, plan, status, next_charge_at)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Access {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
}

impl Access {
    pub fn is_empty(&self) -> bool {
        all_none!(self, url, login)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Utm {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
}

impl Utm {
    pub fn is_empty(&self) -> bool {
        all_none!(self, source, medium, campaign, content, term)
    }
}

/// The first word of a name, for friendly greetings ("Olá, Ana!").
pub fn first_name(full: &str) -> Option<String> {
    full.split_whitespace().next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_wire_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).expect("kind serialises");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }

    #[test]
    fn empty_blocks_are_absent_keys() {
        let event = Event {
            platform: "api".into(),
            platform_event: "x".into(),
            ..Event::default()
        };
        let json = serde_json::to_value(&event).expect("event serialises");
        assert_eq!(
            json,
            serde_json::json!({"platform": "api", "platform_event": "x"})
        );
    }
}
