//! Reading an update in one pass: its id and its content.
//!
//! Each update (from the update log, or a webhook POST) is read once: its id, and its content,
//! a message (nearly all of a desk's
//! traffic) decoded straight into a [`LeanMessage`] (only the fields the desk reads), any other
//! kind kept as raw JSON text, decoded into frankenstein's types when needed (frankenstein's
//! `Update` flattens its content, which makes serde buffer it in an intermediate tree and decode it
//! twice, so the content is decoded on its own).
//!
//! Nothing in an update may stop the runner: an element that is not an update object is read
//! as [`RawUpdate::Unreadable`] and skipped. A message that the lean type cannot read fails the
//! one-pass reading; the runner then reads it again as [`Guarded`], which keeps every content
//! raw, so that it fails to decode with a reason, and is skipped.

use crate::decode::{self, Decoded, LeanMessage};
use frankenstein::types::{CallbackQuery, ChatMemberUpdated, MessageReactionUpdated};
use frankenstein::updates::{Update, UpdateContent};
use hotline_core::ChatId;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// One element of a `getUpdates` answer.
#[derive(Debug)]
pub(crate) enum RawUpdate {
    /// An object with an `update_id`.
    Read {
        /// `update_id`.
        id: i64,
        /// Its content: Telegram sends exactly one content field; of several, the first is
        /// taken (as frankenstein's flattened reading does). `None` when there is none.
        content: Option<Content>,
    },
    /// Not an object, or no readable `update_id`.
    Unreadable,
}

/// An update's content field.
#[derive(Debug)]
pub(crate) enum Content {
    /// `message` or `edited_message`, decoded as the answer was read.
    Message {
        /// The message (boxed: it is most of the update's size, and updates are moved about).
        message: Box<LeanMessage>,
        /// Whether it came as `edited_message`.
        edited: bool,
    },
    /// Any other kind (or a message read by [`Guarded`]), as raw JSON text.
    Raw {
        /// The field's name: `callback_query`, `my_chat_member`, ...
        kind: String,
        /// Its value.
        raw: Box<RawValue>,
    },
}

impl RawUpdate {
    /// What the update means to a desk whose backend group is `group`. An error means a kind or
    /// a field newer than frankenstein's types (or the lean message's): the update is skipped.
    pub(crate) fn decode_for(&self, group: ChatId) -> Result<Decoded, serde_json::Error> {
        let RawUpdate::Read { id, content } = self else {
            return Err(de::Error::custom("an update without update_id"));
        };
        match content {
            None => Err(de::Error::custom("an update without content")),
            Some(Content::Message { message, edited }) => {
                Ok(decode::decode_message(message.as_ref(), group, *edited))
            }
            Some(Content::Raw { kind, raw }) => match message_kind(kind) {
                Some(edited) => {
                    let message: LeanMessage = serde_json::from_str(raw.get())?;
                    Ok(decode::decode_message(&message, group, edited))
                }
                None => {
                    let update_id = u32::try_from(*id).map_err(de::Error::custom)?;
                    let content = other_content(kind, raw)?;
                    Ok(decode::decode(&Update { update_id, content }, group))
                }
            },
        }
    }
}

impl RawUpdate {
    /// The update as JSON text, enough to read it back with [`RawUpdate`]'s reading and decode
    /// it the same way (a message holds the fields the desk reads).
    pub(crate) fn to_json(&self) -> String {
        let RawUpdate::Read { id, content } = self else {
            return "{}".to_owned();
        };
        let mut update = serde_json::Map::new();
        update.insert("update_id".into(), (*id).into());
        let content = match content {
            Some(Content::Message { message, edited }) => Some((
                if *edited { "edited_message" } else { "message" }.to_owned(),
                serde_json::to_value(message.as_ref()),
            )),
            Some(Content::Raw { kind, raw }) => {
                Some((kind.clone(), serde_json::from_str(raw.get())))
            }
            None => None,
        };
        if let Some((kind, Ok(value))) = content {
            update.insert(kind, value);
        }
        serde_json::Value::Object(update).to_string()
    }

    /// [`RawUpdate::decode_for`], with a panic in decoding (a bug, on input from the network)
    /// caught and turned into the update's decoding error.
    pub(crate) fn decode_caught(&self, group: ChatId) -> Result<Decoded, serde_json::Error> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.decode_for(group)))
            .unwrap_or_else(|_| Err(de::Error::custom("decoding the update panicked")))
    }

    /// The `update_id`, if it had one.
    pub(crate) fn id(&self) -> Option<i64> {
        match self {
            RawUpdate::Read { id, .. } => Some(*id),
            RawUpdate::Unreadable => None,
        }
    }
}

