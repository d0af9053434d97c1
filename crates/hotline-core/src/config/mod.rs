//! Configuration: Hotline's parameters, with their defaults and their own syntax.
//!
//! Build a [`Config`] in Rust with typed setters, or paste a Hotline settings text, parameter by
//! parameter, through [`ConfigBuilder::set`]; both validate in [`ConfigBuilder::build`]. A bad
//! value is an [`Error::Config`] naming the parameter and, for lists, the position of the fault.
//!
//! ```
//! use hotline_core::{ChatId, Config};
//!
//! let config = Config::builder(ChatId(-1001234567890))
//!     .set("PRIVATE_KEYWORDS", r#""operator","/help",["need","human"]"#)?
//!     .set("WELCOME", "Hi {title}! An operator will answer here.")?
//!     .set("AUTOCLOSE", "24")?
//!     .build()?;
//! assert!(config.private_keywords.as_ref().unwrap().matches("/help@MyBot"));
//! # Ok::<(), hotline_core::Error>(())
//! ```

mod keywords;
mod webhooks;

pub use keywords::{KeywordSet, SyntaxError};
pub use webhooks::{WebhookSecret, WebhookTarget};

use crate::error::Error;
use crate::ids::{ChatId, UserId};
use std::collections::HashSet;
use std::time::Duration;

/// The greeting sent to a user when their topic opens or reopens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Welcome {
    /// No greeting (a host bot with its own).
    Off,
    /// A text; `{title}` is replaced by the user's name.
    Text {
        /// The template.
        text: String,
        /// Whether the text is MarkdownV2 (then the name filled in is escaped).
        markdown: bool,
    },
    /// A greeting built in Rust: a photo or a video note, buttons, links, a web app.
    Rich(Greeting),
}

/// A rich greeting (`WELCOME` built in Rust). Media are given as the messenger names them (on
/// Telegram a `file_id` or an HTTPS URL).
///
/// ```
/// use hotline_core::{Greeting, GreetingButton, Welcome};
///
/// let welcome = Welcome::Rich(Greeting {
///     photo: Some("https://example.com/desk.jpg".into()),
///     buttons: vec![vec![
///         GreetingButton::Url { text: "Help centre".into(), url: "https://example.com/help".into() },
///         GreetingButton::WebApp { text: "Open the app".into(), url: "https://example.com/app".into() },
///     ]],
///     ..Greeting::text("Hi *{title}*\\! An operator will answer here\\.", true)
/// });
/// # let _ = welcome;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Greeting {
    /// The text (a caption under a photo); `{title}` is replaced by the user's name.
    pub text: String,
    /// Whether the text is MarkdownV2 (then the name filled in is escaped).
    pub markdown: bool,
    /// A photo to send with the text as its caption.
    pub photo: Option<String>,
    /// A round video note sent before the text (on Telegram a `file_id`: the Bot API does not
    /// send video notes from a URL). If it cannot be sent, the text still is.
    pub video_note: Option<String>,
    /// Inline buttons, row by row.
    pub buttons: Vec<Vec<GreetingButton>>,
}

impl Greeting {
    /// A greeting of text only.
    pub fn text(text: impl Into<String>, markdown: bool) -> Self {
        Self {
            text: text.into(),
            markdown,
            ..Self::default()
        }
    }
}

/// A button under a greeting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GreetingButton {
    /// Opens a link.
    Url {
        /// The label.
        text: String,
        /// The link.
        url: String,
    },
    /// Opens a web app (Telegram Mini App).
    WebApp {
        /// The label.
        text: String,
        /// The web app's HTTPS URL.
        url: String,
    },
    /// Sends the host bot a callback query with `data` (`hotline:human` hands the user over).
    Callback {
        /// The label.
        text: String,
        /// The callback data.
        data: String,
    },
}

impl Welcome {
    /// The default English greeting.
    pub fn default_text() -> Self {
        Welcome::Text {
            text: "Hello, {title}! Your message has reached our support team. \
                   An operator will answer you right here."
                .into(),
            markdown: false,
        }
    }

    /// The same greeting as plain text (the markup left as written, the name not escaped): what
    /// is sent when the messenger refuses the MarkdownV2 of [`Welcome::render`].
    pub fn render_plain(&self, title: &str) -> Option<Greeting> {
        let plain = match self {
            Welcome::Off => Welcome::Off,
            Welcome::Text { text, .. } => Welcome::Text {
                text: text.clone(),
                markdown: false,
            },
            Welcome::Rich(greeting) => Welcome::Rich(Greeting {
                markdown: false,
                ..greeting.clone()
            }),
        };
        plain.render(title)
    }

    /// Whether this greeting is written in MarkdownV2.
    pub fn is_markdown(&self) -> bool {
        match self {
            Welcome::Off => false,
            Welcome::Text { markdown, .. } => *markdown,
            Welcome::Rich(greeting) => greeting.markdown,
        }
    }

