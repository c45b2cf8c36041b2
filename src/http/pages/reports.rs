//! Relatórios: for a period and filter, what was planned, sent, delivered and read, why messages
//! were canceled, charts per day, results per template and step, the revenue recovered, and how
//! often each buyer was messaged; with CSV exports. Every figure comes from the day-keyed
//! counters (`Db::report_rows`): a page load is a few range reads, never a scan.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use super::events::mask_phone;
use super::report_charts::{PALETTE, Series, stacked_bars};
use crate::db::{BuyerFrequency, ReportFilter, ReportRows};
use crate::domain::EventKind;
use crate::domain::Message;
use crate::domain::money::format_brl;
use crate::domain::report::{CANCEL_REASONS, Counter, Counters};
use crate::domain::report::{Period, day_date, rate};
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::error::{ApiError, blocking};
use crate::http::ui::supported_lang;

/// The longest custom period (days).
const MAX_DAYS: u32 = 366;
/// Rows in one messages export.
pub const EXPORT_LIMIT: usize = 200_000;
/// Buyers listed as the most messaged.
const TOP_BUYERS: usize = 10;

/// The page's filters as the query string carries them; empty means the default or "any".
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReportQuery {
    /// `hoje`, `7d` (default), `30d` or `custom` (with `de` and `ate`, `AAAA-MM-DD`).
    #[serde(default)]
    periodo: String,
    #[serde(default)]
    de: String,
    #[serde(default)]
    ate: String,
    #[serde(default)]
    loja: String,
    #[serde(default)]
    instancia: String,
    #[serde(default)]
    tipo: String,
    /// Count sandbox and test-number messages too.
    #[serde(default)]
    testes: String,
}

impl ReportQuery {
    /// The storage filter, or the catalog key of what is wrong.
    pub fn parse(&self, now: i64) -> Result<ReportFilter, &'static str> {
        let period = match self.periodo.trim() {
            "hoje" | "today" => Period::last_days(now, 1),
            "" | "7d" => Period::last_days(now, 7),
            "30d" => Period::last_days(now, 30),
            "custom" => {
                let date = |s: &str| s.trim().parse::<jiff::civil::Date>().ok();
                let (Some(a), Some(b)) = (date(&self.de), date(&self.ate)) else {
                    return Err("reports.error.dates");
                };
                Period::between(a, b, MAX_DAYS).ok_or("reports.error.too_long")?
            }
            _ => return Err("reports.error.period"),
        };
        let id = |s: &str| -> Result<Option<u64>, &'static str> {
            match s.trim() {
                "" => Ok(None),
                v => v.parse().map(Some).map_err(|_| "reports.error.filter"),
            }
        };
        let kind = match self.tipo.trim() {
            "" => None,
            k => Some(EventKind::parse(k).ok_or("reports.error.filter")?),
        };
        Ok(ReportFilter {
            first_day: period.first,
            last_day: period.last,
            store_id: id(&self.loja)?,
            instance_id: id(&self.instancia)?,
            kind,
            include_test: !self.testes.is_empty(),
        })
    }
}

/// Headline figures of a set of counters, for the page, the dashboard and the summaries.
pub(super) fn figures(c: &Counters) -> Value {
    let sent = c.get(Counter::Sent);
    context! {
        planned => c.get(Counter::Planned),
        pending => c.get(Counter::Pending),
        sent => sent,
        delivered => c.get(Counter::Delivered),
        read => c.get(Counter::Read),
        failed => c.get(Counter::Failed),
        expired => c.get(Counter::Expired),
        canceled => c.get(Counter::Canceled),
        delivery_rate => rate(c.get(Counter::Delivered), sent),
        read_rate => rate(c.get(Counter::Read), sent),
        attempts => c.get(Counter::Attempts),
        recovered => c.get(Counter::Recovered),
        recovered_brl => format_brl(c.get(Counter::RecoveredCents)),
        recovered_share => rate(c.get(Counter::Recovered), c.get(Counter::Attempts)),
        refunded => c.get(Counter::Refunded),
        refunded_brl => format_brl(c.get(Counter::RefundedCents)),
        kept_brl => format_brl(c.get(Counter::RecoveredCents) - c.get(Counter::RefundedCents)),
    }
}

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
        "unmapped" | "invalid" => t(&format!("reports.events.{b}")),
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
        top_buyers => frequency.top.iter().map(|b| context! { phone => mask_phone(&b.phone), messages => b.messages }).collect::<Vec<_>>(),
        first => day_date(filter.first_day).strftime("%d/%m/%Y").to_string(),
        last => day_date(filter.last_day).strftime("%d/%m/%Y").to_string(),
        days => days.len(),
    }
}

