//! The live channel of every instance. The outbox sends through it, the console reads its state.
//! Sandbox instances get the fake channel (connected at once); WhatsApp instances get theirs
//! from the WhatsApp work, and until then have none (shown as not connected).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use super::channel::{Channel, ChannelState};
use crate::channels::fake::FakeChannel;
use crate::store::{InstanceMode, InstanceRecord};

#[derive(Default)]
pub struct Channels {
    live: RwLock<HashMap<u64, Arc<dyn Channel>>>,
    sandboxes: RwLock<HashMap<u64, Arc<FakeChannel>>>,
}

impl Channels {
    /// Gives `instance` the channel its mode calls for (idempotent).
    pub fn ensure(&self, instance: &InstanceRecord) {
        match instance.mode {
            InstanceMode::Sandbox => {
                if self.sandbox(instance.id).is_none() {
                    let fake = Arc::new(FakeChannel::connected("sandbox"));
                    self.sandboxes
                        .write()
                        .expect("lock")
                        .insert(instance.id, fake.clone());
                    self.live.write().expect("lock").insert(instance.id, fake);
                }
            }
            InstanceMode::Whatsapp => {
                self.sandboxes.write().expect("lock").remove(&instance.id);
                self.live.write().expect("lock").remove(&instance.id);
            }
        }
    }

    /// Registers a channel built elsewhere (the WhatsApp supervisor, tests).
    pub fn insert(&self, instance_id: u64, channel: Arc<dyn Channel>) {
        self.live
            .write()
            .expect("lock")
            .insert(instance_id, channel);
    }

    pub fn remove(&self, instance_id: u64) {
        self.sandboxes.write().expect("lock").remove(&instance_id);
        self.live.write().expect("lock").remove(&instance_id);
    }

    /// Every instance that has a channel.
    pub fn ids(&self) -> Vec<u64> {
        self.live.read().expect("lock").keys().copied().collect()
    }

    pub fn get(&self, instance_id: u64) -> Option<Arc<dyn Channel>> {
        self.live.read().expect("lock").get(&instance_id).cloned()
    }

    pub fn sandbox(&self, instance_id: u64) -> Option<Arc<FakeChannel>> {
        self.sandboxes
            .read()
            .expect("lock")
            .get(&instance_id)
            .cloned()
    }

    /// The current state (disconnected when the instance has no channel).
    pub fn state(&self, instance_id: u64) -> ChannelState {
        self.get(instance_id)
            .map(|c| c.state().borrow().clone())
            .unwrap_or(ChannelState::Disconnected)
    }

    /// Live state changes, for server-sent events.
    pub fn subscribe(&self, instance_id: u64) -> Option<watch::Receiver<ChannelState>> {
        self.get(instance_id).map(|c| c.state())
    }
}
