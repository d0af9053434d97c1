//! An operator's messages in a topic: relayed to the user, kept as an internal comment, refused,
//! or read as a command.

use super::plumbing::links_for;
use super::{Desk, Ignored, Outcome};
use crate::action::Action;
use crate::desk_event::DeskEventKind;
use crate::error::Error;
use crate::event::EventKey;
use crate::ids::{ChatId, MessageId, TopicId, UserId};
use crate::message::IncomingMessage;
use crate::policy::{self, OperatorCommand, OperatorRoute};
use crate::store::{Origin, Status};
use crate::transport::TransportError;

impl Desk {
    /// Finds the conversation a group message belongs to, or why none does.
    pub(super) async fn topic_owner(
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

    pub(super) async fn on_operator_messages(
        &self,
        chat: ChatId,
        topic: Option<TopicId>,
        operator: UserId,
        messages: Vec<IncomingMessage>,
        key: Option<EventKey>,
    ) -> Result<Outcome, Error> {
        let config = &self.inner.config;
        let user = match self.topic_owner(chat, topic).await? {
            Ok(user) => user,
            Err(Ignored::NotInTopic) => {
                return self.on_general_messages(operator, &messages).await;
            }
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
            OperatorRoute::Command(OperatorCommand::Unknown)
                if first
                    .command()
                    .is_some_and(|c| config.webhooks.iter().any(|t| t.wants_command(c.name))) =>
            {
                // Hotline's command webhooks: posted with the topic's user; the endpoint's
                // answer comes back into the topic (the deliverer posts it).
                let name = first.command().map(|c| c.name.to_ascii_lowercase());
                let mut event = self
                    .event(
                        DeskEventKind::Command,
                        &w,
                        format_args!("{}:{}", first.id, first.date),
                    )
                    .with_message(first.id, Some(first.kind), first.text.clone());
                event.command = name;
                self.publish(event).await;
                Outcome::Done
            }
            OperatorRoute::InternalComment => Outcome::Ignored(Ignored::InternalComment),
            OperatorRoute::Refuse => {
                self.notice_topic(
                    &w,
                    "⛔ Not sent: the message contains a restricted keyword (RESTRICTED_KEYWORDS_BACKEND).",
                )
                .await;
                Outcome::Ignored(Ignored::Restricted)
            }
            OperatorRoute::Command(
                command @ (OperatorCommand::Mark
                | OperatorCommand::Unmark
                | OperatorCommand::Marks
                | OperatorCommand::Segment
                | OperatorCommand::Export),
            ) => {
                let payload = first.command().map(|c| c.payload).unwrap_or_default();
                self.extension_command(&w, operator, command, payload)
                    .await?;
                Outcome::Done
            }
            OperatorRoute::Command(command) => {
                self.operator_command(&mut w, Some(operator), command, now)
                    .await?;
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
                        for message in &messages {
                            self.emit(DeskEventKind::MessageSent, || {
                                self.event(
                                    DeskEventKind::MessageSent,
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
                        self.archive_messages(user, Origin::Operator, &messages, false)
                            .await;
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
}
