//! Interception: the host bot's messages to a user, mirrored into the user's topic.
//!
//! What the host sent is known (`send*`, `forwardMessage`): a text is sent again behind the mark,
//! a media message copied with the mark before its caption, both with their formatting moved
//! behind the mark; an album is copied in one call (one album in the topic) and its first
//! caption marked. What the host copied or forwarded is known by its ids alone: it is forwarded
//! into the topic in one call, where the forward itself says it came from the bot.

use super::plumbing::links_for;
use super::{Desk, Held, Ignored, Outcome, Working};
use crate::action::Action;
use crate::desk_event::DeskEventKind;
use crate::error::Error;
use crate::event::EventKey;
use crate::ids::{MessageId, UserId};
use crate::message::IncomingMessage;
use crate::policy;
use crate::store::Origin;

impl Desk {
    /// The user's conversation, held, if the host's messages to them are to be mirrored now.
    /// Before the user's topic is open they are kept as context instead (see
    /// [`crate::Conversation::pending`]), so the operator reads the whole dialogue at hand-over.
    async fn mirroring(
        &self,
        user: UserId,
        key: Option<&EventKey>,
        ids: &[MessageId],
    ) -> Result<Result<(Held<'_>, Working), Outcome>, Error> {
        if !self.inner.config.intercept_external {
            return Ok(Err(Outcome::Ignored(Ignored::NotIntercepted)));
        }
        let held = self.hold(user).await?;
        if self.already_handled(key).await? {
            return Ok(Err(Outcome::AlreadyHandled));
        }
        let Some(w) = self.load(user).await? else {
            return Ok(Err(Outcome::Ignored(Ignored::NotIntercepted)));
        };
        if !w.conv.is_open() {
            if w.conv.banned {
                return Ok(Err(Outcome::Ignored(Ignored::Banned)));
            }
            let mut w = w;
            let limit = self.inner.config.context_messages;
            policy::remember_host(&mut w.edit().pending, ids, limit);
            self.commit(&mut w, Vec::new(), key.cloned()).await?;
            return Ok(Err(Outcome::Remembered));
        }
        Ok(Ok((held, w)))
    }

    pub(super) async fn on_host_message(
        &self,
        user: UserId,
        message: IncomingMessage,
        key: Option<EventKey>,
    ) -> Result<Outcome, Error> {
        let (_held, mut w) = match self.mirroring(user, key.as_ref(), &[message.id]).await? {
            Ok(ready) => ready,
            Err(outcome) => return Ok(outcome),
        };
        let config = &self.inner.config;
        let text = policy::mirror_text(config, message.text.as_deref());
        let entities = policy::mirror_entities(config, &message.entities);
        let performed = self
            .perform_in_topic(&mut w, |topic, _| Action::MirrorToTopic {
                chat: self.group(),
                topic,
                from: user.chat(),
                message: message.id,
                text: text.clone(),
                entities: entities.clone(),
                has_media: message.has_media,
            })
            .await?;
        let links = links_for(user, &[message.id], &performed, Origin::Host);
        self.publish_intercepted(&w, std::slice::from_ref(&message))
            .await;
        self.commit(&mut w, links, key).await?;
        Ok(Outcome::Relayed)
    }

    pub(super) async fn on_host_album(
        &self,
        user: UserId,
        messages: Vec<IncomingMessage>,
        key: Option<EventKey>,
    ) -> Result<Outcome, Error> {
        let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        let (_held, mut w) = match self.mirroring(user, key.as_ref(), &ids).await? {
            Ok(ready) => ready,
            Err(outcome) => return Ok(outcome),
        };
        let performed = self
            .perform_in_topic(&mut w, |topic, _| Action::CopyToTopic {
                chat: self.group(),
                topic,
                from: user.chat(),
                messages: ids.clone(),
                reply_to: None,
            })
            .await?;
        let links = links_for(user, &ids, &performed, Origin::Host);
        self.publish_intercepted(&w, &messages).await;
        self.commit(&mut w, links, key).await?;
        // The copies keep their captions and formatting; the mark goes before the first caption
        // (an edit, as copyMessages cannot change captions). The album is mirrored either way.
        if let (Some(first), Some(copy)) = (messages.first(), performed.first_message()) {
            let config = &self.inner.config;
            let mark = Action::EditCopy {
                chat: self.group(),
                message: copy,
                text: policy::mirror_text(config, first.text.as_deref()),
                entities: policy::mirror_entities(config, &first.entities),
                caption: true,
            };
            if let Err(error) = self.perform(&mark).await {
                tracing::info!(%error, "hotline: a mirrored album's caption could not be marked");
            }
        }
        Ok(Outcome::Relayed)
    }

    pub(super) async fn on_host_copied(
        &self,
        user: UserId,
        messages: Vec<MessageId>,
        key: Option<EventKey>,
    ) -> Result<Outcome, Error> {
        let (_held, mut w) = match self.mirroring(user, key.as_ref(), &messages).await? {
            Ok(ready) => ready,
            Err(outcome) => return Ok(outcome),
        };
        let performed = self
            .perform_in_topic(&mut w, |topic, _| Action::ForwardToTopic {
                chat: self.group(),
                topic,
                from: user.chat(),
                messages: messages.clone(),
            })
            .await?;
        let links = links_for(user, &messages, &performed, Origin::Host);
        // Copied or forwarded by the host: only the ids are known, not the content.
        for id in &messages {
            self.emit(DeskEventKind::MessageIntercepted, || {
                self.event(
                    DeskEventKind::MessageIntercepted,
                    &w,
                    format_args!("{id}:0"),
                )
                .with_message(*id, None, None)
            })
            .await;
        }
        self.archive_ids(user, Origin::Host, &messages).await;
        self.commit(&mut w, links, key).await?;
        Ok(Outcome::Relayed)
    }

    /// `message_intercepted` for each message the host sent, as it sent it, and its record in
    /// the archive.
    async fn publish_intercepted(&self, w: &Working, messages: &[IncomingMessage]) {
        for message in messages {
            self.emit(DeskEventKind::MessageIntercepted, || {
                self.event(
                    DeskEventKind::MessageIntercepted,
                    w,
                    format_args!("{}:{}", message.id, message.date),
                )
                .with_message(message.id, Some(message.kind), message.text.clone())
            })
            .await;
        }
        self.archive_messages(w.conv.user, Origin::Host, messages, false)
            .await;
    }
}
