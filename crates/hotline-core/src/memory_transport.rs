//! `MemoryTransport`: a tiny messenger in memory, for tests and the sandbox.
//!
//! It keeps every chat's messages the way a user or an operator would see them, so tests assert on
//! what people see, not on calls. It can also play users and operators (their messages get ids in
//! their chats, ready to hand to the desk as events) and inject the failures the desk must survive:
//! a deleted topic, a user who blocked the bot, a rate limit.

use crate::action::{Action, Performed, Recipient};
use crate::ids::{ChatId, MessageId, TopicId, UserId};
use crate::message::IncomingMessage;
use crate::transport::{Transport, TransportError};
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// A user, in their private chat.
    User(UserId),
    /// An operator, in the backend group.
    Operator(UserId),
    /// The bot (the desk's copies and notices, and the host bot's own messages).
    Bot,
}

/// A message as a chat shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Its id in the chat.
    pub id: MessageId,
    /// The topic it is in (backend group only).
    pub topic: Option<TopicId>,
    /// Who wrote it.
    pub sender: Sender,
    /// Text or caption.
    pub text: Option<String>,
    /// Whether it carries media.
    pub has_media: bool,
    /// The message it replies to.
    pub reply_to: Option<MessageId>,
    /// Reactions set by the bot.
    pub reactions: Vec<String>,
    /// Whether it was edited.
    pub edited: bool,
    /// Whether it is pinned.
    pub pinned: bool,
}

/// What a group member may do, as [`MemoryTransport::set_member`] declares it. Members never
/// declared are administrators who may ban (so a test that is not about rights need not care).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberRole {
    /// The group's creator: may do everything.
    Creator,
    /// An administrator; `can_ban` is Telegram's `can_restrict_members`.
    Administrator {
        /// May ban (restrict) members.
        can_ban: bool,
    },
    /// A plain member.
    Member,
}

/// A forum topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Its id.
    pub id: TopicId,
    /// Its current name.
    pub name: String,
    /// Whether it is closed.
    pub closed: bool,
    /// Whether an operator deleted it.
    pub deleted: bool,
}

type Matcher = Box<dyn Fn(&Action) -> bool + Send + Sync>;

struct Fault {
    matches: Matcher,
    error: TransportError,
    remaining: usize,
}

#[derive(Default)]
struct State {
    chats: HashMap<ChatId, Vec<ChatMessage>>,
    next_id: HashMap<ChatId, i64>,
    topics: HashMap<ChatId, Vec<TopicInfo>>,
    blocked: HashSet<UserId>,
    faults: Vec<Fault>,
    performed: Vec<Action>,
    attempts: usize,
    members: HashMap<(ChatId, UserId), MemberRole>,
}

impl State {
    fn next_id(&mut self, chat: ChatId) -> MessageId {
        let next = self.next_id.entry(chat).or_insert(1);
        let id = *next;
        *next += 1;
        MessageId(id)
    }

    fn post(&mut self, chat: ChatId, message: ChatMessage) -> MessageId {
        let id = self.next_id(chat);
        self.chats
            .entry(chat)
            .or_default()
            .push(ChatMessage { id, ..message });
        id
    }

    fn find(&self, chat: ChatId, id: MessageId) -> Option<&ChatMessage> {
        self.chats.get(&chat)?.iter().find(|m| m.id == id)
    }

    fn find_mut(&mut self, chat: ChatId, id: MessageId) -> Option<&mut ChatMessage> {
        self.chats.get_mut(&chat)?.iter_mut().find(|m| m.id == id)
    }

    fn topic_mut(
        &mut self,
        chat: ChatId,
        topic: TopicId,
    ) -> Result<&mut TopicInfo, TransportError> {
        self.topics
            .get_mut(&chat)
            .and_then(|ts| ts.iter_mut().find(|t| t.id == topic && !t.deleted))
            .ok_or(TransportError::TopicGone)
    }

    fn check_user(&self, user: UserId) -> Result<(), TransportError> {
        if self.blocked.contains(&user) {
            Err(TransportError::UserBlocked)
        } else {
            Ok(())
        }
    }