/// `Some(edited?)` for the two message kinds.
fn message_kind(kind: &str) -> Option<bool> {
    match kind {
        "message" => Some(false),
        "edited_message" => Some(true),
        _ => None,
    }
}

/// The content of an update of `kind`, not a message. The other kinds the desk acts on are
/// decoded straight into their type; any other goes through frankenstein's enum (as
/// `{"kind": ...}`), which knows them all.
fn other_content(kind: &str, raw: &RawValue) -> Result<UpdateContent, serde_json::Error> {
    let text = raw.get();
    Ok(match kind {
        "callback_query" => {
            UpdateContent::CallbackQuery(Box::new(serde_json::from_str::<CallbackQuery>(text)?))
        }
        "message_reaction" => {
            UpdateContent::MessageReaction(serde_json::from_str::<MessageReactionUpdated>(text)?)
        }
        "my_chat_member" => {
            UpdateContent::MyChatMember(serde_json::from_str::<ChatMemberUpdated>(text)?)
        }
        other => serde_json::from_str(&format!("{{{}:{text}}}", serde_json::to_string(other)?))?,
    })
}

impl<'de> Deserialize<'de> for RawUpdate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawUpdateVisitor { lean: true })
    }
}

/// An update read with every content kept raw: reading it fails only if the answer is not
/// JSON. For an answer whose one-pass reading failed on a message.
#[derive(Debug)]
pub(crate) struct Guarded(pub(crate) RawUpdate);

impl<'de> Deserialize<'de> for Guarded {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(RawUpdateVisitor { lean: false })
            .map(Guarded)
    }
}

struct RawUpdateVisitor {
    /// Messages decoded as [`LeanMessage`]s (else kept raw).
    lean: bool,
}

impl RawUpdateVisitor {
    fn unreadable<E>(self) -> Result<RawUpdate, E> {
        Ok(RawUpdate::Unreadable)
    }
}

