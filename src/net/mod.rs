//! Every outbound HTTP call of avisa: one client (ureq 3, rustls with ring), built from an
//! explicit [`Policy`] at each call site — timeouts, bounded redirects, a body-size cap and the
//! SSRF guard ([`guard`]): a URL that came from a webhook body may reach public addresses only,
//! while an admin-configured target (outbound webhooks, platform APIs) may be on a private
//! network. Uses std and ureq only; names no other module of ours.
//!
//! Blocking: call it from `spawn_blocking` or a blocking job, never on an async worker.

pub mod guard;
mod identity;

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ureq::ResponseExt;

pub use guard::{Refused, non_public};
pub use identity::{ClientIdentity, IdentityError, Roots};

/// Which addresses a call may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// Public addresses only: loopback, private, shared, link-local (cloud metadata), ULA,
    /// IPv4-mapped and unspecified addresses are refused on every hop. A host named in
    /// `allowed_hosts` (exact name, any case) may resolve to anything: the admin allowed it.
    PublicOnly { allowed_hosts: Vec<String> },
    /// Any address: targets an admin typed in (an intranet webhook receiver).
    Any,
}

/// How an outbound call behaves. Built explicitly at each call site, from [`Policy::media`]
/// or [`Policy::admin_configured`] and struct-update syntax for the differences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub targets: Targets,
    /// Plain `http://` allowed (on the first hop and on every redirect); else HTTPS only.
    pub allow_http: bool,
    /// The whole call: resolving, connecting, every redirect hop and reading the body.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Redirects followed; one more is [`NetError::TooManyRedirects`]. With 0 none is followed
    /// and the 3xx comes back as the response.
    pub max_redirects: u32,
    /// The body is read up to this many bytes; a longer one is [`NetError::TooLarge`].
    pub max_body_bytes: u64,
    /// Whom the server's certificate must chain to: the public web's authorities for every
    /// production call; a test's own CA only where a test names it.
    pub roots: Roots,
}

impl Policy {
    /// A URL found in a webhook body (attacker-controlled if the webhook URL leaks): public
    /// HTTPS targets only, 3 redirects, 10 MB, 20 s.
    pub fn media() -> Policy {
        Policy {
            targets: Targets::PublicOnly {
                allowed_hosts: Vec::new(),
            },
            allow_http: false,
            timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            max_redirects: 3,
            max_body_bytes: 10 * 1024 * 1024,
            roots: Roots::Public,
        }
    }

    /// A platform's API, called with a store's token to fill in a thin notification
    /// (`queue::enrich`): public HTTPS only (the platforms' own hosts; a token must never reach a
    /// private address), no redirects (an API that moves is reported, and a redirect would carry
    /// the token elsewhere), 512 KB (an order or a customer is a few KB), 10 s. Tests reach their
    /// loopback stand-ins only by naming the stand-in's host in `allowed_hosts` and allowing
    /// HTTP (or trusting the stand-in's own CA, [`Roots::OnlyCa`]), explicitly, at the call site.
    pub fn platform_api() -> Policy {
        Policy {
            targets: Targets::PublicOnly {
                allowed_hosts: Vec::new(),
            },
            allow_http: false,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_redirects: 0,
            max_body_bytes: 512 * 1024,
            roots: Roots::Public,
        }
    }

    /// A target an admin configured (outbound webhooks): any address, HTTP
    /// allowed, no redirects (a 3xx is the answer: a receiver that moves is reported, not
    /// followed), 1 MB, 15 s.
    pub fn admin_configured() -> Policy {
        Policy {
            targets: Targets::Any,
            allow_http: true,
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            max_redirects: 0,
            max_body_bytes: 1024 * 1024,
            roots: Roots::Public,
        }
    }
}

/// HTTP methods avisa calls with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

/// One outbound request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The client certificate to present (mutual TLS: Efí's API), checked when it was made.
    pub identity: Option<ClientIdentity>,
}

impl Request {
    pub fn get(url: impl Into<String>) -> Request {
        Request::new(Method::Get, url, Vec::new())
    }

    pub fn post(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Request {
        Request::new(Method::Post, url, body.into())
    }

    pub fn new(method: Method, url: impl Into<String>, body: Vec<u8>) -> Request {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body,
            identity: None,
        }
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Presents this client certificate in the TLS handshake.
    pub fn identity(mut self, identity: ClientIdentity) -> Request {
        self.identity = Some(identity);
        self
    }
}

/// A response read whole (within the policy's cap). Non-2xx statuses are responses too: the
/// caller decides what a 404 or a 503 means.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The URL after redirects.
    pub final_url: String,
}

