//! The default message templates shipped in `templates/messages/<kind>.txt`, compiled in.

use rust_embed::RustEmbed;

use crate::domain::EventKind;
use crate::domain::template::{MessageTemplate, parse_template_file};

#[derive(RustEmbed)]
#[folder = "templates/messages/"]
struct Defaults;

/// The default template of a kind.
pub fn default_template(kind: EventKind) -> MessageTemplate {
    let name = format!("{}.txt", kind.as_str());
    let file =
        Defaults::get(&name).unwrap_or_else(|| panic!("default template {name} is compiled in"));
    let text = std::str::from_utf8(&file.data).expect("default templates are UTF-8");
    parse_template_file(kind, text).unwrap_or_else(|e| panic!("default template {name}: {}", e.0))
}
