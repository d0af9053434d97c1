//! Conversions between the core's records and table rows, shared by both backends.

use hotline_core::store::{
    Consumer, Conversation, DeadLetter, DeadLetterId, LogHead, LogId, Logged, MessageLink, Origin,
    Status,
};
use hotline_core::{MessageId, StoreError, Timestamp, TopicId, UserId, UserProfile};

/// The columns of `conversations`, in the order of [`CONVERSATION_COLUMNS`]; `P` is how the
/// backend keeps `pending` (JSON text in SQLite, `BIGINT[]` in PostgreSQL).
pub(crate) type ConversationRow<P> = (
    i64,            // user_id
    Option<i64>,    // topic_id
    String,         // status
    i64,            // status_since
    bool,           // blocked
    bool,           // banned
    String,         // first_name
    Option<String>, // last_name
    Option<String>, // username
    Option<String>, // language_code
    Option<String>, // start_payload
    Option<String>, // topic_name
    bool,           // welcome_pending
    P,              // pending
    i64,            // last_active
    i64,            // first_seen
);

/// The column list every conversation query selects, matching [`ConversationRow`].
macro_rules! conversation_columns {
    () => {
        "user_id, topic_id, status, status_since, blocked, banned, first_name, last_name, \
         username, language_code, start_payload, topic_name, welcome_pending, pending, \
         last_active, first_seen"
    };
}
pub(crate) use conversation_columns;

/// The columns of `links`: user_id, user_message, topic_message, origin.
pub(crate) type LinkRow = (i64, i64, i64, String);

pub(crate) fn conversation_from_row(
    row: ConversationRow<Vec<i64>>,
) -> Result<Conversation, StoreError> {
    let (
        user_id,
        topic_id,
        status,
        status_since,
        blocked,
        banned,
        first_name,
        last_name,
        username,
        language_code,
        start_payload,
        topic_name,
        welcome_pending,
        pending,
        last_active,
        first_seen,
    ) = row;
    let status = Status::parse(&status).ok_or_else(|| {
        StoreError::corrupt(format!("user {user_id} has an unknown status {status:?}"))
    })?;
    Ok(Conversation {
        user: UserId(user_id),
        profile: UserProfile {
            id: UserId(user_id),
            first_name,
            last_name,
            username,
            language_code,
        },
        topic: topic_id.map(TopicId),
        status,
        status_since: Timestamp(status_since),
        blocked,
        banned,
        start_payload,
        topic_name,
        welcome_pending,
        pending: pending.into_iter().map(MessageId).collect(),
        last_active: Timestamp(last_active),
        first_seen: Timestamp(first_seen),
    })
}

pub(crate) fn link_from_row(row: LinkRow) -> Result<MessageLink, StoreError> {
    let (user_id, user_message, topic_message, origin) = row;
    let origin = Origin::parse(&origin).ok_or_else(|| {
        StoreError::corrupt(format!(
            "the link of user {user_id}'s message {user_message} has an unknown origin {origin:?}"
        ))
    })?;
    Ok(MessageLink {
        user: UserId(user_id),
        user_message: MessageId(user_message),
        topic_message: MessageId(topic_message),
        origin,
    })
}

/// The columns of `dead_letters`, in the order of `dead_letter_columns!`: id, key, user_id,
/// payload, error, attempts, first_failed, last_failed.
pub(crate) type DeadLetterRow = (i64, String, Option<i64>, String, String, i64, i64, i64);

/// The column list every dead-letter query selects (or returns), matching [`DeadLetterRow`].
macro_rules! dead_letter_columns {
    () => {
        "id, key, user_id, payload, error, attempts, first_failed, last_failed"
    };
}
pub(crate) use dead_letter_columns;

/// The largest attempt count a record can hold (`DeadLetter::attempts` is a `u32`): the upserts
/// add attempts up to this and no further, as `DeadLetter::absorb` saturates.
pub(crate) const MAX_ATTEMPTS: i64 = u32::MAX as i64;

/// The record a `dead_letters` row holds; an attempt count outside `u32` is corrupt data.
pub(crate) fn dead_letter_from_row(row: DeadLetterRow) -> Result<DeadLetter, StoreError> {
    let (id, key, user_id, payload, error, attempts, first_failed, last_failed) = row;
    let attempts = u32::try_from(attempts).map_err(|e| {
        StoreError::corrupt(format!(
            "dead letter {id} has an impossible attempt count {attempts}"
        ))
        .caused_by(e)
    })?;
    Ok(DeadLetter {
        id: DeadLetterId(id),
        key,
        user: user_id.map(UserId),
        payload,
        error,
        attempts,
        first_failed: Timestamp(first_failed),
        last_failed: Timestamp(last_failed),
    })
}

/// The columns of `update_log`, in the order of `logged_columns!`: id, upstream_id, payload,
/// received.
pub(crate) type LoggedRow = (i64, i64, String, i64);

/// The column list every update-log query selects, matching [`LoggedRow`].
macro_rules! logged_columns {
    () => {
        "id, upstream_id, payload, received"
    };
}
pub(crate) use logged_columns;

pub(crate) fn logged_from_row(row: LoggedRow) -> Logged {
    let (id, upstream_id, payload, received) = row;
    Logged {
        id: LogId(id),
        upstream_id,
        payload,
        received: Timestamp(received),
    }
}

/// The row of `update_log_head`: last_id, last_upstream_id.
pub(crate) type LogHeadRow = (i64, Option<i64>);

pub(crate) fn log_head_from_row(row: LogHeadRow) -> LogHead {
    LogHead {
        last_id: LogId(row.0),
        last_upstream_id: row.1,
    }
}

/// The columns of `log_consumers`, in the order of `consumer_columns!`: name, confirmed,
/// settings.
pub(crate) type ConsumerRow = (String, i64, Option<String>);

/// The column list every consumer query selects (or returns), matching [`ConsumerRow`].
macro_rules! consumer_columns {
    () => {
        "name, confirmed, settings"
    };
}
pub(crate) use consumer_columns;

pub(crate) fn consumer_from_row(row: ConsumerRow) -> Consumer {
    let (name, confirmed, settings) = row;
    Consumer {
        name,
        confirmed: LogId(confirmed),
        settings,
    }
}

/// The pending message ids as plain integers.
pub(crate) fn pending_ids(conversation: &Conversation) -> Vec<i64> {
    conversation.pending.iter().map(|m| m.0).collect()
}

/// A `usize` limit as SQL's `LIMIT` (saturating).
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The error of a commit refused by a UNIQUE constraint: names the topic's owner when the
/// conversation's topic is what clashed (`owner` looked up after the rollback).
pub(crate) fn explain_conflict(
    conversation: &Conversation,
    error: sqlx::Error,
    owner: Option<i64>,
) -> StoreError {
    match (conversation.topic, owner) {
        (Some(topic), Some(owner)) if owner != conversation.user.0 => {
            StoreError::conflict(format!("topic {topic} already belongs to user {owner}"))
                .caused_by(error)
        }
        _ => crate::error::backend("committing", error),
    }
}

/// A tag as stored (written by [`Tag::as_str`]), read back.
pub(crate) fn stored_tag(text: &str) -> Result<hotline_core::store::Tag, StoreError> {
    hotline_core::store::Tag::parse(text)
        .map_err(|e| StoreError::corrupt(format!("a stored tag does not read back: {e}")))
}
