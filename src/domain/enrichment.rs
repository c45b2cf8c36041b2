//! Thin notifications filled in from the platform's API: a store's API credentials, the job that
//! waits for the resource (one per awaiting event, keyed by the event), its retry schedule as
//! data and the pure judgement of each answer. The worker (`queue::enrich`) calls the platform,
//! `ingest::enrich` builds the call and merges the resource, `db::enrichment` keeps the queue.
//! Pure: no I/O, time passed in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{EventId, StoreId};

/// A store's credentials for its platform's API (the access token, API key, VTEX's account and
/// app key …). Which fields a platform needs is `ingest::enrich::credential`'s. Never shown back
/// in full ([`mask`]) and never logged: `Debug` prints masks.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiCredentials {
    /// The field named `token` (a one-field platform's only value). Records saved before
    /// platforms had several fields hold only this.
    pub token: String,
    /// Every other field by name (`account`, `app_key` …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// The access token the platform last gave for these credentials (OAuth platforms:
    /// Mercado Livre, Efí), kept until it expires. Not one of the merchant's fields: never on
    /// the form, dropped when the merchant saves the credentials again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<ApiSession>,
}

impl ApiCredentials {
    /// Credentials of one token.
    pub fn token(token: impl Into<String>) -> ApiCredentials {
        ApiCredentials {
            token: token.into(),
            fields: BTreeMap::new(),
            session: None,
        }
    }

    /// A field's value, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        let value = match name {
            TOKEN_FIELD => Some(self.token.as_str()),
            _ => self.fields.get(name).map(String::as_str),
        };
        value.map(str::trim).filter(|v| !v.is_empty())
    }

    /// Sets a field's value.
    pub fn set(&mut self, name: &str, value: String) {
        match name {
            TOKEN_FIELD => self.token = value,
            _ => {
                self.fields.insert(name.to_owned(), value);
            }
        }
    }

    /// What the console shows of the token ([`mask`]).
    pub fn masked(&self) -> String {
        mask(&self.token)
    }
}

/// The name of the field kept in [`ApiCredentials::token`].
pub const TOKEN_FIELD: &str = "token";

/// What the console shows of a secret: bullets and, for a long one, its last four characters
/// (enough to tell two tokens apart, not enough to use one).
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.trim().chars().collect();
    if chars.len() < 12 {
        return "••••".to_owned();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("••••{tail}")
}

impl std::fmt::Debug for ApiCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: BTreeMap<&str, String> = self
            .fields
            .iter()
            .map(|(name, value)| (name.as_str(), mask(value)))
            .collect();
        f.debug_struct("ApiCredentials")
            .field("token", &self.masked())
            .field("fields", &fields)
            .field("session", &self.session)
            .finish()
    }
}

/// An access token a platform gave for a store's credentials (OAuth: Mercado Livre, Efí), kept
/// with them until shortly before it expires, so a token lasting hours is asked for once, not
/// once per event. Never shown, never logged: `Debug` names no token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiSession {
    pub access_token: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// When the refresh token that gave it ends (Unix seconds), where the platform says (Tray:
    /// 30 days): a renewal refused after it is said as expired, not invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_at: Option<i64>,
}

/// A kept access token is not used in its last minute: a call made with it must not arrive
/// after it expired.
pub const SESSION_MARGIN_S: i64 = 60;

impl ApiSession {
    /// A session for a token lasting `expires_in` seconds from `now`.
    pub fn new(access_token: String, expires_in: i64, now: i64) -> ApiSession {
        ApiSession {
            access_token,
            expires_at: now.saturating_add(expires_in),
            refresh_expires_at: None,
        }
    }

    /// Whether a call made at `now` may still use it.
    pub fn usable(&self, now: i64) -> bool {
        now.saturating_add(SESSION_MARGIN_S) < self.expires_at
    }
}

impl std::fmt::Debug for ApiSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiSession")
            .field("expires_at", &self.expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish_non_exhaustive()
    }
}

/// After a failed call: wait 15 s, 1 min, 5 min, 30 min, 2 h, then give up ("a plataforma não
/// respondeu"). Short on purpose: a boleto reminder that waits a day for its buyer is late.
pub const RETRY_SCHEDULE_S: [i64; 5] = [15, 60, 300, 1_800, 7_200];
/// How long a claimed job is held before it is due again: the process died mid-call. Longer than
/// the platform policy's whole-call timeout.
pub const LEASE_S: i64 = 60;
/// Characters of an answer kept on an attempt (for the event page).
pub const MAX_NOTE_CHARS: usize = 200;

