//! Long polling with an offset that moves past an update only once the desk has handled it.
//!
//! Updates are handled concurrently (each user's in order), so they finish out of order. The
//! offset acknowledged to Telegram is the low watermark: the first update not yet finished. Telegram
//! then delivers the unfinished ones again with the next batch; they are recognised by id and
//! skipped. A crash therefore re-delivers at most what was in flight, and the store's record of
//! handled events keeps those from being relayed twice.

use crate::Error;
use crate::albums::Run;
use crate::decode::RawUpdate;
use crate::hotline::Hotline;
use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::json;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

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
    /// Waits for an update's completion. A passing failure (the store or Telegram unreachable
    /// past the desk's own retries) hands the update to the desk again, with back-off, instead of
    /// acknowledging it: the offset never moves past an update that was not handled. Events of it
    /// that did complete are recorded as handled and are not repeated.
    async fn finish_update(&self, id: i64, update: &RawUpdate, completion: crate::Completion) {
        let mut completion = completion;
        let mut wait = Duration::from_millis(500);
        loop {
            match completion.await {
                Ok(()) => return,
                Err(error) if error.is_transient() => {
                    tracing::warn!(%error, update_id = id, ?wait, "hotline: an update failed; handing it over again");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                    // It decoded the first time; the same text decodes the same way again.
                    let Ok(decoded) = update.decode_for(self.backend_group()) else {
                        return;
                    };
                    completion = self.take_decoded(decoded, Run::Here).completion;
                }
                Err(error) => {
                    tracing::warn!(%error, update_id = id, "hotline: an update could not be handled and was given up");
                    return;
                }
            }
        }
    }

    /// `deleteWebhook`, retried while Telegram is unreachable or busy: a runner must not give up
    /// at start for a passing failure.
    async fn remove_webhook(&self) -> Result<(), Error> {
        let mut attempt = 0u32;
        loop {
            match self
                .client
                .call("deleteWebhook", json!({"drop_pending_updates": false}))
                .await
            {
                Ok(_) => return Ok(()),
                Err(error) => match error.classify(1.0) {
                    hotline_core::TransportError::RetryAfter(wait) => {
                        tokio::time::sleep(wait).await
                    }
                    hotline_core::TransportError::Unavailable(_) if attempt < 30 => {
                        attempt += 1;
                        tracing::warn!(%error, "hotline: deleteWebhook failed; retrying");
                        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt.min(10))))
                            .await;
                    }
                    _ => return Err(error.into()),
                },
            }
        }
    }

    /// Runs the bot alone with long polling until `shutdown` resolves (pass
    /// [`crate::shutdown_signal`] for Ctrl-C / SIGTERM); then finishes the updates in flight,
    /// acknowledges them to Telegram and returns.
    ///
    /// A webhook left set on the bot is removed first (Telegram refuses `getUpdates` while one is
    /// set). An update that cannot be decoded (a kind newer than this library) is logged and
    /// skipped, never retried forever.
    pub async fn run_polling(&self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        self.remove_webhook().await?;
        let ticker = self.spawn_ticker(Duration::from_secs(60));
        // The tasks handling updates (see `handle_on_a_task`), each resolving to its update's id
        // when the desk is done with it; waited for whenever the loop waits (for a poll's
        // answer, for the pause), and to the end at shutdown.
        let hotline = Arc::new(self.clone());
        let mut finishing: FuturesUnordered<Pin<Box<dyn Future<Output = i64> + Send>>> =
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
        tokio::pin!(shutdown, pause_timer);
        'polling: loop {
            while let Some(Some(id)) = finishing.next().now_or_never() {
                in_flight.insert(id, true);
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
                        Some(id) = finishing.next() => { in_flight.insert(id, true); }
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
                    Some(id) = finishing.next() => { in_flight.insert(id, true); }
                }
            };
            let updates = match batch {
                Ok(updates) => {
                    last_full = updates.len() >= WINDOW;
                    updates
                }
                Err(error) => {
                    tracing::warn!(%error, "hotline: getUpdates failed; retrying");
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
                in_flight.insert(id, false);
                match update.decode_for(self.backend_group()) {
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
        // Finish the work in flight, then tell Telegram how far we got.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while let Ok(Some(id)) = tokio::time::timeout_at(deadline, finishing.next()).await {
            in_flight.insert(id, true);
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
) -> Pin<Box<dyn Future<Output = i64> + Send>> {
    let hotline = Arc::clone(hotline);
    let task = tokio::spawn(async move {
        hotline.finish_update(id, &update, completion).await;
    });
    Box::pin(async move {
        if let Err(error) = task.await {
            // A panic in the desk fails its event, not the task; this is a bug elsewhere. The
            // update counts as finished, as one given up does: the runner must go on.
            tracing::error!(%error, update_id = id, "hotline: an update's task ended abnormally");
        }
        id
    })
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
