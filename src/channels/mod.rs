//! Implementations of `queue::Channel`: WhatsApp (whatsapp-rust) and the fake used by tests and
//! the visible sandbox. Filled by the Outbox and WhatsApp work.