    fn copy(
        &mut self,
        from: ChatId,
        ids: &[MessageId],
        to: ChatId,
        topic: Option<TopicId>,
        reply_to: Option<MessageId>,
    ) -> Result<Performed, TransportError> {
        let mut sources = Vec::new();
        for id in ids {
            let source = self
                .find(from, *id)
                .ok_or_else(|| TransportError::BadRequest("message to copy not found".into()))?;
            sources.push(source.clone());
        }
        let mut copies = Vec::new();
        for (i, source) in sources.into_iter().enumerate() {
            copies.push(self.post(
                to,
                ChatMessage {
                    topic,
                    sender: Sender::Bot,
                    reply_to: if i == 0 { reply_to } else { None },
                    reactions: Vec::new(),
                    edited: false,
                    pinned: false,
                    ..source
                },
            ));
        }
        Ok(Performed::Messages(copies))
    }

    /// The chat and topic a message to `to` lands in, refused as Telegram would (a user who
    /// blocked the bot, a deleted topic).
    fn place(&mut self, to: &Recipient) -> Result<(ChatId, Option<TopicId>), TransportError> {
        Ok(match to {
            Recipient::User(user) => {
                self.check_user(*user)?;
                (user.chat(), None)
            }
            Recipient::Topic { chat, topic } => {
                self.topic_mut(*chat, *topic)?;
                (*chat, Some(*topic))
            }
            Recipient::General(chat) => (*chat, None),
        })
    }

