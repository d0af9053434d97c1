//! Events in: everything that can happen to a support desk.
//!
//! A transport turns its wire updates into these; the host bot produces [`Event::HostMessage`]
//! (interception) and [`Event::HandOver`] (its own "talk to a human" button); a timer produces
//! [`Event::Tick`].

use crate::ids::{ChatId, MessageId, Timestamp, TopicId, UserId};
use crate::message::{IncomingMessage, UserProfile};
use serde::{Deserialize, Serialize};

/// Something that happened, for the desk to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A user wrote to the bot in a private chat.
    UserMessage {
        /// Who wrote (the profile is refreshed on every message).
        user: UserProfile,
        /// What they wrote.
        message: IncomingMessage,
    },
    /// A user sent an album: several messages sharing one `media_group_id`, to be copied together.
    UserAlbum {
        /// Who wrote.
        user: UserProfile,
        /// The album's messages, in order.
        messages: Vec<IncomingMessage>,
    },
    /// A user edited one of their messages.
    UserEdited {
        /// Who edited.
        user: UserId,
        /// The message with its new text or caption.
        message: IncomingMessage,
    },
    /// A user set reactions on a message in their private chat.
    UserReaction {
        /// Who reacted.
        user: UserId,
        /// The message reacted to (in the private chat).
        message: MessageId,
        /// The emoji now set (empty: reactions removed).
        emoji: Vec<String>,
    },
    /// Someone wrote in a forum topic (or elsewhere) in a group.
    OperatorMessage {
        /// The group (only the backend group is served).
        chat: ChatId,
        /// The topic, if the message is in one.
        topic: Option<TopicId>,
        /// Who wrote.
        operator: UserId,
        /// What they wrote.
        message: IncomingMessage,
    },
    /// An operator sent an album into a topic.
    OperatorAlbum {
        /// The group.
        chat: ChatId,
        /// The topic, if any.
        topic: Option<TopicId>,
        /// Who wrote.
        operator: UserId,
        /// The album's messages, in order.
        messages: Vec<IncomingMessage>,
    },
    /// Someone pressed a button of the desk's own under a message in a group (a mailing's
    /// Confirm, Cancel, Pause, Resume).
    OperatorButton {
        /// The group.
        chat: ChatId,
        /// Who pressed it.
        operator: UserId,
        /// The message the button is under.
        message: MessageId,
        /// The button's data ([`crate::PanelButton::data`]).
        data: String,
        /// The press, as the messenger names it, for [`crate::Action::AnswerButton`].
        query: String,
    },
    /// An operator edited a message in a group.
    OperatorEdited {
        /// The group.
        chat: ChatId,
        /// The topic, if any.
        topic: Option<TopicId>,
        /// The message with its new text or caption.
        message: IncomingMessage,
    },
    /// An operator set reactions on a message in a group.
    OperatorReaction {
        /// The group.
        chat: ChatId,
        /// The topic, if known.
        topic: Option<TopicId>,
        /// The message reacted to.
        message: MessageId,
        /// The emoji now set.
        emoji: Vec<String>,
    },
    /// The host bot sent a message to a user (for interception). The id is the message's id in the
    /// user's private chat.
    HostMessage {
        /// The user the host bot wrote to.
        user: UserId,
        /// The message the host bot sent.
        message: IncomingMessage,
    },
    /// The host bot sent an album to a user (`sendMediaGroup`): mirrored as one album.
    HostAlbum {
        /// The user the host bot wrote to.
        user: UserId,
        /// The album's messages, ascending.
        messages: Vec<IncomingMessage>,
    },
    /// The host bot copied or forwarded messages to a user (`copyMessage`, `copyMessages`,
    /// `forwardMessages`): Telegram answers with their ids alone, so the desk knows where they
    /// are, not what they hold.
    HostCopied {
        /// The user the host bot wrote to.
        user: UserId,
        /// The new messages' ids in the user's chat, ascending.
        messages: Vec<MessageId>,
    },
    /// The host bot edited one of its messages to a user.
    HostEdited {
        /// The user.
        user: UserId,
        /// The message with its new text or caption.
        message: IncomingMessage,
    },
    /// An operator closed a topic by hand in Telegram.
    TopicClosed {
        /// The group.
        chat: ChatId,
        /// The topic.
        topic: TopicId,
    },
    /// An operator reopened a topic by hand in Telegram.
    TopicReopened {
        /// The group.
        chat: ChatId,
        /// The topic.
        topic: TopicId,
    },
    /// The user blocked the bot (or deleted their account).
    UserBlocked {
        /// The user.
        user: UserId,
    },
    /// The user unblocked the bot.
    UserUnblocked {
        /// The user.
        user: UserId,
    },
    /// The host bot hands the user to a human (its own button or command); same as a keyword.
    HandOver {
        /// The user.
        user: UserProfile,
    },
    /// Time passed: due work (auto-close) is done.
    Tick {
        /// The current time.
        now: Timestamp,
    },
}

