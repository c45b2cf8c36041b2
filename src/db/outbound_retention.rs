//! Outbound deliveries leaving the file: retention (finished deliveries past the raw bodies'
//! window) and forgetting a buyer (LGPD).

use redb::{ReadableTable, WriteTransaction};

use super::outbound::Queue;
use super::{Db, DbError, from_json};
use crate::domain::outbound::{Delivery, DeliveryState};

/// Deliveries looked at per retention transaction (the writer is free between them).
const SWEEP_BATCH: usize = 2_000;

impl Db {
    /// Retention: removes finished deliveries (delivered, failed, dropped) whose last activity
    /// is before `cutoff` (the raw bodies' window), with their log entries; pending ones stay.
    /// Ids grow with creation time, so the sweep ends at the first delivery created after the
    /// cutoff. In batches of `SWEEP_BATCH`. Returns how many went.
    pub fn purge_deliveries_before(&self, cutoff: i64) -> Result<u64, DbError> {
        let mut total = 0;
        let mut next = 0u64;
        loop {
            let txn = self.begin_write()?;
            let (removed, done) = {
                let mut queue = Queue::open(&txn)?;
                let mut expired = Vec::new();
                let mut done = true;
                let mut scanned = 0;
                for row in queue.deliveries.range(next..)? {
                    let (id, bytes) = row?;
                    let delivery: Delivery = from_json(bytes.value())?;
                    if delivery.created_at >= cutoff {
                        break;
                    }
                    next = id.value() + 1;
                    if crate::domain::outbound::expired(&delivery, cutoff) {
                        expired.push((delivery.endpoint_id, delivery.id));
                    }
                    scanned += 1;
                    if scanned >= SWEEP_BATCH {
                        done = false;
                        break;
                    }
                }
                for (endpoint, id) in &expired {
                    queue.log.remove((endpoint.0, id.0))?;
                    queue.deliveries.remove(id.0)?;
                }
                (expired.len() as u64, done)
            };
            txn.commit()?;
            total += removed;
            if done {
                return Ok(total);
            }
        }
    }
}

/// Removes every delivery that names the buyer (LGPD: forget the buyer).
pub(super) fn forget_deliveries(txn: &WriteTransaction, phone: &str) -> Result<u64, DbError> {
    let mut queue = Queue::open(txn)?;
    let named: Vec<Delivery> = queue
        .deliveries
        .iter()?
        .filter_map(|row| match row {
            Ok((_, v)) => match from_json::<Delivery>(v.value()) {
                Ok(d) if d.phone.as_deref() == Some(phone) => Some(Ok(d)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            },
            Err(e) => Some(Err(e.into())),
        })
        .collect::<Result<_, DbError>>()?;
    for d in &named {
        if d.state == DeliveryState::Pending {
            queue.due.remove((d.next_at, d.id.0))?;
        }
        queue.log.remove((d.endpoint_id.0, d.id.0))?;
        queue.deliveries.remove(d.id.0)?;
    }
    Ok(named.len() as u64)
}
