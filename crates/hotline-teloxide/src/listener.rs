//! [`listener`]: the host's updates read from the desk's durable update log, for a bot that
//! must lose nothing on a crash.
//!
//! teloxide's own polling confirms a batch to Telegram (the next `getUpdates` offset) as soon as
//! it has handed the batch to the dispatcher, before any handler ran: an update the desk had
//! not yet recorded is lost with the process. Hotline's own runner
//! ([`Hotline::run_polling`]) writes every update to the store's log before confirming it
//! upstream and moves the desk's cursor past an update only once the desk finished it. This
//! listener is a second reader of that log, as a host bot behind the gateway is: it gives the
//! dispatcher each update once the desk has taken it in (so a reply is mirrored into the topic
//! the user's message opened), leaves out what is the desk's alone, and confirms its own cursor.

use crate::Error;
use futures_util::stream::BoxStream;
use hotline_transport_telegram::Hotline;
use hotline_transport_telegram::hotline_core::{LogId, RetryPolicy};
use serde_json::Value;
use std::collections::{BTreeSet, VecDeque};
use teloxide::stop::{StopFlag, StopToken, mk_stop_token};
use teloxide::types::{AllowedUpdate, Update};
use teloxide::update_listeners::{AsUpdateStream, UpdateListener};
use tokio::sync::watch;

/// The name the listener confirms its place in the update log under.
pub const CONSUMER: &str = "teloxide";

/// How many logged updates one read takes.
const PAGE: usize = 100;

/// The host's teloxide [`UpdateListener`] over the desk's update log: pass it to
/// `Dispatcher::dispatch_with_listener` and run the desk with [`Hotline::run_polling`] (which
/// alone talks to Telegram for updates) in the same process. Do not put [`crate::branch`] in
/// the tree as well: the desk already reads every update from the log.
///
/// The dispatcher's `allowed_updates` hint is passed on to the desk's poller (on top of the
/// desk's own kinds), and the dispatcher gets only those kinds. The listener confirms an update
/// once the dispatcher has taken the whole page it came in: like teloxide's own polling, an
/// update in the host's hands at a crash is not given again (the desk's part of it is never
/// lost: the desk has its own cursor). On its first start over a store the listener reads the
/// log from its beginning: the updates the log still keeps (up to 24 hours) are the host's too.
pub fn listener(hotline: Hotline) -> LogListener {
    let (stop, flag) = mk_stop_token();
    LogListener {
        hotline,
        kinds: None,
        stop,
        flag,
    }
}

/// See [`listener`].
pub struct LogListener {
    hotline: Hotline,
    /// The kinds the dispatcher handles; `None` until it says (then every kind is given).
    kinds: Option<BTreeSet<String>>,
    stop: StopToken,
    flag: StopFlag,
}

impl std::fmt::Debug for LogListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogListener")
            .field("kinds", &self.kinds)
            .finish_non_exhaustive()
    }
}

impl UpdateListener for LogListener {
    type Err = Error;

    fn stop_token(&mut self) -> StopToken {
        self.stop.clone()
    }

    fn hint_allowed_updates(&mut self, hint: &mut dyn Iterator<Item = AllowedUpdate>) {
        let kinds: BTreeSet<String> = hint
            .filter_map(|kind| serde_json::to_value(kind).ok())
            .filter_map(|kind| kind.as_str().map(str::to_owned))
            .collect();
        self.hotline.update_log().want(CONSUMER, kinds.clone());
        self.kinds = Some(kinds);
    }
}

impl<'a> AsUpdateStream<'a> for LogListener {
    type StreamErr = Error;
    type Stream = BoxStream<'a, Result<Update, Error>>;

    fn as_stream(&'a mut self) -> Self::Stream {
        let reader = Reader {
            hotline: self.hotline.clone(),
            kinds: self.kinds.clone(),
            seen: self.hotline.update_log().desk_seen(),
            flag: self.flag.clone(),
            cursor: None,
            unconfirmed: None,
            ready: VecDeque::new(),
            failures: 0,
        };
        Box::pin(futures_util::stream::unfold(
            reader,
            |mut reader| async move {
                let next = reader.next().await?;
                Some((next, reader))
            },
        ))
    }
}

