//! Runtime settings that merchants tune in Configurações, one JSON document per name.

use redb::ReadableDatabase;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, from_json, tables, to_json};

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

impl Store {
    pub fn console_settings(&self) -> Result<ConsoleSettings, StoreError> {
        let read = self.db().begin_read()?;
        let table = read.open_table(tables::SETTINGS)?;
        match table.get(CONSOLE)? {
            Some(bytes) => from_json(bytes.value()),
            None => Ok(ConsoleSettings::default()),
        }
    }

    pub fn save_console_settings(&self, settings: &ConsoleSettings) -> Result<(), StoreError> {
        let txn = self.db().begin_write()?;
        txn.open_table(tables::SETTINGS)?
            .insert(CONSOLE, to_json(settings)?.as_slice())?;
        txn.commit()?;
        Ok(())
    }
}
