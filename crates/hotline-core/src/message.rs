//! What the desk needs to know about a message: not its bytes, only what policies decide on.
//!
//! Relaying copies a message by reference (chat + id), so the content itself stays on Telegram's
//! side. The desk keeps the text (or caption) for keyword matching, the reply target for message
//! links, the album id, and the command, if the text starts with one.

use crate::ids::{MessageId, UserId};
use serde::{Deserialize, Serialize};

/// A message as the desk sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IncomingMessage {
    /// The message's id in the chat it was written in.
    pub id: MessageId,
    /// The text, or the caption of a media message.
    pub text: Option<String>,
    /// Whether the message carries media (photo, document, ...); an edit then changes a caption.
    pub has_media: bool,
    /// The message this one replies to, in the same chat.
    pub reply_to: Option<MessageId>,
    /// Telegram's `media_group_id` for albums.
    pub media_group: Option<String>,
    /// Unix time the message was written (or edited, for an edit).
    pub date: i64,
    /// The formatting of `text` (bold, links, ...), so a mirror of the message keeps it.
    /// (Always written, so formats without field names, such as postcard, read it back;
    /// `default` for what was written before it existed.)
    #[serde(default)]
    pub entities: Vec<TextEntity>,
    /// What the message is (text, photo, ...), as events out report it.
    #[serde(default)]
    pub kind: MessageKind,
    /// The file the message carries, as the transport names it (Telegram's `file_id`; for a
    /// photo, its largest size), for the archive.
    #[serde(default)]
    pub file_id: Option<String>,
}

/// What a message carries, as events out ([`crate::DeskEvent`]) name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MessageKind {
    /// A text.
    #[default]
    Text,
    /// A photo.
    Photo,
    /// A video.
    Video,
    /// A file.
    Document,
    /// A voice message.
    Voice,
    /// A music file.
    Audio,
    /// A round video.
    VideoNote,
    /// A sticker.
    Sticker,
    /// A GIF or silent video.
    Animation,
    /// A location or venue.
    Location,
    /// A contact.
    Contact,
    /// A poll.
    Poll,
    /// Anything else (a kind newer than this list, or one the transport does not name).
    Other,
}

impl MessageKind {
    /// The kind's name in events out (`text`, `photo`, `video_note`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Photo => "photo",
            MessageKind::Video => "video",
            MessageKind::Document => "document",
            MessageKind::Voice => "voice",
            MessageKind::Audio => "audio",
            MessageKind::VideoNote => "video_note",
            MessageKind::Sticker => "sticker",
            MessageKind::Animation => "animation",
            MessageKind::Location => "location",
            MessageKind::Contact => "contact",
            MessageKind::Poll => "poll",
            MessageKind::Other => "other",
        }
    }
}

/// One formatted span of a text (bold, a link, a mention, ...).
///
/// Offsets and lengths count UTF-16 code units, as Telegram does. What the span is stays in the
/// transport's own notation (`detail`; for Telegram, the `MessageEntity` as JSON): the desk only
/// moves spans (behind a mark it puts before the text), it never reads them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TextEntity {
    /// Where the span starts, in UTF-16 code units.
    pub offset: usize,
    /// How long the span is, in UTF-16 code units.
    pub length: usize,
    /// What the span is, in the transport's notation.
    pub detail: String,
}

impl TextEntity {
    /// The same span, `by` UTF-16 code units further on.
    pub fn shifted(&self, by: usize) -> Self {
        Self {
            offset: self.offset + by,
            ..self.clone()
        }
    }
}

impl IncomingMessage {
    /// A plain text message.
    pub fn text(id: impl Into<MessageId>, text: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// A media message (photo, document, ...) with an optional caption.
    pub fn media(id: impl Into<MessageId>, caption: Option<String>) -> Self {
        Self {
            id: id.into(),
            text: caption,
            has_media: true,
            kind: MessageKind::Other,
            ..Self::default()
        }
    }

    /// Sets the message this one replies to.
    pub fn replying_to(mut self, message: impl Into<MessageId>) -> Self {
        self.reply_to = Some(message.into());
        self
    }

    /// Sets the album this message belongs to.
    pub fn in_media_group(mut self, group: impl Into<String>) -> Self {
        self.media_group = Some(group.into());
        self
    }

    /// The command this message starts with, if any (`/start payload`, `/help@MyBot`).
    pub fn command(&self) -> Option<Command<'_>> {
        self.text.as_deref().and_then(Command::parse)
    }
}

