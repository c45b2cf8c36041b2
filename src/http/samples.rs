//! Sample events for the template preview: the project's real fixture webhooks, compiled into
//! the binary and read once by their platform's recogniser, with a synthetic event for a kind no
//! fixture carries. Uses `ingest` and `domain`; no I/O beyond the embedded files.

use std::sync::OnceLock;

use rust_embed::RustEmbed;
use serde::Serialize;

use crate::domain::{Event, EventKind, Platform};
use crate::ingest::{Request, Status, recognise};

#[derive(RustEmbed)]
#[folder = "tests/fixtures/"]
#[include = "*/*.json"]
struct Fixtures;

/// One event a template can be previewed with.
#[derive(Clone, Debug)]
pub struct Sample {
    /// `platform/file.json`, with `#n` when one delivery carries several events.
    pub id: String,
    pub platform: Option<Platform>,
    /// Recognised with a buyer phone (`false`: the event lacks one, which rendering never needs).
    pub ok: bool,
    pub event: Event,
}

/// Where the samples for a preview came from, so the page can say so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleSource {
    /// The store's own recent events (newest first), then the platform's fixtures.
    Store,
    /// Fixtures of the store's own platform.
    Platform,
    /// No fixture of that platform has the kind: fixtures of other platforms.
    OtherPlatform,
    /// No fixture at all has the kind: an event made up in code.
    Synthetic,
}

/// Headers the platform sends with a delivery whose body names no event (the topic is in the
/// file name), as `ingest`'s fixture tests do.
fn topic_headers(platform: Platform, stem: &str) -> Vec<(String, String)> {
    match platform {
        Platform::Shopify => vec![("x-shopify-topic".into(), stem.replacen('_', "/", 1))],
        Platform::Woocommerce => vec![("x-wc-webhook-topic".into(), stem.to_owned())],
        _ => Vec::new(),
    }
}

/// Every recognised fixture event with a kind, ok ones first, then by file name.
fn all() -> &'static [Sample] {
    static ALL: OnceLock<Vec<Sample>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut names: Vec<String> = Fixtures::iter().map(|n| n.into_owned()).collect();
        names.sort();
        let mut out = Vec::new();
        for name in names {
            let Some((dir, file)) = name.split_once('/') else {
                continue;
            };
            let Some(platform) = Platform::parse(dir) else {
                continue;
            };
            let body = Fixtures::get(&name).expect("listed fixture exists").data;
            let headers = topic_headers(platform, file.trim_end_matches(".json"));
            let readings = recognise(platform, &Request::new(&body, &headers, ""));
            let several = readings.len() > 1;
            for (i, reading) in readings.into_iter().enumerate() {
                let Some(event) = reading.event.filter(|e| e.kind.is_some()) else {
                    continue;
                };
                if reading.status == Status::Unmapped {
                    continue;
                }
                let id = if several {
                    format!("{name}#{}", i + 1)
                } else {
                    name.clone()
                };
                out.push(Sample {
                    id,
                    platform: Some(platform),
                    ok: reading.status == Status::Ok,
                    event,
                });
            }
        }
        out.sort_by_key(|s| !s.ok);
        out
    })
}

/// The samples to preview a `kind` template of a `platform` store with, and where they came
/// from. Never empty.
pub fn samples_for(platform: Platform, kind: EventKind) -> (Vec<Sample>, SampleSource) {
    let of_kind = || all().iter().filter(|s| s.event.kind == Some(kind));
    let own: Vec<Sample> = of_kind()
        .filter(|s| s.platform == Some(platform))
        .cloned()
        .collect();
    if !own.is_empty() {
        return (own, SampleSource::Platform);
    }
    let other: Vec<Sample> = of_kind().cloned().collect();
    if !other.is_empty() {
        return (other, SampleSource::OtherPlatform);
    }
    (vec![synthetic(kind)], SampleSource::Synthetic)
}

/// A made-up event with every fact a template of any kind may want.
pub fn synthetic(kind: EventKind) -> Sample {
    let value = serde_json::json!({
        "platform": "exemplo",
        "kind": kind.as_str(),
        "platform_event": "exemplo",
        "order_id": "12345",
        "occurred_at": "2025-05-05T13:00:00Z",
        "customer": { "name": "Maria Oliveira", "first_name": "Maria",
                      "email": "maria@example.com" },
        "products": [ { "name": "Produto de exemplo", "quantity": 1, "price_cents": 9790 } ],
        "total_cents": 9790,
        "currency": "BRL",
        "payment": {
            "method": "pix",
            "boleto_url": "https://loja.example.com/boleto/12345",
            "boleto_barcode": "34191.79001 01043.510047 91020.150008 1 99990000009790",
            "pix_code": "00020101021226880014br.gov.bcb.pix2566exemplo5204000053039865802BR5913LOJA EXEMPLO6009SAO PAULO6304ABCD",
            "pix_qr_url": "https://loja.example.com/pix/12345.png",
            "due_at": "2025-05-08",
            "checkout_url": "https://loja.example.com/checkout/12345",
            "refusal_reason": "cartão recusado pelo banco emissor"
        },
        "shipping": { "tracking_code": "BR123456789BR", "carrier": "Correios",
                      "tracking_url": "https://rastreamento.example.com/BR123456789BR" },
        "subscription": { "id": "SUB-1", "plan": "Plano mensal", "next_charge_at": "2025-06-05" },
        "access": { "url": "https://membros.example.com", "login": "maria@example.com" }
    });
    Sample {
        id: "exemplo".to_owned(),
        platform: None,
        ok: true,
        event: serde_json::from_value(value).expect("the synthetic event matches Event"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_compiled_in_and_read() {
        assert!(all().len() > 50, "{} samples", all().len());
        let (samples, source) = samples_for(Platform::Kiwify, EventKind::PixGenerated);
        assert_eq!(source, SampleSource::Platform);
        assert!(samples[0].id.starts_with("kiwify/"));
        assert!(samples[0].event.payment.pix_code.is_some());
    }

    #[test]
    fn another_platform_or_a_synthetic_event_stands_in() {
        // avisa's own format has no shipping example (it has a boleto one since issue 16).
        let (samples, source) = samples_for(Platform::Api, EventKind::OrderShipped);
        assert_eq!(source, SampleSource::OtherPlatform);
        assert!(samples.iter().all(|s| s.platform != Some(Platform::Api)));
        for kind in EventKind::ALL {
            let sample = synthetic(kind);
            assert_eq!(sample.event.kind, Some(kind));
        }
    }

    #[test]
    fn shopify_topics_come_from_the_file_name() {
        let (_, source) = samples_for(Platform::Shopify, EventKind::OrderShipped);
        assert_eq!(source, SampleSource::Platform);
    }
}
