//! Implementations of `queue::Channel`: the fake used by tests and the visible sandbox, and
//! (with the WhatsApp work) the whatsapp-rust client.

pub mod fake;
pub mod whatsapp;
