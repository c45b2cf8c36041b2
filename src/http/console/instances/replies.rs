//! An instance's auto-reply (admins only): one text answered to a buyer who writes to the number,
//! at most once per buyer per 24 h. Not a chatbot. The inbox (`queue::inbox`) sends it.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::domain::AutoReply;
use crate::domain::InstanceId;
use crate::http::AppState;
use crate::http::auth::{AdminViewer, redirect};
use crate::http::error::ApiError;

/// The longest auto-reply text.
pub const MAX_AUTO_REPLY: usize = 1000;

#[derive(Debug, Default, Deserialize)]
pub struct AutoReplyForm {
    enabled: Option<String>,
    #[serde(default)]
    text: String,
}

/// The auto-reply this form asks for, or why not.
fn checked(form: &AutoReplyForm) -> Result<AutoReply, ApiError> {
    let text = form.text.trim();
    let enabled = form.enabled.is_some();
    if enabled && text.is_empty() {
        return Err(ApiError::Validation(
            "write the auto-reply text before turning it on".into(),
        ));
    }
    if text.chars().count() > MAX_AUTO_REPLY {
        return Err(ApiError::Validation(format!(
            "the auto-reply has at most {MAX_AUTO_REPLY} characters"
        )));
    }
    Ok(AutoReply {
        enabled,
        text: text.to_owned(),
    })
}

/// `POST /instancias/{id}/resposta-automatica`.
pub async fn save_auto_reply(
    state: web::Data<AppState>,
    admin: AdminViewer,
    id: web::Path<InstanceId>,
    form: web::Form<AutoReplyForm>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let auto_reply = checked(&form)?;
    state
        .run(move |db| db.update_instance(id, |i| i.auto_reply = auto_reply))
        .await?;
    tracing::info!(instance_id = id.0, by = admin.0.user.id, "auto-reply saved");
    Ok(redirect(&format!("/instancias/{id}?ok=saved#respostas")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_auto_reply_needs_text_to_be_on_and_stays_short() {
        let form = |enabled: bool, text: &str| AutoReplyForm {
            enabled: enabled.then(|| "1".into()),
            text: text.into(),
        };
        assert!(checked(&form(true, "  ")).is_err());
        assert!(checked(&form(true, &"a".repeat(MAX_AUTO_REPLY + 1))).is_err());
        assert_eq!(
            checked(&form(false, "")).expect("off"),
            AutoReply::default()
        );
        assert_eq!(
            checked(&form(true, " Oi! ")).expect("on"),
            AutoReply {
                enabled: true,
                text: "Oi!".into()
            }
        );
    }
}
