//! PerfectPay: reads sale postbacks (`sale_status_enum` + `subscription.status_event`) into
//! drafts; checks the static body `token`. Uses only `common` and `domain`.

use serde_json::Value;

use super::catalog::{awaiting_kind, table_choose};
use super::common::{body_value, first_text, int, reais, table_kind, text, timestamp};
use super::signature::check_token;
use super::{Draft, ParseError, Request, SignatureError};
use crate::domain::{EventKind, PaymentMethod, Product};

/// `sale_status_enum` codes and their names. Primary source: PerfectPay's own help centre,
/// "Integração via webhook com a Perfect Pay" (support.perfectpay.com.br/doc/perfectpay/
/// postback/integracao-via-webhook-com-a-perfect-pay, also help.perfectpay.com.br/article/597),
/// which lists 0 none … 10 completed as below; the stored copies cut off after 10, so 11–16
/// are from SOURCES.md (integrators' copies of the same table), unconfirmed at the source.
const SALE_STATUSES: &[(i64, &str)] = &[
    (0, "none"),
    (1, "pending"),
    (2, "approved"),
    (3, "in_process"),
    (4, "in_mediation"),
    (5, "rejected"),
    (6, "cancelled"),
    (7, "refunded"),
    (8, "authorized"),
    (9, "charged_back"),
    (10, "completed"),
    (11, "checkout_error"),
    (12, "precheckout"),
    (13, "expired"),
    (16, "in_review"),
];

/// Reads one PerfectPay postback. PerfectPay has no event names: the sale state is the event,
/// and a subscription's `status_event` overrides it for cancellations, delays and renewals.
pub(super) fn parse(req: &Request) -> Result<Vec<Draft>, ParseError> {
    let body = body_value(req)?;
    let status = match int(&body, "sale_status_enum") {
        Some(code) => SALE_STATUSES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, name)| (*name).to_owned())
            .unwrap_or_else(|| format!("sale_status_enum={code}")),
        None => text(&body, "sale_status_enum_key").ok_or_else(|| {
            ParseError::UnknownShape("PerfectPay body without `sale_status_enum`".into())
        })?,
    };
    let method = payment_method(&body);
    let status_event = text(&body, "subscription.status_event");
    let (name, kind) = match status_event.filter(|s| table_kind(SUBSCRIPTIONS, s).is_some()) {
        Some(event) => (event.clone(), table_kind(SUBSCRIPTIONS, &event)),
        None => {
            let charges = int(&body, "subscription.charges_made");
            (status.clone(), sale_kind(&status, method, charges))
        }
    };
    let mut draft = Draft::new(name);
    draft.event.kind = kind;
    draft.event.payment.method = method;
    read(&body, &mut draft);
    draft.event.occurred_at = match status.as_str() {
        "approved" | "completed" => timestamp(&body, "date_approved"),
        "pending" | "precheckout" | "in_process" | "in_review" => timestamp(&body, "date_created"),
        // Refunds, chargebacks and expiries carry no date of their own.
        _ => None,
    };
    Ok(vec![draft])
}

/// PerfectPay sends no signature: the body carries the account's webhook `token`.
pub(super) fn verify(secret: &str, req: &Request) -> Result<(), SignatureError> {
    let body = body_value(req).map_err(|_| SignatureError::Missing("token"))?;
    check_token(text(&body, "token").as_deref(), secret, "token")
}

/// The sale states ([`SALE_STATUSES`]' names), PerfectPay's only event names; several kinds
/// for one state are picked in [`sale_kind`].
pub(super) const EVENTS: &[(&str, Option<EventKind>)] = &[
    ("precheckout", Some(EventKind::CheckoutAbandoned)),
    // Awaiting payment: the boleto or PIX is out, or the card is in analysis (by method).
    ("pending", Some(EventKind::BoletoGenerated)),
    ("pending", Some(EventKind::PixGenerated)),
    ("pending", Some(EventKind::PaymentInReview)),
    ("in_process", Some(EventKind::PaymentInReview)),
    ("authorized", Some(EventKind::PaymentInReview)),
    ("in_review", Some(EventKind::PaymentInReview)),
    ("rejected", Some(EventKind::PaymentRefused)),
    ("expired", Some(EventKind::PaymentExpired)),
    // A renewal charge is an approved sale after the first charge of a subscription.
    ("approved", Some(EventKind::OrderPaid)),
    ("approved", Some(EventKind::SubscriptionRenewed)),
    ("completed", Some(EventKind::OrderCompleted)),
    ("cancelled", Some(EventKind::OrderCanceled)),
    ("refunded", Some(EventKind::OrderRefunded)),
    // A mediation is a dispute the buyer opened: DESIGN files disputes under chargeback.
    ("in_mediation", Some(EventKind::OrderChargeback)),
    ("charged_back", Some(EventKind::OrderChargeback)),
    // No state, or a technical failure of the checkout (not a decision about the payment).
    ("none", None),
    ("checkout_error", None),
];

