//! A user's messages (and albums, and a hand-over by the host bot): opening or reopening the
//! topic, greeting, context, the copy into the topic; and the user blocking or unblocking the bot.

use super::plumbing::links_for;
use super::{Desk, Ignored, Outcome, Working};
use crate::action::{Action, Recipient};
use crate::desk_event::DeskEventKind;
use crate::error::Error;
use crate::event::EventKey;
use crate::ids::{MessageId, Timestamp, UserId};
use crate::message::{IncomingMessage, UserProfile};
use crate::policy::{self, UserRoute};
use crate::store::{MessageLink, Origin, Status};
use crate::transport::TransportError;

/// How stale a user's last activity may get before a message of theirs refreshes it: an hour,
/// so an active user's messages cost no conversation write each for it.
const ACTIVITY_RESOLUTION_SECS: i64 = 3_600;

impl Desk {
    pub(super) async fn on_user_messages(
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
        if now.0 - w.conv.last_active.0 >= ACTIVITY_RESOLUTION_SECS {
            w.edit().last_active = now;
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
            UserRoute::Open => self.open(&mut w, now, forced).await?,
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
            for message in &messages {
                self.emit(DeskEventKind::MessageReceived, || {
                    self.event(
                        DeskEventKind::MessageReceived,
                        &w,
                        format_args!("{}:{}", message.id, message.date),
                    )
                    .with_message(
                        message.id,
                        Some(message.kind),
                        message.text.clone(),
                    )
                })
                .await;
            }
            self.archive_messages(w.conv.user, Origin::User, &messages, false)
                .await;
            self.commit(&mut w, links, key).await?;
            Outcome::Relayed
        };
        self.commit(&mut w, Vec::new(), None).await?;
        self.sync_topic_name(&mut w).await?;
        Ok(outcome)
    }

    /// Creates the user's topic and records it before anything else is sent, so that a crash
    /// after this point can never lead to a second topic for the same user.
    ///
    /// Under `LEAVE_CLOSED` (as on Hotline) the new topic starts closed and no greeting is sent,
    /// unless the host handed the user over (`forced`): that asks for an operator explicitly.
    async fn open(&self, w: &mut Working, now: Timestamp, forced: bool) -> Result<(), Error> {
        let config = &self.inner.config;
        let start_closed = config.leave_closed && !forced;
        let status = if start_closed {
            Status::Closed
        } else {
            Status::UserAnswered
        };
        let name = policy::topic_name(config, &w.conv, status);
        let topic = self.create_topic(name.clone()).await?;
        let c = w.edit();
        c.topic = Some(topic);
        c.status = status;
        c.status_since = now;
        c.topic_name = Some(name);
        c.welcome_pending = !start_closed;
        self.commit(w, Vec::new(), None).await?;
        let event = self.event(DeskEventKind::DialogCreated, w, topic);
        self.publish(event).await;
        if start_closed
            && let Err(error) = self
                .perform(&Action::CloseTopic {
                    chat: self.group(),
                    topic,
                })
                .await
        {
            tracing::warn!(%error, "hotline: closing a new topic (LEAVE_CLOSED) failed");
        }
        // Under HIDE_INFO `command` the card is for admins only, never posted in the topic.
        if config.auto_info && !config.hide_info_command {
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
        self.commit(w, Vec::new(), None).await?;
        let topic = w.topic().map(|t| t.0).unwrap_or_default();
        let event = self.event(
            DeskEventKind::DialogReopened,
            w,
            format_args!("{topic}:{}", now.0),
        );
        self.publish(event).await;
        Ok(())
    }

    /// Sends the greeting owed for this opening. Best effort: a greeting that cannot be sent
    /// (a bad photo id, say) is logged, and the user's message is still relayed.
    async fn greet(&self, w: &mut Working) -> Result<(), Error> {
        if !w.conv.welcome_pending {
            return Ok(());
        }
        let title = w.conv.profile.display_name();
        let welcome = &self.inner.config.welcome;
        let user = w.conv.user;
        let action_for = |greeting: Option<crate::Greeting>| match greeting {
            None => None,
            Some(g) if g.photo.is_none() && g.video_note.is_none() && g.buttons.is_empty() => {
                Some(Action::SendNotice {
                    to: Recipient::User(user),
                    text: g.text,
                    markdown: g.markdown,
                })
            }
            Some(greeting) => Some(Action::SendGreeting { user, greeting }),
        };
        if let Some(action) = action_for(welcome.render(&title)) {
            let mut result = self.perform(&action).await;
            if welcome.is_markdown()
                && let Err(TransportError::BadRequest(description)) = &result
                && description.contains("can't parse entities")
            {
                tracing::warn!(
                    %description,
                    "hotline: WELCOME is not valid MarkdownV2; sent as plain text instead"
                );
                if let Some(plain) = action_for(welcome.render_plain(&title)) {
                    result = self.perform(&plain).await;
                }
            }
            match result {
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
            "⏮ Context: the last {} message(s) before the user reached the desk (the bot's own \
             answers forwarded from it).",
            pending.len()
        );
        self.notice_topic(w, &header).await;
        let user = w.conv.user;
        let mut links = Vec::new();
        // The dialogue in its order: the user's messages copied, the host bot's answers
        // forwarded (the forward says they are the bot's), one call per run of one author.
        for (from_host, ids) in policy::context_runs(&pending) {
            let result = self
                .perform_in_topic(w, |topic, _| {
                    if from_host {
                        Action::ForwardToTopic {
                            chat: self.group(),
                            topic,
                            from: user.chat(),
                            messages: ids.clone(),
                        }
                    } else {
                        Action::CopyToTopic {
                            chat: self.group(),
                            topic,
                            from: user.chat(),
                            messages: ids.clone(),
                            reply_to: None,
                        }
                    }
                })
                .await;
            match result {
                Ok(performed) => {
                    let origin = if from_host {
                        Origin::Host
                    } else {
                        Origin::User
                    };
                    links.extend(links_for(user, &ids, &performed, origin));
                    // Kept by id only until now: the archive knows they crossed, not what
                    // they said.
                    self.archive_ids(user, origin, &ids).await;
                }
                // Context is a courtesy: messages deleted meanwhile make the copy fail.
                Err(error) if !error.is_interrupted() => {
                    tracing::warn!(%error, "hotline: posting context failed");
                }
                Err(error) => return Err(error),
            }
        }
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

    pub(super) async fn on_blocked(&self, user: UserId, blocked: bool) -> Result<Outcome, Error> {
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
}