    /// The greeting for a user called `title`, or `None` when off.
    pub fn render(&self, title: &str) -> Option<Greeting> {
        let fill = |text: &str, markdown: bool| {
            let name = if markdown {
                escape_markdown_v2(title)
            } else {
                title.to_owned()
            };
            text.replace("{title}", &name)
        };
        match self {
            Welcome::Off => None,
            Welcome::Text { text, markdown } => {
                Some(Greeting::text(fill(text, *markdown), *markdown))
            }
            Welcome::Rich(greeting) => Some(Greeting {
                text: fill(&greeting.text, greeting.markdown),
                ..greeting.clone()
            }),
        }
    }
}

/// Whether a text pasted as `WELCOME` is written in MarkdownV2: it escapes a reserved character
/// (`\!`), or marks up a span (`*bold*`, `_italic_`, `__underline__`, `~strike~`, `||spoiler||`,
/// `` `code` ``, `[link](url)`). A plain greeting ("Hi {title}! ...") has none of these and stays
/// plain text, so its `!` and `.` need no escaping.
pub fn looks_like_markdown_v2(text: &str) -> bool {
    const RESERVED: &str = "_*[]()~`>#+-=|{}.!\\";
    let chars: Vec<char> = text.chars().collect();
    if chars
        .windows(2)
        .any(|w| w[0] == '\\' && RESERVED.contains(w[1]))
    {
        return true;
    }
    if let Some(open) = text.find("](")
        && text[..open].contains('[')
        && text[open..].contains(')')
    {
        return true;
    }
    ["||", "*", "_", "~", "`"].iter().any(|mark| {
        let mut pieces = text.split(mark);
        pieces.next();
        let inside: Vec<&str> = pieces.collect();
        // An opening and a closing mark around something that does not start with a space.
        inside.len() >= 2
            && inside
                .iter()
                .take(inside.len() - 1)
                .any(|span| !span.is_empty() && !span.starts_with(' ') && !span.ends_with(' '))
    })
}

/// Escapes the characters MarkdownV2 reserves, so a user's name cannot break the greeting.
pub fn escape_markdown_v2(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "_*[]()~`>#+-=|{}.!\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `BAN_ALLOWED`: which operators may `/ban` and `/unban`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BanAllowed {
    /// The group's creator and administrators with the right to ban (`can_restrict_members`).
    #[default]
    Admins,
    /// Every operator.
    Everyone,
}

/// `EXTENSIONS_ALLOWED`: who may use the extensions (`/mark`, `/unmark`, `/marks`, `/segment`,
/// and `/info` under `HIDE_INFO` `command`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ExtensionsAllowed {
    /// The group's creator and administrators (the default).
    #[default]
    Admins,
    /// These operators (user ids), whatever their role in the group.
    Users(HashSet<i64>),
}

/// The desk's configuration; see docs/configuration.md for every parameter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// The operators' forum supergroup.
    pub backend_group: ChatId,
    /// `INTERCEPT_EXTERNAL`: mirror the host bot's messages to a user into the user's topic.
    pub intercept_external: bool,
    /// `PRIVATE_KEYWORDS`: when set, a conversation activates only on a matching message.
    pub private_keywords: Option<KeywordSet>,
    /// How many of a user's unrelayed messages are posted as context at activation.
    pub context_messages: usize,
    /// `WELCOME`.
    pub welcome: Welcome,
    /// `AUTOCLOSE`: time in "support answered" before a topic closes itself; `None` never.
    pub autoclose: Option<Duration>,
    /// `AUTO_INFO`: post a user card when a topic is created.
    pub auto_info: bool,
    /// `REPLY_ONLY`: only operator replies to a user's message are sent.
    pub reply_only: bool,
    /// `IGNORE_CHATS`: chats never relayed.
    pub ignore_chats: HashSet<i64>,
    /// `WHITE_LIST`: when set, only these chats are accepted.
    pub white_list: Option<HashSet<i64>>,
    /// `RESTRICTED_KEYWORDS_FRONTEND`: user messages matching are not relayed.
    pub restricted_keywords_frontend: Option<KeywordSet>,
    /// `RESTRICTED_KEYWORDS_BACKEND`: operator messages matching are refused.
    pub restricted_keywords_backend: Option<KeywordSet>,
    /// `HIDE_INFO` `name` (or `true`): operators see a stable pseudonym instead of the user's name.
    pub hide_info: bool,
    /// `HIDE_INFO` `command`: `/info` and the user card are shown only to the group's admins
    /// (Hotline's `EXTENSIONS_ALLOWED`, which this version does not support yet).
    pub hide_info_command: bool,
    /// `LEAVE_CLOSED` `private` (or `true`): new topics start closed without a greeting, and new
    /// user messages do not reopen a closed topic.
    pub leave_closed: bool,
    /// `HAND_OVER_ONLY`: a user's messages never open (or reopen) a topic by themselves; only
    /// the host bot's hand-over does (its button, its command, `hand_over`). Until then they
    /// are kept as context.
    pub hand_over_only: bool,
    /// `SILENT_MODE`: users are not told when their message could not be delivered.
    pub silent_mode: bool,
    /// `BAN_ALLOWED`: who may `/ban` and `/unban`.
    pub ban_allowed: BanAllowed,
    /// `EXTENSIONS_ALLOWED`: who may use the extensions (see [`ExtensionsAllowed`]).
    pub extensions_allowed: ExtensionsAllowed,
    /// The mark put before the host bot's messages mirrored into a topic.
    pub host_label: String,
    /// How many times a passing transport failure is retried before the event is given up.
    pub transient_retries: u32,
    /// `WEBHOOKS`: the endpoints events are posted to (none by default).
    pub webhooks: Vec<WebhookTarget>,
    /// `WEBHOOKS_SECRET`: the key that signs what is posted to `WEBHOOKS`.
    pub webhooks_secret: Option<WebhookSecret>,
    /// `ARCHIVE`: record every message that crosses the desk (see [`crate::store::ArchiveRecord`]);
    /// without it, no message content is stored.
    pub archive: bool,
    /// `ARCHIVE_RETENTION_DAYS`: archived records older than this are removed; `None` keeps them.
    pub archive_retention: Option<Duration>,
}

