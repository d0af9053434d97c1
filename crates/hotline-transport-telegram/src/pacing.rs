//! Pacing: staying inside Telegram's limits before Telegram has to say 429.
//!
//! Telegram allows about 30 messages per second for the whole bot, 1 per second into one private
//! chat and 20 per minute into one group. The backend group is one group, so every relayed
//! message, topic creation and rename there shares the one budget of 20 a minute: the pacer makes
//! callers wait their turn, and within one chat it lets the most urgent waiter go first (relayed
//! messages, then notices, then cosmetic changes), oldest first within a priority.
//!
//! Cosmetic changes and mailings leave the last call of a window (the group's, the bot's) free,
//! so that a relay arriving while they keep a budget full still goes at once.
//!
//! Mailings ([`Priority::Bulk`]) come after everything else across chats, not only within
//! one: a bulk call waits while any other call is held only by the global budget, so a relay
//! that arrives while a mailing fills the budget takes the next call that frees.
//!
//! Each limit is a sliding window of the moments Telegram may have counted each call. A call
//! in flight is counted up to [`IN_FLIGHT_MARGIN`] after it left (Telegram's clock starts when it
//! arrives, and two calls can travel at different speeds); once its answer is back, Telegram has
//! certainly counted it, so the call is counted from the answer if that came sooner. On a fast
//! link a call's place then frees one second and a round trip after it left, not one second
//! and the whole margin, and little of the budget goes unused. `time_scale` shrinks every window (and every
//! `retry_after`) for tests against the fake server's scaled clock; it is 1 against Telegram.

use hotline_core::{Interrupted, Priority, Stop};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Pacing budgets. `None` turns one limit off; [`Limits::off`] turns all off (429s are still
/// honoured).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Calls per second for the whole bot.
    pub global_per_second: Option<u32>,
    /// Calls per second into one private chat.
    pub per_chat_per_second: Option<u32>,
    /// Calls per minute into one group (the backend group).
    pub per_group_per_minute: Option<u32>,
    /// How much faster than real time the limit clock runs (1 on Telegram).
    pub time_scale: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self::telegram()
    }
}

impl Limits {
    /// Telegram's documented figures: 30/s, 1/s per private chat, 20/min per group.
    pub fn telegram() -> Self {
        Self {
            global_per_second: Some(30),
            per_chat_per_second: Some(1),
            per_group_per_minute: Some(20),
            time_scale: 1.0,
        }
    }

    /// No pacing ahead of time.
    pub fn off() -> Self {
        Self {
            global_per_second: None,
            per_chat_per_second: None,
            per_group_per_minute: None,
            time_scale: 1.0,
        }
    }

    /// The same limits on a clock running `scale` times faster (tests against a scaled fake).
    pub fn with_time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Parses `HOTLINE_LIMITS`: `GLOBAL_PER_SECOND,PER_CHAT_PER_SECOND,PER_GROUP_PER_MINUTE`
    /// (a `0` turns one off) or `off`.
    pub fn parse(value: &str) -> Result<Self, crate::Error> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("off") {
            return Ok(Self::off());
        }
        let parts: Vec<&str> = value.split(',').map(str::trim).collect();
        let [global, chat, group] = parts.as_slice() else {
            return Err(crate::Error::config(
                "HOTLINE_LIMITS",
                format!(
                    "expected `GLOBAL_PER_SECOND,PER_CHAT_PER_SECOND,PER_GROUP_PER_MINUTE` (like `30,1,20`) or `off`, found `{value}`"
                ),
            ));
        };
        let number = |name: &str, text: &str| -> Result<Option<u32>, crate::Error> {
            let n: u32 = text.parse().map_err(|_| {
                crate::Error::config("HOTLINE_LIMITS", format!("{name}: `{text}` is not a count"))
            })?;
            Ok((n > 0).then_some(n))
        };
        Ok(Self {
            global_per_second: number("GLOBAL_PER_SECOND", global)?,
            per_chat_per_second: number("PER_CHAT_PER_SECOND", chat)?,
            per_group_per_minute: number("PER_GROUP_PER_MINUTE", group)?,
            time_scale: 1.0,
        })
    }

    fn is_off(&self) -> bool {
        self.global_per_second.is_none()
            && self.per_chat_per_second.is_none()
            && self.per_group_per_minute.is_none()
    }

    /// A window of `telegram_seconds` on the scaled clock.
    fn scaled(&self, telegram_seconds: f64) -> Duration {
        Duration::from_secs_f64(telegram_seconds / self.time_scale.max(f64::MIN_POSITIVE))
    }
}