/// One awaiting event's fetch: what to fetch and how it went so far. Carries ids and the
/// resource's path, never the buyer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrichJob {
    pub event_id: EventId,
    pub store_id: StoreId,
    /// The resource's path under the platform's API base (`/v1/payments/123`).
    pub path: String,
    /// When the next call is due (a claim moves it to the lease's end).
    pub next_at: i64,
    /// Failed calls so far: indexes [`RETRY_SCHEDULE_S`].
    pub tries: u32,
    pub attempts: Vec<EnrichAttempt>,
}

/// One call to the platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrichAttempt {
    pub at: i64,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// What went wrong (or `ok`), short.
    pub note: String,
}

/// What the platform's API did with one call, as the worker saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A 2xx whose body the recogniser read as the resource.
    Resource,
    /// A 2xx whose body is not the resource (an HTML page, a truncated JSON, another order).
    Unreadable(String),
    /// Any other status.
    Status(u16),
    /// No answer: timeout, connection refused, DNS … (worth another try).
    NoAnswer(String),
    /// The call cannot be made at all (the address is refused by the guard, a bad URL).
    CannotCall(String),
    /// The platform refused the TLS handshake over the store's client certificate.
    CertificateRefused(String),
}

/// Why an awaiting event was given up; each is a reason code of the invalid event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUp {
    /// 401/403: the token is wrong, expired or lacks the scope.
    TokenInvalid,
    /// The lasting credential itself expired (Tray's refresh token, 30 days): avisa cannot renew
    /// the access token any more; the merchant makes a new one on the platform.
    TokenExpired,
    /// 404/410: the platform does not know the resource.
    NotFound,
    /// Timeouts, 5xx, 429 until the schedule ran out, or a call that cannot be made.
    NoAnswer,
    /// Every 2xx was something else than the resource, until the schedule ran out.
    Unreadable,
    /// The store lost its credentials (or was deleted) while the event waited.
    NoCredentials,
    /// The platform refused the store's client certificate (mutual TLS: Efí).
    CertificateRefused,
}

impl GiveUp {
    /// The sentence the event page shows (pt-BR, the merchant's words).
    pub fn detail(self) -> &'static str {
        match self {
            GiveUp::TokenInvalid => "token da API inválido",
            GiveUp::TokenExpired => "o refresh token da Tray expirou: gere um novo no painel",
            GiveUp::NotFound => "a plataforma não encontrou o pedido",
            GiveUp::NoAnswer => "a plataforma não respondeu",
            GiveUp::Unreadable => "a plataforma respondeu algo que não é o pedido",
            GiveUp::NoCredentials => "a loja não tem token da API cadastrado",
            GiveUp::CertificateRefused => "a plataforma recusou o certificado da loja",
        }
    }
}

/// What to do after an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Merge the resource and plan the event.
    Done,
    /// Call again at this time.
    RetryAt(i64),
    /// Mark the event invalid with this reason.
    GiveUp(GiveUp),
}

/// Decides the next step of a job that has failed `tries` times before this answer, answered
/// at `now`. Permanent answers give up at once; transient ones follow the schedule.
pub fn judge(answer: &Answer, tries: u32, now: i64) -> Step {
    let transient = |last: GiveUp| match RETRY_SCHEDULE_S.get(tries as usize) {
        Some(wait) => Step::RetryAt(now + wait),
        None => Step::GiveUp(last),
    };
    match answer {
        Answer::Resource => Step::Done,
        Answer::Status(401 | 403) => Step::GiveUp(GiveUp::TokenInvalid),
        Answer::Status(404 | 410) => Step::GiveUp(GiveUp::NotFound),
        Answer::Status(_) | Answer::NoAnswer(_) => transient(GiveUp::NoAnswer),
        Answer::Unreadable(_) => transient(GiveUp::Unreadable),
        Answer::CannotCall(_) => Step::GiveUp(GiveUp::NoAnswer),
        Answer::CertificateRefused(_) => Step::GiveUp(GiveUp::CertificateRefused),
    }
}