    fn apply(&mut self, action: &Action) -> Result<Performed, TransportError> {
        let blank = |topic, text: String| ChatMessage {
            id: MessageId(0),
            topic,
            sender: Sender::Bot,
            text: Some(text),
            has_media: false,
            reply_to: None,
            reactions: Vec::new(),
            edited: false,
            pinned: false,
        };
        match action {
            Action::CreateTopic { chat, name } => {
                let length = name.chars().count();
                if !(1..=128).contains(&length) {
                    return Err(TransportError::BadRequest(
                        "topic name must be 1-128 characters".into(),
                    ));
                }
                let id = self.post(*chat, blank(None, format!("[topic created: {name}]")));
                let topic = TopicId(id.0);
                self.topics.entry(*chat).or_default().push(TopicInfo {
                    id: topic,
                    name: name.clone(),
                    closed: false,
                    deleted: false,
                });
                Ok(Performed::Topic(topic))
            }
            Action::CopyToTopic {
                chat,
                topic,
                from,
                messages,
                reply_to,
            } => {
                self.topic_mut(*chat, *topic)?;
                self.copy(*from, messages, *chat, Some(*topic), *reply_to)
            }
            Action::MirrorToTopic {
                chat,
                topic,
                from,
                message,
                text,
                has_media,
                ..
            } => {
                self.topic_mut(*chat, *topic)?;
                if self.find(*from, *message).is_none() {
                    return Err(TransportError::BadRequest(
                        "message to copy not found".into(),
                    ));
                }
                let id = self.post(
                    *chat,
                    ChatMessage {
                        has_media: *has_media,
                        ..blank(Some(*topic), text.clone())
                    },
                );
                Ok(Performed::Messages(vec![id]))
            }
            // The memory model keeps no forward origin: a forward is a copy here.
            Action::ForwardToTopic {
                chat,
                topic,
                from,
                messages,
            } => {
                self.topic_mut(*chat, *topic)?;
                self.copy(*from, messages, *chat, Some(*topic), None)
            }
            Action::CopyToUser {
                user,
                from,
                messages,
                reply_to,
            } => {
                self.check_user(*user)?;
                self.copy(*from, messages, user.chat(), None, *reply_to)
            }
            Action::SendNotice { to, text, .. } => {
                let (chat, topic) = self.place(to)?;
                Ok(Performed::Messages(vec![
                    self.post(chat, blank(topic, text.clone())),
                ]))
            }
            Action::EditCopy {
                chat,
                message,
                text,
                ..
            } => {
                let target = self
                    .find_mut(*chat, *message)
                    .filter(|m| m.sender == Sender::Bot)
                    .ok_or_else(|| {
                        TransportError::BadRequest("message to edit not found".into())
                    })?;
                if target.text.as_deref() == Some(text.as_str()) {
                    return Err(TransportError::BadRequest("message is not modified".into()));
                }
                target.text = Some(text.clone());
                target.edited = true;
                Ok(Performed::Done)
            }
            Action::RenameTopic { chat, topic, name } => {
                self.topic_mut(*chat, *topic)?.name = name.clone();
                Ok(Performed::Done)
            }
            Action::CloseTopic { chat, topic } => {
                self.topic_mut(*chat, *topic)?.closed = true;
                Ok(Performed::Done)
            }
            Action::ReopenTopic { chat, topic } => {
                self.topic_mut(*chat, *topic)?.closed = false;
                Ok(Performed::Done)
            }
            Action::PinMessage { chat, message } => {
                self.find_mut(*chat, *message)
                    .ok_or_else(|| TransportError::BadRequest("message to pin not found".into()))?
                    .pinned = true;
                Ok(Performed::Done)
            }
            Action::SendGreeting { user, greeting } => {
                self.check_user(*user)?;
                let message = ChatMessage {
                    has_media: greeting.photo.is_some(),
                    ..blank(None, greeting.text.clone())
                };
                Ok(Performed::Messages(vec![self.post(user.chat(), message)]))
            }
            Action::CheckMember { chat, user } => {
                let role = self
                    .members
                    .get(&(*chat, *user))
                    .copied()
                    .unwrap_or(MemberRole::Administrator { can_ban: true });
                Ok(match role {
                    MemberRole::Creator => Performed::Member {
                        admin: true,
                        can_ban: true,
                    },
                    MemberRole::Administrator { can_ban } => Performed::Member {
                        admin: true,
                        can_ban,
                    },
                    MemberRole::Member => Performed::Member {
                        admin: false,
                        can_ban: false,
                    },
                })
            }
            Action::SetReaction {
                chat,
                message,
                emoji,
            } => {
                let target = self
                    .find_mut(*chat, *message)
                    .ok_or_else(|| TransportError::BadRequest("message not found".into()))?;
                target.reactions = emoji.clone();
                Ok(Performed::Done)
            }
            Action::Deliver { user, content } => {
                self.check_user(*user)?;
                match content {
                    crate::MailingContent::Copy { from, messages } => {
                        self.copy(*from, messages, user.chat(), None, None)
                    }
                    crate::MailingContent::Message(greeting) => {
                        let message = ChatMessage {
                            has_media: greeting.photo.is_some(),
                            ..blank(None, greeting.text.clone())
                        };
                        Ok(Performed::Messages(vec![self.post(user.chat(), message)]))
                    }
                }
            }
            Action::SendPanel {
                to, text, reply_to, ..
            } => {
                let (chat, topic) = self.place(to)?;
                let message = ChatMessage {
                    reply_to: *reply_to,
                    ..blank(topic, text.clone())
                };
                Ok(Performed::Messages(vec![self.post(chat, message)]))
            }
            Action::EditPanel {
                chat,
                message,
                text,
                ..
            } => {
                let target = self.find_mut(*chat, *message).ok_or_else(|| {
                    TransportError::BadRequest("message to edit not found".into())
                })?;
                target.text = Some(text.clone());
                target.edited = true;
                Ok(Performed::Done)
            }
            Action::AnswerButton { .. } => Ok(Performed::Done),
            Action::SendDocument { to, caption, .. } => {
                let (chat, topic) = self.place(to)?;
                let message = ChatMessage {
                    has_media: true,
                    ..blank(topic, caption.clone())
                };
                Ok(Performed::Messages(vec![self.post(chat, message)]))
            }
        }
    }
}

/// A messenger in memory that performs the desk's actions and shows what each chat holds.
#[derive(Default)]
pub struct MemoryTransport {
    state: Mutex<State>,
}

