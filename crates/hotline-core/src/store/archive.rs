//! The conversation archive (opt-in, `ARCHIVE`): a record of every message that crossed the desk.
//!
//! Without `ARCHIVE` the desk keeps no message content at all: links pair ids, nothing more.
//! With it, each message relayed (the user's, an operator's, the host bot's intercepted ones)
//! is recorded once it went out, and each edit of one as a record of its own, so the archive
//! holds the edit history. A record is identified by who wrote it, where, and which version it
//! is ([`ArchiveRecord::key`]): writing the same record again (an update handled again after a
//! crash) changes nothing.

use crate::ids::{MessageId, Timestamp, UserId};
use crate::message::{IncomingMessage, MessageKind, TextEntity};
use crate::store::Origin;

/// One version of one message of a conversation, as it crossed the desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveRecord {
    /// The conversation's user.
    pub user: UserId,
    /// Who wrote it: the user, an operator, or the host bot.
    pub origin: Origin,
    /// Its id where it was written: the user's chat for the user's and the host bot's, the
    /// backend group for an operator's.
    pub message: MessageId,
    /// Which version: 0 for the message as first sent, the edit's Unix time for an edit.
    pub edit: i64,
    /// When it was written (or edited), in seconds since the Unix epoch.
    pub time: Timestamp,
    /// What it carries.
    pub kind: MessageKind,
    /// Its text or caption.
    pub text: Option<String>,
    /// The formatting of `text`.
    pub entities: Vec<TextEntity>,
    /// The file it carries (Telegram's `file_id`; for a photo, its largest size).
    pub file_id: Option<String>,
    /// The message it replies to, in the same chat.
    pub reply_to: Option<MessageId>,
    /// The album it belongs to.
    pub media_group: Option<String>,
}

impl ArchiveRecord {
    /// The record of `message` from `origin` in `user`'s conversation; `edited` for an edit
    /// (then `message.date` is the edit's time and names the version). A message without a
    /// date (a transport that does not know it) is dated `now`.
    pub fn of(
        user: UserId,
        origin: Origin,
        message: &IncomingMessage,
        edited: bool,
        now: Timestamp,
    ) -> Self {
        let time = if message.date > 0 {
            Timestamp(message.date)
        } else {
            now
        };
        Self {
            user,
            origin,
            message: message.id,
            edit: if edited { time.0.max(1) } else { 0 },
            time,
            kind: message.kind,
            text: message.text.clone(),
            entities: message.entities.clone(),
            file_id: message.file_id.clone(),
            reply_to: message.reply_to,
            media_group: message.media_group.clone(),
        }
    }

    /// The record of a message known by its id alone (the host bot copied or forwarded it, or
    /// it was kept as context before the topic opened): its content is on Telegram's side only.
    pub fn copied(user: UserId, origin: Origin, message: MessageId, now: Timestamp) -> Self {
        Self {
            user,
            origin,
            message,
            edit: 0,
            time: now,
            kind: MessageKind::Other,
            text: None,
            entities: Vec::new(),
            file_id: None,
            reply_to: None,
            media_group: None,
        }
    }

    /// What identifies the record: a second write with the same key changes nothing.
    pub fn key(&self) -> (UserId, Origin, MessageId, i64) {
        (self.user, self.origin, self.message, self.edit)
    }
}

/// An archived record's place in the archive: ascending in the order records were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArchiveId(pub i64);

/// A record read back from the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    /// Its place (pass the last one read as `after` to read on).
    pub id: ArchiveId,
    /// The record.
    pub record: ArchiveRecord,
}
