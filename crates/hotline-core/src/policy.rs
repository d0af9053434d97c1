//! The desk's decisions, as plain functions of their inputs: no I/O, no clock, no runtime.
//!
//! The driver ([`crate::Desk`]) loads state, asks these what to do, performs it and records it.
//! Keeping the decisions here means every rule of the desk is unit-tested without a transport.

use crate::config::Config;
use crate::ids::Timestamp;
use crate::message::{Command, IncomingMessage, TextEntity};
use crate::store::{Conversation, Status};

/// What to do with a user's message (or album).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRoute {
    /// The conversation is open: copy into the topic.
    Relay,
    /// No topic yet and the message activates the desk: create one, greet, relay.
    Open,
    /// The topic is closed and the message reopens it: reopen, greet, relay.
    Reopen,
    /// `LEAVE_CLOSED`: copy into the closed topic without reopening it.
    RelayClosed,
    /// Not active (`PRIVATE_KEYWORDS` did not match): remember as context, do nothing visible.
    Remember,
}

/// Whether any of the messages matches `PRIVATE_KEYWORDS` (always true when they are off).
pub fn activates(config: &Config, messages: &[IncomingMessage]) -> bool {
    if config.hand_over_only {
        return false;
    }
    match &config.private_keywords {
        None => true,
        Some(keywords) => messages
            .iter()
            .any(|m| m.text.as_deref().is_some_and(|t| keywords.matches(t))),
    }
}

/// Routes a user's message given their conversation. `forced` is a hand-over by the host bot,
/// which activates like a keyword.
pub fn route_user_message(
    config: &Config,
    conversation: &Conversation,
    messages: &[IncomingMessage],
    forced: bool,
) -> UserRoute {
    if conversation.is_open() {
        return UserRoute::Relay;
    }
    let activating = forced || activates(config, messages);
    match (conversation.topic, activating) {
        (None, true) => UserRoute::Open,
        (Some(_), true) if config.leave_closed && !forced => UserRoute::RelayClosed,
        (Some(_), true) => UserRoute::Reopen,
        (_, false) => UserRoute::Remember,
    }
}

/// Whether a user message is withheld by `RESTRICTED_KEYWORDS_FRONTEND`.
pub fn restricted_for_desk(config: &Config, messages: &[IncomingMessage]) -> bool {
    config
        .restricted_keywords_frontend
        .as_ref()
        .is_some_and(|k| {
            messages
                .iter()
                .any(|m| m.text.as_deref().is_some_and(|t| k.matches(t)))
        })
}

/// Keeps the latest `limit` unrelayed message ids as context.
pub fn remember(
    pending: &mut Vec<crate::ids::MessageId>,
    messages: &[IncomingMessage],
    limit: usize,
) {
    remember_ids(pending, messages.iter().map(|m| m.id), limit);
}

/// Keeps the host bot's messages (by id) as context beside the user's, counted in the same
/// `limit`: stored negated (see [`crate::Conversation::pending`]).
pub fn remember_host(
    pending: &mut Vec<crate::ids::MessageId>,
    messages: &[crate::ids::MessageId],
    limit: usize,
) {
    remember_ids(
        pending,
        messages.iter().map(|m| crate::ids::MessageId(-m.0.abs())),
        limit,
    );
}

/// The context in the order it was written, as runs of one author each: `(from the host bot,
/// the messages' ids)`, the host's ids restored.
pub fn context_runs(pending: &[crate::ids::MessageId]) -> Vec<(bool, Vec<crate::ids::MessageId>)> {
    let mut sorted = pending.to_vec();
    sorted.sort_by_key(|m| m.0.abs());
    let mut runs: Vec<(bool, Vec<crate::ids::MessageId>)> = Vec::new();
    for id in sorted {
        let host = id.0 < 0;
        let id = crate::ids::MessageId(id.0.abs());
        match runs.last_mut() {
            Some((run_host, ids)) if *run_host == host => ids.push(id),
            _ => runs.push((host, vec![id])),
        }
    }
    runs
}

fn remember_ids(
    pending: &mut Vec<crate::ids::MessageId>,
    ids: impl Iterator<Item = crate::ids::MessageId>,
    limit: usize,
) {
    pending.extend(ids);
    if pending.len() > limit {
        let excess = pending.len() - limit;
        pending.drain(..excess);
    }
}

