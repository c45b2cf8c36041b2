//! The figures pages share: headline figures of a set of report counters (Relatórios, the
//! dashboard) and the last 7 days of one store or instance (their pages).

use actix_web::web;
use minijinja::{Value, context};

use crate::db::ReportFilter;

use crate::domain::money::format_brl;
use crate::domain::report::{Counter, Counters};
use crate::domain::report::{Period, rate};
use crate::domain::{InstanceId, StoreId};
use crate::http::AppState;
use crate::http::error::ApiError;

/// Headline figures of a set of counters, for the page, the dashboard and the summaries.
pub fn figures(c: &Counters) -> Value {
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

/// The last 7 days of one store or one instance (their pages show it).
pub async fn last_week_summary(
    state: &web::Data<AppState>,
    store_id: Option<StoreId>,
    instance_id: Option<InstanceId>,
) -> Result<Value, ApiError> {
    let period = Period::last_days(state.clock.now(), 7);
    let totals = state
        .run(move |db| {
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
