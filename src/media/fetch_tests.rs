//! Fetching media through the guarded client against a loopback server (`cargo test media`):
//! size cap, MIME sniffing against the part, refusals with their pt-BR reasons.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;

use super::*;
use crate::net::{Policy, Targets};

fn serve(answer: impl Fn(&str) -> Vec<u8> + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("bound").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
            let _ = stream.write_all(&answer(&path));
        }
    });
    port
}

fn answer(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// The media policy (http allowed for the loopback test server, reached as an allowed host).
fn client(max_body_bytes: u64) -> Client {
    let policy = Policy {
        allow_http: true,
        max_body_bytes,
        targets: Targets::PublicOnly {
            allowed_hosts: vec!["loja.example".into()],
        },
        ..Policy::media()
    };
    let mut hosts = HashMap::new();
    hosts.insert(
        "loja.example".to_owned(),
        vec!["127.0.0.1".parse().expect("ip")],
    );
    hosts.insert(
        "interno.example".to_owned(),
        vec!["10.0.0.7".parse().expect("ip")],
    );
    Client::with_hosts(policy, hosts)
}

fn loja() -> u16 {
    serve(|path| match path {
        "/boletos/boleto-123.pdf" => {
            answer("200 OK", "application/octet-stream", b"%PDF-1.4 boleto")
        }
        "/boleto-login" => answer(
            "200 OK",
            "application/pdf",
            b"<!DOCTYPE html><form>login</form>",
        ),
        "/grande.pdf" => answer("200 OK", "application/pdf", &[b'%'; 2048]),
        "/foto.jpg" => answer("200 OK", "image/jpeg", b"\xff\xd8\xff\xe0 jpeg"),
        _ => answer("404 Not Found", "text/plain", b"nada"),
    })
}

#[test]
fn media_fetch_a_pdf_sniffed_named_and_content_addressed() {
    let port = loja();
    let got = fetch_media(
        &client(1024),
        &format!("http://loja.example:{port}/boletos/boleto-123.pdf"),
        MediaKind::Document,
    )
    .expect("a PDF");
    assert_eq!(got.mime, "application/pdf");
    assert_eq!(got.file_name, "boleto-123.pdf");
    assert_eq!(got.bytes, b"%PDF-1.4 boleto");
    assert_eq!(got.sha256, hex::encode(Sha256::digest(b"%PDF-1.4 boleto")));
}

#[test]
fn media_fetch_failures_and_their_reasons() {
    let port = loja();
    let base = format!("http://loja.example:{port}");
    let reasons: Vec<(String, bool)> = [
        (format!("{base}/boleto-login"), MediaKind::Document),
        (format!("{base}/grande.pdf"), MediaKind::Document),
        (format!("{base}/foto.jpg"), MediaKind::Audio),
        (format!("{base}/sumiu.pdf"), MediaKind::Document),
        (
            "http://interno.example/b.pdf".to_owned(),
            MediaKind::Document,
        ),
    ]
    .iter()
    .map(|(url, kind)| {
        let e = fetch_media(&client(1024), url, *kind).expect_err("refused");
        (e.to_string(), e.is_transient())
    })
    .collect();
    assert_eq!(
        reasons,
        [
            ("o endereço devolveu uma página da web, não um arquivo".to_owned(), false),
            ("o arquivo passa de 1 KB".to_owned(), false),
            ("o arquivo é image/jpeg, não serve para #audio".to_owned(), false),
            ("o servidor do arquivo respondeu HTTP 404".to_owned(), false),
            (
                "endereço recusado por segurança: interno.example aponta para uma rede interna (private (10/8))"
                    .to_owned(),
                false
            ),
        ]
    );
}