/// Which ordered lane an event belongs to: a user's events are handled one at a time, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Events of one user (their messages, the host bot's messages to them).
    User(UserId),
    /// Events in one topic of a group (operators' messages); resolved to the topic's user by the desk.
    Topic(ChatId, Option<TopicId>),
    /// Events that belong to no conversation (ticks).
    Desk,
}

impl Event {
    /// The lane this event is ordered in.
    pub fn lane(&self) -> Lane {
        match self {
            Event::UserMessage { user, .. }
            | Event::UserAlbum { user, .. }
            | Event::HandOver { user } => Lane::User(user.id),
            Event::UserEdited { user, .. }
            | Event::UserReaction { user, .. }
            | Event::HostMessage { user, .. }
            | Event::HostAlbum { user, .. }
            | Event::HostCopied { user, .. }
            | Event::HostEdited { user, .. }
            | Event::UserBlocked { user }
            | Event::UserUnblocked { user } => Lane::User(*user),
            Event::OperatorMessage { chat, topic, .. }
            | Event::OperatorAlbum { chat, topic, .. }
            | Event::OperatorEdited { chat, topic, .. }
            | Event::OperatorReaction { chat, topic, .. } => Lane::Topic(*chat, *topic),
            Event::TopicClosed { chat, topic } | Event::TopicReopened { chat, topic } => {
                Lane::Topic(*chat, Some(*topic))
            }
            Event::Tick { .. } | Event::OperatorButton { .. } => Lane::Desk,
        }
    }

    /// The key under which the store remembers that this event was handled, so a redelivered update
    /// (a restart before the offset moved) is not relayed twice. `None` for events that are safe to
    /// repeat.
    pub fn key(&self) -> Option<EventKey> {
        let key = |kind, chat: i64, message: &IncomingMessage| EventKey {
            kind,
            chat,
            message: message.id.0,
            version: message.date,
        };
        match self {
            Event::UserMessage { user, message } => Some(key(EventKind::User, user.id.0, message)),
            Event::UserAlbum { user, messages } => {
                messages.first().map(|m| key(EventKind::User, user.id.0, m))
            }
            Event::UserEdited { user, message } => Some(key(EventKind::UserEdit, user.0, message)),
            Event::OperatorMessage { chat, message, .. } => {
                Some(key(EventKind::Operator, chat.0, message))
            }
            Event::OperatorAlbum { chat, messages, .. } => messages
                .first()
                .map(|m| key(EventKind::Operator, chat.0, m)),
            Event::OperatorEdited { chat, message, .. } => {
                Some(key(EventKind::OperatorEdit, chat.0, message))
            }
            Event::HostMessage { user, message } => Some(key(EventKind::Host, user.0, message)),
            Event::HostAlbum { user, messages } => {
                messages.first().map(|m| key(EventKind::Host, user.0, m))
            }
            // Ids are unique in a chat: the first one names the call.
            Event::HostCopied { user, messages } => messages.first().map(|m| EventKey {
                kind: EventKind::Host,
                chat: user.0,
                message: m.0,
                version: 0,
            }),
            _ => None,
        }
    }
}

/// Identifies a handled event for idempotency (see [`Event::key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventKey {
    /// What kind of event.
    pub kind: EventKind,
    /// The chat the message was in.
    pub chat: i64,
    /// The message id.
    pub message: i64,
    /// Distinguishes successive edits of one message (the edit date); the send date otherwise.
    pub version: i64,
}

/// The kinds of events that are remembered as handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EventKind {
    /// A user's message.
    User,
    /// A user's edit.
    UserEdit,
    /// An operator's message.
    Operator,
    /// An operator's edit.
    OperatorEdit,
    /// A host-bot message (interception).
    Host,
}

impl EventKind {
    /// A short stable name, for stores that keep the key as text.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::User => "user",
            EventKind::UserEdit => "user_edit",
            EventKind::Operator => "operator",
            EventKind::OperatorEdit => "operator_edit",
            EventKind::Host => "host",
        }
    }
}

impl std::fmt::Display for EventKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.kind.as_str(),
            self.chat,
            self.message,
            self.version
        )
    }
}
