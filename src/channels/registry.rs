//! The registry: the live channel of every instance. The outbox and inbox find channels through
//! it (as `queue::channel::ChannelLookup`), the console reads their state. Sandbox instances get
//! the fake channel (connected at once); WhatsApp instances get theirs from the WhatsApp factory,
//! and until then have none (shown as not connected). Uses `queue::channel` and `domain`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use super::fake::FakeChannel;
use crate::domain::{Instance, InstanceId, InstanceMode};
use crate::queue::channel::{Channel, ChannelLookup, ChannelState, Pairing};

/// Builds the channel and its pairing control for a WhatsApp-mode instance (the WhatsApp
/// supervisor in production; tests may give their own).
pub type WhatsappFactory =
    Box<dyn Fn(&Instance) -> (Arc<dyn Channel>, Arc<dyn Pairing>) + Send + Sync>;

/// Every instance's channel and pairing control, shared by the outbox, the inbox and the console.
#[derive(Default)]
pub struct Channels {
    live: RwLock<HashMap<InstanceId, Arc<dyn Channel>>>,
    sandboxes: RwLock<HashMap<InstanceId, Arc<FakeChannel>>>,
    pairings: RwLock<HashMap<InstanceId, Arc<dyn Pairing>>>,
    whatsapp: Option<WhatsappFactory>,
    /// Bumped whenever a channel is added or removed, so followers (the inbox) pick up
    /// channels that appear after they started.
    changes: watch::Sender<u64>,
}

impl Channels {
    /// A registry that builds WhatsApp-mode channels with `factory`.
    pub fn with_whatsapp(factory: WhatsappFactory) -> Channels {
        Channels {
            whatsapp: Some(factory),
            ..Channels::default()
        }
    }

    /// Gives `instance` the channel its mode calls for (idempotent).
    pub fn ensure(&self, instance: &Instance) {
        match instance.mode {
            InstanceMode::Sandbox => {
                self.stop_pairing(instance.id);
                if self.sandbox(instance.id).is_none() {
                    let fake = Arc::new(FakeChannel::connected("sandbox"));
                    self.sandboxes
                        .write()
                        .expect("lock")
                        .insert(instance.id, fake.clone());
                    self.live.write().expect("lock").insert(instance.id, fake);
                    self.changed();
                }
            }
            InstanceMode::Whatsapp => {
                if self
                    .sandboxes
                    .write()
                    .expect("lock")
                    .remove(&instance.id)
                    .is_some()
                {
                    self.live.write().expect("lock").remove(&instance.id);
                    self.changed();
                }
                if let Some(factory) = &self.whatsapp
                    && self.pairing(instance.id).is_none()
                {
                    let (channel, pairing) = factory(instance);
                    self.live
                        .write()
                        .expect("lock")
                        .insert(instance.id, channel);
                    self.insert_pairing(instance.id, pairing);
                    self.changed();
                }
            }
        }
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    /// Fires whenever the set of channels changes.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Registers the pairing control of a channel built elsewhere.
    pub fn insert_pairing(&self, instance_id: InstanceId, pairing: Arc<dyn Pairing>) {
        self.pairings
            .write()
            .expect("lock")
            .insert(instance_id, pairing);
    }

    /// The pairing control of a WhatsApp-mode instance.
    pub fn pairing(&self, instance_id: InstanceId) -> Option<Arc<dyn Pairing>> {
        self.pairings
            .read()
            .expect("lock")
            .get(&instance_id)
            .cloned()
    }

    fn stop_pairing(&self, instance_id: InstanceId) {
        let pairing = self.pairings.write().expect("lock").remove(&instance_id);
        if let Some(pairing) = pairing {
            pairing.shutdown();
            self.live.write().expect("lock").remove(&instance_id);
            self.changed();
        }
    }

    /// Stops every WhatsApp connection (avisa stopping).
    pub fn shutdown(&self) {
        let all: Vec<_> = self.pairings.write().expect("lock").drain().collect();
        for (_, pairing) in all {
            pairing.shutdown();
        }
    }

    /// Registers a channel built elsewhere (the WhatsApp supervisor, tests).
    pub fn insert(&self, instance_id: InstanceId, channel: Arc<dyn Channel>) {
        self.live
            .write()
            .expect("lock")
            .insert(instance_id, channel);
        self.changed();
    }

    /// Drops the instance's channel (instance deleted), stopping its pairing first.
    pub fn remove(&self, instance_id: InstanceId) {
        self.stop_pairing(instance_id);
        self.sandboxes.write().expect("lock").remove(&instance_id);
        self.live.write().expect("lock").remove(&instance_id);
        self.changed();
    }

    /// Every instance that has a channel.
    pub fn ids(&self) -> Vec<InstanceId> {
        self.live.read().expect("lock").keys().copied().collect()
    }

    /// The live channel of `instance_id`, if it has one.
    pub fn get(&self, instance_id: InstanceId) -> Option<Arc<dyn Channel>> {
        self.live.read().expect("lock").get(&instance_id).cloned()
    }

    /// The sandbox (fake) channel of a sandbox-mode instance, to read what it "sent".
    pub fn sandbox(&self, instance_id: InstanceId) -> Option<Arc<FakeChannel>> {
        self.sandboxes
            .read()
            .expect("lock")
            .get(&instance_id)
            .cloned()
    }

    /// The current state (disconnected when the instance has no channel).
    pub fn state(&self, instance_id: InstanceId) -> ChannelState {
        self.get(instance_id)
            .map(|c| c.state().borrow().clone())
            .unwrap_or(ChannelState::Disconnected)
    }

    /// Live state changes, for server-sent events.
    pub fn subscribe(&self, instance_id: InstanceId) -> Option<watch::Receiver<ChannelState>> {
        self.get(instance_id).map(|c| c.state())
    }
}

impl ChannelLookup for Channels {
    fn channel(&self, instance_id: InstanceId) -> Option<Arc<dyn Channel>> {
        self.get(instance_id)
    }

    fn instance_ids(&self) -> Vec<InstanceId> {
        self.ids()
    }

    fn changes(&self) -> watch::Receiver<u64> {
        Channels::changes(self)
    }
}
