//! Every fixture in tests/fixtures goes through its platform's recogniser: the full reading is
//! snapshotted, and the headline facts are compared with the hand-made reference EXPECTED.json.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Reading, Request, Status, recognise};
use crate::domain::Platform;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Headers a platform would have sent with the fixture: topic headers come from the file name
/// for platforms whose body carries no event name.
pub fn fixture_headers(platform: Platform, file_stem: &str) -> Vec<(String, String)> {
    match platform {
        Platform::Shopify => {
            let topic = file_stem.replacen('_', "/", 1);
            vec![("x-shopify-topic".into(), topic)]
        }
        Platform::Woocommerce => vec![("x-wc-webhook-topic".into(), file_stem.to_owned())],
        _ => Vec::new(),
    }
}

/// The headers of a fixture file: its platform's topic headers, and the form content type for
/// `.form` bodies (sent as `application/x-www-form-urlencoded`, like iugu's and Tray's).
pub fn fixture_file_headers(platform: Platform, name: &str) -> Vec<(String, String)> {
    let file = name.rsplit('/').next().expect("name");
    let (stem, form) = match file.strip_suffix(".form") {
        Some(stem) => (stem, true),
        None => (file.trim_end_matches(".json"), false),
    };
    let mut headers = fixture_headers(platform, stem);
    if form {
        headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    headers
}

/// Every fixture: (relative path like `hotmart/x.json` or `iugu/x.form`, platform, body).
pub fn all_fixtures() -> Vec<(String, Platform, Vec<u8>)> {
    let mut out = Vec::new();
    for platform in Platform::ALL {
        let dir = fixtures_dir().join(platform.id());
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for path in files
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "form"))
        {
            let name = format!(
                "{}/{}",
                platform.id(),
                path.file_name().expect("file").to_string_lossy()
            );
            out.push((
                name,
                platform,
                std::fs::read(&path).expect("fixture readable"),
            ));
        }
    }
    out
}

fn read_fixture(name: &str, platform: Platform, body: &[u8]) -> Vec<Reading> {
    let headers = fixture_file_headers(platform, name);
    recognise(platform, &Request::new(body, &headers, ""))
}

#[test]
fn every_fixture_reads_as_its_snapshot() {
    let fixtures = all_fixtures();
    assert!(
        fixtures.len() >= 141,
        "fixtures are missing: {}",
        fixtures.len()
    );
    let only = std::env::var("AVISA_FIXTURE_PLATFORM").ok();
    for (name, platform, body) in fixtures {
        if only.as_deref().is_some_and(|p| p != platform.id()) {
            continue;
        }
        let readings = read_fixture(&name, platform, &body);
        insta::with_settings!({ snapshot_suffix => name.replace(['/', '.'], "_"), prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!("fixture", readings);
        });
    }
}

/// Where avisa's reading knowingly differs from EXPECTED.json, and why: each platform file keeps
/// its own list, so the reasons sit beside the code that decides.
fn disagreements() -> Vec<(&'static str, &'static str)> {
    use super::*;
    [
        api::REFERENCE_DISAGREEMENTS,
        appmax::REFERENCE_DISAGREEMENTS,
        braip::REFERENCE_DISAGREEMENTS,
        eduzz::REFERENCE_DISAGREEMENTS,
        greenn::REFERENCE_DISAGREEMENTS,
        guru::REFERENCE_DISAGREEMENTS,
        hotmart::REFERENCE_DISAGREEMENTS,
        kirvano::REFERENCE_DISAGREEMENTS,
        kiwify::REFERENCE_DISAGREEMENTS,
        mercadopago::REFERENCE_DISAGREEMENTS,
        monetizze::REFERENCE_DISAGREEMENTS,
        nuvemshop::REFERENCE_DISAGREEMENTS,
        pagarme::REFERENCE_DISAGREEMENTS,
        perfectpay::REFERENCE_DISAGREEMENTS,
        shopify::REFERENCE_DISAGREEMENTS,
        stripe::REFERENCE_DISAGREEMENTS,
        ticto::REFERENCE_DISAGREEMENTS,
        woocommerce::REFERENCE_DISAGREEMENTS,
        asaas::REFERENCE_DISAGREEMENTS,
        b4you::REFERENCE_DISAGREEMENTS,
        cakto::REFERENCE_DISAGREEMENTS,
        efi::REFERENCE_DISAGREEMENTS,
        hubla::REFERENCE_DISAGREEMENTS,
        iugu::REFERENCE_DISAGREEMENTS,
        mercadolivre::REFERENCE_DISAGREEMENTS,
        pagbank::REFERENCE_DISAGREEMENTS,
        paypal::REFERENCE_DISAGREEMENTS,
        payt::REFERENCE_DISAGREEMENTS,
        pepper::REFERENCE_DISAGREEMENTS,
        tray::REFERENCE_DISAGREEMENTS,
        vindi::REFERENCE_DISAGREEMENTS,
        vtex::REFERENCE_DISAGREEMENTS,
    ]
    .concat()
}

