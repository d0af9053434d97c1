//! Events out: what happened at the desk, for the host's code, webhooks and dashboards.
//!
//! The desk produces a [`DeskEvent`] where it already knows what happened (a copy went out, a
//! topic was created, a user blocked the bot): nothing is parsed again. Subscribe with
//! [`crate::Desk::events`]; `WEBHOOKS` posts the same events to HTTP endpoints from a durable
//! outbox (see [`crate::store::OutboxEntry`]).

use crate::ids::{MessageId, Timestamp, TopicId, UserId};
use crate::message::MessageKind;
use serde::{Deserialize, Serialize};

/// What kind of thing happened. The names are Hotline's (`WEBHOOKS` lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeskEventKind {
    /// A user's first topic was created.
    DialogCreated,
    /// A closed topic was opened again (by the user's message, a hand-over or an operator).
    DialogReopened,
    /// A topic was closed (`/close`, auto-close, or closed by hand in Telegram).
    DialogClosed,
    /// A user's message was copied into their topic.
    MessageReceived,
    /// An operator's message was copied to the user.
    MessageSent,
    /// A message of the host bot to the user was mirrored into the topic.
    MessageIntercepted,
    /// An edit was mirrored onto a copy (either side).
    MessageEdited,
    /// The user blocked the bot.
    UserBlocked,
    /// An update was set aside as a dead letter after its attempts failed.
    DeadLettered,
    /// An operator wrote a `/command` that `WEBHOOKS` lists (Hotline's command webhooks).
    Command,
}

impl DeskEventKind {
    /// Every kind, in a stable order.
    pub const ALL: [DeskEventKind; 10] = [
        DeskEventKind::DialogCreated,
        DeskEventKind::DialogReopened,
        DeskEventKind::DialogClosed,
        DeskEventKind::MessageReceived,
        DeskEventKind::MessageSent,
        DeskEventKind::MessageIntercepted,
        DeskEventKind::MessageEdited,
        DeskEventKind::UserBlocked,
        DeskEventKind::DeadLettered,
        DeskEventKind::Command,
    ];

    /// The kind's name (`dialog_created`, `message_received`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DeskEventKind::DialogCreated => "dialog_created",
            DeskEventKind::DialogReopened => "dialog_reopened",
            DeskEventKind::DialogClosed => "dialog_closed",
            DeskEventKind::MessageReceived => "message_received",
            DeskEventKind::MessageSent => "message_sent",
            DeskEventKind::MessageIntercepted => "message_intercepted",
            DeskEventKind::MessageEdited => "message_edited",
            DeskEventKind::UserBlocked => "user_blocked",
            DeskEventKind::DeadLettered => "dead_lettered",
            DeskEventKind::Command => "command",
        }
    }

    /// The kind named `name` (as [`DeskEventKind::as_str`] writes it), ignoring case.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for DeskEventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing that happened at the desk.
///
/// Its JSON form is the body a webhook receives (without `api_key`): `event`, `id`, `user_id`,
/// `topic_id`, `time`, and where there is one `message_id`, `message_kind`, `text`, `command`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeskEvent {
    /// Unique per event, and the same when an event is produced again (an update handled again
    /// after a crash): a receiver drops repeats by it.
    pub id: String,
    /// What happened.
    #[serde(rename = "event")]
    pub kind: DeskEventKind,
    /// The user of the conversation.
    #[serde(rename = "user_id")]
    pub user: UserId,
    /// The user's topic, when there is one.
    #[serde(rename = "topic_id", skip_serializing_if = "Option::is_none", default)]
    pub topic: Option<TopicId>,
    /// When, in seconds since the Unix epoch.
    pub time: Timestamp,
    /// The message concerned (on the side it was written: the user's chat for theirs and the
    /// host bot's, the backend group for an operator's).
    #[serde(
        rename = "message_id",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub message: Option<MessageId>,
    /// What the message carries.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message_kind: Option<MessageKind>,
    /// The message's text or caption, when it has one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub text: Option<String>,
    /// For [`DeskEventKind::Command`]: the command as written, without its slash (`crm`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub command: Option<String>,
}

impl DeskEvent {
    /// An event of `kind` about `user`, with an id made of `discriminator` (what makes this
    /// event unique for this user and kind: a message id and version, a topic and a time).
    pub fn new(
        kind: DeskEventKind,
        user: UserId,
        topic: Option<TopicId>,
        time: Timestamp,
        discriminator: impl std::fmt::Display,
    ) -> Self {
        Self {
            id: format!("{}:{}:{}", kind.as_str(), user, discriminator),
            kind,
            user,
            topic,
            time,
            message: None,
            message_kind: None,
            text: None,
            command: None,
        }
    }

    /// The same event about `message`, of `kind`, with its text or caption.
    pub fn with_message(
        mut self,
        message: MessageId,
        kind: Option<MessageKind>,
        text: Option<String>,
    ) -> Self {
        self.message = Some(message);
        self.message_kind = kind;
        self.text = text;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in DeskEventKind::ALL {
            assert_eq!(DeskEventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(DeskEventKind::parse("nope"), None);
    }
}
