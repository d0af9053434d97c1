//! Long polling with an offset that moves past an update only once the desk has handled it.
//!
//! Updates are handled concurrently (each user's in order), so they finish out of order. The
//! offset acknowledged to Telegram is the low watermark: the first update not yet finished. Telegram
//! then delivers the unfinished ones again with the next batch; they are recognised by id and
//! skipped. A crash therefore re-delivers at most what was in flight, and the store's record of
//! handled events keeps those from being relayed twice.

use super::settle::Settled;
use crate::Error;
use crate::albums::Run;
use crate::decode::RawUpdate;
use crate::hotline::Hotline;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use hotline_core::{RetryPolicy, TransportError};
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

/// The most updates a poll brings (`getUpdates`' `limit`, at most 100 on Telegram), so the most
/// the runner holds at once.
const WINDOW: usize = 100;

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
    /// [`crate::shutdown_signal`] for Ctrl-C / SIGTERM), then stops within a few seconds: it
    /// takes no more updates, gives the desk's every wait (a 429's `retry_after`, pacing,
    /// back-off) up at once, lets the calls already sent finish (for up to
    /// [`STOP_GRACE`]), confirms to Telegram only the updates that were handled, and returns.
    /// The others come again after a restart; the store's record of handled events keeps what
    /// was relayed of them from being sent twice.
    ///
    /// An update whose handling fails is handed to the desk again by the update policy
    /// ([`crate::HotlineBuilder::update_retry`]) and, if it keeps failing while others go
    /// through, set aside as a dead letter (the operators are told), so it never holds back
    /// the rest. A webhook left set on the bot is removed first (Telegram refuses `getUpdates`
    /// while one is set). An update that cannot be decoded (a kind newer than this library) is
    /// logged and skipped.
    pub async fn run_polling(&self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        tokio::pin!(shutdown);
        tokio::select! {
            started = self.remove_webhook() => started?,
            () = &mut shutdown => return Ok(()),
        }
        self.load_set_aside().await?;
        let ticker = self.spawn_ticker(self.tick_every);
        // The tasks handling updates (see `handle_on_a_task`), each resolving to its update's id
        // when the desk is done with it; waited for whenever the loop waits (for a poll's
        // answer, for the pause), and to the end at shutdown.
        let hotline = Arc::new(self.clone());
        let mut finishing: FuturesUnordered<BoxFuture<'static, (i64, Settled)>> =
            FuturesUnordered::new();
        // update_id → finished? for every update at or after the offset.
        let mut in_flight: BTreeMap<i64, bool> = BTreeMap::new();
        let mut offset: i64 = 0;
        let mut last_poll: Option<(i64, Instant)> = None;
        let mut last_full = false;
        // An album's first part stays in flight until the album is copied, which waits for a
        // quiet period after its last part: the next parts must be asked for well within it, or
        // the album would be copied in pieces.
        let pause = Duration::from_millis(250).min(self.albums.quiet() / 2);
        // One timer for the pause, moved when the pause moves: the loop goes round once per
        // finished update, and a fresh timer each time was a measurable share of its work.
        let pause_timer = tokio::time::sleep_until(Instant::now());
        tokio::pin!(pause_timer);
        'polling: loop {
            while let Some(Some(done)) = finishing.next().now_or_never() {
                finished(&mut in_flight, done);
            }
            offset = confirmable_offset(&mut in_flight, offset);
            if !in_flight.is_empty() {
                // Telegram sends every update at or past the offset again with each poll, so a
                // poll brings back everything in hand before anything new. Ask again once three
                // quarters of the window of 100 are free (at most one update in hand comes back
                // per three new ones, where asking at half would bring back one per new one) if
                // the offset has moved since the last poll (the desk keeps up:
                // what came meanwhile is fetched at once) or that poll came back full (a backlog
                // waits). Twenty-five calls in flight keep Telegram's side busy.
                // Otherwise ask after a pause (250 ms, or half the album quiet period if
                // shorter), so that new users and album parts are not held behind a slow update
                // and a desk waiting on one does not spin.
                let free = WINDOW.saturating_sub(in_flight.len());
                let moved = last_poll.is_none_or(|(at_offset, _)| offset > at_offset);
                let pause_over = last_poll.map_or(Instant::now(), |(_, at)| at + pause);
                if !((moved || last_full) && free >= WINDOW * 3 / 4) && Instant::now() < pause_over
                {
                    if pause_timer.deadline() != pause_over {
                        pause_timer.as_mut().reset(pause_over);
                    }
                    tokio::select! {
                        () = &mut shutdown => break 'polling,
                        Some(done) = finishing.next() => finished(&mut in_flight, done),
                        () = &mut pause_timer => {}
                    }
                    continue;
                }
            }
            last_poll = Some((offset, Instant::now()));
            let timeout = if in_flight.is_empty() { 25 } else { 0 };
            let poll = self.client.get_updates_raw(
                json!({"offset": offset, "timeout": timeout, "limit": WINDOW, "allowed_updates": ALLOWED_UPDATES}),
            );
            tokio::pin!(poll);
            let batch = loop {
                tokio::select! {
                    () = &mut shutdown => break 'polling,
                    batch = &mut poll => break batch,
                    Some(done) = finishing.next() => finished(&mut in_flight, done),
                }
            };
            let updates = match batch {
                Ok(updates) => {
                    last_full = updates.len() >= WINDOW;
                    updates
                }
                Err(error) => {
                    tracing::warn!(%error, "hotline: getUpdates failed; retrying");
                    hotline_core::report_unobserved(
                        "getUpdates",
                        "hotline: getUpdates failed; retrying",
                        &error,
                    );
                    tokio::select! {
                        () = &mut shutdown => break 'polling,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue 'polling,
                    }
                }
            };
            for update in updates {
                let RawUpdate::Read { id, .. } = update else {
                    tracing::warn!("hotline: an update without update_id was skipped");
                    continue;
                };
                if id < offset || in_flight.contains_key(&id) {
                    continue; // delivered again while still in flight
                }
                if self.set_aside_keys.holds_update(id) {
                    // Set aside before a crash kept the offset from moving past it.
                    tracing::info!(
                        update_id = id,
                        "hotline: an update set aside earlier was delivered again and skipped"
                    );
                    in_flight.insert(id, true);
                    continue;
                }
                in_flight.insert(id, false);
                match update.decode_caught(self.backend_group()) {
                    Ok(decoded) => {
                        // Dispatched here, in update order, so each lane keeps its order.
                        let completion = self.take_decoded(decoded, Run::Here).completion;
                        finishing.push(handle_on_a_task(&hotline, id, update, completion));
                    }
                    Err(error) => {
                        tracing::warn!(%error, update_id = id, "hotline: an update could not be decoded and was skipped");
                        in_flight.insert(id, true);
                    }
                }
            }
        }
        ticker.abort();
        // Every wait ends now; what is on the wire may finish, for a bounded time.
        self.desk.stop_signal().stop();
        let deadline = Instant::now() + STOP_GRACE;
        while let Ok(Some(done)) = tokio::time::timeout_at(deadline, finishing.next()).await {
            finished(&mut in_flight, done);
        }
        offset = confirmable_offset(&mut in_flight, offset);
        if offset > 0 {
            let confirm = json!({"offset": offset, "timeout": 0, "limit": 1, "allowed_updates": ALLOWED_UPDATES});
            if let Err(error) = self.client.call("getUpdates", confirm).await {
                tracing::warn!(%error, "hotline: could not confirm the last offset");
            }
        }
        Ok(())
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
    id: i64,
    update: RawUpdate,
    completion: crate::Completion,
) -> Pin<Box<dyn Future<Output = (i64, Settled)> + Send>> {
    let hotline = Arc::clone(hotline);
    let task = tokio::spawn(async move { hotline.settle(&update, completion).await });
    Box::pin(async move {
        match task.await {
            Ok(settled) => (id, settled),
            Err(error) => {
                // Settling catches the desk's panics; this is a bug in the runner itself. The
                // update counts as finished: left unconfirmed it would hold the offset, and so
                // every later update, forever.
                tracing::error!(%error, update_id = id, "hotline: an update's task ended abnormally; it is skipped");
                (id, Settled::Handled)
            }
        }
    })
}

