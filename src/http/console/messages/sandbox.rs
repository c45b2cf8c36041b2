//! The caixa de teste: every test message (a store in modo teste, a test instance, a test number;
//! docs/ARCHITECTURE.md, "Teste"), shown as the buyer would see it in WhatsApp. Anyone may
//! look; only admins switch a store's modo teste.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::db::MessageFilter;
use crate::domain::Message;
use crate::domain::StoreId;
use crate::http::AppState;
use crate::http::auth::{AdminViewer, Viewer, redirect};
use crate::http::console::Page;
use crate::http::console::view::{mask_phone, row_view};
use crate::http::error::ApiError;
use crate::http::operations::messages::{Parsed, View, page_of_messages, store_names};

/// The newest test messages the inbox shows.
const SANDBOX_SIZE: usize = 300;

/// Conversations, the latest first; each one's bubbles in the order the buyer would read them.
fn conversations<'a>(messages: &'a [Message], names: &'a HashMap<StoreId, String>) -> Vec<Value> {
    let mut order: Vec<&'a str> = Vec::new();
    let mut by_phone: HashMap<&'a str, Vec<&'a Message>> = HashMap::new();
    for m in messages {
        if !by_phone.contains_key(m.phone.as_str()) {
            order.push(&m.phone);
        }
        by_phone.entry(&m.phone).or_default().push(m);
    }
    order
        .into_iter()
        .map(|phone| {
            let mut bubbles = by_phone.remove(phone).unwrap_or_default();
            bubbles.sort_by_key(|m| (m.due_at, m.id));
            let first = bubbles[0];
            let mut stores: Vec<String> = bubbles
                .iter()
                .filter_map(|m| names.get(&m.store_id).cloned())
                .collect();
            stores.sort_unstable();
            stores.dedup();
            context! {
                buyer_name => first.buyer_name.clone(),
                erased => first.is_erased(),
                phone => mask_phone(phone),
                stores => stores,
                bubbles => bubbles.iter().map(|m| row_view(m, names)).collect::<Vec<_>>(),
            }
        })
        .collect()
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
    let (messages, stores, instances, test_numbers) = state
        .run(move |db| {
            let (page, _) = page_of_messages(db, &parsed)?;
            let numbers = db.message_settings()?.test_numbers.len();
            Ok((page, db.list_stores()?, db.list_instances()?, numbers))
        })
        .await?;
    let names = store_names(&stores);
    let test_stores = super::test_stores(&stores, &instances);
    let ctx = context! {
        conversations => conversations(&messages, &names),
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