impl Config {
    /// A builder with every default of DESIGN.md's parameter table.
    pub fn builder(backend_group: ChatId) -> ConfigBuilder {
        ConfigBuilder {
            config: Config::defaults(backend_group),
        }
    }

    fn defaults(backend_group: ChatId) -> Self {
        Config {
            backend_group,
            intercept_external: true,
            private_keywords: None,
            context_messages: 10,
            welcome: Welcome::default_text(),
            autoclose: Some(Duration::from_secs(48 * 3600)),
            auto_info: false,
            hand_over_only: false,
            reply_only: false,
            ignore_chats: HashSet::from([777_000]),
            white_list: None,
            restricted_keywords_frontend: None,
            restricted_keywords_backend: None,
            hide_info: false,
            hide_info_command: false,
            leave_closed: false,
            silent_mode: false,
            ban_allowed: BanAllowed::Admins,
            extensions_allowed: ExtensionsAllowed::Admins,
            host_label: "🤖 Bot:".into(),
            transient_retries: 5,
            webhooks: Vec::new(),
            webhooks_secret: None,
            archive: false,
            archive_retention: None,
        }
    }

    /// Whether messages from `user` are accepted at all (IGNORE_CHATS, WHITE_LIST).
    pub fn accepts(&self, user: UserId) -> bool {
        !self.ignore_chats.contains(&user.0)
            && self
                .white_list
                .as_ref()
                .is_none_or(|list| list.contains(&user.0))
    }
}

/// The names of the parameters [`ConfigBuilder::set`] understands.
pub const PARAMETERS: &[&str] = &[
    "INTERCEPT_EXTERNAL",
    "PRIVATE_KEYWORDS",
    "HAND_OVER_ONLY",
    "CONTEXT_MESSAGES",
    "WELCOME",
    "AUTOCLOSE",
    "AUTO_INFO",
    "REPLY_ONLY",
    "IGNORE_CHATS",
    "WHITE_LIST",
    "RESTRICTED_KEYWORDS_FRONTEND",
    "RESTRICTED_KEYWORDS_BACKEND",
    "HIDE_INFO",
    "LEAVE_CLOSED",
    "SILENT_MODE",
    "BAN_ALLOWED",
    "WEBHOOKS",
    "WEBHOOKS_SECRET",
    "ARCHIVE",
    "ARCHIVE_RETENTION_DAYS",
    "EXTENSIONS_ALLOWED",
];

/// Older names [`ConfigBuilder::set`] accepts for a parameter: `(old, current)`.
pub const ALIASES: &[(&str, &str)] = &[("AUTO_CLOSE", "AUTOCLOSE")];

/// Hotline parameters this version does not support yet, with what they are for on Hotline.
/// [`ConfigBuilder::set`] refuses them with an error that says so, rather than ignoring them.
pub const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "MONITOR_PRIVATE",
        "monitoring a connected account's private chats",
    ),
    (
        "MONITOR_GROUPS",
        "chat monitoring: relaying group chats the bot is in",
    ),
    (
        "MONITOR_CHANNELS",
        "chat monitoring: relaying channels the bot is in",
    ),
    (
        "GROUPS_KEYWORDS",
        "chat monitoring: keywords that activate a group chat's topic",
    ),
    (
        "CHANNELS_KEYWORDS",
        "chat monitoring: keywords that activate a channel's topic",
    ),
];

/// Builds a [`Config`]; see [`Config::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ConfigBuilder {
    config: Config,
}

fn invalid(parameter: &str, position: Option<usize>, message: impl Into<String>) -> Error {
    Error::Config {
        parameter: parameter.to_owned(),
        position,
        message: message.into(),
    }
}

/// Whether a "who may" parameter (`BAN_ALLOWED`, `EXTENSIONS_ALLOWED`) names the group's admins.
fn names_admins(value: &str) -> bool {
    let v = value.trim().trim_matches('"');
    ["admins", "admin", "administrators"]
        .iter()
        .any(|a| v.eq_ignore_ascii_case(a))
}