/// `GET /relatorios`.
pub async fn reports(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let query = query.into_inner();
    let lang = supported_lang(&viewer.user.lang);
    let parsed = query.parse(now);
    let db = state.db.clone();
    let filter_for_load = parsed.clone().ok();
    let (stores, instances, settings, loaded) = blocking(move || {
        let loaded = match filter_for_load {
            Some(f) => Some((db.report_rows(&f)?, db.buyer_frequency(&f, TOP_BUYERS)?)),
            None => None,
        };
        Ok((
            db.list_stores()?,
            db.list_instances()?,
            db.message_settings()?,
            loaded,
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
    super::render(
        &state,
        &req,
        Some(&viewer),
        "reports.html",
        "reports",
        context! {
            q => context! {
                periodo => if query.periodo.is_empty() { "7d".to_owned() } else { query.periodo.clone() },
                de => query.de, ate => query.ate, loja => query.loja,
                instancia => query.instancia, tipo => query.tipo, testes => !query.testes.is_empty(),
            },
            error => parsed.err(),
            report => report,
            stores => stores.iter().map(|s| context! { id => s.id.to_string(), name => s.name.clone() }).collect::<Vec<_>>(),
            instances => instances.iter().map(|i| context! { id => i.id.to_string(), name => i.name.clone() }).collect::<Vec<_>>(),
            kinds => EventKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            attribution_days => settings.attribution_days,
            export_query => export_query,
            export_limit => EXPORT_LIMIT,
        },
    )
    .await
}

/// One CSV field: quoted when it must be (RFC 4180), and a leading `= + - @` defused so a
/// spreadsheet never runs a buyer's name as a formula.
fn csv_field(value: &str) -> String {
    let value = match value.chars().next() {
        Some('=' | '+' | '-' | '@') if value.parse::<f64>().is_err() => format!("'{value}"),
        _ => value.to_owned(),
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn csv_line(out: &mut String, fields: &[String]) {
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

fn csv_response(name: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

fn decimal(rate: Option<f64>) -> String {
    rate.map(|r| format!("{r:.1}")).unwrap_or_default()
}

fn cents(c: i64) -> String {
    format!("{}.{:02}", c / 100, (c % 100).abs())
}

/// `GET /relatorios/tabela.csv`: per day, template and step, the counters of the period.
pub async fn export_report_table(
    state: web::Data<AppState>,
    _viewer: Viewer,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = query
        .parse(state.clock.now())
        .map_err(|k| ApiError::Validation(format!("report filter: {k}")))?;
    let db = state.db.clone();
    let rows = blocking(move || db.report_rows(&filter)).await?;
    let mut grouped: BTreeMap<(i32, u64, EventKind, u32), Counters> = BTreeMap::new();
    for (k, c) in &rows.rows {
        grouped
            .entry((k.day, k.store_id, k.kind, k.step))
            .or_default()
            .add(c);
    }
    let mut out = String::new();
    let mut header: Vec<String> = [
        "day",
        "store_id",
        "kind",
        "step",
        "planned",
        "pending",
        "sent",
        "delivered",
        "read",
        "failed",
        "expired",
        "canceled",
        "delivery_rate",
        "read_rate",
        "recovery_attempts",
        "recovered_orders",
        "recovered_brl",
        "refunded_orders",
        "refunded_brl",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    header.extend(
        CANCEL_REASONS
            .iter()
            .map(|(_, code)| format!("canceled_{code}")),
    );
    csv_line(&mut out, &header);
    for ((day, store_id, kind, step), c) in grouped {
        let mut fields = vec![
            day_date(day).to_string(),
            store_id.to_string(),
            kind.as_str().to_owned(),
            step.to_string(),
        ];
        for counter in [
            Counter::Planned,
            Counter::Pending,
            Counter::Sent,
            Counter::Delivered,
            Counter::Read,
            Counter::Failed,
            Counter::Expired,
            Counter::Canceled,
        ] {
            fields.push(c.get(counter).to_string());
        }
        fields.push(decimal(rate(
            c.get(Counter::Delivered),
            c.get(Counter::Sent),
        )));
        fields.push(decimal(rate(c.get(Counter::Read), c.get(Counter::Sent))));
        fields.push(c.get(Counter::Attempts).to_string());
        fields.push(c.get(Counter::Recovered).to_string());
        fields.push(cents(c.get(Counter::RecoveredCents)));
        fields.push(c.get(Counter::Refunded).to_string());
        fields.push(cents(c.get(Counter::RefundedCents)));
        fields.extend(CANCEL_REASONS.iter().map(|(r, _)| c.get(*r).to_string()));
        csv_line(&mut out, &fields);
    }
    Ok(csv_response("avisa-relatorio.csv", out))
}

/// `GET /relatorios/mensagens.csv`: the messages that count in the period.
pub async fn export_report_messages(
    state: web::Data<AppState>,
    _viewer: Viewer,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = query
        .parse(state.clock.now())
        .map_err(|k| ApiError::Validation(format!("report filter: {k}")))?;
    let db = state.db.clone();
    let (messages, _more) = blocking(move || db.report_messages(&filter, EXPORT_LIMIT)).await?;
    let mut out = String::new();
    csv_line(
        &mut out,
        &[
            "id",
            "store_id",
            "instance_id",
            "kind",
            "step",
            "part",
            "order_id",
            "phone",
            "buyer_name",
            "status",
            "reason",
            "created_at",
            "due_at",
            "sent_at",
            "test",
            "text",
        ]
        .map(str::to_owned),
    );
    for m in &messages {
        csv_line(&mut out, &message_fields(m));
    }
    Ok(csv_response("avisa-mensagens.csv", out))
}

fn iso(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn message_fields(m: &Message) -> Vec<String> {
    let sent_at = m
        .history
        .iter()
        .find(|c| c.status == crate::domain::MessageStatus::Sent)
        .map(|c| iso(c.at))
        .unwrap_or_default();
    vec![
        m.id.to_string(),
        m.store_id.to_string(),
        m.instance_id.map(|i| i.to_string()).unwrap_or_default(),
        m.kind.as_str().to_owned(),
        m.step.to_string(),
        m.part.to_string(),
        m.order_id.clone().unwrap_or_default(),
        m.phone.clone(),
        m.buyer_name.clone().unwrap_or_default(),
        m.status.as_str().to_owned(),
        m.reason().unwrap_or_default().to_owned(),
        iso(m.created_at),
        iso(m.due_at),
        sent_at,
        m.test.to_string(),
        m.text.clone(),
    ]
}

/// The last 7 days of one store or one instance (their pages show it).
pub(super) async fn last_week_summary(
    state: &web::Data<AppState>,
    store_id: Option<u64>,
    instance_id: Option<u64>,
) -> Result<Value, ApiError> {
    let period = Period::last_days(state.clock.now(), 7);
    let db = state.db.clone();
    let totals = blocking(move || {
        db.report_rows(&ReportFilter {
            first_day: period.first,
            last_day: period.last,
            store_id,
            instance_id,
            kind: None,
            include_test: false,
        })
    })
    .await?
    .totals();
    Ok(figures(&totals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("Ana"), "Ana");
        assert_eq!(csv_field("Olá, \"Ana\""), "\"Olá, \"\"Ana\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("-12.5"), "-12.5");
        assert_eq!(csv_field("linha\nnova"), "\"linha\nnova\"");
    }

    #[test]
    fn the_period_defaults_to_seven_days_and_custom_needs_dates() {
        let now = 1_795_230_000;
        let q = ReportQuery::default();
        let f = q.parse(now).expect("default");
        assert_eq!(f.last_day - f.first_day, 6);
        let custom = ReportQuery {
            periodo: "custom".into(),
            de: "2026-11-01".into(),
            ate: "2026-11-30".into(),
            ..ReportQuery::default()
        };
        let f = custom.parse(now).expect("custom");
        assert_eq!(f.last_day - f.first_day, 29);
        let bad = ReportQuery {
            periodo: "custom".into(),
            ..ReportQuery::default()
        };
        assert_eq!(bad.parse(now), Err("reports.error.dates"));
    }
}
