//! Actions out: what the desk asks a transport to do.
//!
//! Each action is one call on the messenger's side (one Bot API method, usually). The desk decides,
//! the transport performs; the [`Performed`] result feeds ids back (a new topic, the copies' ids) so
//! the desk can record message links.

use crate::ids::{ChatId, MessageId, TopicId, UserId};
use crate::message::TextEntity;
use crate::store::MailingContent;

/// One thing for the transport to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Create a forum topic in `chat`; performs to [`Performed::Topic`].
    CreateTopic {
        /// The backend group.
        chat: ChatId,
        /// The topic's name (1–128 characters).
        name: String,
    },
    /// Copy messages from a user's chat into a topic, as the bot (one call for an album);
    /// performs to [`Performed::Messages`], one id per message copied.
    CopyToTopic {
        /// The backend group.
        chat: ChatId,
        /// The user's topic.
        topic: TopicId,
        /// The chat the messages are in (the user's private chat).
        from: ChatId,
        /// The messages, ascending.
        messages: Vec<MessageId>,
        /// Make the (first) copy a reply to this message in the topic.
        reply_to: Option<MessageId>,
    },
    /// Mirror a host-bot message into a topic, with `text` (the original text or caption behind a
    /// mark, see [`crate::policy::mirror_text`]) so operators see it was the bot (interception).
    /// A media message is copied with `text` as its caption; a text message is sent as `text`.
    /// Performs to [`Performed::Messages`] with one id.
    MirrorToTopic {
        /// The backend group.
        chat: ChatId,
        /// The user's topic.
        topic: TopicId,
        /// The user's private chat, where the host bot's message is.
        from: ChatId,
        /// The host bot's message.
        message: MessageId,
        /// The marked text or caption.
        text: String,
        /// The formatting of `text` (the original's, behind the mark).
        entities: Vec<TextEntity>,
        /// Whether the message carries media.
        has_media: bool,
    },
    /// Forward host-bot messages whose content the desk does not know (the host copied or
    /// forwarded them: Telegram answers with ids alone) from the user's chat into a topic, in one
    /// call: the forward shows they came from the bot, keeps their formatting and albums.
    /// Performs to [`Performed::Messages`], one id per message forwarded.
    ForwardToTopic {
        /// The backend group.
        chat: ChatId,
        /// The user's topic.
        topic: TopicId,
        /// The user's private chat, where the host bot's messages are.
        from: ChatId,
        /// The messages, ascending.
        messages: Vec<MessageId>,
    },
    /// Copy operator messages from the backend group to the user, as the bot;
    /// performs to [`Performed::Messages`].
    CopyToUser {
        /// The user.
        user: UserId,
        /// The backend group.
        from: ChatId,
        /// The operator's messages, ascending.
        messages: Vec<MessageId>,
        /// Make the (first) copy a reply to this message in the user's chat.
        reply_to: Option<MessageId>,
    },
    /// Send a text written by the desk itself (a greeting, a notice to operators);
    /// performs to [`Performed::Messages`] with one id.
    SendNotice {
        /// Where to.
        to: Recipient,
        /// The text (plain, or MarkdownV2 when `markdown` is set).
        text: String,
        /// Whether `text` is MarkdownV2.
        markdown: bool,
    },
    /// Change the text (or caption) of a copy made earlier.
    EditCopy {
        /// The chat the copy is in.
        chat: ChatId,
        /// The copy.
        message: MessageId,
        /// The new text or caption.
        text: String,
        /// The formatting of `text` (empty: plain).
        entities: Vec<TextEntity>,
        /// Whether it is a caption (the message has media).
        caption: bool,
    },
    /// Rename a topic (status square and title).
    RenameTopic {
        /// The backend group.
        chat: ChatId,
        /// The topic.
        topic: TopicId,
        /// The new name.
        name: String,
    },
    /// Close a topic.
    CloseTopic {
        /// The backend group.
        chat: ChatId,
        /// The topic.
        topic: TopicId,
    },
    /// Reopen a closed topic.
    ReopenTopic {
        /// The backend group.
        chat: ChatId,
        /// The topic.
        topic: TopicId,
    },
    /// Pin a message (the user card in a new topic, `AUTO_INFO`).
    PinMessage {
        /// The chat.
        chat: ChatId,
        /// The message.
        message: MessageId,
    },
    /// Send a greeting built in Rust (`WELCOME` as a [`crate::Greeting`]): media, buttons, links.
    /// Performs to [`Performed::Messages`].
    SendGreeting {
        /// The user.
        user: UserId,
        /// The greeting, `{title}` already filled in.
        greeting: crate::Greeting,
    },
    /// Ask what a member of a group may do (`getChatMember` on Telegram): whether they are an
    /// administrator (or the creator) and whether they may ban. Sends nothing; performs to
    /// [`Performed::Member`].
    CheckMember {
        /// The group (the backend group).
        chat: ChatId,
        /// The member (an operator).
        user: UserId,
    },
    /// Set the bot's reactions on a message (empty removes them).
    SetReaction {
        /// The chat.
        chat: ChatId,
        /// The message.
        message: MessageId,
        /// The emoji.
        emoji: Vec<String>,
    },
    /// Send one recipient of a mailing its content (`copyMessage`/`copyMessages` for a chain,
    /// the message built in Rust otherwise), paced below everything else
    /// ([`Priority::Bulk`]). Performs to [`Performed::Messages`].
    Deliver {
        /// The recipient.
        user: UserId,
        /// What they get.
        content: MailingContent,
    },
    /// Send a text with buttons that call back into the desk (a mailing's preview and
    /// progress). Performs to [`Performed::Messages`] with one id.
    SendPanel {
        /// Where to.
        to: Recipient,
        /// The text (plain).
        text: String,
        /// The buttons, in one row (empty: none).
        buttons: Vec<PanelButton>,
        /// Make it a reply to this message (in the same chat).
        reply_to: Option<MessageId>,
    },
    /// Change a panel's text and buttons in place (empty `buttons` removes them).
    EditPanel {
        /// The chat it is in.
        chat: ChatId,
        /// The panel.
        message: MessageId,
        /// The new text (plain).
        text: String,
        /// The new buttons.
        buttons: Vec<PanelButton>,
    },
    /// Send a file made by the desk (`/export`'s CSV and JSON lines) with a caption. Performs
    /// to [`Performed::Messages`] with one id.
    SendDocument {
        /// Where to.
        to: Recipient,
        /// The file's name, as the chat shows it.
        file_name: String,
        /// The file.
        bytes: Vec<u8>,
        /// The caption (plain).
        caption: String,
    },
    /// Answer a pressed button ([`crate::Event::OperatorButton`]) with a short text the
    /// presser sees; a read of no chat's budget.
    AnswerButton {
        /// The press, as the messenger named it.
        query: String,
        /// The text shown.
        text: String,
    },
}

