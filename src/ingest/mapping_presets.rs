//! Starting mappings for platforms that document their event names but publish no real bodies
//! to build a recogniser from. Each becomes a `custom` store's mapping marked `unverified`
//! ("não verificado com um evento real") until the merchant saves it after a real event.

use serde_json::json;

use super::mapping::Mapping;

/// A preset: its id (the store form's `preset:<id>`), the name merchants know, where its names
/// come from, and the mapping.
pub struct Preset {
    pub id: &'static str,
    pub label: &'static str,
    pub source: &'static str,
    mapping: fn() -> serde_json::Value,
}

/// Every preset. Only names the platform's documents list are mapped; the rest stay unmapped
/// until the merchant decides.
pub const PRESETS: &[Preset] = &[Preset {
    id: "yampi",
    label: "Yampi",
    source: "https://docs.yampi.com.br/api-reference/webhooks",
    // `order.created` and `order.status.updated` carry any payment state: the merchant maps
    // them after seeing one. Catalogue and customer events are not buyer messages.
    mapping: || {
        json!({
            "event_field": "event",
            "kinds": {
                "order.paid": "order.paid",
                "transaction.payment.refused": "payment.refused",
                "cart.reminder": "checkout.abandoned",
                "customer.created": "ignore",
                "customer.address.created": "ignore",
                "product.created": "ignore",
                "product.updated": "ignore",
                "product.deleted": "ignore",
                "product.inventory.updated": "ignore",
                "order.invoice.created": "ignore",
                "order.invoice.updated": "ignore",
            },
            "fields": { "order_id": "resource.id", "occurred_at": "time" },
            "unverified": true,
        })
    },
}];

/// The preset's mapping, by id.
pub fn preset(id: &str) -> Option<Mapping> {
    let preset = PRESETS.iter().find(|p| p.id == id)?;
    Some(serde_json::from_value((preset.mapping)()).expect("a preset is a valid mapping"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;

    #[test]
    fn every_mapping_preset_is_valid_and_unverified() {
        for p in PRESETS {
            let mapping = preset(p.id).expect("found");
            assert!(mapping.unverified, "{}", p.id);
            mapping.validate(Platform::Custom).expect("valid");
        }
    }
}