/// Records how an update ended: confirmable, or held (unconfirmed) until the runner stops.
fn finished(in_flight: &mut BTreeMap<i64, bool>, (id, settled): (i64, Settled)) {
    if settled.is_final() {
        in_flight.insert(id, true);
    }
}

/// Forgets the finished updates at the head of `in_flight` and returns the offset past them:
/// the low watermark, unchanged while the oldest update is unfinished.
fn confirmable_offset(in_flight: &mut BTreeMap<i64, bool>, offset: i64) -> i64 {
    let mut offset = offset;
    while let Some((&id, &true)) = in_flight.first_key_value() {
        in_flight.remove(&id);
        offset = id + 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_moves_past_finished_updates_up_to_the_first_unfinished_one() {
        let mut in_flight = BTreeMap::from([(7, true), (8, true), (9, false), (10, true)]);
        assert_eq!(confirmable_offset(&mut in_flight, 7), 9);
        assert_eq!(in_flight, BTreeMap::from([(9, false), (10, true)]));
        // Unchanged while the oldest is unfinished.
        assert_eq!(confirmable_offset(&mut in_flight, 9), 9);
        in_flight.insert(9, true);
        assert_eq!(confirmable_offset(&mut in_flight, 9), 11);
        assert!(in_flight.is_empty());
    }
}