/// A button under a panel: its label, and the data the desk gets back when it is pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelButton {
    /// The label.
    pub text: String,
    /// What comes back in [`crate::Event::OperatorButton`] (at most 64 bytes on Telegram).
    pub data: String,
}

/// Where a notice goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// A user's private chat.
    User(UserId),
    /// A topic of the backend group.
    Topic {
        /// The backend group.
        chat: ChatId,
        /// The topic.
        topic: TopicId,
    },
    /// The General topic of a group (notices about no particular conversation).
    General(ChatId),
}

impl Recipient {
    /// The chat it is in.
    pub fn chat(&self) -> ChatId {
        match self {
            Recipient::User(user) => user.chat(),
            Recipient::Topic { chat, .. } | Recipient::General(chat) => *chat,
        }
    }
}

/// How urgent an action is, for transports that pace calls ahead of rate limits: relayed messages
/// first, notices next, cosmetic changes (renames) last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Messages between a user and operators, and topic creation that they wait for.
    Relay,
    /// Greetings and notices.
    Notice,
    /// Renames, reactions, closing: may be merged or delayed.
    Cosmetic,
    /// Mailings: only what everything else leaves of the budget.
    Bulk,
}

impl Action {
    /// The pacing priority of this action.
    pub fn priority(&self) -> Priority {
        match self {
            Action::CreateTopic { .. }
            | Action::CopyToTopic { .. }
            | Action::MirrorToTopic { .. }
            | Action::ForwardToTopic { .. }
            | Action::CopyToUser { .. }
            | Action::EditCopy { .. } => Priority::Relay,
            Action::SendNotice { .. }
            | Action::SendGreeting { .. }
            | Action::SendPanel { .. }
            | Action::SendDocument { .. }
            | Action::AnswerButton { .. }
            | Action::CheckMember { .. } => Priority::Notice,
            Action::EditPanel { .. } => Priority::Cosmetic,
            Action::Deliver { .. } => Priority::Bulk,
            Action::RenameTopic { .. }
            | Action::CloseTopic { .. }
            | Action::ReopenTopic { .. }
            | Action::PinMessage { .. }
            | Action::SetReaction { .. } => Priority::Cosmetic,
        }
    }

