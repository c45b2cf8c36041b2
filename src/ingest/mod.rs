//! Pure recognisers: a platform's raw webhook (body, headers, query) becomes normalised events or
//! a reason. One file per platform; serde shapes and event-name tables stay private to it.
//! Uses only `domain`. No I/O.

mod api;
mod appmax;
mod braip;
pub mod catalog;
pub mod common;
mod eduzz;
mod greenn;
mod guru;
mod hotmart;
pub mod invalid;
mod kirvano;
mod kiwify;
pub mod mapping;
pub mod mapping_presets;
#[cfg(test)]
mod mapping_tests;
mod mercadopago;
mod monetizze;
mod nuvemshop;
pub mod order_memory;
mod pagarme;
mod perfectpay;
pub mod secrets;
mod shopify;
mod signature;
mod stripe;
mod ticto;
mod woocommerce;
// Second wave (issue 17).
mod asaas;
mod b4you;
mod cakto;
mod efi;
pub mod enrich;
mod enrich_credentials;
pub mod enrich_oauth;
#[cfg(test)]
mod enrich_oauth_tests;
#[cfg(test)]
mod enrich_pagbank_tests;
#[cfg(test)]
mod enrich_platforms_tests;
#[cfg(test)]
pub(crate) mod enrich_tests;
mod hubla;
mod iugu;
mod mercadolivre;
mod pagbank;
mod pagbank_legacy;
mod paypal;
mod payt;
mod pepper;
mod tray;
mod vindi;
mod vtex;

#[cfg(test)]
pub(crate) mod fixture_tests;
#[cfg(test)]
mod fuzz_tests;

use serde::{Deserialize, Serialize};

use crate::domain::{Event, PhoneError, Platform};
pub use api::vars as read_vars;
pub use common::{Draft, ParseError};
pub use invalid::InvalidKind;
pub use signature::SignatureError;

/// One webhook delivery as the HTTP layer received it. Header names are lower-case.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub body: &'a [u8],
    pub headers: &'a [(String, String)],
    /// The raw query string, without `?`.
    pub query: &'a str,
}

impl<'a> Request<'a> {
    pub fn new(body: &'a [u8], headers: &'a [(String, String)], query: &'a str) -> Self {
        Request {
            body,
            headers,
            query,
        }
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// What avisa made of one event in a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Recognised, with a buyer to write to.
    Ok,
    /// The platform is known, this event name is not.
    Unmapped,
    /// Cannot be used: unreadable body, no buyer phone, bad signature.
    Invalid,
    /// The store's mapping says to ignore this event name ("ignorar"): no messages.
    Ignored,
    /// A thin notification waiting for its resource from the platform's API
    /// ("aguardando dados da plataforma", `ingest::enrich`): read again once it comes.
    Awaiting,
}

/// Stable reason codes, shown in the console and `avisa parse`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    EmptyBody,
    NotUtf8,
    BadJson,
    BadForm,
    UnknownShape,
    UnmappedEvent,
    NoPhone,
    BadPhone,
    BadSignature,
    /// The store's mapping ignores this event name.
    Ignored,
    /// The platform's API refused the store's token (401/403) while filling in a thin event.
    ApiTokenInvalid,
    /// The platform's API refused a token that expires on its own (Tray's, after 3 hours).
    ApiTokenExpired,
    /// The platform's API does not know the resource a thin event names (404).
    ApiNotFound,
    /// The platform's API did not answer until the retry schedule ran out.
    ApiNoAnswer,
    /// The platform's API kept answering something that is not the resource.
    ApiUnreadable,
    /// The store's API token was removed while a thin event waited.
    ApiNoCredentials,
    /// The platform's API refused the store's client certificate (mutual TLS: Efí).
    ApiCertificateRefused,
    /// The platform's API answered, and never gives the buyer's phone (Mercado Livre, Efí).
    PhoneWithheld,
}

/// Why an event is not `ok`: a stable code and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: ReasonCode,
    pub detail: String,
}

/// The reading of one event: its status, the reason when not ok, and the event as far as it
/// could be read.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reading {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
}

