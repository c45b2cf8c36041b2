//! Runtime settings that merchants tune in Configurações, one JSON document per name.

use super::{Db, DbError, from_json, tables, to_json};
use crate::domain::{ConsoleSettings, MessageSettings, OpsSettings};

const CONSOLE: &str = "console";
const MESSAGES: &str = "messages";

impl Db {
    pub fn console_settings(&self) -> Result<ConsoleSettings, DbError> {
        let read = self.begin_read()?;
        read_console_settings(&read.open_table(tables::SETTINGS)?)
    }

    pub fn save_console_settings(&self, settings: &ConsoleSettings) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        txn.open_table(tables::SETTINGS)?
            .insert(CONSOLE, to_json(settings)?.as_slice())?;
        txn.commit()?;
        Ok(())
    }
}

impl Db {
    pub fn message_settings(&self) -> Result<MessageSettings, DbError> {
        let read = self.begin_read()?;
        read_message_settings(&read.open_table(tables::SETTINGS)?)
    }

    pub fn save_message_settings(&self, settings: &MessageSettings) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        txn.open_table(tables::SETTINGS)?
            .insert(MESSAGES, to_json(settings)?.as_slice())?;
        txn.commit()?;
        Ok(())
    }
}

const OPS: &str = "ops";

impl Db {
    pub fn ops_settings(&self) -> Result<OpsSettings, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::SETTINGS)?;
        match table.get(OPS)? {
            Some(bytes) => from_json(bytes.value()),
            None => Ok(OpsSettings::default()),
        }
    }

    pub fn save_ops_settings(&self, settings: &OpsSettings) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        txn.open_table(tables::SETTINGS)?
            .insert(OPS, to_json(settings)?.as_slice())?;
        txn.commit()?;
        Ok(())
    }
}

/// The console settings as seen by a transaction (planning reads the company name, the store's
/// buyer-facing name when it has none of its own).
pub(super) fn read_console_settings(
    table: &impl redb::ReadableTable<&'static str, &'static [u8]>,
) -> Result<ConsoleSettings, DbError> {
    match table.get(CONSOLE)? {
        Some(bytes) => from_json(bytes.value()),
        None => Ok(ConsoleSettings::default()),
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
