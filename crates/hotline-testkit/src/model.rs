//! Plain data types of the testkit's Rust API and control plane.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A user to create (`POST /_testkit/users`). Creating a user also creates the private chat
/// between the user and the bot (its id is the user's id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    /// Telegram user id (positive).
    pub id: i64,
    /// First name.
    pub first_name: String,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Username without `@`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// IETF language tag, e.g. `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
}

impl NewUser {
    /// A user with only an id and a first name.
    pub fn new(id: i64, first_name: &str) -> Self {
        NewUser {
            id,
            first_name: first_name.to_owned(),
            last_name: None,
            username: None,
            language_code: None,
        }
    }
    /// Sets the last name.
    pub fn last_name(mut self, last_name: &str) -> Self {
        self.last_name = Some(last_name.to_owned());
        self
    }
    /// Sets the username (without `@`).
    pub fn username(mut self, username: &str) -> Self {
        self.username = Some(username.to_owned());
        self
    }
    /// Sets the language code.
    pub fn language_code(mut self, language_code: &str) -> Self {
        self.language_code = Some(language_code.to_owned());
        self
    }
}

/// A supergroup to create (`POST /_testkit/groups`). The bot is always a member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewGroup {
    /// Chat id, e.g. `-1001000000001`.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Whether topics are enabled (a forum).
    #[serde(default)]
    pub is_forum: bool,
    /// Whether the bot is an administrator (with `can_manage_topics`). A bot that is not an
    /// admin cannot create topics and, in privacy mode, only sees commands and replies to it.
    #[serde(default)]
    pub bot_is_admin: bool,
}

impl NewGroup {
    /// A forum supergroup where the bot is an admin: the usual backend group.
    pub fn forum(id: i64, title: &str) -> Self {
        NewGroup {
            id,
            title: title.to_owned(),
            is_forum: true,
            bot_is_admin: true,
        }
    }
    /// A plain supergroup (no topics) where the bot is a member but not an admin.
    pub fn plain(id: i64, title: &str) -> Self {
        NewGroup {
            id,
            title: title.to_owned(),
            is_forum: false,
            bot_is_admin: false,
        }
    }
    /// Sets whether topics are enabled.
    pub fn is_forum(mut self, is_forum: bool) -> Self {
        self.is_forum = is_forum;
        self
    }
    /// Sets whether the bot is an admin.
    pub fn bot_is_admin(mut self, bot_is_admin: bool) -> Self {
        self.bot_is_admin = bot_is_admin;
        self
    }
}

/// A group member's standing (`POST /_testkit/groups/{chat_id}/members`, `"status"`), as
/// `getChatMember` and `getChatAdministrators` report it. A group has at most one creator:
/// naming a new one makes the previous creator an administrator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    /// A plain member (`"member"`), the default.
    #[default]
    Member,
    /// An administrator (`"administrator"`), with every right a bot can see.
    Administrator,
    /// An administrator without the right to ban (`"limited_administrator"`):
    /// `can_restrict_members` is false, every other right as [`MemberStatus::Administrator`].
    #[serde(rename = "limited_administrator")]
    LimitedAdministrator,
    /// The group's owner (`"creator"`).
    Creator,
}

/// A message written by a user or an operator (`POST /_testkit/messages`). The bot receives it
/// as a `message` update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMessage {
    /// Sender's user id (must have been added; in a group, must be a member).
    pub from: i64,
    /// The chat: the user's own id for a private chat, or a group id.
    pub chat_id: i64,
    /// Text (a text starting with `/` gets a `bot_command` entity, as Telegram sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The forum topic to write in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_thread_id: Option<i64>,
    /// Replies to this message of the same chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_message_id: Option<i64>,
    /// A photo, by file_id (any string; unknown ids are registered as photos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    /// A document, by file_id (unknown ids are registered as documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// Caption of the photo or document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Album id shared by the messages of one media group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_group_id: Option<String>,
    /// Explicit entities for `text` (instead of the automatic `bot_command` one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<serde_json::Value>,
}

