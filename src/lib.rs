//! avisa: WhatsApp messages for Brazilian merchants, from their platforms' webhooks.
//! One binary, one redb data file, a browser console. The rings (DESIGN.md) run inward:
//! `cli` → `app` (wiring) → `jobs`/`http` → `channels` → `queue` → `db` → `render`/`ingest` →
//! `domain`. `queue` defines the channel interface it consumes; `channels` implements it.
#![forbid(unsafe_code)]

pub mod app;
pub mod channels;
pub mod cli;
pub mod db;
pub mod domain;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod media;
pub mod net;
pub mod queue;
pub mod render;
