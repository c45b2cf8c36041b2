//! Mensagens: the queue and the history of planned messages, filtered and paged, and one
//! message's full text and status history. The actions on a message (`actions`), the message
//! settings and opt-outs (`settings`), the sandbox inbox (`sandbox`) and a buyer's conversation
//! (`buyer_history`) are its submodules. Filters and actions come from `operations::messages`,
//! which the JSON API shares.

mod actions;
mod buyer_history;
mod detail;
mod media;
mod sandbox;
mod settings;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::{Value, context};

use crate::domain::MessageId;
use crate::domain::MessageStatus;
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::console::Page;
use crate::http::console::view::row_view;
use crate::http::error::ApiError;
use crate::http::operations::messages::{
    FilterError, MessagesQuery, View, page_of_messages, store_names,
};

pub use actions::{cancel_message, mark_order_paid, reschedule_message, send_message_now};
pub use buyer_history::{send_buyer_reply, show_buyer_history};
pub use detail::show_message;
pub use media::show_message_qr;
pub use sandbox::{set_store_test_mode, show_sandbox};
pub use settings::{
    add_opt_out, list_opt_outs, remove_opt_out, save_message_settings, show_message_settings,
};

/// `GET /mensagens`.
pub async fn list_messages(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: Viewer,
    query: web::Query<MessagesQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let mut parsed = query.parse();
    if let Ok(p) = parsed.as_mut() {
        // Todas reads by its first column, "Previsto para": the latest first, across pages.
        p.filter.by_due = p.view == View::All;
    }
    let for_page = parsed.clone().ok();
    let (page, more, stores, instances) = state
        .run(move |db| {
            let (page, more) = match &for_page {
                Some(parsed) => page_of_messages(db, parsed)?,
                None => (Vec::new(), false),
            };
            Ok((page, more, db.list_stores()?, db.list_instances()?))
        })
        .await?;
    let names = store_names(&stores);
    // The older page starts below this page's last row, in the page's own order.
    let by_due = parsed.as_ref().is_ok_and(|p| p.filter.by_due);
    let older = more
        .then(|| {
            page.last()
                .map(|m| list_link(&query, Some((m.id, by_due.then_some(m.due_at)))))
        })
        .flatten();
    let rows: Vec<Value> = page.iter().map(|m| row_view(m, &names)).collect();
    let newest = query.before_id.map(|_| list_link(&query, None));
    let test_stores = test_stores(&stores, &instances);
    // "Nothing is sent" is true only while no WhatsApp number is connected.
    let whatsapp_connected = instances.iter().any(|i| {
        i.mode == crate::domain::InstanceMode::Whatsapp && state.channels.state(i.id).is_connected()
    });
    let error = parsed.as_ref().err().map(FilterError::key);
    let ctx = context! {
        messages => rows,
        older => older,
        newest => newest,
        filtered => query.is_filtered(),
        conversation_link => parsed.as_ref().ok().and_then(|p| p.filter.phone.as_ref()).map(|phone| format!("/mensagens/comprador?phone={}", form_urlencoded::byte_serialize(phone.as_bytes()).collect::<String>())),
        error => error,
        test_stores => test_stores,
        whatsapp_connected => whatsapp_connected,
        stores => stores.iter().map(|s| context! { id => s.id.to_string(), name => s.name.clone() }).collect::<Vec<_>>(),
        statuses => MessageStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        q => context! {
            store => query.store.clone(),
            phone => query.phone.clone(),
            status => query.status.clone(),
            view => match parsed.as_ref().map(|p| p.view) {
                Ok(View::Queue) => "fila",
                Ok(View::History) => "historico",
                _ => "todas",
            },
        },
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Page::new(&state, &req, &viewer, "messages.html")
        .menu("messages")
        .status(status)
        .render(ctx)
        .await
}

/// The stores whose messages end in the caixa de teste, each with why (modo teste or a test
/// instance): the Mensagens note and the caixa de teste list the same ones.
pub(crate) fn test_stores(
    stores: &[crate::domain::Store],
    instances: &[crate::domain::Instance],
) -> Vec<Value> {
    stores
        .iter()
        .filter_map(|s| {
            let linked = s
                .instance_id
                .and_then(|id| instances.iter().find(|i| i.id == id))
                .map(|i| i.mode);
            let reason = s.test_reason(linked)?;
            Some(context! { id => s.id, name => s.name.clone(), reason => reason.code() })
        })
        .collect()
}

/// The list with the same filters, from the top or from before a cursor: an id, and its due
/// time when the list is in "Previsto para" order.
fn list_link(query: &MessagesQuery, before: Option<(MessageId, Option<i64>)>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("view", &query.view),
        ("store", &query.store),
        ("phone", &query.phone),
        ("status", &query.status),
    ] {
        if !v.trim().is_empty() {
            s.append_pair(k, v.trim());
        }
    }
    if let Some((id, due)) = before {
        if let Some(due) = due {
            s.append_pair("before_due", &due.to_string());
        }
        s.append_pair("before_id", &id.to_string());
    }
    format!("/mensagens?{}", s.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::reason::Reason;

    #[test]
    fn every_status_and_reason_has_words_in_every_language() {
        use crate::http::ui::{LANGUAGES, catalog_keys};
        let mut wanted: Vec<String> = MessageStatus::ALL
            .iter()
            .map(|s| format!("messages.status.{}", s.as_str()))
            .collect();
        wanted.extend(
            Reason::ALL
                .iter()
                .map(|r| format!("messages.reason.{}", r.code())),
        );
        for e in [
            FilterError::Store,
            FilterError::Status,
            FilterError::View,
            FilterError::Phone(String::new()),
        ] {
            wanted.push(e.key().to_owned());
        }
        for (lang, _) in LANGUAGES {
            let keys = catalog_keys(lang);
            let missing: Vec<_> = wanted.iter().filter(|k| !keys.contains(k)).collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        }
    }
}
