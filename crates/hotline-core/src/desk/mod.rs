//! The driver: loads state, asks the policy, performs through the transport, records in the store.
//!
//! One file per idea: this one holds the desk's types and [`Desk::handle`], which sends each
//! event to its family's handler; `plumbing.rs` the steps they share (the user's hold, commits,
//! sending with retries, topics created and recreated, notices, renames); then one file per
//! family of events: `user_messages.rs`, `operator_messages.rs`, `commands.rs`,
//! `host_messages.rs`, `edits_reactions.rs`, `ticks.rs`. `lanes.rs` orders events per user,
//! `locks.rs` holds the per-user locks.

mod archive;
mod commands;
mod edits_reactions;
mod emit;
mod host_messages;
mod lanes;
mod locks;
mod mailings;
mod marks;
mod notices;
mod operator_messages;
mod plumbing;
mod retrying;
mod send_command;
mod standing;
mod ticks;
mod unrecorded;
mod user_messages;

pub use emit::{Events, Lagged};
pub use lanes::{InLane, Ticket};
pub use mailings::{IN_FLIGHT, MailingHandle, MailingProgress, PANEL_BUTTONS};
pub use standing::Standing;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::Error;
use crate::event::Event;
use crate::ids::TopicId;
use crate::message::UserProfile;
use crate::retry::{RetryPolicy, Stop};
use crate::store::{Conversation, Store, UserClaim};
use crate::transport::Transport;
use std::sync::Arc;

/// What handling an event came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Something was copied across (user → topic, topic → user, host → topic) or edited.
    Relayed,
    /// The user is not active yet: the message was kept as context, nothing was sent.
    Remembered,
    /// Handled, with nothing to relay (a command, a status change, a hand-over).
    Done,
    /// This event was handled before (a redelivered update); nothing was done again.
    AlreadyHandled,
    /// Not for the desk, or withheld by a rule.
    Ignored(Ignored),
}

/// Why an event was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ignored {
    /// `IGNORE_CHATS` or `WHITE_LIST` excludes the user.
    NotAccepted,
    /// The user is banned.
    Banned,
    /// `RESTRICTED_KEYWORDS_FRONTEND` / `_BACKEND` withheld it.
    Restricted,
    /// A group other than the backend group.
    OtherChat,
    /// In the backend group but not in a topic.
    NotInTopic,
    /// A topic that belongs to no user.
    UnknownTopic,
    /// An operator's internal comment (`/ `, or not a reply under `REPLY_ONLY`).
    InternalComment,
    /// The user blocked the bot: not sent.
    UserBlocked,
    /// No open topic to mirror a host-bot message into, or interception is off.
    NotIntercepted,
    /// An edit or reaction on a message the desk never relayed.
    NotLinked,
    /// A user the desk does not know.
    UnknownUser,
}

type ErrorHook = Arc<dyn Fn(&Error) + Send + Sync>;

