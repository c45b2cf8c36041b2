//! Who is calling: a session cookie (console) or a Bearer API token (JSON API). Extractors make
//! the access of a handler visible in its signature: `Viewer` for any user, `AdminViewer` for
//! admins. Anonymous page requests are sent to /login (or /setup before the first admin).

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};

use super::AppState;
use super::error::ApiError;
use super::password::secret_hash;
use crate::db::{DbError, Role, SessionRecord, TokenScope, UserRecord};

pub const SESSION_COOKIE: &str = "avisa_session";

/// Who may call a route (each line of the route table names one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, metrics, static assets, login, setup, webhooks.
    Public,
    /// Any logged-in user (session cookie or API token).
    User,
    /// Admins only.
    Admin,
}

/// How the caller proved who they are.
#[derive(Clone, Debug)]
pub enum AuthVia {
    /// A console session; holds the SHA-256 of the cookie value.
    Session(Vec<u8>),
    /// An API token, with its scopes (`None`: the user's full rights).
    ApiToken { scopes: Option<Vec<TokenScope>> },
}

/// The scope a route needs from a scoped token: `read` for every GET of the JSON API, `send` for
/// the send API. `None`: only a token with its user's full rights (or a session) may call it.
pub fn scope_needed(method: &str, pattern: &str) -> Option<TokenScope> {
    if !pattern.starts_with("/api/") {
        return None;
    }
    match (method, pattern) {
        // Outbound webhooks' secrets sign what avisa tells other systems: full rights only.
        (_, p) if p.starts_with("/api/v1/webhooks") => None,
        ("GET", _) => Some(TokenScope::Read),
        ("POST", "/api/v1/messages") => Some(TokenScope::Send),
        _ => None,
    }
}

/// A logged-in user.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub user: UserRecord,
    pub via: AuthVia,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// Whether the caller's token scopes allow the route (`method`, `pattern`); sessions and
    /// unscoped tokens always do.
    pub fn scopes_allow(&self, method: &str, pattern: &str) -> bool {
        match &self.via {
            AuthVia::ApiToken {
                scopes: Some(scopes),
            } => scope_needed(method, pattern).is_some_and(|needed| scopes.contains(&needed)),
            _ => true,
        }
    }
}

/// A logged-in admin.
#[derive(Clone, Debug)]
pub struct AdminViewer(pub Viewer);

/// Pages take either kind of caller: `Page::new(&state, &req, &admin, …)`.
impl AsRef<Viewer> for Viewer {
    fn as_ref(&self) -> &Viewer {
        self
    }
}

impl AsRef<Viewer> for AdminViewer {
    fn as_ref(&self) -> &Viewer {
        &self.0
    }
}

/// Why a request has no usable identity.
#[derive(Debug)]
pub enum AuthError {
    /// No or an expired identity: pages redirect, the API answers 401.
    Anonymous {
        api: bool,
        next: String,
        setup: bool,
    },
    /// A one-time password must be replaced before anything else.
    MustChangePassword,
    Forbidden {
        api: bool,
    },
    Failed(ApiError),
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            AuthError::Anonymous { api: true, .. } => StatusCode::UNAUTHORIZED,
            AuthError::Anonymous { .. } | AuthError::MustChangePassword => StatusCode::SEE_OTHER,
            AuthError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AuthError::Failed(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AuthError::Anonymous { api: true, .. } => ApiError::Unauthenticated.error_response(),
            AuthError::Anonymous { setup: true, .. } => redirect("/setup"),
            AuthError::Anonymous { next, .. } => {
                let encoded: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                redirect(&format!("/login?next={encoded}"))
            }
            AuthError::MustChangePassword => redirect("/conta?trocar_senha=1"),
            AuthError::Forbidden { api: true } => ApiError::Forbidden.error_response(),
            AuthError::Forbidden { api: false } => forbidden_page(),
            AuthError::Failed(e) => e.error_response(),
        }
    }
}

/// The console's 403 page: a plain one, so it needs no database read to answer.
pub fn forbidden_page() -> HttpResponse {
    HttpResponse::Forbidden()
        .content_type("text/html; charset=utf-8")
        .body("<!doctype html><title>403</title><p>Acesso restrito a administradores. <a href=\"/\">Voltar</a></p>")
}

/// A 303 to `to` (after a form post, or to the login page).
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

fn is_api(req: &HttpRequest) -> bool {
    req.path().starts_with("/api/")
}

/// Paths a user with a one-time password may still reach.
const PASSWORD_CHANGE_PATHS: &[&str] = &["/conta", "/conta/senha", "/conta/idioma", "/logout"];