/// What to do with a message an operator wrote in a user's topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorRoute {
    /// Copy it to the user.
    Relay,
    /// Keep it in the topic (`/ ` comment, or `REPLY_ONLY` and not a reply).
    InternalComment,
    /// Refuse it (`RESTRICTED_KEYWORDS_BACKEND`), telling the operators why.
    Refuse,
    /// An operator command.
    Command(OperatorCommand),
}

/// Commands operators give inside a user's topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OperatorCommand {
    /// `/close`: close the topic.
    Close,
    /// `/hold`: keep the topic 🟪 (waiting for support).
    Hold,
    /// `/wait`: set 🟨 (waiting for the user).
    Wait,
    /// `/ban`: stop relaying the user's messages.
    Ban,
    /// `/unban`: undo `/ban`.
    Unban,
    /// `/info`: post the user card.
    Info,
    /// `/help`: list the commands.
    Help,
    /// `/mark TAG`: put tags on the user (`EXTENSIONS_ALLOWED`).
    Mark,
    /// `/unmark TAG`: take tags off the user.
    Unmark,
    /// `/marks`: the tags in use, with their users' counts.
    Marks,
    /// `/segment QUERY`: how many users a segment holds (see [`crate::segment`]).
    Segment,
    /// `/send`: mailings, written in the General topic (in a topic the desk says so).
    Send,
    /// `/export [segment]`: the users of a segment as CSV and JSON lines files.
    Export,
    /// Any other command: not sent to the user.
    Unknown,
}

impl OperatorCommand {
    fn from_command(command: &Command<'_>) -> Self {
        const TABLE: &[(&str, OperatorCommand)] = &[
            ("close", OperatorCommand::Close),
            ("hold", OperatorCommand::Hold),
            ("wait", OperatorCommand::Wait),
            ("ban", OperatorCommand::Ban),
            ("unban", OperatorCommand::Unban),
            ("info", OperatorCommand::Info),
            ("help", OperatorCommand::Help),
            ("mark", OperatorCommand::Mark),
            ("unmark", OperatorCommand::Unmark),
            ("marks", OperatorCommand::Marks),
            ("segment", OperatorCommand::Segment),
            ("send", OperatorCommand::Send),
            ("export", OperatorCommand::Export),
        ];
        TABLE
            .iter()
            .find(|(name, _)| command.is(name))
            .map_or(OperatorCommand::Unknown, |(_, c)| *c)
    }
}

/// The operator commands' short help.
pub const OPERATOR_HELP: &str = "Commands in a user's topic:\n\
/close: close the topic\n\
/hold: mark as waiting for support (🟪)\n\
/wait: mark as waiting for the user (🟨)\n\
/ban, /unban: stop or resume relaying the user's messages\n\
/info: the user card\n\
/mark TAG, /unmark TAG: tag the user (vip, de, ...); /marks: the tags in use\n\
/segment #vip lang:de, start:promo: how many users a segment holds\n\
/export [segment]: the users (all, or a segment's) as CSV and JSON lines files\n\
A message starting with \"/ \" is an internal comment and is never sent to the user.\n\
In the General topic: reply /send [segment] to the first message of a mailing (it and what \
you wrote after it go as a chain); /send status, /send pause, /send resume, /send cancel.";

/// Routes an operator's message. `replies_to_user` tells whether it replies to a relayed message of
/// the user (for `REPLY_ONLY`).
pub fn route_operator_message(
    config: &Config,
    message: &IncomingMessage,
    replies_to_user: bool,
) -> OperatorRoute {
    let text = message.text.as_deref().unwrap_or_default();
    if is_internal_comment(text) {
        return OperatorRoute::InternalComment;
    }
    if let Some(command) = Command::parse(text) {
        return OperatorRoute::Command(OperatorCommand::from_command(&command));
    }
    if config
        .restricted_keywords_backend
        .as_ref()
        .is_some_and(|k| k.matches(text))
    {
        return OperatorRoute::Refuse;
    }
    if config.reply_only && !replies_to_user {
        return OperatorRoute::InternalComment;
    }
    OperatorRoute::Relay
}

