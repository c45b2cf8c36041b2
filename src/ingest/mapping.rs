//! Merchant-made mappings: how a store's deliveries become normalised events when no recogniser
//! knows them. A known platform's store maps only event names its recogniser leaves unmapped
//! (`kinds`); a `custom` store says where everything is (`event_field`, `fields`, the amount's
//! unit) and how its sender proves itself (`auth`). Pure: body in, readings out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::common::{Draft, body_value, list, text, timestamp};
use super::signature::{check_base64, check_hex, check_token, hmac_sha256};
use super::{Reading, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Platform, Product};

/// The longest path a mapping may name, and its deepest nesting.
const MAX_PATH_LEN: usize = 200;
const MAX_PATH_DEPTH: usize = 32;
/// The most event names and fields one mapping may hold.
const MAX_KINDS: usize = 200;

/// What a mapped event name becomes: a canonical kind, "awaiting payment" (boleto or PIX
/// generated, told apart by the event's own payment fields), or nothing ("ignorar").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Choice {
    Kind(EventKind),
    /// Platforms send one "waiting for payment" name for boleto and PIX alike (Lastlink's
    /// `Purchase_Request_Confirmed`, Cartpanda's `order.created`): the method decides.
    AwaitingPayment,
    Ignore,
}

impl Choice {
    /// The kind this choice gives an event read with it; `None` when it cannot tell.
    pub fn kind_for(self, event: &crate::domain::event::Event) -> Option<EventKind> {
        match self {
            Choice::Kind(kind) => Some(kind),
            Choice::Ignore => None,
            Choice::AwaitingPayment => {
                let p = &event.payment;
                match p.method {
                    Some(PaymentMethod::Boleto) => Some(EventKind::BoletoGenerated),
                    Some(PaymentMethod::Pix) => Some(EventKind::PixGenerated),
                    _ if p.boleto_url.is_some() || p.boleto_barcode.is_some() => {
                        Some(EventKind::BoletoGenerated)
                    }
                    _ if p.pix_code.is_some() || p.pix_qr_url.is_some() => {
                        Some(EventKind::PixGenerated)
                    }
                    _ => None,
                }
            }
        }
    }
}

impl TryFrom<String> for Choice {
    type Error = String;
    fn try_from(s: String) -> Result<Choice, String> {
        match s.as_str() {
            "ignore" => Ok(Choice::Ignore),
            "awaiting_payment" => Ok(Choice::AwaitingPayment),
            _ => EventKind::parse(&s).map(Choice::Kind).ok_or_else(|| {
                format!(
                    "unknown kind {s:?} (an avisa kind such as \"order.paid\", \"awaiting_payment\" or \"ignore\")"
                )
            }),
        }
    }
}

impl From<Choice> for String {
    fn from(c: Choice) -> String {
        match c {
            Choice::Kind(k) => k.as_str().to_owned(),
            Choice::AwaitingPayment => "awaiting_payment".to_owned(),
            Choice::Ignore => "ignore".to_owned(),
        }
    }
}

/// Whether the total is written in reais (`97.90`) or centavos (`9790`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AmountUnit {
    #[default]
    Reais,
    Cents,
}

/// How a `custom` store's sender proves itself; the secret is the store's (never in a mapping,
/// so an exported mapping carries none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// The secret itself, sent in this header.
    Header { header: String },
    /// HMAC-SHA256 of the raw body keyed with the secret, in this header: hex (`sha256=` allowed)
    /// or base64.
    HmacSha256 { header: String },
}

/// One store's mapping, as stored, exported and sent over the API.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Where the event name is (`custom` stores only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_field: String,
    /// Event name -> kind or "ignore".
    #[serde(default)]
    pub kinds: BTreeMap<String, Choice>,
    /// avisa field (`customer.phone`, `total`, …) -> path in the body (`custom` stores only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub amount_unit: AmountUnit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    /// Set by a preset built from a platform's documents, cleared when the merchant saves it
    /// after seeing a real event: "não verificado com um evento real".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unverified: bool,
}

/// The avisa fields a mapping can fill, in the order the mapping page shows them.
pub const FIELDS: [&str; 33] = [
    "customer.phone",
    "customer.name",
    "customer.email",
    "customer.document",
    "order_id",
    "event_id",
    "occurred_at",
    "total",
    "currency",
    "products.name",
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
    "subscription.next_charge_at",
    "access.url",
    "access.login",
    "utm.source",
    "utm.medium",
    "utm.campaign",
    "utm.content",
    "utm.term",
    "subscription.status",
];

