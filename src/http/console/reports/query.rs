//! The Relatórios filters as the query string carries them (period, store, instance, kind, test
//! messages), checked into a report filter; shared by the page and the CSV exports.

use serde::Deserialize;

use crate::db::ReportFilter;
use crate::domain::EventKind;
use crate::domain::report::Period;
use crate::domain::{InstanceId, StoreId};

/// The longest custom period (days).
const MAX_DAYS: u32 = 366;
/// Rows in one messages export.
pub const EXPORT_LIMIT: usize = 200_000;
/// Buyers listed as the most messaged.
pub const TOP_BUYERS: usize = 10;

/// The page's filters as the query string carries them; empty means the default or "any".
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ReportQuery {
    /// `hoje`, `7d` (default), `30d` or `custom` (with `de` and `ate`, `AAAA-MM-DD`).
    #[serde(default)]
    pub(super) periodo: String,
    #[serde(default)]
    pub(super) de: String,
    #[serde(default)]
    pub(super) ate: String,
    #[serde(default)]
    pub(super) loja: String,
    #[serde(default)]
    pub(super) instancia: String,
    #[serde(default)]
    pub(super) tipo: String,
    /// Count sandbox and test-number messages too.
    #[serde(default)]
    pub(super) testes: String,
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
            k => Some(EventKind::parse_with_custom(k).ok_or("reports.error.filter")?),
        };
        Ok(ReportFilter {
            first_day: period.first,
            last_day: period.last,
            store_id: id(&self.loja)?.map(StoreId),
            instance_id: id(&self.instancia)?.map(InstanceId),
            kind,
            include_test: !self.testes.is_empty(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
