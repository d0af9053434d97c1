//! The archive's rows, shared by both backends.

use hotline_core::store::{ArchiveId, ArchiveRecord, Archived, Origin};
use hotline_core::{MessageId, MessageKind, StoreError, Timestamp, UserId};

/// `id, user_id, origin, message_id, edit, time, kind, text, entities, file_id, reply_to,
/// media_group`.
pub(crate) type ArchiveRow = (
    i64,
    i64,
    String,
    i64,
    i64,
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
);

/// The columns of [`ArchiveRow`], in its order (a macro, so queries stay literals).
macro_rules! archive_columns {
    () => {
        "id, user_id, origin, message_id, edit, time, kind, text, entities, file_id, reply_to, \
         media_group"
    };
}
pub(crate) use archive_columns;

/// A record's formatting as the `entities` column keeps it (a JSON array).
pub(crate) fn entities_column(record: &ArchiveRecord) -> String {
    // A Vec of plain structs always encodes.
    serde_json::to_string(&record.entities).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn archived_from_row(row: ArchiveRow) -> Result<Archived, StoreError> {
    let (id, user, origin, message, edit, time, kind, text, entities, file_id, reply_to, group) =
        row;
    let origin = Origin::parse(&origin).ok_or_else(|| {
        StoreError::corrupt(format!(
            "archive record {id} has an unknown origin {origin:?}"
        ))
    })?;
    let entities = serde_json::from_str(&entities).map_err(|e| {
        StoreError::corrupt(format!(
            "archive record {id}: its entities do not read back ({e})"
        ))
    })?;
    // A kind newer than this version reads as `Other` rather than failing the export.
    let kind =
        serde_json::from_value(serde_json::Value::String(kind)).unwrap_or(MessageKind::Other);
    Ok(Archived {
        id: ArchiveId(id),
        record: ArchiveRecord {
            user: UserId(user),
            origin,
            message: MessageId(message),
            edit,
            time: Timestamp(time),
            kind,
            text,
            entities,
            file_id,
            reply_to: reply_to.map(MessageId),
            media_group: group,
        },
    })
}
