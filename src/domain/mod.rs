//! avisa's model and rules, pure and tested without a database: the entities (stores,
//! instances, messages, settings), events, phones, money, platforms, and the rules over them:
//! planning (`planning::plan`), message status changes (`message::transition`), the reason codes
//! (`reason`), the report rules (`report`) and sending maths. No I/O, no async, no redb.

pub mod clock;
pub mod custom_kind;
pub mod deliverability;
pub mod enrichment;
pub mod erasure;
pub mod event;
pub mod housekeeping;
pub mod ids;
pub mod inbox;
pub mod instance;
pub mod media;
pub mod message;
#[cfg(test)]
mod message_tests;
pub mod money;
pub mod outbound;
pub mod phone;
pub mod planning;
pub mod platform;
pub mod public_url;
pub mod reason;
pub mod reply;
pub mod report;
pub mod sending;
pub mod settings;
pub mod slug;
pub mod store;
pub mod template;

pub use clock::{Clock, ManualClock, SystemClock};
pub use custom_kind::{CustomKind, CustomKindDef};
pub use event::{
    Access, Customer, Event, EventKind, Payment, PaymentMethod, Product, Shipping, Subscription,
    Utm,
};
pub use ids::{DeliveryId, EndpointId, EventId, InstanceId, MessageId, StoreId};
pub use instance::{AutoReply, Instance, InstanceMode};
pub use message::{Change, Message, MessageStatus, OptOut, StatusChange, transition};
pub use phone::{Phone, PhoneError};
pub use platform::{Platform, PlatformGroup, SecretKind};
pub use reason::Reason;
pub use settings::{ConsoleSettings, MessageSettings, OpsSettings};
pub use slug::slugify;
pub use store::{NewStore, Store};
