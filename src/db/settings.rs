//! Runtime settings that merchants tune in Configurações, one JSON document per name.

use redb::ReadableDatabase;
use serde::{Deserialize, Serialize};

use super::{Db, DbError, from_json, tables, to_json};

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
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            company_name: String::new(),
            default_lang: "pt-BR".to_owned(),
            session_idle_minutes: 8 * 60,
        }
    }
}

const CONSOLE: &str = "console";
const MESSAGES: &str = "messages";

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

impl Db {
    pub fn console_settings(&self) -> Result<ConsoleSettings, DbError> {
        let read = self.redb().begin_read()?;
        let table = read.open_table(tables::SETTINGS)?;
        match table.get(CONSOLE)? {
            Some(bytes) => from_json(bytes.value()),
            None => Ok(ConsoleSettings::default()),
        }
    }

    pub fn save_console_settings(&self, settings: &ConsoleSettings) -> Result<(), DbError> {
        let txn = self.redb().begin_write()?;
        txn.open_table(tables::SETTINGS)?
            .insert(CONSOLE, to_json(settings)?.as_slice())?;
        txn.commit()?;
        Ok(())
    }
}

impl Db {
    pub fn message_settings(&self) -> Result<MessageSettings, DbError> {
        let read = self.redb().begin_read()?;
        read_message_settings(&read.open_table(tables::SETTINGS)?)
    }

    pub fn save_message_settings(&self, settings: &MessageSettings) -> Result<(), DbError> {
        let txn = self.redb().begin_write()?;
        txn.open_table(tables::SETTINGS)?
            .insert(MESSAGES, to_json(settings)?.as_slice())?;
        txn.commit()?;
        Ok(())
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

const OPS: &str = "ops";

impl Db {
    pub fn ops_settings(&self) -> Result<OpsSettings, DbError> {
        let read = self.redb().begin_read()?;
        let table = read.open_table(tables::SETTINGS)?;
        match table.get(OPS)? {
            Some(bytes) => from_json(bytes.value()),
            None => Ok(OpsSettings::default()),
        }
    }

    pub fn save_ops_settings(&self, settings: &OpsSettings) -> Result<(), DbError> {
        let txn = self.redb().begin_write()?;
        txn.open_table(tables::SETTINGS)?
            .insert(OPS, to_json(settings)?.as_slice())?;
        txn.commit()?;
        Ok(())
    }
}

/// The message settings as seen by a transaction (planning reads them inside its write).
pub(super) fn read_message_settings(
    table: &impl redb::ReadableTable<&'static str, &'static [u8]>,
) -> Result<MessageSettings, DbError> {
    match table.get(MESSAGES)? {
        Some(bytes) => from_json(bytes.value()),
        None => Ok(MessageSettings::default()),
    }
}
