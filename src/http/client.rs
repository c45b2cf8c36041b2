//! Who is on the other end: the client's address, read from `X-Forwarded-For` (or, without it,
//! `Forwarded`) only when the connection comes from a trusted proxy, walking the chain from the
//! right past every trusted hop. Anyone can write those headers, so an untrusted peer's are
//! ignored. Used by login throttling; a merchant behind Caddy or nginx on the same host needs no
//! setting (loopback is trusted when the public URL is https).

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use actix_web::HttpRequest;
use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

use super::AppState;

/// Which peers may tell avisa the client's address (`--trusted-proxies`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TrustedProxies {
    /// Loopback when the public URL is https (a reverse proxy on the same host terminates TLS),
    /// nobody otherwise.
    #[default]
    Default,
    /// Exactly these addresses and networks (empty: nobody).
    List(Vec<IpNet>),
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// `127.0.0.1, 10.0.0.0/8, ::1`; `none` trusts nobody.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("none") {
            return Ok(TrustedProxies::List(Vec::new()));
        }
        s.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<IpNet>()
                    .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("not an address or network: {part}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies::List)
    }
}

impl TrustedProxies {
    /// Whether `ip` is a proxy whose forwarding headers count.
    pub fn trusts(&self, ip: IpAddr, public_url_is_https: bool) -> bool {
        let ip = ip.to_canonical();
        match self {
            TrustedProxies::Default => public_url_is_https && ip.is_loopback(),
            TrustedProxies::List(nets) => nets.iter().any(|net| net.contains(&ip)),
        }
    }
}

/// The one place this module learns whether the public URL is https.
fn public_url_is_https(state: &AppState) -> bool {
    state.secure_cookies()
}

/// The address of the client behind this request (the peer itself unless it is a trusted proxy).
pub fn client_address(req: &HttpRequest, state: &AppState) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let https = public_url_is_https(state);
    forwarded_client(peer, req.headers(), |ip| {
        state.config.trusted_proxies.trusts(ip, https)
    })
}

/// Walks the forwarding chain from the peer leftwards while each hop is trusted; the first
/// untrusted address is the client. A hop that does not parse ends the walk at the last good one.
pub fn forwarded_client(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: impl Fn(IpAddr) -> bool,
) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted(peer) {
        return peer;
    }
    let mut chain = header_chain(headers, "x-forwarded-for", |part| Some(part.trim()));
    if chain.is_empty() {
        chain = header_chain(headers, "forwarded", forwarded_for);
    }
    let mut client = peer;
    for hop in chain.iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !trusted(ip) {
            break;
        }
    }
    client
}

/// Every comma-separated element of every line of `name`, in order, through `pick`.
fn header_chain(
    headers: &HeaderMap,
    name: &str,
    pick: impl Fn(&str) -> Option<&str>,
) -> Vec<String> {
    headers
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(','))
        .map(|part| pick(part).unwrap_or_default().to_owned())
        .collect()
}

/// The `for=` value of one `Forwarded` element (RFC 7239), quotes removed.
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_str(name).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn the_client_address_follows_only_trusted_hops() {
        let proxies: TrustedProxies = "127.0.0.1, 10.0.0.0/8".parse().expect("list");
        let trusted = |ip| proxies.trusts(ip, false);
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            // An untrusted peer's headers are ignored.
            (
                "203.0.113.9",
                &[("x-forwarded-for", "198.51.100.1")],
                "203.0.113.9",
            ),
            // Behind the proxy: the address it appended.
            (
                "127.0.0.1",
                &[("x-forwarded-for", "198.51.100.1")],
                "198.51.100.1",
            ),
            // What the client wrote itself, left of the proxy's entry, does not count.
            (
                "127.0.0.1",
                &[("x-forwarded-for", "1.1.1.1, 198.51.100.1")],
                "198.51.100.1",
            ),
            // Trusted hops in the chain are skipped.
            (
                "127.0.0.1",
                &[("x-forwarded-for", "198.51.100.1, 10.1.2.3")],
                "198.51.100.1",
            ),
            // Several header lines form one list.
            (
                "127.0.0.1",
                &[
                    ("x-forwarded-for", "1.1.1.1"),
                    ("x-forwarded-for", "198.51.100.1"),
                ],
                "198.51.100.1",
            ),
            // Garbage ends the walk at the last good hop.
            (
                "127.0.0.1",
                &[("x-forwarded-for", "198.51.100.1, nonsense, 10.0.0.1")],
                "10.0.0.1",
            ),
            ("127.0.0.1", &[("x-forwarded-for", "")], "127.0.0.1"),
            // No header: the proxy itself.
            ("127.0.0.1", &[], "127.0.0.1"),
            // Forwarded, when X-Forwarded-For is absent.
            (
                "127.0.0.1",
                &[("forwarded", "for=198.51.100.1;proto=https")],
                "198.51.100.1",
            ),
            (
                "127.0.0.1",
                &[("forwarded", "for=1.1.1.1, for=\"[2001:db8::7]:4711\"")],
                "2001:db8::7",
            ),
            (
                "127.0.0.1",
                &[("forwarded", "For=\"198.51.100.1:443\"")],
                "198.51.100.1",
            ),
            ("127.0.0.1", &[("forwarded", "for=unknown")], "127.0.0.1"),
            // X-Forwarded-For wins: the documented proxies set it, a client may send Forwarded.
            (
                "127.0.0.1",
                &[
                    ("forwarded", "for=1.1.1.1"),
                    ("x-forwarded-for", "198.51.100.1"),
                ],
                "198.51.100.1",
            ),
            // An IPv4-mapped peer counts as its IPv4 address.
            (
                "::ffff:127.0.0.1",
                &[("x-forwarded-for", "198.51.100.1")],
                "198.51.100.1",
            ),
        ];
        for (peer, pairs, want) in cases {
            let got = forwarded_client(ip(peer), &headers(pairs), trusted);
            assert_eq!(got, ip(want), "peer {peer}, headers {pairs:?}");
        }
    }

    #[test]
    fn by_default_loopback_is_trusted_only_behind_https() {
        let default = TrustedProxies::Default;
        assert!(default.trusts(ip("127.0.0.1"), true));
        assert!(default.trusts(ip("::1"), true));
        assert!(!default.trusts(ip("127.0.0.1"), false));
        assert!(!default.trusts(ip("10.0.0.1"), true));
        let none: TrustedProxies = "none".parse().expect("none");
        assert!(!none.trusts(ip("127.0.0.1"), true));
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
    }
}
