//! The webhook outbox: events waiting to be posted to `WEBHOOKS` endpoints.
//!
//! The desk writes an entry per (endpoint, event) when the event happens, before the commit that
//! records its update as handled; a deliverer posts the entries and removes each once its
//! endpoint accepted it. An entry stays until then, across restarts: delivery is at least once,
//! and an event produced again (its update handled again after a crash) carries the same event id.
//!
//! Order: each endpoint has one queue per conversation (`lane`, the user), delivered oldest
//! first; an entry that failed holds back the later ones of its queue only
//! ([`crate::Store::outbox_heads`] gives the first of each queue).

use crate::ids::{Timestamp, UserId};

/// An outbox entry's id: ascending in the order entries were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutboxId(pub i64);

impl std::fmt::Display for OutboxId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxEntry {
    /// The endpoint's URL.
    pub endpoint: String,
    /// The conversation it is ordered in.
    pub lane: UserId,
    /// The event's id ([`crate::DeskEvent::id`]).
    pub event_id: String,
    /// The event as JSON.
    pub payload: String,
    /// When it was written.
    pub created: Timestamp,
}

/// An entry waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Its id.
    pub id: OutboxId,
    /// The endpoint's URL.
    pub endpoint: String,
    /// The conversation it is ordered in.
    pub lane: UserId,
    /// The event's id.
    pub event_id: String,
    /// The event as JSON.
    pub payload: String,
    /// When it was written.
    pub created: Timestamp,
    /// Failed deliveries so far.
    pub attempts: u32,
    /// Not to be tried before this, in milliseconds since the Unix epoch (0: at once).
    pub next_attempt_ms: i64,
    /// The last failure, if any.
    pub last_error: Option<String>,
}
