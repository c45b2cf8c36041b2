//! Console pages (server-rendered HTML), one submodule per feature. Each handler gathers its data
//! (through `operations` for anything the API does too), then renders one template with `Page`.
//! Shared view helpers live in `view`; error pages in `errors`.

pub mod api_reference;
pub mod custom_kinds;
pub mod dashboard;
mod errors;
pub mod events;
pub mod instances;
pub mod integrations;
pub mod mapping;
pub mod messages;
mod page;
pub mod reports;
pub mod session;
pub mod settings;
pub mod store_api;
pub mod stores;
mod summary;
pub mod templates;
pub mod users;
mod view;
pub mod webhooks;

pub use errors::{html_errors, not_found};
pub use page::Page;