impl From<i32> for MessageId {
    fn from(value: i32) -> Self {
        Self(i64::from(value))
    }
}

/// A bot command at the start of a message: `/name@bot payload`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    /// The command without its slash and without the `@bot` suffix, as written (compare with
    /// [`Command::is`], which ignores case).
    pub name: &'a str,
    /// The bot the command was addressed to (`/help@MyBot` gives `MyBot`).
    pub bot: Option<&'a str>,
    /// Everything after the command, trimmed (`/start ref42` gives `ref42`).
    pub payload: &'a str,
}

impl<'a> Command<'a> {
    /// Parses the command at the start of `text`. A lone `/` or `/ comment` (slash, space) is not a
    /// command: in the backend group the latter marks an internal comment.
    pub fn parse(text: &'a str) -> Option<Self> {
        let rest = text.strip_prefix('/')?;
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (token, payload) = rest.split_at(end);
        if token.is_empty() {
            return None;
        }
        let (name, bot) = match token.split_once('@') {
            Some((name, bot)) => (name, Some(bot)),
            None => (token, None),
        };
        if name.is_empty() {
            return None;
        }
        Some(Self {
            name,
            bot,
            payload: payload.trim(),
        })
    }

    /// Whether this is the command `name` (without slash), ignoring case.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.trim_start_matches('/'))
    }
}

/// Who a user is, as far as the desk shows it to operators.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UserProfile {
    /// The user's id.
    pub id: UserId,
    /// First name (always present on Telegram).
    pub first_name: String,
    /// Last name, if set.
    pub last_name: Option<String>,
    /// `@username` without the `@`, if set.
    pub username: Option<String>,
    /// IETF language tag of the user's client, if known.
    pub language_code: Option<String>,
}

impl UserProfile {
    /// A profile with only an id and a first name.
    pub fn new(id: impl Into<UserId>, first_name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            first_name: first_name.into(),
            ..Self::default()
        }
    }

    /// Sets the last name.
    pub fn with_last_name(mut self, last_name: impl Into<String>) -> Self {
        self.last_name = Some(last_name.into());
        self
    }

    /// Sets the username (without `@`).
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// Sets the language code.
    pub fn with_language(mut self, language_code: impl Into<String>) -> Self {
        self.language_code = Some(language_code.into());
        self
    }

    /// "First Last", or just the first name; never empty (falls back to the id).
    pub fn display_name(&self) -> String {
        let mut name = self.first_name.trim().to_owned();
        if let Some(last) = self
            .last_name
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            if !name.is_empty() {
                name.push(' ');
            }
            name.push_str(last);
        }
        if name.is_empty() {
            format!("User {}", self.id)
        } else {
            name
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_with_bot_and_payload() {
        let c = Command::parse("/start ref42").unwrap();
        assert_eq!((c.name, c.bot, c.payload), ("start", None, "ref42"));
        let c = Command::parse("/HELP@SomeBot  please ").unwrap();
        assert!(c.is("help") && c.is("/help"));
        assert_eq!((c.bot, c.payload), (Some("SomeBot"), "please"));
    }

    #[test]
    fn slash_space_and_lone_slash_are_not_commands() {
        assert_eq!(Command::parse("/ internal note"), None);
        assert_eq!(Command::parse("/"), None);
        assert_eq!(Command::parse("/@bot"), None);
        assert_eq!(Command::parse("hello /start"), None);
    }

    #[test]
    fn display_name_never_empty() {
        assert_eq!(
            UserProfile::new(5, "Ann")
                .with_last_name("Lee")
                .display_name(),
            "Ann Lee"
        );
        assert_eq!(UserProfile::new(5, " ").display_name(), "User 5");
    }
}
