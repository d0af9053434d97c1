//! Events whose sends all went out but whose final commit failed, kept in memory so that the
//! same event handled again (a runner's retry) retries the commit instead of sending everything
//! again. Lost at a restart: Telegram has no idempotency key, so what was sent before a crash
//! and never recorded may be sent once more then.

use crate::event::EventKey;
use crate::ids::UserId;
use crate::store::Commit;
use foldhash::HashMap;
use std::sync::Mutex;

/// The most commits kept; beyond it an event is sent again when retried, as after a restart.
const CAPACITY: usize = 10_000;

#[derive(Debug, Default)]
pub(super) struct Unrecorded(Mutex<HashMap<EventKey, Commit>>);

impl Unrecorded {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<EventKey, Commit>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn keep(&self, key: EventKey, commit: Commit) {
        let mut map = self.map();
        if map.len() < CAPACITY || map.contains_key(&key) {
            map.insert(key, commit);
        }
    }

    pub(super) fn take(&self, key: &EventKey) -> Option<Commit> {
        let mut map = self.map();
        if map.is_empty() {
            return None;
        }
        map.remove(key)
    }

    /// A newer state of `user`'s conversation was stored: a kept commit must not write its
    /// older one back over it (its links and its event key still land).
    pub(super) fn superseded(&self, user: UserId) {
        let mut map = self.map();
        if map.is_empty() {
            return;
        }
        for commit in map.values_mut() {
            if commit.conversation.as_ref().is_some_and(|c| c.user == user) {
                commit.conversation = None;
            }
        }
    }
}
