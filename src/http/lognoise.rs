//! Warnings that anyone on the internet can cause (a form without its CSRF token, a throttled
//! login): one WARN line per minute per kind, saying how many were folded into it; the others at
//! DEBUG. A flood of hostile requests cannot fill the log or hide the lines that matter.
//!
//! actix-http's own complaints about a connection (a request that does not parse, a head too
//! large, a body cut short) are logged by actix-http at ERROR, one per connection, before any of
//! avisa's code sees the request. `ConnectionNoise` wraps the log's output layer and turns them
//! into one WARN line a minute with the count folded into it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use tracing::callsite::{DefaultCallsite, Identifier};
use tracing::field::{Field, FieldSet, Value, Visit};
use tracing::metadata::Kind;
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::domain::Clock;

/// One kind of noisy warning.
pub struct Noisy {
    /// Unix second of the last WARN line (`i64::MIN` before the first).
    last_warn: AtomicI64,
    folded: AtomicU64,
}

/// Seconds between two WARN lines of one kind.
const EVERY_SECS: i64 = 60;

impl Noisy {
    pub const fn new() -> Noisy {
        Noisy {
            last_warn: AtomicI64::new(i64::MIN),
            folded: AtomicU64::new(0),
        }
    }

    /// `Some(how many were folded since the last WARN)` when this one should be a WARN line;
    /// `None`: log it at DEBUG.
    pub fn warn_now(&self, now: i64) -> Option<u64> {
        let last = self.last_warn.load(Ordering::Relaxed);
        let due = last == i64::MIN || now.saturating_sub(last) >= EVERY_SECS;
        if due
            && self
                .last_warn
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.folded.swap(0, Ordering::Relaxed));
        }
        self.folded.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// Logs `$msg` with its fields at WARN at most once a minute per call site, else at DEBUG.
macro_rules! warn_noisy {
    ($now:expr, $($field:tt)+) => {{
        static NOISY: $crate::http::lognoise::Noisy = $crate::http::lognoise::Noisy::new();
        match NOISY.warn_now($now) {
            Some(folded) => tracing::warn!(folded_since_last = folded, $($field)+),
            None => tracing::debug!($($field)+),
        }
    }};
}
pub(crate) use warn_noisy;

/// The WARN line that stands for actix-http's per-connection errors. Built by hand (it is what
/// `tracing::warn!` expands to) because it is handed straight to the output layer: an event
/// emitted from inside a layer would not reach the subscriber again.
static CONNECTION_CALLSITE: DefaultCallsite = DefaultCallsite::new(&CONNECTION_WARNING);
static CONNECTION_WARNING: Metadata<'static> = Metadata::new(
    "malformed connection",
    "avisa::http::connections",
    Level::WARN,
    Some(file!()),
    Some(line!()),
    Some(module_path!()),
    FieldSet::new(
        &["message", "detail", "folded_since_last"],
        Identifier(&CONNECTION_CALLSITE),
    ),
    Kind::EVENT,
);

/// Whether an event is actix-http complaining about one client's connection (anyone can cause
/// these). Its errors about avisa's own response bodies are not: they stay at ERROR.
fn is_connection_noise(meta: &Metadata<'_>, message: &str) -> bool {
    matches!(
        meta.target(),
        "actix_http::h1::dispatcher" | "actix_http::h1::decoder"
    ) && *meta.level() <= Level::WARN
        && !message.starts_with("Response payload stream error")
}

/// The `message` field of an event, as text.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.0);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

/// An output layer (the log's formatter) that receives actix-http's per-connection errors as one
/// WARN line a minute, with `detail` (the first one's text) and how many were folded into it;
/// everything else passes through unchanged.
pub struct ConnectionNoise<L> {
    inner: L,
    clock: Arc<dyn Clock>,
    noisy: Noisy,
}

impl<L> ConnectionNoise<L> {
    pub fn new(inner: L, clock: Arc<dyn Clock>) -> ConnectionNoise<L> {
        ConnectionNoise {
            inner,
            clock,
            noisy: Noisy::new(),
        }
    }
}

impl<S: Subscriber, L: Layer<S>> Layer<S> for ConnectionNoise<L> {
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if meta.target().starts_with("actix_http::") {
            let mut message = Message::default();
            event.record(&mut message);
            if is_connection_noise(meta, &message.0) {
                if let Some(folded) = self.noisy.warn_now(self.clock.now()) {
                    let fields = CONNECTION_WARNING.fields();
                    let field = |name| fields.field(name).expect("declared above");
                    let (m, d, f) = (
                        field("message"),
                        field("detail"),
                        field("folded_since_last"),
                    );
                    let summary = "malformed or cut HTTP connection refused";
                    let values: [(&Field, Option<&dyn Value>); 3] = [
                        (&m, Some(&summary)),
                        (&d, Some(&message.0.as_str())),
                        (&f, Some(&folded)),
                    ];
                    let values = fields.value_set(&values);
                    self.inner
                        .on_event(&Event::new(&CONNECTION_WARNING, &values), ctx);
                }
                return;
            }
        }
        self.inner.on_event(event, ctx);
    }

    // Everything else is the inner layer's.

    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.inner.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber);
    }

    fn register_callsite(
        &self,
        metadata: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        self.inner.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.enabled(metadata, ctx)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, span: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.inner.on_record(span, values, ctx);
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.inner.on_follows_from(span, follows, ctx);
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.event_enabled(event, ctx)
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.inner.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.inner.on_id_change(old, new, ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_a_minute_counts_the_ones_folded_into_it() {
        let noisy = Noisy::new();
        assert_eq!(noisy.warn_now(1000), Some(0));
        for t in 1000..1059 {
            assert_eq!(noisy.warn_now(t), None);
        }
        assert_eq!(noisy.warn_now(1060), Some(59));
        assert_eq!(noisy.warn_now(1061), None);
    }
}
