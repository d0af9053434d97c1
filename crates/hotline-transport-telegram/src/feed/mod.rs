//! The update log's live side: the store's log (see [`hotline_core::store::Logged`]) with the
//! signals its readers wait on, and the one upstream poller that fills it.
//!
//! One process polls Telegram; every update it gets is appended to the store *before* the next
//! poll's offset confirms it to Telegram, so a crash between the two costs nothing (Telegram sends
//! it again; the log knows it by its upstream id). Readers (the desk's runner, a host bot behind
//! the gateway) each keep their own cursor in the store and wait on [`UpdateLog::appended`] (or,
//! for readers that must come after the desk, [`UpdateLog::desk_seen`]).
//!
//! What this process appended last is also kept in memory ([`UpdateLog::read`]), so readers in
//! the same process take a fresh update without reading it back from the store: the store holds
//! it already (it was appended first), the copy only spares the round trip.

pub(crate) mod upstream;

pub use upstream::CONFLICT_BACKOFF;

use hotline_core::{Fetched, LogId, Logged, Store, StoreError, Timestamp};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// How many of the updates this process appended last are kept in memory for its readers.
const RECENT: usize = 1_024;

/// The name the desk's runner confirms updates under in the log.
pub const DESK_CONSUMER: &str = "desk";

/// The store's update log and the signals of its readers. Cheap to clone; every clone is the
/// same log. A [`crate::Hotline`] holds one over its store ([`crate::Hotline::update_log`]).
#[derive(Clone)]
pub struct UpdateLog {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    appended: watch::Sender<LogId>,
    desk_seen: watch::Sender<LogId>,
    /// The update kinds each consumer asks for, beyond the desk's own; the upstream poll asks
    /// for their union. A change wakes the poller (`wanted_changed`) so it asks again at once.
    wanted: Mutex<BTreeMap<String, BTreeSet<String>>>,
    wanted_changed: watch::Sender<u64>,
    /// The last [`RECENT`] updates this process appended, ids ascending (not always
    /// consecutive: another process may append to a shared store between them).
    recent: Mutex<VecDeque<Logged>>,
}

impl std::fmt::Debug for UpdateLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateLog")
            .field("appended", &*self.inner.appended.borrow())
            .field("desk_seen", &*self.inner.desk_seen.borrow())
            .finish_non_exhaustive()
    }
}

