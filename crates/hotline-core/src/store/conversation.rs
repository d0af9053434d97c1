//! The records a store keeps.

use crate::ids::{MessageId, Timestamp, TopicId, UserId};
use crate::message::UserProfile;
use serde::{Deserialize, Serialize};

/// One user's relationship with the desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Who.
    pub user: UserId,
    /// Their profile, as last seen.
    pub profile: UserProfile,
    /// Their current topic in the backend group (a deleted topic is replaced).
    pub topic: Option<TopicId>,
    /// Where the conversation stands.
    pub status: Status,
    /// When `status` last changed (auto-close counts from here).
    pub status_since: Timestamp,
    /// The user blocked the bot: nothing is sent to them until they write again.
    pub blocked: bool,
    /// An operator banned the user: their messages are not relayed.
    pub banned: bool,
    /// The payload of the user's first `/start` (deep link), shown on the user card.
    pub start_payload: Option<String>,
    /// The name the topic was last given (renames are skipped when nothing changes).
    pub topic_name: Option<String>,
    /// The greeting is owed to the user for the current opening (survives a crash between the
    /// topic's creation and the greeting).
    pub welcome_pending: bool,
    /// The latest messages of the user's private chat that were not relayed (before
    /// activation), oldest first; posted into the topic as context when the conversation
    /// activates. The user's own are kept by id; the host bot's answers (seen by the
    /// intercepting wrapper) by their id negated, so the context is the whole dialogue.
    pub pending: Vec<MessageId>,
    /// When the user last wrote, to the hour (the desk refreshes it when an hour has passed,
    /// so that it costs no write per message): what segments' `active:` reads.
    pub last_active: Timestamp,
    /// When the desk first met the user (what `/export` calls first contact).
    #[serde(default)]
    pub first_seen: Timestamp,
}

impl Conversation {
    /// A conversation for a user the desk has just met: no topic, not active.
    pub fn new(profile: UserProfile, now: Timestamp) -> Self {
        Self {
            user: profile.id,
            profile,
            topic: None,
            status: Status::Inactive,
            status_since: now,
            blocked: false,
            banned: false,
            start_payload: None,
            topic_name: None,
            welcome_pending: false,
            pending: Vec::new(),
            last_active: now,
            first_seen: now,
        }
    }

    /// Whether user messages are relayed now (a topic exists and is not closed).
    pub fn is_open(&self) -> bool {
        self.topic.is_some() && self.status.is_open()
    }
}

/// Where a conversation stands; shown as a square at the start of the topic's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Status {
    /// Known user, never activated (no topic yet).
    Inactive,
    /// The user wrote last, or the topic just opened: 🟪.
    UserAnswered,
    /// Support answered last: 🟨 (auto-close counts from here).
    SupportAnswered,
    /// Closed: ⬛.
    Closed,
}

impl Status {
    /// Whether messages flow (user answered or support answered).
    pub fn is_open(self) -> bool {
        matches!(self, Status::UserAnswered | Status::SupportAnswered)
    }

    /// The square shown at the start of the topic's name.
    pub fn square(self) -> &'static str {
        match self {
            Status::Inactive | Status::UserAnswered => "🟪",
            Status::SupportAnswered => "🟨",
            Status::Closed => "⬛",
        }
    }

    /// A short stable name, for stores that keep the status as text.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Inactive => "inactive",
            Status::UserAnswered => "user_answered",
            Status::SupportAnswered => "support_answered",
            Status::Closed => "closed",
        }
    }

    /// The status named by [`Status::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "inactive" => Status::Inactive,
            "user_answered" => Status::UserAnswered,
            "support_answered" => Status::SupportAnswered,
            "closed" => Status::Closed,
            _ => return None,
        })
    }
}

/// Pairs a message in a user's private chat with its counterpart in the user's topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageLink {
    /// The user.
    pub user: UserId,
    /// The message in the user's private chat.
    pub user_message: MessageId,
    /// The message in the backend group.
    pub topic_message: MessageId,
    /// Which side wrote the original.
    pub origin: Origin,
}

/// Which side a linked message was written on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Origin {
    /// The user wrote it; the topic holds the copy.
    User,
    /// An operator wrote it in the topic; the user's chat holds the copy.
    Operator,
    /// The host bot wrote it to the user; the topic holds the mirror.
    Host,
}

impl Origin {
    /// A short stable name, for stores that keep it as text.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::User => "user",
            Origin::Operator => "operator",
            Origin::Host => "host",
        }
    }

    /// The origin named by [`Origin::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "user" => Origin::User,
            "operator" => Origin::Operator,
            "host" => Origin::Host,
            _ => return None,
        })
    }
}
