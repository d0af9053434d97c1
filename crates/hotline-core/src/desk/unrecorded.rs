//! Events whose sends all went out but whose final commit failed, kept in memory so that the
//! same event handled again (a runner's retry) retries the commit instead of sending everything
//! again. Lost at a restart: Telegram has no idempotency key, so what was sent before a crash
//! and never recorded may be sent once more then.

use crate::event::EventKey;
use crate::ids::UserId;
use crate::store::Commit;
use foldhash::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The most commits kept; beyond it an event is sent again when retried, as after a restart.
const CAPACITY: usize = 10_000;

/// Every event asks it (at its start, and at each commit): `held` says, without taking the lock
/// all users share, whether there is anything to look at, which is rare.
#[derive(Debug, Default)]
pub(super) struct Unrecorded {
    commits: Mutex<HashMap<EventKey, Commit>>,
    /// Whether `commits` may be non-empty; set under the lock before an insert, cleared under
    /// it when the map empties.
    held: AtomicBool,
}

impl Unrecorded {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<EventKey, Commit>> {
        self.commits.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn keep(&self, key: EventKey, commit: Commit) {
        let mut map = self.map();
        if map.len() < CAPACITY || map.contains_key(&key) {
            self.held.store(true, Ordering::Release);
            map.insert(key, commit);
        }
    }

    pub(super) fn take(&self, key: &EventKey) -> Option<Commit> {
        if !self.held.load(Ordering::Acquire) {
            return None;
        }
        let mut map = self.map();
        let commit = map.remove(key);
        if map.is_empty() {
            self.held.store(false, Ordering::Release);
        }
        commit
    }

    /// A newer state of `user`'s conversation was stored: a kept commit must not write its
    /// older one back over it (its links and its event key still land).
    pub(super) fn superseded(&self, user: UserId) {
        if !self.held.load(Ordering::Acquire) {
            return;
        }
        let mut map = self.map();
        for commit in map.values_mut() {
            if commit.conversation.as_ref().is_some_and(|c| c.user == user) {
                commit.conversation = None;
            }
        }
    }
}
