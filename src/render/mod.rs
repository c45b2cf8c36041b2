//! Message text rendering: minijinja with strict undefined and no HTML escaping, the `brl`,
//! `first_name` and `date_br` filters, and template validation for the editor. Pure: uses only
//! `domain`. The context always has every variable of the schema (absent facts are empty
//! strings), so a typo is an error while a missing boleto URL is simply empty.

mod context;
mod defaults;
mod explain;
mod guard;

use minijinja::{Environment, UndefinedBehavior};

pub use context::{VARIABLES, message_context, variables_for, vars_used};
pub use defaults::{default_template, default_template_for};
pub use explain::{LiteralTag, literal_tags};
pub use guard::{ALLOWED_FILTERS, MAX_LOOP_DEPTH};

use crate::domain::Event;
use crate::domain::deliverability::variants;
use crate::domain::money::format_brl;

/// Why a template cannot be used. Messages are in pt-BR, the merchant's words
/// (`explain`): the engine's own text never reaches the console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenderError {
    /// The template does not parse.
    Syntax { line: usize, message: String },
    /// It uses what a message may not (`guard`: what could grow a value without bound).
    NotAllowed { line: usize, message: String },
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
            RenderError::Syntax { line, message } | RenderError::NotAllowed { line, message } => {
                write!(f, "linha {line}: {message}")
            }
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
    // The engine's own `replace` and `join` build their whole result first: these stop at the
    // output cap instead (see `guard`).
    env.add_filter("replace", capped_replace);
    env.add_filter("join", capped_join);
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
    // Before compiling: the compiler folds constant expressions, so it would build the string of
    // `{{ "x" * 100000000 }}` itself.
    guard::check(source)?;
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
    let text = COMPILED.with_borrow_mut(|compiled| -> Result<String, RenderError> {
        let template = compiled.template(&source)?;
        render_within_budget(&template, message_context(event, public_name))
    })?;
    let text = text.trim();
    // Media-ness is the template's, never a variable's (see `DIRECTIVE_GUARD`).
    if !starts_like_directive(&source) && starts_like_directive(text) {
        return Ok(format!("{DIRECTIVE_GUARD}{text}"));
    }
    Ok(text.to_owned())
}

thread_local! {
    /// The templates this thread has compiled, by source. Planning renders the same few
    /// templates for every event, and compiling one (the guard's parse, minijinja's parse and
    /// compile, the variable check) costs more than rendering it.
    static COMPILED: std::cell::RefCell<Compiled> = std::cell::RefCell::new(Compiled::default());
}

/// Compiled templates kept by one thread, named by their own source.
struct Compiled {
    env: Environment<'static>,
    count: usize,
}

/// A thread keeps at most this many templates (a store has one per event kind and part); past
/// it the thread starts over.
const COMPILED_PER_THREAD: usize = 64;

impl Default for Compiled {
    fn default() -> Self {
        Compiled {
            env: environment(),
            count: 0,
        }
    }
}

impl Compiled {
    /// The compiled template for `source`, checked as `parsed` checks it the first time.
    fn template(&mut self, source: &str) -> Result<minijinja::Template<'_, '_>, RenderError> {
        if self.env.get_template(source).is_err() {
            parsed(&self.env, source)?;
            if self.count >= COMPILED_PER_THREAD {
                self.env.clear_templates();
                self.count = 0;
            }
            self.env
                .add_template_owned(source.to_owned(), source.to_owned())
                .map_err(|e| RenderError::Syntax {
                    line: e.line().unwrap_or(1),
                    message: explain::explain(&e),
                })?;
            self.count += 1;
        }
        self.env
            .get_template(source)
            .map_err(|e| RenderError::Failed(explain::explain(&e)))
    }
}

/// A part is media only when its own first line, as the merchant wrote it, starts with `#` and
/// a letter (`media::parse_part`'s rule; everything downstream reads the rendered text). A text
/// part whose rendered text would start so — a variable first, holding `#documento https://…`
/// from a webhook body or a buyer's name — gets this invisible zero-width space in front: the
/// buyer reads the same text, and no reader takes it for a directive (nothing is fetched).
pub const DIRECTIVE_GUARD: char = '\u{200B}';

/// `#` and a letter at the start, after blanks: what could read as a media directive.
fn starts_like_directive(text: &str) -> bool {
    text.trim_start()
        .strip_prefix('#')
        .is_some_and(|rest| rest.starts_with(char::is_alphabetic))
}

/// Steps (minijinja's fuel: about one per instruction) a message may take. The shipped templates
/// take a few hundred; a loop over a few thousand items still fits, while nested loops over long
/// texts (up to `MAX_LOOP_DEPTH` deep) run out within milliseconds instead of running for days.
/// Fuel bounds steps, not memory: what one step may allocate is `guard`'s.
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
        Err(e) if out.overflowed || e.detail() == Some(OVER_CAP) => Err(RenderError::TooLong {
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

/// The detail of a filter's refusal to grow a text past `MAX_OUTPUT_BYTES`.
const OVER_CAP: &str = "avisa: output cap";

fn over_cap() -> minijinja::Error {
    minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, OVER_CAP)
}

/// `replace` that works out the result's length before building it.
fn capped_replace(value: &str, from: &str, to: &str) -> Result<String, minijinja::Error> {
    let count = if from.is_empty() {
        value.chars().count() + 1
    } else {
        value.matches(from).count()
    };
    let len = (value.len() - count * from.len()).saturating_add(count.saturating_mul(to.len()));
    if len > MAX_OUTPUT_BYTES {
        return Err(over_cap());
    }
    Ok(value.replace(from, to))
}

/// `join` (of a list, or of a text's letters) that stops at the output cap.
fn capped_join(value: minijinja::Value, joiner: Option<&str>) -> Result<String, minijinja::Error> {
    let joiner = joiner.unwrap_or_default();
    let mut out = String::new();
    for (i, item) in value.try_iter()?.enumerate() {
        let item = item.to_string();
        let sep = if i > 0 { joiner.len() } else { 0 };
        if out.len() + sep + item.len() > MAX_OUTPUT_BYTES {
            return Err(over_cap());
        }
        if i > 0 {
            out.push_str(joiner);
        }
        out.push_str(&item);
    }
    Ok(out)
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