impl Answer {
    /// The attempt's status and note.
    pub fn attempt(&self, at: i64) -> EnrichAttempt {
        let (status, note) = match self {
            Answer::Resource => (None, "ok".to_owned()),
            Answer::Unreadable(why) => (None, format!("resposta ilegível: {why}")),
            Answer::Status(s) => (Some(*s), format!("HTTP {s}")),
            Answer::NoAnswer(why) => (None, format!("sem resposta: {why}")),
            Answer::CannotCall(why) => (None, format!("chamada recusada: {why}")),
            Answer::CertificateRefused(why) => (None, format!("certificado recusado: {why}")),
        };
        EnrichAttempt {
            at,
            status,
            note: note.chars().take(MAX_NOTE_CHARS).collect(),
        }
    }
}

#[cfg(test)]
mod enrichment_tests {
    use super::*;

    #[test]
    fn the_token_is_never_shown_whole_nor_debug_printed() {
        let mut creds = ApiCredentials::token("APP_USR-1234567890-abcd");
        assert_eq!(creds.masked(), "••••abcd");
        assert!(!format!("{creds:?}").contains("1234567890"));
        creds.set("app_token", "TOKENSECRETVALUE-9999".into());
        assert!(!format!("{creds:?}").contains("SECRETVALUE"));
        assert_eq!(ApiCredentials::token("abc123").masked(), "••••");
    }

    #[test]
    fn records_saved_with_one_token_still_read_and_fields_are_named() {
        let old: ApiCredentials = serde_json::from_str(r#"{"token":"tok-1"}"#).expect("old");
        assert_eq!(old, ApiCredentials::token("tok-1"));
        assert_eq!(old.get("token"), Some("tok-1"));
        assert_eq!(old.get("account"), None);
        let mut creds = ApiCredentials::default();
        creds.set("account", " minhaloja ".into());
        creds.set("token", "t".into());
        assert_eq!(
            (creds.get("account"), creds.get("token")),
            (Some("minhaloja"), Some("t"))
        );
        let again: ApiCredentials =
            serde_json::from_slice(&serde_json::to_vec(&creds).expect("json")).expect("read");
        assert_eq!(again, creds);
        assert_eq!(
            serde_json::to_string(&ApiCredentials::token("t")).expect("json"),
            r#"{"token":"t"}"#,
            "a one-token record is written as before"
        );
    }

    #[test]
    fn answers_are_judged_by_the_schedule() {
        let now = 1_000;
        let table: &[(Answer, u32, Step)] = &[
            (Answer::Resource, 3, Step::Done),
            (Answer::Status(401), 0, Step::GiveUp(GiveUp::TokenInvalid)),
            (Answer::Status(403), 2, Step::GiveUp(GiveUp::TokenInvalid)),
            (Answer::Status(404), 0, Step::GiveUp(GiveUp::NotFound)),
            (Answer::Status(503), 0, Step::RetryAt(now + 15)),
            (Answer::Status(429), 1, Step::RetryAt(now + 60)),
            (
                Answer::NoAnswer("timeout".into()),
                4,
                Step::RetryAt(now + 7_200),
            ),
            (
                Answer::NoAnswer("timeout".into()),
                5,
                Step::GiveUp(GiveUp::NoAnswer),
            ),
            (
                Answer::Unreadable("html".into()),
                0,
                Step::RetryAt(now + 15),
            ),
            (
                Answer::Unreadable("html".into()),
                5,
                Step::GiveUp(GiveUp::Unreadable),
            ),
            (
                Answer::CannotCall("guard".into()),
                0,
                Step::GiveUp(GiveUp::NoAnswer),
            ),
        ];
        for (answer, tries, step) in table {
            assert_eq!(
                judge(answer, *tries, now),
                *step,
                "{answer:?} after {tries}"
            );
        }
    }

    #[test]
    fn enrich_a_kept_access_token_is_not_used_in_its_last_minute() {
        let session = ApiSession::new("APP_USR-secret-access".into(), 21_600, 1_000);
        assert_eq!(session.expires_at, 22_600);
        assert!(session.usable(1_000));
        assert!(session.usable(22_600 - SESSION_MARGIN_S - 1));
        assert!(!session.usable(22_600 - SESSION_MARGIN_S));
        assert!(!session.usable(30_000));
        assert!(!format!("{session:?}").contains("secret"));
    }

    #[test]
    fn the_reasons_speak_portuguese() {
        assert_eq!(GiveUp::TokenInvalid.detail(), "token da API inválido");
        assert_eq!(GiveUp::NoAnswer.detail(), "a plataforma não respondeu");
    }
}
