//! The JSON-lines export: one object per record, in the order they were written.

use hotline_core::TextEntity;
use hotline_core::store::ArchiveRecord;
use serde::Serialize;
use serde_json::{Map, Value};

/// One record as a line of the export (without the newline).
///
/// Fields: `user_id`, `origin` (`user`, `operator`, `host`), `message_id` (where it was written),
/// `edit` (0, or the edit's Unix time), `time` (Unix seconds) and `date` (RFC 3339, UTC),
/// `kind`, `text`, `entities` (Telegram's `MessageEntity` objects), `file_id`, `reply_to`,
/// `media_group`; absent values are `null`.
pub fn jsonl_line(record: &ArchiveRecord) -> String {
    let line = Line {
        user_id: record.user.0,
        origin: record.origin.as_str(),
        message_id: record.message.0,
        edit: record.edit,
        time: record.time.0,
        date: record.time.rfc3339(),
        kind: record.kind.as_str(),
        text: record.text.as_deref(),
        entities: record.entities.iter().map(message_entity).collect(),
        file_id: record.file_id.as_deref(),
        reply_to: record.reply_to.map(|m| m.0),
        media_group: record.media_group.as_deref(),
    };
    // Plain fields and JSON values always encode.
    serde_json::to_string(&line).unwrap_or_default()
}

/// Every record as a line, each ending with a newline.
pub fn jsonl_lines(records: &[ArchiveRecord]) -> String {
    let mut out = String::new();
    for record in records {
        out.push_str(&jsonl_line(record));
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct Line<'a> {
    user_id: i64,
    origin: &'a str,
    message_id: i64,
    edit: i64,
    time: i64,
    date: String,
    kind: &'a str,
    text: Option<&'a str>,
    entities: Vec<Value>,
    file_id: Option<&'a str>,
    reply_to: Option<i64>,
    media_group: Option<&'a str>,
}

/// A span back in Telegram's form: its `detail` with `offset` and `length` put back.
pub(super) fn message_entity(entity: &TextEntity) -> Value {
    let mut object = match serde_json::from_str::<Value>(&entity.detail) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    };
    object.insert("offset".into(), entity.offset.into());
    object.insert("length".into(), entity.length.into());
    Value::Object(object)
}
