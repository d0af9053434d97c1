//! The update log's live side: the store's log (see [`hotline_core::store::Logged`]) with the
//! signals its readers wait on, and the one upstream poller that fills it.
//!
//! One process polls Telegram; every update it gets is appended to the store *before* the next
//! poll's offset confirms it to Telegram, so a crash between the two costs nothing (Telegram sends
//! it again; the log knows it by its upstream id). Readers (the desk's runner, a host bot behind
//! the gateway) each keep their own cursor in the store and wait on [`UpdateLog::appended`] (or,
//! for readers that must come after the desk, [`UpdateLog::desk_seen`]).

pub(crate) mod upstream;

pub use upstream::CONFLICT_BACKOFF;

use hotline_core::{Fetched, LogId, Store, StoreError, Timestamp};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

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
        let ids = self.inner.store.append_updates(updates, received).await?;
        if let Some(&last) = ids.iter().max() {
            self.note_appended(last);
        }
        Ok(ids)
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
