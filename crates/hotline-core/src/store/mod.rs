//! The `Store` trait: what the desk remembers, and the in-memory implementation.
//!
//! The desk's whole state is three things (and the dead letters, updates set aside after every
//! attempt failed, see [`DeadLetter`]; and the update log its runners read from, see
//! [`Logged`]): a [`Conversation`] per user (user ↔ topic, status,
//! activation, ban), [`MessageLink`]s pairing each relayed message with its copy (replies, edits and
//! reactions follow them), and the keys of events already handled (idempotency). Every write goes
//! through [`Store::commit`], one [`Commit`] at a time, applied atomically: a SQL store maps it onto
//! one transaction, so an event's effects and the record that it was handled land together.

mod archive;
mod conversation;
mod dead_letter;
mod mailing;
mod memory;
mod outbox;
mod tag;
mod update_log;

pub mod conformance;

pub use archive::{ArchiveId, ArchiveRecord, Archived};
pub use conversation::{Conversation, MessageLink, Origin, Status};
pub use dead_letter::{DeadLetter, DeadLetterId, NewDeadLetter, SetAside};
pub use mailing::{
    Delivery, Mailing, MailingContent, MailingCounts, MailingId, MailingState, Panel,
};
pub use memory::MemoryStore;
pub use outbox::{NewOutboxEntry, OutboxEntry, OutboxId};
pub use tag::{MAX_TAG_CHARS, Tag, TagError};
pub use update_log::{Consumer, Fetched, LogHead, LogId, Logged, RETENTION_SECS};

use crate::event::EventKey;
use crate::ids::{MessageId, Timestamp, TopicId, UserId};
use async_trait::async_trait;

/// Writes that land together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    /// The conversation's new state, if it changed.
    pub conversation: Option<Conversation>,
    /// New message links.
    pub links: Vec<MessageLink>,
    /// The event now handled.
    pub processed: Option<EventKey>,
}

impl Commit {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.conversation.is_none() && self.links.is_empty() && self.processed.is_none()
    }
}

