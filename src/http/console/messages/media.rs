//! A message's media as the console shows it: the `#qrcode` part's image, drawn by avisa from
//! the stored text (never fetched from anyone). Cards for files are `media::show` through
//! `view::row_view`; nothing here loads an address that came from a webhook.

use actix_web::{HttpResponse, web};

use crate::domain::MessageId;
use crate::http::AppState;
use crate::http::auth::Viewer;
use crate::http::error::ApiError;
use crate::media;

/// `GET /mensagens/{id}/qrcode.png`: the PNG of a `#qrcode` message; 404 for any other message
/// (or an erased one, whose text is gone). Drawn on the rendering slots.
pub async fn show_message_qr(
    state: web::Data<AppState>,
    _viewer: Viewer,
    path: web::Path<MessageId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let message = state.run(move |db| db.message(id)).await?;
    let code = media::shown(&message.text)
        .and_then(|shown| shown.code)
        .ok_or(ApiError::NotFound)?;
    let png = state
        .rendering
        .run(move || media::pix_qr_png(&code).ok())
        .await
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        // The text behind it never changes; the image is the buyer's payment data: private.
        .insert_header(("Cache-Control", "private, max-age=86400"))
        .body(png))
}
