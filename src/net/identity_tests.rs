//! Mutual TLS for real (Efí's Pix API): a loopback HTTPS stand-in that requires a client
//! certificate, certificates made for the test by `openssl`, the client's converted from a
//! `.p12` with the command the store form documents. The stand-in's CA is trusted only by the
//! tests' explicit `Roots::OnlyCa`; the production roots refuse it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::tls_stand_in::{Pki, TlsStandIn};
use super::{Client, ClientIdentity, IdentityError, NetError, Policy, Request, Roots, Targets};

const HOST: &str = "pix.stand-in.test";

fn client(roots: Roots) -> Client {
    let policy = Policy {
        targets: Targets::PublicOnly {
            allowed_hosts: vec![HOST.into()],
        },
        roots,
        ..Policy::platform_api()
    };
    let hosts: HashMap<String, Vec<IpAddr>> =
        [(HOST.to_owned(), vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])].into();
    Client::with_hosts(policy, hosts)
}

fn stand_in(dir: &std::path::Path, pki: &Pki) -> TlsStandIn {
    TlsStandIn::start(
        dir,
        pki,
        Arc::new(|_| (200, br#"{"txid":"t1","status":"ATIVA"}"#.to_vec())),
    )
}

#[test]
fn enrich_mtls_the_certificate_is_presented_and_the_stand_in_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = Pki::make(dir.path(), HOST);
    let api = stand_in(dir.path(), &pki);
    let identity = ClientIdentity::from_pem(&pki.client).expect("the converted .p12 is read");
    let url = format!("https://{HOST}:{}/v2/cob/t1", api.port);
    let response = client(Roots::OnlyCa(pki.ca.clone()))
        .send(Request::get(&url).identity(identity))
        .expect("answered");
    assert_eq!(response.status, 200);
    assert!(String::from_utf8_lossy(&response.body).contains("ATIVA"));
    assert_eq!(api.requests().len(), 1);
}

#[test]
fn enrich_mtls_without_the_certificate_the_call_fails_saying_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = Pki::make(dir.path(), HOST);
    let api = stand_in(dir.path(), &pki);
    let url = format!("https://{HOST}:{}/v2/cob/t1", api.port);
    let trusting = client(Roots::OnlyCa(pki.ca.clone()));
    let err = trusting.send(Request::get(&url)).expect_err("refused");
    assert!(matches!(err, NetError::ClientCertificate(_)), "{err:?}");
    assert!(!err.is_transient(), "asking again without it will not help");
    assert!(
        err.to_string().contains("client certificate"),
        "a clear reason: {err}"
    );
    // Another CA's certificate is refused the same way.
    let stranger = ClientIdentity::from_pem(&pki.stranger).expect("read");
    let err = trusting
        .send(Request::get(&url).identity(stranger))
        .expect_err("refused");
    assert!(matches!(err, NetError::ClientCertificate(_)), "{err:?}");
    assert!(api.requests().is_empty(), "nothing got through");
}

#[test]
fn enrich_mtls_the_production_roots_do_not_trust_the_stand_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = Pki::make(dir.path(), HOST);
    let api = stand_in(dir.path(), &pki);
    let identity = ClientIdentity::from_pem(&pki.client).expect("read");
    let url = format!("https://{HOST}:{}/v2/cob/t1", api.port);
    assert_eq!(Policy::platform_api().roots, Roots::Public);
    let err = client(Roots::Public)
        .send(Request::get(&url).identity(identity))
        .expect_err("an unknown CA");
    assert!(
        err.to_string().contains("UnknownIssuer"),
        "the server's certificate is refused: {err}"
    );
    assert!(api.requests().is_empty());
}

#[test]
fn enrich_mtls_an_identity_is_checked_whole_when_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = Pki::make(dir.path(), HOST);
    let split = |pem: &str, marker: &str| -> String {
        let start = pem.find(&format!("-----BEGIN {marker}")).expect("block");
        let end_marker = format!("-----END {marker}-----");
        let end = pem[start..].find(&end_marker).expect("end") + start + end_marker.len();
        pem[start..end].to_owned()
    };
    let cert = split(&pki.client, "CERTIFICATE");
    let key = split(&pki.client, "PRIVATE KEY");
    let other_key = split(&pki.stranger, "PRIVATE KEY");
    assert_eq!(
        ClientIdentity::from_pem(&cert).err(),
        Some(IdentityError::NoKey)
    );
    assert_eq!(
        ClientIdentity::from_pem(&key).err(),
        Some(IdentityError::NoCertificate)
    );
    assert_eq!(
        ClientIdentity::from_pem("MIIB…").err(),
        Some(IdentityError::NoCertificate)
    );
    assert!(matches!(
        ClientIdentity::from_pem(&format!("{cert}\n{other_key}\n")),
        Err(IdentityError::Refused(_))
    ));
    let identity = ClientIdentity::from_pem(&format!("{cert}\n{key}\n")).expect("a pair");
    assert!(
        !format!("{identity:?}").contains("BEGIN"),
        "Debug names no key"
    );
}
