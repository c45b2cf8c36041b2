//! The public URL: the address platforms and people reach avisa at, used in every webhook URL
//! (and, for issue 14's trusted proxies, the one place to ask where avisa is reached). Three
//! sources, in order: the `--public-url` flag (or `AVISA_PUBLIC_URL`), the URL pública saved in
//! Configurações, the address avisa listens on. Also says why a URL would not reach a platform
//! (loopback, a private network, plain http). Pure: no I/O.

use core::net::IpAddr;

use serde::Serialize;

/// Where the effective public URL came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicUrlSource {
    /// `--public-url` / `AVISA_PUBLIC_URL`: wins over the saved setting.
    Flag,
    /// Configurações → URL pública.
    Settings,
    /// Neither was given: the address avisa listens on.
    Listener,
}

/// The URL every webhook URL starts with, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublicUrl {
    /// Without a trailing slash.
    pub url: String,
    pub source: PublicUrlSource,
}

/// Why platforms would not reach a URL, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlProblem {
    /// This machine only (127.0.0.1, localhost, ::1).
    Loopback,
    /// A private network (10/8, 172.16/12, 192.168/16, link-local, .local, a name without a dot).
    Private,
    /// Reachable, but webhooks (and the console's password) would travel unencrypted.
    PlainHttp,
}

impl UrlProblem {
    /// The stable code pages translate (`public_url.problem.<code>`).
    pub fn code(self) -> &'static str {
        match self {
            UrlProblem::Loopback => "loopback",
            UrlProblem::Private => "private",
            UrlProblem::PlainHttp => "plain_http",
        }
    }
}

/// The effective public URL: the flag, else the saved setting, else the listener's address.
/// Empty values count as not given. This is the one function that decides it.
pub fn effective_public_url(flag: Option<&str>, saved: &str, listener: &str) -> PublicUrl {
    let given = |s: &str| {
        let s = s.trim().trim_end_matches('/');
        (!s.is_empty()).then(|| s.to_owned())
    };
    if let Some(url) = flag.and_then(given) {
        return PublicUrl {
            url,
            source: PublicUrlSource::Flag,
        };
    }
    if let Some(url) = given(saved) {
        return PublicUrl {
            url,
            source: PublicUrlSource::Settings,
        };
    }
    PublicUrl {
        url: listener.trim_end_matches('/').to_owned(),
        source: PublicUrlSource::Listener,
    }
}

/// Checks a URL typed in Configurações: `http(s)://host[:port][/path]`, returned without a
/// trailing slash; empty is allowed (no saved URL). `None` when it is not such a URL.
pub fn normalise_public_url(input: &str) -> Option<String> {
    let url = input.trim().trim_end_matches('/');
    if url.is_empty() {
        return Some(String::new());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = host_of(rest);
    let valid = !host.is_empty()
        && !rest.contains(['?', '#', ' ', '@'])
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    valid.then(|| url.to_owned())
}

/// The host of `host[:port][/path]` (brackets kept off an IPv6 address).
fn host_of(rest: &str) -> &str {
    let authority = rest.split('/').next().unwrap_or_default();
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

/// Why platforms would not reach `url`, if they would not (the worst problem).
pub fn problem(url: &str) -> Option<UrlProblem> {
    let lower = url.trim().to_ascii_lowercase();
    let (https, rest) = match lower.strip_prefix("https://") {
        Some(rest) => (true, rest),
        None => (false, lower.strip_prefix("http://").unwrap_or(&lower)),
    };
    let host = host_of(rest);
    if let Ok(ip) = host.parse::<IpAddr>() {
        if ip.is_loopback() || ip.is_unspecified() {
            return Some(UrlProblem::Loopback);
        }
        if private_ip(ip) {
            return Some(UrlProblem::Private);
        }
    } else if host == "localhost" || host.ends_with(".localhost") {
        return Some(UrlProblem::Loopback);
    } else if !host.contains('.')
        || [".local", ".lan", ".internal", ".home"]
            .iter()
            .any(|t| host.ends_with(t))
    {
        return Some(UrlProblem::Private);
    }
    (!https).then_some(UrlProblem::PlainHttp)
}

fn private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_link_local()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])
        }
        // Unique local (fc00::/7) and link-local (fe80::/10).
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_the_saved_url_then_the_listener() {
        let listener = "http://127.0.0.1:8080";
        let flag = effective_public_url(Some("https://a.com.br/"), "https://b.com.br", listener);
        assert_eq!(flag.url, "https://a.com.br");
        assert_eq!(flag.source, PublicUrlSource::Flag);
        let saved = effective_public_url(Some(" "), "https://b.com.br/", listener);
        assert_eq!(saved.url, "https://b.com.br");
        assert_eq!(saved.source, PublicUrlSource::Settings);
        let fallback = effective_public_url(None, "", listener);
        assert_eq!(fallback.url, listener);
        assert_eq!(fallback.source, PublicUrlSource::Listener);
    }

    #[test]
    fn urls_platforms_cannot_reach_are_named() {
        for (url, expected) in [
            ("http://127.0.0.1:8080", Some(UrlProblem::Loopback)),
            ("http://localhost:8080", Some(UrlProblem::Loopback)),
            ("http://[::1]:8080", Some(UrlProblem::Loopback)),
            ("http://0.0.0.0:8080", Some(UrlProblem::Loopback)),
            ("https://192.168.0.10", Some(UrlProblem::Private)),
            ("http://10.1.2.3:8080", Some(UrlProblem::Private)),
            ("https://172.20.0.5", Some(UrlProblem::Private)),
            ("https://100.64.1.1", Some(UrlProblem::Private)),
            ("https://servidor", Some(UrlProblem::Private)),
            ("https://avisa.local", Some(UrlProblem::Private)),
            ("https://[fd00::1]", Some(UrlProblem::Private)),
            ("http://avisa.minhaloja.com.br", Some(UrlProblem::PlainHttp)),
            ("http://203.0.113.7:8080", Some(UrlProblem::PlainHttp)),
            ("https://avisa.minhaloja.com.br", None),
            ("https://avisa.minhaloja.com.br:8443/avisa", None),
        ] {
            assert_eq!(problem(url), expected, "{url}");
        }
    }

    #[test]
    fn the_settings_field_takes_http_urls_only() {
        assert_eq!(
            normalise_public_url(" https://avisa.loja.com.br/ "),
            Some("https://avisa.loja.com.br".into())
        );
        assert_eq!(normalise_public_url(""), Some(String::new()));
        for bad in [
            "avisa.loja.com.br",
            "ftp://x.com",
            "https://",
            "https://a b.com",
            "https://x.com/?a=1",
        ] {
            assert_eq!(normalise_public_url(bad), None, "{bad}");
        }
    }
}
