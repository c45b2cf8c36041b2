//! Buyer phone numbers: E.164, with the Brazilian rules of DESIGN.md.
//!
//! Platforms send phones in every shape: `(11) 98765-4321`, `5511987654321`, `+55 11 98765 4321`,
//! an area code in one field and the number in another, a leading trunk `0`. This module turns
//! them into one E.164 string or a reason. It never guesses: a number with letters in it (the
//! anonymiser of some fixtures left `9c150-eeca`) is refused, not repaired.

use serde::{Deserialize, Serialize};

/// An E.164 phone number, e.g. `+5511987654321`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

/// Why a phone number could not be made valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhoneError {
    Empty,
    /// Letters or symbols other than spaces, dots, dashes, parentheses and a leading `+`.
    BadCharacters,
    /// Too short or too long for any numbering plan.
    BadLength(usize),
    /// A Brazilian number whose area code (DDD) does not exist.
    BadAreaCode(u8),
    /// A Brazilian number that is neither a mobile (9 + 8 digits) nor a landline.
    BadSubscriber,
}

impl std::fmt::Display for PhoneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PhoneError::Empty => f.write_str("empty phone number"),
            PhoneError::BadCharacters => {
                f.write_str("phone number has characters that are not digits")
            }
            PhoneError::BadLength(n) => write!(f, "phone number has {n} digits"),
            PhoneError::BadAreaCode(ddd) => write!(f, "Brazilian area code {ddd} does not exist"),
            PhoneError::BadSubscriber => {
                f.write_str("not a valid Brazilian mobile or landline number")
            }
        }
    }
}

impl std::error::Error for PhoneError {}

/// Brazil's area codes (DDD) in use, from Anatel's numbering plan.
const BRAZIL_DDDS: &[u8] = &[
    11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38, 41, 42, 43,
    44, 45, 46, 47, 48, 49, 51, 53, 54, 55, 61, 62, 63, 64, 65, 66, 67, 68, 69, 71, 73, 74, 75, 77,
    79, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95, 96, 97, 98, 99,
];

impl Phone {
    /// Parses a phone as a buyer typed it. Numbers without a country code are Brazilian.
    pub fn parse(raw: &str) -> Result<Phone, PhoneError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let international = trimmed.starts_with('+') || trimmed.starts_with("00");
        let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
        if !body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '/'))
        {
            return Err(PhoneError::BadCharacters);
        }
        let mut digits: String = body.chars().filter(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        if international {
            if let Some(rest) = digits.strip_prefix("00") {
                digits = rest.to_owned();
            }
            return match digits.strip_prefix("55") {
                Some(national) if (10..=11).contains(&national.len()) => brazilian(national),
                _ => foreign(&digits),
            };
        }
        // A national number may carry the trunk prefix 0 and a two-digit carrier code
        // (0 XX DDD NUMBER).
        let had_trunk = digits.starts_with('0');
        let national = digits.trim_start_matches('0');
        match national.len() {
            10 | 11 => brazilian(national),
            12 | 13 if national.starts_with("55") => brazilian(&national[2..]),
            12 | 13 if had_trunk => brazilian(&national[2..]),
            n => Err(PhoneError::BadLength(n)),
        }
    }

    /// Parses a phone sent in parts (country code, area code, number), any of them optional.
    pub fn from_parts(
        country: Option<&str>,
        area: Option<&str>,
        number: &str,
    ) -> Result<Phone, PhoneError> {
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        let number_digits = digits(number);
        let area = area.map(digits).unwrap_or_default();
        let country = country.map(digits).unwrap_or_default();
        // Platforms often repeat the area code or the country code inside the number itself.
        let with_area = if area.is_empty() || number_digits.len() >= 10 {
            number.to_owned()
        } else {
            format!("{area}{number}")
        };
        match country.as_str() {
            "" | "55" => Phone::parse(&with_area),
            cc => {
                if number.trim_start().starts_with('+')
                    || number_digits.starts_with(cc) && number_digits.len() > 10
                {
                    Phone::parse(&format!("+{}", digits(&with_area)))
                } else {
                    Phone::parse(&format!("+{cc}{}", digits(&with_area)))
                }
            }
        }
    }

    /// The E.164 form, `+5511987654321`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without the `+`, as WhatsApp addresses them.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

