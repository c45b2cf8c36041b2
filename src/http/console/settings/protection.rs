//! Configurações → "Proteção do número": the thresholds of the throttle/pause policy
//! (`domain::deliverability::Thresholds`), installation-wide, with conservative defaults and a
//! button back to them.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use super::page::settings_page;
use crate::domain::deliverability::Thresholds;
use crate::http::AppState;
use crate::http::auth::{AdminViewer, redirect};
use crate::http::error::ApiError;

/// The form as posted: every threshold as typed. `reset` asks for the defaults.
#[derive(Debug, Default, Deserialize)]
pub struct ThresholdsForm {
    #[serde(default)]
    window_days: String,
    #[serde(default)]
    slow_463: String,
    #[serde(default)]
    pause_463: String,
    #[serde(default)]
    slow_nacks: String,
    #[serde(default)]
    pause_nacks: String,
    #[serde(default)]
    min_sent: String,
    #[serde(default)]
    slow_unanswered_pct: String,
    #[serde(default)]
    pause_unanswered_pct: String,
    reset: Option<String>,
}

/// Why a form was refused: the catalog key of the field's rule.
pub(super) fn parse_thresholds(form: &ThresholdsForm) -> Result<Thresholds, &'static str> {
    let number = |text: &str, range: std::ops::RangeInclusive<u32>, key: &'static str| {
        text.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or(key)
    };
    let t = Thresholds {
        window_days: number(&form.window_days, 1..=30, "protection.error.window")?,
        slow_463: number(&form.slow_463, 1..=100, "protection.error.count")?,
        pause_463: number(&form.pause_463, 1..=100, "protection.error.count")?,
        slow_nacks: number(&form.slow_nacks, 1..=1000, "protection.error.count")?,
        pause_nacks: number(&form.pause_nacks, 1..=1000, "protection.error.count")?,
        min_sent: number(&form.min_sent, 1..=100_000, "protection.error.min_sent")?,
        slow_unanswered_pct: number(&form.slow_unanswered_pct, 0..=100, "protection.error.pct")?,
        pause_unanswered_pct: number(&form.pause_unanswered_pct, 0..=100, "protection.error.pct")?,
    };
    // Pausing before slowing would skip the warning step.
    let after = |slow: u32, pause: u32| pause == 0 || pause >= slow;
    if t.pause_463 < t.slow_463
        || t.pause_nacks < t.slow_nacks
        || (t.slow_unanswered_pct > 0 && !after(t.slow_unanswered_pct, t.pause_unanswered_pct))
    {
        return Err("protection.error.order");
    }
    Ok(t)
}

/// `POST /configuracoes/protecao`: saves the thresholds (or restores the defaults).
pub async fn save_thresholds(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminViewer,
    form: web::Form<ThresholdsForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let parsed = if form.reset.is_some() {
        Ok(Thresholds::default())
    } else {
        parse_thresholds(&form)
    };
    match parsed {
        Ok(thresholds) => {
            let by = admin.0.user.id;
            state.run(move |db| db.save_thresholds(&thresholds)).await?;
            tracing::info!(by, "number protection thresholds saved");
            Ok(redirect("/configuracoes?ok=saved#protection-title"))
        }
        Err(key) => {
            let typed = context! {
                window_days => form.window_days,
                slow_463 => form.slow_463,
                pause_463 => form.pause_463,
                slow_nacks => form.slow_nacks,
                pause_nacks => form.pause_nacks,
                min_sent => form.min_sent,
                slow_unanswered_pct => form.slow_unanswered_pct,
                pause_unanswered_pct => form.pause_unanswered_pct,
            };
            let extra = context! { thresholds => typed, protection_error => key };
            settings_page(
                &state,
                &req,
                &admin,
                extra,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// The saved thresholds for the page (the defaults when never saved).
pub(super) fn view(thresholds: &Thresholds) -> Value {
    Value::from(minijinja::value::Serde(thresholds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> ThresholdsForm {
        let mut f = ThresholdsForm {
            window_days: "7".into(),
            slow_463: "1".into(),
            pause_463: "3".into(),
            slow_nacks: "3".into(),
            pause_nacks: "6".into(),
            min_sent: "50".into(),
            slow_unanswered_pct: "90".into(),
            pause_unanswered_pct: "0".into(),
            reset: None,
        };
        for (k, v) in pairs {
            let v = (*v).to_owned();
            match *k {
                "window_days" => f.window_days = v,
                "slow_463" => f.slow_463 = v,
                "pause_463" => f.pause_463 = v,
                "pause_nacks" => f.pause_nacks = v,
                "slow_unanswered_pct" => f.slow_unanswered_pct = v,
                "pause_unanswered_pct" => f.pause_unanswered_pct = v,
                other => panic!("{other}"),
            }
        }
        f
    }

    #[test]
    fn deliverability_thresholds_form_accepts_the_defaults_and_refuses_what_cannot_work() {
        assert_eq!(parse_thresholds(&form(&[])), Ok(Thresholds::default()));
        let table = [
            (("window_days", "0"), "protection.error.window"),
            (("window_days", "31"), "protection.error.window"),
            (("slow_463", "0"), "protection.error.count"),
            (("slow_463", "dois"), "protection.error.count"),
            (("pause_463", "0"), "protection.error.count"),
            (("slow_unanswered_pct", "101"), "protection.error.pct"),
            // Pausing before slowing skips the warning.
            (("pause_nacks", "2"), "protection.error.order"),
            (("pause_unanswered_pct", "50"), "protection.error.order"),
        ];
        for ((field, value), key) in table {
            assert_eq!(
                parse_thresholds(&form(&[(field, value)])),
                Err(key),
                "{field}={value}"
            );
        }
        let stricter = parse_thresholds(&form(&[("pause_unanswered_pct", "95")])).expect("ok");
        assert_eq!(stricter.pause_unanswered_pct, 95);
    }
}