/// The support desk: hand it [`Event`]s, it performs [`Action`](crate::Action)s through a [`Transport`] and keeps
/// its state in a [`Store`].
///
/// Cloning is cheap (a shared handle). Events of one user are handled one at a time, in order
/// (a per-user lock, and with [`Desk::dispatch`] a per-user queue); different users run
/// concurrently.
#[derive(Clone)]
pub struct Desk {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: Arc<dyn Store>,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    locks: locks::UserLocks,
    lanes: lanes::Lanes,
    on_error: Option<ErrorHook>,
    retry: RetryPolicy,
    stop: Stop,
    unrecorded: unrecorded::Unrecorded,
    event_retry: Option<RetryPolicy>,
    health: retrying::Health,
    events: emit::EventHub,
    /// Wakes the mailer when a mailing starts or resumes.
    mail_wake: tokio::sync::Notify,
    /// What operators wrote outside topics lately, for `/send`'s chains.
    drafts: send_command::Drafts,
    mailer: mailings::Mailer,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Desk`]; see [`Desk::builder`].
#[must_use]
pub struct DeskBuilder {
    config: Config,
    store: Arc<dyn Store>,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    on_error: Option<ErrorHook>,
    retry: RetryPolicy,
    stop: Stop,
    event_retry: Option<RetryPolicy>,
    event_buffer: usize,
}

impl DeskBuilder {
    /// How many events [`Desk::events`] keeps for a subscriber that reads slowly before it
    /// misses the oldest (default 1024). The desk never waits for a subscriber.
    pub fn event_buffer(mut self, events: usize) -> Self {
        self.event_buffer = events.max(1);
        self
    }

    /// Tries an event that failed in its lane ([`Desk::dispatch`], [`Desk::run_in_lane`])
    /// again by `policy`, inside the lane (so the user's later events wait and their order
    /// holds), then gives it up with [`Error::Exhausted`]. Attempts count only while other
    /// events go through: in an outage (nothing goes through) the desk waits and tries again
    /// without giving anything up. Default: no second attempt.
    pub fn event_retry(mut self, policy: RetryPolicy) -> Self {
        self.event_retry = Some(policy);
        self
    }

    /// How a call that met a passing failure (a network error, a 5xx) is tried again (default
    /// [`RetryPolicy::calls`], with `transient_retries` from the configuration as its attempts).
    /// Rate limits are always waited out as long as the messenger asks.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The stop signal the desk's waits listen to (share one with the transport and the runner,
    /// so that [`Stop::stop`] ends every wait at once).
    pub fn stop(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    /// Reads time from `clock` instead of the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Calls `hook` with every error of an event handled through [`Desk::dispatch`] (they are also
    /// logged with `tracing`). Errors never escape into the host bot otherwise.
    pub fn on_error(mut self, hook: impl Fn(&Error) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// The desk.
    pub fn build(self) -> Desk {
        Desk {
            inner: Arc::new(Inner {
                config: self.config,
                store: self.store,
                transport: self.transport,
                clock: self.clock,
                locks: locks::UserLocks::default(),
                lanes: lanes::Lanes::default(),
                unrecorded: unrecorded::Unrecorded::default(),
                event_retry: self.event_retry,
                health: retrying::Health::default(),
                events: emit::EventHub::new(self.event_buffer),
                mail_wake: tokio::sync::Notify::new(),
                drafts: send_command::Drafts::default(),
                mailer: mailings::Mailer::default(),
                on_error: self.on_error,
                retry: self.retry,
                stop: self.stop,
            }),
        }
    }
}

/// A conversation being worked on, with a note of whether it changed since it was last stored.
struct Working {
    conv: Conversation,
    dirty: bool,
    /// The status or the profile changed, so the topic's name may have to follow.
    name_stale: bool,
}

impl Working {
    fn edit(&mut self) -> &mut Conversation {
        self.dirty = true;
        &mut self.conv
    }

    fn topic(&self) -> Option<TopicId> {
        self.conv.topic
    }
}

/// Holds a user for the handling of one event: the in-process lock and the store's claim.
struct Held<'a> {
    _claim: UserClaim,
    _lock: locks::UserGuard<'a>,
}

impl Desk {
    /// A desk with the system clock and no error hook.
    pub fn new(
        config: Config,
        store: impl Store + 'static,
        transport: impl Transport + 'static,
    ) -> Self {
        Self::builder(config, Arc::new(store), Arc::new(transport)).build()
    }

    /// A builder, for a clock or an error hook.
    pub fn builder(
        config: Config,
        store: Arc<dyn Store>,
        transport: Arc<dyn Transport>,
    ) -> DeskBuilder {
        let retry = RetryPolicy::calls().with_attempts(config.transient_retries + 1);
        DeskBuilder {
            config,
            store,
            transport,
            clock: Arc::new(SystemClock),
            on_error: None,
            retry,
            stop: Stop::new(),
            event_retry: None,
            event_buffer: 1024,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The stop signal of this desk's waits.
    pub fn stop_signal(&self) -> &Stop {
        &self.inner.stop
    }

    /// Hands the user to an operator (the host bot's own button or command): like a keyword, it
    /// opens (or reopens) the user's topic, posts their recent messages as context and greets them.
    pub async fn hand_over(&self, user: UserProfile) -> Result<Outcome, Error> {
        self.handle(Event::HandOver { user }).await
    }

    /// Does the work that is due now (auto-close, the archive's retention).
    pub async fn tick(&self) -> Result<Outcome, Error> {
        let now = self.inner.clock.now();
        self.handle(Event::Tick { now }).await
    }

    /// Handles one event to the end and says what came of it.
    ///
    /// Do not cancel the returned future (a `timeout` around it, a dropped `select!` branch): an
    /// event stopped between a send and its commit may be sent again. To not wait, use
    /// [`Desk::dispatch`], whose work goes on when the ticket is dropped.
    ///
    /// Calls for one user wait for each other (in the order they were made); calls for different
    /// users run concurrently. A rate limit is waited out inside the call; a deleted topic is
    /// recreated and the message sent again.
    pub async fn handle(&self, event: Event) -> Result<Outcome, Error> {
        let started = std::time::Instant::now();
        let result = self.handle_timed(event).await;
        if let Ok(Outcome::Relayed) = result {
            metrics::histogram!(crate::metrics::RELAY_LATENCY).record(started.elapsed());
        }
        result
    }

    async fn handle_timed(&self, event: Event) -> Result<Outcome, Error> {
        let key = event.key();
        match event {
            Event::UserMessage { user, message } => {
                self.on_user_messages(user, vec![message], key, false).await
            }
            Event::UserAlbum { user, messages } => {
                self.on_user_messages(user, messages, key, false).await
            }
            Event::HandOver { user } => self.on_user_messages(user, Vec::new(), None, true).await,
            Event::UserEdited { user, message } => self.on_user_edit(user, message, key).await,
            Event::UserReaction {
                user,
                message,
                emoji,
            } => self.on_user_reaction(user, message, emoji).await,
            Event::OperatorMessage {
                chat,
                topic,
                operator,
                message,
            } => {
                self.on_operator_messages(chat, topic, operator, vec![message], key)
                    .await
            }
            Event::OperatorAlbum {
                chat,
                topic,
                operator,
                messages,
            } => {
                self.on_operator_messages(chat, topic, operator, messages, key)
                    .await
            }
            Event::OperatorEdited {
                chat,
                topic: _,
                message,
            } => self.on_operator_edit(chat, message, key).await,
            Event::OperatorReaction {
                chat,
                topic: _,
                message,
                emoji,
            } => self.on_operator_reaction(chat, message, emoji).await,
            Event::HostMessage { user, message } => self.on_host_message(user, message, key).await,
            Event::HostAlbum { user, messages } => self.on_host_album(user, messages, key).await,
            Event::HostCopied { user, messages } => self.on_host_copied(user, messages, key).await,
            Event::HostEdited { user, message } => self.on_host_edit(user, message).await,
            Event::TopicClosed { chat, topic } => self.on_topic_toggled(chat, topic, false).await,
            Event::TopicReopened { chat, topic } => self.on_topic_toggled(chat, topic, true).await,
            Event::UserBlocked { user } => self.on_blocked(user, true).await,
            Event::UserUnblocked { user } => self.on_blocked(user, false).await,
            Event::Tick { now } => self.on_tick(now).await,
            Event::OperatorButton {
                chat,
                operator,
                message,
                data,
                query,
            } => self.on_button(chat, operator, message, &data, &query).await,
        }
    }

    pub(super) fn report(&self, error: &Error) {
        tracing::warn!(%error, "hotline: an event could not be handled");
        crate::report_unobserved(
            error.kind(),
            "hotline: an event could not be handled",
            error,
        );
        if let Some(hook) = &self.inner.on_error {
            hook(error);
        }
    }
}

#[cfg(test)]
mod tests;
