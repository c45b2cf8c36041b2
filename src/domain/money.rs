//! Money as integer cents, read from the shapes platforms send (numbers, `"97.00"`, `"1.234,56"`).

/// Reads a decimal amount in reais (a JSON number or a string) as cents.
///
/// Accepts `97`, `97.5`, `"97.00"`, `"1.234,56"`, `"1,234.56"`, `"R$ 97,00"`. Returns `None` for
/// anything else rather than guessing.
pub fn reais_to_cents(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return i.checked_mul(100);
            }
            let f = n.as_f64()?;
            if !f.is_finite() || f.abs() > 1e13 {
                return None;
            }
            Some((f * 100.0).round() as i64)
        }
        serde_json::Value::String(s) => parse_decimal_str(s),
        _ => None,
    }
}

/// Reads an amount that the platform already sends in cents (`9700` or `"9700"`).
pub fn cents(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e15)
                .map(|f| f.round() as i64)
        }),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn parse_decimal_str(raw: &str) -> Option<i64> {
    let s = raw.trim().trim_start_matches("R$").trim();
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-'))
    {
        return None;
    }
    let negative = s.starts_with('-');
    let s = s.trim_start_matches('-');
    // The last separator followed by one or two digits is the decimal one; others group thousands.
    let (int_part, frac_part) = match s.rfind(['.', ',']) {
        Some(pos) if s.len() - pos - 1 <= 2 => (&s[..pos], &s[pos + 1..]),
        _ => (s, ""),
    };
    let int_digits: String = int_part.chars().filter(char::is_ascii_digit).collect();
    let int: i64 = if int_digits.is_empty() {
        0
    } else {
        int_digits.parse().ok()?
    };
    let frac: i64 = match frac_part.len() {
        0 => 0,
        1 => frac_part.parse::<i64>().ok()? * 10,
        _ => frac_part.parse().ok()?,
    };
    let total = int.checked_mul(100)?.checked_add(frac)?;
    Some(if negative { -total } else { total })
}

/// Formats cents as Brazilian reais: `R$ 1.234,56`.
pub fn format_brl(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let int = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{sign}R$ {grouped},{:02}", abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_in_reais_become_cents() {
        let cases = [
            (json!(97), Some(9700)),
            (json!(97.5), Some(9750)),
            (json!(1234.56), Some(123456)),
            (json!("97.00"), Some(9700)),
            (json!("1.234,56"), Some(123456)),
            (json!("1,234.56"), Some(123456)),
            (json!("R$ 97,00"), Some(9700)),
            (json!("1.234"), Some(123400)),
            (json!("0.1"), Some(10)),
            (json!("abc"), None),
            (json!(null), None),
            (json!(""), None),
        ];
        for (value, want) in cases {
            assert_eq!(reais_to_cents(&value), want, "input {value}");
        }
    }

    #[test]
    fn cents_format_as_brazilian_reais() {
        assert_eq!(format_brl(123456), "R$ 1.234,56");
        assert_eq!(format_brl(9700), "R$ 97,00");
        assert_eq!(format_brl(5), "R$ 0,05");
        assert_eq!(format_brl(100000000), "R$ 1.000.000,00");
        assert_eq!(format_brl(-250), "-R$ 2,50");
    }
}
