//! Media messages' building blocks: the media directive of a template part (`part`), the PIX QR
//! code drawn locally as a PNG (`qr`), what a fetched file really is (`sniff`) and fetching a
//! media URL found in a webhook through `net` with the media policy (`fetch`). Uses `domain`
//! (nothing yet), `net`, qrcode and flate2; names no storage, channel or web code.
//!
//! How the console shows a rendered part is `show` (cards, the QR's `data:` image).
//!
//! Planning stores the rendered directive as the message text; the sender reads it again in the
//! paced slot (`queue::media`) and the console shows it (`show`).

pub mod fetch;
pub mod part;
pub mod qr;
pub mod show;
pub mod sniff;

pub use fetch::{FetchFailure, Fetched, fetch_media};
pub use part::{MediaKind, MediaPart, PartError, parse_part};
pub use qr::pix_qr_png;
pub use show::{Shown, qr_data_uri, shown};
pub use sniff::{SniffError, check_kind, sniff};
