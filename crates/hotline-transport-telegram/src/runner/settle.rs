//! What becomes of an update whose handling failed: set aside as a dead letter, or left for
//! after a restart. Both runners settle every update here.
//!
//! The desk itself tries a failed event again, inside the user's lane (so the user's order
//! holds), counting attempts only while other events go through (see `Desk::event_retry` in
//! hotline-core): an outage is waited out there, and blames nobody. What reaches a runner as a
//! failure has had its attempts: it is set aside, durably, and the runner moves on.

use crate::albums::Run;
use crate::completion::Completion;
use crate::decode::RawUpdate;
use crate::hotline::Hotline;
use hotline_core::{
    DeadLetterId, DeskEvent, DeskEventKind, Error, NewDeadLetter, RetryPolicy, Timestamp, UserId,
    error_chain,
};
use std::sync::Mutex;

/// The keys of the updates set aside: a delivery of one again (after a crash before the offset
/// was confirmed) is not handed to the desk again.
#[derive(Debug, Default)]
pub(crate) struct SetAsideKeys(Mutex<std::collections::HashSet<String>>);

impl SetAsideKeys {
    fn keys(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn remember(&self, key: &str) {
        self.keys().insert(key.to_owned());
    }

    pub(crate) fn forget(&self, key: &str) {
        self.keys().remove(key);
    }

    /// Whether the Telegram update `update_id` was set aside. Asked of every update a runner
    /// receives: with nothing set aside (the usual case) it builds no key.
    pub(crate) fn holds_update(&self, update_id: i64) -> bool {
        let keys = self.keys();
        !keys.is_empty() && keys.contains(&update_key(update_id))
    }
}

/// The key a Telegram update is set aside under.
fn update_key(update_id: i64) -> String {
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
}

impl Settled {
    /// Whether the update may be confirmed to its source.
    pub(crate) fn is_final(self) -> bool {
        matches!(self, Settled::Handled | Settled::SetAside)
    }
}

impl Hotline {
    /// Waits for `completion`, the desk's handling of `update` (with its attempts); a failure
    /// is set aside. Only if even that cannot be written (the store is down) is the update
    /// handed to the desk again after a while, so nothing is lost.
    pub(crate) async fn settle(&self, update: &RawUpdate, completion: Completion) -> Settled {
        let stop = self.desk.stop_signal().clone();
        let outage = RetryPolicy::outage();
        let mut completion = completion;
        let mut waits = 0u32;
        loop {
            let error = match completion.await {
                Ok(()) => return Settled::Handled,
                // Only a stop interrupts: a desk that dropped the update otherwise (a task of
                // its ended abnormally) failed it, as a panic does.
                Err(error) if error.is_interrupted() && stop.is_stopped() => {
                    return Settled::Interrupted;
                }
                Err(error) => error,
            };
            let first_failed = self.desk.now();
            match self.set_aside(update, &error, first_failed).await {
                Ok(()) => return Settled::SetAside,
                Err(failure) => {
                    tracing::warn!(update_id = update.id(), error = %error_chain(&failure), "hotline: an update that failed could not be set aside; it is handed to the desk again later");
                }
            }
            waits += 1;
            if outage.wait(&stop, outage.backoff(waits)).await.is_err() {
                return Settled::Interrupted;
            }
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
        first_failed: Timestamp,
    ) -> Result<(), Error> {
        let attempts = error.attempts().unwrap_or(1);
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
        self.set_aside_keys.remember(&key);
        tracing::error!(update_id = update.id(), dead_letter = %kept.id, attempts, error = %error_chain(error), "hotline: an update was set aside after its attempts failed");
        if kept.created {
            if let Some(user) = user {
                let topic = match self.desk.store().conversation(user).await {
                    Ok(conversation) => conversation.and_then(|c| c.topic),
                    Err(_) => None,
                };
                let mut event = DeskEvent::new(
                    DeskEventKind::DeadLettered,
                    user,
                    topic,
                    self.desk.now(),
                    &key,
                );
                event.text = Some(error_chain(error).to_string());
                self.desk.publish(event).await;
            }
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
        assert!(!Settled::Interrupted.is_final());
    }
}