#[test]
fn fixtures_agree_with_the_reference_reading() {
    let expected: BTreeMap<String, Value> = serde_json::from_slice(
        &std::fs::read(fixtures_dir().join("EXPECTED.json")).expect("EXPECTED.json"),
    )
    .expect("EXPECTED.json parses");
    let known = disagreements();
    let only = std::env::var("AVISA_FIXTURE_PLATFORM").ok();
    let mut mismatches = Vec::new();
    for (name, platform, body) in all_fixtures() {
        if known.iter().any(|(n, _)| *n == name)
            || only.as_deref().is_some_and(|p| p != platform.id())
        {
            continue;
        }
        let Some(want) = expected.get(&name) else {
            mismatches.push(format!("{name}: no reference entry"));
            continue;
        };
        let readings = read_fixture(&name, platform, &body);
        let reading = &readings[0];
        let got = facts(reading);
        for key in [
            "status",
            "kind",
            "order_id",
            "phone_digits",
            "total_cents",
            "payment_method",
            "has_boleto_url",
            "has_pix_code",
            "has_tracking_code",
        ] {
            let w = want.get(key).cloned().unwrap_or(Value::Null);
            let g = got.get(key).cloned().unwrap_or(Value::Null);
            if w != g {
                mismatches.push(format!("{name}: {key} expected {w} got {g}"));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

fn facts(reading: &Reading) -> BTreeMap<&'static str, Value> {
    let mut f = BTreeMap::new();
    let status = match reading.status {
        Status::Ok => "ok",
        Status::Unmapped => "unmapped",
        Status::Invalid => "invalid",
        Status::Ignored => "ignored",
        Status::Awaiting => "awaiting",
    };
    f.insert("status", Value::from(status));
    let Some(event) = &reading.event else {
        return f;
    };
    f.insert(
        "kind",
        event
            .kind
            .map(|k| Value::from(k.as_str()))
            .unwrap_or(Value::Null),
    );
    f.insert(
        "order_id",
        event
            .order_id
            .clone()
            .map(Value::from)
            .unwrap_or(Value::Null),
    );
    f.insert(
        "phone_digits",
        event
            .customer
            .phone
            .as_ref()
            .map(|p| Value::from(p.digits()))
            .unwrap_or(Value::Null),
    );
    f.insert(
        "total_cents",
        event.total_cents.map(Value::from).unwrap_or(Value::Null),
    );
    f.insert(
        "payment_method",
        event
            .payment
            .method
            .map(|m| serde_json::to_value(m).expect("method"))
            .unwrap_or(Value::Null),
    );
    f.insert(
        "has_boleto_url",
        Value::from(event.payment.boleto_url.is_some()),
    );
    f.insert(
        "has_pix_code",
        Value::from(event.payment.pix_code.is_some()),
    );
    f.insert(
        "has_tracking_code",
        Value::from(event.shipping.tracking_code.is_some()),
    );
    f
}
