//! The polling runner's message type: only the fields the desk reads.
//!
//! frankenstein's `Message` has well over a hundred fields, most of them boxed structs; decoding
//! one (every field set to `None`, the chat and sender boxed in full, the struct moved into its
//! box) was the largest single piece of the runner's work per relayed message. A message decoded
//! here skips what the desk never reads and borrows nothing from the update's text, so the
//! runner can keep it. Both types go through the same [`super::MessageFields`] logic, and a test
//! below holds them to the same answers.

use super::{MessageFields, Sender};
use crate::transport::entities_of;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A message as the desk reads it (see [`MessageFields`] for the meaning of each field).
///
/// Written back as JSON (an update set aside keeps it so), it reads back to the same message:
/// fields whose presence is all that matters are written as `true`.
#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct LeanMessage {
    message_id: i32,
    date: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    edit_date: Option<u64>,
    chat: LeanChat,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<LeanUser>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sender_chat: Option<LeanChat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_thread_id: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_topic_message: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to_message: Option<LeanReply>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caption: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_group_id: Option<String>,
    // Kept as Telegram wrote them: the desk reads them only to move them whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    entities: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caption_entities: Option<Value>,
    // Only whether these are present matters (and the file's id, see `Attached`).
    #[serde(serialize_with = "present", skip_serializing_if = "Option::is_none")]
    forum_topic_closed: Option<IgnoredAny>,
    #[serde(serialize_with = "present", skip_serializing_if = "Option::is_none")]
    forum_topic_reopened: Option<IgnoredAny>,
    #[serde(skip_serializing_if = "Option::is_none")]
    photo: Option<Attached>,
    #[serde(skip_serializing_if = "Option::is_none")]
    document: Option<Attached>,
    #[serde(skip_serializing_if = "Option::is_none")]
    video: Option<Attached>,
    #[serde(skip_serializing_if = "Option::is_none")]
    voice: Option<Attached>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audio: Option<Attached>,
    #[serde(skip_serializing_if = "Option::is_none")]
    video_note: Option<Attached>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sticker: Option<Attached>,
    #[serde(skip_serializing_if = "Option::is_none")]
    animation: Option<Attached>,
    #[serde(serialize_with = "present", skip_serializing_if = "Option::is_none")]
    location: Option<IgnoredAny>,
    #[serde(serialize_with = "present", skip_serializing_if = "Option::is_none")]
    contact: Option<IgnoredAny>,
    #[serde(serialize_with = "present", skip_serializing_if = "Option::is_none")]
    poll: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize, Serialize)]
struct LeanChat {
    id: i64,
    #[serde(rename = "type")]
    kind: ChatKind,
}

#[derive(Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum ChatKind {
    Private,
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize, Serialize)]
struct LeanUser {
    id: u64,
    is_bot: bool,
    first_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language_code: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
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

/// A field of which only the presence is read, written as `true`.
fn present<S: Serializer>(_: &Option<IgnoredAny>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bool(true)
}

/// A file a message carries (`photo`, `document`, ...), of which only its `file_id` is read
/// (for a photo, an array of sizes: the largest, the last). Written back as `{"file_id": ...}`,
/// or `true` when it had none; both read back to the same.
#[derive(Debug, Default)]
struct Attached(Option<String>);

impl<'de> Deserialize<'de> for Attached {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Reads;
        impl<'de> Visitor<'de> for Reads {
            type Value = Attached;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a file object, an array of photo sizes, or `true`")
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Attached, E> {
                Ok(Attached(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attached, A::Error> {
                let mut file_id = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "file_id" {
                        file_id = map.next_value::<Option<String>>()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Attached(file_id))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Attached, A::Error> {
                let mut last = Attached(None);
                while let Some(size) = seq.next_element::<Attached>()? {
                    last = size;
                }
                Ok(last)
            }
        }
        deserializer.deserialize_any(Reads)
    }
}

impl Serialize for Attached {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match &self.0 {
            Some(file_id) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("file_id", file_id)?;
                map.end()
            }
            None => serializer.serialize_bool(true),
        }
    }
}

fn file_of(attached: Option<&Attached>) -> Option<&str> {
    attached.and_then(|a| a.0.as_deref())
}

super::impl_message_fields!(
    LeanMessage,
    private: |message| message.chat.kind == ChatKind::Private,
    sender: |message| message.from.as_ref().map(Sender::from),
    entities: |message| entities_of(message.entities.as_ref().or(message.caption_entities.as_ref())),
    file_id: |message| {
        // An animation also carries a `document`: it is read first, as in `kind`.
        file_of(message.animation.as_ref())
            .or_else(|| file_of(message.photo.as_ref()))
            .or_else(|| file_of(message.video.as_ref()))
            .or_else(|| file_of(message.document.as_ref()))
            .or_else(|| file_of(message.voice.as_ref()))
            .or_else(|| file_of(message.audio.as_ref()))
            .or_else(|| file_of(message.video_note.as_ref()))
            .or_else(|| file_of(message.sticker.as_ref()))
    },
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
    fn a_lean_message_written_as_json_reads_back_to_the_same_message() {
        for message in messages() {
            let lean: LeanMessage = serde_json::from_value(message.clone()).expect("lean reads it");
            let written = serde_json::to_string(&lean).expect("written");
            let again: LeanMessage = serde_json::from_str(&written).expect("read back");
            for edited in [false, true] {
                assert_eq!(
                    decode_message(&again, GROUP, edited),
                    decode_message(&lean, GROUP, edited),
                    "{message} written as {written}"
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
