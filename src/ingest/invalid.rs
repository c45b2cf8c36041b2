//! The three kinds of invalid event the console tells apart: a body that could not be read, a
//! body read fine without a phone to write to, and a delivery whose signature did not match the
//! store's secret. Eventos filters and labels by them; the dashboard alerts on runs of them.
//! Pure: reason codes in, a kind out.

use super::ReasonCode;

/// Why an invalid event cannot be used, as the merchant has to act on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InvalidKind {
    /// Empty, not UTF-8, broken JSON or form, or not this platform's shape: nothing was read.
    Unreadable,
    /// Read fine, but without a buyer phone that makes a valid number.
    NoPhone,
    /// The platform's signature or token did not match the store's secret.
    BadSignature,
    /// A thin notification whose resource could not be had from the platform's API (a wrong
    /// token, no answer): `ingest::enrich`.
    PlatformApi,
}

impl InvalidKind {
    pub const ALL: [InvalidKind; 4] = [
        InvalidKind::Unreadable,
        InvalidKind::NoPhone,
        InvalidKind::BadSignature,
        InvalidKind::PlatformApi,
    ];

    /// How filters, catalogs (`event_status.<code>`) and the API spell it.
    pub fn code(self) -> &'static str {
        match self {
            InvalidKind::Unreadable => "unreadable",
            InvalidKind::NoPhone => "no_phone",
            InvalidKind::BadSignature => "bad_signature",
            InvalidKind::PlatformApi => "platform_api",
        }
    }

    pub fn parse(code: &str) -> Option<InvalidKind> {
        InvalidKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl ReasonCode {
    /// The kind of invalid this reason makes an event; `None` for an unmapped event's reason.
    pub fn invalid_kind(self) -> Option<InvalidKind> {
        match self {
            ReasonCode::EmptyBody
            | ReasonCode::NotUtf8
            | ReasonCode::BadJson
            | ReasonCode::BadForm
            | ReasonCode::UnknownShape => Some(InvalidKind::Unreadable),
            ReasonCode::NoPhone | ReasonCode::BadPhone | ReasonCode::PhoneWithheld => {
                Some(InvalidKind::NoPhone)
            }
            ReasonCode::BadSignature => Some(InvalidKind::BadSignature),
            ReasonCode::ApiTokenInvalid
            | ReasonCode::ApiTokenExpired
            | ReasonCode::ApiNotFound
            | ReasonCode::ApiNoAnswer
            | ReasonCode::ApiUnreadable
            | ReasonCode::ApiNoCredentials
            | ReasonCode::ApiCertificateRefused => Some(InvalidKind::PlatformApi),
            ReasonCode::UnmappedEvent | ReasonCode::Ignored => None,
        }
    }
}

/// A store's latest webhooks all invalid the same way: how many in a row, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub kind: InvalidKind,
    pub count: u32,
    /// When the newest of them arrived.
    pub last_at: i64,
}

/// Follows each store's latest deliveries, newest first, and keeps the run of the same kind of
/// invalid they start with (a wrong secret makes every delivery fail the signature; a checkout
/// without a phone field makes every one lack it). Fed from stored events: no clock, no I/O.
#[derive(Debug, Default)]
pub struct Runs<K> {
    /// Per store: the run so far, and whether it has ended (an older event broke it).
    runs: std::collections::HashMap<K, (Option<Run>, bool)>,
}

impl<K: std::hash::Hash + Eq + Copy> Runs<K> {
    /// The next older event of `store`: its kind of invalid (`None`: usable or unmapped).
    pub fn push(&mut self, store: K, kind: Option<InvalidKind>, received_at: i64) {
        let (run, ended) = self.runs.entry(store).or_insert((None, false));
        if *ended {
            return;
        }
        match (run.as_mut(), kind) {
            (None, Some(kind)) => {
                *run = Some(Run {
                    kind,
                    count: 1,
                    last_at: received_at,
                });
            }
            (Some(r), Some(kind)) if r.kind == kind => r.count += 1,
            _ => *ended = true,
        }
    }

    /// Whether every store seen so far has its run decided (the scan may stop).
    pub fn all_ended(&self, stores: usize) -> bool {
        self.runs.len() >= stores && self.runs.values().all(|(_, ended)| *ended)
    }

    /// The runs of at least `min` deliveries, by store.
    pub fn at_least(self, min: u32) -> Vec<(K, Run)> {
        self.runs
            .into_iter()
            .filter_map(|(store, (run, _))| Some((store, run.filter(|r| r.count >= min)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_the_latest_deliveries_invalid_the_same_way() {
        use InvalidKind::*;
        // Newest first, per store (1: three bad signatures after a good one; 2: no phone, then
        // unreadable; 3: fine lately).
        let feed = [
            (1, Some(BadSignature), 50),
            (2, Some(NoPhone), 49),
            (1, Some(BadSignature), 48),
            (3, None, 47),
            (1, Some(BadSignature), 46),
            (2, Some(Unreadable), 45),
            (3, Some(NoPhone), 44),
            (1, None, 43),
            (1, Some(BadSignature), 42),
            (2, Some(NoPhone), 41),
        ];
        let mut runs = Runs::default();
        for (store, kind, at) in feed {
            runs.push(store, kind, at);
        }
        assert!(runs.all_ended(3));
        let mut found = runs.at_least(1);
        found.sort_by_key(|(s, _)| *s);
        assert_eq!(
            found,
            vec![
                (
                    1,
                    Run {
                        kind: BadSignature,
                        count: 3,
                        last_at: 50
                    }
                ),
                (
                    2,
                    Run {
                        kind: NoPhone,
                        count: 1,
                        last_at: 49
                    }
                ),
            ]
        );
    }

    #[test]
    fn could_not_read_and_no_phone_are_different_kinds() {
        let table = [
            (ReasonCode::EmptyBody, Some(InvalidKind::Unreadable)),
            (ReasonCode::NotUtf8, Some(InvalidKind::Unreadable)),
            (ReasonCode::BadJson, Some(InvalidKind::Unreadable)),
            (ReasonCode::BadForm, Some(InvalidKind::Unreadable)),
            (ReasonCode::UnknownShape, Some(InvalidKind::Unreadable)),
            (ReasonCode::NoPhone, Some(InvalidKind::NoPhone)),
            (ReasonCode::BadPhone, Some(InvalidKind::NoPhone)),
            (ReasonCode::BadSignature, Some(InvalidKind::BadSignature)),
            (ReasonCode::UnmappedEvent, None),
        ];
        for (code, kind) in table {
            assert_eq!(code.invalid_kind(), kind, "{code:?}");
        }
        for kind in InvalidKind::ALL {
            assert_eq!(InvalidKind::parse(kind.code()), Some(kind));
        }
    }
}
