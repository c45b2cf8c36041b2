//! What the console and the API both do with stores: what a valid name and secret are, how a
//! store is created, changed, re-tokened and deleted, and `StoreView`, the store as both show it
//! (never the secret). No actix types.

use crate::domain::public_url::{UrlProblem, problem};
use serde::Serialize;

use crate::db::{Db, DbError};
use crate::domain::{
    InstanceId, NewStore, Platform, PlatformGroup, SecretKind, Store, StoreId, slugify,
};
use crate::http::AppState;
use crate::http::password::random_token;

/// The longest store name (apelido), in characters.
pub const MAX_NAME: usize = 80;
/// The longest secret avisa keeps; real ones are far shorter.
const MAX_SECRET: usize = 512;

/// A store as the API and the pages show it: everything but the secret.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StoreView {
    #[schema(value_type = u64)]
    pub id: StoreId,
    /// The merchant's nickname (apelido): never shown to buyers.
    pub name: String,
    /// The name buyers read in messages; empty means the company name of Configurações.
    pub public_name: String,
    pub slug: String,
    /// The platform's slug.
    #[schema(value_type = String)]
    pub platform: Platform,
    pub platform_label: &'static str,
    #[schema(value_type = String)]
    pub platform_group: PlatformGroup,
    /// What secret the platform offers; absent when it offers none (the URL is the protection).
    #[schema(value_type = Option<String>)]
    pub secret_kind: Option<SecretKind>,
    pub has_secret: bool,
    pub enabled: bool,
    pub webhook_url: String,
    /// Why platforms would not reach `webhook_url` (`loopback`, `private`, `plain_http`).
    pub webhook_url_warning: Option<&'static str>,
    /// The URL's secret token is hidden (attendants see only its start).
    pub webhook_url_masked: bool,
    pub created_at: i64,
    pub first_event_at: Option<i64>,
    pub last_event_at: Option<i64>,
    pub event_count: u64,
    /// Modo teste: messages are planned but go to the sandbox inbox, never to WhatsApp.
    pub test_mode: bool,
    /// The instance this store sends through; none holds its messages.
    #[schema(value_type = Option<u64>)]
    pub instance_id: Option<InstanceId>,
}

impl StoreView {
    pub fn new(record: &Store, public_url: &str) -> StoreView {
        StoreView {
            id: record.id,
            name: record.name.clone(),
            public_name: record.public_name.clone(),
            slug: record.slug.clone(),
            platform: record.platform,
            platform_label: record.platform.label(),
            platform_group: record.platform.group(),
            secret_kind: record.platform.secret_kind(),
            has_secret: record.secret.as_deref().is_some_and(|s| !s.is_empty()),
            enabled: record.enabled,
            webhook_url: format!(
                "{}/webhook/{}/{}",
                public_url.trim_end_matches('/'),
                record.webhook_token,
                record.slug
            ),
            webhook_url_warning: problem(public_url).map(UrlProblem::code),
            webhook_url_masked: false,
            created_at: record.created_at,
            first_event_at: record.first_event_at,
            last_event_at: record.last_event_at,
            event_count: record.event_count,
            test_mode: record.test_mode,
            instance_id: record.instance_id,
        }
    }

    /// The view an attendant gets: the webhook URL's token is a secret (whoever has it can post
    /// events), so only its first characters show.
    pub fn masked(mut self) -> StoreView {
        if let Some(at) = self.webhook_url.find("/webhook/") {
            let start = at + "/webhook/".len();
            let shown: String = self.webhook_url[start..].chars().take(4).collect();
            self.webhook_url = format!("{}{shown}…", &self.webhook_url[..start]);
        }
        self.webhook_url_masked = true;
        self
    }

    /// `masked` unless the viewer is an admin.
    pub fn for_viewer(self, is_admin: bool) -> StoreView {
        if is_admin { self } else { self.masked() }
    }
}

/// Why a store form or API body is refused; each is a catalog key (the API answers the English
/// text, the console the reader's language).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreInvalid {
    NameMissing,
    NameTooLong,
    PublicNameTooLong,
    UnknownPlatform,
    SecretNotOffered,
    SecretTooLong,
}

impl StoreInvalid {
    pub fn key(self) -> &'static str {
        match self {
            StoreInvalid::NameMissing => "stores.error.name_missing",
            StoreInvalid::NameTooLong => "stores.error.name_too_long",
            StoreInvalid::PublicNameTooLong => "stores.error.public_name_too_long",
            StoreInvalid::UnknownPlatform => "stores.error.platform",
            StoreInvalid::SecretNotOffered => "stores.error.secret_not_offered",
            StoreInvalid::SecretTooLong => "stores.error.secret_too_long",
        }
    }
}

/// A trimmed name of 1 to [`MAX_NAME`] characters.
pub fn check_name(name: &str) -> Result<String, StoreInvalid> {
    let name = name.trim();
    if name.is_empty() {
        Err(StoreInvalid::NameMissing)
    } else if name.chars().count() > MAX_NAME {
        Err(StoreInvalid::NameTooLong)
    } else {
        Ok(name.to_owned())
    }
}

/// The buyer-facing name, trimmed; blank (the company name stands in) or up to [`MAX_NAME`].
pub fn check_public_name(name: &str) -> Result<String, StoreInvalid> {
    let name = name.trim();
    if name.chars().count() > MAX_NAME {
        Err(StoreInvalid::PublicNameTooLong)
    } else {
        Ok(name.to_owned())
    }
}

/// A trimmed secret, `None` when blank; refused for a platform that offers none.
pub fn check_secret(platform: Platform, secret: &str) -> Result<Option<String>, StoreInvalid> {
    let secret = secret.trim();
    if secret.is_empty() {
        Ok(None)
    } else if platform.secret_kind().is_none() {
        Err(StoreInvalid::SecretNotOffered)
    } else if secret.len() > MAX_SECRET {
        Err(StoreInvalid::SecretTooLong)
    } else {
        Ok(Some(secret.to_owned()))
    }
}

