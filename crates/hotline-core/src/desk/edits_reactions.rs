//! Edits and reactions on relayed messages, mirrored onto their copies on the other side through
//! the messages' links.

use super::{Desk, Ignored, Outcome};
use crate::action::Action;
use crate::desk_event::{DeskEvent, DeskEventKind};
use crate::error::Error;
use crate::event::EventKey;
use crate::ids::{ChatId, MessageId, UserId};
use crate::message::IncomingMessage;
use crate::policy;
use crate::store::{Commit, Origin};
use crate::transport::TransportError;

/// An edited message as it was written, by whom: what its event out says and the archive keeps.
struct Edited {
    origin: Origin,
    message: IncomingMessage,
}

/// Who wrote an edited message, and so on which side its link is found.
#[derive(Debug, Clone, Copy)]
enum Author {
    /// The user, in their private chat.
    User(UserId),
    /// The host bot, to this user (an intercepted message).
    Host(UserId),
    /// An operator, in a topic (the link names the user).
    Operator,
}

impl Desk {
    pub(super) async fn on_user_edit(
        &self,
        user: UserId,
        message: IncomingMessage,
        key: Option<EventKey>,
    ) -> Result<Outcome, Error> {
        let _held = self.hold(user).await?;
        if self.already_handled(key.as_ref()).await? {
            return Ok(Outcome::AlreadyHandled);
        }
        let edited = Edited {
            origin: Origin::User,
            message: message.clone(),
        };
        let Some((_, action)) = self.mirrored_edit(Author::User(user), message).await? else {
            return Ok(Outcome::Ignored(Ignored::NotLinked));
        };
        self.edit_copy(&action, key, Some((user, edited))).await
    }

    pub(super) async fn on_operator_edit(
        &self,
        chat: ChatId,
        message: IncomingMessage,
        key: Option<EventKey>,
    ) -> Result<Outcome, Error> {
        if chat != self.group() {
            return Ok(Outcome::Ignored(Ignored::OtherChat));
        }
        let edited = Edited {
            origin: Origin::Operator,
            message: message.clone(),
        };
        let Some((user, action)) = self.mirrored_edit(Author::Operator, message).await? else {
            return Ok(Outcome::Ignored(Ignored::NotLinked));
        };
        let _held = self.hold(user).await?;
        if self.already_handled(key.as_ref()).await? {
            return Ok(Outcome::AlreadyHandled);
        }
        self.edit_copy(&action, key, Some((user, edited))).await
    }

    pub(super) async fn on_host_edit(
        &self,
        user: UserId,
        message: IncomingMessage,
    ) -> Result<Outcome, Error> {
        let _held = self.hold(user).await?;
        let edited = Edited {
            origin: Origin::Host,
            message: message.clone(),
        };
        let Some((_, action)) = self.mirrored_edit(Author::Host(user), message).await? else {
            return Ok(Outcome::Ignored(Ignored::NotLinked));
        };
        self.edit_copy(&action, None, Some((user, edited))).await
    }

    /// The edit of `message` as it is to be mirrored onto its copy, with the conversation's user.
    ///
    /// The message's link is looked up on the side its author wrote on, and the edit is mirrored
    /// only if the desk relayed the message from that author: `None` for a message never
    /// relayed, or linked with another origin. The copy is on the link's other side: in the
    /// user's chat for an operator's message, in the topic for the user's and the host bot's
    /// (whose text is shown as interception shows it).
    async fn mirrored_edit(
        &self,
        author: Author,
        message: IncomingMessage,
    ) -> Result<Option<(UserId, Action)>, Error> {
        let store = &self.inner.store;
        let (link, origin) = match author {
            Author::User(user) => (
                store.link_by_user_message(user, message.id).await?,
                Origin::User,
            ),
            Author::Host(user) => (
                store.link_by_user_message(user, message.id).await?,
                Origin::Host,
            ),
            Author::Operator => (
                store.link_by_topic_message(message.id).await?,
                Origin::Operator,
            ),
        };
        let Some(link) = link.filter(|link| link.origin == origin) else {
            return Ok(None);
        };
        let (chat, copy) = match origin {
            Origin::Operator => (link.user.chat(), link.user_message),
            Origin::User | Origin::Host => (self.group(), link.topic_message),
        };
        let config = &self.inner.config;
        let (text, entities) = match origin {
            Origin::Host => (
                policy::mirror_text(config, message.text.as_deref()),
                policy::mirror_entities(config, &message.entities),
            ),
            Origin::User | Origin::Operator => (message.text.unwrap_or_default(), message.entities),
        };
        let action = Action::EditCopy {
            chat,
            message: copy,
            text,
            entities,
            caption: message.has_media,
        };
        Ok(Some((link.user, action)))
    }

    /// Performs a mirrored edit (or reaction) and records its event as handled; an edit that
    /// went out is published as `message_edited`.
    async fn edit_copy(
        &self,
        action: &Action,
        key: Option<EventKey>,
        edited: Option<(UserId, Edited)>,
    ) -> Result<Outcome, Error> {
        let outcome = match self.perform(action).await {
            Ok(_) => {
                if let Some((user, edited)) = edited {
                    self.archive_messages(
                        user,
                        edited.origin,
                        std::slice::from_ref(&edited.message),
                        true,
                    )
                    .await;
                    let edited = edited.message;
                    if self.wants(DeskEventKind::MessageEdited) {
                        // The edit went out: a store that cannot say the topic leaves it out
                        // of the event rather than failing what was done.
                        let topic = match self.inner.store.conversation(user).await {
                            Ok(conversation) => conversation.and_then(|c| c.topic),
                            Err(_) => None,
                        };
                        let event = DeskEvent::new(
                            DeskEventKind::MessageEdited,
                            user,
                            topic,
                            self.inner.clock.now(),
                            format_args!("{}:{}", edited.id, edited.date),
                        )
                        .with_message(
                            edited.id,
                            Some(edited.kind),
                            edited.text,
                        );
                        self.publish(event).await;
                    } else {
                        super::emit::count(DeskEventKind::MessageEdited);
                    }
                }
                Outcome::Relayed
            }
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

    pub(super) async fn on_user_reaction(
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
        self.edit_copy(&action, None, None).await
    }

    pub(super) async fn on_operator_reaction(
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
        self.edit_copy(&action, None, None).await
    }
}
