//! avisa's integration tests: one binary, the real server on 127.0.0.1:0, a temporary data
//! directory per test, no sleeps.

mod api_reference;
mod api_send;
mod architecture;
mod auth;
mod browser;
mod browser_mapping;
mod browser_replies;
mod browser_test_model;
mod browser_walkthrough;
mod dashboard;
mod deliverability;
mod durability;
mod events;
mod instances;
mod invalid_events;
mod limits;
mod mapping;
mod messages;
mod ops;
mod packaging;
pub mod pairing;
mod process;
mod public_url;
mod replies;
mod reports;
mod routes;
mod storage;
mod stores;
mod support;
mod templates;
mod wa_server;
mod walkthrough;
mod whatsapp;
