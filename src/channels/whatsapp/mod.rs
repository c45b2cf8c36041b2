//! The WhatsApp channel (whatsapp-rust behind `queue::Channel`). Everything that names the
//! library lives under this module: the channel (`client`), its supervisor task (`supervisor`),
//! the pure event mapping (`events`), sending (`send`) and the library's device and Signal state
//! over avisa's redb file (`backend`).

pub mod backend;
#[cfg(test)]
mod backend_tests;
pub mod client;
#[cfg(test)]
mod deliverability_tests;
pub mod events;
mod lid;
pub mod media;
pub mod send;
mod supervisor;
mod timelock;

pub use client::{
    BUNDLED_VERSION, Supervisors, WHATSAPP_WEB_URL, WhatsappChannel, WhatsappConfig, factory,
};
