//! The driver: loads state, asks the policy, performs through the transport, records in the store.

mod lanes;
mod locks;
mod notices;

pub use lanes::{InLane, Ticket};

use crate::action::{Action, Performed, Recipient};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::Error;
use crate::event::{Event, EventKey};
use crate::ids::{ChatId, MessageId, Timestamp, TopicId, UserId};
use crate::message::{IncomingMessage, UserProfile};
use crate::policy::{self, OperatorCommand, OperatorRoute, UserRoute};
use crate::retry::{RetryPolicy, Stop};
use crate::store::{Commit, Conversation, MessageLink, Origin, Status, Store, UserClaim};
use crate::transport::{Transport, TransportError};
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

/// The support desk: hand it [`Event`]s, it performs [`Action`]s through a [`Transport`] and keeps
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
}

impl DeskBuilder {
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

    /// Does the work that is due now (auto-close).
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
                operator: _,
                message,
            } => {
                self.on_operator_messages(chat, topic, vec![message], key)
                    .await
            }
            Event::OperatorAlbum {
                chat,
                topic,
                operator: _,
                messages,
            } => self.on_operator_messages(chat, topic, messages, key).await,
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
            Event::HostEdited { user, message } => self.on_host_edit(user, message).await,
            Event::TopicClosed { chat, topic } => self.on_topic_toggled(chat, topic, false).await,
            Event::TopicReopened { chat, topic } => self.on_topic_toggled(chat, topic, true).await,
            Event::UserBlocked { user } => self.on_blocked(user, true).await,
            Event::UserUnblocked { user } => self.on_blocked(user, false).await,
            Event::Tick { now } => self.on_tick(now).await,
        }
    }

    fn report(&self, error: &Error) {
        tracing::warn!(%error, "hotline: an event could not be handled");
        if let Some(hook) = &self.inner.on_error {
            hook(error);
        }
    }

    fn group(&self) -> ChatId {
        self.inner.config.backend_group
    }

    async fn hold(&self, user: UserId) -> Result<Held<'_>, Error> {
        let lock = self.inner.locks.lock(user).await;
        let claim = self.inner.store.claim_user(user).await?;
        Ok(Held {
            _claim: claim,
            _lock: lock,
        })
    }

    async fn already_handled(&self, key: Option<&EventKey>) -> Result<bool, Error> {
        match key {
            Some(key) => Ok(self.inner.store.is_processed(key).await?),
            None => Ok(false),
        }
    }

    /// Stores the conversation (if it changed), the links and the handled event, in one commit.
    async fn commit(
        &self,
        w: &mut Working,
        links: Vec<MessageLink>,
        processed: Option<EventKey>,
    ) -> Result<(), Error> {
        let conversation = if w.dirty { Some(w.conv.clone()) } else { None };
        let commit = Commit {
            conversation,
            links,
            processed,
        };
        if commit.is_empty() {
            return Ok(());
        }
        self.inner.store.commit(commit).await?;
        w.dirty = false;
        Ok(())
    }

    /// Performs an action, waiting out rate limits (as long as Telegram asks, in order: a message
    /// is never dropped for a 429) and retrying passing failures by the desk's [`RetryPolicy`].
    /// A stop abandons the wait: the event fails as interrupted and is not confirmed.
    async fn perform(&self, action: &Action) -> Result<Performed, TransportError> {
        let (retry, stop) = (&self.inner.retry, &self.inner.stop);
        let mut failures = 0;
        loop {
            match self.inner.transport.perform(action).await {
                Err(TransportError::RetryAfter(wait)) => {
                    tracing::debug!(?wait, "hotline: rate limited, waiting");
                    retry.wait(stop, wait).await.map_err(TransportError::from)?;
                }
                Err(TransportError::Unavailable(reason)) if retry.allows(failures + 1) => {
                    failures += 1;
                    let wait = retry.backoff(failures);
                    tracing::debug!(%reason, ?wait, "hotline: transport unavailable, retrying");
                    retry.wait(stop, wait).await.map_err(TransportError::from)?;
                }
                other => return other,
            }
        }
    }

    /// Performs an action in the user's topic; if the topic was deleted, creates a new one, records
    /// it, and performs the action again there (`build` gets `true` then, to drop replies to
    /// messages of the old topic).
    async fn perform_in_topic(
        &self,
        w: &mut Working,
        build: impl Fn(TopicId, bool) -> Action,
    ) -> Result<Performed, Error> {
        let mut recreated = false;
        loop {
            let topic = match w.topic() {
                Some(topic) => topic,
                None => self.recreate_topic(w).await?,
            };
            match self.perform(&build(topic, recreated)).await {
                Err(TransportError::TopicGone) if !recreated => {
                    tracing::info!(user = %w.conv.user, %topic, "hotline: topic gone, recreating");
                    self.recreate_topic(w).await?;
                    recreated = true;
                }
                other => return Ok(other?),
            }
        }
    }

    async fn create_topic(&self, name: String) -> Result<TopicId, Error> {
        match self
            .perform(&Action::CreateTopic {
                chat: self.group(),
                name,
            })
            .await?
        {
            Performed::Topic(topic) => Ok(topic),
            other => Err(Error::Transport(TransportError::Other(format!(
                "creating a topic gave {other:?}, not a topic"
            )))),
        }
    }

    async fn recreate_topic(&self, w: &mut Working) -> Result<TopicId, Error> {
        let status = if w.conv.status.is_open() {
            w.conv.status
        } else {
            Status::UserAnswered
        };
        let name = policy::topic_name(&self.inner.config, &w.conv, status);
        let topic = self.create_topic(name.clone()).await?;
        let c = w.edit();
        c.topic = Some(topic);
        c.topic_name = Some(name);
        self.commit(w, Vec::new(), None).await?;
        self.notice_topic(
            w,
            "♻️ The previous topic of this user was deleted; the conversation continues here.",
        )
        .await;
        if self.inner.config.auto_info {
            self.post_card(w).await;
        }
        Ok(topic)
    }

    /// A notice to the operators in the user's topic. Best effort: a failure is logged, not raised
    /// (a notice is never worth failing the event it explains).
    async fn notice_topic(&self, w: &Working, text: &str) -> Option<MessageId> {
        let topic = w.topic()?;
        let action = Action::SendNotice {
            to: Recipient::Topic {
                chat: self.group(),
                topic,
            },
            text: text.to_owned(),
            markdown: false,
        };
        match self.perform(&action).await {
            Ok(performed) => performed.first_message(),
            Err(error) => {
                tracing::warn!(%error, "hotline: a notice to the operators failed");
                None
            }
        }
    }

    /// The user card (`AUTO_INFO`), posted and pinned in the topic.
    async fn post_card(&self, w: &Working) {
        let card = policy::user_card(&self.inner.config, &w.conv);
        if let Some(message) = self.notice_topic(w, &card).await {
            let pin = Action::PinMessage {
                chat: self.group(),
                message,
            };
            if let Err(error) = self.perform(&pin).await {
                tracing::info!(%error, "hotline: pinning the user card failed");
            }
        }
    }

    /// A message from the desk to the user. A user who blocked the bot is marked.
    async fn notice_user(
        &self,
        w: &mut Working,
        text: String,
        markdown: bool,
    ) -> Result<(), Error> {
        let action = Action::SendNotice {
            to: Recipient::User(w.conv.user),
            text,
            markdown,
        };
        match self.perform(&action).await {
            Ok(_) => Ok(()),
            Err(TransportError::UserBlocked) => {
                self.mark_blocked(w).await;
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn mark_blocked(&self, w: &mut Working) {
        if !w.conv.blocked {
            w.edit().blocked = true;
            self.notice_topic(
                w,
                "⛔ The user has blocked the bot: messages to them are not delivered.",
            )
            .await;
        }
    }

    /// Moves the conversation to `status` (recording when), and names the topic to match.
    fn set_status(&self, w: &mut Working, status: Status, now: Timestamp) {
        if w.conv.status != status {
            let c = w.edit();
            c.status = status;
            c.status_since = now;
            w.name_stale = true;
        }
    }

    /// Renames the topic if its name no longer matches the status. Call after the commit that
    /// records the new status: renames are cosmetic and come after the messages they describe.
    async fn sync_topic_name(&self, w: &mut Working) -> Result<(), Error> {
        let Some(topic) = w.topic().filter(|_| w.name_stale) else {
            return Ok(());
        };
        w.name_stale = false;
        let name = policy::topic_name(&self.inner.config, &w.conv, w.conv.status);
        if w.conv.topic_name.as_deref() == Some(name.as_str()) {
            return Ok(());
        }
        w.edit().topic_name = Some(name.clone());
        self.commit(w, Vec::new(), None).await?;
        let action = Action::RenameTopic {
            chat: self.group(),
            topic,
            name,
        };
        if let Err(error) = self.perform(&action).await {
            tracing::warn!(%error, "hotline: renaming a topic failed");
        }
        Ok(())
    }

    async fn load_or_new(&self, profile: &UserProfile, now: Timestamp) -> Result<Working, Error> {
        Ok(match self.inner.store.conversation(profile.id).await? {
            Some(conv) => {
                let mut w = Working {
                    conv,
                    dirty: false,
                    name_stale: false,
                };
                if w.conv.profile != *profile && !profile.first_name.is_empty() {
                    w.edit().profile = profile.clone();
                    w.name_stale = true;
                }
                w
            }
            None => Working {
                conv: Conversation::new(profile.clone(), now),
                dirty: true,
                name_stale: true,
            },
        })
    }

    async fn load(&self, user: UserId) -> Result<Option<Working>, Error> {
        Ok(self
            .inner
            .store
            .conversation(user)
            .await?
            .map(|conv| Working {
                conv,
                dirty: false,
                name_stale: false,
            }))
    }

    async fn on_user_messages(
        &self,
        profile: UserProfile,
        messages: Vec<IncomingMessage>,
        key: Option<EventKey>,
        forced: bool,
    ) -> Result<Outcome, Error> {
        let config = &self.inner.config;
        let user = profile.id;
        let _held = self.hold(user).await?;
        if self.already_handled(key.as_ref()).await? {
            return Ok(Outcome::AlreadyHandled);
        }
        let now = self.inner.clock.now();
        let mut w = self.load_or_new(&profile, now).await?;

        if !config.accepts(user) {
            return Ok(Outcome::Ignored(Ignored::NotAccepted));
        }
        if w.conv.banned {
            self.commit(&mut w, Vec::new(), key).await?;
            return Ok(Outcome::Ignored(Ignored::Banned));
        }
        if let Some(payload) = messages
            .iter()
            .filter_map(IncomingMessage::command)
            .find(|c| c.is("start") && !c.payload.is_empty())
            .map(|c| c.payload.to_owned())
            && w.conv.start_payload.as_deref() != Some(payload.as_str())
        {
            w.edit().start_payload = Some(payload);
        }
        if w.conv.blocked && !forced {
            // A user who writes has unblocked the bot.
            w.edit().blocked = false;
        }
        if !forced && policy::restricted_for_desk(config, &messages) {
            self.commit(&mut w, Vec::new(), key).await?;
            if !config.silent_mode {
                self.notice_user(&mut w, "Your message was not delivered.".into(), false)
                    .await?;
                self.commit(&mut w, Vec::new(), None).await?;
            }
            return Ok(Outcome::Ignored(Ignored::Restricted));
        }

        match policy::route_user_message(config, &w.conv, &messages, forced) {
            UserRoute::Remember => {
                policy::remember(&mut w.edit().pending, &messages, config.context_messages);
                self.commit(&mut w, Vec::new(), key).await?;
                return Ok(Outcome::Remembered);
            }
            UserRoute::Open => self.open(&mut w, now).await?,
            UserRoute::Reopen => self.reopen(&mut w, now).await?,
            UserRoute::Relay => self.set_status(&mut w, Status::UserAnswered, now),
            UserRoute::RelayClosed => {}
        }
        // A greeting owed from an opening interrupted by a crash is sent now.
        self.greet(&mut w).await?;
        self.post_context(&mut w).await?;

        let outcome = if messages.is_empty() {
            self.notice_topic(&w, "🙋 The user asked to talk to a human.")
                .await;
            Outcome::Done
        } else {
            let links = self.copy_to_topic(&mut w, &messages).await?;
            self.commit(&mut w, links, key).await?;
            Outcome::Relayed
        };
        self.commit(&mut w, Vec::new(), None).await?;
        self.sync_topic_name(&mut w).await?;
        Ok(outcome)
    }

    /// Creates the user's topic and records it before anything else is sent, so that a crash
    /// after this point can never lead to a second topic for the same user.
    async fn open(&self, w: &mut Working, now: Timestamp) -> Result<(), Error> {
        let config = &self.inner.config;
        let name = policy::topic_name(config, &w.conv, Status::UserAnswered);
        let topic = self.create_topic(name.clone()).await?;
        let c = w.edit();
        c.topic = Some(topic);
        c.status = Status::UserAnswered;
        c.status_since = now;
        c.topic_name = Some(name);
        c.welcome_pending = true;
        self.commit(w, Vec::new(), None).await?;
        if config.auto_info {
            self.post_card(w).await;
        }
        Ok(())
    }

    async fn reopen(&self, w: &mut Working, now: Timestamp) -> Result<(), Error> {
        if let Some(topic) = w.topic() {
            match self
                .perform(&Action::ReopenTopic {
                    chat: self.group(),
                    topic,
                })
                .await
            {
                Ok(_) => {}
                // Recreated (and recorded) on the first send into it.
                Err(TransportError::TopicGone) => w.edit().topic = None,
                Err(error) => tracing::warn!(%error, "hotline: reopening a topic failed"),
            }
        }
        let c = w.edit();
        c.status = Status::UserAnswered;
        c.status_since = now;
        c.welcome_pending = true;
        w.name_stale = true;
        if w.topic().is_none() {
            self.recreate_topic(w).await?;
        }
        self.commit(w, Vec::new(), None).await
    }

    /// Sends the greeting owed for this opening. Best effort: a greeting that cannot be sent
    /// (a bad photo id, say) is logged, and the user's message is still relayed.
    async fn greet(&self, w: &mut Working) -> Result<(), Error> {
        if !w.conv.welcome_pending {
            return Ok(());
        }
        let title = w.conv.profile.display_name();
        let action = match self.inner.config.welcome.render(&title) {
            None => None,
            Some(g) if g.photo.is_none() && g.video_note.is_none() && g.buttons.is_empty() => {
                Some(Action::SendNotice {
                    to: Recipient::User(w.conv.user),
                    text: g.text,
                    markdown: g.markdown,
                })
            }
            Some(greeting) => Some(Action::SendGreeting {
                user: w.conv.user,
                greeting,
            }),
        };
        if let Some(action) = action {
            match self.perform(&action).await {
                Ok(_) => {}
                Err(TransportError::UserBlocked) => self.mark_blocked(w).await,
                Err(error) => tracing::warn!(%error, "hotline: the greeting could not be sent"),
            }
        }
        w.edit().welcome_pending = false;
        self.commit(w, Vec::new(), None).await
    }

    /// Posts the user's messages from before activation into the topic, marked as context.
    async fn post_context(&self, w: &mut Working) -> Result<(), Error> {
        if w.conv.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut w.edit().pending);
        let header = format!(
            "⏮ Context: the user's last {} message(s) before they reached the desk.",
            pending.len()
        );
        self.notice_topic(w, &header).await;
        let user = w.conv.user;
        let result = self
            .perform_in_topic(w, |topic, _| Action::CopyToTopic {
                chat: self.group(),
                topic,
                from: user.chat(),
                messages: pending.clone(),
                reply_to: None,
            })
            .await;
        let links = match result {
            Ok(performed) => links_for(user, &pending, &performed, Origin::User),
            Err(error) => {
                // Context is a courtesy: messages the user deleted meanwhile make the copy fail.
                tracing::warn!(%error, "hotline: posting context failed");
                Vec::new()
            }
        };
        self.commit(w, links, None).await
    }

    async fn copy_to_topic(
        &self,
        w: &mut Working,
        messages: &[IncomingMessage],
    ) -> Result<Vec<MessageLink>, Error> {
        let user = w.conv.user;
        let reply_to = match messages.first().and_then(|m| m.reply_to) {
            Some(reply) => self
                .inner
                .store
                .link_by_user_message(user, reply)
                .await?
                .map(|link| link.topic_message),
            None => None,
        };
        let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        let performed = self
            .perform_in_topic(w, |topic, recreated| Action::CopyToTopic {
                chat: self.group(),
                topic,
                from: user.chat(),
                messages: ids.clone(),
                reply_to: if recreated { None } else { reply_to },
            })
            .await?;
        Ok(links_for(user, &ids, &performed, Origin::User))
    }

    async fn on_user_edit(
        &self,
        user: UserId,
        message: IncomingMessage,
        key: Option<EventKey>,
    ) -> Result<Outcome, Error> {
        let _held = self.hold(user).await?;
        if self.already_handled(key.as_ref()).await? {
            return Ok(Outcome::AlreadyHandled);
        }
        let Some(link) = self
            .inner
            .store
            .link_by_user_message(user, message.id)
            .await?
        else {
            return Ok(Outcome::Ignored(Ignored::NotLinked));
        };
        if link.origin != Origin::User {
            return Ok(Outcome::Ignored(Ignored::NotLinked));
        }
        let action = Action::EditCopy {
            chat: self.group(),
            message: link.topic_message,
            text: message.text.unwrap_or_default(),
            caption: message.has_media,
        };
        self.edit_copy(&action, key).await
    }

    async fn edit_copy(&self, action: &Action, key: Option<EventKey>) -> Result<Outcome, Error> {
        let outcome = match self.perform(action).await {
            Ok(_) => Outcome::Relayed,
            // The copy may be gone (deleted topic, deleted message) or unchanged: nothing to do.
            Err(TransportError::BadRequest(reason)) => {
                tracing::info!(%reason, "hotline: an edit could not be mirrored");
                Outcome::Ignored(Ignored::NotLinked)
            }
            Err(TransportError::TopicGone) => Outcome::Ignored(Ignored::NotLinked),
            Err(TransportError::UserBlocked) => Outcome::Ignored(Ignored::UserBlocked),
            Err(error) => return Err(error.into()),
        };
        self.inner
            .store
            .commit(Commit {
                processed: key,
                ..Commit::default()
            })
            .await?;
        Ok(outcome)
    }

    async fn on_user_reaction(
        &self,
        user: UserId,
        message: MessageId,
        emoji: Vec<String>,
    ) -> Result<Outcome, Error> {
        let _held = self.hold(user).await?;
        let Some(link) = self.inner.store.link_by_user_message(user, message).await? else {
            return Ok(Outcome::Ignored(Ignored::NotLinked));
        };
        let action = Action::SetReaction {
            chat: self.group(),
            message: link.topic_message,
            emoji,
        };
        self.edit_copy(&action, None).await
    }

    /// Finds the conversation a group message belongs to, or why none does.
    async fn topic_owner(
        &self,
        chat: ChatId,
        topic: Option<TopicId>,
    ) -> Result<Result<UserId, Ignored>, Error> {
        if chat != self.group() {
            return Ok(Err(Ignored::OtherChat));
        }
        let Some(topic) = topic else {
            return Ok(Err(Ignored::NotInTopic));
        };
        Ok(match self.inner.store.conversation_by_topic(topic).await? {
            Some(conv) => Ok(conv.user),
            None => Err(Ignored::UnknownTopic),
        })
    }

    async fn on_operator_messages(
        &self,
        chat: ChatId,
        topic: Option<TopicId>,
        messages: Vec<IncomingMessage>,
        key: Option<EventKey>,
    ) -> Result<Outcome, Error> {
        let config = &self.inner.config;
        let user = match self.topic_owner(chat, topic).await? {
            Ok(user) => user,
            Err(why) => return Ok(Outcome::Ignored(why)),
        };
        let _held = self.hold(user).await?;
        if self.already_handled(key.as_ref()).await? {
            return Ok(Outcome::AlreadyHandled);
        }
        // Read again under the claim: the topic may have been replaced meanwhile.
        let Some(mut w) = self.load(user).await? else {
            return Ok(Outcome::Ignored(Ignored::UnknownTopic));
        };
        if w.topic() != topic {
            return Ok(Outcome::Ignored(Ignored::UnknownTopic));
        }
        let Some(first) = messages.first() else {
            return Ok(Outcome::Done);
        };
        let now = self.inner.clock.now();
        let reply_to = match first.reply_to {
            Some(reply) => self
                .inner
                .store
                .link_by_topic_message(reply)
                .await?
                .filter(|link| link.user == user)
                .map(|link| link.user_message),
            None => None,
        };
        let outcome = match policy::route_operator_message(config, first, reply_to.is_some()) {
            OperatorRoute::InternalComment => Outcome::Ignored(Ignored::InternalComment),
            OperatorRoute::Refuse => {
                self.notice_topic(
                    &w,
                    "⛔ Not sent: the message contains a restricted keyword (RESTRICTED_KEYWORDS_BACKEND).",
                )
                .await;
                Outcome::Ignored(Ignored::Restricted)
            }
            OperatorRoute::Command(command) => {
                self.operator_command(&mut w, command, now).await?;
                Outcome::Done
            }
            OperatorRoute::Relay if w.conv.blocked => {
                self.notice_topic(&w, "⛔ Not delivered: the user has blocked the bot.")
                    .await;
                Outcome::Ignored(Ignored::UserBlocked)
            }
            OperatorRoute::Relay => {
                let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
                let action = Action::CopyToUser {
                    user,
                    from: self.group(),
                    messages: ids.clone(),
                    reply_to,
                };
                match self.perform(&action).await {
                    Ok(performed) => {
                        let links = links_for(user, &ids, &performed, Origin::Operator);
                        self.set_status(&mut w, Status::SupportAnswered, now);
                        self.commit(&mut w, links, key).await?;
                        self.sync_topic_name(&mut w).await?;
                        return Ok(Outcome::Relayed);
                    }
                    Err(TransportError::UserBlocked) => {
                        self.mark_blocked(&mut w).await;
                        Outcome::Ignored(Ignored::UserBlocked)
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        };
        self.commit(&mut w, Vec::new(), key).await?;
        self.sync_topic_name(&mut w).await?;
        Ok(outcome)
    }

    async fn operator_command(
        &self,
        w: &mut Working,
        command: OperatorCommand,
        now: Timestamp,
    ) -> Result<(), Error> {
        let config = &self.inner.config;
        match command {
            OperatorCommand::Close => {
                if let Some(topic) = w.topic()
                    && let Err(error) = self
                        .perform(&Action::CloseTopic {
                            chat: self.group(),
                            topic,
                        })
                        .await
                {
                    tracing::warn!(%error, "hotline: closing a topic failed");
                }
                self.set_status(w, Status::Closed, now);
            }
            OperatorCommand::Hold => self.set_status(w, Status::UserAnswered, now),
            OperatorCommand::Wait => self.set_status(w, Status::SupportAnswered, now),
            OperatorCommand::Ban => {
                w.edit().banned = true;
                self.notice_topic(w, "🚫 The user is banned: their messages are no longer relayed. /unban undoes it.")
                    .await;
            }
            OperatorCommand::Unban => {
                w.edit().banned = false;
                self.notice_topic(w, "✅ The user is no longer banned.")
                    .await;
            }
            OperatorCommand::Info => {
                let card = policy::user_card(config, &w.conv);
                self.notice_topic(w, &card).await;
            }
            OperatorCommand::Help => {
                self.notice_topic(w, policy::OPERATOR_HELP).await;
            }
            OperatorCommand::Unknown => {
                self.notice_topic(w, "Unknown command, not sent to the user. /help lists the commands; start a message with \"/ \" for an internal comment.")
                    .await;
            }
        }
        Ok(())
    }

    async fn on_operator_edit(
        &self,
        chat: ChatId,
        message: IncomingMessage,
        key: Option<EventKey>,
    ) -> Result<Outcome, Error> {
        if chat != self.group() {
            return Ok(Outcome::Ignored(Ignored::OtherChat));
        }
        let Some(link) = self.inner.store.link_by_topic_message(message.id).await? else {
            return Ok(Outcome::Ignored(Ignored::NotLinked));
        };
        if link.origin != Origin::Operator {
            return Ok(Outcome::Ignored(Ignored::NotLinked));
        }
        let _held = self.hold(link.user).await?;
        if self.already_handled(key.as_ref()).await? {
            return Ok(Outcome::AlreadyHandled);
        }
        let action = Action::EditCopy {
            chat: link.user.chat(),
            message: link.user_message,
            text: message.text.unwrap_or_default(),
            caption: message.has_media,
        };
        self.edit_copy(&action, key).await
    }

    async fn on_operator_reaction(
        &self,
        chat: ChatId,
        message: MessageId,
        emoji: Vec<String>,
    ) -> Result<Outcome, Error> {
        if chat != self.group() {
            return Ok(Outcome::Ignored(Ignored::OtherChat));
        }
        let Some(link) = self.inner.store.link_by_topic_message(message).await? else {
            return Ok(Outcome::Ignored(Ignored::NotLinked));
        };
        let _held = self.hold(link.user).await?;
        let action = Action::SetReaction {
            chat: link.user.chat(),
            message: link.user_message,
            emoji,
        };
        self.edit_copy(&action, None).await
    }

    async fn on_host_message(
        &self,
        user: UserId,
        message: IncomingMessage,
        key: Option<EventKey>,
    ) -> Result<Outcome, Error> {
        if !self.inner.config.intercept_external {
            return Ok(Outcome::Ignored(Ignored::NotIntercepted));
        }
        let _held = self.hold(user).await?;
        if self.already_handled(key.as_ref()).await? {
            return Ok(Outcome::AlreadyHandled);
        }
        let Some(mut w) = self.load(user).await? else {
            return Ok(Outcome::Ignored(Ignored::NotIntercepted));
        };
        if !w.conv.is_open() {
            return Ok(Outcome::Ignored(Ignored::NotIntercepted));
        }
        let text = policy::mirror_text(&self.inner.config, message.text.as_deref());
        let performed = self
            .perform_in_topic(&mut w, |topic, _| Action::MirrorToTopic {
                chat: self.group(),
                topic,
                from: user.chat(),
                message: message.id,
                text: text.clone(),
                has_media: message.has_media,
            })
            .await?;
        let links = links_for(user, &[message.id], &performed, Origin::Host);
        self.commit(&mut w, links, key).await?;
        Ok(Outcome::Relayed)
    }

    async fn on_host_edit(&self, user: UserId, message: IncomingMessage) -> Result<Outcome, Error> {
        let _held = self.hold(user).await?;
        let Some(link) = self
            .inner
            .store
            .link_by_user_message(user, message.id)
            .await?
        else {
            return Ok(Outcome::Ignored(Ignored::NotLinked));
        };
        if link.origin != Origin::Host {
            return Ok(Outcome::Ignored(Ignored::NotLinked));
        }
        let action = Action::EditCopy {
            chat: self.group(),
            message: link.topic_message,
            text: policy::mirror_text(&self.inner.config, message.text.as_deref()),
            caption: message.has_media,
        };
        self.edit_copy(&action, None).await
    }

    async fn on_topic_toggled(
        &self,
        chat: ChatId,
        topic: TopicId,
        reopened: bool,
    ) -> Result<Outcome, Error> {
        let user = match self.topic_owner(chat, Some(topic)).await? {
            Ok(user) => user,
            Err(why) => return Ok(Outcome::Ignored(why)),
        };
        let _held = self.hold(user).await?;
        let Some(mut w) = self.load(user).await? else {
            return Ok(Outcome::Ignored(Ignored::UnknownTopic));
        };
        let now = self.inner.clock.now();
        let status = if reopened {
            Status::UserAnswered
        } else {
            Status::Closed
        };
        if reopened == w.conv.status.is_open() {
            return Ok(Outcome::Done);
        }
        self.set_status(&mut w, status, now);
        self.commit(&mut w, Vec::new(), None).await?;
        self.sync_topic_name(&mut w).await?;
        Ok(Outcome::Done)
    }

    async fn on_blocked(&self, user: UserId, blocked: bool) -> Result<Outcome, Error> {
        let _held = self.hold(user).await?;
        let Some(mut w) = self.load(user).await? else {
            return Ok(Outcome::Ignored(Ignored::UnknownUser));
        };
        if w.conv.blocked == blocked {
            return Ok(Outcome::Done);
        }
        if blocked {
            self.mark_blocked(&mut w).await;
        } else {
            w.edit().blocked = false;
            self.notice_topic(&w, "✅ The user has unblocked the bot.")
                .await;
        }
        self.commit(&mut w, Vec::new(), None).await?;
        Ok(Outcome::Done)
    }

    async fn on_tick(&self, now: Timestamp) -> Result<Outcome, Error> {
        let Some(after) = self.inner.config.autoclose else {
            return Ok(Outcome::Done);
        };
        let cutoff = now.plus_secs(-i64::try_from(after.as_secs()).unwrap_or(i64::MAX));
        loop {
            let due = self
                .inner
                .store
                .due_for_autoclose(cutoff.plus_secs(1), 100)
                .await?;
            if due.is_empty() {
                return Ok(Outcome::Done);
            }
            let mut closed_any = false;
            for conv in due {
                let _held = self.hold(conv.user).await?;
                let Some(mut w) = self.load(conv.user).await? else {
                    continue;
                };
                if !policy::autoclose_due(&self.inner.config, &w.conv, now) {
                    continue;
                }
                self.operator_command(&mut w, OperatorCommand::Close, now)
                    .await?;
                self.commit(&mut w, Vec::new(), None).await?;
                self.sync_topic_name(&mut w).await?;
                closed_any = true;
            }
            if !closed_any {
                return Ok(Outcome::Done);
            }
        }
    }
}

/// Pairs source messages with the copies a transport reported, in order. An operator's original is
/// on the topic side and its copy on the user's; every other origin the other way round.
fn links_for(
    user: UserId,
    sources: &[MessageId],
    performed: &Performed,
    origin: Origin,
) -> Vec<MessageLink> {
    let Performed::Messages(copies) = performed else {
        return Vec::new();
    };
    sources
        .iter()
        .zip(copies)
        .map(|(&source, &copy)| {
            let (user_message, topic_message) = match origin {
                Origin::Operator => (copy, source),
                _ => (source, copy),
            };
            MessageLink {
                user,
                user_message,
                topic_message,
                origin,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