impl Reading {
    /// An unreadable delivery: nothing but the reason.
    pub fn invalid(code: ReasonCode, detail: impl Into<String>) -> Reading {
        Reading {
            status: Status::Invalid,
            reason: Some(Reason {
                code,
                detail: detail.into(),
            }),
            event: None,
        }
    }
}

/// Reads one delivery of `platform` into one reading per event it carries (usually one).
pub fn recognise(platform: Platform, req: &Request) -> Vec<Reading> {
    recognise_with(platform, None, req)
}

/// Reads one delivery with the store's mapping: a name the recogniser leaves unmapped takes the
/// kind the merchant chose (or is ignored); a `custom` store's body is read by the mapping alone.
pub fn recognise_with(
    platform: Platform,
    mapping: Option<&mapping::Mapping>,
    req: &Request,
) -> Vec<Reading> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return vec![Reading::invalid(
            ReasonCode::EmptyBody,
            "the request body is empty",
        )];
    }
    let drafts = match platform {
        Platform::Hotmart => hotmart::parse(req),
        Platform::Kiwify => kiwify::parse(req),
        Platform::Eduzz => eduzz::parse(req),
        Platform::Ticto => ticto::parse(req),
        Platform::Appmax => appmax::parse(req),
        Platform::Braip => braip::parse(req),
        Platform::Guru => guru::parse(req),
        Platform::Kirvano => kirvano::parse(req),
        Platform::Greenn => greenn::parse(req),
        Platform::Perfectpay => perfectpay::parse(req),
        Platform::Monetizze => monetizze::parse(req),
        Platform::Shopify => shopify::parse(req),
        Platform::Woocommerce => woocommerce::parse(req),
        Platform::Nuvemshop => nuvemshop::parse(req),
        Platform::Pagarme => pagarme::parse(req),
        Platform::Mercadopago => mercadopago::parse(req),
        Platform::Stripe => stripe::parse(req),
        Platform::Asaas => asaas::parse(req),
        Platform::B4you => b4you::parse(req),
        Platform::Cakto => cakto::parse(req),
        Platform::Efi => efi::parse(req),
        Platform::Hubla => hubla::parse(req),
        Platform::Iugu => iugu::parse(req),
        Platform::Mercadolivre => mercadolivre::parse(req),
        Platform::Pagbank => pagbank::parse(req),
        Platform::Paypal => paypal::parse(req),
        Platform::Payt => payt::parse(req),
        Platform::Pepper => pepper::parse(req),
        Platform::Tray => tray::parse(req),
        Platform::Vindi => vindi::parse(req),
        Platform::Vtex => vtex::parse(req),
        Platform::Api => api::parse(req),
        Platform::Custom => return mapping::recognise_custom(mapping, req),
    };
    match drafts {
        Ok(drafts) if drafts.is_empty() => vec![Reading::invalid(
            ReasonCode::UnknownShape,
            "the body carries no event",
        )],
        Ok(drafts) => drafts
            .into_iter()
            .map(|d| {
                let choice = mapping.and_then(|m| m.choice(&d.event.platform_event));
                finish_mapped(platform, d, choice)
            })
            .collect(),
        Err(err) => vec![Reading::invalid(err.code(), err.to_string())],
    }
}

