//! Stores (lojas): one platform account each, with its secret webhook token, its signing secret,
//! test mode and the instance it sends through.

use serde::{Deserialize, Serialize};

use super::{InstanceId, Platform, StoreId};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Store {
    pub id: StoreId,
    /// The merchant's name for it (apelido).
    pub name: String,
    /// Cosmetic tail of the webhook URL, from the name; renaming keeps old URLs working.
    pub slug: String,
    pub platform: Platform,
    pub enabled: bool,
    /// The platform's signing secret or token; checked on every delivery when set.
    pub secret: Option<String>,
    /// The secret part of the webhook URL (at least 128 random bits, hex).
    pub webhook_token: String,
    pub created_at: i64,
    pub first_event_at: Option<i64>,
    pub last_event_at: Option<i64>,
    pub event_count: u64,
    /// Modo teste: messages are planned and rendered but go to the sandbox inbox, never out.
    #[serde(default)]
    pub test_mode: bool,
    /// The instance (WhatsApp number) this store sends through; none holds its messages.
    #[serde(default)]
    pub instance_id: Option<InstanceId>,
    /// The name buyers read in messages (`store.public_name`). Empty: the company name of
    /// Configurações. Stores saved before it existed read as empty.
    #[serde(default)]
    pub public_name: String,
}

impl Store {
    /// The name buyers read: the store's own, else the company name (possibly empty). Never
    /// the nickname (`name`), which is the merchant's alone.
    pub fn buyer_facing_name<'a>(&'a self, company_name: &'a str) -> &'a str {
        let own = self.public_name.trim();
        if own.is_empty() {
            company_name.trim()
        } else {
            own
        }
    }
}

/// What creating a store needs.
#[derive(Clone, Debug)]
pub struct NewStore {
    pub name: String,
    pub slug: String,
    pub platform: Platform,
    pub enabled: bool,
    pub secret: Option<String>,
    pub webhook_token: String,
    pub created_at: i64,
}
