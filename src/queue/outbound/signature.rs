//! How a receiver knows a delivery came from this avisa: HMAC-SHA256, keyed by the endpoint's
//! secret, over `{timestamp}.{body}`, sent hex-encoded as `X-Avisa-Signature: t={timestamp},v1={hex}`
//! (the timestamp also in `X-Avisa-Timestamp`). The timestamp is in the signed text so a captured
//! delivery cannot be replayed later under a fresh time. `docs/API.md` shows the check in shell
//! and JavaScript.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const ID_HEADER: &str = "X-Avisa-Id";
pub const EVENT_HEADER: &str = "X-Avisa-Event";
pub const TIMESTAMP_HEADER: &str = "X-Avisa-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Avisa-Signature";

/// Hex HMAC-SHA256 of `{timestamp}.{body}` under `secret`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The `X-Avisa-Signature` value: `t={timestamp},v1={hex}`.
pub fn header_value(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, body))
}

/// A receiver's check (avisa uses it in tests; it is the documented algorithm): the header
/// parses, the timestamp is within `tolerance_s` of `now`, and the signature matches in
/// constant time.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_s: i64,
) -> Result<(), &'static str> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => signatures.push(s),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or("no timestamp")?;
    if (now - timestamp).abs() > tolerance_s {
        return Err("timestamp outside the tolerance");
    }
    let expected = sign(secret, timestamp, body);
    let matches = signatures.iter().any(|s| {
        use subtle::ConstantTimeEq;
        s.len() == expected.len() && bool::from(s.as_bytes().ct_eq(expected.as_bytes()))
    });
    if matches {
        Ok(())
    } else {
        Err("signature does not match")
    }
}
