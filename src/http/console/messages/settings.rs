//! Buyer protection in the console: the message settings (per-buyer cap, the cross-store happy
//! path, quiet hours, the merchant's test numbers) for admins, and the opt-out list
//! (descadastros). Anyone logged in may see the list and add a buyer to it (attendants get the
//! "pare de me mandar" requests); only admins change settings or take a buyer off the list.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::domain::MessageSettings;
use crate::domain::Phone;
use crate::domain::planning::QuietHours;
use crate::http::AppState;
use crate::http::auth::{AdminViewer, Viewer, redirect};
use crate::http::console::Page;
use crate::http::console::view::count_flash;
use crate::http::error::ApiError;

/// Limits of the numeric settings, shown in the form too.
const MAX_BUYER_CAP: u32 = 50;
const MAX_WINDOW_HOURS: u32 = 7 * 24;
/// More test numbers than a merchant owns phones is a mistake.
const MAX_TEST_NUMBERS: usize = 50;
/// Opt-out words: a short list of short words (a sentence would never match a whole reply).
const MAX_OPT_OUT_WORDS: usize = 20;
const MAX_OPT_OUT_WORD: usize = 40;
const MAX_CONFIRMATION: usize = 1000;
/// A payment months after a reminder is not the reminder's doing.
const MAX_ATTRIBUTION_DAYS: u32 = 90;

/// The settings form as posted. Checkboxes send nothing when unticked.
#[derive(Debug, Default, Deserialize)]
pub struct MessageSettingsForm {
    #[serde(default)]
    buyer_cap: String,
    #[serde(default)]
    cap_window_hours: String,
    cross_store_happy_path: Option<String>,
    #[serde(default)]
    quiet_start: String,
    #[serde(default)]
    quiet_end: String,
    #[serde(default)]
    test_numbers: String,
    #[serde(default)]
    opt_out_words: String,
    #[serde(default)]
    opt_out_confirmation: String,
    /// Empty keeps the default (a form from before the setting existed).
    #[serde(default)]
    attribution_days: String,
}

/// Why the settings form was refused: a catalog key, and the line and value it is about.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct SettingsError {
    key: &'static str,
    line: usize,
    value: String,
}

impl SettingsError {
    fn plain(key: &'static str) -> SettingsError {
        SettingsError {
            key,
            line: 0,
            value: String::new(),
        }
    }
}

/// `HH:MM` as minutes after midnight.
fn parse_hhmm(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && !text.trim().starts_with('+')).then_some(h * 60 + m)
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Every non-empty line a phone, normalised; the first bad one is named by its line number.
pub(super) fn parse_test_numbers(text: &str) -> Result<Vec<String>, SettingsError> {
    let mut numbers = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let phone = Phone::parse(line).map_err(|_| SettingsError {
            key: "messages.settings.error.test_number",
            line: index + 1,
            value: line.to_owned(),
        })?;
        let phone = phone.as_str().to_owned();
        if !numbers.contains(&phone) {
            numbers.push(phone);
        }
    }
    if numbers.len() > MAX_TEST_NUMBERS {
        return Err(SettingsError::plain("messages.settings.error.too_many"));
    }
    Ok(numbers)
}

/// Words separated by commas or lines, without repeats. None given means the shipped words:
/// a buyer can always opt out.
pub(super) fn parse_opt_out_words(text: &str) -> Result<Vec<String>, SettingsError> {
    let mut words: Vec<String> = Vec::new();
    for word in text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        if word.chars().count() > MAX_OPT_OUT_WORD {
            return Err(SettingsError {
                key: "messages.settings.error.opt_out_word",
                line: 0,
                value: word.to_owned(),
            });
        }
        let folded = crate::domain::inbox::fold(word);
        if !words
            .iter()
            .any(|w| crate::domain::inbox::fold(w) == folded)
        {
            words.push(word.to_owned());
        }
    }
    if words.len() > MAX_OPT_OUT_WORDS {
        return Err(SettingsError::plain(
            "messages.settings.error.opt_out_words",
        ));
    }
    if words.is_empty() {
        words = crate::domain::inbox::DEFAULT_OPT_OUT_WORDS
            .iter()
            .map(|w| (*w).to_owned())
            .collect();
    }
    Ok(words)
}

