//! Long polling through the update log: the upstream poller (`feed/upstream.rs`) appends, the
//! desk's reader here takes updates from the log and confirms its place in it.
//!
//! Updates are handled concurrently (each user's in order), so they finish out of order. The
//! place the desk confirms in the log is the low watermark: just before the first update not
//! yet finished. A crash therefore reads again at most what was in flight, and the store's
//! record of handled events keeps those from being relayed twice.

use super::settle::Settled;
use crate::Error;
use crate::albums::Run;
use crate::decode::RawUpdate;
use crate::feed::DESK_CONSUMER;
use crate::hotline::Hotline;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use hotline_core::{LogId, Logged, RetryPolicy, TransportError};
use serde_json::json;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long a stopping runner waits for the calls already sent before it confirms what was
/// handled and returns: well within the 10 s a container gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// The most updates the desk's reader holds at once (taken from the log and not yet finished):
/// enough that a backlog keeps every lane busy and an album's parts are taken in within its
/// quiet period, few enough to bound the memory a backlog takes.
const WINDOW: usize = 1_000;

/// How often, under traffic, the desk saves its place in the update log.
const CONFIRM_EVERY: Duration = Duration::from_millis(200);

/// The update kinds the desk needs (`allowed_updates`): a host bot that sets its own list should
/// include these. `message_reaction` must be asked for explicitly on Telegram.
pub const ALLOWED_UPDATES: &[&str] = &[
    "message",
    "edited_message",
    "callback_query",
    "message_reaction",
    "my_chat_member",
];