fn is_off(value: &str) -> bool {
    let v = value.trim();
    v.is_empty()
        || ["off", "none", "false", "no", "0"]
            .iter()
            .any(|o| v.eq_ignore_ascii_case(o))
}

fn parse_bool(parameter: &str, value: &str) -> Result<bool, Error> {
    let v = value.trim().trim_matches('"');
    if ["true", "on", "yes", "1"]
        .iter()
        .any(|t| v.eq_ignore_ascii_case(t))
    {
        Ok(true)
    } else if is_off(v) {
        Ok(false)
    } else {
        Err(invalid(
            parameter,
            None,
            format!("expected true or false, found `{v}`"),
        ))
    }
}

/// The items of a Hotline list of words: `name, command`, `["name","command"]`, lower-cased.
fn words(value: &str) -> Vec<String> {
    value
        .split([',', ';', '\n'])
        .map(|w| {
            w.trim()
                .trim_matches(|c| matches!(c, '[' | ']' | '"' | '\'' | ' '))
                .to_ascii_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// `HIDE_INFO`: `(name, command)`. `true` is `name`; `title` (group titles, for chat monitoring)
/// is accepted and has no effect yet.
fn parse_hide_info(value: &str) -> Result<(bool, bool), Error> {
    if is_off(value) {
        return Ok((false, false));
    }
    let (mut name, mut command) = (false, false);
    for word in words(value) {
        match word.as_str() {
            "true" | "on" | "yes" | "1" | "name" => name = true,
            "command" => command = true,
            "title" => {}
            other => {
                return Err(invalid(
                    "HIDE_INFO",
                    None,
                    format!("expected `name`, `command`, `title` or true/false, found `{other}`"),
                ));
            }
        }
    }
    Ok((name, command))
}

/// `LEAVE_CLOSED`: `private` (or `true`); `group` and `channel` are for chat monitoring.
fn parse_leave_closed(value: &str) -> Result<bool, Error> {
    if is_off(value) {
        return Ok(false);
    }
    let mut on = false;
    for word in words(value) {
        match word.as_str() {
            "true" | "on" | "yes" | "1" | "private" => on = true,
            "group" | "groups" | "channel" | "channels" => {
                return Err(invalid(
                    "LEAVE_CLOSED",
                    None,
                    format!(
                        "`{word}` is for chat monitoring (MONITOR_GROUPS, MONITOR_CHANNELS), \
                         which this version does not support yet; use `private`"
                    ),
                ));
            }
            other => {
                return Err(invalid(
                    "LEAVE_CLOSED",
                    None,
                    format!("expected `private` or true/false, found `{other}`"),
                ));
            }
        }
    }
    Ok(on)
}

fn parse_keywords(parameter: &str, value: &str) -> Result<Option<KeywordSet>, Error> {
    if is_off(value) {
        return Ok(None);
    }
    KeywordSet::parse(value)
        .map(Some)
        .map_err(|e| invalid(parameter, Some(e.position), e.message))
}

/// Parses `777000, 123` or `[777000, 123]` (also `"123"`, one per line): chat ids.
fn parse_ids(parameter: &str, value: &str) -> Result<HashSet<i64>, Error> {
    let mut ids = HashSet::new();
    let mut position = 0;
    for piece in value.split([',', '\n', ';']) {
        let start = position + piece.len() - piece.trim_start().len() + 1;
        position += piece.chars().count() + 1;
        let token = piece
            .trim()
            .trim_matches(|c| matches!(c, '[' | ']' | '"' | '\''))
            .trim();
        if token.is_empty() {
            continue;
        }
        let id = token.parse::<i64>().map_err(|_| {
            invalid(
                parameter,
                Some(start),
                format!("`{token}` is not a chat id (an integer)"),
            )
        })?;
        ids.insert(id);
    }
    Ok(ids)
}

impl ConfigBuilder {
    /// Sets a parameter from Hotline's text syntax, by its Hotline name (case-insensitive):
    /// booleans `true`/`false`/`on`/`off`, keyword lists, id lists, `OFF`.
    pub fn set(mut self, parameter: &str, value: &str) -> Result<Self, Error> {
        let mut name = parameter.trim().to_ascii_uppercase();
        if let Some((_, current)) = ALIASES.iter().find(|(old, _)| *old == name) {
            name = (*current).to_owned();
        }
        let c = &mut self.config;
        match name.as_str() {
            "INTERCEPT_EXTERNAL" => c.intercept_external = parse_bool(&name, value)?,
            "PRIVATE_KEYWORDS" => c.private_keywords = parse_keywords(&name, value)?,
            "RESTRICTED_KEYWORDS_FRONTEND" => {
                c.restricted_keywords_frontend = parse_keywords(&name, value)?;
            }
            "RESTRICTED_KEYWORDS_BACKEND" => {
                c.restricted_keywords_backend = parse_keywords(&name, value)?;
            }
            "CONTEXT_MESSAGES" => {
                c.context_messages = value.trim().parse().map_err(|_| {
                    invalid(
                        &name,
                        None,
                        format!("expected a count, found `{}`", value.trim()),
                    )
                })?;
            }
            "WELCOME" => {
                c.welcome = if value.trim().eq_ignore_ascii_case("off") {
                    Welcome::Off
                } else {
                    Welcome::Text {
                        text: value.to_owned(),
                        markdown: looks_like_markdown_v2(value),
                    }
                };
            }
            "AUTOCLOSE" => {
                c.autoclose = if is_off(value) {
                    None
                } else {
                    let hours: f64 = value.trim().parse().map_err(|_| {
                        invalid(
                            &name,
                            None,
                            format!("expected hours, found `{}`", value.trim()),
                        )
                    })?;
                    if !hours.is_finite() || hours < 0.0 {
                        return Err(invalid(&name, None, "hours must be zero or more"));
                    }
                    Some(Duration::from_secs_f64(hours * 3600.0))
                };
            }
            "AUTO_INFO" => c.auto_info = parse_bool(&name, value)?,
            "HAND_OVER_ONLY" => c.hand_over_only = parse_bool(&name, value)?,
            "REPLY_ONLY" => c.reply_only = parse_bool(&name, value)?,
            "IGNORE_CHATS" => {
                c.ignore_chats = parse_ids(&name, value)?;
                c.ignore_chats.insert(777_000);
            }
            "WHITE_LIST" => {
                c.white_list = if is_off(value) {
                    None
                } else {
                    Some(parse_ids(&name, value)?)
                };
            }
            "HIDE_INFO" => (c.hide_info, c.hide_info_command) = parse_hide_info(value)?,
            "LEAVE_CLOSED" => c.leave_closed = parse_leave_closed(value)?,
            "SILENT_MODE" => c.silent_mode = parse_bool(&name, value)?,
            "ARCHIVE" => c.archive = parse_bool(&name, value)?,
            "EXTENSIONS_ALLOWED" => {
                c.extensions_allowed =
                    if names_admins(value) || value.trim().trim_matches('"').is_empty() {
                        ExtensionsAllowed::Admins
                    } else {
                        ExtensionsAllowed::Users(parse_ids(&name, value)?)
                    };
            }
            "ARCHIVE_RETENTION_DAYS" => {
                c.archive_retention = if is_off(value) {
                    None
                } else {
                    let days: u32 = value.trim().parse().map_err(|_| {
                        invalid(
                            &name,
                            None,
                            format!("expected a whole number of days, found `{}`", value.trim()),
                        )
                    })?;
                    Some(Duration::from_secs(u64::from(days) * 86_400))
                };
            }
            "BAN_ALLOWED" => {
                let v = value.trim().trim_matches('"');
                c.ban_allowed = if names_admins(value) {
                    BanAllowed::Admins
                } else if ["everyone", "all"]
                    .iter()
                    .any(|a| v.eq_ignore_ascii_case(a))
                {
                    BanAllowed::Everyone
                } else {
                    return Err(invalid(
                        &name,
                        None,
                        format!("expected `admins` or `everyone`, found `{v}`"),
                    ));
                };
            }
            "WEBHOOKS" => c.webhooks = webhooks::parse(value)?,
            "WEBHOOKS_SECRET" => {
                c.webhooks_secret = Some(value.trim())
                    .filter(|v| !v.is_empty())
                    .map(WebhookSecret::new);
            }
            _ if UNSUPPORTED.iter().any(|(n, _)| *n == name) => {
                let (_, what) = UNSUPPORTED.iter().find(|(n, _)| *n == name).unwrap();
                return Err(invalid(
                    &name,
                    None,
                    format!("not supported yet by Hotline for Rust ({what})"),
                ));
            }
            _ => {
                return Err(invalid(
                    parameter,
                    None,
                    format!("unknown parameter; known ones: {}", PARAMETERS.join(", ")),
                ));
            }
        }
        Ok(self)
    }

    /// Sets every `(name, value)` pair, stopping at the first bad one.
    pub fn set_all<'a>(
        mut self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, Error> {
        for (name, value) in pairs {
            self = self.set(name, value)?;
        }
        Ok(self)
    }

    /// `INTERCEPT_EXTERNAL` (default true).
    pub fn intercept_external(mut self, on: bool) -> Self {
        self.config.intercept_external = on;
        self
    }

    /// `PRIVATE_KEYWORDS` (default off: every message reaches the desk).
    pub fn private_keywords(mut self, keywords: Option<KeywordSet>) -> Self {
        self.config.private_keywords = keywords;
        self
    }

    /// How many unrelayed messages are posted as context at activation (default 10, at most 100).
    pub fn context_messages(mut self, count: usize) -> Self {
        self.config.context_messages = count;
        self
    }

    /// `WELCOME` (default a short English greeting).
    pub fn welcome(mut self, welcome: Welcome) -> Self {
        self.config.welcome = welcome;
        self
    }

    /// `AUTOCLOSE` (default 48 hours; `None` never).
    pub fn autoclose(mut self, after: Option<Duration>) -> Self {
        self.config.autoclose = after;
        self
    }

    /// `HAND_OVER_ONLY` (default false): topics open only on the host bot's hand-over.
    pub fn hand_over_only(mut self, on: bool) -> Self {
        self.config.hand_over_only = on;
        self
    }

    /// `WEBHOOKS` (default none) and `WEBHOOKS_SECRET`, which signs them.
    pub fn webhooks(mut self, targets: Vec<WebhookTarget>, secret: Option<WebhookSecret>) -> Self {
        self.config.webhooks = targets;
        self.config.webhooks_secret = secret;
        self
    }

    /// `AUTO_INFO` (default false).
    pub fn auto_info(mut self, on: bool) -> Self {
        self.config.auto_info = on;
        self
    }

    /// `REPLY_ONLY` (default false).
    pub fn reply_only(mut self, on: bool) -> Self {
        self.config.reply_only = on;
        self
    }

    /// `IGNORE_CHATS` (777000, Telegram's service account, is always kept).
    pub fn ignore_chats(mut self, chats: impl IntoIterator<Item = i64>) -> Self {
        self.config.ignore_chats = chats.into_iter().chain([777_000]).collect();
        self
    }

    /// `WHITE_LIST` (default none: everyone).
    pub fn white_list(mut self, chats: Option<HashSet<i64>>) -> Self {
        self.config.white_list = chats;
        self
    }

    /// `RESTRICTED_KEYWORDS_FRONTEND`.
    pub fn restricted_keywords_frontend(mut self, keywords: Option<KeywordSet>) -> Self {
        self.config.restricted_keywords_frontend = keywords;
        self
    }

    /// `RESTRICTED_KEYWORDS_BACKEND`.
    pub fn restricted_keywords_backend(mut self, keywords: Option<KeywordSet>) -> Self {
        self.config.restricted_keywords_backend = keywords;
        self
    }

    /// `HIDE_INFO` `name` (default false): pseudonymous topic titles, names hidden in the card.
    pub fn hide_info(mut self, on: bool) -> Self {
        self.config.hide_info = on;
        self
    }

    /// `HIDE_INFO` `command` (default false): `/info` and the card only for the group's admins.
    pub fn hide_info_command(mut self, on: bool) -> Self {
        self.config.hide_info_command = on;
        self
    }

    /// `LEAVE_CLOSED` `private` (default false): new topics start closed, without a greeting,
    /// and new messages do not reopen a closed topic.
    pub fn leave_closed(mut self, on: bool) -> Self {
        self.config.leave_closed = on;
        self
    }

    /// `ARCHIVE` (default false): record the messages that cross (see
    /// [`crate::store::ArchiveRecord`]), kept for `retention` (`None`: until removed by hand).
    pub fn archive(mut self, on: bool, retention: Option<Duration>) -> Self {
        self.config.archive = on;
        self.config.archive_retention = retention;
        self
    }

    /// `SILENT_MODE` (default false).
    pub fn silent_mode(mut self, on: bool) -> Self {
        self.config.silent_mode = on;
        self
    }

    /// `EXTENSIONS_ALLOWED` (default the group's admins).
    pub fn extensions_allowed(mut self, who: ExtensionsAllowed) -> Self {
        self.config.extensions_allowed = who;
        self
    }

    /// `BAN_ALLOWED` (default admins with the right to ban, and the creator).
    pub fn ban_allowed(mut self, who: BanAllowed) -> Self {
        self.config.ban_allowed = who;
        self
    }

    /// The mark before mirrored host-bot messages (default `🤖 Bot:`).
    pub fn host_label(mut self, label: impl Into<String>) -> Self {
        self.config.host_label = label.into();
        self
    }

    /// Retries of a passing transport failure before an event is given up (default 5).
    pub fn transient_retries(mut self, retries: u32) -> Self {
        self.config.transient_retries = retries;
        self
    }

    /// Validates and returns the configuration.
    pub fn build(self) -> Result<Config, Error> {
        let c = self.config;
        if !c.webhooks.is_empty() && c.webhooks_secret.is_none() {
            return Err(invalid(
                "WEBHOOKS_SECRET",
                None,
                "not set: WEBHOOKS needs a secret to sign the events it posts",
            ));
        }
        if c.backend_group.0 >= 0 {
            return Err(invalid(
                "backend_group",
                None,
                format!(
                    "{} is not a group id: a forum supergroup's id is negative, like -1001234567890",
                    c.backend_group
                ),
            ));
        }
        if c.hand_over_only && c.private_keywords.is_some() {
            return Err(invalid(
                "HAND_OVER_ONLY",
                None,
                "cannot be combined with PRIVATE_KEYWORDS: with HAND_OVER_ONLY no user message \
                 opens a topic; to open topics on keywords and on hand-overs, set PRIVATE_KEYWORDS alone"
                    .to_owned(),
            ));
        }
        if c.context_messages > 100 {
            return Err(invalid(
                "CONTEXT_MESSAGES",
                None,
                format!(
                    "at most 100 (one copyMessages call), found {}",
                    c.context_messages
                ),
            ));
        }
        if let Welcome::Text { text, .. } | Welcome::Rich(Greeting { text, .. }) = &c.welcome {
            if text.trim().is_empty() {
                return Err(invalid("WELCOME", None, "empty; use OFF for no greeting"));
            }
            if text.chars().count() > 4096 {
                return Err(invalid(
                    "WELCOME",
                    None,
                    "longer than Telegram's 4096 characters",
                ));
            }
        }
        if c.host_label.chars().count() > 64 {
            return Err(invalid("host_label", None, "at most 64 characters"));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ConfigBuilder {
        Config::builder(ChatId(-100123))
    }

    #[test]
    fn extensions_are_for_admins_unless_users_are_listed() {
        let c = builder().build().unwrap();
        assert_eq!(c.extensions_allowed, ExtensionsAllowed::Admins);
        let c = builder()
            .set("EXTENSIONS_ALLOWED", "2001, 2002")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(
            c.extensions_allowed,
            ExtensionsAllowed::Users([2001, 2002].into_iter().collect())
        );
        let e = builder()
            .set("EXTENSIONS_ALLOWED", "2001, olga")
            .unwrap_err();
        assert!(e.to_string().starts_with("EXTENSIONS_ALLOWED"), "{e}");
    }

    #[test]
    fn the_archive_is_off_unless_asked_and_its_retention_is_in_days() {
        let c = builder().build().unwrap();
        assert!(!c.archive, "no message content is stored by default");
        assert_eq!(c.archive_retention, None);
        let c = builder()
            .set("ARCHIVE", "true")
            .unwrap()
            .set("ARCHIVE_RETENTION_DAYS", "30")
            .unwrap()
            .build()
            .unwrap();
        assert!(c.archive);
        assert_eq!(c.archive_retention, Some(Duration::from_secs(30 * 86_400)));
        let c = builder().set("ARCHIVE_RETENTION_DAYS", "off").unwrap();
        assert_eq!(c.build().unwrap().archive_retention, None);
        let e = builder().set("ARCHIVE_RETENTION_DAYS", "2.5").unwrap_err();
        assert!(e.to_string().starts_with("ARCHIVE_RETENTION_DAYS:"), "{e}");
        let e = builder().set("ARCHIVE", "maybe").unwrap_err();
        assert!(e.to_string().starts_with("ARCHIVE:"), "{e}");
    }

    #[test]
    fn defaults_follow_the_parameter_table() {
        let c = builder().build().unwrap();
        assert!(c.intercept_external);
        assert_eq!(c.private_keywords, None);
        assert_eq!(c.autoclose, Some(Duration::from_secs(48 * 3600)));
        assert!(!c.auto_info && !c.reply_only && !c.hide_info && !c.leave_closed && !c.silent_mode);
        assert!(c.ignore_chats.contains(&777_000));
        assert_eq!(c.white_list, None);
        assert_eq!(c.context_messages, 10);
        assert!(matches!(c.welcome, Welcome::Text { .. }));
    }

    #[test]
    fn hotline_syntax_is_parsed() {
        let c = builder()
            .set_all([
                (
                    "PRIVATE_KEYWORDS",
                    r#""operator","help",["need","human"],["bill","~spam"]"#,
                ),
                ("intercept_external", "false"),
                ("WELCOME", "OFF"),
                ("AUTOCLOSE", "0.5"),
                ("IGNORE_CHATS", "[1, 2,3]"),
                ("WHITE_LIST", "10\n20"),
                ("REPLY_ONLY", "on"),
                ("CONTEXT_MESSAGES", "3"),
            ])
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(c.private_keywords.as_ref().map(KeywordSet::len), Some(4));
        assert!(!c.intercept_external);
        assert_eq!(c.welcome, Welcome::Off);
        assert_eq!(c.autoclose, Some(Duration::from_secs(1800)));
        assert_eq!(c.ignore_chats, HashSet::from([1, 2, 3, 777_000]));
        assert_eq!(c.white_list, Some(HashSet::from([10, 20])));
        assert!(c.reply_only);
        assert_eq!(c.context_messages, 3);
        assert!(c.accepts(UserId(10)) && !c.accepts(UserId(1)) && !c.accepts(UserId(11)));
        let off = builder()
            .set("PRIVATE_KEYWORDS", "OFF")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(off.private_keywords, None);
    }

    #[test]
    fn bad_values_name_parameter_and_position() {
        let e = builder()
            .set("PRIVATE_KEYWORDS", r#""a",["b""#)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "PRIVATE_KEYWORDS: at character 5: this `[` is never closed"
        );
        let e = builder().set("IGNORE_CHATS", "1, x2").unwrap_err();
        assert_eq!(
            e.to_string(),
            "IGNORE_CHATS: at character 4: `x2` is not a chat id (an integer)"
        );
        let e = builder().set("REPLY_ONLY", "maybe").unwrap_err();
        assert_eq!(
            e.to_string(),
            "REPLY_ONLY: expected true or false, found `maybe`"
        );
        let e = builder().set("NOPE", "1").unwrap_err();
        assert!(e.to_string().starts_with("NOPE: unknown parameter"), "{e}");
        let e = builder().set("AUTOCLOSE", "-1").unwrap_err();
        assert!(e.to_string().starts_with("AUTOCLOSE:"), "{e}");
        let e = Config::builder(ChatId(5)).build().unwrap_err();
        assert!(e.to_string().starts_with("backend_group:"), "{e}");
        let e = builder().context_messages(101).build().unwrap_err();
        assert!(e.to_string().starts_with("CONTEXT_MESSAGES:"), "{e}");
    }

    #[test]
    fn hotline_values_of_hide_info_leave_closed_and_auto_close() {
        let c = builder()
            .set_all([
                ("HIDE_INFO", r#""name","command""#),
                ("LEAVE_CLOSED", "private"),
                ("AUTO_CLOSE", "2"),
            ])
            .unwrap()
            .build()
            .unwrap();
        assert!(c.hide_info && c.hide_info_command && c.leave_closed);
        assert_eq!(c.autoclose, Some(Duration::from_secs(7200)));
        let c = builder().set("HIDE_INFO", "true").unwrap().build().unwrap();
        assert!(
            c.hide_info && !c.hide_info_command,
            "true keeps today's meaning"
        );
        let c = builder()
            .set("HIDE_INFO", "command")
            .unwrap()
            .build()
            .unwrap();
        assert!(!c.hide_info && c.hide_info_command);
        let c = builder()
            .set("HIDE_INFO", "title")
            .unwrap()
            .build()
            .unwrap();
        assert!(!c.hide_info && !c.hide_info_command, "title: no effect yet");
        let c = builder().set("HIDE_INFO", "OFF").unwrap().build().unwrap();
        assert!(!c.hide_info && !c.hide_info_command);
        let c = builder()
            .set("LEAVE_CLOSED", "true")
            .unwrap()
            .build()
            .unwrap();
        assert!(c.leave_closed);
        let c = builder().set("auto_close", "off").unwrap().build().unwrap();
        assert_eq!(c.autoclose, None);
        let e = builder().set("HIDE_INFO", "nickname").unwrap_err();
        assert!(
            e.to_string().starts_with("HIDE_INFO: expected `name`"),
            "{e}"
        );
        for monitoring in ["group", "channel", "private, group"] {
            let e = builder().set("LEAVE_CLOSED", monitoring).unwrap_err();
            let text = e.to_string();
            assert!(
                text.starts_with("LEAVE_CLOSED:") && text.contains("not support"),
                "{text}"
            );
        }
        let e = builder().set("AUTO_CLOSE", "x").unwrap_err();
        assert!(e.to_string().starts_with("AUTOCLOSE:"), "{e}");
    }

    #[test]
    fn ban_allowed_is_admins_by_default_or_everyone() {
        assert_eq!(builder().build().unwrap().ban_allowed, BanAllowed::Admins);
        let c = builder()
            .set("BAN_ALLOWED", "everyone")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(c.ban_allowed, BanAllowed::Everyone);
        let c = builder()
            .set("ban_allowed", "Admins")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(c.ban_allowed, BanAllowed::Admins);
        let e = builder().set("BAN_ALLOWED", "mods").unwrap_err();
        assert_eq!(
            e.to_string(),
            "BAN_ALLOWED: expected `admins` or `everyone`, found `mods`"
        );
    }

    #[test]
    fn unsupported_parameters_are_refused_saying_so() {
        for (name, _) in UNSUPPORTED {
            let e = builder().set(name, "true").unwrap_err();
            let text = e.to_string();
            assert!(
                text.starts_with(&format!("{name}: not supported yet")),
                "{text}"
            );
        }
    }

    #[test]
    fn a_welcome_pasted_in_markdown_v2_is_markdown() {
        for markdown in [
            "Hi *{title}*\\! An operator will answer here\\.",
            "Hello _{title}_, see [our FAQ](https://example.com/faq)",
            "Hi {title}\\!",
            "Use `/help`",
            "||secret|| {title}",
        ] {
            let c = builder().set("WELCOME", markdown).unwrap().build().unwrap();
            assert!(c.welcome.is_markdown(), "{markdown}");
        }
        for plain in [
            "Hello, {title}! Your message has reached our support team.",
            "Hi {title}. Prices: 5 * 3 = 15",
            "snake_case is fine",
        ] {
            let c = builder().set("WELCOME", plain).unwrap().build().unwrap();
            assert!(!c.welcome.is_markdown(), "{plain}");
        }
        let w = Welcome::Text {
            text: "Hi *{title}*\\!".into(),
            markdown: true,
        };
        assert_eq!(
            w.render_plain("Ann_Lee"),
            Some(Greeting::text("Hi *Ann_Lee*\\!", false))
        );
    }

    #[test]
    fn welcome_fills_in_the_title_and_escapes_markdown() {
        let w = Welcome::Text {
            text: "Hi *{title}*".into(),
            markdown: true,
        };
        assert_eq!(
            w.render("Ann_Lee."),
            Some(Greeting::text("Hi *Ann\\_Lee\\.*", true))
        );
        assert_eq!(Welcome::Off.render("x"), None);
    }
}
