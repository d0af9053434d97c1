//! Telegram updates → the desk's events. Pure: no I/O, unit-tested on JSON updates.

use crate::transport::entities_of;
use frankenstein::types::{ChatMember, ChatType, Message, ReactionType, User};
use frankenstein::updates::{Update, UpdateContent};
use hotline_core::{
    ChatId, Event, IncomingMessage, MessageId, MessageKind, TextEntity, TopicId, UserId,
    UserProfile,
};

/// Callback data of Hotline's own "talk to a human" button (see [`crate::human_button`]).
pub const HUMAN_CALLBACK: &str = "hotline:human";

/// What an update means to the desk.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decoded {
    /// The event for the desk, if any.
    pub event: Option<Event>,
    /// Whether the update is the desk's alone (operators' traffic, Hotline's own buttons): the
    /// host bot should not handle it too.
    pub consumed: bool,
    /// A callback query of Hotline's to answer.
    pub answer_callback: Option<String>,
}

impl Decoded {
    fn pass(event: Option<Event>) -> Self {
        Self {
            event,
            consumed: false,
            answer_callback: None,
        }
    }

    fn consume(event: Option<Event>) -> Self {
        Self {
            event,
            consumed: true,
            answer_callback: None,
        }
    }
}

/// The sender of a message, borrowed from whichever type the message was decoded into.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sender<'a> {
    pub id: u64,
    pub is_bot: bool,
    pub first_name: &'a str,
    pub last_name: Option<&'a str>,
    pub username: Option<&'a str>,
    pub language_code: Option<&'a str>,
}

impl<'a> From<&'a User> for Sender<'a> {
    fn from(user: &'a User) -> Self {
        Self {
            id: user.id,
            is_bot: user.is_bot,
            first_name: &user.first_name,
            last_name: user.last_name.as_deref(),
            username: user.username.as_deref(),
            language_code: user.language_code.as_deref(),
        }
    }
}

/// What the desk reads of a message. Implemented by frankenstein's [`Message`] (the updates a
/// host bot hands over) and by [`LeanMessage`] (the polling runner's, which decodes only these
/// fields): one decoding logic for both, so they cannot drift apart.
pub(crate) trait MessageFields {
    /// `message_id`.
    fn id(&self) -> i32;
    /// `date`.
    fn date(&self) -> u64;
    /// `edit_date`.
    fn edit_date(&self) -> Option<u64>;
    /// `chat.id`.
    fn chat_id(&self) -> i64;
    /// Whether `chat.type` is `private`.
    fn in_private_chat(&self) -> bool;
    /// `from`.
    fn sender(&self) -> Option<Sender<'_>>;
    /// `sender_chat.id`.
    fn sender_chat_id(&self) -> Option<i64>;
    /// `message_thread_id`.
    fn thread_id(&self) -> Option<i32>;
    /// `is_topic_message`.
    fn is_topic_message(&self) -> bool;
    /// `reply_to_message.message_id`.
    fn reply_to_id(&self) -> Option<i32>;
    /// `text`.
    fn text(&self) -> Option<&str>;
    /// `caption`.
    fn caption(&self) -> Option<&str>;
    /// `media_group_id`.
    fn media_group_id(&self) -> Option<&str>;
    /// Whether this is the service message of a topic closed.
    fn closes_topic(&self) -> bool;
    /// Whether this is the service message of a topic reopened.
    fn reopens_topic(&self) -> bool;
    /// Whether it carries content other than text that operators relay: a photo, document,
    /// video, voice, audio, video note, sticker, animation, location, contact or poll.
    fn has_media(&self) -> bool;
    /// What the message carries, for events out.
    fn kind(&self) -> MessageKind;
    /// The formatting of its text or caption.
    fn entities(&self) -> Vec<TextEntity>;
    /// The file it carries (a photo's largest size), for the archive.
    fn file_id(&self) -> Option<&str>;
}