/// A checked new store with a fresh webhook token.
pub fn new_store(
    name: &str,
    platform: &str,
    enabled: bool,
    secret: &str,
    now: i64,
) -> Result<NewStore, StoreInvalid> {
    let name = check_name(name)?;
    let platform = Platform::parse(platform.trim()).ok_or(StoreInvalid::UnknownPlatform)?;
    let secret = check_secret(platform, secret)?;
    Ok(NewStore {
        slug: slugify(&name),
        name,
        platform,
        enabled,
        secret,
        webhook_token: random_token(),
        created_at: now,
    })
}

/// A change to a store, checked against its platform. The token (and so the URL) stays; renaming
/// changes only the cosmetic slug.
#[derive(Debug, Default)]
pub struct StoreChange {
    pub name: Option<String>,
    /// The buyer-facing name; `Some("")` goes back to the company name.
    pub public_name: Option<String>,
    pub enabled: Option<bool>,
    /// `None` keeps the secret, `Some(None)` removes it, `Some(Some(s))` replaces it.
    pub secret: Option<Option<String>>,
}

/// Reads, checks and writes a change: the store, or why the change is refused.
pub async fn update_store(
    state: &AppState,
    id: StoreId,
    change: StoreChange,
) -> Result<Result<Store, StoreInvalid>, DbError> {
    state.run(move |db| apply_change(db, id, change)).await
}

/// Creates a checked store with its buyer-facing name (checked by [`check_public_name`]; empty:
/// the company name).
pub async fn create_store(
    state: &AppState,
    new: NewStore,
    public_name: String,
) -> Result<Store, DbError> {
    state
        .run(move |db| {
            let record = db.create_store(new)?;
            if public_name.is_empty() {
                return Ok(record);
            }
            db.update_store(record.id, |r| r.public_name = public_name)
        })
        .await
}

/// Deletes a store: its URL goes; its events stay in the history.
pub async fn delete_store(state: &AppState, id: StoreId) -> Result<(), DbError> {
    let now = state.clock.now();
    state.run(move |db| db.delete_store(id, now)).await
}

/// Replaces the webhook token: the old URL answers 404 from now on.
pub async fn regenerate_store_token(state: &AppState, id: StoreId) -> Result<Store, DbError> {
    let token = random_token();
    state
        .run(move |db| db.update_store(id, |r| r.webhook_token = token))
        .await
}

fn apply_change(
    db: &Db,
    id: StoreId,
    change: StoreChange,
) -> Result<Result<Store, StoreInvalid>, DbError> {
    let current = db.store(id)?;
    let name = match change.name.as_deref().map(check_name).transpose() {
        Ok(name) => name,
        Err(e) => return Ok(Err(e)),
    };
    let public_name = match change
        .public_name
        .as_deref()
        .map(check_public_name)
        .transpose()
    {
        Ok(name) => name,
        Err(e) => return Ok(Err(e)),
    };
    let secret = match change.secret {
        Some(Some(s)) => match check_secret(current.platform, &s) {
            // A blank replacement keeps the current secret, as the console's empty field does.
            Ok(None) => None,
            Ok(s) => Some(s),
            Err(e) => return Ok(Err(e)),
        },
        Some(None) => Some(None),
        None => None,
    };
    db.update_store(id, |r| {
        if let Some(name) = name {
            r.slug = slugify(&name);
            r.name = name;
        }
        if let Some(public_name) = public_name {
            r.public_name = public_name;
        }
        if let Some(enabled) = change.enabled {
            r.enabled = enabled;
        }
        if let Some(secret) = secret {
            r.secret = secret;
        }
    })
    .map(Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  Loja  "), Ok("Loja".to_owned()));
        assert_eq!(check_name("   "), Err(StoreInvalid::NameMissing));
        assert_eq!(check_name(&"ç".repeat(80)), Ok("ç".repeat(80)));
        assert_eq!(check_name(&"a".repeat(81)), Err(StoreInvalid::NameTooLong));
    }

    #[test]
    fn appmax_takes_no_secret_and_blank_means_none() {
        assert_eq!(check_secret(Platform::Appmax, "  "), Ok(None));
        assert_eq!(
            check_secret(Platform::Appmax, "abc"),
            Err(StoreInvalid::SecretNotOffered)
        );
        assert_eq!(
            check_secret(Platform::Kiwify, " abc "),
            Ok(Some("abc".to_owned()))
        );
    }

    #[test]
    fn a_new_store_gets_a_long_random_token_and_a_slug() {
        let new = new_store("Café da Ana", "hotmart", true, "", 1).expect("valid");
        assert_eq!(new.slug, "cafe-da-ana");
        assert!(new.webhook_token.len() >= 32, "at least 128 bits in hex");
        assert!(new.webhook_token.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(new.webhook_token, random_token());
        assert_eq!(
            new_store("x", "yampi", true, "", 1).map(|_| ()),
            Err(StoreInvalid::UnknownPlatform)
        );
    }

    #[test]
    fn every_store_error_has_catalog_text_in_both_languages() {
        let all = [
            StoreInvalid::NameMissing,
            StoreInvalid::NameTooLong,
            StoreInvalid::PublicNameTooLong,
            StoreInvalid::UnknownPlatform,
            StoreInvalid::SecretNotOffered,
            StoreInvalid::SecretTooLong,
        ];
        let keys = crate::http::ui::catalog_keys("en");
        for e in all {
            assert!(keys.iter().any(|k| k == e.key()), "{}", e.key());
        }
    }
}
