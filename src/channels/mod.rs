//! Implementations of `queue::Channel`: the fake used by tests and the visible sandbox, and
//! the whatsapp-rust client.

pub mod fake;
pub mod whatsapp;
