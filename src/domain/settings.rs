//! Settings that merchants tune in Configurações and Mensagens → Configurações, with their
//! defaults. Storage keeps one JSON document per name.

use serde::{Deserialize, Serialize};

/// Console-wide settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsoleSettings {
    /// The business name shown in the console header.
    pub company_name: String,
    /// Language for new users and the login page: `pt-BR` or `en`.
    pub default_lang: String,
    /// Minutes without activity after which a session ends.
    pub session_idle_minutes: u32,
    /// The URL pública saved in Configurações (empty: none). `--public-url` wins over it; the
    /// effective one comes from `domain::public_url::effective_public_url`.
    pub public_url: String,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            company_name: String::new(),
            default_lang: "pt-BR".to_owned(),
            session_idle_minutes: 8 * 60,
            public_url: String::new(),
        }
    }
}

/// How avisa plans messages for buyers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageSettings {
    /// Reminders a buyer may get in `cap_window_hours` (confirmations never count).
    pub buyer_cap: u32,
    pub cap_window_hours: u32,
    /// A payment in one store silences cart and payment reminders of another store for the same
    /// buyer phone and product.
    pub cross_store_happy_path: bool,
    /// Planning defers messages out of these hours (Brasília time).
    pub quiet_hours: crate::domain::planning::QuietHours,
    /// The merchant's own numbers (E.164): never capped, marked as tests.
    pub test_numbers: Vec<String>,
    /// A buyer's reply that is exactly one of these words (any case, accents ignored) puts
    /// them on the opt-out list.
    pub opt_out_words: Vec<String>,
    /// Sent once to a buyer who opted out by reply.
    pub opt_out_confirmation: String,
    /// A payment counts as recovered when a recovery message for the order went out at most
    /// this many days before it (Relatórios).
    pub attribution_days: u32,
}

impl Default for MessageSettings {
    fn default() -> Self {
        MessageSettings {
            buyer_cap: 3,
            cap_window_hours: 24,
            cross_store_happy_path: true,
            quiet_hours: crate::domain::planning::QuietHours::default(),
            test_numbers: Vec::new(),
            opt_out_words: crate::domain::inbox::DEFAULT_OPT_OUT_WORDS
                .iter()
                .map(|w| (*w).to_owned())
                .collect(),
            opt_out_confirmation: crate::domain::inbox::DEFAULT_OPT_OUT_CONFIRMATION.to_owned(),
            attribution_days: crate::domain::report::DEFAULT_ATTRIBUTION_DAYS,
        }
    }
}

/// Backups and data retention, edited in Configurações by admins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OpsSettings {
    /// Take a backup every day.
    pub backup_enabled: bool,
    /// Where scheduled backups go; empty means `backups/` inside the data directory.
    pub backup_dir: String,
    /// How many scheduled backups to keep (the oldest are deleted).
    pub backup_keep: u32,
    /// Raw webhook bodies (and message texts) older than this many days are deleted; counts
    /// and the events' readings stay. 0 keeps everything.
    pub retention_days: u32,
}

impl Default for OpsSettings {
    fn default() -> Self {
        OpsSettings {
            backup_enabled: false,
            backup_dir: String::new(),
            backup_keep: 7,
            retention_days: 180,
        }
    }
}