impl std::fmt::Debug for MemoryTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTransport").finish_non_exhaustive()
    }
}

impl MemoryTransport {
    /// An empty messenger.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(
        &self,
        chat: ChatId,
        topic: Option<TopicId>,
        sender: Sender,
        text: Option<&str>,
        has_media: bool,
        reply_to: Option<MessageId>,
    ) -> IncomingMessage {
        let id = self.state().post(
            chat,
            ChatMessage {
                id: MessageId(0),
                topic,
                sender,
                text: text.map(str::to_owned),
                has_media,
                reply_to,
                reactions: Vec::new(),
                edited: false,
                pinned: false,
            },
        );
        IncomingMessage {
            id,
            text: text.map(str::to_owned),
            has_media,
            reply_to,
            media_group: None,
            date: 0,
            entities: Vec::new(),
            file_id: None,
            kind: if has_media {
                crate::message::MessageKind::Photo
            } else {
                crate::message::MessageKind::Text
            },
        }
    }

    /// Declares what `user` may do in group `chat` (answered to [`Action::CheckMember`]).
    pub fn set_member(&self, chat: ChatId, user: UserId, role: MemberRole) {
        self.state().members.insert((chat, user), role);
    }

    /// A user writes `text` to the bot; hand the result to the desk as [`crate::Event::UserMessage`].
    pub fn user_writes(&self, user: UserId, text: &str) -> IncomingMessage {
        self.write(
            user.chat(),
            None,
            Sender::User(user),
            Some(text),
            false,
            None,
        )
    }

    /// A user replies to a message in their chat.
    pub fn user_replies(&self, user: UserId, reply_to: MessageId, text: &str) -> IncomingMessage {
        self.write(
            user.chat(),
            None,
            Sender::User(user),
            Some(text),
            false,
            Some(reply_to),
        )
    }

    /// A user sends a photo (or other media) with an optional caption.
    pub fn user_sends_media(&self, user: UserId, caption: Option<&str>) -> IncomingMessage {
        self.write(user.chat(), None, Sender::User(user), caption, true, None)
    }

    /// An operator writes in a topic of the backend group.
    pub fn operator_writes(
        &self,
        group: ChatId,
        topic: TopicId,
        operator: UserId,
        text: &str,
    ) -> IncomingMessage {
        self.write(
            group,
            Some(topic),
            Sender::Operator(operator),
            Some(text),
            false,
            None,
        )
    }

    /// An operator replies to a message in a topic.
    pub fn operator_replies(
        &self,
        group: ChatId,
        topic: TopicId,
        operator: UserId,
        reply_to: MessageId,
        text: &str,
    ) -> IncomingMessage {
        self.write(
            group,
            Some(topic),
            Sender::Operator(operator),
            Some(text),
            false,
            Some(reply_to),
        )
    }

    /// The host bot sends `text` to a user (what interception mirrors).
    pub fn host_sends(&self, user: UserId, text: &str) -> IncomingMessage {
        self.write(user.chat(), None, Sender::Bot, Some(text), false, None)
    }

    /// Someone edits their message; returns it as the edit event carries it.
    pub fn edit(&self, chat: ChatId, message: MessageId, text: &str) -> Option<IncomingMessage> {
        let mut state = self.state();
        let target = state.find_mut(chat, message)?;
        target.text = Some(text.to_owned());
        target.edited = true;
        Some(IncomingMessage {
            id: message,
            text: Some(text.to_owned()),
            has_media: target.has_media,
            reply_to: target.reply_to,
            media_group: None,
            date: 1,
            entities: Vec::new(),
            file_id: None,
            kind: if target.has_media {
                crate::message::MessageKind::Photo
            } else {
                crate::message::MessageKind::Text
            },
        })
    }

    /// An operator deletes a topic (Telegram tells the bot nothing; the next send fails).
    pub fn delete_topic(&self, group: ChatId, topic: TopicId) {
        if let Ok(t) = self.state().topic_mut(group, topic) {
            t.deleted = true;
        }
    }

    /// The user blocks the bot.
    pub fn block(&self, user: UserId) {
        self.state().blocked.insert(user);
    }

    /// The user unblocks the bot.
    pub fn unblock(&self, user: UserId) {
        self.state().blocked.remove(&user);
    }

    /// The next `times` actions that `matches` accepts fail with `error` (and change nothing).
    pub fn fail_next(
        &self,
        times: usize,
        error: TransportError,
        matches: impl Fn(&Action) -> bool + Send + Sync + 'static,
    ) {
        self.state().faults.push(Fault {
            matches: Box::new(matches),
            error,
            remaining: times,
        });
    }

    /// Every message of a chat, in order.
    pub fn messages(&self, chat: ChatId) -> Vec<ChatMessage> {
        self.state().chats.get(&chat).cloned().unwrap_or_default()
    }

    /// The messages of one topic, in order.
    pub fn topic_messages(&self, group: ChatId, topic: TopicId) -> Vec<ChatMessage> {
        self.messages(group)
            .into_iter()
            .filter(|m| m.topic == Some(topic))
            .collect()
    }

    /// The texts of one topic's messages, in order (service messages left out).
    pub fn topic_texts(&self, group: ChatId, topic: TopicId) -> Vec<String> {
        self.topic_messages(group, topic)
            .into_iter()
            .filter_map(|m| m.text)
            .collect()
    }

    /// The texts the bot sent to a user, in order.
    pub fn texts_to_user(&self, user: UserId) -> Vec<String> {
        self.messages(user.chat())
            .into_iter()
            .filter(|m| m.sender == Sender::Bot)
            .filter_map(|m| m.text)
            .collect()
    }

    /// The topics of a group, deleted ones included.
    pub fn topics(&self, group: ChatId) -> Vec<TopicInfo> {
        self.state().topics.get(&group).cloned().unwrap_or_default()
    }

    /// Every action performed successfully, in order.
    pub fn performed(&self) -> Vec<Action> {
        self.state().performed.clone()
    }

    /// How many times `perform` was called, failures included.
    pub fn attempts(&self) -> usize {
        self.state().attempts
    }

    /// A chat rendered for people: one line per message, topics marked.
    pub fn transcript(&self, chat: ChatId) -> String {
        let state = self.state();
        let topic_names: HashMap<TopicId, String> = state
            .topics
            .get(&chat)
            .map(|ts| ts.iter().map(|t| (t.id, t.name.clone())).collect())
            .unwrap_or_default();
        let mut out = String::new();
        for m in state.chats.get(&chat).into_iter().flatten() {
            let who = match m.sender {
                Sender::User(u) => format!("user {u}"),
                Sender::Operator(u) => format!("operator {u}"),
                Sender::Bot => "bot".to_owned(),
            };
            let place = m
                .topic
                .map(|t| format!("[{}] ", topic_names.get(&t).map_or("?", String::as_str)))
                .unwrap_or_default();
            let media = if m.has_media { "📎 " } else { "" };
            let reply = m
                .reply_to
                .map(|r| format!(" (reply to #{r})"))
                .unwrap_or_default();
            let edited = if m.edited { " (edited)" } else { "" };
            let text = m.text.as_deref().unwrap_or("").replace('\n', " ⏎ ");
            let _ = writeln!(
                out,
                "  #{} {place}{who}: {media}{text}{reply}{edited}",
                m.id
            );
        }
        out
    }
}

#[async_trait]
impl Transport for MemoryTransport {
    async fn perform(&self, action: &Action) -> Result<Performed, TransportError> {
        let mut state = self.state();
        state.attempts += 1;
        if let Some(fault) = state
            .faults
            .iter_mut()
            .find(|f| f.remaining > 0 && (f.matches)(action))
        {
            fault.remaining -= 1;
            return Err(fault.error.clone());
        }
        let performed = state.apply(action)?;
        state.performed.push(action.clone());
        Ok(performed)
    }
}
