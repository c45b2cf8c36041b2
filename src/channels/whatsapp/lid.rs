//! The phone behind a buyer's LID (`Channel::phone_of`): a message that comes under a LID with no
//! phone beside it (`events::effects` maps those it can) is matched through the library's
//! LID↔phone mapping, which a send to the phone fills (the usync answer names the LID).

use std::sync::Arc;

use whatsapp_rust::Client;
use whatsapp_rust::store::traits::Backend;
use whatsapp_rust::wacore_binary::Jid;

use super::events;

/// The E.164 phone of `address` (`…@lid`): the live client's mapping (its cache, then the
/// stored rows), or the stored rows (`rows`, the instance's backend) when no client runs.
/// `None` for an address that is not a LID, or a LID nobody mapped.
pub(super) async fn phone_of(
    client: Option<Arc<Client>>,
    rows: Arc<dyn Backend>,
    address: &str,
) -> Option<String> {
    let jid: Jid = address.trim().parse().ok()?;
    if !jid.is_lid() {
        return None;
    }
    let phone = match client {
        Some(client) => client
            .get_lid_pn_entry(&jid)
            .await
            .ok()
            .flatten()
            .map(|entry| entry.phone_number.to_string()),
        None => rows
            .get_lid_mapping(&jid.user)
            .await
            .ok()
            .flatten()
            .map(|entry| entry.phone_number),
    }?;
    Some(events::e164(&Jid::pn(phone)))
}

#[cfg(test)]
mod tests {
    use whatsapp_rust::store::traits::LidPnMappingEntry;

    use super::*;
    use crate::db::{Db, DbOptions};
    use crate::domain::{Clock, InstanceId, ManualClock};

    #[tokio::test]
    async fn a_mapped_lid_reads_as_its_phone_and_anything_else_as_unknown() {
        let dir = tempfile::tempdir().expect("data dir");
        let db = Db::open(&dir.path().join("data"), &DbOptions::default()).expect("db");
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(1_000));
        let rows = crate::channels::whatsapp::backend::backend(
            Arc::new(db.clone()),
            InstanceId(3),
            clock.clone(),
        );
        rows.put_lid_mapping(&LidPnMappingEntry {
            lid: "99887766".into(),
            phone_number: "5511987654321".into(),
            created_at: 1_000,
            updated_at: 1_000,
            learning_source: "usync".into(),
        })
        .await
        .expect("stored");
        let of = |address: &'static str| phone_of(None, rows.clone(), address);
        assert_eq!(of("99887766@lid").await.as_deref(), Some("+5511987654321"));
        assert_eq!(
            of("99887766:12@lid").await.as_deref(),
            Some("+5511987654321")
        );
        assert_eq!(of("11223344@lid").await, None, "never mapped");
        assert_eq!(of("5511987654321@s.whatsapp.net").await, None, "not a LID");
        assert_eq!(of("qualquer coisa").await, None);
        // Another instance's rows are its own.
        let other = crate::channels::whatsapp::backend::backend(Arc::new(db), InstanceId(4), clock);
        assert_eq!(phone_of(None, other, "99887766@lid").await, None);
    }
}