fn parse_confirmation(text: &str) -> Result<String, SettingsError> {
    let text = text.trim();
    if text.chars().count() > MAX_CONFIRMATION {
        return Err(SettingsError::plain("messages.settings.error.confirmation"));
    }
    Ok(if text.is_empty() {
        crate::domain::inbox::DEFAULT_OPT_OUT_CONFIRMATION.to_owned()
    } else {
        text.to_owned()
    })
}

fn parse_settings(form: &MessageSettingsForm) -> Result<MessageSettings, SettingsError> {
    let buyer_cap = form
        .buyer_cap
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_BUYER_CAP).contains(n))
        .ok_or_else(|| SettingsError::plain("messages.settings.error.cap"))?;
    let cap_window_hours = form
        .cap_window_hours
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_WINDOW_HOURS).contains(n))
        .ok_or_else(|| SettingsError::plain("messages.settings.error.window"))?;
    let (Some(start_min), Some(end_min)) =
        (parse_hhmm(&form.quiet_start), parse_hhmm(&form.quiet_end))
    else {
        return Err(SettingsError::plain("messages.settings.error.quiet"));
    };
    Ok(MessageSettings {
        buyer_cap,
        cap_window_hours,
        cross_store_happy_path: form.cross_store_happy_path.is_some(),
        quiet_hours: QuietHours { start_min, end_min },
        test_numbers: parse_test_numbers(&form.test_numbers)?,
        opt_out_words: parse_opt_out_words(&form.opt_out_words)?,
        opt_out_confirmation: parse_confirmation(&form.opt_out_confirmation)?,
        attribution_days: match form.attribution_days.trim() {
            "" => crate::domain::report::DEFAULT_ATTRIBUTION_DAYS,
            days => days
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_ATTRIBUTION_DAYS).contains(n))
                .ok_or_else(|| SettingsError::plain("reports.settings.error.attribution"))?,
        },
    })
}

fn form_from(settings: &MessageSettings) -> MessageSettingsForm {
    MessageSettingsForm {
        buyer_cap: settings.buyer_cap.to_string(),
        cap_window_hours: settings.cap_window_hours.to_string(),
        cross_store_happy_path: settings.cross_store_happy_path.then(|| "1".to_owned()),
        quiet_start: hhmm(settings.quiet_hours.start_min),
        quiet_end: hhmm(settings.quiet_hours.end_min),
        test_numbers: settings.test_numbers.join("\n"),
        opt_out_words: settings.opt_out_words.join(", "),
        opt_out_confirmation: settings.opt_out_confirmation.clone(),
        attribution_days: settings.attribution_days.to_string(),
    }
}

async fn settings_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    admin: &AdminViewer,
    form: &MessageSettingsForm,
    error: Option<SettingsError>,
) -> Result<HttpResponse, ApiError> {
    let status = match error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let ctx = context! {
        form => context! {
            buyer_cap => form.buyer_cap.clone(),
            cap_window_hours => form.cap_window_hours.clone(),
            cross_store_happy_path => form.cross_store_happy_path.is_some(),
            quiet_start => form.quiet_start.clone(),
            quiet_end => form.quiet_end.clone(),
            test_numbers => form.test_numbers.clone(),
            opt_out_words => form.opt_out_words.clone(),
            opt_out_confirmation => form.opt_out_confirmation.clone(),
        },
        max_confirmation => MAX_CONFIRMATION,
        max_cap => MAX_BUYER_CAP,
        max_window => MAX_WINDOW_HOURS,
        max_attribution => MAX_ATTRIBUTION_DAYS,
        error => error.map(|e| context! { key => e.key, line => e.line.to_string(), value => e.value }),
    };
    Page::new(state, req, &admin, "message_settings.html")
        .menu("messages")
        .status(status)
        .render(ctx)
        .await
}

/// `GET /mensagens/configuracoes`.
pub async fn show_message_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
) -> Result<HttpResponse, ApiError> {
    let settings = state.run(move |db| db.message_settings()).await?;
    settings_page(&state, &req, &admin, &form_from(&settings), None).await
}

/// `POST /mensagens/configuracoes`. Applies to messages planned from now on; planned ones keep
/// their due times.
pub async fn save_message_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    form: web::Form<MessageSettingsForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let settings = match parse_settings(&form) {
        Ok(s) => s,
        Err(e) => return settings_page(&state, &req, &admin, &form, Some(e)).await,
    };
    state
        .run(move |db| db.save_message_settings(&settings))
        .await?;
    tracing::info!(by = admin.0.user.id, "message settings saved");
    Ok(redirect("/mensagens/configuracoes?ok=saved"))
}

