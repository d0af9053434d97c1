//! Mailings: a durable job that sends one content to every recipient it was written with,
//! paced below everything else the desk sends.
//!
//! The job's recipients are fixed when it is created (the preview's count is what is sent).
//! [`Desk::run_mailings`] sends the pending ones of every running mailing, a few at a time
//! ([`IN_FLIGHT`]): each send is an [`Action::Deliver`] at [`crate::Priority::Bulk`], which a
//! pacing transport lets go only when relays and notices leave room. Each answer is recorded
//! before the recipient counts as done, so a desk killed mid-mailing resumes where it was.

use super::Desk;
use crate::action::{Action, PanelButton};
use crate::desk_event::DeskEventKind;
use crate::error::Error;
use crate::ids::UserId;
use crate::segment::Segment;
use crate::store::{
    Delivery, Mailing, MailingContent, MailingCounts, MailingId, MailingState, Panel,
};
use crate::transport::TransportError;
use futures_util::StreamExt;
use std::time::{Duration, Instant};

/// Sends in flight at once for one mailing: enough to fill a budget of about 30 a second over
/// a network that answers within about 130 ms, few enough that a kill repeats little (a send
/// answered but not yet recorded when the process dies is made again after the restart:
/// Telegram has no idempotency key).
pub const IN_FLIGHT: usize = 4;
/// Recipients read from the store at a time; a pause or a cancel is seen between pages.
const PAGE: usize = 32;
/// How often a running mailing's panel is brought up to date ("at most every few seconds":
/// each edit costs one of the backend group's 20 calls a minute).
const PANEL_EVERY: Duration = Duration::from_secs(5);
/// How often an idle desk looks for a mailing another replica (or a restart) left running.
const IDLE_LOOK: Duration = Duration::from_secs(2);
/// How long a desk's right to send a mailing lasts; renewed with every page. A desk killed
/// mid-mailing holds it this long at most; then another (or its restart) goes on.
const LEASE_SECS: i64 = 10;

/// A mailing's progress, as [`Desk::mailing_progress`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailingProgress {
    /// The mailing.
    pub mailing: Mailing,
    /// Where its recipients stand.
    pub counts: MailingCounts,
}

impl MailingProgress {
    /// Whether nothing more will be sent (finished or cancelled).
    pub fn is_over(&self) -> bool {
        self.mailing.state.is_over()
    }
}

/// A mailing started by [`Desk::broadcast`]: its progress, and the controls of `/send`.
#[derive(Debug, Clone)]
pub struct MailingHandle {
    desk: Desk,
    id: MailingId,
    recipients: usize,
}

impl MailingHandle {
    /// The mailing's id (what `/send status ID` names).
    pub fn id(&self) -> MailingId {
        self.id
    }

    /// How many recipients it was written with.
    pub fn recipients(&self) -> usize {
        self.recipients
    }

    /// Where it stands now.
    pub async fn progress(&self) -> Result<MailingProgress, Error> {
        self.desk
            .mailing_progress(self.id)
            .await?
            .ok_or_else(|| Error::Store(crate::StoreError::corrupt("the mailing is gone")))
    }

    /// Waits until every recipient was tried (or the mailing was cancelled) and says how it
    /// went; reads the store every half second. Ends early, with [`Error::Stopped`], when the
    /// desk stops.
    pub async fn finished(&self) -> Result<MailingProgress, Error> {
        loop {
            let progress = self.progress().await?;
            if progress.is_over() {
                return Ok(progress);
            }
            self.desk
                .inner
                .stop
                .sleep(Duration::from_millis(500))
                .await
                .map_err(|_| Error::Stopped("the desk is stopping".into()))?;
        }
    }

    /// [`Desk::pause_mailing`].
    pub async fn pause(&self) -> Result<bool, Error> {
        self.desk.pause_mailing(self.id).await
    }

    /// [`Desk::resume_mailing`].
    pub async fn resume(&self) -> Result<bool, Error> {
        self.desk.resume_mailing(self.id).await
    }

    /// [`Desk::cancel_mailing`].
    pub async fn cancel(&self) -> Result<bool, Error> {
        self.desk.cancel_mailing(self.id).await
    }
}

