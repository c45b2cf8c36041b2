//! The platforms avisa understands, how the console groups them, and how each one signs.

use serde::{Deserialize, Serialize};

/// A checkout, store or gateway that posts webhooks to avisa.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Hotmart,
    Kiwify,
    Eduzz,
    Ticto,
    Appmax,
    Braip,
    Guru,
    Kirvano,
    Greenn,
    Perfectpay,
    Monetizze,
    Shopify,
    Woocommerce,
    Nuvemshop,
    Pagarme,
    Mercadopago,
    Stripe,
    /// avisa's own documented JSON format, for custom integrations.
    Api,
    /// Any other platform: the merchant's own mapping reads its bodies (`ingest::mapping`).
    Custom,
}

/// How the console groups platforms in the "new store" form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformGroup {
    /// Checkout / infoprodutos.
    Checkout,
    /// Lojas virtuais.
    Ecommerce,
    /// Gateways.
    Gateway,
    /// API própria.
    Api,
}

/// What the merchant pastes into a store so avisa can check the platform's deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// A static token the platform sends back in a header or the body, compared as is.
    Token,
    /// A key for an HMAC signature over the raw body.
    HmacKey,
}

impl Platform {
    pub const ALL: [Platform; 19] = [
        Platform::Hotmart,
        Platform::Kiwify,
        Platform::Eduzz,
        Platform::Ticto,
        Platform::Braip,
        Platform::Guru,
        Platform::Kirvano,
        Platform::Greenn,
        Platform::Perfectpay,
        Platform::Monetizze,
        Platform::Appmax,
        Platform::Shopify,
        Platform::Woocommerce,
        Platform::Nuvemshop,
        Platform::Pagarme,
        Platform::Mercadopago,
        Platform::Stripe,
        Platform::Api,
        Platform::Custom,
    ];

    /// Platforms merchants ask for that publish no payload to build from: listed as "em breve".
    pub const COMING_SOON: [&'static str; 3] = ["Assiny", "Yampi", "Cartpanda"];

    /// The stable id used in URLs, the CLI and the database.
    pub fn id(self) -> &'static str {
        match self {
            Platform::Hotmart => "hotmart",
            Platform::Kiwify => "kiwify",
            Platform::Eduzz => "eduzz",
            Platform::Ticto => "ticto",
            Platform::Appmax => "appmax",
            Platform::Braip => "braip",
            Platform::Guru => "guru",
            Platform::Kirvano => "kirvano",
            Platform::Greenn => "greenn",
            Platform::Perfectpay => "perfectpay",
            Platform::Monetizze => "monetizze",
            Platform::Shopify => "shopify",
            Platform::Woocommerce => "woocommerce",
            Platform::Nuvemshop => "nuvemshop",
            Platform::Pagarme => "pagarme",
            Platform::Mercadopago => "mercadopago",
            Platform::Stripe => "stripe",
            Platform::Api => "api",
            Platform::Custom => "custom",
        }
    }

    /// The name merchants know.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Hotmart => "Hotmart",
            Platform::Kiwify => "Kiwify",
            Platform::Eduzz => "Eduzz",
            Platform::Ticto => "Ticto",
            Platform::Appmax => "Appmax",
            Platform::Braip => "Braip",
            Platform::Guru => "Digital Manager Guru",
            Platform::Kirvano => "Kirvano",
            Platform::Greenn => "Greenn",
            Platform::Perfectpay => "PerfectPay",
            Platform::Monetizze => "Monetizze",
            Platform::Shopify => "Shopify",
            Platform::Woocommerce => "WooCommerce",
            Platform::Nuvemshop => "Nuvemshop",
            Platform::Pagarme => "Pagar.me",
            Platform::Mercadopago => "Mercado Pago",
            Platform::Stripe => "Stripe",
            Platform::Api => "API própria",
            Platform::Custom => "Outra plataforma — mapeamento próprio",
        }
    }

    pub fn group(self) -> PlatformGroup {
        match self {
            Platform::Hotmart
            | Platform::Kiwify
            | Platform::Eduzz
            | Platform::Ticto
            | Platform::Braip
            | Platform::Guru
            | Platform::Kirvano
            | Platform::Greenn
            | Platform::Perfectpay
            | Platform::Monetizze => PlatformGroup::Checkout,
            Platform::Shopify | Platform::Woocommerce | Platform::Nuvemshop => {
                PlatformGroup::Ecommerce
            }
            Platform::Appmax | Platform::Pagarme | Platform::Mercadopago | Platform::Stripe => {
                PlatformGroup::Gateway
            }
            Platform::Api | Platform::Custom => PlatformGroup::Api,
        }
    }

    /// Infoproduct checkouts (courses, memberships, e-books): nothing ships, so shipping
    /// messages start switched off. Braip and Monetizze are checkouts that also sell physical
    /// goods and send shipping events, so they are not among them.
    pub fn sells_infoproducts(self) -> bool {
        self.group() == PlatformGroup::Checkout
            && !matches!(self, Platform::Braip | Platform::Monetizze)
    }

    /// What secret the platform lets the merchant configure, if any.
    pub fn secret_kind(self) -> Option<SecretKind> {
        match self {
            Platform::Hotmart
            | Platform::Ticto
            | Platform::Braip
            | Platform::Guru
            | Platform::Kirvano
            | Platform::Greenn
            | Platform::Perfectpay
            | Platform::Monetizze
            | Platform::Api
            | Platform::Custom => Some(SecretKind::Token),
            Platform::Kiwify
            | Platform::Eduzz
            | Platform::Shopify
            | Platform::Woocommerce
            | Platform::Nuvemshop
            | Platform::Pagarme
            | Platform::Mercadopago
            | Platform::Stripe => Some(SecretKind::HmacKey),
            Platform::Appmax => None,
        }
    }

    pub fn parse(id: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.id() == id)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for p in Platform::ALL {
            assert_eq!(Platform::parse(p.id()), Some(p));
            assert_eq!(
                serde_json::to_value(p).expect("ser"),
                serde_json::json!(p.id())
            );
        }
    }
}
