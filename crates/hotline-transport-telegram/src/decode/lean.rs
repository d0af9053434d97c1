//! The polling runner's message type: only the fields the desk reads.
//!
//! frankenstein's `Message` has well over a hundred fields, most of them boxed structs; decoding
//! one (every field set to `None`, the chat and sender boxed in full, the struct moved into its
//! box) was the largest single piece of the runner's work per relayed message. A message decoded
//! here skips what the desk never reads and borrows nothing from the update's text, so the
//! runner can keep it. Both types go through the same [`super::MessageFields`] logic, and a test
//! below holds them to the same answers.

use super::{MessageFields, Sender};
use serde::Deserialize;
use serde::de::IgnoredAny;

/// A message as the desk reads it (see [`MessageFields`] for the meaning of each field).
#[derive(Debug, Deserialize)]
pub(crate) struct LeanMessage {
    message_id: i32,
    date: u64,
    edit_date: Option<u64>,
    chat: LeanChat,
    from: Option<LeanUser>,
    sender_chat: Option<LeanChat>,
    message_thread_id: Option<i32>,
    is_topic_message: Option<bool>,
    reply_to_message: Option<LeanReply>,
    text: Option<String>,
    caption: Option<String>,
    media_group_id: Option<String>,
    // Only whether these are present matters.
    forum_topic_closed: Option<IgnoredAny>,
    forum_topic_reopened: Option<IgnoredAny>,
    photo: Option<IgnoredAny>,
    document: Option<IgnoredAny>,
    video: Option<IgnoredAny>,
    voice: Option<IgnoredAny>,
    audio: Option<IgnoredAny>,
    video_note: Option<IgnoredAny>,
    sticker: Option<IgnoredAny>,
    animation: Option<IgnoredAny>,
    location: Option<IgnoredAny>,
    contact: Option<IgnoredAny>,
    poll: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
struct LeanChat {
    id: i64,
    #[serde(rename = "type")]
    kind: ChatKind,
}

#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ChatKind {
    Private,
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct LeanUser {
    id: u64,
    is_bot: bool,
    first_name: String,
    last_name: Option<String>,
    username: Option<String>,
    language_code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LeanReply {
    message_id: i32,
}

impl<'a> From<&'a LeanUser> for Sender<'a> {
    fn from(user: &'a LeanUser) -> Self {
        Sender {
            id: user.id,
            is_bot: user.is_bot,
            first_name: &user.first_name,
            last_name: user.last_name.as_deref(),
            username: user.username.as_deref(),
            language_code: user.language_code.as_deref(),
        }
    }
}

super::impl_message_fields!(
    LeanMessage,
    private: |message| message.chat.kind == ChatKind::Private,
    sender: |message| message.from.as_ref().map(Sender::from),
);

#[cfg(test)]
mod tests {
    use super::super::decode_message;
    use super::*;
    use frankenstein::types::Message;
    use hotline_core::ChatId;
    use serde_json::{Value, json};

    const GROUP: ChatId = ChatId(-1001);

    fn user(id: i64, is_bot: bool) -> Value {
        json!({"id": id, "is_bot": is_bot, "first_name": "Ann", "last_name": "Lee",
               "username": "ann", "language_code": "en", "is_premium": true})
    }

    fn private(id: i64) -> Value {
        json!({"id": id, "type": "private", "first_name": "Ann"})
    }

    fn group() -> Value {
        json!({"id": -1001, "type": "supergroup", "title": "Support", "is_forum": true})
    }

    /// Messages of every shape the desk tells apart, as Telegram sends them.
    fn messages() -> Vec<Value> {
        let photo = json!([{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]);
        let in_topic = |extra: Value| {
            let mut m = json!({"message_id": 50, "date": 10, "message_thread_id": 40,
                "is_topic_message": true, "chat": group(), "from": user(9, false)});
            for (k, v) in extra.as_object().expect("an object") {
                m[k] = v.clone();
            }
            m
        };
        vec![
            json!({"message_id": 5, "date": 10, "chat": private(7), "from": user(7, false),
                   "text": "hello \"you\" \u{1F600}", "entities": [{"type": "bold", "offset": 0, "length": 5}]}),
            json!({"message_id": 6, "date": 11, "chat": private(7), "from": user(7, false),
                   "photo": photo, "caption": "look", "media_group_id": "g1"}),
            json!({"message_id": 8, "date": 12, "chat": private(7), "from": user(7, false),
                   "sticker": {"file_id": "s", "file_unique_id": "u", "type": "regular", "width": 1,
                   "height": 1, "is_animated": false, "is_video": false}}),
            json!({"message_id": 9, "date": 13, "edit_date": 20, "chat": private(7),
                   "from": user(7, false), "text": "edited",
                   "reply_to_message": {"message_id": 5, "date": 10, "chat": private(7), "text": "hello"}}),
            json!({"message_id": 10, "date": 13, "chat": private(7), "from": user(7, true), "text": "a bot"}),
            json!({"message_id": 11, "date": 13, "chat": private(7), "text": "no sender"}),
            in_topic(json!({"text": "an operator",
                "reply_to_message": {"message_id": 40, "date": 9, "message_thread_id": 40,
                "chat": group(), "forum_topic_created": {"name": "x", "icon_color": 1}}})),
            in_topic(
                json!({"text": "a reply", "reply_to_message": {"message_id": 45, "date": 9,
                "message_thread_id": 40, "is_topic_message": true, "chat": group(), "text": "earlier"}}),
            ),
            in_topic(json!({"forum_topic_closed": {}})),
            in_topic(json!({"forum_topic_reopened": {}})),
            in_topic(
                json!({"poll": {"id": "p", "question": "q", "options": [], "total_voter_count": 0,
                "is_closed": false, "is_anonymous": true, "type": "regular",
                "allows_multiple_answers": false}}),
            ),
            in_topic(json!({"pinned_message": {"message_id": 41, "date": 9, "chat": group()}})),
            in_topic(
                json!({"from": user(1087968824, true), "sender_chat": group(), "text": "anonymous admin"}),
            ),
            in_topic(json!({"from": user(55, true), "text": "another bot"})),
            json!({"message_id": 1, "date": 1, "chat": {"id": -5, "type": "group", "title": "x"},
                   "from": user(9, false), "text": "another group"}),
            json!({"message_id": 2, "date": 1, "chat": group(), "from": user(9, false), "text": "General"}),
        ]
    }

    #[test]
    fn lean_messages_decode_to_what_frankensteins_decode_to() {
        for message in messages() {
            let lean: LeanMessage = serde_json::from_value(message.clone()).expect("lean reads it");
            let full: Message =
                serde_json::from_value(message.clone()).expect("frankenstein reads it");
            for edited in [false, true] {
                assert_eq!(
                    decode_message(&lean, GROUP, edited),
                    decode_message(&full, GROUP, edited),
                    "{message}"
                );
            }
        }
    }

    #[test]
    fn a_chat_type_newer_than_the_desk_is_not_private() {
        let message = json!({"message_id": 1, "date": 1, "from": user(9, false), "text": "hi",
            "chat": {"id": 3, "type": "some_future_kind"}});
        let lean: LeanMessage = serde_json::from_value(message).expect("lean reads it");
        assert!(!lean.in_private_chat());
    }
}
