//! Server-rendered console pages: minijinja templates (HTML-escaped) and the per-language string
//! catalogs, both compiled into the binary from `templates/`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use minijinja::{AutoEscape, Environment, State};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "templates/"]
#[include = "ui/*"]
#[include = "i18n/**"]
struct Templates;

/// The languages the console speaks; the first is the default.
pub const LANGUAGES: &[(&str, &str)] = &[("pt-BR", "Português (Brasil)"), ("en", "English")];

type Catalogs = HashMap<String, BTreeMap<String, String>>;

/// The template environment and the catalogs.
pub struct Ui {
    env: Environment<'static>,
    catalogs: Arc<Catalogs>,
}

/// The keys of one language's catalog (for the catalog-parity test).
pub fn catalog_keys(lang: &str) -> Vec<String> {
    load_catalogs()
        .get(lang)
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default()
}

/// Each language's catalog is every `i18n/<lang>/*.json` file merged (one file per area of the
/// console, so parts can grow their strings independently).
fn load_catalogs() -> Catalogs {
    LANGUAGES
        .iter()
        .map(|(lang, _)| {
            let prefix = format!("i18n/{lang}/");
            let mut catalog = BTreeMap::new();
            for name in Templates::iter().filter(|n| n.starts_with(&prefix)) {
                let file = Templates::get(&name).expect("listed catalog exists");
                let part: BTreeMap<String, String> = serde_json::from_slice(&file.data)
                    .unwrap_or_else(|e| panic!("catalog {name} is valid JSON: {e}"));
                for (key, value) in part {
                    assert!(
                        catalog.insert(key.clone(), value).is_none(),
                        "key {key} defined twice in {prefix}"
                    );
                }
            }
            assert!(!catalog.is_empty(), "catalog {prefix} is compiled in");
            ((*lang).to_owned(), catalog)
        })
        .collect()
}

/// Picks a supported language, falling back to the default.
pub fn supported_lang(lang: &str) -> &'static str {
    LANGUAGES
        .iter()
        .map(|(l, _)| *l)
        .find(|l| l.eq_ignore_ascii_case(lang))
        .unwrap_or(LANGUAGES[0].0)
}

impl Ui {
    pub fn load() -> Ui {
        let catalogs = Arc::new(load_catalogs());
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        // Optional page facts (an error, a one-time secret) are simply absent: lenient undefined.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        for name in Templates::iter().filter(|n| n.starts_with("ui/")) {
            let file = Templates::get(&name).expect("listed template exists");
            let source = String::from_utf8(file.data.into_owned()).expect("templates are UTF-8");
            let short = name.trim_start_matches("ui/").to_owned();
            env.add_template_owned(short, source)
                .expect("compiled-in templates parse");
        }
        let for_t = catalogs.clone();
        env.add_function("t", move |state: &State, key: &str| -> String {
            let lang = state
                .lookup("lang")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| LANGUAGES[0].0.to_owned());
            // The merchant's own kinds carry the label they gave them (`custom_kinds`, a map
            // name -> label the layout context holds), else their wire name.
            if let Some(name) = key.strip_prefix("kind.custom.") {
                return state
                    .lookup("custom_kinds")
                    .and_then(|labels| labels.get_attr(name).ok())
                    .filter(|label| !label.is_undefined() && !label.is_none())
                    .map(|label| label.to_string())
                    .unwrap_or_else(|| format!("custom.{name}"));
            }
            translate(&for_t, &lang, key)
        });
        env.add_filter("datetime", format_datetime);
        env.add_filter("first_word", |name: &str| {
            name.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        });
        env.add_filter("code_spans", code_spans);
        Ui { env, catalogs }
    }

    /// Renders a page template with its context.
    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }

    /// A catalog string outside templates (flash messages, errors).
    pub fn text(&self, lang: &str, key: &str) -> String {
        translate(&self.catalogs, lang, key)
    }
}

