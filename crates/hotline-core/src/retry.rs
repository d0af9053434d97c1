//! The one retry policy: how many attempts, how long between them, and how a stop cuts a wait
//! short.
//!
//! Every place in Hotline that tries something again (a call that met a network error, a 429's
//! `retry_after`, an update handed to the desk again, a rename, `deleteWebhook` at start) waits
//! through [`RetryPolicy::wait`], so a stop ([`Stop::stop`]) abandons every one of those waits at
//! once instead of each sleeping out its own timer.

use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Attempts and back-off, doubling from `first` up to `cap`.
///
/// ```
/// use hotline_core::RetryPolicy;
/// use std::time::Duration;
///
/// let policy = RetryPolicy::new(4, Duration::from_millis(100), Duration::from_millis(250));
/// assert_eq!(policy.backoff(1), Duration::from_millis(100));
/// assert_eq!(policy.backoff(2), Duration::from_millis(200));
/// assert_eq!(policy.backoff(3), Duration::from_millis(250)); // capped
/// assert!(policy.allows(3) && !policy.allows(4));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    attempts: u32,
    first: Duration,
    cap: Duration,
}

impl RetryPolicy {
    /// `attempts` tries in all (at least one), the first wait `first`, each next one doubled, at
    /// most `cap`.
    pub fn new(attempts: u32, first: Duration, cap: Duration) -> Self {
        Self {
            attempts: attempts.max(1),
            first,
            cap: cap.max(first),
        }
    }

    /// A passing failure of one call (a network error, a 5xx): a few quick tries.
    pub fn calls() -> Self {
        Self::new(4, Duration::from_millis(200), Duration::from_secs(2))
    }

    /// An update whose handling failed while others went through: six tries over about a
    /// minute (2 s, 4 s, 8 s, 16 s, then 30 s between them) before it is set aside.
    pub fn updates() -> Self {
        Self::new(6, Duration::from_secs(2), Duration::from_secs(30))
    }

    /// Waits between tries while nothing goes through at all (an outage): unbounded in count,
    /// from half a second up to half a minute.
    pub fn outage() -> Self {
        Self::new(
            u32::MAX,
            Duration::from_millis(500),
            Duration::from_secs(30),
        )
    }

    /// The same policy with `attempts` tries in all.
    pub fn with_attempts(self, attempts: u32) -> Self {
        Self::new(attempts, self.first, self.cap)
    }

    /// How many tries in all.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether another try may follow try number `done` (1-based) that failed.
    pub fn allows(&self, done: u32) -> bool {
        done < self.attempts
    }

    /// The wait after failed try number `done` (1-based): `first`, doubled each time, at most
    /// `cap`.
    pub fn backoff(&self, done: u32) -> Duration {
        let doublings = done.saturating_sub(1).min(30);
        self.first
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.cap)
            .min(self.cap)
    }

    /// Waits `wait` (a back-off, or the `retry_after` Telegram asked for, which is honoured as
    /// it is, never capped), unless `stop` comes first: then returns [`Interrupted`] at once.
    pub async fn wait(&self, stop: &Stop, wait: Duration) -> Result<(), Interrupted> {
        stop.sleep(wait).await
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::calls()
    }
}

/// A wait was cut short by a stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stopping: the wait was abandoned")]
pub struct Interrupted;

/// The stop signal every wait of a desk listens to. Cloning gives a handle to the same signal.
///
/// A stop is final: once [`Stop::stop`] was called, every wait, present and future, returns at
/// once. Runners call it when they shut down; a host bot that stops the desk calls it too.
#[derive(Debug, Clone, Default)]
pub struct Stop(CancellationToken);

impl Stop {
    /// A signal not yet given.
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives the signal: every wait ends now.
    pub fn stop(&self) {
        self.0.cancel();
    }

    /// Whether the signal was given.
    pub fn is_stopped(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Resolves when the signal is given.
    pub async fn stopped(&self) {
        self.0.cancelled().await;
    }

    /// Sleeps `wait`, or less if the signal comes first.
    pub async fn sleep(&self, wait: Duration) -> Result<(), Interrupted> {
        if self.is_stopped() {
            return Err(Interrupted);
        }
        tokio::select! {
            () = self.0.cancelled() => Err(Interrupted),
            () = tokio::time::sleep(wait) => Ok(()),
        }
    }

    /// Runs `work` unless the signal comes first.
    pub async fn or_stop<T>(&self, work: impl Future<Output = T>) -> Result<T, Interrupted> {
        if self.is_stopped() {
            return Err(Interrupted);
        }
        tokio::select! {
            () = self.0.cancelled() => Err(Interrupted),
            value = work => Ok(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_never_overflows() {
        let policy = RetryPolicy::new(5, Duration::from_secs(2), Duration::from_secs(30));
        let waits: Vec<u64> = (1..=6).map(|n| policy.backoff(n).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 30, 30]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(30));
        assert!(policy.allows(4));
        assert!(!policy.allows(5));
        // The default for updates spends about a minute before setting one aside.
        let total: Duration = (1..RetryPolicy::updates().attempts())
            .map(|n| RetryPolicy::updates().backoff(n))
            .sum();
        assert_eq!(total, Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_every_wait_at_once() {
        let stop = Stop::new();
        let policy = RetryPolicy::calls();
        let waiting = tokio::spawn({
            let stop = stop.clone();
            async move { policy.wait(&stop, Duration::from_secs(3600)).await }
        });
        tokio::task::yield_now().await;
        stop.stop();
        assert_eq!(waiting.await.expect("joined"), Err(Interrupted));
        // And every later wait returns at once too.
        assert_eq!(stop.sleep(Duration::from_secs(60)).await, Err(Interrupted));
        assert_eq!(stop.or_stop(async { 1 }).await, Err(Interrupted));
    }
}
