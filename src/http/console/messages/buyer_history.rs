//! `GET /mensagens/comprador?phone=…`: one buyer's conversation — the messages avisa planned for
//! them and their replies (with avisa's answers: opt-out confirmations, auto-replies), in time
//! order, drawn like the sandbox chat, with a reply box: an attendant's answer goes out at once
//! through the store's instance (`queue::reply`) and shows here with who sent it. Reached from a
//! message's page and a phone-filtered list.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::db::{ConversationEntry, MessageFilter};
use crate::domain::{Message, Store, StoreId};
use crate::domain::{MessageStatus, Phone};
use crate::http::AppState;
use crate::http::auth::{Viewer, redirect};
use crate::http::console::Page;
use crate::http::console::view::{mask_phone, row_view};
use crate::http::error::ApiError;
use crate::http::operations::messages::store_names;
use crate::queue::reply::{ReplyOutcome, ReplyRequest, send_reply};

/// The most lines of each kind one page shows (the latest ones).
const LIMIT: usize = 200;

#[derive(Debug, Default, Deserialize)]
pub struct BuyerQuery {
    #[serde(default)]
    phone: String,
}

/// The address a buyer's lines are kept under: E.164 for a phone as people type it, or a
/// WhatsApp address (`…@lid`) as the channel gave it.
pub(super) fn buyer_address(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.contains('@') {
        return Some(raw.to_owned());
    }
    Phone::parse(raw).ok().map(|p| p.as_str().to_owned())
}

/// The address as the console shows it: a masked phone, or the tail of a WhatsApp address.
fn shown(address: &str) -> String {
    match address.split_once('@') {
        Some((user, server)) => {
            let tail: String = user
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("…{tail}@{server}")
        }
        None => mask_phone(address),
    }
}

/// When a planned message is placed in the conversation: when it went out, else when it is due.
fn message_time(m: &Message) -> i64 {
    m.history
        .iter()
        .find(|c| c.status == MessageStatus::Sent)
        .map(|c| c.at)
        .unwrap_or(m.due_at)
}

fn line_view(e: &ConversationEntry, names: &HashMap<StoreId, String>) -> Value {
    context! {
        kind => e.kind.as_str(),
        incoming => e.kind.incoming(),
        text => e.text.clone(),
        at => e.at,
        opt_out => e.opt_out,
        error => e.error.clone(),
        by => e.by.clone(),
        store_name => e.store_id.and_then(|id| names.get(&id).cloned()),
        test => e.test,
    }
}

/// What the reply box shows again after a refusal: the text typed, the store chosen, why.
#[derive(Clone, Debug, Default)]
struct Draft {
    text: String,
    store_id: Option<StoreId>,
    /// Catalog key of why it was not sent.
    error: Option<String>,
    /// The channel's own words, for `messages.reply.not_sent`'s `{error}`.
    detail: String,
}

/// `GET /mensagens/comprador`.
pub async fn show_buyer_history(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<BuyerQuery>,
) -> Result<HttpResponse, ApiError> {
    if query.phone.trim().is_empty() {
        // No buyer chosen yet: the page asks for a phone.
        return Page::new(&state, &req, &viewer, "buyer.html")
            .menu("messages")
            .render(context! { ask => true })
            .await;
    }
    let Some(address) = buyer_address(&query.phone) else {
        return Err(ApiError::Validation(
            "give the buyer's phone with the area code".into(),
        ));
    };
    buyer_page(
        &state,
        &req,
        &viewer,
        address,
        Draft::default(),
        StatusCode::OK,
    )
    .await
}