/// Implements [`MessageFields`] for a message type whose fields carry Telegram's names, as both
/// frankenstein's `Message` and `LeanMessage` do; only how the chat's type and the sender are
/// read differs, and is given (as `|message| expression`).
macro_rules! impl_message_fields {
    (
        $type:ty,
        private: |$p:ident| $private:expr,
        sender: |$s:ident| $sender:expr,
        entities: |$e:ident| $entities:expr,
        file_id: |$f:ident| $file_id:expr $(,)?
    ) => {
        impl MessageFields for $type {
            fn id(&self) -> i32 {
                self.message_id
            }
            fn date(&self) -> u64 {
                self.date
            }
            fn edit_date(&self) -> Option<u64> {
                self.edit_date
            }
            fn chat_id(&self) -> i64 {
                self.chat.id
            }
            fn in_private_chat(&self) -> bool {
                let $p = self;
                $private
            }
            fn sender(&self) -> Option<Sender<'_>> {
                let $s = self;
                $sender
            }
            fn sender_chat_id(&self) -> Option<i64> {
                self.sender_chat.as_ref().map(|c| c.id)
            }
            fn thread_id(&self) -> Option<i32> {
                self.message_thread_id
            }
            fn is_topic_message(&self) -> bool {
                self.is_topic_message == Some(true)
            }
            fn reply_to_id(&self) -> Option<i32> {
                self.reply_to_message.as_ref().map(|r| r.message_id)
            }
            fn text(&self) -> Option<&str> {
                self.text.as_deref()
            }
            fn caption(&self) -> Option<&str> {
                self.caption.as_deref()
            }
            fn media_group_id(&self) -> Option<&str> {
                self.media_group_id.as_deref()
            }
            fn closes_topic(&self) -> bool {
                self.forum_topic_closed.is_some()
            }
            fn reopens_topic(&self) -> bool {
                self.forum_topic_reopened.is_some()
            }
            fn has_media(&self) -> bool {
                self.photo.is_some()
                    || self.document.is_some()
                    || self.video.is_some()
                    || self.voice.is_some()
                    || self.audio.is_some()
                    || self.video_note.is_some()
                    || self.sticker.is_some()
                    || self.animation.is_some()
                    || self.location.is_some()
                    || self.contact.is_some()
                    || self.poll.is_some()
            }
            fn kind(&self) -> ::hotline_core::MessageKind {
                // An animation also carries a `document`: it is named first.
                if self.animation.is_some() {
                    ::hotline_core::MessageKind::Animation
                } else if self.photo.is_some() {
                    ::hotline_core::MessageKind::Photo
                } else if self.video.is_some() {
                    ::hotline_core::MessageKind::Video
                } else if self.document.is_some() {
                    ::hotline_core::MessageKind::Document
                } else if self.voice.is_some() {
                    ::hotline_core::MessageKind::Voice
                } else if self.audio.is_some() {
                    ::hotline_core::MessageKind::Audio
                } else if self.video_note.is_some() {
                    ::hotline_core::MessageKind::VideoNote
                } else if self.sticker.is_some() {
                    ::hotline_core::MessageKind::Sticker
                } else if self.location.is_some() {
                    ::hotline_core::MessageKind::Location
                } else if self.contact.is_some() {
                    ::hotline_core::MessageKind::Contact
                } else if self.poll.is_some() {
                    ::hotline_core::MessageKind::Poll
                } else if self.text.is_some() {
                    ::hotline_core::MessageKind::Text
                } else {
                    ::hotline_core::MessageKind::Other
                }
            }
            fn entities(&self) -> Vec<::hotline_core::TextEntity> {
                let $e = self;
                $entities
            }
            fn file_id(&self) -> Option<&str> {
                let $f = self;
                $file_id
            }
        }
    };
}
use impl_message_fields;

impl_message_fields!(
    Message,
    private: |message| message.chat.type_field == ChatType::Private,
    sender: |message| message.from.as_deref().map(Sender::from),
    entities: |message| {
        let spans = message.entities.as_ref().or(message.caption_entities.as_ref());
        spans
            .and_then(|spans| serde_json::to_value(spans).ok())
            .map(|spans| entities_of(Some(&spans)))
            .unwrap_or_default()
    },
    file_id: |message| {
        // An animation also carries a `document`: it is read first, as in `kind`.
        let file = message
            .animation
            .as_ref()
            .map(|f| &f.file_id)
            .or_else(|| message.photo.as_ref().and_then(|sizes| sizes.last()).map(|p| &p.file_id))
            .or_else(|| message.video.as_ref().map(|f| &f.file_id))
            .or_else(|| message.document.as_ref().map(|f| &f.file_id))
            .or_else(|| message.voice.as_ref().map(|f| &f.file_id))
            .or_else(|| message.audio.as_ref().map(|f| &f.file_id))
            .or_else(|| message.video_note.as_ref().map(|f| &f.file_id))
            .or_else(|| message.sticker.as_ref().map(|f| &f.file_id));
        file.map(String::as_str)
    },
);

