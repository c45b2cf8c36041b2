//! Implementations of `queue::channel`: the fake used by tests and the visible sandbox, the
//! whatsapp-rust client, and the registry that holds every instance's channel (the outbox and
//! inbox see it as a `ChannelLookup`). Uses `queue::channel`, `db` and `domain`.

pub mod fake;
pub mod registry;
pub mod whatsapp;

pub use registry::{Channels, WhatsappFactory};