/// The conversation page of the buyer at `address`, with the reply box.
async fn buyer_page(
    state: &AppState,
    req: &HttpRequest,
    viewer: &Viewer,
    address: String,
    draft: Draft,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let lookup = address.clone();
    let (messages, lines, stores, opted_out) = state
        .run(move |db| {
            let filter = MessageFilter {
                phone: Some(lookup.clone()),
                limit: LIMIT,
                ..MessageFilter::default()
            };
            Ok((
                db.list_messages(&filter)?,
                db.conversation(&lookup, LIMIT)?,
                db.list_stores()?,
                db.is_opted_out(&lookup)?,
            ))
        })
        .await?;
    let names: HashMap<StoreId, String> = store_names(&stores);
    let mut timeline: Vec<(i64, u8, Value)> = messages
        .iter()
        .map(|m| {
            (
                message_time(m),
                0,
                context! { message => row_view(m, &names) },
            )
        })
        .chain(
            lines
                .iter()
                .map(|e| (e.at, 1, context! { line => line_view(e, &names) })),
        )
        .collect();
    // Same second: avisa's message before the reply it prompted.
    timeline.sort_by_key(|(at, order, _)| (*at, *order));
    let buyer_name = messages.iter().find_map(|m| m.buyer_name.clone());
    let candidates = reply_stores(&messages, &lines, &stores);
    let chosen = draft
        .store_id
        .filter(|id| candidates.iter().any(|s| s.id == *id))
        .or(candidates.first().map(|s| s.id));
    let ctx = context! {
        buyer => shown(&address),
        address => address,
        buyer_name => buyer_name,
        opted_out => opted_out,
        timeline => timeline.into_iter().map(|(at, _, v)| context! { at => at, ..v }).collect::<Vec<_>>(),
        reply_stores => candidates
            .iter()
            .map(|s| context! { id => s.id, name => s.name.clone() })
            .collect::<Vec<_>>(),
        reply_store => chosen,
        reply_text => draft.text,
        reply_error => draft.error,
        reply_detail => draft.detail,
    };
    Page::new(state, req, viewer, "buyer.html")
        .menu("messages")
        .status(status)
        .render(ctx)
        .await
}

/// The stores a reply to this buyer can speak for, the latest one they heard from (or wrote to)
/// first: the stores of their messages, then the stores linked to an instance they wrote to.
fn reply_stores<'a>(
    messages: &[Message],
    lines: &[ConversationEntry],
    stores: &'a [Store],
) -> Vec<&'a Store> {
    let mut seen: Vec<(i64, StoreId)> = messages
        .iter()
        .map(|m| (message_time(m), m.store_id))
        .collect();
    for line in lines {
        match (line.store_id, line.instance_id) {
            (Some(store_id), _) => seen.push((line.at, store_id)),
            (None, Some(instance_id)) => seen.extend(
                stores
                    .iter()
                    .filter(|s| s.instance_id == Some(instance_id))
                    .map(|s| (line.at, s.id)),
            ),
            (None, None) => {}
        }
    }
    seen.sort_by_key(|(at, id)| (std::cmp::Reverse(*at), *id));
    let mut out: Vec<&Store> = Vec::new();
    for (_, id) in seen {
        if let Some(store) = stores.iter().find(|s| s.id == id)
            && !out.iter().any(|s| s.id == id)
        {
            out.push(store);
        }
    }
    out
}

#[derive(Debug, Default, Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    store_id: String,
    #[serde(default)]
    text: String,
}

