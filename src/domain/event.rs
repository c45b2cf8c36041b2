//! The normalised event: one vocabulary of kinds for every platform (DESIGN.md).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::custom_kind::CustomKind;
use super::phone::Phone;

/// The closed set of canonical event kinds (a new one is a design change made in DESIGN.md
/// first), the send API's `api.send`, and the merchant's own kinds (`custom.<name>`).
///
/// Stored and sent as its wire name (`boleto.generated`, `custom.aniversario`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    CheckoutAbandoned,
    BoletoGenerated,
    PixGenerated,
    PaymentInReview,
    PaymentRefused,
    PaymentOverdue,
    PaymentExpired,
    OrderPaid,
    OrderCompleted,
    OrderCanceled,
    OrderRefunded,
    OrderChargeback,
    OrderShipped,
    ShippingOutForDelivery,
    ShippingAwaitingPickup,
    ShippingDelivered,
    ShippingProblem,
    SubscriptionStarted,
    SubscriptionRenewed,
    SubscriptionOverdue,
    SubscriptionCanceled,
    AccessGranted,
    /// A message someone asked for through the send API (`POST /api/v1/messages`): its text is
    /// the event's `text`. Not a platform's kind: no recogniser produces it, the templates page
    /// does not list it, and it is not in [`EventKind::ALL`].
    ApiSend,
    /// A kind the merchant created (post-sale: "Aniversário", "Aviso de live"): sent through
    /// the `api` platform or the send API with free variables (`Event::vars`). Never part of the
    /// happy path; caps, opt-out, quiet hours and pacing apply. Not in [`EventKind::ALL`].
    Custom(CustomKind),
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

    /// The wire name with a `'static` lifetime: canonical kinds and `api.send` have one; a
    /// custom kind's name lives in the value itself, so it has none (use [`EventKind::as_str`]).
    pub fn static_str(self) -> Option<&'static str> {
        Some(match self {
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
            EventKind::Custom(_) => return None,
        })
    }

    /// The stable wire name, e.g. `boleto.generated`, `custom.aniversario`.
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::Custom(custom) => custom.wire(),
            canonical => canonical
                .static_str()
                .expect("every kind but a custom one has a static name"),
        }
    }

    /// The merchant's own kind, if it is one.
    pub fn custom(self) -> Option<CustomKind> {
        match self {
            EventKind::Custom(custom) => Some(custom),
            _ => None,
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

    /// Parses a canonical kind's wire name (what platforms' mappings and filters offer).
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Parses a canonical kind or a custom one (`custom.<name>`), whether or not the merchant
    /// created it: the caller checks that against the data file.
    pub fn parse_with_custom(s: &str) -> Option<EventKind> {
        EventKind::parse(s).or_else(|| CustomKind::parse(s).map(EventKind::Custom))
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        match wire.as_ref() {
            "api.send" => Ok(EventKind::ApiSend),
            other => EventKind::parse_with_custom(other)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown event kind `{other}`"))),
        }
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
    /// A custom kind's free variables (`vars.<name>` in its templates), as sent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
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
    fn custom_kinds_round_trip_and_unknown_names_are_refused() {
        let kind = EventKind::parse_with_custom("custom.aviso-de-live").expect("a custom kind");
        assert_eq!(kind.as_str(), "custom.aviso-de-live");
        assert_eq!(
            kind.custom().map(|c| c.name().to_owned()),
            Some("aviso-de-live".into())
        );
        let json = serde_json::to_string(&kind).expect("kind serialises");
        assert_eq!(json, "\"custom.aviso-de-live\"");
        assert_eq!(serde_json::from_str::<EventKind>(&json).ok(), Some(kind));
        assert_eq!(
            serde_json::from_str::<EventKind>("\"api.send\"").ok(),
            Some(EventKind::ApiSend)
        );
        // Canonical-only parsing (mappings, filters) does not take custom names.
        assert_eq!(EventKind::parse("custom.aviso-de-live"), None);
        for bad in ["\"custom.\"", "\"custom.Niver\"", "\"boleto\"", "7"] {
            assert!(serde_json::from_str::<EventKind>(bad).is_err(), "{bad}");
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