#[derive(Debug, Default, Deserialize)]
pub struct OptOutForm {
    #[serde(default)]
    phone: String,
}

async fn opt_outs_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    viewer: &Viewer,
    typed: &str,
    error: Option<&'static str>,
) -> Result<HttpResponse, ApiError> {
    let mut list = state.run(move |db| db.list_opt_outs()).await?;
    list.sort_by(|a, b| b.added_at.cmp(&a.added_at).then(a.phone.cmp(&b.phone)));
    let rows: Vec<Value> = list
        .iter()
        .map(|o| context! { phone => o.phone.clone(), source => o.source.clone(), added_at => o.added_at })
        .collect();
    let status = match error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let ctx = context! { opt_outs => rows, typed => typed, error => error };
    Page::new(state, req, viewer, "opt_outs.html")
        .menu("messages")
        .status(status)
        .render(ctx)
        .await
}

/// `GET /mensagens/descadastros`.
pub async fn list_opt_outs(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    opt_outs_page(&state, &req, &viewer, "", None).await
}

/// `POST /mensagens/descadastros`: the buyer asked to stop; their pending messages are canceled
/// and the page says how many.
pub async fn add_opt_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    form: web::Form<OptOutForm>,
) -> Result<HttpResponse, ApiError> {
    let Ok(phone) = Phone::parse(&form.phone) else {
        let error = Some("messages.opt_outs.error.bad_phone");
        return opt_outs_page(&state, &req, &viewer, &form.phone, error).await;
    };
    let now = state.clock.now();
    let number = phone.as_str().to_owned();
    let canceled = state
        .run(move |db| db.add_opt_out(&number, "console", now))
        .await?;
    tracing::info!(
        by = viewer.user.id,
        canceled,
        "buyer added to the opt-out list"
    );
    let flash = count_flash("opt_out_added", canceled);
    Ok(redirect(&format!("/mensagens/descadastros?ok={flash}")))
}

/// `POST /mensagens/descadastros/remover`: the buyer may get messages again (admins only: it
/// undoes a buyer's own request).
pub async fn remove_opt_out(
    state: web::Data<AppState>,
    admin: AdminViewer,
    form: web::Form<OptOutForm>,
) -> Result<HttpResponse, ApiError> {
    let phone = form.into_inner().phone;
    state.run(move |db| db.remove_opt_out(phone.trim())).await?;
    tracing::info!(by = admin.0.user.id, "buyer removed from the opt-out list");
    Ok(redirect("/mensagens/descadastros?ok=opt_out_removed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> MessageSettingsForm {
        form_from(&MessageSettings::default())
    }

    #[test]
    fn defaults_round_trip_through_the_form() {
        let parsed = parse_settings(&form()).expect("defaults are valid");
        assert_eq!(parsed, MessageSettings::default());
    }

    #[test]
    fn test_numbers_are_normalised_and_the_bad_line_is_named() {
        let ok = parse_test_numbers("(11) 98765-4321\n\n+55 21 99876-5432\n11987654321\n")
            .expect("valid numbers");
        assert_eq!(ok, vec!["+5511987654321", "+5521998765432"]);
        let bad = parse_test_numbers("11987654321\n\n11 9c150-eeca").expect_err("letters");
        assert_eq!(bad.line, 3);
        assert_eq!(bad.value, "11 9c150-eeca");
    }

    #[test]
    fn quiet_hours_and_limits_are_checked() {
        assert_eq!(parse_hhmm("21:00"), Some(1260));
        assert_eq!(parse_hhmm("8:05"), Some(485));
        assert_eq!(parse_hhmm("24:00"), None);
        assert_eq!(parse_hhmm("ab"), None);
        let mut f = form();
        f.buyer_cap = "0".into();
        assert_eq!(
            parse_settings(&f).expect_err("cap 0").key,
            "messages.settings.error.cap"
        );
    }

    #[test]
    fn every_error_has_words_in_every_language() {
        use crate::http::ui::{LANGUAGES, catalog_keys};
        let wanted = [
            "messages.settings.error.test_number",
            "messages.settings.error.too_many",
            "messages.settings.error.cap",
            "messages.settings.error.window",
            "messages.settings.error.quiet",
            "messages.opt_outs.error.bad_phone",
        ];
        for (lang, _) in LANGUAGES {
            let keys = catalog_keys(lang);
            for key in wanted {
                assert!(keys.iter().any(|k| k == key), "{lang} lacks {key}");
            }
        }
    }
}