impl Hotline {
    /// `deleteWebhook`, retried by the call policy while Telegram is unreachable and for as
    /// long as it asks on a 429: a runner must not give up at start for a passing failure.
    async fn remove_webhook(&self) -> Result<(), Error> {
        let policy = RetryPolicy::calls().with_attempts(30);
        let stop = self.desk.stop_signal();
        let mut failures = 0;
        loop {
            let error = match self
                .client
                .call("deleteWebhook", json!({"drop_pending_updates": false}))
                .await
            {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            let wait = match error.classify() {
                TransportError::RetryAfter(wait) => wait,
                TransportError::Unavailable(_) if policy.allows(failures + 1) => {
                    failures += 1;
                    tracing::warn!(%error, "hotline: deleteWebhook failed; retrying");
                    policy.backoff(failures)
                }
                _ => return Err(error.into()),
            };
            policy
                .wait(stop, wait)
                .await
                .map_err(hotline_core::Error::from)?;
        }
    }

    /// Runs the bot alone with long polling until `shutdown` resolves (pass
    /// [`crate::shutdown_signal`] for Ctrl-C / SIGTERM), then stops within a few seconds.
    ///
    /// Two halves share the store's update log ([`Hotline::update_log`]): one poller fetches
    /// from Telegram and appends every update to the log *before* its next poll confirms it
    /// upstream, so a wait or a slow desk never makes Telegram send the same updates again; the
    /// desk reads the log from its own cursor, handling each user's updates in order, and moves
    /// the cursor past what it has finished. A crash re-reads what was in flight from the log,
    /// and the store's record of handled events keeps it from being relayed twice.
    ///
    /// At `shutdown` it takes no more updates, gives the desk's every wait (a 429's
    /// `retry_after`, pacing, back-off) up at once, lets the calls already sent finish (for up
    /// to [`STOP_GRACE`]), confirms in the log only the updates that were handled, and returns.
    ///
    /// An update whose handling fails is handed to the desk again by the update policy
    /// ([`crate::HotlineBuilder::update_retry`]) and, if it keeps failing while others go
    /// through, set aside as a dead letter (the operators are told), so it never holds back
    /// the rest. A webhook left set on the bot is removed first (Telegram refuses `getUpdates`
    /// while one is set). An update that cannot be decoded (a kind newer than this library) is
    /// logged and skipped. With the default in-memory store the log is in memory too: what was
    /// fetched and not yet handled is lost with the process, so give a durable store in
    /// production.
    pub async fn run_polling(&self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        tokio::pin!(shutdown);
        tokio::select! {
            started = self.remove_webhook() => started?,
            () = &mut shutdown => return Ok(()),
        }
        // The poller runs on a task of its own: polled from the reader's loop, it would sit
        // suspended mid-append (holding a SQL store's one writer) whenever the reader awaits
        // the store itself, and the reader would wait for that writer forever.
        let (client, log, desk) = (
            self.client.clone(),
            self.update_log.clone(),
            self.desk.clone(),
        );
        let feeder = tokio::spawn(async move {
            crate::feed::upstream::poll_into(&client, &log, move || desk.now()).await;
        });
        let _stop_feeding = AbortOnDrop(feeder.abort_handle());
        self.consume_log(Some(feeder.abort_handle()), shutdown)
            .await
    }

    /// Runs the desk on the update log alone, until `shutdown` resolves, for a process where
    /// something else fills the log ([`UpdateLog::append`](crate::feed::UpdateLog::append):
    /// the gateway's Telegram webhook, say). Stops as [`Hotline::run_polling`] does.
    pub async fn run_from_log(&self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        self.consume_log(None, shutdown).await
    }

    /// The desk's reader of the log: takes in what the poller `feeder` (or anyone) appends, at
    /// most [`WINDOW`] updates in hand, until `shutdown`; then stops the feeder first, so that
    /// nothing more is fetched while the desk finishes.
    async fn consume_log(
        &self,
        feeder: Option<tokio::task::AbortHandle>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Error> {
        tokio::pin!(shutdown);
        self.load_set_aside().await?;
        self.keep_delivering();
        let log = &self.update_log;
        let store = log.store();
        let mut appended = log.appended();
        let registered = tokio::select! {
            registered = register_desk(log) => registered,
            () = &mut shutdown => return Ok(()),
        };
        let ticker = self.spawn_ticker(self.tick_every);
        // The tasks handling updates (see `handle_on_a_task`), each resolving to its update's
        // log id when the desk is done with it.
        let hotline = Arc::new(self.clone());
        let mut finishing: FuturesUnordered<BoxFuture<'static, (LogId, Settled)>> =
            FuturesUnordered::new();
        // log id → finished? for every update taken in and not yet confirmed.
        let mut in_flight: BTreeMap<LogId, bool> = BTreeMap::new();
        // The last update taken in, and the last one confirmed in the log.
        let mut taken = registered;
        let mut confirmed = registered;
        let mut last_confirm = Instant::now();
        log.note_desk_seen(taken);
        'reading: loop {
            while let Some(Some(done)) = finishing.next().now_or_never() {
                finished(&mut in_flight, done);
            }
            let done_up_to = confirmable(&mut in_flight, taken);
            // One write per confirmation period under traffic, at once when idle: a crash
            // re-reads at most a period's worth, which the store's record of handled events
            // keeps from being relayed twice.
            if done_up_to > confirmed
                && (in_flight.is_empty() || last_confirm.elapsed() >= CONFIRM_EVERY)
            {
                match store.confirm_updates(DESK_CONSUMER, done_up_to).await {
                    Ok(()) => confirmed = done_up_to,
                    Err(error) => {
                        tracing::warn!(%error, "hotline: the desk's place in the update log could not be saved");
                    }
                }
                last_confirm = Instant::now();
            }
            let head = *appended.borrow_and_update();
            if head > taken && in_flight.len() < WINDOW {
                let room = WINDOW - in_flight.len();
                let read = tokio::select! {
                    read = log.read(taken, room) => read,
                    () = &mut shutdown => break 'reading,
                };
                match read {
                    Ok(batch) if batch.is_empty() => {
                        // Pruned (expired) before the desk got to them.
                        tracing::warn!(from = %taken, to = %head, "hotline: updates expired from the log before the desk read them");
                        taken = head;
                        in_flight.entry(head).or_insert(true);
                    }
                    Ok(batch) => {
                        for logged in batch {
                            taken = logged.id;
                            self.take_logged(&hotline, logged, &mut in_flight, &mut finishing);
                        }
                        log.note_desk_seen(taken);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "hotline: the update log could not be read; retrying");
                        hotline_core::report_unobserved(
                            "update log",
                            "hotline: the update log could not be read; retrying",
                            &error,
                        );
                        tokio::select! {
                            () = &mut shutdown => break 'reading,
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
                continue;
            }
            tokio::select! {
                () = &mut shutdown => break 'reading,
                Some(done) = finishing.next() => finished(&mut in_flight, done),
                changed = appended.changed() => {
                    if changed.is_err() {
                        break 'reading;
                    }
                }
                () = tokio::time::sleep(CONFIRM_EVERY), if confirmable_now(&in_flight, taken) > confirmed => {}
            }
        }
        if let Some(feeder) = &feeder {
            feeder.abort();
        }
        ticker.abort();
        // Every wait ends now; what is on the wire may finish, for a bounded time.
        self.desk.stop_signal().stop();
        let deadline = Instant::now() + STOP_GRACE;
        while let Ok(Some(done)) = tokio::time::timeout_at(deadline, finishing.next()).await {
            finished(&mut in_flight, done);
        }
        let done_up_to = confirmable(&mut in_flight, taken);
        if done_up_to > confirmed
            && let Err(error) = store.confirm_updates(DESK_CONSUMER, done_up_to).await
        {
            tracing::warn!(%error, "hotline: the desk's place in the update log could not be saved");
        }
        Ok(())
    }

    /// Hands one logged update to the desk (in log order, so each lane keeps its order), or
    /// records it as finished when it is not the desk's to handle.
    fn take_logged(
        &self,
        hotline: &Arc<Hotline>,
        logged: Logged,
        in_flight: &mut BTreeMap<LogId, bool>,
        finishing: &mut FuturesUnordered<BoxFuture<'static, (LogId, Settled)>>,
    ) {
        let id = logged.id;
        // Read in one pass (a message straight into the desk's lean type); if that fails, with
        // the content kept raw, so the update fails below, in decoding, with a reason.
        let read = serde_json::from_str::<RawUpdate>(&logged.payload).or_else(|_| {
            serde_json::from_str::<crate::decode::Guarded>(&logged.payload).map(|g| g.0)
        });
        let update = match read {
            Ok(update @ RawUpdate::Read { .. }) => update,
            Ok(RawUpdate::Unreadable) | Err(_) => {
                tracing::warn!(log_id = %id, "hotline: a logged update could not be read and was skipped");
                in_flight.insert(id, true);
                return;
            }
        };
        if self.set_aside_keys.holds_update(logged.upstream_id) {
            // Set aside before a crash kept the desk's place from moving past it.
            tracing::info!(
                update_id = logged.upstream_id,
                "hotline: an update set aside earlier was read again and skipped"
            );
            in_flight.insert(id, true);
            return;
        }
        match update.decode_caught(self.backend_group()) {
            Ok(decoded) => {
                in_flight.insert(id, false);
                let completion = self.take_decoded(decoded, Run::Here).completion;
                finishing.push(handle_on_a_task(hotline, id, update, completion));
            }
            Err(error) => {
                tracing::warn!(%error, update_id = logged.upstream_id, "hotline: an update could not be decoded and was skipped");
                in_flight.insert(id, true);
            }
        }
    }
}

/// Aborts a task when dropped: the poller must not outlive its runner, however it ends.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Registers the desk as a consumer of the log (from the start of what is kept, on a new store),
/// waiting out a store that is down. Returns the last id it had confirmed.
async fn register_desk(log: &crate::feed::UpdateLog) -> LogId {
    let outage = RetryPolicy::outage();
    let mut failures = 0;
    loop {
        match log
            .store()
            .register_consumer(DESK_CONSUMER, LogId::ZERO)
            .await
        {
            Ok(consumer) => return consumer.confirmed,
            Err(error) => {
                failures += 1;
                tracing::warn!(%error, "hotline: the update log could not be read; retrying");
                tokio::time::sleep(outage.backoff(failures)).await;
            }
        }
    }
}

/// Runs an update's completion (and its hand-overs after passing failures) on a task of its own;
/// the returned future resolves to the update's id when that task ends.
///
/// The completion does the desk's work itself when the update's lane was idle
/// (`Desk::run_in_lane`): the update's task is then the only one it takes. A task per update
/// rather than all completions polled by the runner's own task: the desk's side of a relay (its
/// calls' requests and answers, its bookkeeping) weighs as much as Telegram's side, and on the
/// runner's task it would all run on one core while the others wait. A task per update costs a
/// little more work and lets every core share it (measured in `docs/benchmarks.md`).
fn handle_on_a_task(
    hotline: &Arc<Hotline>,
    id: LogId,
    update: RawUpdate,
    completion: crate::Completion,
) -> Pin<Box<dyn Future<Output = (LogId, Settled)> + Send>> {
    let hotline = Arc::clone(hotline);
    let task = tokio::spawn(async move { hotline.settle(&update, completion).await });
    Box::pin(async move {
        match task.await {
            Ok(settled) => (id, settled),
            Err(error) => {
                // Settling catches the desk's panics; this is a bug in the runner itself. The
                // update counts as finished: left unconfirmed it would hold the offset, and so
                // every later update, forever.
                tracing::error!(%error, log_id = %id, "hotline: an update's task ended abnormally; it is skipped");
                (id, Settled::Handled)
            }
        }
    })
}

/// Records how an update ended: confirmable, or held (unconfirmed) until the runner stops.
fn finished(in_flight: &mut BTreeMap<LogId, bool>, (id, settled): (LogId, Settled)) {
    if settled.is_final() {
        in_flight.insert(id, true);
    }
}

/// Forgets the finished updates at the head of `in_flight` and returns the last id up to which
/// every update taken in is finished: `taken` when none is left in hand, else the id before
/// the oldest unfinished one.
fn confirmable(in_flight: &mut BTreeMap<LogId, bool>, taken: LogId) -> LogId {
    while let Some((&id, &true)) = in_flight.first_key_value() {
        in_flight.remove(&id);
    }
    confirmable_now(in_flight, taken)
}

/// What [`confirmable`] would say, without forgetting anything.
fn confirmable_now(in_flight: &BTreeMap<LogId, bool>, taken: LogId) -> LogId {
    match in_flight.iter().find(|(_, done)| !**done) {
        Some((&oldest, _)) => LogId(oldest.0 - 1),
        None => taken,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_desk_confirms_up_to_just_before_its_first_unfinished_update() {
        let mut in_flight = BTreeMap::from([
            (LogId(7), true),
            (LogId(8), true),
            (LogId(9), false),
            (LogId(10), true),
        ]);
        assert_eq!(confirmable(&mut in_flight, LogId(10)), LogId(8));
        assert_eq!(
            in_flight,
            BTreeMap::from([(LogId(9), false), (LogId(10), true)])
        );
        // Unchanged while the oldest is unfinished.
        assert_eq!(confirmable(&mut in_flight, LogId(10)), LogId(8));
        in_flight.insert(LogId(9), true);
        assert_eq!(confirmable(&mut in_flight, LogId(10)), LogId(10));
        assert!(in_flight.is_empty());
        // Nothing in hand: everything taken is done.
        assert_eq!(confirmable(&mut in_flight, LogId(12)), LogId(12));
    }
}
