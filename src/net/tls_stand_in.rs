//! Tests' HTTPS stand-in that requires a client certificate (mutual TLS, as Efí's Pix API
//! does): a certificate authority, the server's certificate and a client's, made for each test
//! by the `openssl` command line (installed by CI), the client's through a `.p12` converted with
//! the command the store form tells merchants to run. The stand-in answers each request with
//! its responder and keeps each request's head; `answer_one` also serves the plain-HTTP stand-in
//! of the enrichment tests. Test-only.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The certificates of one test, as PEM text.
pub(crate) struct Pki {
    /// The stand-in's CA: what a test's policy trusts (`Roots::OnlyCa`).
    pub ca: Vec<u8>,
    server_chain: Vec<u8>,
    server_key: Vec<u8>,
    /// The client's certificate and key in one text, as `openssl pkcs12 -nodes` writes it.
    pub client: String,
    /// Another CA's client certificate (not accepted by the stand-in).
    pub stranger: String,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl command line (CI installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).expect("openssl output")
}

/// A CA (`{name}-ca.pem`) and a certificate it signs for `cn` with `ext` (`{name}.pem` and
/// `{name}.key`).
fn issue(dir: &Path, name: &str, cn: &str, ext: &str) {
    let ca_subject = format!("/CN=avisa test CA {name}");
    let (ca_key, ca_pem) = (format!("{name}-ca.key"), format!("{name}-ca.pem"));
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut args = vec!["req", "-x509"];
    args.extend(ec);
    args.extend([
        "-keyout",
        &ca_key,
        "-out",
        &ca_pem,
        "-days",
        "2",
        "-subj",
        &ca_subject,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &args);
    let subject = format!("/CN={cn}");
    let mut args = vec!["req", "-new"];
    args.extend(ec);
    args.extend(["-keyout", &key, "-out", &csr, "-subj", &subject]);
    openssl(dir, &args);
    let ext_file = format!("{name}.ext");
    std::fs::write(dir.join(&ext_file), ext).expect("ext file");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &pem,
            "-extfile",
            &ext_file,
        ],
    );
}

impl Pki {
    /// Certificates for a server named `host` and for its clients.
    pub(crate) fn make(dir: &Path, host: &str) -> Pki {
        issue(
            dir,
            "server",
            host,
            &format!(
                "subjectAltName=DNS:{host}\nextendedKeyUsage=serverAuth\n\
                 basicConstraints=CA:FALSE\n"
            ),
        );
        let client_ext = "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n";
        issue(dir, "client", "loja-teste", client_ext);
        issue(dir, "stranger", "loja-estranha", client_ext);
        // The merchant's .p12 as Efí hands it out, and the conversion the store form documents.
        let p12 = |name: &str| {
            let (pem, key, p12, out) = (
                format!("{name}.pem"),
                format!("{name}.key"),
                format!("{name}.p12"),
                format!("{name}-converted.pem"),
            );
            openssl(
                dir,
                &[
                    "pkcs12", "-export", "-in", &pem, "-inkey", &key, "-out", &p12, "-passout",
                    "pass:",
                ],
            );
            openssl(
                dir,
                &[
                    "pkcs12",
                    "-in",
                    &p12,
                    "-out",
                    &out,
                    "-nodes",
                    "-password",
                    "pass:",
                ],
            );
            String::from_utf8(read(dir, &out)).expect("PEM text")
        };
        Pki {
            ca: read(dir, "server-ca.pem"),
            server_chain: read(dir, "server.pem"),
            server_key: read(dir, "server.key"),
            client: p12("client"),
            stranger: p12("stranger"),
        }
    }

    /// What the stand-in trusts for clients: the CA of `client`, not of `stranger`.
    fn client_ca(dir: &Path) -> Vec<u8> {
        read(dir, "client-ca.pem")
    }
}

/// How the stand-in answers a request, given its head: (status, JSON body).
pub(crate) type Responder = Arc<dyn Fn(&str) -> (u16, Vec<u8>) + Send + Sync>;

/// A loopback HTTPS server requiring a client certificate signed by the test's client CA.
pub(crate) struct TlsStandIn {
    pub port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

impl TlsStandIn {
    pub(crate) fn start(dir: &Path, pki: &Pki, respond: Responder) -> TlsStandIn {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut client_roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&Pki::client_ca(dir)) {
            client_roots.add(cert.expect("CA")).expect("CA added");
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(client_roots),
            provider.clone(),
        )
        .build()
        .expect("verifier");
        let chain = CertificateDer::pem_slice_iter(&pki.server_chain)
            .collect::<Result<Vec<_>, _>>()
            .expect("server chain");
        let key = PrivateKeyDer::from_pem_slice(&pki.server_key).expect("server key");
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .expect("server config");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("bound").port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                    continue;
                };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                // Reading drives the handshake: a client without an accepted certificate ends
                // here, refused with the TLS alert.
                if !answer_one(&mut tls, &respond, &seen) {
                    let _ = tls.flush();
                    continue;
                }
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        TlsStandIn { port, heads }
    }

    /// Every request that got through the handshake, head and body.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.heads.lock().expect("heads").clone()
    }
}

/// Reads one HTTP/1.1 request (head, then as many body bytes as its `Content-Length`) from
/// `stream`, keeps it in `seen` and writes `respond`'s answer with `Connection: close`. False
/// when the head never completed (nothing answered). What the plain and the TLS stand-ins share.
pub(crate) fn answer_one<S: Read + Write>(
    stream: &mut S,
    respond: &Responder,
    seen: &Mutex<Vec<String>>,
) -> bool {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && matches!(stream.read(&mut byte), Ok(1)) {
        head.push(byte[0]);
    }
    if !head.ends_with(b"\r\n\r\n") {
        return false;
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    let _ = stream.read_exact(&mut body);
    let full = format!("{head}{}", String::from_utf8_lossy(&body));
    let (status, body) = respond(&full);
    seen.lock().expect("requests").push(full);
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    let _ = stream.write_all(&out);
    true
}