async fn authenticate(req: HttpRequest) -> Result<Viewer, AuthError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("AppState is registered on the app")
        .clone();
    let api = is_api(&req);
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
    let now = state.clock.now();
    let found = state
        .run(move |db| -> Result<Option<Viewer>, DbError> {
            if let Some(token) = bearer {
                let Some(record) = db.api_token(&secret_hash(&token))? else {
                    return Ok(None);
                };
                let user = db.user(record.user_id)?;
                return Ok((!user.disabled).then_some(Viewer {
                    user,
                    via: AuthVia::ApiToken {
                        scopes: record.scopes,
                    },
                }));
            }
            let Some(cookie) = cookie else {
                return Ok(None);
            };
            let id_hash = secret_hash(&cookie);
            let Some(session) = db.session(&id_hash)? else {
                return Ok(None);
            };
            let idle_limit = i64::from(db.console_settings()?.session_idle_minutes) * 60;
            if now - session.last_seen > idle_limit {
                db.delete_session(&id_hash)?;
                return Ok(None);
            }
            let user = match db.user(session.user_id) {
                Ok(user) if !user.disabled => user,
                Ok(_) | Err(DbError::NotFound) => return Ok(None),
                Err(e) => return Err(e),
            };
            if now - session.last_seen >= 60 {
                db.touch_session(&id_hash, now)?;
            }
            Ok(Some(Viewer {
                user,
                via: AuthVia::Session(id_hash),
            }))
        })
        .await
        .map_err(|e| AuthError::Failed(e.into()))?;

    match found {
        Some(viewer) => {
            if viewer.user.must_change_password
                && matches!(viewer.via, AuthVia::Session(_))
                && !PASSWORD_CHANGE_PATHS.contains(&req.path())
            {
                return Err(AuthError::MustChangePassword);
            }
            Ok(viewer)
        }
        None => {
            let setup = !api
                && !state
                    .run(|db| db.has_admin())
                    .await
                    .map_err(|e| AuthError::Failed(e.into()))?;
            let next = match req.query_string() {
                "" => req.path().to_owned(),
                q => format!("{}?{q}", req.path()),
            };
            Err(AuthError::Anonymous { api, next, setup })
        }
    }
}

/// Authenticates every request to a non-public route before any handler or extractor runs, so a
/// route cannot forget its login check and a malformed body never answers before the login
/// does. `access` is the matched route's line of the table (`None`: no route matched).
pub async fn require_login(
    access: Option<Access>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let required = match access {
        None | Some(Access::Public) => None,
        Some(a) => Some(a),
    };
    if let Some(access) = required {
        let pattern = req.match_pattern().unwrap_or_default();
        let method = req.method().as_str().to_owned();
        let outcome = match authenticate(req.request().clone()).await {
            Ok(viewer)
                if (access == Access::Admin && !viewer.is_admin())
                    || !viewer.scopes_allow(&method, &pattern) =>
            {
                Err(AuthError::Forbidden {
                    api: is_api(req.request()),
                })
            }
            other => other,
        };
        match outcome {
            Ok(viewer) => {
                req.extensions_mut().insert(viewer);
            }
            Err(e) => {
                let response = e.error_response();
                return Ok(req.into_response(response).map_into_right_body());
            }
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

impl FromRequest for Viewer {
    type Error = AuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        if let Some(viewer) = req.extensions().get::<Viewer>() {
            let viewer = viewer.clone();
            return Box::pin(async move { Ok(viewer) });
        }
        Box::pin(authenticate(req.clone()))
    }
}

impl FromRequest for AdminViewer {
    type Error = AuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        let known = req.extensions().get::<Viewer>().cloned();
        Box::pin(async move {
            let viewer = match known {
                Some(viewer) => viewer,
                None => authenticate(req.clone()).await?,
            };
            if viewer.is_admin() {
                Ok(AdminViewer(viewer))
            } else {
                Err(AuthError::Forbidden { api: is_api(&req) })
            }
        })
    }
}

/// Starts a session for `user_id`: the cookie value goes to the browser, only its hash is kept.
pub fn new_session_cookie(
    state: &AppState,
    user_id: u64,
) -> Result<(Cookie<'static>, Vec<u8>, SessionRecord), ApiError> {
    let id = super::password::random_token();
    let now = state.clock.now();
    let record = SessionRecord {
        user_id,
        created_at: now,
        last_seen: now,
    };
    let cookie = Cookie::build(SESSION_COOKIE, id.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies())
        .finish();
    Ok((cookie, secret_hash(&id), record))
}

/// A cookie that makes the browser forget the session.
pub fn clear_session_cookie(state: &AppState) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies())
        .max_age(CookieDuration::ZERO)
        .finish()
}
