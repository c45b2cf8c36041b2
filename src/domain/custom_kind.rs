//! Custom event kinds (post-sale): kinds the merchant creates ("Aniversário", "Boas-vindas",
//! "Aviso de live") beside the 22 canonical ones, sent by an automation through the `api`
//! platform or the send API with the lead's phone, name, e-mail and free variables (`vars`).
//!
//! A custom kind is identified by its name, stored inline: [`CustomKind`] is a small `Copy`
//! value (at most [`MAX_NAME`] ASCII bytes), so `EventKind::Custom(CustomKind)` stays `Copy` and
//! its wire name `custom.<name>` is self-describing in every stored event, message, template key
//! and report row: no table lookup is needed to know what a stored record is, and a definition
//! deleted later leaves its records readable. The definition ([`CustomKindDef`]: label, declared
//! variables) is the merchant's and lives in the data file.

use serde::{Deserialize, Serialize};

use super::slug::{FALLBACK_SLUG, slugify};

/// The prefix of every custom kind's wire name.
pub const PREFIX: &str = "custom.";

/// The longest name (after `custom.`), in ASCII bytes.
pub const MAX_NAME: usize = 32;

/// The most variables a custom kind declares (and an event may carry).
pub const MAX_VARS: usize = 20;

/// The longest variable name.
pub const MAX_VAR_NAME: usize = 32;

/// The longest label the merchant may give a kind, in characters.
pub const MAX_LABEL: usize = 60;

/// A custom kind's name: 1 to [`MAX_NAME`] of `a-z`, `0-9` and `-`, starting with a letter,
/// never ending with `-` (what [`slugify`] makes of a label). Inline and `Copy`.
/// Holds the whole wire name (`custom.` and the name), so [`CustomKind::wire`] can lend it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomKind {
    len: u8,
    bytes: [u8; WIRE_MAX],
}

/// The longest wire name.
const WIRE_MAX: usize = PREFIX.len() + MAX_NAME;

impl CustomKind {
    /// The name, if it is one (`aniversario`, `aviso-de-live`).
    pub fn new(name: &str) -> Option<CustomKind> {
        let b = name.as_bytes();
        let first_ok = b.first().is_some_and(u8::is_ascii_lowercase);
        let rest_ok = b
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
        if !first_ok || !rest_ok || b.len() > MAX_NAME || name.ends_with('-') {
            return None;
        }
        let mut bytes = [0u8; WIRE_MAX];
        bytes[..PREFIX.len()].copy_from_slice(PREFIX.as_bytes());
        bytes[PREFIX.len()..PREFIX.len() + b.len()].copy_from_slice(b);
        Some(CustomKind {
            len: (PREFIX.len() + b.len()) as u8,
            bytes,
        })
    }

    /// Reads a wire name `custom.<name>`.
    pub fn parse(wire: &str) -> Option<CustomKind> {
        CustomKind::new(wire.strip_prefix(PREFIX)?)
    }

    /// The name a label gives (`Aviso de live` -> `aviso-de-live`); `None` when the label has
    /// no letter to start from.
    pub fn from_label(label: &str) -> Option<CustomKind> {
        let slug = slugify(label);
        // `slugify` falls back to a store's word when nothing is left: not a name here.
        if slug == FALLBACK_SLUG && !label.to_lowercase().contains(FALLBACK_SLUG) {
            return None;
        }
        let name = slug.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-');
        let name = name.get(..MAX_NAME.min(name.len())).unwrap_or(name);
        CustomKind::new(name.trim_end_matches('-'))
    }

    /// The wire name, `custom.<name>`.
    pub fn wire(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)])
            .expect("built from ASCII in new()")
    }

    /// The name without the prefix.
    pub fn name(&self) -> &str {
        &self.wire()[PREFIX.len()..]
    }
}

impl std::fmt::Debug for CustomKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.wire())
    }
}

/// A variable name a custom kind declares: `a-z`, `0-9`, `_`, starting with a letter, so that
/// `{{ vars.nome_da_live }}` is a plain attribute in a template.
pub fn is_var_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.first().is_some_and(u8::is_ascii_lowercase)
        && b.len() <= MAX_VAR_NAME
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// A custom kind as the merchant created it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomKindDef {
    /// The name (`aniversario`); the wire name is `custom.aniversario`. Never changes: it is what
    /// automations send.
    pub name: String,
    /// What the console shows ("Aniversário").
    pub label: String,
    /// The variables its templates may use as `vars.<name>`, in the merchant's order.
    pub vars: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
}

impl CustomKindDef {
    /// The kind this definition describes (its name was checked when it was made).
    pub fn kind(&self) -> Option<CustomKind> {
        CustomKind::new(&self.name)
    }
}

