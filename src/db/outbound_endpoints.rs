//! Outbound webhooks' endpoints as the admin manages them (register, switch, remove, resend a
//! delivery, read an endpoint's log) and the `instance.state` report, which has no transaction
//! of its own to ride in. The queue itself is `outbound`'s.

use redb::ReadableTable;
use serde_json::{Value, json};

use super::outbound::{Emitter, Queue, ring_outbound};
use super::{Db, DbError, from_json, tables, to_json};
use crate::domain::outbound::{Delivery, DeliveryState, Endpoint, EndpointDisabled, OutboundEvent};
use crate::domain::{DeliveryId, EndpointId, StoreId};

/// What an admin registers.
#[derive(Clone, Debug)]
pub struct NewEndpoint {
    pub url: String,
    pub description: String,
    pub events: Vec<OutboundEvent>,
    pub store_id: Option<StoreId>,
    pub secret: String,
}

impl Db {
    pub fn create_endpoint(&self, new: NewEndpoint, now: i64) -> Result<Endpoint, DbError> {
        let txn = self.begin_write()?;
        let endpoint = Endpoint {
            id: EndpointId(super::next_id(&txn, "outbound_endpoints")?),
            url: new.url,
            description: new.description,
            events: new.events,
            store_id: new.store_id,
            secret: new.secret,
            created_at: now,
            disabled: None,
            disabled_at: None,
            failing_since: None,
        };
        txn.open_table(tables::OUTBOUND_ENDPOINTS)?
            .insert(endpoint.id.0, to_json(&endpoint)?.as_slice())?;
        txn.commit()?;
        Ok(endpoint)
    }

    pub fn list_endpoints(&self) -> Result<Vec<Endpoint>, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::OUTBOUND_ENDPOINTS)?;
        table.iter()?.map(|row| from_json(row?.1.value())).collect()
    }

    pub fn endpoint(&self, id: EndpointId) -> Result<Endpoint, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::OUTBOUND_ENDPOINTS)?;
        let bytes = table.get(id.0)?.ok_or(DbError::NotFound)?;
        from_json(bytes.value())
    }

    /// Switches an endpoint on (clearing its failure window) or off (by the admin).
    pub fn set_endpoint_enabled(
        &self,
        id: EndpointId,
        enabled: bool,
        now: i64,
    ) -> Result<Endpoint, DbError> {
        let txn = self.begin_write()?;
        let endpoint = {
            let mut table = txn.open_table(tables::OUTBOUND_ENDPOINTS)?;
            let mut endpoint: Endpoint =
                from_json(table.get(id.0)?.ok_or(DbError::NotFound)?.value())?;
            if enabled {
                endpoint.disabled = None;
                endpoint.disabled_at = None;
                endpoint.failing_since = None;
            } else if endpoint.disabled.is_none() {
                endpoint.disabled = Some(EndpointDisabled::ByAdmin);
                endpoint.disabled_at = Some(now);
            }
            table.insert(id.0, to_json(&endpoint)?.as_slice())?;
            endpoint
        };
        txn.commit()?;
        Ok(endpoint)
    }

    /// Removes an endpoint with its deliveries and their log.
    pub fn delete_endpoint(&self, id: EndpointId) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        if txn
            .open_table(tables::OUTBOUND_ENDPOINTS)?
            .remove(id.0)?
            .is_none()
        {
            return Err(DbError::NotFound);
        }
        {
            let mut queue = Queue::open(&txn)?;
            let ids: Vec<u64> = queue
                .log
                .range((id.0, 0)..=(id.0, u64::MAX))?
                .map(|row| row.map(|(k, _)| k.value().1))
                .collect::<Result<_, _>>()?;
            for delivery_id in ids {
                queue.log.remove((id.0, delivery_id))?;
                if let Some(d) = queue.get(DeliveryId(delivery_id))? {
                    if d.state == DeliveryState::Pending {
                        queue.due.remove((d.next_at, d.id.0))?;
                    }
                    queue.deliveries.remove(delivery_id)?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// An endpoint's deliveries, newest first, at most `limit`.
    pub fn endpoint_deliveries(
        &self,
        id: EndpointId,
        limit: usize,
    ) -> Result<Vec<Delivery>, DbError> {
        let read = self.begin_read()?;
        let log = read.open_table(tables::OUTBOUND_LOG)?;
        let deliveries = read.open_table(tables::OUTBOUND_DELIVERIES)?;
        let mut out = Vec::new();
        for row in log.range((id.0, 0)..=(id.0, u64::MAX))?.rev().take(limit) {
            let delivery_id = row?.0.value().1;
            if let Some(bytes) = deliveries.get(delivery_id)? {
                out.push(from_json(bytes.value())?);
            }
        }
        Ok(out)
    }

    pub fn delivery(&self, id: DeliveryId) -> Result<Delivery, DbError> {
        let read = self.begin_read()?;
        let table = read.open_table(tables::OUTBOUND_DELIVERIES)?;
        let bytes = table.get(id.0)?.ok_or(DbError::NotFound)?;
        from_json(bytes.value())
    }

    /// "Reenviar": the delivery is due now, from the start of the schedule.
    pub fn resend_delivery(&self, id: DeliveryId, now: i64) -> Result<Delivery, DbError> {
        let txn = self.begin_write()?;
        let delivery = {
            let mut queue = Queue::open(&txn)?;
            let before = queue.get(id)?.ok_or(DbError::NotFound)?;
            let mut after = before.clone();
            crate::domain::outbound::resend(&mut after, now);
            queue.put(Some(&before), &after)?;
            after
        };
        txn.commit()?;
        ring_outbound();
        Ok(delivery)
    }

    /// Endpoints switched off because they kept failing (the dashboard's alert).
    pub fn failing_endpoints(&self) -> Result<Vec<Endpoint>, DbError> {
        Ok(self
            .list_endpoints()?
            .into_iter()
            .filter(|e| e.disabled == Some(EndpointDisabled::Failing))
            .collect())
    }

    /// Queues `instance.state` for the stores linked to the instance (its own transaction: the
    /// state lives in the channel, not in the file).
    pub fn emit_instance_state(
        &self,
        instance_id: crate::domain::InstanceId,
        state: Value,
        at: i64,
    ) -> Result<(), DbError> {
        let txn = self.begin_write()?;
        let stores = super::outbound_report::stores_of_instance(&txn, instance_id)?;
        Emitter::new(&txn).emit(
            OutboundEvent::InstanceState,
            &stores,
            None,
            at,
            || json!({ "instance_id": instance_id, "state": state }),
        )?;
        txn.commit()?;
        Ok(())
    }
}