impl Desk {
    /// Starts a mailing of `content` to every member of `segment` (banned users and users who
    /// blocked the bot are never members) and returns its id at once; the desk's mailer
    /// ([`Desk::run_mailings`], which the Telegram runners start) sends it, paced below relays.
    ///
    /// ```no_run
    /// # async fn demo(desk: hotline_core::Desk) -> Result<(), hotline_core::Error> {
    /// use hotline_core::{Greeting, MailingContent, segment::Segment};
    /// let segment = Segment::parse("#vip lang:de").expect("a segment");
    /// let mailing = desk
    ///     .broadcast(&segment, MailingContent::Message(Greeting::text("Neu: ...", false)))
    ///     .await?;
    /// println!("{} recipients", mailing.recipients());
    /// let done = mailing.finished().await?;
    /// println!("sent {}, blocked {}", done.counts.sent, done.counts.blocked);
    /// # Ok(()) }
    /// ```
    pub async fn broadcast(
        &self,
        segment: &Segment,
        content: MailingContent,
    ) -> Result<MailingHandle, Error> {
        let (id, recipients) = self
            .create_mailing(segment, content, None, MailingState::Running)
            .await?;
        Ok(MailingHandle {
            desk: self.clone(),
            id,
            recipients,
        })
    }

    /// Writes a mailing with the members of `segment` as its recipients; its id and how many.
    pub(super) async fn create_mailing(
        &self,
        segment: &Segment,
        content: MailingContent,
        author: Option<UserId>,
        state: MailingState,
    ) -> Result<(MailingId, usize), Error> {
        if content.is_empty() {
            return Err(Error::Config {
                parameter: "content".into(),
                position: None,
                message: "a mailing needs at least one message".into(),
            });
        }
        let store = &self.inner.store;
        let recipients = segment.members(store.as_ref(), self.now()).await?;
        let mailing = Mailing {
            id: MailingId(0),
            content,
            segment: segment.to_string(),
            state,
            created: self.now(),
            author,
            panel: None,
        };
        let id = store.mailing_create(&mailing, &recipients).await?;
        if state == MailingState::Running {
            self.inner.mail_wake.notify_one();
        }
        Ok((id, recipients.len()))
    }

    /// A mailing and where its recipients stand; `None` if there is no such mailing.
    pub async fn mailing_progress(&self, id: MailingId) -> Result<Option<MailingProgress>, Error> {
        let store = &self.inner.store;
        let Some(mailing) = store.mailing(id).await? else {
            return Ok(None);
        };
        let counts = store.mailing_counts(id).await?;
        Ok(Some(MailingProgress { mailing, counts }))
    }

    /// Holds a running mailing (the sends in flight finish); whether it was running.
    pub async fn pause_mailing(&self, id: MailingId) -> Result<bool, Error> {
        self.move_mailing(id, &[MailingState::Running], MailingState::Paused)
            .await
    }

    /// Goes on with a paused mailing (or starts a draft); whether it changed.
    pub async fn resume_mailing(&self, id: MailingId) -> Result<bool, Error> {
        self.move_mailing(
            id,
            &[MailingState::Paused, MailingState::Draft],
            MailingState::Running,
        )
        .await
    }

    /// Stops a mailing for good: nobody still pending gets it. Whether it changed.
    pub async fn cancel_mailing(&self, id: MailingId) -> Result<bool, Error> {
        self.move_mailing(
            id,
            &[
                MailingState::Draft,
                MailingState::Running,
                MailingState::Paused,
            ],
            MailingState::Cancelled,
        )
        .await
    }

    pub(super) async fn move_mailing(
        &self,
        id: MailingId,
        from: &[MailingState],
        to: MailingState,
    ) -> Result<bool, Error> {
        let moved = self.inner.store.mailing_set_state(id, from, to).await?;
        if moved {
            self.inner
                .mailer
                .changes
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            self.inner.mail_wake.notify_one();
            self.refresh_panel(id, None).await;
        }
        Ok(moved)
    }

    /// Whether `mailing` stopped running since `seen` was read from the mailer's changes
    /// (a pause or a cancel on this desk: the store is read only then; another desk's is seen
    /// at the next page).
    async fn halted(&self, mailing: MailingId, seen: u64) -> Result<bool, Error> {
        if self
            .inner
            .mailer
            .changes
            .load(std::sync::atomic::Ordering::Acquire)
            == seen
        {
            return Ok(false);
        }
        let state = self.inner.store.mailing(mailing).await?.map(|m| m.state);
        Ok(state != Some(MailingState::Running))
    }

