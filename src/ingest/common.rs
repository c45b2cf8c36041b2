//! What every recogniser shares: reading the body (JSON or form), walking JSON by path without
//! trusting its types, setting the buyer's phone, and the dedup key.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{PhoneProblem, ReasonCode, Request};
use crate::domain::{Event, EventKind, Phone};

/// A platform's reading of one event, before `ingest` decides its status.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    pub event: Event,
    /// The raw phone that could not be made valid, and why.
    pub phone_error: Option<PhoneProblem>,
    /// The platform's own delivery/event id, when it has one that is stable across retries.
    pub delivery_id: Option<String>,
}

impl Draft {
    pub fn new(platform_event: impl Into<String>) -> Draft {
        Draft {
            event: Event {
                platform_event: platform_event.into(),
                ..Event::default()
            },
            ..Draft::default()
        }
    }

    /// Sets the buyer phone from a raw string; a damaged one is remembered for the reason.
    /// The first usable phone wins: call it with the best source first.
    pub fn phone(&mut self, raw: Option<String>) {
        if self.event.customer.phone.is_some() {
            return;
        }
        let Some(raw) = raw else { return };
        match Phone::parse(&raw) {
            Ok(phone) => {
                self.event.customer.phone = Some(phone);
                self.phone_error = None;
            }
            Err(err) => {
                if self.phone_error.is_none() {
                    self.phone_error = Some((raw, err));
                }
            }
        }
    }

    /// Sets the buyer phone from parts (country code, area code, number).
    pub fn phone_parts(
        &mut self,
        country: Option<String>,
        area: Option<String>,
        number: Option<String>,
    ) {
        if self.event.customer.phone.is_some() {
            return;
        }
        let Some(number) = number else { return };
        match Phone::from_parts(country.as_deref(), area.as_deref(), &number) {
            Ok(phone) => {
                self.event.customer.phone = Some(phone);
                self.phone_error = None;
            }
            Err(err) => {
                if self.phone_error.is_none() {
                    let raw = [country, area, Some(number)]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                    self.phone_error = Some((raw, err));
                }
            }
        }
    }
}

/// Why a body could not be read at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    NotUtf8,
    BadJson(String),
    BadForm(String),
    /// Readable, but not a shape this platform sends (e.g. a JSON array, no event name).
    UnknownShape(String),
}