/// Durable state of the desk. Implementations must be safe to share between tasks (and, for SQL
/// stores, between processes): see the conformance suite in [`conformance`].
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Store: Send + Sync {
    /// The user's conversation, if the desk has seen the user.
    async fn conversation(&self, user: UserId) -> Result<Option<Conversation>, StoreError>;

    /// The conversation whose current topic is `topic`.
    async fn conversation_by_topic(
        &self,
        topic: TopicId,
    ) -> Result<Option<Conversation>, StoreError>;

    /// Applies `commit` atomically. A conversation whose topic already belongs to another user is
    /// refused with [`StoreError::Conflict`] and nothing of the commit is applied. A new link
    /// that shares either end with a stored one replaces it whole (last write wins on both
    /// sides). Committing an event key already recorded is not an error.
    async fn commit(&self, commit: Commit) -> Result<(), StoreError>;

    /// The link of a message in the user's private chat (theirs, or a copy sent to them).
    async fn link_by_user_message(
        &self,
        user: UserId,
        message: MessageId,
    ) -> Result<Option<MessageLink>, StoreError>;

    /// The link of a message in the backend group (a copy in a topic, or an operator's message).
    async fn link_by_topic_message(
        &self,
        message: MessageId,
    ) -> Result<Option<MessageLink>, StoreError>;

    /// Whether the event with this key was already handled.
    async fn is_processed(&self, key: &EventKey) -> Result<bool, StoreError>;

    /// Open conversations in "support answered" since before `before`, oldest first, at most
    /// `limit` (auto-close).
    async fn due_for_autoclose(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError>;

    /// Records an update set aside after its attempts failed. A record with the same `key`
    /// already kept absorbs this one (see [`DeadLetter::absorb`]) and keeps its id.
    async fn set_aside(&self, letter: NewDeadLetter) -> Result<SetAside, StoreError>;

    /// The dead letters, oldest first, at most `limit`.
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError>;

    /// One dead letter by id.
    async fn dead_letter(&self, id: DeadLetterId) -> Result<Option<DeadLetter>, StoreError>;

    /// One dead letter by the key of its update at the source.
    async fn dead_letter_by_key(&self, key: &str) -> Result<Option<DeadLetter>, StoreError>;

    /// Forgets a dead letter (handled after a retry, or dropped by an operator). Whether it was
    /// there.
    async fn remove_dead_letter(&self, id: DeadLetterId) -> Result<bool, StoreError>;

    /// Appends updates fetched upstream to the update log (see [`Logged`]), atomically, in the
    /// order given, each under the next [`LogId`]; returns the log id of each. An update whose
    /// upstream id is already in the log (Telegram sent it again: its confirmation was lost in a
    /// crash) is not appended twice: its existing id is returned. Ids past [`LogId::MAX`] are
    /// refused with [`StoreError::Backend`] and nothing is written.
    async fn append_updates(
        &self,
        updates: Vec<Fetched>,
        received: Timestamp,
    ) -> Result<Vec<LogId>, StoreError>;

    /// Logged updates with an id above `after`, in log order, at most `limit`.
    async fn logged_updates(&self, after: LogId, limit: usize) -> Result<Vec<Logged>, StoreError>;

    /// Where the log stands (its last id and last upstream id, kept even when every update was
    /// pruned).
    async fn log_head(&self) -> Result<LogHead, StoreError>;

    /// A consumer of the log, if registered.
    async fn consumer(&self, name: &str) -> Result<Option<Consumer>, StoreError>;

    /// Registers a consumer that has confirmed everything up to `start` (a new reader that must
    /// see only what comes next starts at the log's last id; one that must see what is kept
    /// starts at [`LogId::ZERO`]); an already registered one is left as it is. Returns its
    /// state. Only registered consumers hold updates in the log.
    async fn register_consumer(&self, name: &str, start: LogId) -> Result<Consumer, StoreError>;

    /// Moves a consumer's confirmation forward to `upto` (never back; registering it if new).
    async fn confirm_updates(&self, name: &str, upto: LogId) -> Result<(), StoreError>;

    /// Replaces a consumer's settings (registering it at [`LogId::ZERO`] if new).
    async fn save_consumer_settings(
        &self,
        name: &str,
        settings: Option<String>,
    ) -> Result<(), StoreError>;

    /// Forgets the logged updates every registered consumer has confirmed, and those received
    /// before `expired` (confirmed or not: see [`RETENTION_SECS`]). How many were forgotten.
    async fn prune_updates(&self, expired: Timestamp) -> Result<u64, StoreError>;

    /// Claims the user for the handling of one event, across every process sharing this store;
    /// the claim lasts until the returned guard is dropped. Stores used by one process only may
    /// keep the default, which claims nothing (the desk already orders a user's events in-process).
    async fn claim_user(&self, user: UserId) -> Result<UserClaim, StoreError> {
        let _ = user;
        Ok(UserClaim::none())
    }

    // ---- Events out: the webhook outbox (see [`OutboxEntry`]) and figures for metrics. ----
    // The defaults refuse, so a store that keeps no outbox says so instead of losing events.

    /// Writes outbox entries, atomically, in the order given; returns their ids.
    async fn outbox_push(&self, entries: Vec<NewOutboxEntry>) -> Result<Vec<OutboxId>, StoreError> {
        let _ = entries;
        Err(StoreError::backend("this store keeps no webhook outbox"))
    }

    /// The oldest entry of each queue (one endpoint, one conversation) if it is due by `now_ms`
    /// (its `next_attempt_ms` is not later), oldest first, at most `limit`. An entry not yet
    /// due holds its queue back: the entries behind it are not given.
    async fn outbox_heads(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let _ = (now_ms, limit);
        Err(StoreError::backend("this store keeps no webhook outbox"))
    }

    /// Removes a delivered entry. Whether it was there.
    async fn outbox_delivered(&self, id: OutboxId) -> Result<bool, StoreError> {
        let _ = id;
        Err(StoreError::backend("this store keeps no webhook outbox"))
    }

    /// Records a failed delivery: `attempts` so far, not to be tried before `next_attempt_ms`.
    async fn outbox_postpone(
        &self,
        id: OutboxId,
        attempts: u32,
        next_attempt_ms: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        let _ = (id, attempts, next_attempt_ms, error);
        Err(StoreError::backend("this store keeps no webhook outbox"))
    }

    /// How many entries wait in the outbox.
    async fn outbox_len(&self) -> Result<u64, StoreError> {
        Err(StoreError::backend("this store keeps no webhook outbox"))
    }

    /// How many conversations have an open topic (🟪 or 🟨).
    async fn open_conversations(&self) -> Result<u64, StoreError> {
        Err(StoreError::backend(
            "this store does not count open conversations",
        ))
    }

    // ---- Marks: tags operators put on users (`/mark`), see [`Tag`]. ----
    // The defaults refuse, so a store that keeps no tags says so.

    /// Puts `tag` on `user` (`on`) or takes it off; whether anything changed.
    async fn set_tag(&self, user: UserId, tag: &Tag, on: bool) -> Result<bool, StoreError> {
        let _ = (user, tag, on);
        Err(StoreError::backend("this store keeps no tags"))
    }

    /// The tags on `user`, in alphabetical order ([`Store::tags_of`] one user).
    async fn tags(&self, user: UserId) -> Result<Vec<Tag>, StoreError> {
        let mut tags: Vec<Tag> = self
            .tags_of(&[user])
            .await?
            .into_iter()
            .map(|(_, tag)| tag)
            .collect();
        tags.sort_unstable();
        Ok(tags)
    }

    /// Every tag in use with how many users carry it, in alphabetical order.
    async fn tag_counts(&self) -> Result<Vec<(Tag, u64)>, StoreError> {
        Err(StoreError::backend("this store keeps no tags"))
    }

    /// The tags of each of `users` (who has none is left out), in no particular order.
    async fn tags_of(&self, users: &[UserId]) -> Result<Vec<(UserId, Tag)>, StoreError> {
        let _ = users;
        Err(StoreError::backend("this store keeps no tags"))
    }

    /// The conversations of the users with ids above `after`, in ascending id order, at most
    /// `limit` (segments read the user base a page at a time).
    async fn conversations_after(
        &self,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let _ = (after, limit);
        Err(StoreError::backend(
            "this store cannot list its conversations",
        ))
    }

    /// The members of `segment` at `now`, in ascending id order (banned users and users who
    /// blocked the bot left out). By default every conversation is read and tested
    /// ([`crate::segment::Segment::members_by_reading`]); a SQL store selects them with one
    /// query.
    async fn segment_members(
        &self,
        segment: &crate::segment::Segment,
        now: Timestamp,
    ) -> Result<Vec<UserId>, StoreError> {
        segment.members_by_reading(self, now).await
    }

    // ---- The conversation archive (`ARCHIVE`, see [`ArchiveRecord`]). ----
    // The defaults refuse, so a store that keeps no archive says so instead of dropping it.

    /// Writes archive records, atomically, in the order given. A record whose
    /// [`ArchiveRecord::key`] is already archived is left as it is (not an error).
    async fn archive_write(&self, records: Vec<ArchiveRecord>) -> Result<(), StoreError> {
        let _ = records;
        Err(StoreError::backend("this store keeps no archive"))
    }

    /// The users with archived records dated `since` or later, in ascending id order.
    async fn archive_users(&self, since: Timestamp) -> Result<Vec<UserId>, StoreError> {
        let _ = since;
        Err(StoreError::backend("this store keeps no archive"))
    }

    /// `user`'s archived records dated `since` or later, in the order they were written, after
    /// `after` (`None`: from the first), at most `limit`.
    async fn archived(
        &self,
        user: UserId,
        since: Timestamp,
        after: Option<ArchiveId>,
        limit: usize,
    ) -> Result<Vec<Archived>, StoreError> {
        let _ = (user, since, after, limit);
        Err(StoreError::backend("this store keeps no archive"))
    }

    /// Removes the records dated before `before` (retention); how many were removed.
    async fn archive_prune(&self, before: Timestamp) -> Result<u64, StoreError> {
        let _ = before;
        Err(StoreError::backend("this store keeps no archive"))
    }

    // ---- Mailings (`/send`, [`crate::Desk::broadcast`], see [`Mailing`]). ----
    // The defaults refuse, so a store that keeps no mailings says so.

    /// Writes a new mailing (its `id` is ignored) with its recipients, each
    /// [`Delivery::Pending`], atomically; the id given to it.
    async fn mailing_create(
        &self,
        mailing: &Mailing,
        recipients: &[UserId],
    ) -> Result<MailingId, StoreError> {
        let _ = (mailing, recipients);
        Err(StoreError::backend("this store keeps no mailings"))
    }

    /// The mailing `id`, if there is one.
    async fn mailing(&self, id: MailingId) -> Result<Option<Mailing>, StoreError> {
        let _ = id;
        Err(StoreError::backend("this store keeps no mailings"))
    }

    /// The latest mailings, newest first, at most `limit`.
    async fn mailings(&self, limit: usize) -> Result<Vec<Mailing>, StoreError> {
        let _ = limit;
        Err(StoreError::backend("this store keeps no mailings"))
    }

    /// Changes a mailing's state, but only from one of `from` (so two desks, or a Confirm
    /// pressed twice, cannot both start it); whether it changed.
    async fn mailing_set_state(
        &self,
        id: MailingId,
        from: &[MailingState],
        to: MailingState,
    ) -> Result<bool, StoreError> {
        let _ = (id, from, to);
        Err(StoreError::backend("this store keeps no mailings"))
    }

    /// Takes, or renews, the right to send mailing `id` for the sender `owner` until
    /// `until`: refused (`false`) while another owner holds it past `now`. One desk of
    /// several (replicas on one database) sends a mailing at a time.
    async fn mailing_lease(
        &self,
        id: MailingId,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let _ = (id, owner, now, until);
        Err(StoreError::backend("this store keeps no mailings"))
    }

    /// Records where the mailing's panel (preview, then progress) is.
    async fn mailing_set_panel(&self, id: MailingId, panel: Panel) -> Result<(), StoreError> {
        let _ = (id, panel);
        Err(StoreError::backend("this store keeps no mailings"))
    }

    /// Recipients still [`Delivery::Pending`], ascending by id, above `after`, at most `limit`.
    async fn mailing_pending(
        &self,
        id: MailingId,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<UserId>, StoreError> {
        let _ = (id, after, limit);
        Err(StoreError::backend("this store keeps no mailings"))
    }

    /// Records what came of `user`'s send. Only a pending recipient changes: a result recorded
    /// before stays.
    async fn mailing_record(
        &self,
        id: MailingId,
        user: UserId,
        delivery: Delivery,
    ) -> Result<(), StoreError> {
        let _ = (id, user, delivery);
        Err(StoreError::backend("this store keeps no mailings"))
    }

    /// How many recipients stand where.
    async fn mailing_counts(&self, id: MailingId) -> Result<MailingCounts, StoreError> {
        let _ = id;
        Err(StoreError::backend("this store keeps no mailings"))
    }
}

/// Holds a cross-process claim on a user while an event is handled; dropping it releases the claim.
#[must_use = "the claim is released when this is dropped"]
pub struct UserClaim(#[allow(dead_code)] Option<Box<dyn Send + Sync>>);

impl UserClaim {
    /// A claim that holds nothing (single-process stores).
    pub fn none() -> Self {
        Self(None)
    }

    /// A claim kept alive by `guard` (a transaction holding a row or advisory lock, say).
    pub fn holding(guard: impl Send + Sync + 'static) -> Self {
        Self(Some(Box::new(guard)))
    }
}

impl std::fmt::Debug for UserClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("UserClaim").field(&self.0.is_some()).finish()
    }
}

/// An underlying error, kept as the source of a [`StoreError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the store failed. The backend's own error, where there is one, is the
/// [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A uniqueness rule was broken (a topic given to two users); nothing was written.
    #[error("conflict: {message}")]
    Conflict {
        /// What conflicted.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// The backend failed (I/O, connection, database error): trying again later may succeed.
    #[error("store backend failed: {message}")]
    Backend {
        /// What the store was doing.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// Stored data could not be read back (or written in the store's format): trying again
    /// will not help.
    #[error("stored data is corrupt: {message}")]
    Corrupt {
        /// What could not be read.
        message: String,
        /// The decoder's error.
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    /// A broken uniqueness rule.
    pub fn conflict(message: impl Into<String>) -> Self {
        StoreError::Conflict {
            message: message.into(),
            source: None,
        }
    }

    /// A failure of the backend.
    pub fn backend(message: impl Into<String>) -> Self {
        StoreError::Backend {
            message: message.into(),
            source: None,
        }
    }

    /// Data that cannot be read back.
    pub fn corrupt(message: impl Into<String>) -> Self {
        StoreError::Corrupt {
            message: message.into(),
            source: None,
        }
    }

    /// The same error, caused by `source`.
    pub fn caused_by(mut self, cause: impl Into<BoxError>) -> Self {
        match &mut self {
            StoreError::Conflict { source, .. }
            | StoreError::Backend { source, .. }
            | StoreError::Corrupt { source, .. } => *source = Some(cause.into()),
        }
        self
    }

    /// Whether trying again later may succeed (the backend was unreachable or busy), as opposed
    /// to data or a rule that will fail the same way every time.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Backend { .. })
    }
}