impl NewMessage {
    /// A text message from `from` in `chat_id`.
    pub fn text(from: i64, chat_id: i64, text: &str) -> Self {
        NewMessage {
            text: Some(text.to_owned()),
            ..NewMessage::empty(from, chat_id)
        }
    }
    /// A message with no content yet (add `.photo(..)` or `.document(..)`).
    pub fn empty(from: i64, chat_id: i64) -> Self {
        NewMessage {
            from,
            chat_id,
            text: None,
            message_thread_id: None,
            reply_to_message_id: None,
            photo: None,
            document: None,
            caption: None,
            media_group_id: None,
            entities: None,
        }
    }
    /// Writes in forum topic `thread_id`.
    pub fn thread(mut self, thread_id: i64) -> Self {
        self.message_thread_id = Some(thread_id);
        self
    }
    /// Replies to message `message_id` of the same chat.
    pub fn reply_to(mut self, message_id: i64) -> Self {
        self.reply_to_message_id = Some(message_id);
        self
    }
    /// Attaches a photo by file_id (the text, if any, becomes the caption).
    pub fn photo(mut self, file_id: &str) -> Self {
        self.photo = Some(file_id.to_owned());
        self
    }
    /// Attaches a document by file_id (the text, if any, becomes the caption).
    pub fn document(mut self, file_id: &str) -> Self {
        self.document = Some(file_id.to_owned());
        self
    }
    /// Sets the caption.
    pub fn caption(mut self, caption: &str) -> Self {
        self.caption = Some(caption.to_owned());
        self
    }
    /// Puts the message in album `media_group_id`.
    pub fn media_group(mut self, media_group_id: &str) -> Self {
        self.media_group_id = Some(media_group_id.to_owned());
        self
    }
    /// Sets explicit text entities (a JSON array of MessageEntity).
    pub fn entities(mut self, entities: serde_json::Value) -> Self {
        self.entities = Some(entities);
        self
    }
}

/// A forum topic as the control plane shows it (`GET /_testkit/groups/{id}/topics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    /// The topic id: the message id of its `forum_topic_created` service message.
    pub message_thread_id: i64,
    /// Current name.
    pub name: String,
    /// Whether it is closed.
    pub is_closed: bool,
    /// Icon colour (RGB), as given at creation.
    pub icon_color: i64,
    /// Custom emoji icon, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_custom_emoji_id: Option<String>,
    /// Whether it was deleted (deleted topics stay listed; sends to them fail).
    pub deleted: bool,
}

/// Flood limits (`PUT /_testkit/limits`); every limit is off when `None`.
///
/// Counted calls are those that put or change a message in a chat: every `send*`,
/// `copyMessage(s)`, `forwardMessage`, `editMessage*`, and the forum topic methods
/// (`createForumTopic`, `editForumTopic`, `closeForumTopic`, `reopenForumTopic`,
/// `deleteForumTopic`). A call refused with 429 is not counted. See the crate docs for
/// `time_scale`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FloodLimits {
    /// Counted calls per second for the whole bot (Telegram: about 30).
    #[serde(default)]
    pub global_per_second: Option<u32>,
    /// Counted calls per second into one private chat (Telegram: about 1).
    #[serde(default)]
    pub per_chat_per_second: Option<u32>,
    /// Counted calls per minute into one group or supergroup (Telegram: 20).
    #[serde(default)]
    pub per_group_per_minute: Option<u32>,
    /// How much faster than real time the limit clock runs (default 1). With 60, a
    /// "per minute" window lasts one wall-clock second, and a 429's `retry_after` (always the
    /// real wait, in wall-clock seconds) is about 60 times shorter than on Telegram.
    #[serde(default)]
    pub time_scale: Option<f64>,
}

/// An injected fault (`POST /_testkit/faults`): for matching Bot API calls, wait
/// `latency_ms`, then one outcome: drop the connection before the call acts
/// (`drop_connection`), let the call act and then drop the connection without its answer
/// (`drop_after_acting`: Telegram did it, the client never hears so), or answer with the error
/// instead of acting (`error_code`).
///
/// Which calls: `method` (case-insensitive; `None` = every Bot API method) and `chat_id` (the
/// call's `chat_id` parameter; `None` = any). How many: the next `count` matching calls, or
/// each matching call with probability `ratio`, or (neither set) every matching call until
/// [`FakeTelegram::clear_faults`](crate::FakeTelegram::clear_faults).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// Bot API method name, or `None` for all.
    #[serde(default)]
    pub method: Option<String>,
    /// Only calls whose `chat_id` parameter is this chat (`None`: any call).
    #[serde(default)]
    pub chat_id: Option<i64>,
    /// Error code to answer with (`None`: no error, only latency / drop).
    #[serde(default)]
    pub error_code: Option<u16>,
    /// Error description (default: Telegram's wording for the code, e.g.
    /// "Internal Server Error", "Too Many Requests: retry after N").
    #[serde(default)]
    pub description: Option<String>,
    /// Applies to the next `count` matching calls, then disappears.
    #[serde(default)]
    pub count: Option<u32>,
    /// Applies to each matching call with this probability (0..=1).
    #[serde(default)]
    pub ratio: Option<f64>,
    /// Close the TCP connection without answering (before the call acts).
    #[serde(default)]
    pub drop_connection: bool,
    /// Perform the call (its effects happen, it is logged in
    /// [`FakeTelegram::calls`](crate::FakeTelegram::calls)), then close the TCP connection
    /// without answering: the client sees a connection error although Telegram acted.
    #[serde(default)]
    pub drop_after_acting: bool,
    /// Delay before answering (or before acting, when there is no error).
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// `parameters.retry_after` in the error (with 429).
    #[serde(default)]
    pub retry_after: Option<u32>,
    /// `parameters.migrate_to_chat_id` in the error (Telegram's "Bad Request: group chat was
    /// upgraded to a supergroup chat").
    #[serde(default)]
    pub migrate_to_chat_id: Option<i64>,
}