/// Text written for Markdown readers (integration guides, OpenAPI descriptions) as HTML: escaped,
/// with each `backticked` part in `<code>`; an unmatched backtick stays as it is.
fn code_spans(text: &str) -> minijinja::Value {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#x27;")
    };
    let parts: Vec<&str> = text.split('`').collect();
    let mut html = String::new();
    for (i, part) in parts.iter().enumerate() {
        let closed = i + 1 < parts.len();
        if i % 2 == 1 && closed {
            html.push_str(&format!("<code>{}</code>", escape(part)));
        } else {
            if i % 2 == 1 {
                html.push('`');
            }
            html.push_str(&escape(part));
        }
    }
    minijinja::Value::from_safe_string(html)
}

fn translate(catalogs: &Catalogs, lang: &str, key: &str) -> String {
    catalogs
        .get(lang)
        .and_then(|c| c.get(key))
        .or_else(|| catalogs.get(LANGUAGES[0].0).and_then(|c| c.get(key)))
        .cloned()
        // A custom kind outside a page's context (a report chart's legend): its wire name.
        .or_else(|| {
            key.strip_prefix("kind.")
                .filter(|k| k.starts_with("custom."))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| key.to_owned())
}

/// Unix seconds as `dd/mm/aaaa hh:mm` in Brasília time.
fn format_datetime(unix: i64) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(unix) else {
        return String::new();
    };
    match jiff::tz::TimeZone::get("America/Sao_Paulo") {
        Ok(tz) => ts.to_zoned(tz).strftime("%d/%m/%Y %H:%M").to_string(),
        Err(_) => ts.strftime("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_the_same_keys() {
        let reference = catalog_keys(LANGUAGES[0].0);
        assert!(!reference.is_empty());
        for (lang, _) in LANGUAGES {
            assert_eq!(
                catalog_keys(lang),
                reference,
                "catalog {lang} differs from pt-BR"
            );
        }
    }

    #[test]
    fn every_key_a_template_uses_is_in_the_catalog() {
        let keys = catalog_keys(LANGUAGES[0].0);
        let mut missing = Vec::new();
        for name in Templates::iter().filter(|n| n.starts_with("ui/")) {
            let file = Templates::get(&name).expect("template");
            let source = String::from_utf8_lossy(&file.data).into_owned();
            for part in source.split("t(\"").skip(1) {
                let mut pieces = part.splitn(2, '"');
                let key = pieces.next().unwrap_or_default();
                // Only literal keys: `t("nav." ~ section)` is built at render time.
                let literal = pieces.next().is_some_and(|rest| rest.starts_with(')'));
                if literal && !keys.iter().any(|k| k == key) {
                    missing.push(format!("{name}: {key}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys missing from the catalogs: {missing:?}"
        );
    }

    #[test]
    fn backticked_parts_become_code_and_the_rest_is_escaped() {
        let cases = [
            ("plain", "plain"),
            (
                "as `Authorization: Bearer <token>`.",
                "as <code>Authorization: Bearer &lt;token&gt;</code>.",
            ),
            ("`a` and `b`", "<code>a</code> and <code>b</code>"),
            ("one ` alone", "one ` alone"),
            ("`x` then ` alone", "<code>x</code> then ` alone"),
            ("<script>", "&lt;script&gt;"),
            (
                "campo `event` <b>&</b>, `a<b>` e ` solto",
                "campo <code>event</code> &lt;b&gt;&amp;&lt;/b&gt;, <code>a&lt;b&gt;</code> e ` solto",
            ),
        ];
        for (text, html) in cases {
            assert_eq!(code_spans(text).to_string(), html, "{text}");
        }
    }

    #[test]
    fn every_template_parses() {
        let ui = Ui::load();
        assert!(ui.env.templates().count() > 5);
    }

    #[test]
    fn dates_show_in_brasilia_time() {
        assert_eq!(format_datetime(1_714_576_731), "01/05/2024 12:18");
    }
}
