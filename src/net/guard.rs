//! The SSRF guard: which addresses an outbound call may reach under a [`Targets`] policy. It sits
//! in ureq's name resolver, so it judges the addresses a name resolves to (not the name), and ureq
//! calls it again for every redirect hop and every new connection.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

use super::Targets;

/// Why an address is not a public one, or `None` for a public address.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b) {
        _ if ip.is_unspecified() => "unspecified",
        (0, _) => "this network (0/8)",
        (127, _) => "loopback",
        (10, _) => "private (10/8)",
        (172, 16..=31) => "private (172.16/12)",
        (192, 168) => "private (192.168/16)",
        (100, 64..=127) => "shared address space (100.64/10)",
        (169, 254) if ip == Ipv4Addr::new(169, 254, 169, 254) => "cloud metadata",
        (169, 254) => "link-local (169.254/16)",
        (192, 0) if c == 0 => "IETF protocol assignments (192.0.0/24)",
        (198, 18..=19) => "benchmarking (198.18/15)",
        _ if ip.is_broadcast() => "broadcast",
        (224..=239, _) => "multicast",
        (240..=255, _) => "reserved (240/4)",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return non_public_v4(v4).map(|_| "IPv4-mapped non-public address");
    }
    let first = ip.segments()[0];
    Some(match first {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        0xfc00..=0xfdff => "unique local (fc00::/7)",
        0xfe80..=0xfebf => "link-local (fe80::/10)",
        0xfec0..=0xfeff => "site-local (fec0::/10)",
        0xff00..=0xffff => "multicast",
        // IPv4-compatible (::a.b.c.d), NAT64 and 6to4 carry an IPv4 address a gateway may reach.
        0 => "IPv4-compatible",
        0x64 if ip.segments()[1] == 0xff9b => "NAT64 (64:ff9b::/96)",
        0x2002 => "6to4 (2002::/16)",
        _ => return None,
    })
}

/// A refused target: the host asked for, the address it resolved to and why it is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub host: String,
    pub addr: IpAddr,
    pub reason: &'static str,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} resolves to {} ({})",
            self.host, self.addr, self.reason
        )
    }
}

impl std::error::Error for Refused {}

/// ureq's resolver with the guard in it. A static hosts table (tests, or an admin's pinning)
/// is consulted before DNS, like /etc/hosts.
#[derive(Debug)]
pub(super) struct GuardedResolver {
    pub targets: Targets,
    pub hosts: Arc<HashMap<String, Vec<IpAddr>>>,
}

impl GuardedResolver {
    /// Whether `host` may resolve to a non-public address under the policy.
    fn host_allowed(&self, host: &str) -> bool {
        match &self.targets {
            Targets::Any => true,
            Targets::PublicOnly { allowed_hosts } => allowed_hosts
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(host)),
        }
    }
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri
            .host()
            .ok_or_else(|| ureq::Error::BadUri(uri.to_string()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let resolved = match self.hosts.get(&host) {
            Some(ips) => {
                let port = uri
                    .port_u16()
                    .unwrap_or(if uri.scheme_str() == Some("http") {
                        80
                    } else {
                        443
                    });
                let mut out = self.empty();
                for ip in ips {
                    // More than the resolver's 16 slots: the rest are not tried.
                    let _ = out.try_push(SocketAddr::new(*ip, port));
                }
                if out.is_empty() {
                    return Err(ureq::Error::HostNotFound);
                }
                out
            }
            None => DefaultResolver::default().resolve(uri, config, timeout)?,
        };
        if self.host_allowed(&host) {
            return Ok(resolved);
        }
        // Any non-public address refuses the whole name: a name that resolves to both a public
        // and a private address is a rebinding attempt, not a host to reach half of.
        for addr in resolved.iter() {
            if let Some(reason) = non_public(addr.ip()) {
                let refused = Refused {
                    host: host.clone(),
                    addr: addr.ip(),
                    reason,
                };
                return Err(ureq::Error::Io(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    refused,
                )));
            }
        }
        Ok(resolved)
    }
}
