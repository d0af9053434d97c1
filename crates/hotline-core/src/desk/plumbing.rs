//! The steps every handler shares: holding the user, reading and committing the conversation,
//! performing actions (with their retries), creating and recreating topics, notices, renames.

use super::{Desk, Held, Working};
use crate::action::{Action, Performed, Recipient};
use crate::desk_event::DeskEventKind;
use crate::error::Error;
use crate::event::EventKey;
use crate::ids::{ChatId, MessageId, Timestamp, TopicId, UserId};
use crate::message::UserProfile;
use crate::policy;
use crate::store::{Commit, Conversation, MessageLink, Origin, Status};
use crate::transport::TransportError;

impl Desk {
    pub(super) fn group(&self) -> ChatId {
        self.inner.config.backend_group
    }

    pub(super) async fn hold(&self, user: UserId) -> Result<Held<'_>, Error> {
        let lock = self.inner.locks.lock(user).await;
        let claim = self.inner.store.claim_user(user).await?;
        Ok(Held {
            _claim: claim,
            _lock: lock,
        })
    }

    /// Whether the event was handled before: recorded as handled, or sent in full earlier in
    /// this process with only its final commit failing (that commit is then tried again, and
    /// nothing is sent twice).
    pub(super) async fn already_handled(&self, key: Option<&EventKey>) -> Result<bool, Error> {
        let Some(key) = key else { return Ok(false) };
        if let Some(commit) = self.inner.unrecorded.take(key) {
            return match self.inner.store.commit(commit.clone()).await {
                Ok(()) => Ok(true),
                Err(error) => {
                    self.inner.unrecorded.keep(*key, commit);
                    Err(error.into())
                }
            };
        }
        Ok(self.inner.store.is_processed(key).await?)
    }

    /// Stores the conversation (if it changed), the links and the handled event, in one commit.
    pub(super) async fn commit(
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
        let user = commit.conversation.as_ref().map(|c| c.user);
        match self.inner.store.commit(commit.clone()).await {
            Ok(()) => {
                if let Some(user) = user {
                    self.inner.unrecorded.superseded(user);
                }
                w.dirty = false;
                Ok(())
            }
            Err(error) => {
                // The event's sends are done; only their record failed. Handled again, the
                // event retries this commit instead of sending everything a second time.
                if let Some(key) = &commit.processed
                    && error.is_transient()
                {
                    self.inner.unrecorded.keep(*key, commit);
                }
                Err(error.into())
            }
        }
    }

    /// Performs an action, waiting out rate limits (as long as Telegram asks, in order: a message
    /// is never dropped for a 429) and retrying passing failures by the desk's [`crate::RetryPolicy`].
    /// A stop abandons the wait: the event fails as interrupted and is not confirmed.
    pub(super) async fn perform(&self, action: &Action) -> Result<Performed, TransportError> {
        let (retry, stop) = (&self.inner.retry, &self.inner.stop);
        let mut failures = 0;
        loop {
            match self.inner.transport.perform(action).await {
                Err(TransportError::RetryAfter(wait)) => {
                    tracing::debug!(?wait, "hotline: rate limited, waiting");
                    retry.wait(stop, wait).await?;
                }
                Err(TransportError::Unavailable(reason)) if retry.allows(failures + 1) => {
                    failures += 1;
                    metrics::counter!(crate::metrics::RETRIES).increment(1);
                    let wait = retry.backoff(failures);
                    tracing::debug!(%reason, ?wait, "hotline: transport unavailable, retrying");
                    retry.wait(stop, wait).await?;
                }
                other => return other,
            }
        }
    }

    /// Performs an action in the user's topic; if the topic was deleted, creates a new one, records
    /// it, and performs the action again there (`build` gets `true` then, to drop replies to
    /// messages of the old topic).
    pub(super) async fn perform_in_topic(
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

    pub(super) async fn create_topic(&self, name: String) -> Result<TopicId, Error> {
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

    pub(super) async fn recreate_topic(&self, w: &mut Working) -> Result<TopicId, Error> {
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
    pub(super) async fn notice_topic(&self, w: &Working, text: &str) -> Option<MessageId> {
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
    pub(super) async fn post_card(&self, w: &Working) {
        let card = self.card(w).await;
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
    pub(super) async fn notice_user(
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

    pub(super) async fn mark_blocked(&self, w: &mut Working) {
        if !w.conv.blocked {
            w.edit().blocked = true;
            let event = self.event(DeskEventKind::UserBlocked, w, self.inner.clock.now().0);
            self.publish(event).await;
            self.notice_topic(
                w,
                "⛔ The user has blocked the bot: messages to them are not delivered.",
            )
            .await;
        }
    }

    /// Moves the conversation to `status` (recording when), and names the topic to match.
    pub(super) fn set_status(&self, w: &mut Working, status: Status, now: Timestamp) {
        if w.conv.status != status {
            let c = w.edit();
            c.status = status;
            c.status_since = now;
            w.name_stale = true;
        }
    }

    /// Renames the topic if its name no longer matches the status. Call after the commit that
    /// records the new status: renames are cosmetic and come after the messages they describe.
    pub(super) async fn sync_topic_name(&self, w: &mut Working) -> Result<(), Error> {
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

    pub(super) async fn load_or_new(
        &self,
        profile: &UserProfile,
        now: Timestamp,
    ) -> Result<Working, Error> {
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

    pub(super) async fn load(&self, user: UserId) -> Result<Option<Working>, Error> {
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
}

/// Pairs source messages with the copies a transport reported, in order. An operator's original is
/// on the topic side and its copy on the user's; every other origin the other way round.
pub(super) fn links_for(
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
