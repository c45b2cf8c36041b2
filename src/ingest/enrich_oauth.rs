//! Platforms whose API takes a short-lived access token obtained with the merchant's lasting
//! credentials (OAuth 2), pure: the token request and the reading of the platform's grant.
//!
//! - **Mercado Livre**: `POST https://api.mercadolibre.com/oauth/token`, form-encoded,
//!   `grant_type=refresh_token` with the app's client id and secret and the seller's refresh
//!   token (developers.mercadolivre.com.br "Autenticação e Autorização"). The access token lasts
//!   6 hours; **a refresh token works once**: every grant carries the next one, which must be
//!   stored before the access token is used, or the store loses access.
//! - **Efí** (Pix API): `POST https://pix.api.efipay.com.br/oauth/token`, HTTP Basic with client
//!   id and secret, JSON `{"grant_type": "client_credentials"}`, over mutual TLS with the
//!   merchant's certificate like every call there (dev.efipay.com.br "Credenciais, Certificado e
//!   Autorização"). The access token lasts an hour; there is no refresh token.
//! - **Tray**: `GET {api_address}/auth?refresh_token=…` (developers.tray.com.br "Autorização",
//!   "Renovar access_token"): the access token lasts 3 hours, the refresh token 30 days; the
//!   answer gives both anew with their ends (`date_expiration_access_token`,
//!   `date_expiration_refresh_token`, "AAAA-MM-DD HH:MM:SS" in Brasília time), and the new
//!   refresh token is stored before the access token is used, like Mercado Livre's. The refresh
//!   token rides in the query string: what is kept of a failed call is redacted.
//!
//! Keeping the token until it expires, storing the next refresh token first, and asking again
//! after a 401 are the worker's (`queue::enrich`). Never logs a credential.

use base64::Engine;
use serde_json::Value;

use super::common::{int, text};
use super::enrich::{Credential, Field};
use crate::domain::Platform;
use crate::domain::enrichment::ApiCredentials;

/// The credential fields' names, as stored.
pub const CLIENT_ID: &str = "client_id";
pub const CLIENT_SECRET: &str = "client_secret";
/// Mercado Livre's refresh token (single use: replaced by each grant).
pub const REFRESH_TOKEN: &str = "refresh_token";
/// Efí's certificate: the PEM text of the certificate and its private key.
pub const CERTIFICATE: &str = "certificate";

/// Mercado Livre's credential: the merchant's own app (Mercado Livre Developers) and the
/// refresh token of the seller's authorization of it.
pub(super) const MERCADOLIVRE: Credential = Credential {
    fields: &[
        Field {
            name: CLIENT_ID,
            label: "Client ID (App ID) do seu aplicativo",
            help: "Mercado Livre Developers → Meus aplicativos → o aplicativo (escopos \
                   offline_access e leitura de vendas) → ID do aplicativo.",
            secret: false,
        },
        Field {
            name: CLIENT_SECRET,
            label: "Client Secret (Chave secreta)",
            help: "na mesma página do aplicativo, a Chave secreta.",
            secret: true,
        },
        Field {
            name: REFRESH_TOKEN,
            label: "Refresh token",
            help: "o refresh_token (TG-…) da autorização da sua conta de vendedor no \
                   aplicativo. Com os três o avisa obtém o access token (válido por 6 horas) e \
                   busca cada pedido notificado: GET /orders/{id}; o Mercado Livre troca o \
                   refresh token a cada renovação e o avisa guarda o novo sozinho. O que \
                   esperar: o pedido traz o estado (pago, cancelado), o valor e o nome do \
                   comprador, mas o Mercado Livre não compartilha o telefone nem o e-mail do \
                   comprador com o vendedor: sem telefone, o evento fica inválido com esse \
                   motivo e nenhuma mensagem é enviada.",
            secret: true,
        },
    ],
};

/// Efí's credential: the Pix API application's client id and secret, and the account's
/// certificate (every call there is mutual TLS).
pub(super) const EFI: Credential = Credential {
    fields: &[
        Field {
            name: CLIENT_ID,
            label: "Client_Id de produção",
            help: "Efí → API → Aplicações → a aplicação com a API Pix (escopo cob.read) → \
                   Client_Id de produção.",
            secret: false,
        },
        Field {
            name: CLIENT_SECRET,
            label: "Client_Secret de produção",
            help: "na mesma aplicação, o Client_Secret de produção.",
            secret: true,
        },
        Field {
            name: CERTIFICATE,
            label: "Certificado de produção (PEM)",
            help: "a Efí exige o certificado da conta em toda chamada (TLS mútuo). Baixe o \
                   certificado de produção (.p12) em API → Meus certificados e converta-o com o \
                   comando que a Efí documenta: openssl pkcs12 -in certificado.p12 -out \
                   certificado.pem -nodes -password pass:\"\" ; cole aqui o conteúdo inteiro do \
                   .pem (o certificado e a chave privada). Com eles o avisa busca a cobrança de \
                   cada Pix notificado: GET /v2/cob/{txid}. O que esperar: a cobrança traz o \
                   valor, o estado, o código copia-e-cola e o nome e CPF do devedor, mas não o \
                   telefone; o telefone só vem de um evento anterior do mesmo pedido (txid), \
                   quando houver; sem ele, o evento fica inválido com esse motivo.",
            secret: true,
        },
    ],
};

/// Whether the platform's API is called with an access token avisa obtains (Mercado Livre,
/// Efí, Tray) rather than with the token the merchant pasted.
pub fn oauth(platform: Platform) -> bool {
    matches!(
        platform,
        Platform::Mercadolivre | Platform::Efi | Platform::Tray
    )
}

