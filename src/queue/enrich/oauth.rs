//! The enrichment worker's calls to platforms that take an access token obtained with the
//! merchant's credentials (`ingest::enrich_oauth`: Mercado Livre, Efí, Tray). The kept token is
//! used while it lasts (`ApiSession::usable`); otherwise a grant is asked for, and its token —
//! with Mercado Livre's or Tray's next refresh token, since the platform replaces it — is stored
//! (`Db::store_grant`, its own transaction) **before** the resource is fetched with it, so a
//! restart between the two keeps the store's access. A kept token the platform answers 401 to
//! is replaced once. A refused renewal is "token da API inválido", or, when the refresh token's
//! known end has passed (Tray's 30 days), says that it expired. Efí's calls, the grant included, present the store's client certificate
//! (mutual TLS). Credentials are read fresh from the file for each job: an earlier job of the
//! same pass may have rotated them.

use super::{Enricher, answer_of, redacted};
use crate::db::DbError;
use crate::domain::enrichment::{Answer, ApiCredentials, ApiSession, GiveUp};
use crate::domain::{Platform, StoreId};
use crate::ingest::enrich_oauth::{
    CERTIFICATE, REFRESH_TOKEN, credentials_refused, mutual_tls, read_grant, token_request,
};
use crate::net::{ClientIdentity, NetError, Request, Response};

/// How a job's call went, before the judgement.
pub(super) enum Outcome {
    /// The platform answered (any status).
    Response(Response),
    /// No usable answer (or a token refused): judged as is.
    Answer(Answer),
    /// The store has no (usable) credentials: nothing was called.
    NoCredentials,
    /// Given up before the resource was asked for (an expired refresh token).
    GaveUp(GiveUp),
}

impl From<Result<Response, NetError>> for Outcome {
    fn from(result: Result<Response, NetError>) -> Outcome {
        match result {
            Ok(response) => Outcome::Response(response),
            Err(e) => Outcome::Answer(answer_of(e)),
        }
    }
}

impl Enricher {
    /// Fetches `path` with an access token: the kept one, or a new grant.
    pub(super) fn fetch_oauth(
        &self,
        store_id: StoreId,
        platform: Platform,
        path: &str,
        base: Option<&str>,
        now: i64,
    ) -> Result<Outcome, DbError> {
        let Some(creds) = self.db.api_credentials(store_id)? else {
            return Ok(Outcome::NoCredentials);
        };
        let identity = if mutual_tls(platform) {
            // Saved through the store form, which checks it: only an edited file fails here.
            match creds.get(CERTIFICATE).map(ClientIdentity::from_pem) {
                Some(Ok(identity)) => Some(identity),
                _ => return Ok(Outcome::NoCredentials),
            }
        } else {
            None
        };
        let call = Call {
            store_id,
            platform,
            base,
            identity,
            now,
        };
        let kept = creds
            .session
            .as_ref()
            .filter(|s| s.usable(now))
            .map(|s| s.access_token.clone());
        let (token, creds, fresh) = match kept {
            Some(token) => (token, creds, false),
            None => match self.grant(&call, creds)? {
                Ok((token, creds)) => (token, creds, true),
                Err(outcome) => return Ok(outcome),
            },
        };
        let outcome = self.get(&call, path, &creds, &token);
        match outcome {
            // The kept token was revoked or ended early: a new grant, once.
            Outcome::Response(response) if response.status == 401 && !fresh => {
                match self.grant(&call, creds)? {
                    Ok((token, creds)) => Ok(self.get(&call, path, &creds, &token)),
                    Err(outcome) => Ok(outcome),
                }
            }
            other => Ok(other),
        }
    }

    fn get(&self, call: &Call<'_>, path: &str, creds: &ApiCredentials, token: &str) -> Outcome {
        let Some((url, headers)) =
            crate::ingest::enrich::call(call.platform, path, creds, Some(token), call.base)
        else {
            return Outcome::NoCredentials;
        };
        let request = headers
            .into_iter()
            .fold(Request::get(url), |r, (name, value)| r.header(name, value));
        match self.transport.send(call.present(request)) {
            Ok(response) => Outcome::Response(response),
            // The error may quote the URL: Tray's holds the access token.
            Err(e) => Outcome::Answer(redacted(answer_of(e), |text| {
                crate::ingest::enrich::redact(call.platform, creds, &text)
            })),
        }
    }

    /// Asks the platform for an access token and stores it (with the next refresh token) before
    /// returning it with the credentials as now stored.
    fn grant(
        &self,
        call: &Call<'_>,
        creds: ApiCredentials,
    ) -> Result<Result<(String, ApiCredentials), Outcome>, DbError> {
        let Some(token_request) = token_request(call.platform, &creds, call.base) else {
            return Ok(Err(Outcome::NoCredentials));
        };
        let request = match token_request.method {
            "GET" => Request::get(token_request.url),
            _ => Request::post(token_request.url, token_request.body),
        };
        let request = token_request
            .headers
            .into_iter()
            .fold(request, |r, (name, value)| r.header(name, value));
        let response = match self.transport.send(call.present(request)) {
            Ok(response) => response,
            Err(e) => return Ok(Err(Outcome::Answer(answer_of(e)))),
        };
        if !response.is_success() {
            let ended = creds
                .session
                .as_ref()
                .and_then(|s| s.refresh_expires_at)
                .is_some_and(|end| end <= call.now);
            if credentials_refused(response.status) && ended {
                return Ok(Err(Outcome::GaveUp(GiveUp::TokenExpired)));
            }
            // invalid_grant (a used or revoked refresh token), invalid_client: the merchant must
            // authorize again; asking again will not help.
            let status = if credentials_refused(response.status) {
                401
            } else {
                response.status
            };
            return Ok(Err(Outcome::Answer(Answer::Status(status))));
        }
        let grant = match read_grant(call.platform, &response.body, call.now) {
            Ok(grant) => grant,
            Err(why) => {
                return Ok(Err(Outcome::Answer(Answer::Unreadable(format!(
                    "token: {why}"
                )))));
            }
        };
        let mut updated = creds.clone();
        if let Some(next) = &grant.refresh_token {
            updated.set(REFRESH_TOKEN, next.clone());
        }
        let mut session = ApiSession::new(grant.access_token.clone(), grant.expires_in, call.now);
        session.refresh_expires_at = grant.refresh_expires_at;
        updated.session = Some(session);
        if !self.db.store_grant(call.store_id, &creds, &updated)? {
            return Ok(Err(Outcome::Answer(Answer::NoAnswer(
                "the store's credentials changed during the call".into(),
            ))));
        }
        Ok(Ok((grant.access_token, updated)))
    }
}

/// What every call of one job shares.
struct Call<'a> {
    store_id: StoreId,
    platform: Platform,
    base: Option<&'a str>,
    identity: Option<ClientIdentity>,
    now: i64,
}

impl Call<'_> {
    /// The request with the store's client certificate, where the platform wants one.
    fn present(&self, request: Request) -> Request {
        match &self.identity {
            Some(identity) => request.identity(identity.clone()),
            None => request,
        }
    }
}
