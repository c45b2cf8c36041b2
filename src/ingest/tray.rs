//! Tray notifications: a form body `seller_id, scope_id, scope_name, act` and nothing else. The
//! order's state, buyer and amount come only from GET /orders/{scope_id} with the store's
//! access token; read from the body alone every notification is unmapped. Tray signs nothing.

use super::common::{body_value, table_kind, text};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::EventKind;

/// `scope_name` + `act` (developers.tray.com.br "Sistema de Notificação"): none of them says
/// what happened to an order, so none has a kind.
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("order insert", None),
    ("order update", None),
    ("order delete", None),
    ("product insert", None),
    ("product update", None),
    ("product delete", None),
    ("customer insert", None),
    ("customer update", None),
    ("customer delete", None),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let act = text(&body, "act").ok_or_else(|| {
        ParseError::UnknownShape("a Tray notification has `scope_name` and `act`".into())
    })?;
    let scope = text(&body, "scope_name").unwrap_or_default();
    let mut draft = Draft::new(act.as_str());
    draft.event.kind = table_kind(EVENTS, &format!("{scope} {act}"));
    if scope == "order" {
        draft.event.order_id = text(&body, "scope_id");
    }
    Ok(vec![draft])
}

/// Nothing to check: Tray's notifications carry no token or signature.
pub(super) fn verify(_secret: &str, _req: &Request) -> Result<(), SignatureError> {
    Ok(())
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use crate::ingest::{Status, recognise};

    #[test]
    fn every_notification_is_unmapped_with_its_order_id() {
        for (name, kind) in EVENTS {
            let (scope, act) = name.split_once(' ').expect("scope and act");
            let body = format!("seller_id=1&scope_id=42&scope_name={scope}&act={act}");
            let readings = recognise(Platform::Tray, &Request::new(body.as_bytes(), &[], ""));
            let event = readings[0].event.as_ref().expect("event");
            assert_eq!(
                (event.kind, readings[0].status),
                (*kind, Status::Unmapped),
                "{name}"
            );
            assert_eq!(event.order_id.is_some(), scope == "order", "{name}");
        }
    }
}
