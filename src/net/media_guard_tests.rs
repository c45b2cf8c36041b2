//! The SSRF guard and the client's limits, as a table and against loopback servers. Named for
//! `cargo test media`: a media URL from a webhook body goes through exactly this guard.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener};
use std::time::Duration;

use super::*;

#[test]
fn media_guard_table_of_addresses() {
    let cases: &[(&str, Option<&str>)] = &[
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("172.32.0.1", None),
        ("100.128.0.1", None),
        ("11.0.0.1", None),
        ("2001:4860:4860::8888", None),
        ("127.0.0.1", Some("loopback")),
        ("127.8.9.10", Some("loopback")),
        ("10.0.0.1", Some("private (10/8)")),
        ("10.255.255.255", Some("private (10/8)")),
        ("172.16.0.1", Some("private (172.16/12)")),
        ("172.31.255.254", Some("private (172.16/12)")),
        ("192.168.1.1", Some("private (192.168/16)")),
        ("100.64.0.1", Some("shared address space (100.64/10)")),
        ("100.127.255.254", Some("shared address space (100.64/10)")),
        ("169.254.169.254", Some("cloud metadata")),
        ("169.254.1.1", Some("link-local (169.254/16)")),
        ("0.0.0.0", Some("unspecified")),
        ("0.1.2.3", Some("this network (0/8)")),
        ("255.255.255.255", Some("broadcast")),
        ("224.0.0.1", Some("multicast")),
        ("::1", Some("loopback")),
        ("::", Some("unspecified")),
        ("fd00::1", Some("unique local (fc00::/7)")),
        ("fc12:3456::1", Some("unique local (fc00::/7)")),
        ("fe80::1", Some("link-local (fe80::/10)")),
        ("::ffff:127.0.0.1", Some("IPv4-mapped non-public address")),
        (
            "::ffff:169.254.169.254",
            Some("IPv4-mapped non-public address"),
        ),
        ("::ffff:10.0.0.1", Some("IPv4-mapped non-public address")),
        ("::ffff:8.8.8.8", None),
        ("::127.0.0.1", Some("IPv4-compatible")),
        ("64:ff9b::a00:1", Some("NAT64 (64:ff9b::/96)")),
        ("2002:a00:1::", Some("6to4 (2002::/16)")),
        ("ff02::1", Some("multicast")),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(ip, expected)| {
            let got = non_public(ip.parse::<IpAddr>().expect("a valid address"));
            (got != *expected).then(|| format!("{ip}: expected {expected:?}, got {got:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn public_http() -> Policy {
    Policy {
        allow_http: true,
        ..Policy::media()
    }
}

fn hosts(table: &[(&str, &str)]) -> HashMap<String, Vec<IpAddr>> {
    table
        .iter()
        .map(|(name, ip)| (name.to_string(), vec![ip.parse().expect("address")]))
        .collect()
}

fn refused(result: Result<Response, NetError>) -> (String, String) {
    match result {
        Err(NetError::Refused(r)) => (r.host, r.reason.to_owned()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn media_guard_refuses_literal_addresses_before_connecting() {
    let client = Client::new(public_http());
    for (url, reason) in [
        ("http://127.0.0.1:9/boleto.pdf", "loopback"),
        ("http://10.0.0.1/", "private (10/8)"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fd00::1]/x", "unique local (fc00::/7)"),
        ("http://[::1]:8080/", "loopback"),
        (
            "http://[::ffff:127.0.0.1]/",
            "IPv4-mapped non-public address",
        ),
        ("http://0.0.0.0/", "unspecified"),
    ] {
        assert_eq!(refused(client.get(url)).1, reason, "{url}");
    }
}

#[test]
fn media_guard_refuses_names_that_resolve_to_private_addresses() {
    let client = Client::with_hosts(
        public_http(),
        hosts(&[
            ("boleto.example", "10.1.2.3"),
            ("metadata.example", "169.254.169.254"),
            ("ula.example", "fd12::7"),
        ]),
    );
    assert_eq!(
        refused(client.get("http://boleto.example/b.pdf")),
        ("boleto.example".into(), "private (10/8)".into())
    );
    assert_eq!(
        refused(client.get("http://metadata.example/")).1,
        "cloud metadata"
    );
    assert_eq!(
        refused(client.get("http://ula.example/")).1,
        "unique local (fc00::/7)"
    );
    // Through the system resolver: localhost is loopback whatever it resolves to first.
    assert_eq!(refused(client.get("http://localhost:9/")).1, "loopback");
}

#[test]
fn media_guard_refuses_a_name_with_any_private_address_among_public_ones() {
    let mut table = HashMap::new();
    table.insert(
        "rebind.example".to_owned(),
        vec![
            "8.8.8.8".parse().expect("ip"),
            "127.0.0.1".parse().expect("ip"),
        ],
    );
    let client = Client::with_hosts(public_http(), table);
    assert_eq!(refused(client.get("http://rebind.example/")).1, "loopback");
}

#[test]
fn media_guard_wants_https_unless_the_policy_allows_http() {
    let client = Client::new(Policy::media());
    assert!(matches!(
        client.get("http://example.com/boleto.pdf"),
        Err(NetError::SchemeRefused(_))
    ));
    assert!(matches!(
        client.get("ftp://example.com/boleto.pdf"),
        Err(NetError::BadUrl(_))
    ));
    assert!(matches!(client.get("boleto.pdf"), Err(NetError::BadUrl(_))));
}

/// A loopback HTTP server answering every connection with `answer(path)`, then closing it.
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

fn ok(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn redirect(to: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// A policy reaching the loopback test server under the name `shop.example` only.
fn shop_policy() -> Policy {
    Policy {
        targets: Targets::PublicOnly {
            allowed_hosts: vec!["shop.example".into()],
        },
        ..public_http()
    }
}

fn shop_client(policy: Policy) -> Client {
    Client::with_hosts(
        policy,
        hosts(&[
            ("shop.example", "127.0.0.1"),
            ("metadata.example", "169.254.169.254"),
        ]),
    )
}

#[test]
fn media_guard_checks_every_redirect_hop() {
    let port = serve(move |path| match path {
        "/to-metadata" => redirect("http://metadata.example/latest/meta-data/"),
        "/to-loopback" => redirect(&format!("http://127.0.0.1:{}/b.pdf", 9)),
        "/to-ok" => redirect("/b.pdf"),
        _ => ok("application/pdf", b"%PDF-1.4 boleto"),
    });
    let client = shop_client(shop_policy());
    let base = format!("http://shop.example:{port}");
    assert_eq!(
        refused(client.get(&format!("{base}/to-metadata"))),
        ("metadata.example".into(), "cloud metadata".into())
    );
    assert_eq!(
        refused(client.get(&format!("{base}/to-loopback"))).1,
        "loopback"
    );
    let fine = client
        .get(&format!("{base}/to-ok"))
        .expect("same allowed host");
    assert_eq!(fine.body, b"%PDF-1.4 boleto");
    assert_eq!(fine.final_url, format!("{base}/b.pdf"));
    assert_eq!(fine.media_type().as_deref(), Some("application/pdf"));
}

#[test]
fn media_guard_bounds_redirects() {
    let port = serve(|path| {
        let n: u32 = path.trim_start_matches('/').parse().unwrap_or(0);
        redirect(&format!("/{}", n + 1))
    });
    let client = shop_client(Policy {
        max_redirects: 3,
        ..shop_policy()
    });
    assert_eq!(
        client.get(&format!("http://shop.example:{port}/0")).err(),
        Some(NetError::TooManyRedirects)
    );
}

#[test]
fn media_body_cap_allows_exactly_the_cap_and_refuses_one_byte_more() {
    let port = serve(|path| {
        let n: usize = path.trim_start_matches('/').parse().unwrap_or(0);
        ok("image/png", &vec![7u8; n])
    });
    let client = shop_client(Policy {
        max_body_bytes: 1000,
        ..shop_policy()
    });
    let base = format!("http://shop.example:{port}");
    assert_eq!(
        client
            .get(&format!("{base}/1000"))
            .expect("at the cap")
            .body
            .len(),
        1000
    );
    assert_eq!(
        client.get(&format!("{base}/1001")).err(),
        Some(NetError::TooLarge { limit: 1000 })
    );
}

#[test]
fn net_admin_configured_targets_may_be_private_and_errors_are_responses() {
    let port = serve(|path| match path {
        "/hook" => ok("application/json", b"{\"ok\":true}"),
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    });
    let client = Client::new(Policy::admin_configured());
    let answer = client
        .send(
            Request::post(format!("http://127.0.0.1:{port}/hook"), b"{}".to_vec())
                .header("Content-Type", "application/json"),
        )
        .expect("loopback allowed by an admin-configured policy");
    assert!(answer.is_success());
    assert_eq!(answer.body, b"{\"ok\":true}");
    let missing = client
        .get(&format!("http://127.0.0.1:{port}/gone"))
        .expect("a 404 is a response");
    assert_eq!(missing.status, 404);
}

#[test]
fn net_admin_configured_policy_does_not_follow_redirects() {
    let port = serve(|_| redirect("/elsewhere"));
    let client = Client::new(Policy::admin_configured());
    let answer = client
        .get(&format!("http://127.0.0.1:{port}/hook"))
        .expect("the 3xx is the answer");
    assert_eq!(answer.status, 302);
    assert_eq!(answer.header("location"), Some("/elsewhere"));
}

#[test]
fn net_a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("bound").port();
    // Connections are accepted by the kernel's backlog and never answered.
    let client = Client::new(Policy {
        timeout: Duration::from_millis(200),
        ..Policy::admin_configured()
    });
    let result = client.get(&format!("http://127.0.0.1:{port}/"));
    drop(listener);
    assert_eq!(result.err(), Some(NetError::Timeout));
}
