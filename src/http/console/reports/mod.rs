//! Relatórios: for a period and filter, what was planned, sent, delivered and read, why messages
//! were canceled, charts per day, results per template and step, the revenue recovered, and how
//! often each buyer was messaged; with CSV exports (`csv`) and
//! server-drawn SVG charts (`charts`). Every figure comes from the day-keyed
//! counters (`Db::report_rows`): a page load is a few range reads, never a scan.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};

mod charts;
mod csv;
mod query;

use crate::db::{BuyerFrequency, ReportFilter, ReportRows};

use crate::domain::money::format_brl;
use crate::domain::report::{CANCEL_REASONS, Counter, Counters};
use crate::domain::report::{day_date, rate};
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::console::summary::figures;
use crate::http::console::view::{kind_choices, mask_phone};
use crate::http::error::ApiError;
use crate::http::ui::supported_lang;
use charts::{PALETTE, Series, stacked_bars};

use query::{EXPORT_LIMIT, ReportQuery, TOP_BUYERS};

pub use csv::{export_report_messages, export_report_table};

fn day_label(day: i32) -> String {
    day_date(day).strftime("%d/%m").to_string()
}

/// What the page shows, built from the rows (pure, so tests can feed it rows).
fn report_view(
    state: &AppState,
    lang: &str,
    filter: &ReportFilter,
    rows: &ReportRows,
    frequency: &BuyerFrequency,
) -> Value {
    let t = |key: &str| state.ui.text(lang, key);
    let totals = rows.totals();
    let days: Vec<i32> = (filter.first_day..=filter.last_day).collect();
    let labels: Vec<String> = days.iter().map(|d| day_label(*d)).collect();
    let by_day = rows.by_day();
    let per_day = |f: &dyn Fn(&Counters) -> i64| -> Vec<i64> {
        days.iter().map(|d| by_day.get(d).map_or(0, f)).collect()
    };
    let sends_chart = stacked_bars(
        "chart-sends",
        &t("reports.chart.sends_title"),
        &labels,
        &[
            Series {
                label: t("reports.read"),
                color: PALETTE[2],
                values: per_day(&|c| c.get(Counter::Read)),
            },
            Series {
                label: t("reports.delivered_only"),
                color: PALETTE[0],
                values: per_day(&|c| c.get(Counter::Delivered) - c.get(Counter::Read)),
            },
            Series {
                label: t("reports.sent_only"),
                color: PALETTE[4],
                values: per_day(&|c| c.get(Counter::Sent) - c.get(Counter::Delivered)),
            },
        ],
    );
    // Events: the six busiest kinds, the rest together.
    let mut by_bucket: BTreeMap<String, BTreeMap<i32, i64>> = BTreeMap::new();
    for (day, bucket, n) in &rows.events {
        *by_bucket
            .entry(bucket.clone())
            .or_default()
            .entry(*day)
            .or_default() += *n as i64;
    }
    let mut ranked: Vec<(String, i64)> = by_bucket
        .iter()
        .map(|(b, d)| (b.clone(), d.values().sum()))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let bucket_label = |b: &str| match b {
        "unmapped" | "invalid" | "ignored" | "awaiting" => t(&format!("reports.events.{b}")),
        kind => t(&format!("kind.{kind}")),
    };
    let mut series: Vec<Series> = ranked
        .iter()
        .take(6)
        .enumerate()
        .map(|(i, (b, _))| Series {
            label: bucket_label(b),
            color: PALETTE[i],
            values: days
                .iter()
                .map(|d| by_bucket[b].get(d).copied().unwrap_or(0))
                .collect(),
        })
        .collect();
    if ranked.len() > 6 {
        series.push(Series {
            label: t("reports.events.others"),
            color: PALETTE[7],
            values: days
                .iter()
                .map(|d| {
                    ranked[6..]
                        .iter()
                        .map(|(b, _)| by_bucket[b].get(d).copied().unwrap_or(0))
                        .sum()
                })
                .collect(),
        });
    }
    let events_total: i64 = ranked.iter().map(|(_, n)| n).sum();
    let events_chart = stacked_bars(
        "chart-events",
        &t("reports.chart.events_title"),
        &labels,
        &series,
    );
    let templates: Vec<Value> = rows
        .by_template()
        .iter()
        .map(|((kind, step), c)| {
            context! {
                kind => kind.as_str(),
                step => step,
                planned => c.get(Counter::Planned),
                sent => c.get(Counter::Sent),
                read_rate => rate(c.get(Counter::Read), c.get(Counter::Sent)),
                recovered => c.get(Counter::Recovered),
                recovered_brl => format_brl(c.get(Counter::RecoveredCents)),
                refunded => c.get(Counter::Refunded),
            }
        })
        .collect();
    let reasons: Vec<Value> = CANCEL_REASONS
        .iter()
        .filter(|(c, _)| totals.get(*c) > 0)
        .map(|(c, code)| context! { code => *code, count => totals.get(*c) })
        .collect();
    let buyers: u64 = frequency.histogram.iter().sum();
    context! {
        totals => figures(&totals),
        reasons => reasons,
        sends_chart => Value::from_safe_string(sends_chart),
        events_chart => Value::from_safe_string(events_chart),
        events_total => events_total,
        templates => templates,
        histogram => frequency.histogram.to_vec(),
        buyers => buyers,
        top_buyers => frequency.top.iter().map(|b| context! { phone => (!crate::domain::erasure::is_pseudonym(&b.phone)).then(|| mask_phone(&b.phone)), messages => b.messages }).collect::<Vec<_>>(),
        first => day_date(filter.first_day).strftime("%d/%m/%Y").to_string(),
        last => day_date(filter.last_day).strftime("%d/%m/%Y").to_string(),
        days => days.len(),
    }
}

/// `GET /relatorios`.
pub async fn show_reports(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let query = query.into_inner();
    let lang = supported_lang(&viewer.user.lang);
    let parsed = query.parse(now);
    let filter_for_load = parsed.clone().ok();
    let (stores, instances, settings, loaded, custom_kinds) = state
        .run(move |db| {
            let loaded = match filter_for_load {
                Some(f) => Some((db.report_rows(&f)?, db.buyer_frequency(&f, TOP_BUYERS)?)),
                None => None,
            };
            Ok((
                db.list_stores()?,
                db.list_instances()?,
                db.message_settings()?,
                loaded,
                db.list_custom_kinds()?,
            ))
        })
        .await?;
    let report = match (&parsed, &loaded) {
        (Ok(filter), Some((rows, frequency))) => {
            Some(report_view(&state, lang, filter, rows, frequency))
        }
        _ => None,
    };
    let export_query = req.query_string().to_owned();
    let kinds = kind_choices(&custom_kinds, &query.tipo);
    super::Page::new(&state, &req, &viewer, "reports.html").menu("reports").render(context! {
            q => context! {
                periodo => if query.periodo.is_empty() { "7d".to_owned() } else { query.periodo.clone() },
                de => query.de, ate => query.ate, loja => query.loja,
                instancia => query.instancia, tipo => query.tipo, testes => !query.testes.is_empty(),
            },
            error => parsed.err(),
            report => report,
            stores => stores.iter().map(|s| context! { id => s.id.to_string(), name => s.name.clone() }).collect::<Vec<_>>(),
            instances => instances.iter().map(|i| context! { id => i.id.to_string(), name => i.name.clone() }).collect::<Vec<_>>(),
            kinds => kinds,
            attribution_days => settings.attribution_days,
            export_query => export_query,
            export_limit => EXPORT_LIMIT,
        })
    .await
}