fn brazilian(national: &str) -> Result<Phone, PhoneError> {
    let ddd: u8 = national[..2]
        .parse()
        .map_err(|_| PhoneError::BadSubscriber)?;
    if !BRAZIL_DDDS.contains(&ddd) {
        return Err(PhoneError::BadAreaCode(ddd));
    }
    let subscriber = &national[2..];
    let first = subscriber.as_bytes()[0];
    let subscriber = match (subscriber.len(), first) {
        // Mobile: nine digits starting with 9.
        (9, b'9') => subscriber.to_owned(),
        // An old mobile written without the ninth digit: add it; the channel's lookup finds the
        // address WhatsApp really has (some accounts are still registered without it).
        (8, b'6'..=b'9') => format!("9{subscriber}"),
        // Landline (2–5): valid, and WhatsApp Business runs on landlines too.
        (8, b'2'..=b'5') => subscriber.to_owned(),
        _ => return Err(PhoneError::BadSubscriber),
    };
    Ok(Phone(format!("+55{ddd}{subscriber}")))
}

fn foreign(digits: &str) -> Result<Phone, PhoneError> {
    // E.164 allows at most 15 digits; nothing real is shorter than 8 with its country code.
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err(PhoneError::BadLength(digits.len()));
    }
    Ok(Phone(format!("+{digits}")))
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Phone::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> String {
        value.0
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brazilian_numbers_in_every_shape_become_e164() {
        let cases = [
            ("11987654321", "+5511987654321"),
            ("(11) 98765-4321", "+5511987654321"),
            ("+55 11 98765-4321", "+5511987654321"),
            ("5511987654321", "+5511987654321"),
            ("+5511987654321", "+5511987654321"),
            ("011987654321", "+5511987654321"),
            ("0 15 11 98765 4321", "+5511987654321"),
            ("005511987654321", "+5511987654321"),
            // Old mobile without the ninth digit.
            ("1187654321", "+5511987654321"),
            ("+55 21 8765-4321", "+5521987654321"),
            // Landline.
            ("(11) 3456-7890", "+551134567890"),
            ("11999999999", "+5511999999999"),
        ];
        for (raw, want) in cases {
            assert_eq!(
                Phone::parse(raw).map(|p| p.0),
                Ok(want.to_owned()),
                "input {raw:?}"
            );
        }
    }

    #[test]
    fn foreign_numbers_with_a_plus_are_kept() {
        assert_eq!(
            Phone::parse("+1 415 555 2671").map(|p| p.0),
            Ok("+14155552671".into())
        );
        assert_eq!(
            Phone::parse("+351 912 345 678").map(|p| p.0),
            Ok("+351912345678".into())
        );
    }

    #[test]
    fn damaged_numbers_are_refused_not_guessed() {
        let cases = [
            ("+55 11 9c150-eeca", PhoneError::BadCharacters),
            ("", PhoneError::Empty),
            ("  ", PhoneError::Empty),
            ("---", PhoneError::Empty),
            ("12345", PhoneError::BadLength(5)),
            ("(20) 98765-4321", PhoneError::BadAreaCode(20)),
            ("(11) 18765-4321", PhoneError::BadSubscriber),
            ("(11) 0876-4321", PhoneError::BadSubscriber),
            ("+1234", PhoneError::BadLength(4)),
            ("1199999999999999", PhoneError::BadLength(16)),
        ];
        for (raw, want) in cases {
            assert_eq!(Phone::parse(raw), Err(want), "input {raw:?}");
        }
    }

    #[test]
    fn parts_are_joined_without_repeating_codes() {
        let cases = [
            (Some("55"), Some("11"), "987654321", "+5511987654321"),
            (Some("+55"), Some("11"), "11987654321", "+5511987654321"),
            (None, Some("21"), "98765-4321", "+5521987654321"),
            (Some("55"), None, "5511987654321", "+5511987654321"),
            (Some("1"), Some("415"), "5552671", "+14155552671"),
        ];
        for (cc, ddd, number, want) in cases {
            assert_eq!(
                Phone::from_parts(cc, ddd, number).map(|p| p.0),
                Ok(want.to_owned()),
                "input {cc:?} {ddd:?} {number:?}"
            );
        }
    }

    #[test]
    fn serialises_as_a_plain_string() {
        let phone = Phone::parse("11987654321").expect("valid");
        assert_eq!(
            serde_json::to_string(&phone).expect("ser"),
            "\"+5511987654321\""
        );
        let back: Phone = serde_json::from_str("\"+5511987654321\"").expect("de");
        assert_eq!(back, phone);
    }
}
