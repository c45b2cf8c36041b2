//! The WhatsApp channel's part of deliverability (issue 15): the is-on-WhatsApp answers the
//! sender relies on come from the data file, so a restart repeats no lookup.

use std::sync::Arc;

use super::send::{Address, AddressBook};
use crate::db::{Db, DbOptions};
use crate::domain::{InstanceId, ManualClock};

const NOON: i64 = 1_763_478_000;

#[tokio::test]
async fn the_address_book_remembers_answers_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::at(NOON);
    {
        let db = Db::open(dir.path(), &DbOptions::default()).expect("open");
        let book = AddressBook::new(db, InstanceId(1), Arc::new(clock.clone()));
        assert_eq!(book.get("+5511987654321").await, None);
        book.put("+5511987654321", Address::NotOnWhatsapp).await;
        book.put("+5511955554444", Address::Registered("551155554444".into()))
            .await;
    }
    let db = Db::open(dir.path(), &DbOptions::default()).expect("reopen");
    clock.advance(24 * 3600);
    let book = AddressBook::new(db, InstanceId(1), Arc::new(clock.clone()));
    assert_eq!(
        book.get("+5511987654321").await,
        Some(Address::NotOnWhatsapp),
        "a number not on WhatsApp fails again without a lookup"
    );
    assert_eq!(
        book.get("+5511955554444").await,
        Some(Address::Registered("551155554444".into()))
    );
    clock.advance(7 * 24 * 3600);
    assert_eq!(book.get("+5511987654321").await, None, "stale after a week");
}
