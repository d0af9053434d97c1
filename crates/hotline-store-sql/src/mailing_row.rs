//! Mailings' rows, shared by both backends.

use hotline_core::store::{Mailing, MailingContent, MailingCounts, MailingId, MailingState, Panel};
use hotline_core::{ChatId, Delivery, MessageId, StoreError, Timestamp, UserId};

/// `id, content, segment, state, created, author, panel_chat, panel_message`.
pub(crate) type MailingRow = (
    i64,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// The columns of [`MailingRow`], in its order (a macro, so queries stay literals).
macro_rules! mailing_columns {
    () => {
        "id, content, segment, state, created, author, panel_chat, panel_message"
    };
}
pub(crate) use mailing_columns;

/// How many recipients one statement writes (a JSON array or a PostgreSQL array bound as one
/// parameter): large mailings are written in a few statements of one transaction.
#[cfg(feature = "sqlite")]
pub(crate) const RECIPIENTS_PER_STATEMENT: usize = 10_000;

/// A mailing's content as the `content` column keeps it (JSON).
pub(crate) fn content_column(mailing: &Mailing) -> Result<String, StoreError> {
    serde_json::to_string(&mailing.content)
        .map_err(|e| StoreError::corrupt("encoding a mailing's content").caused_by(e))
}

/// Recipients' ids as a JSON array (SQLite's `json_each`).
#[cfg(feature = "sqlite")]
pub(crate) fn ids_json(users: &[UserId]) -> String {
    let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
    // A Vec of integers always encodes.
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn mailing_from_row(row: MailingRow) -> Result<Mailing, StoreError> {
    let (id, content, segment, state, created, author, panel_chat, panel_message) = row;
    let content: MailingContent = serde_json::from_str(&content).map_err(|e| {
        StoreError::corrupt(format!("mailing {id}: unreadable content")).caused_by(e)
    })?;
    let state = MailingState::from_name(&state)
        .ok_or_else(|| StoreError::corrupt(format!("mailing {id}: unknown state `{state}`")))?;
    let panel = match (panel_chat, panel_message) {
        (Some(chat), Some(message)) => Some(Panel {
            chat: ChatId(chat),
            message: MessageId(message),
        }),
        _ => None,
    };
    Ok(Mailing {
        id: MailingId(id),
        content,
        segment,
        state,
        created: Timestamp(created),
        author: author.map(UserId),
        panel,
    })
}

/// Counts from `delivery, count(*)` rows.
pub(crate) fn counts_from_rows(rows: Vec<(i64, i64)>) -> Result<MailingCounts, StoreError> {
    let mut counts = MailingCounts::default();
    for (code, n) in rows {
        let delivery = Delivery::from_code(code)
            .ok_or_else(|| StoreError::corrupt(format!("unknown delivery code {code}")))?;
        counts.add(delivery, u64::try_from(n).unwrap_or_default());
    }
    Ok(counts)
}