/// `POST /mensagens/comprador/responder`: an attendant's reply, sent at once through the
/// store's instance (`queue::reply`). Sent: back to the conversation with a flash. Refused or
/// not sent: the page again with why, the text kept in the box.
pub async fn send_buyer_reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    form: web::Form<ReplyForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let Some(address) = buyer_address(&form.phone) else {
        return Err(ApiError::Validation(
            "give the buyer's phone with the area code".into(),
        ));
    };
    let Ok(store_id) = form.store_id.trim().parse::<StoreId>() else {
        return Err(ApiError::Validation("choose the store that answers".into()));
    };
    let request = ReplyRequest {
        store_id,
        buyer: address.clone(),
        text: form.text.clone(),
        by: viewer.user.name.clone(),
    };
    let outcome = send_reply(
        &state.db,
        state.channels.as_ref(),
        request,
        state.clock.now(),
    )
    .await?;
    let draft = |error: String, detail: String| Draft {
        text: form.text.clone(),
        store_id: Some(store_id),
        error: Some(error),
        detail,
    };
    match outcome {
        ReplyOutcome::Sent(line) => {
            tracing::info!(
                store_id = store_id.0,
                by = viewer.user.id,
                test = line.test,
                "attendant reply sent"
            );
            let flash = if line.test {
                "reply_sent_test"
            } else {
                "reply_sent"
            };
            let phone: String = form_urlencoded::byte_serialize(address.as_bytes()).collect();
            Ok(redirect(&format!(
                "/mensagens/comprador?phone={phone}&ok={flash}#resposta"
            )))
        }
        ReplyOutcome::Refused(refusal) => {
            let key = format!("messages.reply.refused.{}", refusal.code());
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            buyer_page(
                &state,
                &req,
                &viewer,
                address,
                draft(key, String::new()),
                status,
            )
            .await
        }
        ReplyOutcome::NotSent(line) => {
            let key = "messages.reply.not_sent".to_owned();
            let status = StatusCode::BAD_GATEWAY;
            let detail = line.error.unwrap_or_default();
            buyer_page(&state, &req, &viewer, address, draft(key, detail), status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buyers_are_found_by_phone_as_typed_or_by_whatsapp_address() {
        assert_eq!(
            buyer_address("(11) 98765-4321").as_deref(),
            Some("+5511987654321")
        );
        assert_eq!(
            buyer_address(" 123456789012@lid ").as_deref(),
            Some("123456789012@lid")
        );
        assert_eq!(buyer_address("abc"), None);
        assert_eq!(shown("123456789012@lid"), "…9012@lid");
        assert_eq!(shown("+5511987654321"), "+55 11 9****-4321");
    }

    fn message(store: u64, due_at: i64) -> Message {
        serde_json::from_value(serde_json::json!({
            "id": due_at, "store_id": store, "event_id": 1, "kind": "pix.generated", "step": 0,
            "part": 0, "order_id": null, "phone": "+5511987654321", "buyer_name": null,
            "product_key": "", "text": "Olá", "due_at": due_at, "status": "scheduled",
            "history": [], "test": false, "created_at": 0,
        }))
        .expect("a message")
    }

    fn store(id: u64, instance: Option<u64>) -> Store {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": format!("Loja {id}"), "slug": "loja", "platform": "api",
            "enabled": true, "secret": null, "webhook_token": format!("t{id}"), "created_at": 0,
            "first_event_at": null, "last_event_at": null, "event_count": 0,
            "instance_id": instance,
        }))
        .expect("a store")
    }

    fn line(at: i64, instance: Option<u64>, store: Option<u64>) -> ConversationEntry {
        serde_json::from_value(serde_json::json!({
            "id": at, "instance_id": instance, "buyer": "+5511987654321", "kind": "reply",
            "text": "oi", "at": at, "store_id": store,
        }))
        .expect("a line")
    }

    #[test]
    fn a_reply_speaks_for_the_store_the_buyer_last_heard_from_or_wrote_to() {
        let stores = [
            store(1, None),
            store(2, None),
            store(3, Some(9)),
            store(4, Some(9)),
        ];
        let ids = |messages: &[Message], lines: &[ConversationEntry]| -> Vec<u64> {
            reply_stores(messages, lines, &stores)
                .iter()
                .map(|s| s.id.0)
                .collect()
        };
        assert_eq!(ids(&[], &[]), Vec::<u64>::new(), "nothing to reply through");
        assert_eq!(
            ids(&[message(1, 10), message(2, 20), message(1, 5)], &[]),
            [2, 1]
        );
        // A buyer who wrote to an instance: every store linked to it, after newer messages.
        assert_eq!(ids(&[message(1, 10)], &[line(5, Some(9), None)]), [1, 3, 4]);
        // An earlier attendant reply names its store; the newest activity comes first.
        assert_eq!(ids(&[message(1, 10)], &[line(30, None, Some(2))]), [2, 1]);
    }
}
