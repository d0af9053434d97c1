//! Hotline's own identifiers.
//!
//! Telegram ids are plain integers on the wire; inside the desk each kind gets its own newtype so a
//! topic id can never be passed where a message id is expected. None of these carry Telegram wire
//! types: the transport converts at the edge.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<i64> for $name {
            fn from(value: i64) -> Self {
                Self(value)
            }
        }
    };
}

id_type!(
    /// An end user (the person writing to the bot). In a private chat the chat id equals it.
    UserId
);
id_type!(
    /// A chat: a user's private chat or the backend group.
    ChatId
);
id_type!(
    /// A forum topic in the backend group (Telegram's `message_thread_id`).
    TopicId
);
id_type!(
    /// A message, unique within its chat only.
    MessageId
);

impl UserId {
    /// The private chat with this user (Telegram uses the same number).
    pub fn chat(self) -> ChatId {
        ChatId(self.0)
    }
}

/// A point in time as whole seconds since the Unix epoch.
///
/// The desk never reads the system clock itself: time comes in through [`crate::Clock`] or a
/// [`crate::Event::Tick`], so policies are plain functions of their inputs and tests never sleep.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// This instant plus `secs` seconds (saturating).
    pub fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs))
    }
}
