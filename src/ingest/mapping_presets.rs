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
pub const PRESETS: &[Preset] = &[
    Preset {
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
    },
    Preset {
        id: "cartpanda",
        label: "Cartpanda",
        source: "Cartpanda's webhook names (order.*, abandoned.created, product.*) and body shape \
                 (`order.customer`, `data.cart_url`) as public integrations read them; no \
                 published sample body",
        // Orders come under `order`, abandoned carts under `data`: each field names both places.
        // `order.created` and `order.updated` carry any payment state, so the merchant maps them
        // after seeing one, as with Yampi.
        mapping: || {
            json!({
                "event_field": "event",
                "kinds": {
                    "order.paid": "order.paid",
                    "order.cancelled": "order.canceled",
                    "order.refunded": "order.refunded",
                    "abandoned.created": "checkout.abandoned",
                    "product.created": "ignore",
                    "product.updated": "ignore",
                    "product.deleted": "ignore",
                },
                "fields": {
                    "customer.phone": "order.customer.phone|data.customer.phone",
                    "customer.name": "order.customer.full_name|order.customer.first_name|data.customer.full_name|data.customer.first_name",
                    "customer.email": "order.customer.email|data.customer.email",
                    "order_id": "order.id|data.id",
                    "total": "order.total_price|data.total_price",
                    "products.name": "order.line_items.*.title|data.line_items.*.title",
                    "payment.checkout_url": "data.cart_url",
                },
                "unverified": true,
            })
        },
    },
    Preset {
        id: "lastlink",
        label: "Lastlink",
        source: "https://support.lastlink.com/pt-BR/articles/7238888-como-configurar-o-webhook-na-lastlink",
        // One name for "boleto or PIX generated" (and for a renewal waiting for payment): the
        // payment method tells them apart. Member-area notices are not buyer messages.
        mapping: || {
            json!({
                "event_field": "Event",
                "kinds": {
                    "Abandoned_Cart": "checkout.abandoned",
                    "Purchase_Request_Confirmed": "awaiting_payment",
                    "Subscription_Renewal_Pending": "awaiting_payment",
                    "Purchase_Order_Confirmed": "order.paid",
                    "Purchase_Request_Canceled": "order.canceled",
                    "Purchase_Request_Expired": "payment.expired",
                    "Payment_Refund": "order.refunded",
                    "Payment_Chargeback": "order.chargeback",
                    "Recurrent_Payment": "subscription.renewed",
                    "Subscription_Canceled": "subscription.canceled",
                    "Subscription_Expired": "subscription.canceled",
                    "Product_access_started": "access.granted",
                    "Refund_Period_Over": "order.completed",
                    "Product_access_ended": "ignore",
                    "Active_Member_Notification": "ignore",
                    "Refund_Requested": "ignore",
                },
                "fields": {
                    "event_id": "Id",
                    "customer.phone": "Data.Buyer.PhoneNumber",
                    "customer.name": "Data.Buyer.Name",
                    "customer.email": "Data.Buyer.Email",
                    "customer.document": "Data.Buyer.Document",
                    "order_id": "Data.Purchase.PaymentId",
                    "total": "Data.Purchase.Price.Value",
                    "products.name": "Data.Products.*.Name",
                    "payment.method": "Data.Purchase.Payment.PaymentMethod",
                    "payment.installments": "Data.Purchase.Payment.NumberOfInstallments",
                    "payment.boleto_url": "Data.Purchase.InvoiceUrl",
                    "payment.boleto_barcode": "Data.Purchase.BankSlip.DigitableLine",
                    "payment.pix_code": "Data.Purchase.Pix.QrCodeText",
                    "payment.pix_qr_url": "Data.Purchase.Pix.QrCode",
                    "payment.checkout_url": "Data.Offer.Url",
                    "subscription.id": "Data.Subscriptions.0.Id",
                    "utm.source": "Data.Utm.UtmSource",
                    "utm.medium": "Data.Utm.UtmMedium",
                    "utm.campaign": "Data.Utm.UtmCampaign",
                },
                "unverified": true,
            })
        },
    },
];

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
