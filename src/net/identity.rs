//! TLS trust and client certificates: [`Roots`] (whom a server's certificate must chain to) and
//! [`ClientIdentity`] (a certificate and its private key, presented where an API wants mutual
//! TLS: Efí's Pix API). An identity is checked whole when it is made, the way the TLS library
//! will load it, so a bad paste is refused with its reason instead of failing mid-call.

use std::sync::Arc;

use ureq::tls::{Certificate, ClientCert, PemItem, RootCerts, TlsConfig};

/// Whom the server's certificate must chain to.
#[derive(Clone, PartialEq, Eq)]
pub enum Roots {
    /// The public web's certificate authorities (Mozilla's list, built in): every production
    /// call.
    Public,
    /// Only this CA (PEM), and not the public ones: a test's TLS stand-in, named at the call
    /// site like an allowed host. Never built from configuration.
    OnlyCa(Vec<u8>),
}

impl std::fmt::Debug for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Roots::Public => f.write_str("Public"),
            Roots::OnlyCa(pem) => write!(f, "OnlyCa({} bytes)", pem.len()),
        }
    }
}

impl Roots {
    /// ureq's TLS configuration for these roots, presenting `identity` when given.
    pub(super) fn tls_config(&self, identity: Option<&ClientIdentity>) -> TlsConfig {
        let roots = match self {
            Roots::Public => RootCerts::WebPki,
            // An unreadable CA trusts nothing: every call fails its handshake.
            Roots::OnlyCa(pem) => RootCerts::new_with_certs(&certificates(pem).unwrap_or_default()),
        };
        TlsConfig::builder()
            .root_certs(roots)
            .client_cert(identity.map(|id| id.cert.clone()))
            .build()
    }
}

/// A client certificate (with its chain) and its private key. `Debug` names neither.
#[derive(Clone)]
pub struct ClientIdentity {
    cert: ClientCert,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientIdentity(..)")
    }
}

/// Why a PEM text is not a usable client identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentityError {
    /// Not PEM, or a block that cannot be decoded.
    Unreadable(String),
    /// No `BEGIN CERTIFICATE` block.
    NoCertificate,
    /// No private key block (a `.p12` converted without `-nodes`, or the certificate alone).
    NoKey,
    /// The TLS library refuses the pair (a key of another certificate, an unsupported key).
    Refused(String),
}

impl std::fmt::Display for IdentityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentityError::Unreadable(why) => write!(f, "not a readable PEM text: {why}"),
            IdentityError::NoCertificate => write!(f, "no certificate in the PEM text"),
            IdentityError::NoKey => write!(f, "no private key in the PEM text"),
            IdentityError::Refused(why) => write!(f, "certificate and key refused: {why}"),
        }
    }
}

impl std::error::Error for IdentityError {}

impl ClientIdentity {
    /// Reads one PEM text holding the certificate (then any chain) and its private key, as
    /// `openssl pkcs12 -nodes` writes it; text outside the blocks (`Bag Attributes`) is skipped.
    pub fn from_pem(pem: &str) -> Result<ClientIdentity, IdentityError> {
        let mut chain = Vec::new();
        let mut key = None;
        for item in ureq::tls::parse_pem(pem.as_bytes()) {
            match item.map_err(|e| IdentityError::Unreadable(e.to_string()))? {
                PemItem::Certificate(cert) => chain.push(cert),
                PemItem::PrivateKey(k) if key.is_none() => key = Some(k),
                _ => {}
            }
        }
        if chain.is_empty() {
            return Err(IdentityError::NoCertificate);
        }
        let key = key.ok_or(IdentityError::NoKey)?;
        check(pem.as_bytes())?;
        Ok(ClientIdentity {
            cert: ClientCert::new_with_certs(&chain, key),
        })
    }
}

/// The checks ureq's own loading would make (it panics where this returns the reason): the key
/// loads and belongs to the first certificate. Read again with the TLS library's own PEM reader.
fn check(pem: &[u8]) -> Result<(), IdentityError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| IdentityError::Unreadable(e.to_string()))?;
    let key =
        PrivateKeyDer::from_pem_slice(pem).map_err(|e| IdentityError::Unreadable(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| IdentityError::Refused(e.to_string()))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_client_auth_cert(certs, key)
        .map(drop)
        .map_err(|e| IdentityError::Refused(e.to_string()))
}

/// The certificates of a PEM text.
fn certificates(pem: &[u8]) -> Option<Vec<Certificate<'static>>> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        if let PemItem::Certificate(cert) = item.ok()? {
            certs.push(cert);
        }
    }
    Some(certs)
}