/// Why a mapping cannot be saved. `field` names the offending key as the API spells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MappingError {
    /// A path that cannot name a place in a body (empty part, too long, a space).
    BadPath {
        field: String,
        path: String,
    },
    /// Not one of `FIELDS`.
    UnknownField(String),
    /// A known platform's recogniser reads the fields itself: only `kinds` may be sent.
    KindsOnly(Platform),
    /// A `custom` mapping must say where the event name is.
    NoEventField,
    /// An event name that is empty or too long.
    BadEventName(String),
    TooManyKinds,
    /// A header name that is not one (`auth`).
    BadHeader(String),
}

impl MappingError {
    /// A stable code, for the console's catalog.
    pub fn code(&self) -> &'static str {
        match self {
            MappingError::BadPath { .. } => "bad_path",
            MappingError::UnknownField(_) => "unknown_field",
            MappingError::KindsOnly(_) => "kinds_only",
            MappingError::NoEventField => "no_event_field",
            MappingError::BadEventName(_) => "bad_event_name",
            MappingError::TooManyKinds => "too_many_kinds",
            MappingError::BadHeader(_) => "bad_header",
        }
    }
}

impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MappingError::BadPath { field, path } => write!(
                f,
                "{field}: {path:?} is not a path (dotted names such as data.buyer.phone or items.0.name, or a form key)"
            ),
            MappingError::UnknownField(name) => write!(
                f,
                "{name:?} is not an avisa field (one of: {})",
                FIELDS.join(", ")
            ),
            MappingError::KindsOnly(p) => write!(
                f,
                "a {} store maps event names only (`kinds`): its recogniser reads the fields",
                p.label()
            ),
            MappingError::NoEventField => {
                f.write_str("event_field is required: the path of the event's name in the body")
            }
            MappingError::BadEventName(name) => {
                write!(
                    f,
                    "kinds: {name:?} is not an event name (empty or too long)"
                )
            }
            MappingError::TooManyKinds => write!(f, "kinds: at most {MAX_KINDS} event names"),
            MappingError::BadHeader(name) => write!(f, "auth: {name:?} is not a header name"),
        }
    }
}

impl std::error::Error for MappingError {}

/// Turns a form key (`data[buyer][phone]`) or a dotted path into the dotted form avisa stores.
/// Alternatives (`order.customer.phone | data.customer.phone`: the first that has a value
/// wins) are normalised one by one.
pub fn normalise_path(path: &str) -> String {
    if path.contains('|') {
        return path
            .split('|')
            .map(normalise_one)
            .collect::<Vec<_>>()
            .join("|");
    }
    normalise_one(path)
}

/// The alternatives a stored path names, in the order they are tried.
fn alternatives(path: &str) -> impl Iterator<Item = &str> {
    path.split('|').map(str::trim)
}

fn normalise_one(path: &str) -> String {
    let path = path.trim();
    if !path.contains('[') {
        return path.to_owned();
    }
    path.replace("][", ".")
        .replace(['[', ']'], ".")
        .trim_end_matches('.')
        .replace("..", ".")
}

fn check_path(field: &str, path: &str, wildcard: bool) -> Result<(), MappingError> {
    let bad = || MappingError::BadPath {
        field: field.to_owned(),
        path: path.to_owned(),
    };
    if path.len() > MAX_PATH_LEN {
        return Err(bad());
    }
    if alternatives(path).all(|one| valid_one(one, wildcard)) {
        Ok(())
    } else {
        Err(bad())
    }
}

fn valid_one(path: &str, wildcard: bool) -> bool {
    if path.is_empty() || path.chars().any(char::is_whitespace) {
        return false;
    }
    let parts: Vec<&str> = path.split('.').collect();
    parts.len() <= MAX_PATH_DEPTH
        && !parts.iter().any(|p| p.is_empty())
        && (wildcard || !parts.contains(&"*"))
}

