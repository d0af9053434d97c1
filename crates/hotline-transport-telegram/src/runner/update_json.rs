//! Reading a `getUpdates` answer in one pass: each update's id, its content left as raw text.
//!
//! A polling runner gets every update it holds again with each poll (the offset is the low
//! watermark), so most updates it reads are only checked by id and dropped. Each update of the
//! answer is read once, as the answer itself is read: its id, and its content field (`"message":
//! {...}`) kept as raw JSON text. The content is decoded only for a fresh update, straight from
//! its own text: a message as a [`LeanMessage`], any other kind into frankenstein's types
//! (frankenstein's `Update` flattens its content, which makes serde buffer the whole message in
//! an intermediate tree and decode it twice, so the content is decoded on its own).
//!
//! An element of the answer that is not an update object must not fail the whole answer (the
//! runner would then ask again forever): it is read as [`RawUpdate::Unreadable`] and skipped.

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
        /// Every other field, its value not yet decoded. Telegram sends exactly one.
        fields: Vec<(String, Box<RawValue>)>,
    },
    /// Not an object, or no readable `update_id`.
    Unreadable,
}

impl RawUpdate {
    /// What the update means to a desk whose backend group is `group`. New and edited messages,
    /// nearly all of a desk's traffic, are decoded as [`LeanMessage`]s (only the fields the desk
    /// reads); every other kind through frankenstein's types, as a host's updates are.
    pub(crate) fn decode_for(&self, group: ChatId) -> Result<Decoded, serde_json::Error> {
        if let RawUpdate::Read { fields, .. } = self
            && let [(kind, raw)] = fields.as_slice()
        {
            let edited = match kind.as_str() {
                "message" => Some(false),
                "edited_message" => Some(true),
                _ => None,
            };
            if let Some(edited) = edited {
                let message: LeanMessage = serde_json::from_str(raw.get())?;
                return Ok(decode::decode_message(&message, group, edited));
            }
        }
        self.decode().map(|update| decode::decode(&update, group))
    }

    /// Decodes the update into frankenstein's types. An error means a kind or field newer than
    /// frankenstein's types: the same update read as a whole gives the same error.
    pub(crate) fn decode(&self) -> Result<Update, serde_json::Error> {
        let RawUpdate::Read { id, fields } = self else {
            return Err(de::Error::custom("an update without update_id"));
        };
        if let ([(kind, raw)], Ok(update_id)) = (fields.as_slice(), u32::try_from(*id)) {
            return Ok(Update {
                update_id,
                content: content(kind, raw)?,
            });
        }
        // Several content fields, or an id out of frankenstein's range: the ordinary reading
        // of the update as a whole decides.
        let mut whole = format!("{{\"update_id\":{id}");
        for (key, raw) in fields {
            whole.push(',');
            whole.push_str(&serde_json::to_string(key)?);
            whole.push(':');
            whole.push_str(raw.get());
        }
        whole.push('}');
        serde_json::from_str(&whole)
    }
}

/// The content of an update of `kind`. The other kinds the desk acts on (messages are read by
/// [`RawUpdate::decode_for`] as lean messages) are decoded straight into their type; any other
/// goes through frankenstein's enum (as `{"kind": ...}`), which knows them all.
fn content(kind: &str, raw: &RawValue) -> Result<UpdateContent, serde_json::Error> {
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
        deserializer.deserialize_any(RawUpdateVisitor)
    }
}

struct RawUpdateVisitor;

impl RawUpdateVisitor {
    fn unreadable<E>(self) -> Result<RawUpdate, E> {
        Ok(RawUpdate::Unreadable)
    }
}

