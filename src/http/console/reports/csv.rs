//! The Relatórios CSV exports: the period's table (per day, template and step) and its messages,
//! spreadsheet-safe (RFC 4180 quoting, formulas defused).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};

use super::query::{EXPORT_LIMIT, ReportQuery};
use crate::domain::report::{CANCEL_REASONS, Counter, Counters};
use crate::domain::report::{day_date, rate};
use crate::domain::{EventKind, Message, StoreId};
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::error::ApiError;

/// One CSV field: quoted when it must be (RFC 4180), and a leading `= + - @` defused so a
/// spreadsheet never runs a buyer's name as a formula.
fn csv_field(value: &str) -> String {
    let value = match value.chars().next() {
        // A leading tab or carriage return also starts a formula in some spreadsheets.
        Some('=' | '+' | '-' | '@' | '\t' | '\r') if value.parse::<f64>().is_err() => {
            format!("'{value}")
        }
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
    let rows = state.run(move |db| db.report_rows(&filter)).await?;
    let mut grouped: BTreeMap<(i32, StoreId, EventKind, u32), Counters> = BTreeMap::new();
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
    let (messages, _more) = state
        .run(move |db| db.report_messages(&filter, EXPORT_LIMIT))
        .await?;
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
        assert_eq!(csv_field("\t=1+1"), "'\t=1+1");
        assert_eq!(csv_field("\r=1+1"), "\"'\r=1+1\"");
    }
}
