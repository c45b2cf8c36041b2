//! The default message templates shipped in `templates/messages/<kind>.txt`, compiled in.

use rust_embed::RustEmbed;

use crate::domain::template::{MessageTemplate, StepDelay, TemplateStep, parse_template_file};
use crate::domain::{EventKind, Platform};

#[derive(RustEmbed)]
#[folder = "templates/messages/"]
struct Defaults;

/// The default template of a kind. A custom kind ships none: until the merchant writes and
/// switches on its text, it is off (an event of it plans nothing) with a greeting to start from.
pub fn default_template(kind: EventKind) -> MessageTemplate {
    if kind.custom().is_some() {
        return MessageTemplate {
            kind,
            enabled: false,
            ask_reply: Default::default(),
            steps: vec![TemplateStep {
                delay: StepDelay::After { minutes: 0 },
                parts: vec!["{{ saudacao }}!".to_owned()],
            }],
        };
    }
    let name = format!("{}.txt", kind.as_str());
    let file =
        Defaults::get(&name).unwrap_or_else(|| panic!("default template {name} is compiled in"));
    let text = std::str::from_utf8(&file.data).expect("default templates are UTF-8");
    parse_template_file(kind, text).unwrap_or_else(|e| panic!("default template {name}: {}", e.0))
}

/// The default template of a kind for a store of `platform`: as shipped, except that shipping
/// messages start off on infoproduct platforms, whose buyers receive nothing by post.
pub fn default_template_for(kind: EventKind, platform: Platform) -> MessageTemplate {
    let mut template = default_template(kind);
    if kind.is_shipping() && platform.sells_infoproducts() {
        template.enabled = false;
    }
    template
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infoproduct_stores_start_with_shipping_off() {
        let on = |platform: Platform| -> Vec<&'static str> {
            EventKind::ALL
                .into_iter()
                .filter(|k| k.is_shipping() && default_template_for(*k, platform).enabled)
                .filter_map(EventKind::static_str)
                .collect()
        };
        for platform in [
            Platform::Hotmart,
            Platform::Kiwify,
            Platform::Eduzz,
            Platform::Ticto,
        ] {
            assert!(on(platform).is_empty(), "{platform:?}: {:?}", on(platform));
        }
        let physical = [
            "order.shipped",
            "shipping.out_for_delivery",
            "shipping.delivered",
        ];
        for platform in [
            Platform::Shopify,
            Platform::Braip,
            Platform::Monetizze,
            Platform::Api,
        ] {
            assert_eq!(on(platform), physical, "{platform:?}");
        }
        assert!(default_template_for(EventKind::OrderPaid, Platform::Hotmart).enabled);
    }
}
