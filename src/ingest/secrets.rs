//! Store secrets that platforms put in the delivery itself (Ticto's and PerfectPay's `token`,
//! Guru's `api_token`, Monetizze's `chave_unica`, Braip's `basic_authentication`, Hotmart's body
//! `hottok`, Greenn's `token`, Eduzz's `origin`…): masked wherever a raw delivery is shown, to
//! everyone. The stored bytes stay as received (dedup, re-reading and exports need them); only
//! the view changes. Headers that carry credentials are never stored at all (`http::webhook`).

use std::borrow::Cow;

use serde_json::Value;

/// What a masked value reads as.
pub const MASK: &str = "••••••";

/// Field names that hold a credential on some platform (compared without case).
const SECRET_FIELDS: &[&str] = &[
    "token",
    "webhook_token",
    "api_token",
    "hottok",
    "chave_unica",
    "basic_authentication",
    "origin_secret",
    "api_key",
    "apikey",
    "access_token",
    "secret",
    "password",
    "senha",
];

/// Fields that are a credential only on one platform (elsewhere they mean something harmless).
fn platform_fields(platform: &str) -> &'static [&'static str] {
    match platform {
        "eduzz" => &["origin"],
        // PayT's static key travels in the body; Efí's secret in the URL's query.
        "payt" => &["integration_key"],
        "efi" => &["hmac"],
        _ => &[],
    }
}

fn is_secret(platform: &str, name: &str) -> bool {
    // `venda[chave_unica]` in a form body names the field `chave_unica`.
    let name = name
        .rsplit('[')
        .next()
        .unwrap_or(name)
        .trim_end_matches(']');
    SECRET_FIELDS
        .iter()
        .chain(platform_fields(platform))
        .any(|f| f.eq_ignore_ascii_case(name))
}

/// The body as a raw view shows it: JSON or form bodies with their secret fields masked; any
/// other body (or one without secrets) as it is.
pub fn mask_body<'a>(platform: &str, body: &'a [u8]) -> Cow<'a, [u8]> {
    if let Ok(mut value) = serde_json::from_slice::<Value>(body) {
        let mut found = Vec::new();
        mask_json(platform, &mut value, &mut found);
        if found.is_empty() {
            return Cow::Borrowed(body);
        }
        return Cow::Owned(
            keep_layout(body, &found)
                .unwrap_or_else(|| serde_json::to_vec(&value).expect("a JSON value serialises")),
        );
    }
    match std::str::from_utf8(body) {
        Ok(text) if text.contains('=') => match mask_form(platform, text) {
            Cow::Borrowed(_) => Cow::Borrowed(body),
            Cow::Owned(masked) => Cow::Owned(masked.into_bytes()),
        },
        _ => Cow::Borrowed(body),
    }
}

/// A query string (or form body) with its secret parameters masked.
pub fn mask_form<'a>(platform: &str, text: &'a str) -> Cow<'a, str> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if !pairs
        .iter()
        .any(|(k, v)| is_secret(platform, k) && !v.is_empty())
    {
        return Cow::Borrowed(text);
    }
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        let shown = if is_secret(platform, k) && !v.is_empty() {
            MASK
        } else {
            v.as_str()
        };
        out.append_pair(k, shown);
    }
    Cow::Owned(out.finish())
}

/// Masks every non-empty scalar under a secret field, collecting the originals.
fn mask_json(platform: &str, value: &mut Value, found: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let scalar = matches!(child, Value::String(s) if !s.is_empty())
                    || matches!(child, Value::Number(_));
                if scalar && is_secret(platform, key) {
                    found.push(std::mem::replace(child, Value::String(MASK.to_owned())));
                } else {
                    mask_json(platform, child, found);
                }
            }
        }
        // Monetizze repeats the whole payload, secrets included, as a JSON text in `json`.
        // Its text is not always valid JSON (raw newlines inside strings), so a field that does
        // not parse is masked as text.
        Value::String(text) if text.starts_with(['{', '[']) => {
            let masked = match serde_json::from_str::<Value>(text) {
                Ok(mut inner) => {
                    let before = found.len();
                    mask_json(platform, &mut inner, found);
                    (found.len() > before).then(|| inner.to_string())
                }
                Err(_) => mask_quoted_fields(platform, text),
            };
            if let Some(masked) = masked {
                *text = masked;
                // The sender's layout cannot be kept around an escaped secret.
                found.push(Value::Null);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| mask_json(platform, item, found)),
        _ => {}
    }
}