impl Mapping {
    /// Checks a mapping for a store of `platform`, normalising form keys into dotted paths.
    pub fn validate(mut self, platform: Platform) -> Result<Mapping, MappingError> {
        if self.kinds.len() > MAX_KINDS {
            return Err(MappingError::TooManyKinds);
        }
        if let Some(name) = self
            .kinds
            .keys()
            .find(|n| n.trim().is_empty() || n.len() > MAX_PATH_LEN)
        {
            return Err(MappingError::BadEventName(name.clone()));
        }
        if platform != Platform::Custom {
            if !self.event_field.is_empty()
                || !self.fields.is_empty()
                || self.auth.is_some()
                || self.amount_unit != AmountUnit::Reais
            {
                return Err(MappingError::KindsOnly(platform));
            }
            return Ok(self);
        }
        self.event_field = normalise_path(&self.event_field);
        if self.event_field.is_empty() {
            return Err(MappingError::NoEventField);
        }
        check_path("event_field", &self.event_field, false)?;
        let mut fields = BTreeMap::new();
        for (field, path) in std::mem::take(&mut self.fields) {
            if !FIELDS.contains(&field.as_str()) {
                return Err(MappingError::UnknownField(field));
            }
            let path = normalise_path(&path);
            if path.is_empty() {
                continue;
            }
            check_path(&field, &path, field == "products.name")?;
            fields.insert(field, path);
        }
        self.fields = fields;
        if let Some(Auth::Header { header } | Auth::HmacSha256 { header }) = &mut self.auth {
            *header = header.trim().to_ascii_lowercase();
            let ok = !header.is_empty()
                && header.len() <= 100
                && header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(MappingError::BadHeader(header.clone()));
            }
        }
        Ok(self)
    }

    /// The kind a mapped name becomes, if the mapping names it.
    pub fn choice(&self, name: &str) -> Option<Choice> {
        self.kinds.get(name).copied()
    }
}

/// A value at a path: a whole form key first (`order.id` posted flat), then dotted walking;
/// of alternatives, the first that is there.
fn lookup<'v>(body: &'v Value, path: &str) -> Option<&'v Value> {
    alternatives(path).find_map(|one| {
        body.get(one)
            .filter(|v| !v.is_null())
            .or_else(|| super::common::at(body, one).filter(|v| !v.is_null()))
    })
}