/// The listener's place in the log while the dispatcher reads it.
struct Reader {
    hotline: Hotline,
    kinds: Option<BTreeSet<String>>,
    /// How far the desk has taken the log in.
    seen: watch::Receiver<LogId>,
    flag: StopFlag,
    /// The last log id read; `None` before the consumer is looked up.
    cursor: Option<LogId>,
    /// The end of the last page read, confirmed when the dispatcher asks for more.
    unconfirmed: Option<LogId>,
    ready: VecDeque<Update>,
    /// Reads of the log that failed in a row: the next waits out the outage policy's back-off.
    failures: u32,
}

impl Reader {
    /// The next update for the dispatcher; `None` once stopped.
    async fn next(&mut self) -> Option<Result<Update, Error>> {
        loop {
            if let Some(update) = self.ready.pop_front() {
                return Some(Ok(update));
            }
            if self.flag.is_stopped() {
                self.confirm().await;
                return None;
            }
            if self.failures > 0 {
                // The store failed: wait (the dispatcher's error handler has logged it) rather
                // than ask it again at once.
                let wait = RetryPolicy::outage().backoff(self.failures);
                let flag = &mut self.flag;
                tokio::select! {
                    () = tokio::time::sleep(wait) => {},
                    () = flag => continue,
                }
            }
            // The dispatcher took every update of the last page: confirm it.
            self.confirm().await;
            let cursor = match self.cursor {
                Some(cursor) => cursor,
                None => match self.register().await {
                    Ok(cursor) => *self.cursor.insert(cursor),
                    Err(error) => return Some(Err(self.failed(error))),
                },
            };
            let seen = *self.seen.borrow_and_update();
            if cursor < seen {
                match self.read(cursor, seen).await {
                    Ok(()) => self.failures = 0,
                    Err(error) => return Some(Err(self.failed(error))),
                }
                continue;
            }
            let flag = &mut self.flag;
            tokio::select! {
                changed = self.seen.changed() => if changed.is_err() {
                    // The log is gone (the Hotline dropped): nothing more will come.
                    return None;
                },
                () = flag => {},
            }
        }
    }

    fn failed(&mut self, error: Error) -> Error {
        self.failures = self.failures.saturating_add(1);
        error
    }

    async fn register(&self) -> Result<LogId, Error> {
        let store = self.hotline.update_log().store();
        let consumer = store.register_consumer(CONSUMER, LogId::ZERO).await?;
        Ok(consumer.confirmed)
    }

    /// Reads the page after `cursor`, up to `seen`, into `ready`.
    async fn read(&mut self, cursor: LogId, seen: LogId) -> Result<(), Error> {
        let page = self
            .hotline
            .update_log()
            .store()
            .logged_updates(cursor, PAGE)
            .await?;
        // Nothing left to read below `seen` (pruned): skip to it.
        let mut last = if page.is_empty() { seen } else { cursor };
        for logged in page {
            if logged.id > seen {
                break;
            }
            last = logged.id;
            if let Some(update) = self.deliverable(&logged.payload) {
                self.ready.push_back(update);
            }
        }
        self.cursor = Some(last);
        self.unconfirmed = Some(last);
        Ok(())
    }

    /// The update for the host, unless it is of a kind the host does not handle or the desk's
    /// alone (the operators' group, Hotline's button).
    fn deliverable(&self, payload: &str) -> Option<Update> {
        let Ok(Value::Object(update)) = serde_json::from_str::<Value>(payload) else {
            return None;
        };
        let kind = update.keys().find(|k| k.as_str() != "update_id")?;
        if self
            .kinds
            .as_ref()
            .is_some_and(|kinds| !kinds.contains(kind))
        {
            return None;
        }
        if self.hotline.is_desks_alone(payload) {
            return None;
        }
        // From the text: teloxide's types read Telegram's JSON (not a `Value`) faithfully.
        match serde_json::from_str::<Update>(payload) {
            Ok(update) => Some(update),
            Err(error) => {
                tracing::warn!(%error, "hotline: a logged update teloxide cannot read was skipped");
                None
            }
        }
    }

    async fn confirm(&mut self) {
        let Some(upto) = self.unconfirmed.take() else {
            return;
        };
        let store = self.hotline.update_log().store();
        if let Err(error) = store.confirm_updates(CONSUMER, upto).await {
            tracing::warn!(%error, "hotline: the teloxide listener's place in the log could not be saved");
            self.unconfirmed = Some(upto);
        }
    }
}
