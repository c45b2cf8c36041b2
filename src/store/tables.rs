//! Every redb table avisa has, in one place. Names carry a version: a change of a table's layout
//! is a new name plus a migration step in `migrate.rs`, never an in-place reinterpretation.

use redb::TableDefinition;

/// `schema_version` and other single facts about the file.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta_v1");
/// Id sequences: next id per kind of record.
pub const SEQUENCES: TableDefinition<&str, u64> = TableDefinition::new("sequences_v1");

/// Console users by id (JSON `UserRecord`).
pub const USERS: TableDefinition<u64, &[u8]> = TableDefinition::new("users_v1");
/// Lower-cased e-mail -> user id. Written in the same transaction as `USERS`.
pub const USERS_BY_EMAIL: TableDefinition<&str, u64> = TableDefinition::new("users_by_email_v1");
/// Sessions by the SHA-256 of their cookie value (JSON `SessionRecord`): a copy of the file does
/// not hand out live sessions.
pub const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sessions_v1");
/// API tokens by the SHA-256 of the token (JSON `ApiTokenRecord`).
pub const API_TOKENS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("api_tokens_v1");
/// Settings documents by name (JSON), edited in Configurações.
pub const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings_v1");
