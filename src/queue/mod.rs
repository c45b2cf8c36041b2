//! Intake (recognised deliveries -> one durable write transaction, shared by every request that
//! is waiting) and, later, the outbox. Uses `db`, `ingest` and `domain`.

pub mod channel;
pub mod channels;
pub mod inbox;
pub mod intake;
pub mod outbox;

#[cfg(test)]
mod inbox_specs;
#[cfg(test)]
mod outbox_specs;
pub mod simulate;

pub use intake::{Intake, IntakeError};