mod lean;
mod update_json;

pub(crate) use lean::LeanMessage;
pub(crate) use update_json::{Guarded, RawUpdate};

pub(crate) fn profile(sender: Sender<'_>) -> UserProfile {
    UserProfile {
        id: UserId(i64::try_from(sender.id).unwrap_or(i64::MAX)),
        first_name: sender.first_name.to_owned(),
        last_name: sender.last_name.map(str::to_owned),
        username: sender.username.map(str::to_owned),
        language_code: sender.language_code.map(str::to_owned),
    }
}

/// What the desk needs of a message. In a forum topic, a message that replies to nothing else
/// carries the topic's creation message as `reply_to_message`: that is not a reply.
pub(crate) fn incoming(message: &impl MessageFields) -> IncomingMessage {
    let reply_to = message
        .reply_to_id()
        .filter(|id| Some(*id) != message.thread_id() || !message.is_topic_message())
        .map(MessageId::from);
    IncomingMessage {
        id: MessageId::from(message.id()),
        text: message.text().or(message.caption()).map(str::to_owned),
        has_media: message.text().is_none(),
        reply_to,
        media_group: message.media_group_id().map(str::to_owned),
        date: i64::try_from(message.edit_date().unwrap_or(message.date())).unwrap_or_default(),
        entities: message.entities(),
        kind: message.kind(),
        file_id: message.file_id().map(str::to_owned),
    }
}

fn topic_of(message: &impl MessageFields) -> Option<TopicId> {
    if message.is_topic_message() {
        message.thread_id().map(|t| TopicId(i64::from(t)))
    } else {
        None
    }
}

fn emoji(reactions: &[ReactionType]) -> Vec<String> {
    reactions
        .iter()
        .filter_map(|r| match r {
            ReactionType::Emoji(e) => Some(e.emoji.clone()),
            _ => None,
        })
        .collect()
}

/// Decodes one update for a desk whose backend group is `group`.
pub(crate) fn decode(update: &Update, group: ChatId) -> Decoded {
    match &update.content {
        UpdateContent::Message(message) => decode_message(message.as_ref(), group, false),
        UpdateContent::EditedMessage(message) => decode_message(message.as_ref(), group, true),
        UpdateContent::MessageReaction(reaction) => {
            let emoji = emoji(&reaction.new_reaction);
            let message = MessageId::from(reaction.message_id);
            if reaction.chat.type_field == ChatType::Private {
                Decoded::pass(Some(Event::UserReaction {
                    user: UserId(reaction.chat.id),
                    message,
                    emoji,
                }))
            } else if reaction.chat.id == group.0 {
                Decoded::consume(Some(Event::OperatorReaction {
                    chat: group,
                    topic: None,
                    message,
                    emoji,
                }))
            } else {
                Decoded::pass(None)
            }
        }
        UpdateContent::MyChatMember(member) if member.chat.type_field == ChatType::Private => {
            let user = UserId(member.chat.id);
            match (&member.old_chat_member, &member.new_chat_member) {
                (_, ChatMember::Kicked(_)) => Decoded::pass(Some(Event::UserBlocked { user })),
                (ChatMember::Kicked(_), ChatMember::Member(_)) => {
                    Decoded::pass(Some(Event::UserUnblocked { user }))
                }
                _ => Decoded::pass(None),
            }
        }
        UpdateContent::CallbackQuery(query)
            if query
                .data
                .as_deref()
                .is_some_and(|d| d.starts_with(hotline_core::PANEL_BUTTONS)) =>
        {
            // The desk's own buttons (a mailing's panel), pressed in the backend group.
            let panel = match &query.message {
                Some(frankenstein::types::MaybeInaccessibleMessage::Message(m)) => {
                    Some((m.chat.id, m.message_id))
                }
                Some(frankenstein::types::MaybeInaccessibleMessage::InaccessibleMessage(m)) => {
                    Some((m.chat.id, m.message_id))
                }
                None => None,
            };
            match panel {
                Some((chat, message)) if chat == group.0 => {
                    Decoded::consume(Some(Event::OperatorButton {
                        chat: group,
                        operator: UserId(i64::try_from(query.from.id).unwrap_or(i64::MAX)),
                        message: MessageId(i64::from(message)),
                        data: query.data.clone().unwrap_or_default(),
                        query: query.id.clone(),
                    }))
                }
                _ => Decoded::pass(None),
            }
        }
        UpdateContent::CallbackQuery(query) if query.data.as_deref() == Some(HUMAN_CALLBACK) => {
            Decoded {
                event: Some(Event::HandOver {
                    user: profile(Sender::from(&query.from)),
                }),
                consumed: true,
                answer_callback: Some(query.id.clone()),
            }
        }
        _ => Decoded::pass(None),
    }
}