    /// Sends the running mailings, oldest first, until the desk stops. The Telegram runners
    /// start it beside the desk's ticks; a desk driven by hand runs it on a task of its own.
    /// Errors (a store that fails) are logged and tried again; they never end the loop.
    ///
    /// One loop per desk: a second call while one runs returns at once.
    pub async fn run_mailings(&self) {
        use std::sync::atomic::Ordering;
        if self.inner.mailer.running.swap(true, Ordering::AcqRel) {
            return;
        }
        struct Running<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.store(false, std::sync::atomic::Ordering::Release);
            }
        }
        let _running = Running(&self.inner.mailer.running);
        let stop = self.inner.stop.clone();
        while !stop.is_stopped() {
            let worked = match self.next_running().await {
                Ok(Some(mailing)) => match self.send_mailing(mailing).await {
                    Ok(sent) => sent,
                    Err(error) if error.is_interrupted() => return,
                    Err(error) => {
                        tracing::warn!(%error, "hotline: a mailing could not go on; trying again");
                        false
                    }
                },
                Ok(None) => false,
                Err(error) => {
                    tracing::warn!(%error, "hotline: the mailings could not be read");
                    false
                }
            };
            if !worked {
                let wake = self.inner.mail_wake.notified();
                if stop
                    .or_stop(tokio::time::timeout(IDLE_LOOK, wake))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }

    async fn next_running(&self) -> Result<Option<Mailing>, Error> {
        Ok(self
            .inner
            .store
            .mailings(100)
            .await?
            .into_iter()
            .filter(|m| m.state == MailingState::Running)
            .min_by_key(|m| m.id))
    }

    /// Sends `mailing`'s pending recipients until none is left (then it is finished) or it is
    /// no longer running; keeps its panel up to date meanwhile. `false` when another desk
    /// holds the mailing (nothing was sent).
    async fn send_mailing(&self, mailing: Mailing) -> Result<bool, Error> {
        let started = Instant::now();
        let store = &self.inner.store;
        let at_start = store.mailing_counts(mailing.id).await?;
        let sending = self.send_pending(&mailing);
        let panel = async {
            loop {
                tokio::time::sleep(PANEL_EVERY).await;
                let rate = Rate {
                    since: started,
                    done_before: at_start.total() - at_start.pending,
                };
                self.refresh_panel(mailing.id, Some(rate)).await;
            }
        };
        let result = tokio::select! {
            result = sending => result,
            () = panel => unreachable!("the panel loop never ends"),
        };
        if let Ok(Ended::Done) = result {
            store
                .mailing_set_state(mailing.id, &[MailingState::Running], MailingState::Finished)
                .await?;
        }
        if let Ok(Ended::Elsewhere) = result {
            return Ok(false);
        }
        self.refresh_panel(mailing.id, None).await;
        result.map(|_| true)
    }

    /// Sends page after page, as long as this desk holds the mailing's lease.
    async fn send_pending(&self, mailing: &Mailing) -> Result<Ended, Error> {
        let store = &self.inner.store;
        let mut after = None;
        // Whether a passing failure left someone pending in this round.
        let mut left_behind = false;
        loop {
            if self.inner.stop.is_stopped() {
                return Err(Error::Stopped("the desk is stopping".into()));
            }
            let state = store.mailing(mailing.id).await?.map(|m| m.state);
            if state != Some(MailingState::Running) {
                return Ok(Ended::NotRunning);
            }
            let now = self.now();
            let owner = &self.inner.mailer.owner;
            let until = now.plus_secs(LEASE_SECS);
            if !store.mailing_lease(mailing.id, owner, now, until).await? {
                return Ok(Ended::Elsewhere);
            }
            let page = store.mailing_pending(mailing.id, after, PAGE).await?;
            let Some(last) = page.last().copied() else {
                if after.is_none() {
                    return Ok(Ended::Done);
                }
                // Back to the start for the ones a passing failure left pending (after a
                // pause, so that an outage is not hammered) or that a pause skipped.
                after = None;
                if std::mem::take(&mut left_behind) {
                    self.inner.stop.sleep(Duration::from_secs(1)).await?;
                }
                continue;
            };
            after = Some(last);
            let seen = self
                .inner
                .mailer
                .changes
                .load(std::sync::atomic::Ordering::Acquire);
            let results: Vec<Result<bool, Error>> = futures_util::stream::iter(page)
                .map(|user| self.deliver(mailing, user, seen))
                .buffer_unordered(IN_FLIGHT)
                .collect()
                .await;
            for result in results {
                left_behind |= !result?;
            }
        }
    }

    /// Sends one recipient the mailing and records what came of it; `false` when they are
    /// left pending. A passing failure leaves them pending (tried again on the next round); a
    /// refusal is recorded and not retried.
    async fn deliver(&self, mailing: &Mailing, user: UserId, seen: u64) -> Result<bool, Error> {
        if self.halted(mailing.id, seen).await? {
            return Ok(true);
        }
        let action = Action::Deliver {
            user,
            content: mailing.content.clone(),
        };
        let delivery = match self.perform(&action).await {
            Ok(_) => Delivery::Sent,
            Err(TransportError::UserBlocked) => {
                self.mark_blocked_quietly(user).await;
                Delivery::Blocked
            }
            Err(TransportError::BadRequest(detail)) if gone(&detail) => Delivery::Left,
            Err(TransportError::Interrupted) => {
                return Err(Error::Stopped("the desk is stopping".into()));
            }
            Err(error) if error.is_transient() => {
                tracing::info!(%error, user = user.0, "hotline: a mailing's send failed for now");
                return Ok(false);
            }
            Err(error) => {
                tracing::info!(%error, user = user.0, "hotline: a mailing's send was refused");
                Delivery::Failed
            }
        };
        self.inner
            .store
            .mailing_record(mailing.id, user, delivery)
            .await?;
        metrics::counter!(crate::metrics::MAILED, "result" => delivery.as_str()).increment(1);
        Ok(true)
    }

    /// Marks a user who blocked the bot, without a notice in their topic: a mailing may find
    /// hundreds, and the backend group's budget is for conversations.
    async fn mark_blocked_quietly(&self, user: UserId) {
        let marked = async {
            let _held = self.hold(user).await?;
            if let Some(mut w) = self.load(user).await?
                && !w.conv.blocked
            {
                w.edit().blocked = true;
                let event = self.event(DeskEventKind::UserBlocked, &w, self.now().0);
                self.publish(event).await;
                self.commit(&mut w, Vec::new(), None).await?;
            }
            Ok::<(), Error>(())
        };
        if let Err(error) = marked.await {
            tracing::warn!(%error, user = user.0, "hotline: a user who blocked the bot could not be marked");
        }
    }

    /// Brings the mailing's panel up to date (text and buttons for its state). Cosmetic: a
    /// failure is logged, never fails the mailing.
    pub(super) async fn refresh_panel(&self, id: MailingId, rate: Option<Rate>) {
        let Ok(Some(progress)) = self.mailing_progress(id).await else {
            return;
        };
        let Some(Panel { chat, message }) = progress.mailing.panel else {
            return;
        };
        let action = Action::EditPanel {
            chat,
            message,
            text: panel_text(&progress, rate.map(|r| r.per_second(&progress.counts))),
            buttons: panel_buttons(&progress.mailing),
        };
        if let Err(error) = self.perform(&action).await {
            tracing::debug!(%error, "hotline: a mailing's panel could not be brought up to date");
        }
    }
}