impl UpdateLog {
    /// The log kept in `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                appended: watch::Sender::new(LogId::ZERO),
                desk_seen: watch::Sender::new(LogId::ZERO),
                wanted: Mutex::default(),
                wanted_changed: watch::Sender::new(0),
                recent: Mutex::default(),
            }),
        }
    }

    /// The store the log is kept in.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Appends updates durably and then tells the readers. Returns each one's log id.
    pub async fn append(
        &self,
        updates: Vec<Fetched>,
        received: Timestamp,
    ) -> Result<Vec<LogId>, StoreError> {
        let ids = self
            .inner
            .store
            .append_updates(updates.clone(), received)
            .await?;
        self.remember(&ids, updates, received);
        if let Some(&last) = ids.iter().max() {
            self.note_appended(last);
        }
        Ok(ids)
    }

    /// Keeps what was just appended for [`UpdateLog::read`]: the ids past the last one kept
    /// (an update given again has its first id, already kept or older).
    fn remember(&self, ids: &[LogId], updates: Vec<Fetched>, received: Timestamp) {
        let mut recent = self.inner.recent.lock().unwrap_or_else(|e| e.into_inner());
        for (&id, update) in ids.iter().zip(updates) {
            if recent.back().is_some_and(|last| last.id >= id) {
                continue;
            }
            recent.push_back(Logged {
                id,
                upstream_id: update.upstream_id,
                payload: update.payload,
                received,
            });
            if recent.len() > RECENT {
                recent.pop_front();
            }
        }
    }

    /// The updates after `after`, at most `limit`, as [`Store::logged_updates`] gives them:
    /// from memory when this process appended the very next ones (only the run of consecutive
    /// ids from `after + 1`, so nothing another process appended in between is skipped: the
    /// reader asks again from the last it got), otherwise from the store.
    pub async fn read(&self, after: LogId, limit: usize) -> Result<Vec<Logged>, StoreError> {
        if let Some(kept) = self.recent_after(after, limit) {
            return Ok(kept);
        }
        self.inner.store.logged_updates(after, limit).await
    }

    fn recent_after(&self, after: LogId, limit: usize) -> Option<Vec<Logged>> {
        let recent = self.inner.recent.lock().unwrap_or_else(|e| e.into_inner());
        let next = LogId(after.0.checked_add(1)?);
        let start = recent.binary_search_by_key(&next, |l| l.id).ok()?;
        let mut kept: Vec<Logged> = Vec::new();
        for (expected, logged) in (next.0..).zip(recent.range(start..)) {
            if logged.id.0 != expected || kept.len() >= limit {
                break;
            }
            kept.push(logged.clone());
        }
        (!kept.is_empty()).then_some(kept)
    }

    /// Tells the readers the log reaches `last` (at least).
    pub(crate) fn note_appended(&self, last: LogId) {
        self.inner.appended.send_if_modified(|seen| {
            let moved = last > *seen;
            if moved {
                *seen = last;
            }
            moved
        });
    }

    /// The last log id known appended: `changed()` on it wakes a reader when more come.
    pub fn appended(&self) -> watch::Receiver<LogId> {
        self.inner.appended.subscribe()
    }

    /// The last log id the desk has taken in (handed to its lanes, or found not its business):
    /// a reader that must see an update only after the desk did (a host bot behind the gateway,
    /// whose reply the desk mirrors into a topic the user's message opens) reads up to here.
    pub fn desk_seen(&self) -> watch::Receiver<LogId> {
        self.inner.desk_seen.subscribe()
    }

    pub(crate) fn note_desk_seen(&self, id: LogId) {
        self.inner.desk_seen.send_if_modified(|seen| {
            let moved = id > *seen;
            if moved {
                *seen = id;
            }
            moved
        });
    }

    /// Asks the upstream poll for `kinds` (`allowed_updates` names) on behalf of `consumer`, on
    /// top of the desk's own ([`crate::ALLOWED_UPDATES`]); replaces what it asked for before. A
    /// change makes the poller ask Telegram again at once.
    pub fn want(&self, consumer: &str, kinds: BTreeSet<String>) {
        let mut wanted = self.inner.wanted.lock().unwrap_or_else(|p| p.into_inner());
        if wanted.get(consumer) == Some(&kinds) {
            return;
        }
        wanted.insert(consumer.to_owned(), kinds);
        drop(wanted);
        self.inner.wanted_changed.send_modify(|n| *n += 1);
    }

    /// The union of what every consumer asks for and what the desk needs, sorted.
    pub fn allowed_updates(&self) -> Vec<String> {
        let wanted = self.inner.wanted.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: BTreeSet<String> = crate::ALLOWED_UPDATES
            .iter()
            .map(|k| (*k).to_owned())
            .collect();
        for kinds in wanted.values() {
            all.extend(kinds.iter().cloned());
        }
        all.into_iter().collect()
    }

    /// Changes whenever [`UpdateLog::allowed_updates`] may have: whoever receives from Telegram
    /// by webhook sets it again with the new list.
    pub fn wanted_changed(&self) -> watch::Receiver<u64> {
        self.inner.wanted_changed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_core::MemoryStore;

    fn fetched(upstream_id: i64) -> Fetched {
        Fetched {
            upstream_id,
            payload: format!(r#"{{"update_id":{upstream_id}}}"#),
        }
    }

    fn upstream(read: &[Logged]) -> Vec<i64> {
        read.iter().map(|l| l.upstream_id).collect()
    }

    #[tokio::test]
    async fn reads_give_what_the_store_gives_even_across_another_process_appends() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let log = UpdateLog::new(Arc::clone(&store));
        log.append(vec![fetched(1), fetched(2)], Timestamp(5))
            .await
            .unwrap();
        // Another process appends to the shared store: this one never saw update 3.
        store
            .append_updates(vec![fetched(3)], Timestamp(6))
            .await
            .unwrap();
        log.append(vec![fetched(4), fetched(2)], Timestamp(7))
            .await
            .unwrap();
        let mut after = LogId::ZERO;
        let mut got = Vec::new();
        loop {
            let read = log.read(after, 100).await.unwrap();
            let Some(last) = read.last() else { break };
            after = last.id;
            got.extend(read);
        }
        let stored = store.logged_updates(LogId::ZERO, 100).await.unwrap();
        assert_eq!(
            got, stored,
            "read in pages, the log is the store's, in order"
        );
        assert_eq!(upstream(&got), [1, 2, 3, 4]);
        assert_eq!(
            upstream(&log.read(LogId::ZERO, 100).await.unwrap()),
            [1, 2],
            "from memory, only the consecutive run: the reader asks again for the rest"
        );
        assert_eq!(upstream(&log.read(LogId(3), 1).await.unwrap()), [4]);
        assert_eq!(
            upstream(&log.read(LogId(0), 1).await.unwrap()),
            [1],
            "at most `limit`"
        );
    }
}
