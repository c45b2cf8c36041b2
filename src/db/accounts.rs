//! Console users, their sessions and their API tokens. Secrets are stored only as hashes:
//! argon2id for passwords (done by the caller), SHA-256 for session ids and API tokens (they are
//! 256-bit random values, so a fast hash is enough and keeps every request cheap).

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{Db, DbError, from_json, next_id, tables, to_json};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users, tokens and settings.
    Admin,
    /// Day-to-day work: stores, messages, events; no users or settings.
    Attendant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Attendant => "attendant",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "attendant" => Some(Role::Attendant),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: u64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    pub disabled: bool,
    /// `pt-BR` or `en`.
    pub lang: String,
    /// Set for one-time passwords: the next login must choose a new one.
    pub must_change_password: bool,
    pub created_at: i64,
}

/// What creating a user needs.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub lang: String,
    pub must_change_password: bool,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user_id: u64,
    pub created_at: i64,
    pub last_seen: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiTokenRecord {
    pub id: u64,
    pub user_id: u64,
    pub name: String,
    /// The first characters of the token, to recognise it in the list.
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// What the token may do; `None` (every token made before scopes existed, and "acesso
    /// completo") acts with its user's full rights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<TokenScope>>,
}

/// A part of the JSON API a token may be limited to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// `POST /api/v1/messages`.
    Send,
    /// Every `GET` of the JSON API.
    Read,
}

fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Db {
    /// Creates a user; the e-mail must be unused.
    pub fn create_user(&self, new: NewUser) -> Result<UserRecord, DbError> {
        let email = normalise_email(&new.email);
        let txn = self.begin_write()?;
        let user = {
            let mut by_email = txn.open_table(tables::USERS_BY_EMAIL)?;
            if by_email.get(email.as_str())?.is_some() {
                return Err(DbError::Conflict(format!("user {email}")));
            }
            let id = next_id(&txn, "users")?;
            let user = UserRecord {
                id,
                email: email.clone(),
                name: new.name,
                role: new.role,
                password_hash: new.password_hash,
                disabled: false,
                lang: new.lang,
                must_change_password: new.must_change_password,
                created_at: new.created_at,
            };
            by_email.insert(email.as_str(), id)?;
            txn.open_table(tables::USERS)?
                .insert(id, to_json(&user)?.as_slice())?;
            user
        };
        txn.commit()?;
        Ok(user)
    }

    /// True when at least one enabled admin exists (setup is over).
    pub fn has_admin(&self) -> Result<bool, DbError> {
        Ok(self
            .list_users()?
            .iter()
            .any(|u| u.role == Role::Admin && !u.disabled))
    }

    pub fn list_users(&self) -> Result<Vec<UserRecord>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::USERS)?;
        let mut users = Vec::new();
        for row in table.iter()? {
            let (_, value) = row?;
            users.push(from_json(value.value())?);
        }
        Ok(users)
    }

    pub fn user(&self, id: u64) -> Result<UserRecord, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::USERS)?;
        let bytes = table.get(id)?.ok_or(DbError::NotFound)?;
        from_json(bytes.value())
    }

    pub fn user_by_email(&self, email: &str) -> Result<UserRecord, DbError> {
        let read = self.begin_read()?;
        let id = read
            .open_table(tables::USERS_BY_EMAIL)?
            .get(normalise_email(email).as_str())?
            .ok_or(DbError::NotFound)?
            .value();
        let table = read.open_table(tables::USERS)?;
        let bytes = table.get(id)?.ok_or(DbError::NotFound)?;
        from_json(bytes.value())
    }

    /// Changes a user with `change`; a disabled user loses its sessions in the same commit.
    pub fn update_user(
        &self,
        id: u64,
        change: impl FnOnce(&mut UserRecord),
    ) -> Result<UserRecord, DbError> {
        let txn = self.begin_write()?;
        let user = {
            let mut users = txn.open_table(tables::USERS)?;
            let mut user: UserRecord = match users.get(id)? {
                Some(bytes) => from_json(bytes.value())?,
                None => return Err(DbError::NotFound),
            };
            let old_hash = user.password_hash.clone();
            change(&mut user);
            users.insert(id, to_json(&user)?.as_slice())?;
            if user.disabled || user.password_hash != old_hash {
                delete_sessions_of(&txn, id)?;
            }
            user
        };
        txn.commit()?;
        Ok(user)
    }

    pub fn create_session(&self, id_hash: &[u8], session: &SessionRecord) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        txn.open_table(tables::SESSIONS)?
            .insert(id_hash, to_json(session)?.as_slice())?;
        txn.commit()?;
        Ok(())
    }

    pub fn session(&self, id_hash: &[u8]) -> Result<Option<SessionRecord>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::SESSIONS)?;
        table
            .get(id_hash)?
            .map(|bytes| from_json(bytes.value()))
            .transpose()
    }

    /// Records activity on a session (callers throttle this to about once a minute).
    pub fn touch_session(&self, id_hash: &[u8], now: i64) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(tables::SESSIONS)?;
            let session: Option<SessionRecord> = table
                .get(id_hash)?
                .map(|bytes| from_json(bytes.value()))
                .transpose()?;
            if let Some(mut session) = session {
                session.last_seen = now;
                table.insert(id_hash, to_json(&session)?.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    pub fn delete_session(&self, id_hash: &[u8]) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        txn.open_table(tables::SESSIONS)?.remove(id_hash)?;
        txn.commit()?;
        Ok(())
    }

    /// Removes sessions idle since before `idle_before`. Returns how many went.
    pub fn purge_sessions(&self, idle_before: i64) -> Result<usize, DbError> {
        let txn = self.begin_write()?;
        let removed = {
            let mut table = txn.open_table(tables::SESSIONS)?;
            let stale = table.extract_if(|_, bytes| {
                serde_json::from_slice::<SessionRecord>(bytes)
                    .map(|s| s.last_seen < idle_before)
                    .unwrap_or(true)
            })?;
            stale.count()
        };
        txn.commit()?;
        Ok(removed)
    }

    pub fn create_api_token(
        &self,
        token_hash: &[u8],
        user_id: u64,
        name: &str,
        prefix: &str,
        scopes: Option<Vec<TokenScope>>,
        now: i64,
    ) -> Result<ApiTokenRecord, DbError> {
        let txn = self.begin_write()?;
        let record = ApiTokenRecord {
            id: next_id(&txn, "api_tokens")?,
            user_id,
            name: name.to_owned(),
            prefix: prefix.to_owned(),
            created_at: now,
            last_used_at: None,
            scopes,
        };
        txn.open_table(tables::API_TOKENS)?
            .insert(token_hash, to_json(&record)?.as_slice())?;
        txn.commit()?;
        Ok(record)
    }

    pub fn api_token(&self, token_hash: &[u8]) -> Result<Option<ApiTokenRecord>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::API_TOKENS)?;
        table
            .get(token_hash)?
            .map(|bytes| from_json(bytes.value()))
            .transpose()
    }

    pub fn list_api_tokens(&self) -> Result<Vec<ApiTokenRecord>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::API_TOKENS)?;
        let mut tokens: Vec<ApiTokenRecord> = Vec::new();
        for row in table.iter()? {
            tokens.push(from_json(row?.1.value())?);
        }
        tokens.sort_by_key(|t| t.id);
        Ok(tokens)
    }

    pub fn revoke_api_token(&self, id: u64) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        let removed = {
            let mut table = txn.open_table(tables::API_TOKENS)?;
            let gone = table.extract_if(|_, bytes| {
                serde_json::from_slice::<ApiTokenRecord>(bytes).is_ok_and(|t| t.id == id)
            })?;
            gone.count()
        };
        if removed == 0 {
            return Err(DbError::NotFound);
        }
        txn.commit()?;
        Ok(())
    }
}

fn delete_sessions_of(txn: &redb::WriteTransaction, user_id: u64) -> Result<(), DbError> {
    let mut table = txn.open_table(tables::SESSIONS)?;
    let gone = table.extract_if(|_, bytes| {
        serde_json::from_slice::<SessionRecord>(bytes).is_ok_and(|s| s.user_id == user_id)
    })?;
    gone.count();
    Ok(())
}