/// `subscription.status_event` values that say more than the sale state.
pub(super) const SUBSCRIPTIONS: &[(&str, Option<EventKind>)] = &[
    ("subscription_renewed", Some(EventKind::SubscriptionRenewed)),
    ("subscription_overdue", Some(EventKind::SubscriptionOverdue)),
    ("subscription_delayed", Some(EventKind::SubscriptionOverdue)),
    ("subscription_late", Some(EventKind::SubscriptionOverdue)),
    (
        "subscription_canceled",
        Some(EventKind::SubscriptionCanceled),
    ),
    (
        "subscription_cancelled",
        Some(EventKind::SubscriptionCanceled),
    ),
    // Arrives on the approved first sale, which already reads as a paid order.
    ("subscription_started", None),
];

/// A sale state's kind: awaiting payment by the method, an approval by the charges made.
fn sale_kind(
    status: &str,
    method: Option<PaymentMethod>,
    charges: Option<i64>,
) -> Option<EventKind> {
    table_choose(EVENTS, status, |kinds| {
        if kinds.contains(&EventKind::SubscriptionRenewed) {
            Some(if charges.is_some_and(|n| n > 1) {
                EventKind::SubscriptionRenewed
            } else {
                EventKind::OrderPaid
            })
        } else {
            awaiting_kind(method)
        }
    })
}

/// `payment_type_enum_key` when sent (newer bodies), else the numeric `payment_type_enum`.
fn payment_method(b: &Value) -> Option<PaymentMethod> {
    if let Some(key) = text(b, "payment_type_enum_key") {
        return Some(match key.as_str() {
            "credit_card" => PaymentMethod::CreditCard,
            "billet" | "boleto" | "bank_slip" => PaymentMethod::Boleto,
            "pix" => PaymentMethod::Pix,
            _ => PaymentMethod::Other,
        });
    }
    Some(match int(b, "payment_type_enum")? {
        1 => PaymentMethod::CreditCard,
        2 => PaymentMethod::Boleto,
        _ => PaymentMethod::Other,
    })
}

fn read(b: &Value, draft: &mut Draft) {
    let e = &mut draft.event;
    e.order_id = text(b, "code");
    e.total_cents = reais(b, "sale_amount");
    e.currency = text(b, "currency_enum_key")
        .or_else(|| (int(b, "currency_enum") == Some(1)).then(|| "BRL".to_owned()));
    e.customer.name = text(b, "customer.full_name");
    e.customer.email = text(b, "customer.email");
    e.customer.document = text(b, "customer.identification_number");
    if let Some(name) = text(b, "product.name") {
        e.products.push(Product {
            name,
            id: text(b, "product.code"),
            quantity: int(b, "quantity").and_then(|q| u32::try_from(q).ok()),
            price_cents: None,
            image_url: None,
        });
    }
    let p = &mut e.payment;
    p.installments = int(b, "installments").and_then(|n| u32::try_from(n).ok());
    p.boleto_url = text(b, "billet_url");
    p.boleto_barcode = text(b, "billet_number");
    p.due_at = timestamp(b, "billet_expiration").or_else(|| timestamp(b, "pix_expiration"));
    // No PIX sample exists; these are the names integrators use.
    p.pix_code = first_text(b, &["pix_code", "pix_qr_code", "pix_copy_paste"]);
    p.pix_qr_url = first_text(b, &["pix_qr_code_url", "pix_url"]);
    p.checkout_url = first_text(b, &["checkout_url", "url_checkout"]);
    e.shipping.tracking_code = text(b, "tracking");
    e.shipping.tracking_url = text(b, "url_tracking");
    e.shipping.carrier = text(b, "shipping_type_enum_key");
    e.access.url = text(b, "academy_access_url");
    if text(b, "subscription.code").is_some() {
        let s = &mut e.subscription;
        s.id = text(b, "subscription.code");
        s.status = text(b, "subscription.status");
        s.next_charge_at = timestamp(b, "subscription.next_charge_date");
        s.plan = text(b, "plan.name");
    }
    let u = &mut e.utm;
    u.source = text(b, "metadata.utm_source");
    u.medium = text(b, "metadata.utm_medium");
    u.campaign = text(b, "metadata.utm_campaign");
    u.content = text(b, "metadata.utm_content");
    u.term = text(b, "metadata.utm_term");
    read_phone(b, draft);
}