/// Checks a delivery's signature or token against the secret the merchant configured.
/// `now_unix` bounds timestamped schemes (Stripe) against replays.
pub fn verify_signature(
    platform: Platform,
    secret: &str,
    req: &Request,
    now_unix: i64,
) -> Result<(), SignatureError> {
    match platform {
        Platform::Hotmart => hotmart::verify(secret, req),
        Platform::Kiwify => kiwify::verify(secret, req),
        Platform::Eduzz => eduzz::verify(secret, req),
        Platform::Ticto => ticto::verify(secret, req),
        Platform::Appmax => appmax::verify(secret, req),
        Platform::Braip => braip::verify(secret, req),
        Platform::Guru => guru::verify(secret, req),
        Platform::Kirvano => kirvano::verify(secret, req),
        Platform::Greenn => greenn::verify(secret, req),
        Platform::Perfectpay => perfectpay::verify(secret, req),
        Platform::Monetizze => monetizze::verify(secret, req),
        Platform::Shopify => shopify::verify(secret, req),
        Platform::Woocommerce => woocommerce::verify(secret, req),
        Platform::Nuvemshop => nuvemshop::verify(secret, req),
        Platform::Pagarme => pagarme::verify(secret, req),
        Platform::Mercadopago => mercadopago::verify(secret, req, now_unix),
        Platform::Stripe => stripe::verify(secret, req, now_unix),
        Platform::Asaas => asaas::verify(secret, req),
        Platform::B4you => b4you::verify(secret, req),
        Platform::Cakto => cakto::verify(secret, req),
        Platform::Efi => efi::verify(secret, req),
        Platform::Hubla => hubla::verify(secret, req),
        Platform::Iugu => iugu::verify(secret, req),
        Platform::Mercadolivre => mercadolivre::verify(secret, req),
        Platform::Pagbank => pagbank::verify(secret, req),
        Platform::Paypal => paypal::verify(secret, req),
        Platform::Payt => payt::verify(secret, req),
        Platform::Pepper => pepper::verify(secret, req),
        Platform::Tray => tray::verify(secret, req),
        Platform::Vindi => vindi::verify(secret, req),
        Platform::Vtex => vtex::verify(secret, req),
        Platform::Api => api::verify(secret, req),
        Platform::Custom => mapping::verify_custom(None, secret, req),
    }
}

/// Turns a platform's draft into a reading: status, reason, dedup key, derived names. A name
/// the recogniser left without a kind takes the store mapping's `choice`, if it has one.
pub(super) fn finish_mapped(
    platform: Platform,
    draft: Draft,
    choice: Option<mapping::Choice>,
) -> Reading {
    let Draft {
        mut event,
        phone_error,
        delivery_id,
    } = draft;
    // Why the store's mapping ignores this event, if it does.
    let ignored = match (event.kind, choice) {
        (None, Some(mapping::Choice::Ignore)) => Some(format!(
            "the store's mapping ignores \"{}\" events",
            event.platform_event
        )),
        (None, Some(choice)) => {
            event.kind = choice.kind_for(&event);
            // Awaiting a card (or other) payment: there is no boleto or PIX to remind of.
            (event.kind.is_none() && event.payment.method.is_some()).then(|| {
                format!(
                    "the store's mapping reads \"{}\" as awaiting payment, and this one is \
                     neither boleto nor PIX",
                    event.platform_event
                )
            })
        }
        _ => None,
    };
    event.platform = platform.id().to_owned();
    if event.customer.first_name.is_none() {
        event.customer.first_name = event
            .customer
            .name
            .as_deref()
            .and_then(crate::domain::event::first_name);
    }
    event.dedup_key = common::dedup_key(&event, delivery_id.as_deref());
    let (status, reason) = if let Some(detail) = ignored {
        (
            Status::Ignored,
            Some(Reason {
                code: ReasonCode::Ignored,
                detail,
            }),
        )
    } else if event.kind.is_none() {
        (
            Status::Unmapped,
            Some(Reason {
                code: ReasonCode::UnmappedEvent,
                detail: if choice == Some(mapping::Choice::AwaitingPayment) {
                    format!(
                        "the store's mapping reads \"{}\" as awaiting payment, but the event \
                         names neither boleto nor PIX (map its payment method)",
                        event.platform_event
                    )
                } else {
                    mapping::unmapped_detail(platform, &event.platform_event)
                },
            }),
        )
    } else if event.customer.phone.is_some() {
        (Status::Ok, None)
    } else if let Some((raw, err)) = phone_error {
        (
            Status::Invalid,
            Some(Reason {
                code: ReasonCode::BadPhone,
                detail: format!("buyer phone {raw:?} is not usable: {err}"),
            }),
        )
    } else {
        (
            Status::Invalid,
            Some(Reason {
                code: ReasonCode::NoPhone,
                detail: "the event has no buyer phone number".to_owned(),
            }),
        )
    };
    Reading {
        status,
        reason,
        event: Some(event),
    }
}

/// Keeps the type in the public signature honest for platform files.
pub type PhoneProblem = (String, PhoneError);
