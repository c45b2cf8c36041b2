//! The outbound sender's side of the queue (`queue::outbound`): when the next delivery is due,
//! claiming due deliveries under a lease, and recording each attempt on its delivery and
//! endpoint.

use redb::ReadableTable;

use super::outbound::Queue;
use super::{Db, DbError, from_json, tables, to_json};
use crate::domain::DeliveryId;
use crate::domain::outbound::{Attempt, Delivery, DeliveryState, Endpoint, LEASE_S, Outcome};

/// A claimed delivery and where it goes.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub delivery: Delivery,
    pub endpoint: Endpoint,
}

impl Db {
    /// When the earliest pending delivery is due.
    pub fn next_delivery_due(&self) -> Result<Option<i64>, DbError> {
        let read = self.begin_read()?;
        let due = read.open_table(tables::OUTBOUND_DUE)?;
        Ok(due.first()?.map(|(k, _)| k.value().0))
    }

    /// Takes up to `limit` deliveries due by `now`, holding each under a lease (`LEASE_S`): a
    /// process that dies mid-call leaves it due again when the lease ends. Deliveries of a
    /// disabled or removed endpoint are dropped instead.
    pub fn claim_deliveries(&self, now: i64, limit: usize) -> Result<Vec<Claimed>, DbError> {
        let txn = self.begin_write()?;
        let mut claimed = Vec::new();
        let mut changed = false;
        {
            let endpoints = txn.open_table(tables::OUTBOUND_ENDPOINTS)?;
            let mut queue = Queue::open(&txn)?;
            let due: Vec<(i64, u64)> = queue
                .due
                .range(..=(now, u64::MAX))?
                .take(limit)
                .map(|row| row.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()?;
            for (_, id) in due {
                let Some(before) = queue.get(DeliveryId(id))? else {
                    continue;
                };
                let endpoint: Option<Endpoint> = endpoints
                    .get(before.endpoint_id.0)?
                    .map(|b| from_json(b.value()))
                    .transpose()?;
                let mut after = before.clone();
                changed = true;
                match endpoint {
                    Some(endpoint) if endpoint.disabled.is_none() => {
                        after.next_at = now + LEASE_S;
                        queue.put(Some(&before), &after)?;
                        claimed.push(Claimed {
                            delivery: after,
                            endpoint,
                        });
                    }
                    _ => {
                        after.state = DeliveryState::Dropped;
                        queue.put(Some(&before), &after)?;
                    }
                }
            }
        }
        if changed {
            txn.commit()?;
        } else {
            txn.abort()?;
        }
        Ok(claimed)
    }

    /// Records an attempt's outcome on its delivery and endpoint (the failure window, disabling).
    /// Returns the endpoint as it now stands.
    pub fn record_delivery_attempt(
        &self,
        id: DeliveryId,
        outcome: Outcome,
        attempt: Attempt,
        jitter: f64,
    ) -> Result<Endpoint, DbError> {
        let txn = self.begin_write()?;
        let endpoint = {
            let mut endpoints = txn.open_table(tables::OUTBOUND_ENDPOINTS)?;
            let mut queue = Queue::open(&txn)?;
            let before = queue.get(id)?.ok_or(DbError::NotFound)?;
            let mut endpoint: Endpoint = from_json(
                endpoints
                    .get(before.endpoint_id.0)?
                    .ok_or(DbError::NotFound)?
                    .value(),
            )?;
            let mut after = before.clone();
            let disabled = crate::domain::outbound::record_attempt(
                &mut after,
                &mut endpoint,
                outcome,
                attempt,
                jitter,
            );
            queue.put(Some(&before), &after)?;
            if disabled {
                queue.drop_pending(endpoint.id)?;
            }
            endpoints.insert(endpoint.id.0, to_json(&endpoint)?.as_slice())?;
            endpoint
        };
        txn.commit()?;
        Ok(endpoint)
    }
}
