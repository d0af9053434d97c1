//! What becomes of an update whose handling failed: handed to the desk again, set aside as a
//! dead letter, or left for after a restart. Both runners settle every update here.
//!
//! The rule that keeps one bad update from stalling everyone while an outage loses nothing:
//! a failed attempt counts against its update only if something else went through meanwhile
//! (or the failure cannot pass: a refused request, corrupt data, a panic). When nothing goes
//! through at all, the store or Telegram is down for everyone: no update is blamed, the runner
//! waits with back-off and tries again, and says so once per change of state, not per update.

use crate::albums::Run;
use crate::completion::Completion;
use crate::decode::RawUpdate;
use crate::hotline::Hotline;
use hotline_core::{DeadLetterId, Error, NewDeadLetter, Timestamp, UserId, error_chain};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How the desk has fared lately, across every update: counts what went through, and whether
/// nothing does (an outage).
#[derive(Debug, Default)]
pub(crate) struct Health {
    handled: AtomicU64,
    outage: AtomicBool,
    /// Keys of the updates set aside: a delivery of one again (after a crash before the offset
    /// was confirmed) is not handed to the desk again.
    set_aside: Mutex<std::collections::HashSet<String>>,
}

impl Health {
    fn mark(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
    }

    pub(crate) fn went_through(&self) {
        self.handled.fetch_add(1, Ordering::Relaxed);
        if self.outage.swap(false, Ordering::Relaxed) {
            tracing::warn!("hotline: updates go through again; the desk resumed");
        }
    }

    fn nothing_goes_through(&self, error: &Error) {
        if !self.outage.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %error_chain(error), "hotline: no update goes through (is the store or Telegram unreachable?); waiting and trying again");
        }
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.set_aside.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn remember_set_aside(&self, key: &str) {
        self.keys().insert(key.to_owned());
    }

    pub(crate) fn forget_set_aside(&self, key: &str) {
        self.keys().remove(key);
    }

    pub(crate) fn was_set_aside(&self, key: &str) -> bool {
        let keys = self.keys();
        !keys.is_empty() && keys.contains(key)
    }
}

/// The key a Telegram update is set aside under.
pub(crate) fn update_key(update_id: i64) -> String {
    format!("telegram:{update_id}")
}

/// What came of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Handled (perhaps after retries): confirm it.
    Handled,
    /// Set aside after its attempts: confirm it, it is kept in the store.
    SetAside,
    /// The desk is stopping: do not confirm it; it comes again after a restart.
    Interrupted,
    /// Nothing went through for longer than the caller would wait (a webhook request): do not
    /// confirm it; Telegram sends it again.
    Later,
}

impl Settled {
    /// Whether the update may be confirmed to its source.
    pub(crate) fn is_final(self) -> bool {
        matches!(self, Settled::Handled | Settled::SetAside)
    }
}

