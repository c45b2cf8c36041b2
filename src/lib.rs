//! avisa: WhatsApp messages for Brazilian merchants, from their platforms' webhooks.
//! One binary, one redb data file, a browser console. The rings (DESIGN.md) run inward:
//! `http` → `queue`/`channels` → `db` → `render`/`ingest` → `domain`.
#![forbid(unsafe_code)]

pub mod app;
pub mod channels;
pub mod cli;
pub mod cli_ops;
pub mod db;
pub mod domain;
pub mod http;
pub mod ingest;
pub mod queue;
pub mod render;