/// `"secret_field": "value"` pairs in text that is JSON-like but does not parse, with each value
/// masked; `None` when there is none.
fn mask_quoted_fields(platform: &str, text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(open) = rest.find('"') {
        let after_open = &rest[open + 1..];
        let Some(close) = string_end(after_open) else {
            break;
        };
        let name = &after_open[..close];
        out.push_str(&rest[..open + 1 + close + 1]);
        rest = &after_open[close + 1..];
        let tail = rest.trim_start();
        let Some(value) = tail.strip_prefix(':').map(str::trim_start) else {
            continue;
        };
        if !is_secret(platform, name) || !value.starts_with('"') {
            continue;
        }
        let body = &value[1..];
        let end = string_end(body)?;
        if end == 0 {
            continue;
        }
        out.push_str(&rest[..rest.len() - value.len()]);
        out.push('"');
        out.push_str(MASK);
        out.push('"');
        rest = &body[end + 1..];
        changed = true;
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Where a JSON string's closing quote is in `body` (the text after its opening quote).
fn string_end(body: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

/// The body with each secret's JSON text replaced in place, keeping the sender's layout; `None`
/// when a secret is written in a way this cannot find (escapes), so the caller re-serialises.
fn keep_layout(body: &[u8], found: &[Value]) -> Option<Vec<u8>> {
    let mut text = std::str::from_utf8(body).ok()?.to_owned();
    let mask = serde_json::to_string(MASK).expect("a string serialises");
    if found.contains(&Value::Null) {
        return None;
    }
    for secret in found {
        let written = serde_json::to_string(secret).expect("a JSON value serialises");
        if !text.contains(&written) {
            return None;
        }
        // Only where it is a field's value: after a colon, whatever the spacing.
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find(&written) {
            let before = rest[..at].trim_end();
            out.push_str(&rest[..at]);
            out.push_str(if before.ends_with(':') {
                &mask
            } else {
                &written
            });
            rest = &rest[at + written.len()..];
        }
        out.push_str(rest);
        text = out;
    }
    Some(text.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(platform: &str, body: &str) -> String {
        String::from_utf8(mask_body(platform, body.as_bytes()).into_owned()).expect("utf-8")
    }

    #[test]
    fn secret_fields_are_masked_and_the_rest_kept_as_sent() {
        let body = "{\n  \"token\": \"abc123\",\n  \"order\": {\"id\": \"abc123x\", \"api_token\": \"zz\"},\n  \"copy\": \"abc123\"\n}";
        // The same secret under another name is masked too: it is the secret all the same.
        let want = "{\n  \"token\": \"••••••\",\n  \"order\": {\"id\": \"abc123x\", \"api_token\": \"••••••\"},\n  \"copy\": \"••••••\"\n}";
        assert_eq!(masked("ticto", body), want);
    }

    #[test]
    fn escaped_secrets_fall_back_to_a_re_serialised_body() {
        let body = r#"{"chave_unica":"a\u0062c","venda":{"codigo":1}}"#;
        let shown = masked("monetizze", body);
        assert!(
            !shown.contains("abc") && !shown.contains("\\u0062"),
            "{shown}"
        );
        assert!(shown.contains(MASK));
    }

    #[test]
    fn secrets_inside_a_json_text_field_are_masked_too() {
        let body = r#"{"chave_unica":"abc","json":"{\"chave_unica\":\"abc\",\"x\":1}"}"#;
        let shown = masked("monetizze", body);
        assert!(!shown.contains("abc"), "{shown}");
        let value: Value = serde_json::from_str(&shown).expect("still JSON");
        assert!(value["json"].as_str().expect("text").contains(MASK));
    }

    #[test]
    fn secrets_inside_a_json_text_that_does_not_parse_are_masked_as_text() {
        let text = "{\"descricao\":\"a\nb\", \"chave_unica\" : \"a\\\"bc\",\"token\":\"\"}";
        let shown = mask_quoted_fields("monetizze", text).expect("masked");
        assert_eq!(
            shown,
            "{\"descricao\":\"a\nb\", \"chave_unica\" : \"••••••\",\"token\":\"\"}"
        );
        assert_eq!(mask_quoted_fields("monetizze", "{\"a\":\"b\"}"), None);
        assert_eq!(
            mask_quoted_fields("monetizze", "{\"chave_unica\":\"open"),
            None
        );
    }

    #[test]
    fn form_bodies_and_queries_are_masked_too() {
        let shown = masked("monetizze", "venda%5Bcodigo%5D=1&chave_unica=segredo&x=");
        assert!(!shown.contains("segredo"), "{shown}");
        assert!(shown.contains("venda%5Bcodigo%5D=1"));
        assert_eq!(
            mask_form("greenn", "token=abc&a=1"),
            "token=%E2%80%A2%E2%80%A2%E2%80%A2%E2%80%A2%E2%80%A2%E2%80%A2&a=1"
        );
        assert!(matches!(mask_form("greenn", "a=1"), Cow::Borrowed("a=1")));
    }

    #[test]
    fn origin_is_a_secret_only_on_eduzz() {
        assert!(masked("eduzz", r#"{"origin":"k"}"#).contains(MASK));
        assert!(!masked("kiwify", r#"{"origin":"k"}"#).contains(MASK));
    }

    #[test]
    fn bodies_without_secrets_are_not_copied() {
        assert!(matches!(
            mask_body("hotmart", br#"{"a":1}"#),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            mask_body("hotmart", b"\xff\xfe"),
            Cow::Borrowed(_)
        ));
    }
}
