//! Events that fail are tried again inside their lane, so a user's later events wait behind
//! them and the user's order holds, and are given up after the update policy's attempts.
//!
//! A failed attempt counts against its event (is blamed) if the failure cannot pass (a refused
//! request, corrupt data, a panic), or if something else went through since the event's last
//! attempt, or if something went through since its first failure and nothing else failed
//! since its last attempt (the others are done, or are held back behind it: a runner's window
//! of updates in hand). When other events fail too and nothing goes through, the store or the
//! messenger is down for everyone: no event is blamed, the desk waits with back-off and tries
//! again, and says so once per change of state, not once per event.

use super::{Desk, Outcome};
use crate::error::{Error, chain};
use crate::event::Event;
use crate::retry::RetryPolicy;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// How the desk has fared lately, across every event: what went through, and whether nothing
/// does (an outage).
#[derive(Debug, Default)]
pub(super) struct Health {
    handled: AtomicU64,
    failed: AtomicU64,
    outage: AtomicBool,
}

/// What had gone through and failed, across every event, at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mark {
    handled: u64,
    failed: u64,
}

impl Health {
    fn mark(&self) -> Mark {
        Mark {
            handled: self.handled.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }

    /// Counts a failed attempt and says whether it is the event's to blame: see the module's
    /// rule. `last` is the mark after the event's previous attempt (or before its first),
    /// `first` the handled count at its first failure.
    fn blame(&self, error: &Error, last: Mark, first: Option<u64>) -> (bool, Mark) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let now = self.mark();
        let others_went_through = now.handled > last.handled;
        let others_failed = now.failed > last.failed + 1;
        let went_through_since_first = first.is_some_and(|first| now.handled > first);
        let blamed = !error.is_transient()
            || others_went_through
            || (went_through_since_first && !others_failed);
        (blamed, now)
    }

    fn went_through(&self) {
        self.handled.fetch_add(1, Ordering::Relaxed);
        if self.outage.load(Ordering::Relaxed) && self.outage.swap(false, Ordering::Relaxed) {
            tracing::warn!("hotline: events go through again; the desk resumed");
        }
    }

    fn nothing_goes_through(&self, error: &Error) {
        if !self.outage.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %chain(error), "hotline: no event goes through (is the store or the messenger unreachable?); waiting and trying again");
            crate::report_unobserved(
                error.kind(),
                "hotline: no event goes through (is the store or the messenger unreachable?); \
                 waiting and trying again",
                &chain(error),
            );
        }
    }
}

impl Desk {
    /// Handles `event`, trying it again by the event policy (see
    /// [`super::DeskBuilder::event_retry`]) until it is handled, given up as
    /// [`Error::Exhausted`], or a stop interrupts it.
    pub(super) async fn handle_retrying(&self, event: Event) -> Result<Outcome, Error> {
        let Some(policy) = self.inner.event_retry else {
            return self.handle_guarded(event).await;
        };
        let health = &self.inner.health;
        let outage = RetryPolicy::outage();
        let (mut attempts, mut outage_waits) = (0u32, 0u32);
        let mut last = health.mark();
        let mut first: Option<u64> = None;
        loop {
            let error = match self.handle_guarded(event.clone()).await {
                Ok(outcome) => {
                    health.went_through();
                    return Ok(outcome);
                }
                Err(error) if error.is_interrupted() => return Err(error),
                Err(error) => error,
            };
            let (blamed, now) = health.blame(&error, last, first);
            first.get_or_insert(now.handled);
            last = now;
            let wait = if blamed {
                attempts += 1;
                // A refused request or corrupt data fails the same way every time.
                let hopeless = !error.is_transient() && !error.is_panic();
                if hopeless || !policy.allows(attempts) {
                    return Err(Error::Exhausted {
                        attempts,
                        source: Box::new(error),
                    });
                }
                tracing::warn!(attempt = attempts, error = %chain(&error), "hotline: an event failed; trying it again");
                crate::report_unobserved(
                    error.kind(),
                    "hotline: an event failed; trying it again",
                    &chain(&error),
                );
                policy.backoff(attempts)
            } else {
                health.nothing_goes_through(&error);
                outage_waits += 1;
                outage.backoff(outage_waits)
            };
            policy.wait(&self.inner.stop, wait).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    fn outage() -> Error {
        Error::from(StoreError::backend("unreachable"))
    }

    #[test]
    fn an_outage_blames_nobody_and_a_poison_is_blamed() {
        let health = Health::default();
        let start = health.mark();
        // Nothing else happens: an outage for a lone event.
        let (blamed, after_first) = health.blame(&outage(), start, None);
        assert!(!blamed, "nothing went through: nobody is blamed");
        let (blamed, after_second) = health.blame(&outage(), after_first, Some(0));
        assert!(!blamed, "still nothing went through");
        // Others went through meanwhile: a poison.
        health.went_through();
        let (blamed, after_third) = health.blame(&outage(), after_second, Some(0));
        assert!(blamed, "others went through since the last attempt");
        // The others are done (a full window): nothing else failed, something went through
        // since the first failure.
        let (blamed, after_fourth) = health.blame(&outage(), after_third, Some(0));
        assert!(
            blamed,
            "held back behind it, the others cannot prove it is not a poison"
        );
        // Others fail too, and nothing goes through: an outage again.
        health.blame(&outage(), after_fourth, Some(0));
        let (blamed, _) = health.blame(&outage(), after_fourth, Some(1));
        assert!(!blamed, "others fail too: an outage");
        // A panic is always blamed.
        let (blamed, _) = health.blame(&Error::Panicked("bug".into()), health.mark(), None);
        assert!(blamed);
    }
}