/// A field name of an update, read without allocating for the ones the runner expects.
enum Key {
    UpdateId,
    Message { edited: bool },
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "update_id" => Key::UpdateId,
                    other => match message_kind(other) {
                        Some(edited) => Key::Message { edited },
                        None => Key::Other(other.to_owned()),
                    },
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Visitor<'de> for RawUpdateVisitor {
    type Value = RawUpdate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an update object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<RawUpdate, M::Error> {
        let mut id = None;
        let mut content = None;
        while let Some(key) = map.next_key::<Key>()? {
            content = match key {
                Key::UpdateId => {
                    id = map.next_value::<serde_json::Value>()?.as_i64();
                    continue;
                }
                _ if content.is_some() => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                Key::Message { edited } if self.lean => Some(Content::Message {
                    message: map.next_value()?,
                    edited,
                }),
                Key::Message { edited } => Some(Content::Raw {
                    kind: if edited { "edited_message" } else { "message" }.to_owned(),
                    raw: map.next_value()?,
                }),
                Key::Other(kind) => Some(Content::Raw {
                    kind,
                    raw: map.next_value()?,
                }),
            };
        }
        Ok(match id {
            Some(id) => RawUpdate::Read { id, content },
            None => RawUpdate::Unreadable,
        })
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<RawUpdate, S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.unreadable()
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawUpdate, E> {
        self.unreadable()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawUpdate, E> {
        self.unreadable()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawUpdate, E> {
        self.unreadable()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawUpdate, E> {
        self.unreadable()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<RawUpdate, E> {
        self.unreadable()
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawUpdate, E> {
        self.unreadable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: ChatId = ChatId(-1001);

    fn id(update: &RawUpdate) -> Option<i64> {
        match update {
            RawUpdate::Read { id, .. } => Some(*id),
            RawUpdate::Unreadable => None,
        }
    }

    /// The update read both ways: in one pass, and guarded.
    fn both(text: &str) -> [RawUpdate; 2] {
        let lean: RawUpdate = serde_json::from_str(text).expect("any update object reads");
        let guarded: Guarded = serde_json::from_str(text).expect("any JSON value reads");
        [lean, guarded.0]
    }

    /// What the desk makes of the update read whole by frankenstein (as a host's would be).
    fn as_frankenstein_reads_it(text: &str) -> Decoded {
        let whole: Update = serde_json::from_str(text).expect("frankenstein reads it");
        decode::decode(&whole, GROUP)
    }

    #[test]
    fn every_kind_the_desk_acts_on_decodes_as_frankensteins_reading_does() {
        let message = r#"{"message_id":7,"date":1,"chat":{"id":5,"type":"private"},
            "from":{"id":5,"is_bot":false,"first_name":"Ann"},"text":"hello \"you\""}"#;
        let user = r#"{"id":5,"is_bot":false,"first_name":"Ann"}"#;
        let chat = r#"{"id":5,"type":"private"}"#;
        let updates = [
            format!(r#"{{"update_id":1,"message":{message}}}"#),
            format!(r#"{{"update_id":2,"edited_message":{message}}}"#),
            format!(r#"{{"message":{message},"update_id":3}}"#),
            format!(
                r#"{{"update_id":4,"callback_query":{{"id":"q","from":{user},"chat_instance":"c","data":"hotline:human"}}}}"#
            ),
            format!(
                r#"{{"update_id":5,"message_reaction":{{"chat":{chat},"message_id":7,"date":1,"old_reaction":[],"new_reaction":[{{"type":"emoji","emoji":"👍"}}]}}}}"#
            ),
            format!(
                r#"{{"update_id":6,"my_chat_member":{{"chat":{chat},"from":{user},"date":1,"old_chat_member":{{"status":"member","user":{user}}},"new_chat_member":{{"status":"kicked","user":{user},"until_date":0}}}}}}"#
            ),
            // A kind the desk ignores goes through frankenstein's own enum.
            format!(r#"{{"update_id":7,"channel_post":{message}}}"#),
        ];
        for text in &updates {
            for read in both(text) {
                assert_eq!(
                    read.decode_for(GROUP).expect("decoded"),
                    as_frankenstein_reads_it(text),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn of_two_contents_the_first_is_taken() {
        let two = r#"{"update_id":3,"edited_message":{"message_id":7,"date":1,"edit_date":2,"chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"Ann"},"text":"b"},"message":{"message_id":8,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"Ann"},"text":"a"}}"#;
        for read in both(two) {
            let decoded = read.decode_for(GROUP).expect("decoded");
            assert!(
                matches!(decoded.event, Some(hotline_core::Event::UserEdited { .. })),
                "{decoded:?}"
            );
        }
    }

    #[test]
    fn kinds_newer_than_frankenstein_fail_to_decode_but_keep_their_id() {
        let newer = r#"{"update_id":11,"purchased_stars_from_the_future":{"x":1}}"#;
        for read in both(newer) {
            assert_eq!(id(&read), Some(11));
            assert!(read.decode_for(GROUP).is_err());
        }
    }

    #[test]
    fn elements_that_are_not_updates_do_not_fail_the_answer() {
        let answer = r#"[{"message":{"message_id":7,"date":1,"chat":{"id":5,"type":"private"}}},[1,2],"text",3,null,true,{"update_id":"x"},{"update_id":8,"message":{"message_id":7,"date":1,"chat":{"id":5,"type":"private"}}},{"update_id":9}]"#;
        let updates: Vec<RawUpdate> = serde_json::from_str(answer).expect("the answer reads");
        let ids: Vec<Option<i64>> = updates.iter().map(id).collect();
        assert_eq!(
            ids,
            [None, None, None, None, None, None, None, Some(8), Some(9)]
        );
        assert!(updates[7].decode_for(GROUP).is_ok());
        assert!(updates[0].decode_for(GROUP).is_err());
        assert!(updates[8].decode_for(GROUP).is_err(), "no content");
    }

    #[test]
    fn a_message_the_lean_type_cannot_read_fails_only_itself_when_guarded() {
        let good = |id: i64| {
            format!(
                r#"{{"update_id":{id},"message":{{"message_id":{id},"date":1,"chat":{{"id":5,"type":"private"}},"from":{{"id":5,"is_bot":false,"first_name":"Ann"}},"text":"hi"}}}}"#
            )
        };
        let bad = r#"{"update_id":2,"message":{"message_id":"not a number"}}"#;
        let answer = format!("[{},{bad},{}]", good(1), good(3));
        assert!(serde_json::from_str::<Vec<RawUpdate>>(&answer).is_err());
        let guarded: Vec<Guarded> = serde_json::from_str(&answer).expect("the answer reads");
        let decoded: Vec<bool> = guarded
            .iter()
            .map(|g| g.0.decode_for(GROUP).is_ok())
            .collect();
        assert_eq!(decoded, [true, false, true]);
    }
}