/// `/ ` (slash, space) or a lone `/` starts an internal comment.
pub fn is_internal_comment(text: &str) -> bool {
    text == "/" || text.starts_with("/ ") || text.starts_with("/\n")
}

/// The name a user's topic carries: the status square, then the user's name (or a pseudonym under
/// `HIDE_INFO`), cut to Telegram's 128 characters.
pub fn topic_name(config: &Config, conversation: &Conversation, status: Status) -> String {
    let name = shown_name(config, conversation);
    let full = format!("{} {}", status.square(), name);
    full.chars().take(128).collect()
}

/// The user's name as operators see it: their name, or a stable pseudonym under `HIDE_INFO`.
pub fn shown_name(config: &Config, conversation: &Conversation) -> String {
    if config.hide_info {
        pseudonym(conversation.user.0)
    } else {
        conversation.profile.display_name()
    }
}

/// A stable pseudonym for a user id: the same user always gets the same name, and the name does
/// not reveal the id.
pub fn pseudonym(user: i64) -> String {
    // FNV-1a: stable across processes and versions (std's hasher is seeded per process).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in user.to_le_bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("Client #{:06X}", hash & 0xFF_FFFF)
}

/// The user card (`AUTO_INFO`, `/info`).
pub fn user_card(config: &Config, conversation: &Conversation) -> String {
    let profile = &conversation.profile;
    let mut card = format!("👤 {}\n", shown_name(config, conversation));
    if !config.hide_info {
        if let Some(username) = &profile.username {
            card.push_str(&format!("Username: @{username}\n"));
        }
        card.push_str(&format!("ID: {}\n", profile.id));
    }
    if let Some(language) = &profile.language_code {
        card.push_str(&format!("Language: {language}\n"));
    }
    if let Some(payload) = &conversation.start_payload {
        card.push_str(&format!("Start payload: {payload}\n"));
    }
    if conversation.banned {
        card.push_str("Banned: yes\n");
    }
    if conversation.blocked {
        card.push_str("Blocked the bot: yes\n");
    }
    card.trim_end().to_owned()
}

/// The text of a host-bot message mirrored into a topic: the mark, then the original.
pub fn mirror_text(config: &Config, text: Option<&str>) -> String {
    match text {
        Some(text) if !text.is_empty() => format!("{}\n{}", config.host_label, text),
        _ => config.host_label.clone(),
    }
}

/// The formatting of a host-bot message's text, moved behind the mark [`mirror_text`] puts
/// before it, so the mirror is formatted as the original.
pub fn mirror_entities(config: &Config, entities: &[TextEntity]) -> Vec<TextEntity> {
    // The mark and the line break after it, in UTF-16 code units as Telegram counts.
    let by = config.host_label.encode_utf16().count() + 1;
    entities.iter().map(|entity| entity.shifted(by)).collect()
}

/// Whether an open conversation in "support answered" is due to close at `now`.
pub fn autoclose_due(config: &Config, conversation: &Conversation, now: Timestamp) -> bool {
    let Some(after) = config.autoclose else {
        return false;
    };
    conversation.status == Status::SupportAnswered
        && conversation.topic.is_some()
        && conversation
            .status_since
            .plus_secs(i64::try_from(after.as_secs()).unwrap_or(i64::MAX))
            <= now
}

#[cfg(test)]
mod context_tests {
    use super::*;
    use crate::ids::MessageId;

