//! The warm-up of a new number: for its first days a number marked "número novo" may send only
//! a few messages a day, growing day by day, as a person who just got a phone would. The
//! schedule is data (the merchant edits it on the instance page); after its last day the
//! instance's own daily limit applies. The ramp starts by itself on the day an instance is first
//! paired in this data file, and again when a different number is paired to it ([`WarmUp::paired`]).

use serde::{Deserialize, Serialize};

use crate::domain::sending::local_day;

/// Sends allowed on the 1st, 2nd, … Brasília day of the warm-up: 20 → 40 → 80 → 150 → 300 over
/// ten days, two days at each step (the ramps Evolution API / WAHA users report surviving).
pub const DEFAULT_SCHEDULE: [u32; 10] = [20, 20, 40, 40, 80, 80, 150, 150, 300, 300];

/// An instance's warm-up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WarmUp {
    /// "Número novo": the ramp applies.
    pub new_number: bool,
    /// When the ramp started (day 1 is this instant's Brasília day).
    pub since: i64,
    pub schedule: Vec<u32>,
    /// The number the instance was last paired with in this data file (E.164); `None`: never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paired_number: Option<String>,
    /// The ramp was started by a pairing, not marked by the merchant.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub by_pairing: bool,
}

impl Default for WarmUp {
    fn default() -> Self {
        WarmUp {
            new_number: false,
            since: 0,
            schedule: DEFAULT_SCHEDULE.to_vec(),
            paired_number: None,
            by_pairing: false,
        }
    }
}

impl WarmUp {
    /// A ramp starting at `now`.
    pub fn starting(now: i64) -> WarmUp {
        WarmUp {
            new_number: true,
            since: now,
            ..WarmUp::default()
        }
    }

    /// The instance is connected as `number` at `now`. The first pairing in this data file
    /// starts the ramp on that day, and so does a different number (another account: no
    /// history here, whatever the old one had); the same number again changes nothing (a
    /// reconnect, or re-pairing after "desconectar"), nor does a first pairing of an instance
    /// that `sent_before` (paired before avisa remembered numbers: an established number).
    /// Returns why the ramp started, for the instance's log: `warmup_first_pairing` or
    /// `warmup_other_number`.
    pub fn paired(&mut self, number: &str, sent_before: bool, now: i64) -> Option<&'static str> {
        let first = match self.paired_number.as_deref() {
            Some(known) if known == number => return None,
            known => known.is_none(),
        };
        self.paired_number = Some(number.to_owned());
        if first && sent_before {
            return None;
        }
        self.new_number = true;
        self.since = now;
        self.by_pairing = true;
        Some(if first {
            "warmup_first_pairing"
        } else {
            "warmup_other_number"
        })
    }

    /// The warm-up day `now` falls on, from 0; `None` before it started.
    pub fn day_index(&self, now: i64) -> Option<usize> {
        let days = local_day(now).since(local_day(self.since)).ok()?.get_days();
        usize::try_from(days).ok()
    }

    /// The most sends the ramp allows on `now`'s Brasília day; `None` when the number is not
    /// new or its schedule is over (the daily limit alone applies then).
    pub fn allowance(&self, now: i64) -> Option<u32> {
        if !self.new_number {
            return None;
        }
        self.schedule.get(self.day_index(now)?).copied()
    }

    /// The schedule as the instance form shows it: `20, 20, 40, …`.
    pub fn schedule_text(&self) -> String {
        self.schedule
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Reads the form's schedule: whole numbers separated by commas, spaces or arrows, at most
    /// 60 days, each 1 to 100 000. The error is the pt-BR sentence the form shows.
    pub fn parse_schedule(text: &str) -> Result<Vec<u32>, String> {
        let mut out = Vec::new();
        for part in text
            .split(|c: char| c == ',' || c == ';' || c == '→' || c == '>' || c.is_whitespace())
            .map(|p| p.trim_matches('-').trim())
            .filter(|p| !p.is_empty())
        {
            match part.parse::<u32>() {
                Ok(n) if (1..=100_000).contains(&n) => out.push(n),
                _ => {
                    return Err(format!(
                        "\"{part}\" não é um número de envios (1 a 100000)."
                    ));
                }
            }
        }
        if out.is_empty() {
            return Err("Informe ao menos um dia, por exemplo: 20, 40, 80.".to_owned());
        }
        if out.len() > 60 {
            return Err("O aquecimento tem no máximo 60 dias.".to_owned());
        }
        Ok(out)
    }
}