/// Decodes one message (new or edited) for a desk whose backend group is `group`.
pub(crate) fn decode_message(message: &impl MessageFields, group: ChatId, edited: bool) -> Decoded {
    let Some(from) = message.sender() else {
        return Decoded::pass(None);
    };
    if message.in_private_chat() {
        if from.is_bot {
            return Decoded::pass(None);
        }
        let message_in = incoming(message);
        let event = if edited {
            Event::UserEdited {
                user: UserId(message.chat_id()),
                message: message_in,
            }
        } else {
            Event::UserMessage {
                user: profile(from),
                message: message_in,
            }
        };
        return Decoded::pass(Some(event));
    }
    if message.chat_id() != group.0 {
        return Decoded::pass(None);
    }
    // Everything in the backend group is the desk's.
    let topic = message.thread_id().map(|t| TopicId(i64::from(t)));
    if let Some(topic) = topic {
        if message.closes_topic() {
            return Decoded::consume(Some(Event::TopicClosed { chat: group, topic }));
        }
        if message.reopens_topic() {
            return Decoded::consume(Some(Event::TopicReopened { chat: group, topic }));
        }
    }
    let is_content = message.text().is_some() || message.caption().is_some() || message.has_media();
    // An anonymous admin writes as the group itself (`from` is Telegram's GroupAnonymousBot):
    // still an operator. Other bots in the group are not.
    let anonymous_admin = message.sender_chat_id() == Some(group.0);
    if (from.is_bot && !anonymous_admin) || !is_content {
        return Decoded::consume(None);
    }
    let event = if edited {
        Event::OperatorEdited {
            chat: group,
            topic: topic_of(message),
            message: incoming(message),
        }
    } else {
        Event::OperatorMessage {
            chat: group,
            topic: topic_of(message),
            operator: UserId(i64::try_from(from.id).unwrap_or_default()),
            message: incoming(message),
        }
    };
    Decoded::consume(Some(event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GROUP: ChatId = ChatId(-1001);

    fn update(content: serde_json::Value) -> Update {
        let mut value = json!({"update_id": 1});
        for (k, v) in content.as_object().unwrap() {
            value[k] = v.clone();
        }
        serde_json::from_value(value).unwrap()
    }

    fn user(id: i64) -> serde_json::Value {
        json!({"id": id, "is_bot": false, "first_name": "Ann", "username": "ann", "language_code": "en"})
    }

    #[test]
    fn private_messages_pass_through_as_user_messages() {
        let u = update(json!({"message": {
            "message_id": 5, "date": 10, "chat": {"id": 7, "type": "private", "first_name": "Ann"},
            "from": user(7), "text": "/start ref"}}));
        let d = decode(&u, GROUP);
        assert!(
            !d.consumed,
            "the host bot still handles its users' messages"
        );
        let Some(Event::UserMessage { user, message }) = d.event else {
            panic!("{d:?}")
        };
        assert_eq!(
            (user.id, user.username.as_deref()),
            (UserId(7), Some("ann"))
        );
        assert_eq!(message.command().map(|c| c.payload), Some("ref"));
    }

    #[test]
    fn topic_messages_are_consumed_as_operator_messages_without_the_topic_root_as_reply() {
        let u = update(json!({"message": {
            "message_id": 50, "date": 10, "message_thread_id": 40, "is_topic_message": true,
            "chat": {"id": -1001, "type": "supergroup", "title": "Support", "is_forum": true},
            "from": user(9),
            "reply_to_message": {"message_id": 40, "date": 9, "message_thread_id": 40,
                "chat": {"id": -1001, "type": "supergroup", "title": "Support"},
                "forum_topic_created": {"name": "x", "icon_color": 1}},
            "text": "hello"}}));
        let d = decode(&u, GROUP);
        assert!(d.consumed);
        let Some(Event::OperatorMessage { topic, message, .. }) = d.event else {
            panic!("{d:?}")
        };
        assert_eq!(topic, Some(TopicId(40)));
        assert_eq!(message.reply_to, None);
    }

    #[test]
    fn anonymous_admins_are_operators_and_other_bots_are_not() {
        let message = |from: serde_json::Value, sender_chat: Option<serde_json::Value>| {
            let mut m = json!({"message": {
                "message_id": 60, "date": 10, "message_thread_id": 40, "is_topic_message": true,
                "chat": {"id": -1001, "type": "supergroup", "title": "Support", "is_forum": true},
                "from": from, "text": "hello"}});
            if let Some(chat) = sender_chat {
                m["message"]["sender_chat"] = chat;
            }
            update(m)
        };
        let group_bot = json!({"id": 1087968824, "is_bot": true, "first_name": "Group", "username": "GroupAnonymousBot"});
        let group_chat = json!({"id": -1001, "type": "supergroup", "title": "Support"});
        let anonymous = decode(&message(group_bot, Some(group_chat)), GROUP);
        assert!(
            matches!(anonymous.event, Some(Event::OperatorMessage { .. })),
            "{anonymous:?}"
        );
        let other_bot = json!({"id": 55, "is_bot": true, "first_name": "Other"});
        assert_eq!(
            decode(&message(other_bot, None), GROUP),
            Decoded::consume(None)
        );
    }

    #[test]
    fn service_messages_close_and_reopen() {
        let closed = update(json!({"message": {
            "message_id": 51, "date": 10, "message_thread_id": 40, "is_topic_message": true,
            "chat": {"id": -1001, "type": "supergroup", "title": "Support", "is_forum": true},
            "from": user(9), "forum_topic_closed": {}}}));
        assert_eq!(
            decode(&closed, GROUP).event,
            Some(Event::TopicClosed {
                chat: GROUP,
                topic: TopicId(40)
            })
        );
    }

    #[test]
    fn other_groups_pass_and_blocking_is_seen() {
        let other = update(json!({"message": {
            "message_id": 1, "date": 1, "chat": {"id": -5, "type": "group", "title": "x"},
            "from": user(9), "text": "hi"}}));
        assert_eq!(decode(&other, GROUP), Decoded::pass(None));
        let blocked = update(json!({"my_chat_member": {
            "chat": {"id": 7, "type": "private", "first_name": "Ann"}, "from": user(7), "date": 1,
            "old_chat_member": {"status": "member", "user": user(1)},
            "new_chat_member": {"status": "kicked", "user": user(1), "until_date": 0}}}));
        assert_eq!(
            decode(&blocked, GROUP).event,
            Some(Event::UserBlocked { user: UserId(7) })
        );
    }

    #[test]
    fn the_human_button_hands_over_and_is_answered() {
        let u = update(json!({"callback_query": {
            "id": "cb1", "from": user(7), "chat_instance": "x", "data": "hotline:human"}}));
        let d = decode(&u, GROUP);
        assert!(d.consumed);
        assert_eq!(d.answer_callback.as_deref(), Some("cb1"));
        assert!(matches!(d.event, Some(Event::HandOver { .. })));
        let other = update(json!({"callback_query": {
            "id": "cb2", "from": user(7), "chat_instance": "x", "data": "faq:1"}}));
        assert_eq!(decode(&other, GROUP), Decoded::pass(None));
    }
}