/// How a mailing's sending ended.
enum Ended {
    /// No recipient is pending any more.
    Done,
    /// Paused or cancelled meanwhile.
    NotRunning,
    /// Another desk holds its lease.
    Elsewhere,
}

/// The desk's mailer: whether its loop runs, the name it leases mailings under, and a count
/// of the pauses and cancels made on this desk (so each send need not read the store).
#[derive(Debug)]
pub(super) struct Mailer {
    running: std::sync::atomic::AtomicBool,
    owner: String,
    changes: std::sync::atomic::AtomicU64,
}

impl Default for Mailer {
    fn default() -> Self {
        // Unique enough among the desks on one database: the process and the moment it began.
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        Self {
            running: std::sync::atomic::AtomicBool::new(false),
            owner: format!("{}-{started}", std::process::id()),
            changes: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

/// Where a mailing's sending began in this run, for its rate.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rate {
    since: Instant,
    done_before: u64,
}

impl Rate {
    fn per_second(&self, counts: &MailingCounts) -> f64 {
        let done = counts.total() - counts.pending;
        let seconds = self.since.elapsed().as_secs_f64().max(0.001);
        done.saturating_sub(self.done_before) as f64 / seconds
    }
}

/// Telegram's words for a chat that is gone.
fn gone(detail: &str) -> bool {
    let detail = detail.to_ascii_lowercase();
    detail.contains("chat not found") || detail.contains("deactivated")
}

/// The panel's text: what the mailing is, where it stands, and (while it runs) how fast.
pub(crate) fn panel_text(progress: &MailingProgress, rate: Option<f64>) -> String {
    let MailingProgress { mailing, counts } = progress;
    let segment = if mailing.segment.is_empty() || mailing.segment == "all" {
        "every user".to_owned()
    } else {
        format!("`{}`", mailing.segment)
    };
    let messages = mailing.content.len();
    let what = if messages == 1 {
        "1 message".to_owned()
    } else {
        format!("a chain of {messages} messages")
    };
    let head = format!("📣 Mailing {} of {what} to {segment}", mailing.id);
    let done = counts.total() - counts.pending;
    let tally = format!(
        "Sent {} · failed {} · blocked {} · left {} · remaining {}",
        counts.sent, counts.failed, counts.blocked, counts.left, counts.pending
    );
    match mailing.state {
        MailingState::Draft => format!(
            "{head}: {} recipient(s).\nConfirm to send, or Cancel.",
            counts.total()
        ),
        MailingState::Running => {
            let pace = match rate {
                Some(rate) if rate > 0.0 => {
                    let left = (counts.pending as f64 / rate).ceil() as u64;
                    format!("\n{rate:.1}/s · about {} left", duration_words(left))
                }
                _ => String::new(),
            };
            format!(
                "{head}: sending, {done} of {}.\n{tally}{pace}",
                counts.total()
            )
        }
        MailingState::Paused => format!(
            "{head}: paused at {done} of {}.\n{tally}\n/send resume {} goes on.",
            counts.total(),
            mailing.id.0
        ),
        MailingState::Cancelled => format!(
            "{head}: cancelled at {done} of {}.\n{tally}",
            counts.total()
        ),
        MailingState::Finished => format!("{head}: done.\n{tally}"),
    }
}

/// The panel's buttons for the mailing's state.
pub(crate) fn panel_buttons(mailing: &Mailing) -> Vec<PanelButton> {
    let button = |text: &str, verb: &str| PanelButton {
        text: text.to_owned(),
        data: format!("{PANEL_BUTTONS}{verb}:{}", mailing.id.0),
    };
    match mailing.state {
        MailingState::Draft => vec![button("✅ Confirm", "go"), button("✖ Cancel", "cancel")],
        MailingState::Running => vec![button("⏸ Pause", "pause"), button("✖ Cancel", "cancel")],
        MailingState::Paused => vec![button("▶ Resume", "resume"), button("✖ Cancel", "cancel")],
        MailingState::Cancelled | MailingState::Finished => Vec::new(),
    }
}

/// What the data of the desk's own buttons (a mailing panel's) starts with: a transport hands
/// presses of these to the desk as [`crate::Event::OperatorButton`].
pub const PANEL_BUTTONS: &str = "hotline:send:";

/// `95 s` → `1 min 35 s`.
fn duration_words(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ChatId, MessageId, Timestamp};

    fn progress(state: MailingState, pending: u64, sent: u64) -> MailingProgress {
        MailingProgress {
            mailing: Mailing {
                id: MailingId(3),
                content: MailingContent::Copy {
                    from: ChatId(-1),
                    messages: vec![MessageId(1), MessageId(2)],
                },
                segment: "#vip".into(),
                state,
                created: Timestamp(0),
                author: None,
                panel: None,
            },
            counts: MailingCounts {
                pending,
                sent,
                blocked: 1,
                ..MailingCounts::default()
            },
        }
    }

    #[test]
    fn the_panel_says_where_a_mailing_stands() {
        let draft = panel_text(&progress(MailingState::Draft, 10, 0), None);
        assert_eq!(
            draft,
            "📣 Mailing #3 of a chain of 2 messages to `#vip`: 11 recipient(s).\nConfirm to send, or Cancel."
        );
        let running = panel_text(&progress(MailingState::Running, 300, 600), Some(30.0));
        assert!(running.contains("sending, 601 of 901"), "{running}");
        assert!(running.contains("Sent 600 · failed 0 · blocked 1 · left 0 · remaining 300"));
        assert!(running.contains("30.0/s · about 10 s left"), "{running}");
        let done = panel_text(&progress(MailingState::Finished, 0, 900), None);
        assert!(done.ends_with("done.\nSent 900 · failed 0 · blocked 1 · left 0 · remaining 0"));
    }

    #[test]
    fn the_buttons_follow_the_state() {
        let data = |state| -> Vec<String> {
            panel_buttons(&progress(state, 1, 0).mailing)
                .into_iter()
                .map(|b| b.data)
                .collect()
        };
        assert_eq!(
            data(MailingState::Draft),
            ["hotline:send:go:3", "hotline:send:cancel:3"]
        );
        assert_eq!(
            data(MailingState::Paused),
            ["hotline:send:resume:3", "hotline:send:cancel:3"]
        );
        assert!(data(MailingState::Finished).is_empty());
        assert_eq!(duration_words(95), "1 min 35 s");
        assert_eq!(duration_words(7_300), "2 h 1 min");
    }
}
