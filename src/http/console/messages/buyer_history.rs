//! `GET /mensagens/comprador?phone=…`: one buyer's conversation — the messages avisa planned for
//! them and their replies (with avisa's answers: opt-out confirmations, auto-replies), in time
//! order, drawn like the sandbox chat. Reached from a message's page and a phone-filtered list.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::db::{ConversationEntry, MessageFilter};
use crate::domain::Message;
use crate::domain::StoreId;
use crate::domain::{MessageStatus, Phone};
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::console::Page;
use crate::http::console::view::{mask_phone, row_view};
use crate::http::error::ApiError;
use crate::http::operations::messages::store_names;

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

fn line_view(e: &ConversationEntry) -> Value {
    context! {
        kind => e.kind.as_str(),
        incoming => e.kind.incoming(),
        text => e.text.clone(),
        at => e.at,
        opt_out => e.opt_out,
        error => e.error.clone(),
    }
}

/// `GET /mensagens/comprador`.
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
                .map(|e| (e.at, 1, context! { line => line_view(e) })),
        )
        .collect();
    // Same second: avisa's message before the reply it prompted.
    timeline.sort_by_key(|(at, order, _)| (*at, *order));
    let buyer_name = messages.iter().find_map(|m| m.buyer_name.clone());
    let ctx = context! {
        buyer => shown(&address),
        buyer_name => buyer_name,
        opted_out => opted_out,
        timeline => timeline.into_iter().map(|(at, _, v)| context! { at => at, ..v }).collect::<Vec<_>>(),
    };
    Page::new(&state, &req, &viewer, "buyer.html")
        .menu("messages")
        .render(ctx)
        .await
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
}
