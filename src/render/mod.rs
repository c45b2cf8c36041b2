//! Message text rendering: minijinja with strict undefined and no HTML escaping, the `brl`,
//! `first_name` and `date_br` filters, and template validation for the editor. Pure: uses only
//! `domain`. The context always has every variable of the schema (absent facts are empty
//! strings), so a typo is an error while a missing boleto URL is simply empty.

mod context;
mod defaults;
mod explain;

use minijinja::{Environment, UndefinedBehavior};

pub use context::{VARIABLES, message_context, variables_for, vars_used};
pub use defaults::{default_template, default_template_for};
pub use explain::{LiteralTag, literal_tags};

use crate::domain::Event;
use crate::domain::deliverability::variants;
use crate::domain::money::format_brl;

/// Why a template cannot be used. Messages are in pt-BR, the merchant's words
/// (`explain`): the engine's own text never reaches the console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenderError {
    /// The template does not parse.
    Syntax { line: usize, message: String },
    /// It names a variable avisa does not have.
    UnknownVariable { name: String, line: usize },
    /// Rendering failed (a filter on the wrong kind of value, …).
    Failed(String),
    /// Rendering took more than `FUEL` steps (loops too large): refused, not waited for.
    TooMuchWork,
    /// The text grew past `MAX_OUTPUT_BYTES`.
    TooLong { limit: usize },
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenderError::Syntax { line, message } => write!(f, "linha {line}: {message}"),
            RenderError::UnknownVariable { name, line } => {
                write!(f, "linha {line}: variável desconhecida `{name}`")
            }
            RenderError::Failed(message) => f.write_str(message),
            RenderError::TooMuchWork => f.write_str("o modelo dá trabalho demais para montar"),
            RenderError::TooLong { limit } => write!(f, "o texto passa de {limit} bytes"),
        }
    }
}

impl std::error::Error for RenderError {}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_fuel(Some(FUEL));
    env.add_filter("brl", brl);
    env.add_filter("first_name", first_name);
    env.add_filter("date_br", date_br);
    env
}

/// Checks a template (the save-time check): it parses, names only variables avisa has, and
/// renders an empty event without an unknown filter, test or function. Errors carry a line.
pub fn validate(source: &str) -> Result<(), RenderError> {
    // Every alternative of a `{Olá|Oi}` group is checked, side by side.
    let source = variants::all_alternatives(source);
    let env = environment();
    let template = parsed(&env, &source)?;
    // Unknown filters, tests and functions only show when rendering: try an empty event. A
    // template over the work budget is not a syntax error: `render` and the save-time budget
    // check refuse it as `TooMuchWork`.
    match template.render(message_context(&Event::default(), "")) {
        Err(e) if e.kind() != minijinja::ErrorKind::OutOfFuel => Err(RenderError::Syntax {
            line: e.line().unwrap_or(1),
            message: explain::explain(&e),
        }),
        _ => Ok(()),
    }
}

/// Parses `source` and refuses a variable avisa does not have; what `validate` and `render`
/// share (rendering needs no trial run: its own run reports an unknown filter).
fn parsed<'env, 'source>(
    env: &'env Environment<'env>,
    source: &'source str,
) -> Result<minijinja::Template<'env, 'env>, RenderError>
where
    'source: 'env,
{
    let template = env
        .template_from_str(source)
        .map_err(|e| RenderError::Syntax {
            line: e.line().unwrap_or(1),
            message: explain::explain(&e),
        })?;
    let mut unknown: Vec<String> = template
        .undeclared_variables(true)
        .into_iter()
        .filter(|name| !context::is_known(name))
        .collect();
    unknown.sort();
    if let Some(name) = unknown.into_iter().next() {
        let line = source
            .lines()
            .position(|l| l.contains(name.as_str()))
            .map_or(1, |i| i + 1);
        return Err(RenderError::UnknownVariable { name, line });
    }
    Ok(template)
}

/// Renders `source` for an event of a store whose buyer-facing name is `public_name`.
/// Surrounding blank lines are trimmed. Of each `{Olá|Oi}` group, the event picks one
/// alternative (the same event always the same one; planning renders once, so it is fixed).
pub fn render(source: &str, event: &Event, public_name: &str) -> Result<String, RenderError> {
    let source = variants::choose(source, &event.dedup_key);
    let env = environment();
    let template = parsed(&env, &source)?;
    let text = render_within_budget(&template, message_context(event, public_name))?;
    Ok(text.trim().to_owned())
}

/// Steps (minijinja's fuel: about one per instruction) a message may take. The shipped templates
/// take a few hundred; a loop over a few thousand items still fits, while nested loops over
/// `"x" * N` (which get past minijinja's `range` limit) run out within milliseconds instead of
/// running for days.
pub const FUEL: u64 = 100_000;

/// The longest text a template may produce: a WhatsApp text message holds 65,536 characters.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024;

/// Renders with the environment's fuel and the output cap; running out of either is its own
/// error, anything else is `Failed`.
fn render_within_budget(
    template: &minijinja::Template<'_, '_>,
    ctx: minijinja::Value,
) -> Result<String, RenderError> {
    let failed = |e: minijinja::Error| {
        RenderError::Failed(match e.line() {
            Some(line) => format!("linha {line}: {}", explain::explain(&e)),
            None => explain::explain(&e),
        })
    };
    let mut out = CappedText::default();
    match template.render_captured_to(ctx, &mut out) {
        Ok(_) => Ok(String::from_utf8(out.bytes).expect("minijinja writes whole strings")),
        Err(e) if e.kind() == minijinja::ErrorKind::OutOfFuel => Err(RenderError::TooMuchWork),
        Err(_) if out.overflowed => Err(RenderError::TooLong {
            limit: MAX_OUTPUT_BYTES,
        }),
        Err(e) => Err(failed(e)),
    }
}

/// Collects output up to `MAX_OUTPUT_BYTES`, then refuses to write (which stops the render).
#[derive(Default)]
struct CappedText {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl std::io::Write for CappedText {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(std::io::Error::other("output cap"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `{{ total_cents | brl }}` -> `R$ 1.234,56`; an absent amount renders empty.
fn brl(value: minijinja::Value) -> Result<String, minijinja::Error> {
    if value.as_str().is_some_and(str::is_empty) || value.is_none() {
        return Ok(String::new());
    }
    let cents = i64::try_from(value.clone()).map_err(|_| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("brl needs an amount in cents, got {value}"),
        )
    })?;
    Ok(format_brl(cents))
}

/// `{{ customer.name | first_name }}` -> the first word.
fn first_name(value: &str) -> String {
    value
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// `{{ payment.due_at | date_br }}` -> `dd/mm/aaaa` in Brasília time; empty stays empty.
fn date_br(value: &str) -> String {
    let tz = jiff::tz::TimeZone::get("America/Sao_Paulo").ok();
    if let (Ok(ts), Some(tz)) = (value.parse::<jiff::Timestamp>(), tz) {
        return ts.to_zoned(tz).strftime("%d/%m/%Y").to_string();
    }
    if let Ok(date) = value.parse::<jiff::civil::Date>() {
        return date.strftime("%d/%m/%Y").to_string();
    }
    value.to_owned()
}

// The module keeps the name `tests` so the snapshot files keep their names.
#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
