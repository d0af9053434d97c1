//! The bot's place in the update log: its consumer's confirmation, exact in memory and written
//! to the store at most every [`WRITE_EVERY`] while the bot polls.
//!
//! A `getUpdates` confirms everything before its offset. Written to the store at every poll,
//! each poll would wait for the store's writer (with SQLite, the one writer the desk's commits
//! also use) before the bot got its next updates. So a poll moves the cursor in memory and the
//! store gets the latest value once a period has passed since the last write (at once when
//! idle, from a trailing write otherwise, and at stop). What that costs in a crash: a bot that
//! keeps its offset confirms again with its next poll, so it loses and repeats nothing; only a
//! bot that restarts too, without an offset, is given again what its last period confirmed.
//! Confirmations of the webhook pusher and of `deleteWebhook` are written at once.

use crate::{Gateway, lock};
use hotline_core::{LogId, StoreError};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The longest the stored cursor trails the bot's polls.
pub(crate) const WRITE_EVERY: Duration = Duration::from_millis(200);

#[derive(Default)]
pub(crate) struct Cursor {
    state: Mutex<State>,
    /// Wakes the trailing writer: a confirmation waits to be written.
    pending: Notify,
}

#[derive(Default)]
struct State {
    /// Where the bot stands (`None` until the consumer is loaded).
    confirmed: Option<LogId>,
    /// What the store has.
    stored: LogId,
    /// When the store was last written.
    written_at: Option<Instant>,
}

impl Cursor {
    /// The consumer as the store has it (at start): later confirmations are never undone.
    pub(crate) fn load(&self, stored: LogId) {
        let mut state = lock(&self.state);
        state.confirmed = Some(state.confirmed.unwrap_or(stored).max(stored));
        state.stored = state.stored.max(stored);
    }

    fn wrote(&self, upto: LogId) {
        let mut state = lock(&self.state);
        state.confirmed = Some(state.confirmed.unwrap_or(upto).max(upto));
        state.stored = state.stored.max(upto);
        state.written_at = Some(Instant::now());
    }

    /// The confirmation not yet in the store, if any.
    fn unwritten(&self) -> Option<LogId> {
        let state = lock(&self.state);
        state.confirmed.filter(|c| *c > state.stored)
    }
}

impl Gateway {
    /// Where the consumer stands in the log.
    pub(crate) async fn confirmed(&self) -> Result<LogId, StoreError> {
        self.ready().await?;
        Ok(lock(&self.inner.cursor.state)
            .confirmed
            .unwrap_or(LogId::ZERO))
    }

    /// Confirms up to `upto` and writes it to the store before returning.
    pub(crate) async fn confirm(&self, upto: LogId) -> Result<(), StoreError> {
        self.store()
            .confirm_updates(&self.inner.config.consumer, upto)
            .await?;
        self.inner.cursor.wrote(upto);
        Ok(())
    }

    /// Confirms up to `upto` at once in memory; the store gets it now if a period passed since
    /// its last write, or from [`Gateway::write_trailing`] within one.
    pub(crate) async fn confirm_soon(&self, upto: LogId) -> Result<(), StoreError> {
        let cursor = &self.inner.cursor;
        let due = {
            let mut state = lock(&cursor.state);
            if state.confirmed.is_some_and(|c| c >= upto) {
                return Ok(());
            }
            state.confirmed = Some(upto);
            state
                .written_at
                .is_none_or(|at| at.elapsed() >= WRITE_EVERY)
        };
        if due {
            self.confirm(upto).await
        } else {
            cursor.pending.notify_one();
            Ok(())
        }
    }

    /// Writes the latest confirmation to the store, if it has not got it.
    pub(crate) async fn write_cursor(&self) {
        if let Some(upto) = self.inner.cursor.unwritten()
            && let Err(error) = self.confirm(upto).await
        {
            tracing::warn!(%error, "hotline-gateway: the bot's place in the update log could not be saved");
        }
    }

    /// Writes the confirmations [`Gateway::confirm_soon`] left in memory, a period after the
    /// last write, until the gateway stops; then once more.
    pub(crate) async fn write_trailing(&self) {
        let cursor = &self.inner.cursor;
        let stop = &self.inner.stop;
        loop {
            tokio::select! {
                () = cursor.pending.notified() => {}
                () = stop.cancelled() => break,
            }
            let written_at = lock(&cursor.state).written_at;
            if let Some(at) = written_at {
                tokio::select! {
                    () = tokio::time::sleep_until((at + WRITE_EVERY).into()) => {}
                    () = stop.cancelled() => break,
                }
            }
            self.write_cursor().await;
        }
        self.write_cursor().await;
    }
}
