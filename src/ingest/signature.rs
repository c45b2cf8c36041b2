//! Shared signature checks: static tokens and HMACs over the raw body, compared in constant time.

use hmac::{Hmac, KeyInit, Mac};
use subtle::ConstantTimeEq;

/// Why a delivery's signature or token was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// The platform should have sent a signature or token and did not.
    Missing(&'static str),
    /// Present but not the one the configured secret produces.
    Mismatch,
    /// Timestamped schemes: outside the tolerance window (a replay or a wrong clock).
    Expired,
    /// The signature header cannot be read.
    Malformed(&'static str),
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::Missing(what) => write!(f, "the delivery has no {what}"),
            SignatureError::Mismatch => {
                f.write_str("the signature or token does not match the store's secret")
            }
            SignatureError::Expired => {
                f.write_str("the signature's timestamp is outside the tolerance window")
            }
            SignatureError::Malformed(what) => write!(f, "the {what} cannot be read"),
        }
    }
}

impl std::error::Error for SignatureError {}

/// Constant-time equality of two byte strings (length leaks, content does not).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Compares a token sent by the platform with the configured one.
pub fn check_token(
    sent: Option<&str>,
    secret: &str,
    what: &'static str,
) -> Result<(), SignatureError> {
    let sent = sent.ok_or(SignatureError::Missing(what))?;
    if same(sent.trim().as_bytes(), secret.trim().as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

pub fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Checks a hex-encoded MAC (any case) against the expected bytes.
pub fn check_hex(
    sent: Option<&str>,
    expected: &[u8],
    what: &'static str,
) -> Result<(), SignatureError> {
    let sent = sent.ok_or(SignatureError::Missing(what))?;
    let sent = hex::decode(sent.trim()).map_err(|_| SignatureError::Malformed(what))?;
    if same(&sent, expected) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Checks a base64-encoded MAC against the expected bytes.
pub fn check_base64(
    sent: Option<&str>,
    expected: &[u8],
    what: &'static str,
) -> Result<(), SignatureError> {
    use base64::Engine as _;
    let sent = sent.ok_or(SignatureError::Missing(what))?;
    let sent = base64::engine::general_purpose::STANDARD
        .decode(sent.trim())
        .map_err(|_| SignatureError::Malformed(what))?;
    if same(&sent, expected) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tokens_compare_exactly() {
        assert_eq!(check_token(Some("abc"), "abc", "token"), Ok(()));
        assert_eq!(
            check_token(Some("abd"), "abc", "token"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check_token(None, "abc", "token"),
            Err(SignatureError::Missing("token"))
        );
    }
}