/// The phone comes in parts. When the number has ten or more digits but does not start with
/// the area code, it is not "the area code repeated": joined, it is too long, and it is refused
/// rather than guessed (PerfectPay's own example has area 47 and number 9965568558).
fn read_phone(b: &Value, draft: &mut Draft) {
    let ext = text(b, "customer.phone_extension");
    let area = text(b, "customer.phone_area_code");
    let number = text(b, "customer.phone_number");
    let digits = |s: &Option<String>| {
        s.as_deref()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
    };
    let (area_d, number_d) = (digits(&area), digits(&number));
    let ext_d = digits(&ext);
    let area_repeated =
        number_d.starts_with(&area_d) || number_d.starts_with(&format!("{ext_d}{area_d}"));
    if !area_d.is_empty() && number_d.len() >= 10 && !area_repeated {
        draft.phone_parts(ext, None, Some(format!("{area_d}{number_d}")));
    } else {
        draft.phone_parts(ext, area, number);
    }
    draft.phone(text(b, "customer.phone_formated_ddi").map(|s| format!("+{s}")));
}

/// Fixtures where this recogniser knowingly disagrees with EXPECTED.json: (file, why).
#[cfg(test)]
pub(super) const REFERENCE_DISAGREEMENTS: &[(&str, &str)] = &[];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use crate::ingest::{ReasonCode, recognise};

    fn read_body(body: &str) -> crate::ingest::Reading {
        recognise(
            Platform::Perfectpay,
            &Request::new(body.as_bytes(), &[], ""),
        )
        .remove(0)
    }

    #[test]
    fn perfectpay_token_must_match_the_store_secret() {
        let req = Request::new(br#"{"sale_status_enum":2,"token":"tok"}"#, &[], "");
        assert_eq!(verify("tok", &req), Ok(()));
        assert_eq!(verify("x", &req), Err(SignatureError::Mismatch));
        let none = Request::new(br#"{"sale_status_enum":2}"#, &[], "");
        assert_eq!(verify("tok", &none), Err(SignatureError::Missing("token")));
    }

    #[test]
    fn perfectpay_every_sale_status_has_its_kind() {
        use EventKind::*;
        let want = [
            None,
            Some(PaymentInReview),
            Some(OrderPaid),
            Some(PaymentInReview),
            Some(OrderChargeback),
            Some(PaymentRefused),
            Some(OrderCanceled),
            Some(OrderRefunded),
            Some(PaymentInReview),
            Some(OrderChargeback),
            Some(OrderCompleted),
            None,
            Some(CheckoutAbandoned),
            Some(PaymentExpired),
            Some(PaymentInReview),
        ];
        for ((_, name), kind) in SALE_STATUSES.iter().zip(want) {
            assert_eq!(
                sale_kind(name, Some(PaymentMethod::CreditCard), None),
                kind,
                "{name}"
            );
        }
        assert_eq!(
            sale_kind("pending", Some(PaymentMethod::Boleto), None),
            Some(BoletoGenerated)
        );
        assert_eq!(
            sale_kind("pending", Some(PaymentMethod::Pix), None),
            Some(PixGenerated)
        );
    }

    #[test]
    fn perfectpay_subscription_events_override_the_sale_state() {
        let r = read_body(
            r#"{"sale_status_enum":2,"code":"PP1","subscription":{"code":"S1",
               "status_event":"subscription_canceled"},
               "customer":{"phone_area_code":"11","phone_number":"987654321"}}"#,
        );
        let e = r.event.expect("event");
        assert_eq!(e.kind, Some(EventKind::SubscriptionCanceled));
        assert_eq!(e.platform_event, "subscription_canceled");
        assert_eq!(table_kind(SUBSCRIPTIONS, "subscription_started"), None);
        let r = read_body(r#"{"sale_status_enum":2,"subscription":{"charges_made":3}}"#);
        assert_eq!(
            r.event.expect("event").kind,
            Some(EventKind::SubscriptionRenewed)
        );
    }

    #[test]
    fn perfectpay_unknown_code_is_unmapped_with_a_readable_name() {
        let r = read_body(r#"{"sale_status_enum":14}"#);
        assert_eq!(
            r.event.expect("event").platform_event,
            "sale_status_enum=14"
        );
        let r = read_body(r#"{"sale_status_enum":0}"#);
        assert_eq!(r.reason.expect("reason").code, ReasonCode::UnmappedEvent);
    }

    #[test]
    fn perfectpay_body_without_status_is_an_unknown_shape() {
        let r = read_body(r#"{"code":"PP1"}"#);
        assert_eq!(r.reason.expect("reason").code, ReasonCode::UnknownShape);
    }

    #[test]
    fn perfectpay_wrong_types_make_facts_absent() {
        let r = read_body(
            r#"{"sale_status_enum":"2","code":[],"sale_amount":"muito","product":"x",
               "subscription":"y","customer":{"phone_area_code":"11","phone_number":"98765-43z1"}}"#,
        );
        assert_eq!(r.reason.clone().expect("reason").code, ReasonCode::BadPhone);
        let e = r.event.expect("event");
        assert_eq!(e.kind, Some(EventKind::OrderPaid));
        assert_eq!(e.order_id, None);
        assert_eq!(e.total_cents, None);
        assert!(e.products.is_empty() && e.subscription.is_empty());
    }
}
