//! The webhook outbox's rows, shared by both backends.

use hotline_core::store::{OutboxEntry, OutboxId};
use hotline_core::{StoreError, Timestamp, UserId};

/// `id, endpoint, lane, event_id, payload, created, attempts, next_attempt_ms, last_error`.
pub(crate) type OutboxRow = (
    i64,
    String,
    i64,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
);

/// The columns of [`OutboxRow`], in its order (a macro, so queries stay literals).
macro_rules! outbox_columns {
    () => {
        "id, endpoint, lane, event_id, payload, created, attempts, next_attempt_ms, last_error"
    };
}
pub(crate) use outbox_columns;

pub(crate) fn outbox_from_row(row: OutboxRow) -> Result<OutboxEntry, StoreError> {
    let (id, endpoint, lane, event_id, payload, created, attempts, next_attempt_ms, last_error) =
        row;
    let attempts = u32::try_from(attempts)
        .map_err(|_| StoreError::corrupt(format!("outbox entry {id}: attempts {attempts}")))?;
    Ok(OutboxEntry {
        id: OutboxId(id),
        endpoint,
        lane: UserId(lane),
        event_id,
        payload,
        created: Timestamp(created),
        attempts,
        next_attempt_ms,
        last_error,
    })
}