impl Fault {
    /// Answer matching calls with `error_code` and `description`.
    pub fn error(error_code: u16, description: &str) -> Self {
        Fault {
            error_code: Some(error_code),
            description: Some(description.to_owned()),
            ..Fault::default()
        }
    }
    /// Answer matching calls with 429 "Too Many Requests: retry after N" and
    /// `parameters.retry_after = N`.
    pub fn too_many_requests(retry_after: u32) -> Self {
        Fault {
            error_code: Some(429),
            retry_after: Some(retry_after),
            ..Fault::default()
        }
    }
    /// Close the connection of matching calls without an answer (nothing is done).
    pub fn drop_connection() -> Self {
        Fault {
            drop_connection: true,
            ..Fault::default()
        }
    }
    /// Let matching calls act, then close their connection without the answer (see
    /// [`Fault::drop_after_acting`](Fault#structfield.drop_after_acting)).
    pub fn drop_after_acting() -> Self {
        Fault {
            drop_after_acting: true,
            ..Fault::default()
        }
    }
    /// Delay matching calls by `ms` milliseconds (they still succeed).
    pub fn latency(ms: u64) -> Self {
        Fault {
            latency_ms: Some(ms),
            ..Fault::default()
        }
    }
    /// Only for this Bot API method.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_owned());
        self
    }
    /// Only calls into this chat (their `chat_id` parameter).
    pub fn chat(mut self, chat_id: i64) -> Self {
        self.chat_id = Some(chat_id);
        self
    }
    /// Only the next `count` matching calls.
    pub fn count(mut self, count: u32) -> Self {
        self.count = Some(count);
        self
    }
    /// Each matching call with probability `ratio`.
    pub fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = Some(ratio);
        self
    }
    /// Adds a delay before the answer.
    pub fn with_latency(mut self, ms: u64) -> Self {
        self.latency_ms = Some(ms);
        self
    }
    /// Adds `parameters.retry_after`.
    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

/// Counters (`GET /_testkit/stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Bot API calls per method, refused ones included: under the canonical camelCase name
    /// for methods of the Bot API, under the lowercased name for names outside it (answered
    /// 404). Calls with a wrong token are only in `total_calls`.
    pub calls: BTreeMap<String, u64>,
    /// Calls of Bot API methods the fake does not model (every method of the spec outside
    /// [`METHODS`](crate::METHODS)): answered with a result of the spec's return type and no
    /// effect on the fake's world.
    #[serde(default)]
    pub not_modelled: BTreeMap<String, u64>,
    /// All Bot API calls, including unknown methods and wrong tokens.
    pub total_calls: u64,
    /// Calls answered 429 by the flood limits.
    pub too_many_requests: u64,
    /// Calls hit by an injected fault (error, drop or latency).
    pub faults_injected: u64,
    /// Connections dropped by a fault, before or after the call acted.
    pub dropped_connections: u64,
    /// Updates handed to the bot (getUpdates results plus webhook deliveries).
    pub updates_delivered: u64,
    /// Webhook POSTs that failed (not 2xx, or no connection).
    pub webhook_errors: u64,
    /// Results or updates that did not match the Bot API spec (debug builds only, when the
    /// spec file is found). Should stay empty.
    pub spec_violations: Vec<String>,
    /// Bot API calls other than `getUpdates` received and not yet answered. A client killed
    /// mid-call can still have its last calls acted on after it is gone; a test that counts
    /// calls per client lifetime waits for this to reach zero.
    #[serde(default)]
    pub calls_in_progress: u64,
}

impl Stats {
    /// Calls of one method (case-insensitive).
    pub fn calls_of(&self, method: &str) -> u64 {
        self.calls
            .iter()
            .filter(|(m, _)| m.eq_ignore_ascii_case(method))
            .map(|(_, n)| *n)
            .sum()
    }
}

/// One Bot API call as the server received it ([`FakeTelegram::calls`](crate::FakeTelegram::calls)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// Canonical (camelCase) method name.
    pub method: String,
    /// The parameters, merged from the query string and the body; form and multipart values
    /// are strings as sent, uploaded files appear as `"attach://<field>"`.
    pub params: serde_json::Value,
    /// The error code answered, or `None` for success.
    pub error_code: Option<u16>,
}
