//! Events that fail are tried again inside their lane, so a user's later events wait behind
//! them and the user's order holds, and are given up after the update policy's attempts.
//!
//! A failed attempt counts against its event only if something else went through meanwhile (or
//! the failure cannot pass: a refused request, corrupt data, a panic). When nothing goes
//! through at all, the store or the messenger is down for everyone: no event is blamed, the
//! desk waits with back-off and tries again, and says so once per change of state, not once
//! per event.

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
    outage: AtomicBool,
}

impl Health {
    fn mark(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
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
        loop {
            let mark = health.mark();
            let error = match self.handle_guarded(event.clone()).await {
                Ok(outcome) => {
                    health.went_through();
                    return Ok(outcome);
                }
                Err(error) if error.is_interrupted() => return Err(error),
                Err(error) => error,
            };
            let wait = if !error.is_transient() || health.mark() != mark {
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