/// Whether a credential field holds a PEM text (pasted with its line breaks).
pub fn pem_field(name: &str) -> bool {
    name == CERTIFICATE
}

/// Whether every call to the platform's API presents the merchant's client certificate.
pub fn mutual_tls(platform: Platform) -> bool {
    platform == Platform::Efi
}

/// A request for an access token: a POST, or (Tray) a GET whose query carries the refresh
/// token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// `POST` or `GET`.
    pub method: &'static str,
    /// Tray's holds the refresh token: never logged (`Debug` prints its path only).
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body and the Authorization header carry the credentials.
        let path = self.url.split('?').next().unwrap_or_default();
        f.debug_struct("TokenRequest")
            .field("method", &self.method)
            .field("url", &path)
            .finish_non_exhaustive()
    }
}

/// The request for an access token with the store's credentials (under `base_override` for
/// the tests' stand-ins); `None` when the platform takes no access token or a field is missing.
pub fn token_request(
    platform: Platform,
    credentials: &ApiCredentials,
    base_override: Option<&str>,
) -> Option<TokenRequest> {
    let field = |name: &str| credentials.get(name);
    let base = super::enrich::base_of(platform, credentials, base_override)?;
    let url = format!("{base}/oauth/token");
    if platform == Platform::Tray {
        let refresh: String =
            url::form_urlencoded::byte_serialize(field(REFRESH_TOKEN)?.as_bytes()).collect();
        return Some(TokenRequest {
            method: "GET",
            url: format!("{base}/auth?refresh_token={refresh}"),
            headers: vec![("Accept".to_owned(), "application/json".to_owned())],
            body: Vec::new(),
        });
    }
    let accept = ("Accept".to_owned(), "application/json".to_owned());
    match platform {
        Platform::Mercadolivre => {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "refresh_token")
                .append_pair("client_id", field(CLIENT_ID)?)
                .append_pair("client_secret", field(CLIENT_SECRET)?)
                .append_pair("refresh_token", field(REFRESH_TOKEN)?)
                .finish();
            Some(TokenRequest {
                method: "POST",
                url,
                headers: vec![
                    accept,
                    (
                        "Content-Type".to_owned(),
                        "application/x-www-form-urlencoded".to_owned(),
                    ),
                ],
                body: body.into_bytes(),
            })
        }
        Platform::Efi => {
            let pair = format!("{}:{}", field(CLIENT_ID)?, field(CLIENT_SECRET)?);
            let basic = base64::engine::general_purpose::STANDARD.encode(pair);
            Some(TokenRequest {
                method: "POST",
                url,
                headers: vec![
                    accept,
                    ("Authorization".to_owned(), format!("Basic {basic}")),
                    ("Content-Type".to_owned(), "application/json".to_owned()),
                ],
                body: br#"{"grant_type":"client_credentials"}"#.to_vec(),
            })
        }
        _ => None,
    }
}

/// What a token answer gave. `Debug` names neither token.
#[derive(Clone, PartialEq, Eq)]
pub struct Grant {
    pub access_token: String,
    /// Seconds the access token lasts.
    pub expires_in: i64,
    /// The refresh token to use next time (Mercado Livre: the old one no longer works).
    pub refresh_token: Option<String>,
    /// When the refresh token ends (Unix seconds), where the platform says (Tray: 30 days).
    pub refresh_expires_at: Option<i64>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// When the platform says nothing of the token's life: Efí's documented hour.
const DEFAULT_EXPIRES_IN: i64 = 3_600;

/// Tray's access token, when its answer gives no end: the documented 3 hours.
const TRAY_EXPIRES_IN: i64 = 3 * 3_600;

/// Reads a 2xx token answer given at `now`. Mercado Livre's and Tray's must carry the next
/// refresh token: a grant without it would leave the store without access once this access
/// token expires. Tray gives ends as Brasília dates rather than a lifetime.
pub fn read_grant(platform: Platform, body: &[u8], now: i64) -> Result<Grant, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let access_token = text(&value, "access_token").ok_or("no access_token in the answer")?;
    let refresh_token = text(&value, "refresh_token");
    if matches!(platform, Platform::Mercadolivre | Platform::Tray) && refresh_token.is_none() {
        return Err(format!("no refresh_token in {}'s answer", platform.id()));
    }
    if platform == Platform::Tray {
        let end = |name: &str| text(&value, name).and_then(|d| brasilia_date(&d));
        let expires_in = end("date_expiration_access_token")
            .map(|at| at - now)
            .filter(|s| *s > 0)
            .unwrap_or(TRAY_EXPIRES_IN);
        return Ok(Grant {
            access_token,
            expires_in,
            refresh_token,
            refresh_expires_at: end("date_expiration_refresh_token"),
        });
    }
    let expires_in = int(&value, "expires_in")
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_EXPIRES_IN);
    Ok(Grant {
        access_token,
        expires_in,
        refresh_token,
        refresh_expires_at: None,
    })
}

/// "2026-12-07 15:30:00" in Brasília time, as Unix seconds.
pub fn brasilia_date(text: &str) -> Option<i64> {
    let civil = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", text.trim()).ok()?;
    let tz = jiff::tz::TimeZone::get("America/Sao_Paulo").ok()?;
    Some(civil.to_zoned(tz).ok()?.timestamp().as_second())
}

/// A non-2xx token answer that will not get better by asking again: the credentials are wrong,
/// revoked or (Mercado Livre) the refresh token was already used. OAuth answers these with 400
/// (`invalid_grant`, `invalid_client`) as often as with 401.
pub fn credentials_refused(status: u16) -> bool {
    matches!(status, 400 | 401 | 403)
}
