//! The work queues between the web and WhatsApp: the intake (recognised deliveries -> one
//! durable write transaction, shared by every request that is waiting), the outbox (due messages
//! -> the send gate -> a channel), the inbox (buyers' replies -> opt-outs, auto-replies) and an
//! attendant's reply (at once, through the store's instance).
//! Channels are found through `channel::ChannelLookup`, which `channels/` implements. Uses `db`,
//! `ingest` and `domain`.

pub mod channel;
pub mod enrich;
pub mod inbox;
pub mod intake;
pub mod media;
pub mod outbound;
pub mod outbox;
mod outbox_metrics;
pub mod reply;
pub mod simulate;
mod worker;

#[cfg(test)]
mod deliverability_ask_reply_tests;
#[cfg(test)]
mod deliverability_tests;
#[cfg(test)]
mod inbox_tests;
#[cfg(test)]
mod outbox_loop_tests;
#[cfg(test)]
mod outbox_tests;
#[cfg(test)]
mod reply_tests;

pub use intake::{BodyPermit, Intake, IntakeError};
