//! The caixa de teste: every test message (a store in modo teste, a test instance, a test number;
//! docs/ARCHITECTURE.md, "Teste"), shown as the buyer would see it in WhatsApp. Anyone may
//! look; only admins switch a store's modo teste.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::db::{ConversationEntry, MessageFilter};
use crate::domain::Message;
use crate::domain::StoreId;
use crate::http::AppState;
use crate::http::auth::{AdminViewer, Viewer, redirect};
use crate::http::console::Page;
use crate::http::console::view::{mask_phone, row_view};
use crate::http::error::ApiError;
use crate::http::operations::messages::{Parsed, View, page_of_messages, store_names};

/// The newest test messages (and attendants' test replies) the inbox shows.
const SANDBOX_SIZE: usize = 300;

/// Conversations, the latest first; each one's bubbles in the order the buyer would read them:
/// the test messages and the attendants' test replies (`db::replies`).
fn conversations<'a>(
    messages: &'a [Message],
    replies: &'a [ConversationEntry],
    names: &'a HashMap<StoreId, String>,
) -> Vec<Value> {
    /// One buyer's conversation as it is gathered.
    struct Chat<'a> {
        phone: &'a str,
        /// The newest message's creation or reply: conversations are listed newest first.
        latest: i64,
        /// Where the buyer first appears in `messages` (newest first): the tie-break.
        first: usize,
        bubbles: Vec<(i64, u64, Value)>,
        stores: Vec<String>,
        buyer_name: Option<String>,
        erased: bool,
    }
    fn chat<'a, 'm>(chats: &'m mut HashMap<&'a str, Chat<'a>>, phone: &'a str) -> &'m mut Chat<'a> {
        let first = chats.len();
        chats.entry(phone).or_insert_with(|| Chat {
            phone,
            latest: i64::MIN,
            first,
            bubbles: Vec::new(),
            stores: Vec::new(),
            buyer_name: None,
            erased: false,
        })
    }
    let mut chats: HashMap<&'a str, Chat<'a>> = HashMap::new();
    for m in messages {
        let c = chat(&mut chats, &m.phone);
        c.latest = c.latest.max(m.created_at);
        c.bubbles
            .push((m.due_at, m.id.0, context! { message => row_view(m, names) }));
        c.stores.extend(names.get(&m.store_id).cloned());
        if c.buyer_name.is_none() {
            c.buyer_name = m.buyer_name.clone();
        }
        c.erased |= m.is_erased();
    }
    for r in replies {
        let c = chat(&mut chats, &r.buyer);
        c.latest = c.latest.max(r.at);
        let store_name = r.store_id.and_then(|id| names.get(&id).cloned());
        c.stores.extend(store_name.clone());
        // After the messages of the same second: a reply answers what was there.
        c.bubbles.push((
            r.at,
            u64::MAX,
            context! { reply => context! {
                text => r.text.clone(),
                by => r.by.clone(),
                store_name => store_name,
                at => r.at,
            } },
        ));
    }
    let mut chats: Vec<Chat<'a>> = chats.into_values().collect();
    chats.sort_by(|a, b| b.latest.cmp(&a.latest).then(a.first.cmp(&b.first)));
    chats
        .into_iter()
        .map(|mut c| {
            c.bubbles.sort_by_key(|(at, id, _)| (*at, *id));
            c.stores.sort_unstable();
            c.stores.dedup();
            context! {
                buyer_name => c.buyer_name,
                erased => c.erased,
                phone => shown_phone(c.phone),
                stores => c.stores,
                bubbles => c.bubbles.into_iter().map(|(_, _, v)| v).collect::<Vec<_>>(),
            }
        })
        .collect()
}

/// A buyer as the caixa de teste heads their conversation: a masked phone, or a WhatsApp
/// address as it came.
fn shown_phone(address: &str) -> String {
    if address.contains('@') {
        address.to_owned()
    } else {
        mask_phone(address)
    }
}

/// `GET /mensagens/sandbox`.
pub async fn show_sandbox(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
) -> Result<HttpResponse, ApiError> {
    let parsed = Parsed {
        filter: MessageFilter {
            limit: SANDBOX_SIZE,
            ..MessageFilter::default()
        },
        view: View::All,
        test_only: true,
    };
    let (messages, replies, stores, instances, test_numbers) = state
        .run(move |db| {
            let (page, _) = page_of_messages(db, &parsed)?;
            let numbers = db.message_settings()?.test_numbers.len();
            let replies = db.test_replies(SANDBOX_SIZE)?;
            Ok((
                page,
                replies,
                db.list_stores()?,
                db.list_instances()?,
                numbers,
            ))
        })
        .await?;
    let names = store_names(&stores);
    let test_stores = super::test_stores(&stores, &instances);
    let ctx = context! {
        conversations => conversations(&messages, &replies, &names),
        test_stores => test_stores,
        test_numbers => (test_numbers > 0).then(|| test_numbers.to_string()),
    };
    Page::new(&state, &req, &viewer, "sandbox.html")
        .menu("messages")
        .render(ctx)
        .await
}

#[derive(Debug, Default, Deserialize)]
pub struct TestModeForm {
    /// `1` turns test mode on; anything else turns it off. The button says which, so a repeated
    /// submission does not flip it back.
    #[serde(default)]
    test_mode: String,
}

/// `POST /lojas/{id}/modo-teste`.
pub async fn set_store_test_mode(
    state: web::Data<AppState>,
    admin: AdminViewer,
    path: web::Path<StoreId>,
    form: web::Form<TestModeForm>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let on = form.test_mode == "1";
    state
        .run(move |db| db.update_store(id, |s| s.test_mode = on))
        .await?;
    tracing::info!(
        store_id = id.0,
        on,
        by = admin.0.user.id,
        "store test mode set"
    );
    let flash = if on { "test_mode_on" } else { "test_mode_off" };
    Ok(redirect(&format!("/lojas/{id}?ok={flash}")))
}
