//! Stores (lojas): one platform account each, with its secret webhook token, its signing secret,
//! test mode and the instance it sends through.

use serde::{Deserialize, Serialize};

use super::{InstanceId, InstanceMode, Platform, StoreId};

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
    /// Modo teste: messages are planned and rendered but go to the caixa de teste, never out.
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

/// Why a store's messages end in the caixa de teste instead of WhatsApp (the one model of
/// "teste", docs/ARCHITECTURE.md): the store's own modo teste, or the test instance it is
/// linked to. Test numbers are per buyer, not per store, and are not a store's reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestReason {
    /// Modo teste: straight to the caixa de teste when due, no instance involved.
    TestMode,
    /// Linked to a test instance: sent at its pace, into the caixa de teste.
    TestInstance,
}

impl TestReason {
    /// The catalog suffix (`messages.test_reason.<code>`).
    pub fn code(self) -> &'static str {
        match self {
            TestReason::TestMode => "test_mode",
            TestReason::TestInstance => "test_instance",
        }
    }
}

impl Store {
    /// Whether this store's messages are test messages, and why; `linked` is the mode of the
    /// instance it is linked to, if any. Modo teste wins: it decides before any instance.
    pub fn test_reason(&self, linked: Option<InstanceMode>) -> Option<TestReason> {
        if self.test_mode {
            Some(TestReason::TestMode)
        } else if linked == Some(InstanceMode::Sandbox) {
            Some(TestReason::TestInstance)
        } else {
            None
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