fn read_text(body: &Value, path: &str) -> Option<String> {
    alternatives(path).find_map(|one| match lookup(body, one)? {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// Every value a `*` path reaches (`items.*.name`), or the one a plain path names; of
/// alternatives, the first that reaches any.
fn read_all(body: &Value, path: &str) -> Vec<String> {
    alternatives(path)
        .map(|one| read_all_one(body, one))
        .find(|found| !found.is_empty())
        .unwrap_or_default()
}

fn read_all_one(body: &Value, path: &str) -> Vec<String> {
    match path.split_once(".*") {
        Some((head, tail)) => {
            let tail = tail.trim_start_matches('.');
            list(body, head)
                .into_iter()
                .filter_map(|item| {
                    if tail.is_empty() {
                        text(item, "").or_else(|| item.as_str().map(str::to_owned))
                    } else {
                        read_all_one(item, tail).into_iter().next()
                    }
                })
                .collect()
        }
        None => read_text(body, path).into_iter().collect(),
    }
}

fn method(raw: &str) -> PaymentMethod {
    let raw = raw.to_lowercase();
    if raw.contains("boleto")
        || raw.contains("billet")
        || raw.contains("bank_slip")
        || raw.contains("bankslip")
    {
        PaymentMethod::Boleto
    } else if raw.contains("pix") {
        PaymentMethod::Pix
    } else if raw.contains("card") || raw.contains("cart") || raw.contains("credit") {
        PaymentMethod::CreditCard
    } else {
        PaymentMethod::Other
    }
}

/// Reads a `custom` store's delivery with its mapping (or none yet): every event is held as
/// unmapped until its name is mapped; a mapped one is read field by field.
pub fn recognise_custom(mapping: Option<&Mapping>, req: &Request) -> Vec<Reading> {
    let body = match body_value(req) {
        Ok(body) => body,
        Err(err) => return vec![Reading::invalid(err.code(), err.to_string())],
    };
    let empty = Mapping::default();
    let mapping = mapping.unwrap_or(&empty);
    let name = if mapping.event_field.is_empty() {
        String::new()
    } else {
        read_text(&body, &mapping.event_field).unwrap_or_default()
    };
    let draft = read_draft(mapping, &body, &name, req.body);
    vec![super::finish_mapped(
        Platform::Custom,
        draft,
        mapping.choice(&name),
    )]
}

fn read_draft(mapping: &Mapping, body: &Value, name: &str, raw: &[u8]) -> Draft {
    let mut draft = Draft::new(name);
    let field = |f: &str| mapping.fields.get(f).and_then(|path| read_text(body, path));
    let time = |f: &str| {
        let path = mapping.fields.get(f)?;
        alternatives(path).find_map(|one| timestamp(body, one))
    };
    // Without an id of the platform's, the same bytes are the same delivery (a retry).
    draft.delivery_id = field("event_id").or_else(|| {
        mapping
            .fields
            .is_empty()
            .then(|| hex::encode(&Sha256::digest(raw)[..16]))
    });
    let ev = &mut draft.event;
    ev.event_id = field("event_id");
    ev.order_id = field("order_id");
    ev.occurred_at = time("occurred_at");
    ev.customer.name = field("customer.name");
    ev.customer.email = field("customer.email");
    ev.customer.document = field("customer.document");
    ev.total_cents = mapping
        .fields
        .get("total")
        .and_then(|p| lookup(body, p))
        .and_then(|v| match mapping.amount_unit {
            AmountUnit::Reais => crate::domain::money::reais_to_cents(v),
            AmountUnit::Cents => crate::domain::money::cents(v),
        });
    ev.currency = field("currency").map(|c| c.to_ascii_uppercase());
    if let Some(path) = mapping.fields.get("products.name") {
        ev.products = read_all(body, path)
            .into_iter()
            .map(|name| Product {
                name,
                ..Product::default()
            })
            .collect();
    }
    let p = &mut ev.payment;
    p.method = field("payment.method").map(|m| method(&m));
    p.boleto_url = field("payment.boleto_url");
    p.boleto_barcode = field("payment.boleto_barcode");
    p.pix_code = field("payment.pix_code");
    p.pix_qr_url = field("payment.pix_qr_url");
    p.due_at = time("payment.due_at");
    p.checkout_url = field("payment.checkout_url");
    p.refusal_reason = field("payment.refusal_reason");
    p.installments = field("payment.installments").and_then(|n| n.parse().ok());
    ev.shipping.tracking_code = field("shipping.tracking_code");
    ev.shipping.tracking_url = field("shipping.tracking_url");
    ev.shipping.carrier = field("shipping.carrier");
    ev.subscription.id = field("subscription.id");
    ev.subscription.plan = field("subscription.plan");
    ev.subscription.status = field("subscription.status");
    ev.subscription.next_charge_at = time("subscription.next_charge_at");
    ev.access.url = field("access.url");
    ev.access.login = field("access.login");
    ev.utm.source = field("utm.source");
    ev.utm.medium = field("utm.medium");
    ev.utm.campaign = field("utm.campaign");
    ev.utm.content = field("utm.content");
    ev.utm.term = field("utm.term");
    let phone = field("customer.phone");
    draft.phone(phone);
    draft
}

/// Checks a `custom` store's delivery against its secret as the mapping's `auth` says.
pub fn verify_custom(
    mapping: Option<&Mapping>,
    secret: &str,
    req: &Request,
) -> Result<(), SignatureError> {
    match mapping.and_then(|m| m.auth.as_ref()) {
        None => Ok(()),
        Some(Auth::Header { header }) => check_token(req.header(header), secret, "token header"),
        Some(Auth::HmacSha256 { header }) => {
            let sent = req
                .header(header)
                .map(|s| s.trim().trim_start_matches("sha256="));
            let expected = hmac_sha256(secret.as_bytes(), req.body);
            // Platforms write the MAC in hex or in base64 (Yampi): 64 hex digits are hex.
            match sent {
                Some(s) if s.len() != 64 => check_base64(Some(s), &expected, "signature header"),
                _ => check_hex(sent, &expected, "signature header"),
            }
        }
    }
}

/// The reading's reason when the mapping does not know the event's name yet.
pub(super) fn unmapped_detail(platform: Platform, name: &str) -> String {
    if platform == Platform::Custom && name.is_empty() {
        "no mapping says where this platform's event name is yet".to_owned()
    } else {
        format!(
            "{} event \"{name}\" has no message kind in avisa",
            platform.label()
        )
    }
}
