//! The WhatsApp channel (whatsapp-rust): the only module that names the library.

pub mod backend;
#[cfg(test)]
mod backend_tests;
