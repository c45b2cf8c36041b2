//! The ids of avisa's records as their own types, so a store's id cannot be passed where a
//! message's is meant. Pure std + serde: each is a `u64` underneath and `serde(transparent)`, so
//! stored JSON, API bodies and template contexts read exactly as plain numbers.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The number underneath (a redb key, a log field).
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl From<u64> for $name {
            fn from(n: u64) -> Self {
                Self(n)
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

id_type!(
    /// A store's (loja's) id: the key of `STORES`.
    StoreId
);
id_type!(
    /// An instance's (WhatsApp number's) id: the key of `INSTANCES`.
    InstanceId
);
id_type!(
    /// A stored event's id: the key of `EVENTS`, in arrival order.
    EventId
);
id_type!(
    /// A message's id: the key of `MESSAGES`, in creation order.
    MessageId
);
id_type!(
    /// An outbound webhook endpoint's id: the key of `OUTBOUND_ENDPOINTS`.
    EndpointId
);
id_type!(
    /// One outbound webhook delivery's id: the key of `OUTBOUND_DELIVERIES`, and the `id` the
    /// receiver sees (`whd_{id}`), the same on every retry.
    DeliveryId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialize_as_plain_numbers() {
        assert_eq!(serde_json::to_string(&StoreId(7)).unwrap(), "7");
        assert_eq!(
            serde_json::from_str::<MessageId>("42").unwrap(),
            MessageId(42)
        );
        assert_eq!(EventId(3).to_string(), "3");
        assert_eq!("9".parse::<InstanceId>().unwrap(), InstanceId(9));
    }
}