/// How long after a call leaves Telegram may count it, while its answer is not back: the
/// spread of two calls' travel times. Costs nothing once the answer is back sooner.
pub(crate) const IN_FLIGHT_MARGIN: Duration = Duration::from_millis(25);

/// The calls inside one window: for each, the latest moment Telegram may have counted it
/// (and its ticket, to move it when the answer comes back), in order of that moment.
#[derive(Debug, Default)]
struct Window {
    counted: VecDeque<(Instant, u64)>,
}

impl Window {
    /// When the next call fits, given at most `limit` calls per `length`.
    fn ready_at(&mut self, now: Instant, limit: u32, length: Duration) -> Instant {
        while self
            .counted
            .front()
            .is_some_and(|(t, _)| *t + length <= now)
        {
            self.counted.pop_front();
        }
        let limit = limit as usize;
        if self.counted.len() < limit {
            now
        } else {
            self.counted[self.counted.len() - limit].0 + length
        }
    }

    /// A call that left at `now`.
    fn push(&mut self, now: Instant, ticket: u64) {
        let at = now + IN_FLIGHT_MARGIN;
        let place = self.counted.partition_point(|(t, _)| *t <= at);
        self.counted.insert(place, (at, ticket));
    }

    /// The answer to call `ticket` came back at `now`: it was counted by then.
    fn answered(&mut self, now: Instant, ticket: u64) {
        let Some(index) = self.counted.iter().position(|(_, t)| *t == ticket) else {
            return; // already out of the window
        };
        if self.counted[index].0 <= now {
            return;
        }
        self.counted.remove(index);
        let place = self.counted.partition_point(|(t, _)| *t <= now);
        self.counted.insert(place, (now, ticket));
    }

    fn last(&self) -> Option<Instant> {
        self.counted.back().map(|(t, _)| *t)
    }
}

/// Whether calls of `priority` leave a window's last call to more urgent ones (relays and
/// notices): cosmetic changes and mailings do, so that a relay finds a free call at once even
/// while they keep the budget full.
fn leaves_last_call(priority: Priority) -> bool {
    priority >= Priority::Cosmetic
}

/// A call the pacer let go. Hand it back with [`Pacer::answered`] when Telegram's answer
/// arrives, so that the windows count the call from then; a call never answered (the network
/// failed) stays counted as if it arrived [`IN_FLIGHT_MARGIN`] after it left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "hand the slot back with Pacer::answered once the call is answered"]
pub(crate) struct Slot {
    chat: i64,
    ticket: u64,
}

#[derive(Debug, Default)]
struct Chat {
    window: Window,
    /// Waiting callers, most urgent first.
    waiting: BTreeSet<(Priority, u64)>,
    /// Telegram said 429 for this chat: nothing goes before this.
    blocked_until: Option<Instant>,
}

#[derive(Debug, Default)]
struct State {
    next_ticket: u64,
    global: Window,
    chats: HashMap<i64, Chat>,
    acquisitions: u64,
    /// Callers above [`Priority::Bulk`] that only the global window holds back: bulk calls
    /// wait while there is any.
    starved: BTreeSet<u64>,
    /// When the next bulk call may go: bulk calls are spaced evenly over the window.
    next_bulk: Option<Instant>,
}

