//! Pure types and rules of avisa: events, phones, money, platforms. No I/O, no async.

pub mod clock;
pub mod event;
pub mod housekeeping;
pub mod inbox;
pub mod message;
pub mod money;
pub mod phone;
pub mod planning;
pub mod platform;
pub mod report;
pub mod sending;
pub mod slug;
pub mod template;

pub use clock::{Clock, ManualClock, SystemClock};
pub use event::{
    Access, Customer, Event, EventKind, Payment, PaymentMethod, Product, Shipping, Subscription,
    Utm,
};
pub use message::MessageStatus;
pub use phone::{Phone, PhoneError};
pub use platform::{Platform, PlatformGroup, SecretKind};
pub use slug::slugify;
