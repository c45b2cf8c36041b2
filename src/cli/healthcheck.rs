//! `avisa healthcheck`: a plain HTTP GET of /healthz for container health checks, and the
//! loopback address a command dials for a --listen address. Uses only std.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

/// A plain HTTP/1.0 GET on loopback: enough for a container health check, no TLS stack needed.
pub(super) fn healthcheck(url: &str) -> ExitCode {
    let Some(rest) = url.strip_prefix("http://") else {
        eprintln!(
            "avisa healthcheck: only http:// URLs are supported (ask avisa directly, not through the proxy)"
        );
        return ExitCode::from(2);
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/healthz"),
    };
    let attempt = || -> std::io::Result<bool> {
        let addr = std::net::ToSocketAddrs::to_socket_addrs(authority)?
            .next()
            .ok_or_else(|| std::io::Error::other("no address"))?;
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
        stream.set_read_timeout(Some(Duration::from_secs(3)))?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n")?;
        let mut head = [0u8; 16];
        let n = stream.read(&mut head)?;
        Ok(head[..n].starts_with(b"HTTP/1.1 200") || head[..n].starts_with(b"HTTP/1.0 200"))
    };
    match attempt() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("avisa healthcheck: {url} did not answer 200");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("avisa healthcheck: {url}: {e}");
            ExitCode::from(1)
        }
    }
}

/// The address to dial for a listen address: a wildcard listener is reached on loopback.
pub fn dial_address(server: &str) -> String {
    let bare = server
        .trim()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default();
    if let Some(port) = bare.strip_prefix("0.0.0.0:") {
        format!("127.0.0.1:{port}")
    } else if let Some(port) = bare.strip_prefix("[::]:") {
        format!("[::1]:{port}")
    } else {
        bare.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::dial_address;

    #[test]
    fn a_wildcard_listen_address_is_dialled_on_loopback() {
        assert_eq!(dial_address("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(dial_address("[::]:9000"), "[::1]:9000");
        assert_eq!(dial_address("127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(dial_address("http://127.0.0.1:8080/"), "127.0.0.1:8080");
    }
}