    /// The chat this action writes to (what a per-chat rate limit applies to).
    pub fn target_chat(&self) -> ChatId {
        match self {
            Action::CreateTopic { chat, .. }
            | Action::CopyToTopic { chat, .. }
            | Action::MirrorToTopic { chat, .. }
            | Action::ForwardToTopic { chat, .. }
            | Action::EditCopy { chat, .. }
            | Action::RenameTopic { chat, .. }
            | Action::CloseTopic { chat, .. }
            | Action::ReopenTopic { chat, .. }
            | Action::PinMessage { chat, .. }
            | Action::CheckMember { chat, .. }
            | Action::EditPanel { chat, .. }
            | Action::SetReaction { chat, .. } => *chat,
            Action::CopyToUser { user, .. }
            | Action::SendGreeting { user, .. }
            | Action::Deliver { user, .. } => user.chat(),
            Action::SendNotice { to, .. }
            | Action::SendPanel { to, .. }
            | Action::SendDocument { to, .. } => to.chat(),
            // A button's answer goes to no chat.
            Action::AnswerButton { .. } => ChatId(0),
        }
    }

    /// The topic this action writes to, if any (a deleted topic makes it fail with
    /// [`crate::TransportError::TopicGone`]).
    pub fn target_topic(&self) -> Option<TopicId> {
        match self {
            Action::CopyToTopic { topic, .. }
            | Action::MirrorToTopic { topic, .. }
            | Action::ForwardToTopic { topic, .. }
            | Action::RenameTopic { topic, .. }
            | Action::CloseTopic { topic, .. }
            | Action::ReopenTopic { topic, .. }
            | Action::SendNotice {
                to: Recipient::Topic { topic, .. },
                ..
            }
            | Action::SendPanel {
                to: Recipient::Topic { topic, .. },
                ..
            }
            | Action::SendDocument {
                to: Recipient::Topic { topic, .. },
                ..
            } => Some(*topic),
            _ => None,
        }
    }
}

/// What performing an action produced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Performed {
    /// A topic was created.
    Topic(TopicId),
    /// Messages were sent; their ids in the target chat, in order.
    Messages(Vec<MessageId>),
    /// What a group member may do ([`Action::CheckMember`]).
    Member {
        /// The group's creator or an administrator.
        admin: bool,
        /// May ban: the creator, or an administrator with `can_restrict_members`.
        can_ban: bool,
    },
    /// Done, nothing to report.
    Done,
}

impl Performed {
    /// The first message id, if messages were sent.
    pub fn first_message(&self) -> Option<MessageId> {
        match self {
            Performed::Messages(ids) => ids.first().copied(),
            _ => None,
        }
    }
}
