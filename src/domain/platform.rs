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
    Cakto,
    Hubla,
    Payt,
    Pepper,
    B4you,
    Vtex,
    Tray,
    Mercadolivre,
    Asaas,
    Iugu,
    Vindi,
    Efi,
    Pagbank,
    Paypal,
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
    pub const ALL: [Platform; 33] = [
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
        Platform::Cakto,
        Platform::Hubla,
        Platform::Payt,
        Platform::Pepper,
        Platform::B4you,
        Platform::Appmax,
        Platform::Shopify,
        Platform::Woocommerce,
        Platform::Nuvemshop,
        Platform::Vtex,
        Platform::Tray,
        Platform::Mercadolivre,
        Platform::Pagarme,
        Platform::Mercadopago,
        Platform::Stripe,
        Platform::Asaas,
        Platform::Iugu,
        Platform::Vindi,
        Platform::Efi,
        Platform::Pagbank,
        Platform::Paypal,
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
            Platform::Cakto => "cakto",
            Platform::Hubla => "hubla",
            Platform::Payt => "payt",
            Platform::Pepper => "pepper",
            Platform::B4you => "b4you",
            Platform::Vtex => "vtex",
            Platform::Tray => "tray",
            Platform::Mercadolivre => "mercadolivre",
            Platform::Asaas => "asaas",
            Platform::Iugu => "iugu",
            Platform::Vindi => "vindi",
            Platform::Efi => "efi",
            Platform::Pagbank => "pagbank",
            Platform::Paypal => "paypal",
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
            Platform::Cakto => "Cakto",
            Platform::Hubla => "Hubla",
            Platform::Payt => "PayT",
            Platform::Pepper => "Pepper",
            Platform::B4you => "B4You",
            Platform::Vtex => "VTEX",
            Platform::Tray => "Tray",
            Platform::Mercadolivre => "Mercado Livre",
            Platform::Asaas => "Asaas",
            Platform::Iugu => "iugu",
            Platform::Vindi => "Vindi",
            Platform::Efi => "Efí",
            Platform::Pagbank => "PagBank",
            Platform::Paypal => "PayPal",
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
            | Platform::Monetizze
            | Platform::Cakto
            | Platform::Hubla
            | Platform::Payt
            | Platform::Pepper
            | Platform::B4you => PlatformGroup::Checkout,
            Platform::Shopify
            | Platform::Woocommerce
            | Platform::Nuvemshop
            | Platform::Vtex
            | Platform::Tray
            | Platform::Mercadolivre => PlatformGroup::Ecommerce,
            Platform::Appmax
            | Platform::Pagarme
            | Platform::Mercadopago
            | Platform::Stripe
            | Platform::Asaas
            | Platform::Iugu
            | Platform::Vindi
            | Platform::Efi
            | Platform::Pagbank
            | Platform::Paypal => PlatformGroup::Gateway,
            Platform::Api | Platform::Custom => PlatformGroup::Api,
        }
    }

    /// Infoproduct checkouts (courses, memberships, e-books): nothing ships, so shipping
    /// messages start switched off. Braip, Monetizze, PayT and B4You are checkouts that also
    /// sell physical goods and send shipping or tracking data, so they are not among them.
    pub fn sells_infoproducts(self) -> bool {
        self.group() == PlatformGroup::Checkout
            && !matches!(
                self,
                Platform::Braip | Platform::Monetizze | Platform::Payt | Platform::B4you
            )
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
            | Platform::Cakto
            | Platform::Hubla
            | Platform::Payt
            | Platform::B4you
            | Platform::Asaas
            | Platform::Iugu
            | Platform::Efi
            | Platform::Api
            | Platform::Custom => Some(SecretKind::Token),
            Platform::Kiwify
            | Platform::Eduzz
            | Platform::Shopify
            | Platform::Woocommerce
            | Platform::Nuvemshop
            | Platform::Pagarme
            | Platform::Mercadopago
            | Platform::Stripe
            | Platform::Pagbank => Some(SecretKind::HmacKey),
            // Pepper, VTEX, Tray, Mercado Livre and Vindi sign nothing; PayPal signs with RSA
            // and a certificate fetched from PayPal, which avisa cannot check offline.
            Platform::Appmax
            | Platform::Pepper
            | Platform::Vtex
            | Platform::Tray
            | Platform::Mercadolivre
            | Platform::Vindi
            | Platform::Paypal => None,
        }
    }

    /// Platforms that sign their webhooks in a way avisa cannot check offline (PayPal's RSA
    /// signature needs a certificate downloaded from PayPal): the store form says so.
    pub fn signature_unchecked(self) -> bool {
        matches!(self, Platform::Paypal)
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
