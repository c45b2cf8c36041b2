//! View helpers every console page may use: masked phones, message rows and their reasons,
//! Brasília date inputs, count flashes, the new-account rules. Pure functions of records; pages
//! import these instead of borrowing from each other.

use std::collections::HashMap;

use minijinja::{Value, context};
use serde::Serialize;

use crate::domain::reason::Reason;
use crate::domain::{CustomKindDef, EventId, EventKind, InstanceId, Message, MessageId, StoreId};
use crate::http::password::MIN_PASSWORD_LEN;
use crate::media;

// Ids go into template contexts as the plain numbers they are (`context!` takes `Into<Value>`).
macro_rules! id_values {
    ($($id:ty),*) => {$(
        impl From<$id> for Value {
            fn from(id: $id) -> Value {
                Value::from(id.get())
            }
        }
    )*};
}
id_values!(StoreId, InstanceId, EventId, MessageId);

/// Any serialisable value as a template value.
pub fn ser<T: Serialize>(value: &T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// The event kinds a filter offers: the canonical ones, then the merchant's own (the layout's
/// `custom_kinds` labels them), and the current choice if it is a kind no longer defined.
pub fn kind_choices(custom: &[CustomKindDef], current: &str) -> Vec<String> {
    let mut kinds: Vec<String> = EventKind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .chain(
            custom
                .iter()
                .map(|d| format!("{}{}", crate::domain::custom_kind::PREFIX, d.name)),
        )
        .collect();
    let current = current.trim();
    if EventKind::parse_with_custom(current).is_some() && !kinds.iter().any(|k| k == current) {
        kinds.push(current.to_owned());
    }
    kinds
}

/// A phone with its middle digits hidden: `+55 11 9****-4321`. Brazilian numbers keep their
/// area code; others keep the country prefix and the last four digits.
pub fn mask_phone(e164: &str) -> String {
    let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return "****".to_owned();
    }
    let last4 = &digits[digits.len() - 4..];
    match (digits.strip_prefix("55"), digits.len()) {
        (Some(rest), 12 | 13) => {
            let (area, local) = rest.split_at(2);
            let lead = if local.len() == 9 { &local[..1] } else { "" };
            format!("+55 {area} {lead}****-{last4}")
        }
        _ => format!("+{} ****-{last4}", &digits[..2]),
    }
}

/// A reason as the templates show it: a catalog code when avisa knows it, the text otherwise.
pub fn reason_view(reason: Option<&str>) -> Value {
    let Some(reason) = reason else {
        return Value::from(());
    };
    let (code, detail) = match reason.split_once(':') {
        Some((code, detail)) => (code.trim(), Some(detail.trim())),
        None => (reason, None),
    };
    // Codes avisa knows are translated (`messages.reason.<code>`); anything else is shown as is.
    if Reason::from_code(code).is_some() {
        context! { code => code, detail => detail }
    } else {
        context! { text => reason }
    }
}

/// The first line or so of a text, for the table.
fn preview(text: &str) -> String {
    const MAX: usize = 90;
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX {
        return flat;
    }
    let cut: String = flat.chars().take(MAX).collect();
    format!("{}…", cut.trim_end())
}

/// One row of the Mensagens table (and the head of the detail page and the sandbox bubbles).
pub fn row_view(m: &Message, names: &HashMap<StoreId, String>) -> Value {
    // A media part (`#documento URL` + caption) is shown as a card; its table line is the caption.
    let media = media::shown(&m.text);
    context! {
        id => m.id,
        event_id => m.event_id,
        due_at => m.due_at,
        created_at => m.created_at,
        store_id => m.store_id,
        store_name => names.get(&m.store_id),
        buyer_name => m.buyer_name.clone(),
        // An erased buyer's pseudonym is not a phone: nothing to show.
        phone => (!m.is_erased()).then(|| mask_phone(&m.phone)),
        erased => m.is_erased(),
        kind => m.kind.as_str(),
        step => m.step,
        part => m.part,
        order_id => m.order_id.clone(),
        preview => preview(media.as_ref().map_or(m.text.as_str(), |s| s.caption.as_str())),
        qr_src => media.as_ref().and_then(|s| s.code.as_ref()).map(|_| format!("/mensagens/{}/qrcode.png", m.id)),
        media => media.as_ref().map(ser),
        text => m.text.clone(),
        status => m.status.as_str(),
        reason => reason_view(m.reason()),
        test => m.test,
        pending => m.status.is_pending(),
        attempts => m.attempts,
        maybe_sent => m.maybe_sent,
    }
}

/// Unix seconds as a `datetime-local` value in Brasília time (`2025-05-01T14:30`).
pub fn local_input(unix: i64) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(unix) else {
        return String::new();
    };
    ts.to_zoned(sao_paulo())
        .strftime("%Y-%m-%dT%H:%M")
        .to_string()
}

/// A `datetime-local` value read as Brasília time; `None` when it is not a date and time.
pub fn parse_local_input(text: &str) -> Option<i64> {
    let civil: jiff::civil::DateTime = text.trim().parse().ok()?;
    let zoned = civil.to_zoned(sao_paulo()).ok()?;
    Some(zoned.timestamp().as_second())
}

fn sao_paulo() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("America/Sao_Paulo").unwrap_or(jiff::tz::TimeZone::UTC)
}

/// The flash for "N lembretes cancelados", with the count in the query.
pub fn count_flash(base: &str, n: usize) -> String {
    let which = match n {
        0 => "none",
        1 => "one",
        _ => "many",
    };
    format!("{base}_{which}&n={n}")
}

/// Checks e-mail and password rules; returns a catalog key for the first problem.
pub fn validate_new_account(
    email: &str,
    password: &str,
    confirm: Option<&str>,
) -> Option<&'static str> {
    let email = email.trim();
    if email.len() < 3 || !email.contains('@') || email.contains(char::is_whitespace) {
        return Some("error.email_invalid");
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Some("error.password_short");
    }
    if confirm.is_some_and(|c| c != password) {
        return Some("error.password_mismatch");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_brasilia_both_ways() {
        // 2024-05-01 12:18 in Brasília is 15:18 UTC.
        assert_eq!(parse_local_input("2024-05-01T12:18"), Some(1_714_576_680));
        assert_eq!(local_input(1_714_576_680), "2024-05-01T12:18");
        assert_eq!(parse_local_input("amanhã"), None);
    }

    #[test]
    fn reasons_keep_their_detail_and_unknown_ones_their_text() {
        let v = reason_view(Some("render_error: unknown variable"));
        assert_eq!(
            v.get_attr("code").expect("code").as_str(),
            Some("render_error")
        );
        let v = reason_view(Some("some_new_reason"));
        assert_eq!(
            v.get_attr("text").expect("text").as_str(),
            Some("some_new_reason")
        );
        assert!(preview(&"a ".repeat(100)).ends_with('…'));
    }

    #[test]
    fn phones_hide_their_middle_digits() {
        assert_eq!(mask_phone("+5511987654321"), "+55 11 9****-4321");
        assert_eq!(mask_phone("+551133334321"), "+55 11 ****-4321");
        assert_eq!(mask_phone("+14155554321"), "+14 ****-4321");
        assert_eq!(mask_phone("+123"), "****");
    }
}