impl ParseError {
    pub fn code(&self) -> ReasonCode {
        match self {
            ParseError::NotUtf8 => ReasonCode::NotUtf8,
            ParseError::BadJson(_) => ReasonCode::BadJson,
            ParseError::BadForm(_) => ReasonCode::BadForm,
            ParseError::UnknownShape(_) => ReasonCode::UnknownShape,
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::NotUtf8 => f.write_str("the body is not valid UTF-8 text"),
            ParseError::BadJson(e) => write!(f, "the body is not valid JSON: {e}"),
            ParseError::BadForm(e) => write!(f, "the form body cannot be read: {e}"),
            ParseError::UnknownShape(e) => write!(f, "unexpected body: {e}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// The deepest nesting avisa reads; deeper bodies are refused before parsing can blow the stack.
const MAX_DEPTH: usize = 64;

/// Reads the body as a JSON object, or as a form (`a=1&b[c]=2`) turned into nested objects.
/// Platforms that post forms (Monetizze, Eduzz legacy, WooCommerce's ping) go through here too.
pub fn body_value(req: &Request) -> Result<Value, ParseError> {
    let text = std::str::from_utf8(req.body).map_err(|_| ParseError::NotUtf8)?;
    let trimmed = text.trim_start();
    let is_form = req
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if trimmed.starts_with('{') || trimmed.starts_with('[') || !is_form && !looks_like_form(trimmed)
    {
        // Parsed first, then measured: serde_json's own recursion limit (128) keeps the parser's
        // stack safe, and walking the parsed tree costs far less than scanning every byte before.
        // A body that does not parse is scanned, so a deep one still says why.
        let value: Value = serde_json::from_str(text).map_err(|e| {
            check_depth(trimmed)
                .err()
                .unwrap_or_else(|| ParseError::BadJson(e.to_string()))
        })?;
        if deeper_than(&value, MAX_DEPTH) {
            return Err(too_deep());
        }
        if !value.is_object() {
            return Err(ParseError::UnknownShape(
                "the JSON body is not an object".into(),
            ));
        }
        return Ok(value);
    }
    parse_form(text)
}

fn looks_like_form(text: &str) -> bool {
    let first = text.split('&').next().unwrap_or_default();
    first.contains('=') && !first.contains(' ') && !first.contains('"')
}

fn too_deep() -> ParseError {
    ParseError::BadJson(format!("nested deeper than {MAX_DEPTH} levels"))
}

/// Whether `value` nests more than `levels` arrays or objects (the value itself counting one),
/// as `check_depth` counts them in the text.
fn deeper_than(value: &Value, levels: usize) -> bool {
    match value {
        Value::Array(items) => levels == 0 || items.iter().any(|v| deeper_than(v, levels - 1)),
        Value::Object(map) => levels == 0 || map.values().any(|v| deeper_than(v, levels - 1)),
        _ => false,
    }
}

fn check_depth(text: &str) -> Result<(), ParseError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(too_deep());
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Parses `a=1&b[c]=2&d[0][e]=3` into `{"a":"1","b":{"c":"2"},"d":{"0":{"e":"3"}}}`.
/// A field named `json` holding a JSON object (Monetizze) is merged in as parsed JSON.
fn parse_form(text: &str) -> Result<Value, ParseError> {
    let mut root = Map::new();
    for (key, value) in form_urlencoded::parse(text.trim().as_bytes()) {
        let mut path: Vec<String> = Vec::new();
        let (head, mut rest) = match key.find('[') {
            Some(i) => (&key[..i], &key[i..]),
            None => (&key[..], ""),
        };
        path.push(head.to_owned());
        while let Some(stripped) = rest.strip_prefix('[') {
            let end = stripped.find(']').ok_or_else(|| {
                ParseError::BadForm(format!("unbalanced brackets in key {key:?}"))
            })?;
            path.push(stripped[..end].to_owned());
            rest = &stripped[end + 1..];
        }
        if path.len() > MAX_DEPTH {
            return Err(ParseError::BadForm("form keys nested too deep".into()));
        }
        insert_path(&mut root, &path, Value::String(value.into_owned()));
    }
    if root.is_empty() {
        return Err(ParseError::BadForm("no fields".into()));
    }
    if let Some(Value::String(json)) = root.get("json")
        && let Ok(Value::Object(inner)) = serde_json::from_str::<Value>(json)
    {
        for (k, v) in inner {
            root.entry(k).or_insert(v);
        }
    }
    Ok(Value::Object(root))
}

fn insert_path(map: &mut Map<String, Value>, path: &[String], value: Value) {
    let (first, rest) = path
        .split_first()
        .expect("a form key has at least one part");
    let key = if first.is_empty() {
        map.len().to_string()
    } else {
        first.clone()
    };
    if rest.is_empty() {
        map.insert(key, value);
        return;
    }
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(inner) = slot {
        insert_path(inner, rest, value);
    }
}

/// Walks a dotted path (`data.buyer.name`; numeric parts index arrays).
pub fn at<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let mut current = value;
    for part in path.split('.') {
        current = match current {
            Value::Object(map) => map.get(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    if current.is_null() {
        None
    } else {
        Some(current)
    }
}

/// A non-empty trimmed string at `path`; numbers and booleans are written out, objects are not.
pub fn text(value: &Value, path: &str) -> Option<String> {
    match at(value, path)? {
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        }
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The first path that yields text.
pub fn first_text(value: &Value, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| text(value, p))
}

/// An integer at `path`, from a number or a numeric string.
pub fn int(value: &Value, path: &str) -> Option<i64> {
    match at(value, path)? {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An amount in reais at `path`, as cents.
pub fn reais(value: &Value, path: &str) -> Option<i64> {
    crate::domain::money::reais_to_cents(at(value, path)?)
}

/// An amount already in cents at `path`.
pub fn cents(value: &Value, path: &str) -> Option<i64> {
    crate::domain::money::cents(at(value, path)?)
}

/// Reads a timestamp in the shapes platforms use (RFC 3339, `YYYY-MM-DD HH:MM:SS` in Brasília
/// time, Unix seconds or milliseconds) as RFC 3339 UTC. Dates alone stay `YYYY-MM-DD`.
pub fn timestamp(value: &Value, path: &str) -> Option<String> {
    match at(value, path)? {
        Value::Number(n) => unix_to_rfc3339(n.as_i64()?),
        Value::String(s) => parse_time_str(s.trim()),
        _ => None,
    }
}

fn unix_to_rfc3339(n: i64) -> Option<String> {
    // Milliseconds since 1970 are 13 digits today; seconds are 10.
    let secs = if n.abs() >= 100_000_000_000 {
        n / 1000
    } else {
        n
    };
    if secs <= 0 {
        return None;
    }
    jiff::Timestamp::from_second(secs)
        .ok()
        .map(|t| t.to_string())
}

fn parse_time_str(s: &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t.to_string());
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return unix_to_rfc3339(s.parse().ok()?);
    }
    let civil = s.replace('T', " ");
    let civil = civil.split('.').next().unwrap_or_default();
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
    ] {
        if let Ok(dt) = jiff::civil::DateTime::strptime(fmt, civil) {
            // Brazilian platforms write local times without an offset: Brasília time.
            return dt
                .to_zoned(jiff::tz::TimeZone::get("America/Sao_Paulo").ok()?)
                .ok()
                .map(|z| z.timestamp().to_string());
        }
    }
    for fmt in ["%Y-%m-%d", "%d/%m/%Y"] {
        if let Ok(d) = jiff::civil::Date::strptime(fmt, s) {
            return Some(d.to_string());
        }
    }
    None
}

/// `dedup_key`: the platform's delivery id where it has one, else a hash of the facts that make
/// two deliveries "the same event".
pub fn dedup_key(event: &Event, delivery_id: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    let mut feed = |part: &str| {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    };
    feed(&event.platform);
    match delivery_id {
        Some(id) => {
            feed("id");
            feed(id);
        }
        None => {
            feed(
                event
                    .kind
                    .as_ref()
                    .map(EventKind::as_str)
                    .unwrap_or(&event.platform_event),
            );
            feed(event.order_id.as_deref().unwrap_or_default());
            feed(
                event
                    .customer
                    .phone
                    .as_ref()
                    .map(|p| p.as_str())
                    .unwrap_or_default(),
            );
            feed(event.customer.email.as_deref().unwrap_or_default());
            let p = &event.payment;
            for fact in [
                &p.boleto_barcode,
                &p.pix_code,
                &p.refusal_reason,
                &event.shipping.tracking_code,
            ] {
                feed(fact.as_deref().unwrap_or_default());
            }
            feed(&event.total_cents.map(|c| c.to_string()).unwrap_or_default());
            if event.order_id.is_none() {
                // Without an order id, products tell two carts apart.
                for product in &event.products {
                    feed(&product.name);
                }
            }
            // A custom kind has no order to tell two apart: its time and variables do (two
            // lives, two birthdays). Canonical kinds' keys stay as they were stored.
            if event.kind.is_some_and(|k| k.custom().is_some()) {
                feed(event.occurred_at.as_deref().unwrap_or_default());
                for (name, value) in &event.vars {
                    feed(name);
                    feed(value);
                }
            }
        }
    }
    hex::encode(&hasher.finalize()[..16])
}

/// The elements of a list at `path`: a JSON array, or the numeric-keyed object a form body makes
/// of one (`items[0][name]=…` reads as `{"0": {"name": …}}`), in key order. Anything else is empty.
pub fn list<'v>(value: &'v Value, path: &str) -> Vec<&'v Value> {
    match at(value, path) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Object(map)) if map.keys().all(|k| k.parse::<usize>().is_ok()) => {
            let mut entries: Vec<(usize, &Value)> = map
                .iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
                .collect();
            entries.sort_by_key(|(i, _)| *i);
            entries.into_iter().map(|(_, v)| v).collect()
        }
        _ => Vec::new(),
    }
}

/// UTM tags from a landing page URL's query string (`https://loja/?utm_source=ig&utm_campaign=bf`),
/// as stores record it on orders (Shopify and Nuvemshop `landing_site`).
pub fn utm_from_url(url: Option<&str>) -> crate::domain::Utm {
    let mut utm = crate::domain::Utm::default();
    let Some((_, query)) = url.and_then(|u| u.split_once('?')) else {
        return utm;
    };
    let query = query.split('#').next().unwrap_or_default();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        let slot = match key.as_ref() {
            "utm_source" => &mut utm.source,
            "utm_medium" => &mut utm.medium,
            "utm_campaign" => &mut utm.campaign,
            "utm_content" => &mut utm.content,
            "utm_term" => &mut utm.term,
            _ => continue,
        };
        if slot.is_none() {
            *slot = value;
        }
    }
    utm
}

/// The kind an event name has in a recogniser's table (`None`: a known name with no kind, or a
/// name the table does not list).
pub fn table_kind(
    table: &[(&str, Option<crate::domain::EventKind>)],
    name: &str,
) -> Option<crate::domain::EventKind> {
    table.iter().find(|(n, _)| *n == name).and_then(|(_, k)| *k)
}

/// UTM tags stored flat on an object (`utm_source`, `utm_medium`, …), as most checkouts send them.
pub fn utm_flat(value: &Value) -> crate::domain::Utm {
    crate::domain::Utm {
        source: text(value, "utm_source"),
        medium: text(value, "utm_medium"),
        campaign: text(value, "utm_campaign"),
        content: text(value, "utm_content"),
        term: text(value, "utm_term"),
    }
}

/// An e-mail address, or nothing: placeholders and obfuscated copies ("[email protected]",
/// "teste") are not addresses.
pub fn email(value: &Value, path: &str) -> Option<String> {
    text(value, path).filter(|e| e.contains('@') && !e.contains(' '))
}

#[cfg(test)]
#[path = "common_tests.rs"]
mod tests;
