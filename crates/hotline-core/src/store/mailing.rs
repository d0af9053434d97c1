//! Mailings: one message (or a chain) sent to every user of a segment, as a durable job.
//!
//! A mailing is written with its recipients before the first send, each recipient with a
//! [`Delivery`] that moves from `Pending` once, when its send is answered. A desk that stops
//! (or is killed) and starts again reads the pending ones and goes on: nobody is skipped, and
//! only a send in flight at the kill (its answer never recorded) can be made twice.

use crate::config::Greeting;
use crate::ids::{ChatId, MessageId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A mailing's id, given by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MailingId(pub i64);

impl fmt::Display for MailingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What each recipient gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MailingContent {
    /// Messages already written in a chat (an operator's, in the backend group), copied to
    /// each user in order (`copyMessage` on Telegram: media, captions and formatting survive).
    Copy {
        /// The chat they are in.
        from: ChatId,
        /// The messages, in the order they are sent.
        messages: Vec<MessageId>,
    },
    /// A message built in Rust: text (MarkdownV2 or plain), a photo, buttons.
    Message(Greeting),
}

impl MailingContent {
    /// How many messages each recipient gets.
    pub fn len(&self) -> usize {
        match self {
            MailingContent::Copy { messages, .. } => messages.len(),
            MailingContent::Message(greeting) => 1 + usize::from(greeting.video_note.is_some()),
        }
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        matches!(self, MailingContent::Copy { messages, .. } if messages.is_empty())
    }
}

/// Where a mailing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MailingState {
    /// Previewed, waiting for Confirm.
    Draft,
    /// Being sent.
    Running,
    /// Held by `/send pause`; `/send resume` goes on.
    Paused,
    /// Stopped by Cancel or `/send cancel`: nothing more is sent.
    Cancelled,
    /// Every recipient was tried.
    Finished,
}

impl MailingState {
    /// Its name in the store and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            MailingState::Draft => "draft",
            MailingState::Running => "running",
            MailingState::Paused => "paused",
            MailingState::Cancelled => "cancelled",
            MailingState::Finished => "finished",
        }
    }

    /// The state named `name` ([`MailingState::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "draft" => MailingState::Draft,
            "running" => MailingState::Running,
            "paused" => MailingState::Paused,
            "cancelled" => MailingState::Cancelled,
            "finished" => MailingState::Finished,
            _ => return None,
        })
    }

    /// Whether nothing more will be sent.
    pub fn is_over(self) -> bool {
        matches!(self, MailingState::Cancelled | MailingState::Finished)
    }
}

/// A message the desk keeps up to date about a mailing (its preview, then its progress).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Panel {
    /// The chat it is in (the backend group).
    pub chat: ChatId,
    /// The message.
    pub message: MessageId,
}

/// A mailing as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailing {
    /// Its id ([`crate::Store::mailing_create`] gives it; ignored there).
    pub id: MailingId,
    /// What is sent.
    pub content: MailingContent,
    /// The segment it goes to, as written (`#vip lang:de`; empty: every user).
    pub segment: String,
    /// Where it stands.
    pub state: MailingState,
    /// When it was created.
    pub created: Timestamp,
    /// The operator who asked for it (`None`: the host's code, [`crate::Desk::broadcast`]).
    pub author: Option<UserId>,
    /// The preview and progress message, once posted.
    pub panel: Option<Panel>,
}

/// What came of one recipient's send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Delivery {
    /// Not sent yet.
    Pending,
    /// Sent (every message of the chain).
    Sent,
    /// Refused for another reason (logged); not tried again.
    Failed,
    /// The user blocked the bot (they are marked, and left out of later segments).
    Blocked,
    /// The user's account is gone (or the chat cannot be found).
    Left,
}

impl Delivery {
    /// Its name (`pending`, `sent`, `failed`, `blocked`, `left`), as metrics label it.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Sent => "sent",
            Delivery::Failed => "failed",
            Delivery::Blocked => "blocked",
            Delivery::Left => "left",
        }
    }

    /// Its code in the store.
    pub fn code(self) -> i64 {
        match self {
            Delivery::Pending => 0,
            Delivery::Sent => 1,
            Delivery::Failed => 2,
            Delivery::Blocked => 3,
            Delivery::Left => 4,
        }
    }

    /// The delivery of code `code` ([`Delivery::code`]).
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            0 => Delivery::Pending,
            1 => Delivery::Sent,
            2 => Delivery::Failed,
            3 => Delivery::Blocked,
            4 => Delivery::Left,
            _ => return None,
        })
    }
}

/// How many recipients of a mailing stand where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MailingCounts {
    /// Not sent yet.
    pub pending: u64,
    /// Sent.
    pub sent: u64,
    /// Refused for another reason.
    pub failed: u64,
    /// Blocked the bot.
    pub blocked: u64,
    /// Account gone.
    pub left: u64,
}

impl MailingCounts {
    /// Every recipient.
    pub fn total(&self) -> u64 {
        self.pending + self.sent + self.failed + self.blocked + self.left
    }

    /// Counts `n` more recipients as `delivery`.
    pub fn add(&mut self, delivery: Delivery, n: u64) {
        let slot = match delivery {
            Delivery::Pending => &mut self.pending,
            Delivery::Sent => &mut self.sent,
            Delivery::Failed => &mut self.failed,
            Delivery::Blocked => &mut self.blocked,
            Delivery::Left => &mut self.left,
        };
        *slot += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_read_back() {
        for state in [
            MailingState::Draft,
            MailingState::Running,
            MailingState::Paused,
            MailingState::Cancelled,
            MailingState::Finished,
        ] {
            assert_eq!(MailingState::from_name(state.as_str()), Some(state));
        }
        for delivery in [
            Delivery::Pending,
            Delivery::Sent,
            Delivery::Failed,
            Delivery::Blocked,
            Delivery::Left,
        ] {
            assert_eq!(Delivery::from_code(delivery.code()), Some(delivery));
        }
        assert_eq!(MailingState::from_name("lost"), None);
        assert_eq!(Delivery::from_code(9), None);
    }

    #[test]
    fn counts_add_up() {
        let mut counts = MailingCounts::default();
        counts.add(Delivery::Pending, 5);
        counts.add(Delivery::Sent, 3);
        counts.add(Delivery::Blocked, 1);
        assert_eq!(counts.total(), 9);
        assert_eq!((counts.pending, counts.sent, counts.blocked), (5, 3, 1));
    }
}