impl Response {
    /// The first header of that name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The declared media type, lowercase, without parameters (`application/pdf`).
    pub fn media_type(&self) -> Option<String> {
        let value = self.header("content-type")?;
        let essence = value.split(';').next().unwrap_or("").trim();
        (!essence.is_empty()).then(|| essence.to_ascii_lowercase())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why an outbound call did not produce a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// Not an absolute http(s) URL with a host.
    BadUrl(String),
    /// `http://` (or another scheme) where the policy wants HTTPS, on the first hop or a redirect.
    SchemeRefused(String),
    /// The SSRF guard refused the address a host resolved to.
    Refused(Refused),
    /// The body is longer than the policy's cap.
    TooLarge {
        limit: u64,
    },
    TooManyRedirects,
    Timeout,
    HostNotFound,
    /// Connection, TLS or protocol failure.
    Unreachable(String),
    /// The server refused the TLS handshake over the client certificate: none was presented
    /// where one is required, or it was not accepted (mutual TLS).
    ClientCertificate(String),
}

impl NetError {
    /// A stable code for logs and stored reasons.
    pub fn code(&self) -> &'static str {
        match self {
            NetError::BadUrl(_) => "bad_url",
            NetError::SchemeRefused(_) => "scheme_refused",
            NetError::Refused(_) => "address_refused",
            NetError::TooLarge { .. } => "too_large",
            NetError::TooManyRedirects => "too_many_redirects",
            NetError::Timeout => "timeout",
            NetError::HostNotFound => "host_not_found",
            NetError::Unreachable(_) => "unreachable",
            NetError::ClientCertificate(_) => "client_certificate",
        }
    }

    /// Worth trying again later (the same request may succeed); the others never will.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            NetError::Timeout | NetError::HostNotFound | NetError::Unreachable(_)
        )
    }
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetError::BadUrl(url) => write!(f, "not an http(s) URL: {url}"),
            NetError::SchemeRefused(url) => write!(f, "only https is allowed: {url}"),
            NetError::Refused(refused) => write!(f, "refused target: {refused}"),
            NetError::TooLarge { limit } => write!(f, "body over {limit} bytes"),
            NetError::TooManyRedirects => write!(f, "too many redirects"),
            NetError::Timeout => write!(f, "timed out"),
            NetError::HostNotFound => write!(f, "host not found"),
            NetError::Unreachable(why) => write!(f, "unreachable: {why}"),
            NetError::ClientCertificate(why) => write!(
                f,
                "the server refused the client certificate (mutual TLS): {why}"
            ),
        }
    }
}

impl std::error::Error for NetError {}

/// The client: a ureq agent configured by one [`Policy`]. Cheap to clone (shares its pool).
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    policy: Arc<Policy>,
}

impl Client {
    pub fn new(policy: Policy) -> Client {
        Client::with_hosts(policy, HashMap::new())
    }

