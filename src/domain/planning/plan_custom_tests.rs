//! Custom kinds in the planning table: outside the happy path, inside the buyer rules. Shares
//! `plan_tests`' fake templates, stores and facts.

use super::*;

/// A custom kind (post-sale: a birthday, a live) is the merchant reaching out: no payment closes
/// it, while the buyer cap, the opt-out list and quiet hours hold it like a reminder.
#[test]
fn custom_kinds_are_outside_the_happy_path_but_inside_the_buyer_rules() {
    use MessageStatus::*;
    let live = EventKind::parse_with_custom("custom.aviso-de-live").expect("custom kind");
    let settings = MessageSettings::default();
    let one = store(1);
    let base = || facts(&one, &settings);
    // A pending live notice with the same order id and products as the paid order.
    let notice_of_order = stored(1, 1, live, Some("A1"), Scheduled);
    let notice = stored(2, 1, live, None, Scheduled);
    let pix = stored(3, 1, EventKind::PixGenerated, Some("A1"), Scheduled);
    let paid = event(EventKind::OrderPaid, Some("A1"));
    let plan_paid = plan(
        &paid,
        &Fake,
        &Facts {
            order_messages: vec![notice_of_order.clone(), pix.clone()],
            phone_messages: vec![notice_of_order.clone(), notice.clone(), pix.clone()],
            ..base()
        },
        NOON,
    );
    let canceled_ids: Vec<u64> = plan_paid
        .close
        .as_ref()
        .map(|c| c.cancel.iter().map(|id| id.0).collect())
        .unwrap_or_default();
    assert_eq!(canceled_ids, vec![3], "only the PIX reminder stops");

    let mut birthday = event(live, None);
    birthday.products.clear();
    birthday.total_cents = None;
    let fresh = plan(&birthday, &Fake, &base(), NOON);
    assert_eq!(short(&fresh), (None, None, None, scheduled(false)));
    assert!(fresh.create.iter().all(|m| m.kind == live));

    let opted_out = plan(
        &birthday,
        &Fake,
        &Facts {
            opted_out: true,
            ..base()
        },
        NOON,
    );
    assert_eq!(short(&opted_out).3, canceled(Reason::OptedOut));

    let capped_settings = MessageSettings {
        buyer_cap: 1,
        ..MessageSettings::default()
    };
    let capped = plan(
        &birthday,
        &Fake,
        &Facts {
            phone_messages: vec![notice.clone()],
            ..facts(&one, &capped_settings)
        },
        NOON,
    );
    assert_eq!(short(&capped).3, canceled(Reason::BuyerCap));

    // 23:00 in Brasília: quiet hours hold the first message until 08:00.
    let late = NOON + 11 * 3600;
    let quiet = plan(&birthday, &Fake, &base(), late);
    assert_eq!(quiet.create[0].due_at, NOON + DAY - 4 * 3600);
}
