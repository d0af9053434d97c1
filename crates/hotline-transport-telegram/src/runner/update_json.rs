//! Reading an update's JSON text: its id in one pass, its content only when it is needed.
//!
//! A polling runner gets every update it holds again with each poll (the offset is the low
//! watermark), so most updates it reads are only checked by id and dropped. The id and the one
//! content field are found in a single pass that leaves the content as raw text; the content is
//! decoded into frankenstein's types only for a fresh update, and straight from its own field:
//! frankenstein's `Update` flattens its content, which makes serde buffer the whole message in
//! an intermediate tree before decoding it a second time.

use frankenstein::updates::{Update, UpdateContent};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// An update's id and its content field (`"message": {...}`), the content not yet decoded.
pub(crate) struct UpdateJson<'a> {
    /// `update_id`.
    pub(crate) id: i64,
    /// The content field's name and raw value, when the update has exactly one other field.
    content: Option<(&'a str, &'a RawValue)>,
    /// The whole update's text, for the ordinary decoding when the content is unusual.
    text: &'a str,
}

impl<'a> UpdateJson<'a> {
    /// Reads `text` far enough to know the update's id. `None` when it has no readable
    /// `update_id`.
    pub(crate) fn read(text: &'a str) -> Option<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        let (id, content) = de.deserialize_map(Fields).ok()?;
        Some(Self {
            id: id?,
            content,
            text,
        })
    }

    /// Decodes the update into frankenstein's types. An error means a kind or field newer than
    /// frankenstein's types: the same update read as a whole gives the same error.
    pub(crate) fn decode(&self) -> Result<Update, serde_json::Error> {
        let fast = self.content.and_then(|(kind, raw)| {
            let update_id = u32::try_from(self.id).ok()?;
            // The content as an externally tagged enum, `{"message": {...}}`: decoded in one
            // pass, without the flattening's intermediate tree.
            let tagged = format!("{{{}:{}}}", serde_json::to_string(kind).ok()?, raw.get());
            let content: UpdateContent = serde_json::from_str(&tagged).ok()?;
            Some(Update { update_id, content })
        });
        match fast {
            Some(update) => Ok(update),
            None => serde_json::from_str(self.text),
        }
    }
}

/// Visits the update's fields: `update_id` as a number, any other one left raw.
struct Fields;

type Read<'a> = (Option<i64>, Option<(&'a str, &'a RawValue)>);

impl<'de> Visitor<'de> for Fields {
    type Value = Read<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an update object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut id = None;
        let mut content = None;
        let mut others = 0usize;
        // Keys are borrowed from the text; one with escapes in it (never a field Telegram
        // sends) fails here, and the caller falls back to reading the update as a whole.
        while let Some(key) = map.next_key::<&'de str>()? {
            if key == "update_id" {
                id = Some(map.next_value::<i64>()?);
                continue;
            }
            others += 1;
            if others == 1 {
                content = Some((key, map.next_value::<&'de RawValue>()?));
            } else {
                // More than one content field: left to the ordinary reading.
                content = None;
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok((id, content))
    }

    fn visit_seq<S: de::SeqAccess<'de>>(self, _seq: S) -> Result<Self::Value, S::Error> {
        Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = r#"{"update_id":42,"message":{"message_id":7,"date":1700000000,
        "chat":{"id":5,"type":"private","first_name":"Ann"},
        "from":{"id":5,"is_bot":false,"first_name":"Ann"},"text":"hello \"you\""}}"#;

    #[test]
    fn the_fast_reading_gives_the_same_update_as_frankenstein() {
        let read = UpdateJson::read(MESSAGE).expect("an update");
        assert_eq!(read.id, 42);
        assert!(read.content.is_some(), "the content is read in one pass");
        let whole: Update = serde_json::from_str(MESSAGE).expect("frankenstein reads it");
        assert_eq!(read.decode().expect("decoded"), whole);
    }

    #[test]
    fn unusual_updates_are_read_as_a_whole() {
        // The content before the id, and two content fields: the ordinary reading decides.
        let reordered = r#"{"message":{"message_id":7,"date":1,"chat":{"id":5,"type":"private"}},"update_id":9}"#;
        let read = UpdateJson::read(reordered).expect("an update");
        assert_eq!(read.id, 9);
        assert_eq!(
            read.decode().expect("decoded"),
            serde_json::from_str::<Update>(reordered).expect("frankenstein reads it")
        );
        let two = r#"{"update_id":3,"message":{"message_id":7,"date":1,"chat":{"id":5,"type":"private"}},"edited_message":{"message_id":7,"date":1,"chat":{"id":5,"type":"private"}}}"#;
        let read = UpdateJson::read(two).expect("an update");
        assert!(read.content.is_none());
        assert_eq!(
            read.decode().is_ok(),
            serde_json::from_str::<Update>(two).is_ok()
        );
    }

    #[test]
    fn kinds_newer_than_frankenstein_fail_to_decode_but_keep_their_id() {
        let newer = r#"{"update_id":11,"purchased_stars_from_the_future":{"x":1}}"#;
        let read = UpdateJson::read(newer).expect("the id is readable");
        assert_eq!(read.id, 11);
        assert!(read.decode().is_err());
    }

    #[test]
    fn updates_without_an_id_are_not_read() {
        assert!(UpdateJson::read(r#"{"message":{}}"#).is_none());
        assert!(UpdateJson::read(r#"[1,2]"#).is_none());
        assert!(UpdateJson::read("not json").is_none());
    }
}
