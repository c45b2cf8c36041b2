//! What the console and the JSON API both do: create, change and delete stores and instances,
//! link them, act on messages, read events, preview templates, stage backups. No actix types
//! here: functions take `&AppState` (or a `&Db` inside `AppState::run`) and typed inputs, and
//! return typed results and errors (`DbError`, or a small enum of refusals with catalog keys).

pub mod api_send;
pub mod backup;
pub mod events;
pub mod instances;
pub mod mappings;
pub mod messages;
pub mod stores;
pub mod templates;
pub mod webhooks;
