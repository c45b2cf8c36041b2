//! Order memory's rules, pure: which readings leave a buyer to remember for their order, and how a
//! later reading of the same order that names no usable buyer takes it (a thin "paid" after a full
//! "boleto gerado", a Shopify fulfillment, an Appmax refund). The lookup and the table are `db`'s.

use super::{Reading, ReasonCode, Status};
use crate::domain::Customer;

/// The order id and buyer a reading leaves behind for later events of its order: only a buyer
/// with a usable phone is worth remembering.
pub fn to_remember(reading: &Reading) -> Option<(&str, &Customer)> {
    let event = reading.event.as_ref()?;
    let order_id = event.order_id.as_deref().filter(|o| !o.is_empty())?;
    event.customer.phone.as_ref()?;
    Some((order_id, &event.customer))
}

/// The order id of a reading that would be planned but for its buyer: recognised, invalid only
/// because the body carries no phone (or an unusable one), with an order to look up. Unmapped
/// and ignored readings are left alone: they plan nothing, and re-reading one later starts from
/// its raw body.
pub fn wants_buyer(reading: &Reading) -> Option<&str> {
    let lacks_buyer = reading.status == Status::Invalid
        && reading
            .reason
            .as_ref()
            .is_some_and(|r| matches!(r.code, ReasonCode::NoPhone | ReasonCode::BadPhone));
    let event = reading.event.as_ref()?;
    (lacks_buyer && event.kind.is_some() && event.customer.phone.is_none())
        .then_some(())
        .and(event.order_id.as_deref().filter(|o| !o.is_empty()))
}

/// Gives a reading that [`wants_buyer`] the remembered buyer: the fields its body left empty are
/// filled and it becomes `ok`. Returns false, changing nothing, when the body names a different
/// buyer (another e-mail or document than the remembered one): an order id reused by the platform
/// must not send one buyer's messages to another.
pub fn take_buyer(reading: &mut Reading, remembered: &Customer) -> bool {
    if wants_buyer(reading).is_none() || remembered.phone.is_none() {
        return false;
    }
    let Some(event) = reading.event.as_mut() else {
        return false;
    };
    let own = &mut event.customer;
    let differs = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => !a.trim().eq_ignore_ascii_case(b.trim()),
        _ => false,
    };
    if differs(&own.email, &remembered.email) || differs(&own.document, &remembered.document) {
        return false;
    }
    own.phone.clone_from(&remembered.phone);
    if own.name.is_none() {
        own.name.clone_from(&remembered.name);
        own.first_name.clone_from(&remembered.first_name);
    }
    if own.first_name.is_none() {
        own.first_name.clone_from(&remembered.first_name);
    }
    if own.email.is_none() {
        own.email.clone_from(&remembered.email);
    }
    if own.document.is_none() {
        own.document.clone_from(&remembered.document);
    }
    reading.status = Status::Ok;
    reading.reason = None;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Phone, Platform};
    use crate::ingest::{Request, recognise};

    fn fixture(path: &str) -> Reading {
        let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(path);
        let body = std::fs::read(full).expect("fixture");
        let platform = Platform::parse(path.split('/').next().expect("folder")).expect("platform");
        recognise(platform, &Request::new(&body, &[], ""))
            .pop()
            .expect("a reading")
    }

    #[test]
    fn a_thin_appmax_paid_takes_the_buyer_of_the_approved_order() {
        let approved = fixture("appmax/OrderApproved.json");
        let (order, buyer) = to_remember(&approved).expect("a full order leaves its buyer");
        assert_eq!(order, "1");
        let mut paid = fixture("appmax/OrderPaid.json");
        assert_eq!(
            paid.status,
            Status::Invalid,
            "the sandbox body has no buyer"
        );
        assert_eq!(wants_buyer(&paid), Some("1"));
        assert!(take_buyer(&mut paid, buyer));
        assert_eq!(paid.status, Status::Ok);
        assert_eq!(paid.reason, None);
        let customer = &paid.event.as_ref().expect("event").customer;
        assert_eq!(customer.phone, buyer.phone);
        assert_eq!(customer.name, buyer.name);
        assert_eq!(wants_buyer(&paid), None, "it has a buyer now");
    }

    #[test]
    fn unmapped_events_and_events_without_an_order_are_left_alone() {
        let buyer = Customer {
            phone: Some(Phone::parse("11987654321").expect("phone")),
            ..Customer::default()
        };
        // Unmapped: plans nothing.
        let mut integrated = fixture("appmax/OrderIntegrated.json");
        assert_eq!(integrated.status, Status::Unmapped);
        assert!(!take_buyer(&mut integrated, &buyer));
        // Hotmart's subscription cancellation carries no order id.
        let mut canceled = fixture("hotmart/subscription-cancellation.json");
        assert_eq!(wants_buyer(&canceled), None);
        assert!(!take_buyer(&mut canceled, &buyer));
        // A full reading is not changed.
        let mut full = fixture("appmax/OrderApproved.json");
        let before = full.clone();
        assert!(!take_buyer(&mut full, &buyer));
        assert_eq!(full, before);
    }

    #[test]
    fn a_body_naming_another_buyer_does_not_take_the_remembered_one() {
        let mut refund = fixture("appmax/OrderRefund.json");
        let event = refund.event.as_mut().expect("event");
        event.customer.email = Some("outra@example.com".into());
        let remembered = Customer {
            phone: Some(Phone::parse("11987654321").expect("phone")),
            email: Some("ana@example.com".into()),
            ..Customer::default()
        };
        assert!(!take_buyer(&mut refund, &remembered));
        assert_eq!(refund.status, Status::Invalid);
        // The same e-mail, written differently, is the same buyer.
        refund.event.as_mut().expect("event").customer.email = Some(" ANA@example.com".into());
        assert!(take_buyer(&mut refund, &remembered));
    }
}
