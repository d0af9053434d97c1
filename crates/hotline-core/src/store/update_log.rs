//! The update log: every update fetched once from the Bot API, kept durably, and read by each
//! consumer (the desk; a host bot behind the gateway) at its own pace.
//!
//! The invariant the log exists for: an update is written here *before* it is confirmed to
//! Telegram (the next `getUpdates` offset past it), so a crash between the two makes Telegram
//! send it again (and the log recognises it by its upstream id) rather than lose it. Each
//! consumer has its own cursor, the last log id it confirmed; an update is kept until every
//! registered consumer confirmed it, or until it is older than the retention (24 hours, as on
//! Telegram).

use crate::ids::Timestamp;

/// An update's id in the log, assigned by the store: increasing from 1, never reused, and below
/// 2^31 ([`LogId::MAX`]), which is what Bot API clients expect of an `update_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct LogId(pub i64);

impl LogId {
    /// Before the first update: a consumer confirmed at `LogId::ZERO` has confirmed nothing.
    pub const ZERO: LogId = LogId(0);
    /// The highest id a log assigns (`i32::MAX`); appending past it is refused.
    pub const MAX: LogId = LogId(i32::MAX as i64);

    /// The id after this one.
    pub fn next(self) -> LogId {
        LogId(self.0.saturating_add(1))
    }
}

impl std::fmt::Display for LogId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An update as fetched from upstream, to be appended to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Its `update_id` on Telegram.
    pub upstream_id: i64,
    /// The update as Telegram sent it, JSON text (its `update_id` still Telegram's).
    pub payload: String,
}

/// An update as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// Its id in the log.
    pub id: LogId,
    /// Its `update_id` on Telegram.
    pub upstream_id: i64,
    /// The update as Telegram sent it, JSON text.
    pub payload: String,
    /// When it was appended.
    pub received: Timestamp,
}

/// Where the log stands; survives the pruning of every update it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogHead {
    /// The last id assigned ([`LogId::ZERO`] before the first append).
    pub last_id: LogId,
    /// Telegram's id of the last update appended: the next upstream `getUpdates` offset is one
    /// past it. `None` before the first append.
    pub last_upstream_id: Option<i64>,
}

/// A reader of the log and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// Its name (`desk`, `bot`, ...).
    pub name: String,
    /// The last log id it confirmed: every update up to this one is done for it.
    pub confirmed: LogId,
    /// What the consumer keeps between runs (a host bot's `allowed_updates` and webhook, as JSON
    /// text), opaque to the store.
    pub settings: Option<String>,
}

/// How long the log keeps an update some consumer has not confirmed (Telegram's own 24 hours).
pub const RETENTION_SECS: i64 = 24 * 60 * 60;
