//! The enrichment worker: claims due jobs (`Db::claim_enrichments`, under a lease), calls the
//! platform's API with the store's token (`ingest::enrich::call`, through a `Transport`:
//! `net::Client` with `Policy::platform_api()` in production), re-reads the event with the
//! answer (`ingest::enrich::merge`) and follows `domain::enrichment::judge`: plan it, call again
//! on the schedule, or give up with the reason. Blocking code on its own thread; time is passed
//! in (tests step a clock). Never logs a token: the URL carries none, the headers are not
//! logged. Uses `db`, `domain`, `ingest` and `net`.

#[cfg(test)]
mod enrich_tests;
mod oauth;
#[cfg(test)]
mod oauth_tests;
#[cfg(test)]
mod platforms_tests;
#[cfg(test)]
mod tray_tests;

use std::sync::{Arc, Weak};

use super::outbound::Transport;
use crate::db::{ClaimedEnrichment, Db, DbError, Finish};
use crate::domain::Clock;
use crate::domain::enrichment::{Answer, GiveUp, Step, judge};
use crate::net::{NetError, Request, Response};

/// Jobs claimed per pass.
const BATCH: usize = 16;

/// Where the calls go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiBase {
    /// Each platform's own API (production).
    Platforms,
    /// One stand-in base for every platform: the tests' loopback servers.
    StandIn(String),
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Events that got their resource (planned, or read as unmapped / without a phone).
    pub filled: usize,
    pub retried: usize,
    pub given_up: usize,
    /// The earliest job after the pass.
    pub next_due: Option<i64>,
}

pub struct Enricher {
    db: Db,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    base: ApiBase,
}

impl Enricher {
    pub fn new(
        db: Db,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
        base: ApiBase,
    ) -> Enricher {
        Enricher {
            db,
            transport,
            clock,
            base,
        }
    }

    /// Works every job due now, once each. Blocking.
    pub fn run_once(&self) -> Result<Pass, DbError> {
        let mut pass = Pass::default();
        loop {
            let claimed = self.db.claim_enrichments(self.clock.now(), BATCH)?;
            if claimed.is_empty() {
                break;
            }
            for one in claimed {
                match self.enrich(one)? {
                    Step::Done => pass.filled += 1,
                    Step::RetryAt(_) => pass.retried += 1,
                    Step::GiveUp(_) => pass.given_up += 1,
                }
            }
        }
        pass.next_due = self.db.next_enrichment_due()?;
        Ok(pass)
    }

    fn enrich(&self, claimed: ClaimedEnrichment) -> Result<Step, DbError> {
        let ClaimedEnrichment {
            job,
            platform,
            credentials,
            event,
        } = claimed;
        let now = self.clock.now();
        let base = match &self.base {
            ApiBase::Platforms => None,
            ApiBase::StandIn(base) => Some(base.as_str()),
        };
        // What is kept of a failed call never holds a secret (an error may quote the URL, and
        // Tray's URL carries the token).
        let secrets = credentials.clone().unwrap_or_default();
        let redact = |text: String| crate::ingest::enrich::redact(platform, &secrets, &text);
        let outcome = match credentials {
            None => oauth::Outcome::NoCredentials,
            Some(_) if crate::ingest::enrich_oauth::oauth(platform) => {
                self.fetch_oauth(job.store_id, platform, &job.path, base, now)?
            }
            Some(creds) => {
                match crate::ingest::enrich::call(platform, &job.path, &creds, None, base) {
                    None => oauth::Outcome::NoCredentials,
                    Some((url, headers)) => {
                        let request = headers
                            .into_iter()
                            .fold(Request::get(url), |r, (name, value)| r.header(name, value));
                        oauth::Outcome::from(self.transport.send(request))
                    }
                }
            }
        };
        let mut merged = None;
        let answer = match outcome {
            oauth::Outcome::NoCredentials | oauth::Outcome::GaveUp(_) => {
                let give_up = match outcome {
                    oauth::Outcome::GaveUp(give_up) => give_up,
                    _ => GiveUp::NoCredentials,
                };
                self.db
                    .finish_enrichment(job.event_id, Finish::GaveUp(give_up), now)?;
                return Ok(Step::GiveUp(give_up));
            }
            oauth::Outcome::Answer(answer) => answer,
            oauth::Outcome::Response(response) => {
                let (answer, reading) = read(platform, &event, &response);
                merged = reading;
                answer
            }
        };
        let answer = redacted(answer, redact);
        let step = judge(&answer, job.tries, now);
        if !matches!(answer, Answer::Resource) {
            tracing::info!(
                event_id = job.event_id.0,
                platform = platform.id(),
                status = ?answer.attempt(now).status,
                "platform API call for a thin notification failed"
            );
        }
        match step {
            Step::Done => {
                let reading = merged.expect("a Resource answer carries its reading");
                self.db
                    .finish_enrichment(job.event_id, Finish::Merged(Box::new(reading)), now)?;
            }
            Step::RetryAt(at) => {
                self.db
                    .retry_enrichment(job.event_id, answer.attempt(now), at)?;
            }
            Step::GiveUp(give_up) => {
                self.db
                    .finish_enrichment(job.event_id, Finish::GaveUp(give_up), now)?;
            }
        }
        Ok(step)
    }

    /// Runs passes on a thread of its own while `alive` can be upgraded (the server runs): after
    /// each, sleeps until the next due job, a new one (`db::ring_enrichment`), or a minute.
    pub fn spawn(self, alive: Weak<()>) -> std::thread::JoinHandle<()> {
        let bell = super::worker::Bell {
            rings: crate::db::enrichment_rings,
            wait: crate::db::wait_for_enrichment,
        };
        let context = (self.db.clone(), self.clock.clone());
        super::worker::spawn(
            "avisa-enrich",
            "enrichment",
            alive,
            bell,
            context,
            move || self.run_once().map(|pass| pass.next_due),
        )
    }
}

/// What a response of the platform's API says: the resource merged into the event, or why not.
fn read(
    platform: crate::domain::Platform,
    event: &crate::domain::Event,
    response: &Response,
) -> (Answer, Option<crate::ingest::Reading>) {
    if !response.is_success() {
        return (Answer::Status(response.status), None);
    }
    match crate::ingest::enrich::merge(platform, event, &response.body) {
        Ok(reading) => (Answer::Resource, Some(reading)),
        Err(why) => (Answer::Unreadable(why), None),
    }
}

/// The answer without what `redact` takes out of its text.
fn redacted(answer: Answer, redact: impl Fn(String) -> String) -> Answer {
    match answer {
        Answer::Unreadable(why) => Answer::Unreadable(redact(why)),
        Answer::NoAnswer(why) => Answer::NoAnswer(redact(why)),
        Answer::CannotCall(why) => Answer::CannotCall(redact(why)),
        Answer::CertificateRefused(why) => Answer::CertificateRefused(redact(why)),
        other => other,
    }
}

/// A call that got no response, as the judgement reads it.
fn answer_of(error: NetError) -> Answer {
    match error {
        NetError::TooLarge { limit } => Answer::Unreadable(format!("answer over {limit} bytes")),
        NetError::ClientCertificate(why) => Answer::CertificateRefused(why),
        e if e.is_transient() => Answer::NoAnswer(e.to_string()),
        e => Answer::CannotCall(e.to_string()),
    }
}
