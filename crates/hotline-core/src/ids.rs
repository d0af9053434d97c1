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

    /// RFC 3339 in UTC, to the second (`2026-12-07T11:28:17Z`); the number itself for years
    /// outside 0–9999.
    pub fn rfc3339(self) -> String {
        let (days, seconds) = (self.0.div_euclid(86_400), self.0.rem_euclid(86_400));
        // Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        if !(0..=9_999).contains(&year) {
            return self.0.to_string();
        }
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            seconds / 3_600,
            seconds % 3_600 / 60,
            seconds % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_in_utc() {
        assert_eq!(Timestamp(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(1_767_225_600).rfc3339(), "2026-01-01T00:00:00Z");
        assert_eq!(Timestamp(951_825_599).rfc3339(), "2000-02-29T11:59:59Z");
        assert_eq!(Timestamp(-1).rfc3339(), "1969-12-31T23:59:59Z");
        assert_eq!(Timestamp(i64::MAX).rfc3339(), i64::MAX.to_string());
    }
}
