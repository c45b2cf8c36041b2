//! VTEX order hooks (orders feed v3 "Hook"): `{Domain, OrderId, State, LastState, LastChange,
//! Origin}`. The state is in the body; the buyer, the amount and the tracking are only in the
//! order (GET /api/oms/pvt/orders/{OrderId}). VTEX signs nothing: the hook's custom headers
//! and the secret URL protect it.

use super::common::{body_value, table_kind, text, timestamp};
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::EventKind;

/// The order states a hook reports (developer.vtex.com "Order flow and status").
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("order-created", None),
    ("order-completed", None),
    ("on-order-completed", None),
    ("payment-pending", None),
    ("waiting-for-order-authorization", None),
    ("approve-payment", None),
    ("payment-approved", Some(EventKind::OrderPaid)),
    ("payment-denied", Some(EventKind::PaymentRefused)),
    ("request-cancel", None),
    ("waiting-for-seller-decision", None),
    ("authorize-fulfillment", None),
    ("order-create-error", None),
    ("order-creation-error", None),
    ("window-to-cancel", None),
    ("ready-for-handling", None),
    ("start-handling", None),
    ("handling", None),
    ("invoice-after-cancellation-deny", None),
    ("order-accepted", None),
    // Invoiced is VTEX's "shipped": the invoice carries the tracking number.
    ("invoiced", Some(EventKind::OrderShipped)),
    ("cancel", None),
    ("canceled", Some(EventKind::OrderCanceled)),
];

pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let state = text(&body, "State").ok_or_else(|| {
        ParseError::UnknownShape("a VTEX order hook names the order's state in `State`".into())
    })?;
    let mut draft = Draft::new(state.as_str());
    let e = &mut draft.event;
    e.kind = table_kind(EVENTS, &state);
    e.order_id = text(&body, "OrderId");
    e.occurred_at = timestamp(&body, "CurrentChange").or_else(|| timestamp(&body, "LastChange"));
    Ok(vec![draft])
}

/// Nothing to check: VTEX sends back only the static headers the merchant configured.
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
    use crate::ingest::recognise;

    #[test]
    fn every_documented_state_has_a_decided_kind() {
        for (name, kind) in EVENTS {
            let body = format!(r#"{{"OrderId":"v1-01","State":"{name}"}}"#);
            let readings = recognise(Platform::Vtex, &Request::new(body.as_bytes(), &[], ""));
            assert_eq!(
                readings[0].event.as_ref().expect("event").kind,
                *kind,
                "{name}"
            );
        }
    }
}