impl<'de> Visitor<'de> for RawUpdateVisitor {
    type Value = RawUpdate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an update object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<RawUpdate, M::Error> {
        let mut id = None;
        let mut fields = Vec::with_capacity(1);
        while let Some(key) = map.next_key::<String>()? {
            if key == "update_id" {
                id = map.next_value::<serde_json::Value>()?.as_i64();
            } else {
                fields.push((key, map.next_value::<Box<RawValue>>()?));
            }
        }
        Ok(match id {
            Some(id) => RawUpdate::Read { id, fields },
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

    const MESSAGE: &str = r#"{"update_id":42,"message":{"message_id":7,"date":1700000000,
        "chat":{"id":5,"type":"private","first_name":"Ann"},
        "from":{"id":5,"is_bot":false,"first_name":"Ann"},"text":"hello \"you\""}}"#;

    fn read(text: &str) -> RawUpdate {
        serde_json::from_str(text).expect("any JSON value reads")
    }

    fn id(update: &RawUpdate) -> Option<i64> {
        match update {
            RawUpdate::Read { id, .. } => Some(*id),
            RawUpdate::Unreadable => None,
        }
    }

    #[test]
    fn the_fast_reading_gives_the_same_update_as_frankenstein() {
        let read = read(MESSAGE);
        assert_eq!(id(&read), Some(42));
        let whole: Update = serde_json::from_str(MESSAGE).expect("frankenstein reads it");
        assert_eq!(read.decode().expect("decoded"), whole);
    }

    #[test]
    fn every_kind_the_desk_acts_on_decodes_as_frankenstein_decodes_it() {
        let message = r#"{"message_id":7,"date":1,"chat":{"id":5,"type":"private"}}"#;
        let user = r#"{"id":5,"is_bot":false,"first_name":"Ann"}"#;
        let chat = r#"{"id":5,"type":"private"}"#;
        let updates = [
            format!(r#"{{"update_id":1,"message":{message}}}"#),
            format!(r#"{{"update_id":2,"edited_message":{message}}}"#),
            format!(
                r#"{{"update_id":3,"callback_query":{{"id":"q","from":{user},"chat_instance":"c","data":"hotline:human"}}}}"#
            ),
            format!(
                r#"{{"update_id":4,"message_reaction":{{"chat":{chat},"message_id":7,"date":1,"old_reaction":[],"new_reaction":[{{"type":"emoji","emoji":"👍"}}]}}}}"#
            ),
            format!(
                r#"{{"update_id":5,"my_chat_member":{{"chat":{chat},"from":{user},"date":1,"old_chat_member":{{"status":"member","user":{user}}},"new_chat_member":{{"status":"kicked","user":{user},"until_date":0}}}}}}"#
            ),
            // A kind the desk ignores goes through frankenstein's own enum.
            format!(r#"{{"update_id":6,"channel_post":{message}}}"#),
        ];
        for text in &updates {
            let whole: Update = serde_json::from_str(text).expect("frankenstein reads it");
            assert_eq!(read(text).decode().expect("decoded"), whole, "{text}");
        }
    }

    #[test]
    fn unusual_updates_are_read_as_a_whole() {
        // The content before the id: read all the same.
        let reordered = r#"{"message":{"message_id":7,"date":1,"chat":{"id":5,"type":"private"}},"update_id":9}"#;
        let read_reordered = read(reordered);
        assert_eq!(id(&read_reordered), Some(9));
        assert_eq!(
            read_reordered.decode().expect("decoded"),
            serde_json::from_str::<Update>(reordered).expect("frankenstein reads it")
        );
        // Two content fields: the ordinary reading decides.
        let two = r#"{"update_id":3,"message":{"message_id":7,"date":1,"chat":{"id":5,"type":"private"}},"edited_message":{"message_id":7,"date":1,"chat":{"id":5,"type":"private"}}}"#;
        assert_eq!(
            read(two).decode().is_ok(),
            serde_json::from_str::<Update>(two).is_ok()
        );
    }

    #[test]
    fn kinds_newer_than_frankenstein_fail_to_decode_but_keep_their_id() {
        let newer = r#"{"update_id":11,"purchased_stars_from_the_future":{"x":1}}"#;
        let read = read(newer);
        assert_eq!(id(&read), Some(11));
        assert!(read.decode().is_err());
    }

    #[test]
    fn elements_that_are_not_updates_do_not_fail_the_answer() {
        let answer = r#"[{"message":{}},[1,2],"text",3,null,true,{"update_id":"x"},{"update_id":8,"message":{"message_id":7,"date":1,"chat":{"id":5,"type":"private"}}}]"#;
        let updates: Vec<RawUpdate> = serde_json::from_str(answer).expect("the answer reads");
        let ids: Vec<Option<i64>> = updates.iter().map(id).collect();
        assert_eq!(ids, [None, None, None, None, None, None, None, Some(8)]);
        assert!(updates[7].decode().is_ok());
        assert!(updates[0].decode().is_err());
    }
}