    /// With a static hosts table consulted before DNS (names lowercase). The guard judges these
    /// addresses like resolved ones; tests use it to make a name resolve to what they need.
    pub fn with_hosts(policy: Policy, hosts: HashMap<String, Vec<IpAddr>>) -> Client {
        let config = ureq::Agent::config_builder()
            .https_only(!policy.allow_http)
            .http_status_as_error(false)
            // An environment proxy would resolve the target itself, past the guard.
            .proxy(None)
            .max_redirects(policy.max_redirects)
            .max_redirects_will_error(true)
            .timeout_global(Some(policy.timeout))
            .timeout_connect(Some(policy.connect_timeout))
            .user_agent(concat!("avisa/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections(4)
            .max_idle_connections_per_host(2)
            .tls_config(policy.roots.tls_config(None))
            .build();
        let resolver = guard::GuardedResolver {
            targets: policy.targets.clone(),
            hosts: Arc::new(hosts),
        };
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::new(),
            resolver,
        );
        Client {
            agent,
            policy: Arc::new(policy),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn get(&self, url: &str) -> Result<Response, NetError> {
        self.send(Request::get(url))
    }

    /// Sends the request, follows redirects within the policy and reads the body whole.
    pub fn send(&self, request: Request) -> Result<Response, NetError> {
        self.check_url(&request.url)?;
        let Request {
            method,
            url,
            headers,
            body,
            identity,
        } = request;
        // A client certificate is this request's own TLS configuration (ureq keeps such
        // connections out of the shared pool).
        let tls = identity.map(|id| self.policy.roots.tls_config(Some(&id)));
        let result = match method {
            Method::Get => prepare(self.agent.get(&url), &headers, tls).call(),
            Method::Delete => prepare(self.agent.delete(&url), &headers, tls).call(),
            Method::Post => prepare(self.agent.post(&url), &headers, tls).send(&body[..]),
            Method::Put => prepare(self.agent.put(&url), &headers, tls).send(&body[..]),
            Method::Patch => prepare(self.agent.patch(&url), &headers, tls).send(&body[..]),
        };
        let mut response = result.map_err(from_ureq)?;
        let final_url = response.get_uri().to_string();
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let limit = self.policy.max_body_bytes;
        let mut body = Vec::new();
        // One byte past the cap tells "exactly at the cap" from "over it".
        response
            .body_mut()
            .as_reader()
            .take(limit.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(|e| from_ureq(ureq::Error::Io(e)))?;
        if body.len() as u64 > limit {
            return Err(NetError::TooLarge { limit });
        }
        Ok(Response {
            status,
            headers,
            body,
            final_url,
        })
    }

    /// The first hop's scheme and host, checked before any I/O (ureq checks later hops).
    fn check_url(&self, url: &str) -> Result<(), NetError> {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("https") => Ok(()),
            Some("http") if self.policy.allow_http => Ok(()),
            Some("http") => Err(NetError::SchemeRefused(url.to_owned())),
            _ => Err(NetError::BadUrl(url.to_owned())),
        }?;
        match url.parse::<ureq::http::Uri>() {
            Ok(uri) if uri.host().is_some_and(|h| !h.is_empty()) => Ok(()),
            _ => Err(NetError::BadUrl(url.to_owned())),
        }
    }
}

fn prepare<B>(
    mut builder: ureq::RequestBuilder<B>,
    headers: &[(String, String)],
    tls: Option<ureq::tls::TlsConfig>,
) -> ureq::RequestBuilder<B> {
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    match tls {
        Some(tls) => builder.config().tls_config(tls).build(),
        None => builder,
    }
}

fn from_ureq(error: ureq::Error) -> NetError {
    match error {
        ureq::Error::Io(io) => {
            if let Some(refused) = io.get_ref().and_then(|e| e.downcast_ref::<Refused>()) {
                return NetError::Refused(refused.clone());
            }
            if let Some(inner) = io.get_ref().and_then(|e| e.downcast_ref::<ureq::Error>()) {
                return from_ureq_ref(inner);
            }
            if let Some(tls) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                return from_rustls(tls);
            }
            match io.kind() {
                std::io::ErrorKind::TimedOut => NetError::Timeout,
                _ => NetError::Unreachable(io.to_string()),
            }
        }
        other => from_ureq_ref(&other),
    }
}

fn from_ureq_ref(error: &ureq::Error) -> NetError {
    match error {
        ureq::Error::Timeout(_) => NetError::Timeout,
        ureq::Error::BodyExceedsLimit(limit) => NetError::TooLarge { limit: *limit },
        ureq::Error::TooManyRedirects => NetError::TooManyRedirects,
        ureq::Error::RequireHttpsOnly(url) => NetError::SchemeRefused(url.clone()),
        ureq::Error::BadUri(url) => NetError::BadUrl(url.clone()),
        ureq::Error::HostNotFound => NetError::HostNotFound,
        ureq::Error::Rustls(tls) => from_rustls(tls),
        other => NetError::Unreachable(other.to_string()),
    }
}

/// A TLS failure: the server's alerts about the client certificate say so; the rest is a failed
/// connection like any other.
fn from_rustls(error: &rustls::Error) -> NetError {
    use rustls::AlertDescription as A;
    match error {
        rustls::Error::AlertReceived(
            alert @ (A::CertificateRequired
            | A::BadCertificate
            | A::UnknownCA
            | A::CertificateUnknown
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::UnsupportedCertificate
            | A::AccessDenied),
        ) => NetError::ClientCertificate(format!("{alert:?}")),
        other => NetError::Unreachable(format!("tls: {other}")),
    }
}

#[cfg(test)]
mod media_guard_tests;

#[cfg(test)]
pub(crate) mod tls_stand_in;

#[cfg(test)]
mod identity_tests;