impl Hotline {
    /// Waits for `completion`, the first attempt at `update`; on failure hands the update to the
    /// desk again by the update policy, until it is handled, set aside, the desk stops, or (with
    /// `patience`) an outage lasts longer than that.
    pub(crate) async fn settle(
        &self,
        update: &RawUpdate,
        completion: Completion,
        patience: Option<Duration>,
    ) -> Settled {
        let policy = self.update_retry;
        let outage = hotline_core::RetryPolicy::outage();
        let stop = self.desk.stop_signal().clone();
        let mut completion = completion;
        let mut mark = self.health.mark();
        let mut attempts = 0u32;
        let mut outage_waits = 0u32;
        let mut first_failed: Option<(Timestamp, Instant)> = None;
        loop {
            let error = match completion.await {
                Ok(()) => {
                    self.health.went_through();
                    return Settled::Handled;
                }
                // Only a stop interrupts: a desk that dropped the update otherwise (a task of
                // its ended abnormally) failed it, as a panic does.
                Err(error) if error.is_interrupted() && stop.is_stopped() => {
                    return Settled::Interrupted;
                }
                Err(error) => error,
            };
            let (since, started) =
                *first_failed.get_or_insert_with(|| (self.desk.now(), Instant::now()));
            let id = update.id().unwrap_or_default();
            let blamed = !error.is_transient() || self.health.mark() != mark;
            let wait = if blamed {
                attempts += 1;
                tracing::warn!(update_id = id, attempt = attempts, error = %error_chain(&error), "hotline: an update failed");
                // A refused request or corrupt data fails the same way every time.
                let hopeless =
                    !error.is_transient() && !error.is_panic() && !error.is_interrupted();
                if hopeless || !policy.allows(attempts) {
                    match self.set_aside(update, &error, attempts, since).await {
                        Ok(()) => return Settled::SetAside,
                        // Not even that could be written: the store is down. Lose nothing:
                        // keep the update in hand and go on trying, as in an outage.
                        Err(failure) => {
                            self.health.nothing_goes_through(&failure);
                            outage_waits += 1;
                            outage.backoff(outage_waits)
                        }
                    }
                } else {
                    policy.backoff(attempts)
                }
            } else {
                self.health.nothing_goes_through(&error);
                tracing::debug!(update_id = id, error = %error_chain(&error), "hotline: an update failed in an outage");
                outage_waits += 1;
                outage.backoff(outage_waits)
            };
            if patience.is_some_and(|patience| started.elapsed() + wait > patience) {
                return Settled::Later;
            }
            if stop.sleep(wait).await.is_err() {
                return Settled::Interrupted;
            }
            mark = self.health.mark();
            // It decoded the first time; the same text decodes the same way again.
            let Ok(decoded) = update.decode_caught(self.backend_group()) else {
                return Settled::Handled;
            };
            completion = self.take_decoded(decoded, Run::Here).completion;
        }
    }

    /// Writes `update` to the store's dead letters and, the first time, tells the operators in
    /// the user's topic (or General) in one short notice.
    async fn set_aside(
        &self,
        update: &RawUpdate,
        error: &Error,
        attempts: u32,
        first_failed: Timestamp,
    ) -> Result<(), Error> {
        let key = update_key(update.id().unwrap_or_default());
        let user = self.user_of(update).await;
        let letter = NewDeadLetter {
            key: key.clone(),
            user,
            payload: update.to_json(),
            error: error_chain(error).to_string(),
            attempts,
            first_failed,
            last_failed: self.desk.now(),
        };
        let kept = self.desk.store().set_aside(letter).await?;
        self.health.remember_set_aside(&key);
        tracing::error!(update_id = update.id(), dead_letter = %kept.id, attempts, error = %error_chain(error), "hotline: an update was set aside after its attempts failed");
        if kept.created {
            let notice = dead_letter_notice(kept.id, attempts, error);
            if let Err(failure) = self.desk.tell_operators(user, &notice).await {
                tracing::warn!(error = %error_chain(&failure), "hotline: telling the operators of a dead letter failed");
            }
        }
        Ok(())
    }

    /// The user an update concerns, if it says.
    pub(crate) async fn user_of(&self, update: &RawUpdate) -> Option<UserId> {
        let decoded = update.decode_caught(self.backend_group()).ok()?;
        self.desk.user_of(decoded.event?.lane()).await
    }
}

/// The one notice operators get about an update set aside.
fn dead_letter_notice(id: DeadLetterId, attempts: u32, error: &Error) -> String {
    let mut reason = error.to_string();
    if reason.chars().count() > 200 {
        reason = reason.chars().take(199).collect::<String>() + "…";
    }
    format!(
        "⚠️ An update for this conversation could not be handled ({attempts} attempts) and was \
         set aside as dead letter #{id}: {reason}. Later messages go on. \
         `hotline-desk dead-letters retry {id}` hands it to the desk again, \
         `hotline-desk dead-letters drop {id}` forgets it."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_is_one_short_line_naming_the_commands() {
        let error = Error::Panicked("x".repeat(500));
        let notice = dead_letter_notice(DeadLetterId(7), 6, &error);
        assert!(notice.contains("dead letter #7") && notice.contains("6 attempts"));
        assert!(notice.contains("dead-letters retry 7") && notice.contains("dead-letters drop 7"));
        assert!(notice.chars().count() < 600, "{notice}");
        assert!(!notice.contains('\n'));
    }

    #[test]
    fn only_final_outcomes_are_confirmed() {
        assert!(Settled::Handled.is_final() && Settled::SetAside.is_final());
        assert!(!Settled::Interrupted.is_final() && !Settled::Later.is_final());
    }
}