/// Why a new custom kind cannot be created, in the merchant's words (pt-BR, for the console).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DefError {
    /// The label is empty or too long.
    Label,
    /// The label gives no usable name (no letter) or the chosen name is malformed.
    Name,
    /// A variable name is malformed (the offending one).
    Var(String),
    /// More than [`MAX_VARS`] variables.
    TooManyVars,
}

impl std::fmt::Display for DefError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DefError::Label => write!(f, "o nome deve ter de 1 a {MAX_LABEL} caracteres"),
            DefError::Name => f.write_str(
                "o identificador deve começar com uma letra e ter só letras minúsculas, \
                 números e hífens",
            ),
            DefError::Var(v) => write!(
                f,
                "variável `{v}`: use letras minúsculas sem acento, números e _, começando por letra"
            ),
            DefError::TooManyVars => write!(f, "no máximo {MAX_VARS} variáveis"),
        }
    }
}

/// Builds a definition from what the merchant typed: a label, an optional name (made from the
/// label when blank) and variables separated by commas, spaces or lines (duplicates dropped).
pub fn define(label: &str, name: &str, vars: &str, now: i64) -> Result<CustomKindDef, DefError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > MAX_LABEL {
        return Err(DefError::Label);
    }
    let name = name.trim();
    let name = name.strip_prefix(PREFIX).unwrap_or(name);
    let kind = if name.is_empty() {
        CustomKind::from_label(label)
    } else {
        CustomKind::new(name)
    }
    .ok_or(DefError::Name)?;
    let mut declared: Vec<String> = Vec::new();
    for var in vars
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|v| !v.is_empty())
    {
        let var = var.strip_prefix("vars.").unwrap_or(var);
        if !is_var_name(var) {
            return Err(DefError::Var(var.to_owned()));
        }
        if !declared.iter().any(|d| d == var) {
            declared.push(var.to_owned());
        }
    }
    if declared.len() > MAX_VARS {
        return Err(DefError::TooManyVars);
    }
    Ok(CustomKindDef {
        name: kind.name().to_owned(),
        label: label.to_owned(),
        vars: declared,
        created_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_made_from_labels() {
        for good in ["aniversario", "aviso-de-live", "boas-vindas2", "a"] {
            assert_eq!(
                CustomKind::new(good).map(|k| k.name().to_owned()),
                Some(good.into())
            );
        }
        for bad in [
            "",
            "Aniversario",
            "2x",
            "-a",
            "a-",
            "a_b",
            "aniversário",
            "a.b",
            &"a".repeat(MAX_NAME + 1),
        ] {
            assert!(CustomKind::new(bad).is_none(), "{bad:?}");
        }
        let made = |label: &str| CustomKind::from_label(label).map(|k| k.name().to_owned());
        assert_eq!(made("Aniversário"), Some("aniversario".into()));
        assert_eq!(made("Aviso de live!"), Some("aviso-de-live".into()));
        assert_eq!(made("3º Boas-vindas"), Some("o-boas-vindas".into()));
        assert_eq!(made("!!!"), None);
        let long = made(&"palavra ".repeat(10)).expect("a name");
        assert!(long.len() <= MAX_NAME && !long.ends_with('-'), "{long}");
        assert_eq!(
            CustomKind::parse("custom.aniversario").map(|k| k.name().to_owned()),
            Some("aniversario".into())
        );
        assert!(CustomKind::parse("aniversario").is_none());
    }

    #[test]
    fn a_definition_reads_what_the_merchant_typed() {
        let def = define(
            " Aviso de live ",
            "",
            "link_da_live, horario\nvars.link_da_live",
            7,
        )
        .expect("valid");
        assert_eq!(def.name, "aviso-de-live");
        assert_eq!(def.label, "Aviso de live");
        assert_eq!(def.vars, vec!["link_da_live", "horario"]);
        assert_eq!(
            define("Aniversário", "custom.niver", "", 0).map(|d| d.name),
            Ok("niver".into())
        );
        assert_eq!(define("  ", "", "", 0), Err(DefError::Label));
        assert_eq!(define("!!!", "", "", 0), Err(DefError::Name));
        assert_eq!(define("X", "Niver", "", 0), Err(DefError::Name));
        assert_eq!(
            define("X", "", "Nome", 0),
            Err(DefError::Var("Nome".into()))
        );
        let many: Vec<String> = (0..=MAX_VARS).map(|i| format!("v{i}")).collect();
        assert_eq!(
            define("X", "", &many.join(","), 0),
            Err(DefError::TooManyVars)
        );
    }
}