    #[test]
    fn the_context_is_the_dialogue_in_order_in_runs_of_one_author() {
        let mut pending = vec![MessageId(3)];
        remember_host(&mut pending, &[MessageId(4), MessageId(5)], 10);
        remember_ids(&mut pending, [MessageId(6)].into_iter(), 10);
        remember_host(&mut pending, &[MessageId(7)], 10);
        assert_eq!(
            context_runs(&pending),
            [
                (false, vec![MessageId(3)]),
                (true, vec![MessageId(4), MessageId(5)]),
                (false, vec![MessageId(6)]),
                (true, vec![MessageId(7)]),
            ]
        );
        // Both count in the one limit: the oldest go first.
        remember_host(&mut pending, &[MessageId(8)], 3);
        assert_eq!(
            context_runs(&pending),
            [
                (false, vec![MessageId(6)]),
                (true, vec![MessageId(7), MessageId(8)])
            ]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeywordSet;
    use crate::ids::{ChatId, MessageId, TopicId};
    use crate::message::UserProfile;
    use std::time::Duration;

    fn config() -> Config {
        Config::builder(ChatId(-100)).build().unwrap()
    }

    #[test]
    fn mirrored_formatting_moves_behind_the_mark_in_utf16_units() {
        let config = config();
        let bold = TextEntity {
            offset: 2,
            length: 3,
            detail: r#"{"type":"bold"}"#.into(),
        };
        let mirrored = mirror_entities(&config, std::slice::from_ref(&bold));
        let text = mirror_text(&config, Some("a bold one"));
        // The mark is "🤖 Bot:" (the robot is two UTF-16 units) and a line break.
        let before: Vec<u16> = text.encode_utf16().take(mirrored[0].offset).collect();
        assert_eq!(String::from_utf16(&before).unwrap(), "🤖 Bot:\na ");
        assert_eq!((mirrored[0].length, &mirrored[0].detail), (3, &bold.detail));
    }

    fn keyworded() -> Config {
        Config::builder(ChatId(-100))
            .private_keywords(Some(KeywordSet::parse(r#""operator","/help""#).unwrap()))
            .build()
            .unwrap()
    }

    fn conversation(topic: Option<i64>, status: Status) -> Conversation {
        let mut c = Conversation::new(UserProfile::new(1, "Ann"), Timestamp(0));
        c.topic = topic.map(TopicId);
        c.status = status;
        c
    }

    fn msg(text: &str) -> Vec<IncomingMessage> {
        vec![IncomingMessage::text(1, text)]
    }

    #[test]
    fn without_keywords_every_message_opens_or_reopens() {
        let c = config();
        assert_eq!(
            route_user_message(&c, &conversation(None, Status::Inactive), &msg("hi"), false),
            UserRoute::Open
        );
        assert_eq!(
            route_user_message(
                &c,
                &conversation(Some(5), Status::Closed),
                &msg("hi"),
                false
            ),
            UserRoute::Reopen
        );
        assert_eq!(
            route_user_message(
                &c,
                &conversation(Some(5), Status::SupportAnswered),
                &msg("hi"),
                false
            ),
            UserRoute::Relay
        );
    }

    #[test]
    fn with_keywords_only_a_match_or_a_hand_over_activates() {
        let c = keyworded();
        let new = conversation(None, Status::Inactive);
        assert_eq!(
            route_user_message(&c, &new, &msg("hello"), false),
            UserRoute::Remember
        );
        assert_eq!(
            route_user_message(&c, &new, &msg("Operator please"), false),
            UserRoute::Open
        );
        assert_eq!(
            route_user_message(&c, &new, &msg("/help@SomeBot"), false),
            UserRoute::Open
        );
        assert_eq!(
            route_user_message(&c, &new, &msg("hello"), true),
            UserRoute::Open
        );
        let closed = conversation(Some(5), Status::Closed);
        assert_eq!(
            route_user_message(&c, &closed, &msg("thanks"), false),
            UserRoute::Remember
        );
        assert_eq!(
            route_user_message(&c, &closed, &msg("operator"), false),
            UserRoute::Reopen
        );
        let open = conversation(Some(5), Status::UserAnswered);
        assert_eq!(
            route_user_message(&c, &open, &msg("no keyword"), false),
            UserRoute::Relay
        );
    }

    #[test]
    fn leave_closed_relays_without_reopening() {
        let c = Config::builder(ChatId(-100))
            .leave_closed(true)
            .build()
            .unwrap();
        let closed = conversation(Some(5), Status::Closed);
        assert_eq!(
            route_user_message(&c, &closed, &msg("hi"), false),
            UserRoute::RelayClosed
        );
        assert_eq!(
            route_user_message(&c, &closed, &msg("hi"), true),
            UserRoute::Reopen
        );
    }

    #[test]
    fn remember_keeps_the_latest() {
        let mut pending = vec![MessageId(1), MessageId(2)];
        let new: Vec<IncomingMessage> = (3..=5).map(|i| IncomingMessage::text(i, "x")).collect();
        remember(&mut pending, &new, 3);
        assert_eq!(pending, vec![MessageId(3), MessageId(4), MessageId(5)]);
    }

    #[test]
    fn operator_messages_route_by_prefix_command_and_reply() {
        let c = config();
        let route = |c: &Config, text: &str, reply: bool| {
            route_operator_message(c, &IncomingMessage::text(1, text), reply)
        };
        assert_eq!(route(&c, "Hello!", false), OperatorRoute::Relay);
        assert_eq!(
            route(&c, "/ note to self", false),
            OperatorRoute::InternalComment
        );
        assert_eq!(
            route(&c, "/close", false),
            OperatorRoute::Command(OperatorCommand::Close)
        );
        assert_eq!(
            route(&c, "/CLOSE@MyBot", false),
            OperatorRoute::Command(OperatorCommand::Close)
        );
        assert_eq!(
            route(&c, "/whatever", false),
            OperatorRoute::Command(OperatorCommand::Unknown)
        );
        let reply_only = Config::builder(ChatId(-100))
            .reply_only(true)
            .build()
            .unwrap();
        assert_eq!(
            route(&reply_only, "hi", false),
            OperatorRoute::InternalComment
        );
        assert_eq!(route(&reply_only, "hi", true), OperatorRoute::Relay);
        let restricted = Config::builder(ChatId(-100))
            .restricted_keywords_backend(Some(KeywordSet::parse("password").unwrap()))
            .build()
            .unwrap();
        assert_eq!(
            route(&restricted, "your Password is", false),
            OperatorRoute::Refuse
        );
    }

    #[test]
    fn topic_names_show_status_and_hide_names_when_asked() {
        let c = config();
        let conv = conversation(Some(1), Status::UserAnswered);
        assert_eq!(topic_name(&c, &conv, Status::UserAnswered), "🟪 Ann");
        assert_eq!(topic_name(&c, &conv, Status::SupportAnswered), "🟨 Ann");
        assert_eq!(topic_name(&c, &conv, Status::Closed), "⬛ Ann");
        let hidden = Config::builder(ChatId(-100))
            .hide_info(true)
            .build()
            .unwrap();
        let name = topic_name(&hidden, &conv, Status::UserAnswered);
        assert!(
            !name.contains("Ann") && name.starts_with("🟪 Client #"),
            "{name}"
        );
        assert_eq!(
            name,
            topic_name(&hidden, &conv, Status::UserAnswered),
            "stable"
        );
        assert_ne!(pseudonym(1), pseudonym(2));
        let mut long = conv.clone();
        long.profile.first_name = "x".repeat(300);
        assert_eq!(topic_name(&c, &long, Status::Closed).chars().count(), 128);
    }

    #[test]
    fn autoclose_counts_from_support_answered() {
        let c = Config::builder(ChatId(-100))
            .autoclose(Some(Duration::from_secs(3600)))
            .build()
            .unwrap();
        let mut conv = conversation(Some(1), Status::SupportAnswered);
        conv.status_since = Timestamp(1000);
        assert!(!autoclose_due(&c, &conv, Timestamp(4599)));
        assert!(autoclose_due(&c, &conv, Timestamp(4600)));
        conv.status = Status::UserAnswered;
        assert!(!autoclose_due(&c, &conv, Timestamp(99_999)));
    }

    #[test]
    fn cards_hide_what_hide_info_hides() {
        let mut conv = conversation(Some(1), Status::UserAnswered);
        conv.profile = UserProfile::new(1, "Ann")
            .with_username("ann")
            .with_language("en");
        conv.start_payload = Some("promo".into());
        let card = user_card(&config(), &conv);
        assert!(card.contains("@ann") && card.contains("ID: 1") && card.contains("promo"));
        let hidden = Config::builder(ChatId(-100))
            .hide_info(true)
            .build()
            .unwrap();
        let card = user_card(&hidden, &conv);
        assert!(
            !card.contains("ann") && !card.contains("Ann") && card.contains("promo"),
            "{card}"
        );
    }
}
