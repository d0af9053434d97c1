//! Dead letters: updates the desk could not handle after every attempt, set aside durably so
//! that one bad update never holds back the others, and kept until an operator retries or drops
//! them.

use crate::ids::{Timestamp, UserId};

/// A dead letter's id in its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeadLetterId(pub i64);

impl std::fmt::Display for DeadLetterId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for DeadLetterId {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(DeadLetterId)
    }
}

/// An update set aside, as a runner records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeadLetter {
    /// What identifies the update at its source (`telegram:<update_id>`): setting the same update
    /// aside again (it was delivered again after a crash) adds to the record instead of making a
    /// second one.
    pub key: String,
    /// The user the update concerns, when it decoded far enough to say.
    pub user: Option<UserId>,
    /// The update itself, as JSON text, enough to hand it to the desk again.
    pub payload: String,
    /// The last error, with its chain of sources.
    pub error: String,
    /// How many times handling it was tried.
    pub attempts: u32,
    /// When the first attempt failed.
    pub first_failed: Timestamp,
    /// When the last attempt failed.
    pub last_failed: Timestamp,
}

/// An update set aside, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its id, for `retry` and `drop`.
    pub id: DeadLetterId,
    /// What identifies the update at its source.
    pub key: String,
    /// The user the update concerns, if known.
    pub user: Option<UserId>,
    /// The update, as JSON text.
    pub payload: String,
    /// The last error, with its chain of sources.
    pub error: String,
    /// Attempts in all, over every time it was set aside or retried.
    pub attempts: u32,
    /// When the first attempt failed.
    pub first_failed: Timestamp,
    /// When the last attempt failed.
    pub last_failed: Timestamp,
}

impl DeadLetter {
    /// The stored form of `letter` under `id`.
    pub fn new(id: DeadLetterId, letter: NewDeadLetter) -> Self {
        Self {
            id,
            key: letter.key,
            user: letter.user,
            payload: letter.payload,
            error: letter.error,
            attempts: letter.attempts,
            first_failed: letter.first_failed,
            last_failed: letter.last_failed,
        }
    }

    /// Folds a later failure of the same update into this record: attempts add up, the first
    /// failure stays, the last error and time are the newest.
    pub fn absorb(&mut self, later: NewDeadLetter) {
        self.attempts = self.attempts.saturating_add(later.attempts);
        self.first_failed = self.first_failed.min(later.first_failed);
        self.last_failed = self.last_failed.max(later.last_failed);
        self.error = later.error;
        self.payload = later.payload;
        if later.user.is_some() {
            self.user = later.user;
        }
    }
}

/// What [`crate::Store::set_aside`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetAside {
    /// The record's id.
    pub id: DeadLetterId,
    /// Whether the record is new (the operators have not been told yet), rather than an update
    /// set aside before and again now.
    pub created: bool,
}
