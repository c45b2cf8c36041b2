//! The instance page's deliverability panels (issue 15): the warm-up schedule with today's
//! allowance, the number's health figures with plain advice, the policy's state and log, the
//! "Boas práticas" panel; and the admin actions: save the warm-up, resume a slowed or paused
//! number.

use actix_web::{HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::domain::deliverability::{Counts, HealthDay, Level, WarmUp};
use crate::domain::report::day_number;
use crate::domain::{Instance, InstanceId};
use crate::http::AppState;
use crate::http::auth::{AdminViewer, redirect};
use crate::http::error::ApiError;

/// Days the health figures sum (the policy's default window).
const FIGURE_DAYS: i32 = 7;
/// Days the unanswered figure looks back (WhatsApp's monthly cap on unanswered messages).
const UNANSWERED_DAYS: i32 = 30;

/// What the page needs: the instance's panels as a template value.
pub async fn panels(state: &AppState, id: InstanceId) -> Result<Value, ApiError> {
    let now = state.clock.now();
    let today = day_number(now);
    let (instance, days) = state
        .run(move |db| {
            Ok((
                db.instance(id)?,
                db.health_days(id, today - UNANSWERED_DAYS + 1, today)?,
            ))
        })
        .await?;
    Ok(view(&instance, &days, today, now))
}

/// The panels of `instance` at `now` (`days`: its health counters of the last 30 days).
pub fn view(instance: &Instance, days: &[(i32, HealthDay)], today: i32, now: i64) -> Value {
    let week = Counts::of(
        days.iter()
            .filter(|(d, _)| *d > today - FIGURE_DAYS)
            .map(|(_, c)| c),
    );
    let month = Counts::of(days.iter().map(|(_, c)| c));
    let warm = &instance.warmup;
    let current = warm.day_index(now).filter(|_| warm.new_number);
    let schedule: Vec<Value> = warm
        .schedule
        .iter()
        .enumerate()
        .map(|(i, n)| context! { day => i + 1, allowed => n, today => current == Some(i), past => current.is_some_and(|c| i < c) })
        .collect();
    let ramp_over = current.is_some_and(|c| c >= warm.schedule.len());
    let log: Vec<Value> = instance
        .health
        .log
        .iter()
        .rev()
        .take(10)
        .map(|l| context! { at => l.at, level => l.level.as_str(), reason => l.reason.clone() })
        .collect();
    context! {
        level => instance.health.level.as_str(),
        reason => instance.health.reason.clone(),
        since => instance.health.since,
        timelock_until => instance.health.timelock_until,
        timelock_active => instance.health.timelock_until.is_some_and(|until| until > now),
        timelock_checked_at => instance.health.timelock_checked_at,
        log => log,
        new_number => warm.new_number,
        by_pairing => warm.by_pairing && warm.new_number,
        paired_number => warm.paired_number.clone(),
        started_on => crate::domain::sending::local_day(warm.since).strftime("%d/%m/%Y").to_string(),
        ramp_over => ramp_over,
        schedule => schedule,
        schedule_text => warm.schedule_text(),
        allowance => instance.allowance(now),
        sent_today => instance.sent_on(now),
        interval_s => instance.effective_pacing().interval_s,
        week => crate::http::console::view::ser(&week),
        unanswered_pct_month => month.unanswered_pct(),
        unanswered_month => month.unanswered,
        sent_month => month.sent,
        advice => advice(instance, &week, &month, now),
    }
}

/// The advice keys (`deliverability.advice.<key>`) the figures call for, most urgent first.
pub fn advice(instance: &Instance, week: &Counts, month: &Counts, now: i64) -> Vec<&'static str> {
    let mut out = Vec::new();
    match instance.health.level {
        Level::Paused => out.push("paused"),
        Level::Slowed => out.push("slowed"),
        Level::Normal => {}
    }
    if week.nacks_463 > 0 {
        out.push("nacks_463");
    } else if week.nacks() > 0 {
        out.push("nacks");
    }
    if month.sent >= 20 && month.unanswered_pct() >= 80 {
        out.push("unanswered");
    }
    if instance.pacing.interval_s < crate::domain::sending::Pacing::WARN_BELOW_S {
        out.push("interval");
    }
    // A number added days ago that has barely sent is likely new: suggest the warm-up.
    if !instance.warmup.new_number && now - instance.created_at < 10 * 86_400 && month.sent < 50 {
        out.push("new_number");
    }
    if out.is_empty() {
        out.push("healthy");
    }
    out
}

#[derive(Debug, Default, Deserialize)]
pub struct WarmUpForm {
    new_number: Option<String>,
    #[serde(default)]
    schedule: String,
}

/// `POST /instancias/{id}/aquecimento`: "número novo" and the schedule. Turning it on starts
/// the ramp today.
pub async fn save_warmup(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<InstanceId>,
    form: web::Form<WarmUpForm>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let schedule = WarmUp::parse_schedule(&form.schedule).map_err(ApiError::Validation)?;
    let new_number = form.new_number.is_some();
    let now = state.clock.now();
    state
        .run(move |db| {
            db.update_instance(id, |i| {
                if new_number && !i.warmup.new_number {
                    i.warmup.since = now;
                    i.warmup.by_pairing = false;
                }
                i.warmup.new_number = new_number;
                i.warmup.schedule = schedule;
            })
        })
        .await?;
    tracing::info!(
        instance_id = id.0,
        by = admin.0.user.id,
        new_number,
        "warm-up saved"
    );
    Ok(redirect(&format!("/instancias/{id}?ok=saved#entrega")))
}

/// `POST /instancias/{id}/retomar`: the merchant resumes a slowed or paused number.
pub async fn resume_instance(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<InstanceId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let now = state.clock.now();
    state.run(move |db| db.resume_instance(id, now)).await?;
    state.outbox_wake.notify_one();
    tracing::warn!(
        instance_id = id.0,
        by = admin.0.user.id,
        "deliverability: resumed by the merchant"
    );
    Ok(redirect(&format!("/instancias/{id}?ok=saved#entrega")))
}