/// Makes callers wait until a call fits every budget.
#[derive(Debug)]
pub(crate) struct Pacer {
    limits: Limits,
    state: Mutex<State>,
    changed: Notify,
    stop: Stop,
}

impl Pacer {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: Mutex::default(),
            changed: Notify::new(),
            stop: Stop::new(),
        }
    }

    /// The same pacer, its waits ended by `stop`.
    pub(crate) fn with_stop(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    /// [`Pacer::acquire`], unless the stop signal comes first: then the caller leaves the queue
    /// and the call must not be made.
    pub(crate) async fn acquire_or_stop(
        &self,
        chat: i64,
        priority: Priority,
    ) -> Result<Slot, Interrupted> {
        let started = std::time::Instant::now();
        let result = self.stop.or_stop(self.acquire(chat, priority)).await;
        metrics::histogram!(hotline_core::metrics::PACING_WAIT).record(started.elapsed());
        result
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until a call into `chat` with `priority` fits, and counts it as made.
    pub(crate) async fn acquire(&self, chat: i64, priority: Priority) -> Slot {
        if self.limits.is_off() {
            return Slot { chat, ticket: 0 };
        }
        let ticket = {
            let mut state = self.state();
            state.next_ticket += 1;
            let ticket = state.next_ticket;
            state
                .chats
                .entry(chat)
                .or_default()
                .waiting
                .insert((priority, ticket));
            ticket
        };
        let mut place = Place {
            pacer: self,
            chat,
            key: (priority, ticket),
            taken: false,
        };
        loop {
            // Listening before looking: a change between the look and the wait still wakes us.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let wake_at = match self.try_take(chat, priority, ticket) {
                None => {
                    place.taken = true;
                    return Slot { chat, ticket };
                }
                Some(at) => at,
            };
            // Woken when the queue moves, a window frees early (an answer came back) or the
            // window frees on time.
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    fn leave(&self, chat: i64, key: (Priority, u64)) {
        let mut state = self.state();
        state.starved.remove(&key.1);
        if let Some(entry) = state.chats.get_mut(&chat) {
            entry.waiting.remove(&key);
        }
        drop(state);
        self.changed.notify_waiters();
    }

    /// Takes the slot if this caller is first in its chat and every window has room; otherwise
    /// says when to look again.
    fn try_take(&self, chat: i64, priority: Priority, ticket: u64) -> Option<Instant> {
        let limits = self.limits;
        let now = Instant::now();
        let mut state = self.state();
        let state = &mut *state;
        let entry = state.chats.entry(chat).or_default();
        if entry.waiting.first() != Some(&(priority, ticket)) {
            // Someone more urgent (or older) goes first; look again when the queue moves.
            return Some(now + Duration::from_millis(50));
        }
        let mut ready = entry.blocked_until.unwrap_or(now).max(now);
        let (limit, length) = if chat < 0 {
            (limits.per_group_per_minute, limits.scaled(60.0))
        } else {
            (limits.per_chat_per_second, limits.scaled(1.0))
        };
        if let Some(limit) = limit {
            // A rename can wait; a relay should not wait behind one for a whole minute's
            // window to slide.
            let limit = if chat < 0 && leaves_last_call(priority) {
                limit.saturating_sub(1).max(1)
            } else {
                limit
            };
            ready = ready.max(entry.window.ready_at(now, limit, length));
        }
        let bulk = priority == Priority::Bulk;
        if bulk && !state.starved.is_empty() {
            // Something more urgent waits for the global budget: it goes first.
            return Some(now + Duration::from_millis(50));
        }
        if let Some(limit) = limits.global_per_second {
            let limit = if leaves_last_call(priority) {
                limit.saturating_sub(1).max(1)
            } else {
                limit
            };
            let mut global = state.global.ready_at(now, limit, limits.scaled(1.0));
            if bulk && let Some(next) = state.next_bulk {
                global = global.max(next);
            }
            if !bulk && ready <= now && global > now {
                state.starved.insert(ticket);
            } else {
                state.starved.remove(&ticket);
            }
            ready = ready.max(global);
        }
        if ready > now {
            return Some(ready);
        }
        state.starved.remove(&ticket);
        if bulk && let Some(limit) = limits.global_per_second {
            // The next bulk call one share of the window later; a call a little late (the
            // task woke late) does not push the schedule back, one much later starts it anew.
            let spacing = limits.scaled(1.0) / limit.saturating_sub(1).max(1);
            let next = match state.next_bulk {
                Some(due) if now < due + spacing => due + spacing,
                _ => now + spacing,
            };
            state.next_bulk = Some(next);
        }
        let entry = state.chats.entry(chat).or_default();
        entry.waiting.remove(&(priority, ticket));
        entry.window.push(now, ticket);
        entry.blocked_until = None;
        state.global.push(now, ticket);
        state.acquisitions += 1;
        if state.acquisitions.is_multiple_of(1024) {
            // Forget chats with nothing in flight, so the map holds only active chats.
            let horizon = limits.scaled(60.0);
            state.chats.retain(|_, c| {
                !c.waiting.is_empty() || c.window.last().is_some_and(|t| t + horizon > now)
            });
        }
        self.changed.notify_waiters();
        None
    }

    /// Telegram's answer to the call in `slot` came back (whatever it said): count the call
    /// from now if that is sooner than the margin.
    pub(crate) fn answered(&self, slot: Slot) {
        if self.limits.is_off() {
            return;
        }
        let now = Instant::now();
        let mut state = self.state();
        state.global.answered(now, slot.ticket);
        if let Some(entry) = state.chats.get_mut(&slot.chat) {
            entry.window.answered(now, slot.ticket);
        }
        drop(state);
        self.changed.notify_waiters();
    }

    /// Telegram answered 429 for `chat`: hold every call into it for `wait`.
    pub(crate) fn penalize(&self, chat: i64, wait: Duration) {
        if self.limits.is_off() {
            return;
        }
        let until = Instant::now() + wait;
        let mut state = self.state();
        let entry = state.chats.entry(chat).or_default();
        entry.blocked_until = Some(entry.blocked_until.map_or(until, |t| t.max(until)));
    }
}

/// A caller's place in a chat's queue. A caller that gives up waiting (its future dropped, at a
/// stop) leaves the queue, or everyone behind it would wait for it forever.
struct Place<'a> {
    pacer: &'a Pacer,
    chat: i64,
    key: (Priority, u64),
    taken: bool,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if !self.taken {
            self.pacer.leave(self.chat, self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn parses_hotline_limits() {
        assert_eq!(Limits::parse("30,1,20").unwrap(), Limits::telegram());
        assert_eq!(Limits::parse("OFF").unwrap(), Limits::off());
        let partial = Limits::parse("0, 2, 40").unwrap();
        assert_eq!(partial.global_per_second, None);
        assert_eq!(partial.per_group_per_minute, Some(40));
        let error = Limits::parse("30,1").unwrap_err().to_string();
        assert!(error.starts_with("HOTLINE_LIMITS:"), "{error}");
        let error = Limits::parse("30,x,20").unwrap_err().to_string();
        assert!(error.contains("PER_CHAT_PER_SECOND"), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_gets_twenty_a_minute() {
        let pacer = Pacer::new(Limits::telegram());
        let start = Instant::now();
        for _ in 0..20 {
            let _ = pacer.acquire(-100, Priority::Relay).await;
        }
        assert!(
            start.elapsed() < Duration::from_millis(1),
            "the first 20 go at once"
        );
        let _ = pacer.acquire(-100, Priority::Relay).await;
        assert!(
            start.elapsed() >= Duration::from_secs(60),
            "the 21st waits for the window"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_time_scale_shrinks_windows() {
        let pacer = Pacer::new(Limits::telegram().with_time_scale(60.0));
        let start = Instant::now();
        for _ in 0..41 {
            let _ = pacer.acquire(-100, Priority::Relay).await;
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(3),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn relays_overtake_waiting_renames() {
        let pacer = Arc::new(Pacer::new(Limits {
            per_group_per_minute: Some(1),
            ..Limits::telegram()
        }));
        let _ = pacer.acquire(-100, Priority::Relay).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [
            ("rename", Priority::Cosmetic),
            ("notice", Priority::Notice),
            ("relay", Priority::Relay),
        ] {
            let (pacer, order) = (Arc::clone(&pacer), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                let _ = pacer.acquire(-100, priority).await;
                order.lock().unwrap().push(name);
            }));
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["relay", "notice", "rename"]);
    }

    #[tokio::test(start_paused = true)]
    async fn bulk_calls_wait_while_a_relay_waits_for_the_global_budget() {
        let pacer = Arc::new(Pacer::new(Limits::telegram()));
        for chat in 1..=30 {
            let _ = pacer.acquire(chat, Priority::Relay).await;
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // The bulk call asks first, into another chat than the relay's.
        for (name, chat, priority) in [
            ("bulk", 100, Priority::Bulk),
            ("relay", 200, Priority::Relay),
        ] {
            let (pacer, order) = (Arc::clone(&pacer), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                let _ = pacer.acquire(chat, priority).await;
                order.lock().unwrap().push(name);
            }));
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["relay", "bulk"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_holds_the_chat() {
        let pacer = Pacer::new(Limits::telegram());
        pacer.penalize(5, Duration::from_secs(9));
        let start = Instant::now();
        let _ = pacer.acquire(5, Priority::Relay).await;
        assert!(start.elapsed() >= Duration::from_secs(9));
        let start = Instant::now();
        let _ = pacer.acquire(6, Priority::Relay).await;
        assert!(
            start.elapsed() < Duration::from_millis(1),
            "other chats are not held"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn renames_leave_the_groups_last_call_to_relays() {
        let pacer = Pacer::new(Limits::telegram());
        for _ in 0..19 {
            let _ = pacer.acquire(-100, Priority::Cosmetic).await;
        }
        let start = Instant::now();
        let _ = pacer.acquire(-100, Priority::Relay).await;
        assert!(
            start.elapsed() < Duration::from_millis(1),
            "the relay takes the last call"
        );
        let _ = pacer.acquire(-100, Priority::Cosmetic).await;
        assert!(
            start.elapsed() >= Duration::from_secs(60),
            "a 20th rename waits for the window"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_counts_a_call_from_its_answer() {
        let pacer = Pacer::new(Limits::telegram());
        let start = Instant::now();
        let mut slots = Vec::new();
        for chat in 1..=30 {
            slots.push(pacer.acquire(chat, Priority::Relay).await);
        }
        tokio::time::advance(Duration::from_millis(3)).await;
        for slot in slots {
            pacer.answered(slot);
        }
        let _ = pacer.acquire(31, Priority::Relay).await;
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(1003) && waited < Duration::from_millis(1010),
            "the window frees one second after the answers, not after the margin: {waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_call_is_counted_until_the_margin() {
        let pacer = Pacer::new(Limits::telegram());
        let start = Instant::now();
        for chat in 1..=30 {
            let _ = pacer.acquire(chat, Priority::Relay).await;
        }
        let _ = pacer.acquire(31, Priority::Relay).await;
        assert!(
            start.elapsed() >= Duration::from_secs(1) + IN_FLIGHT_MARGIN,
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn off_means_no_waiting() {
        let pacer = Pacer::new(Limits::off());
        for _ in 0..1000 {
            let _ = pacer.acquire(-100, Priority::Relay).await;
        }
    }
}
