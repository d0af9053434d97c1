//! `TelegramTransport`: the desk's actions as Bot API calls.

use crate::client::ApiError;
use crate::client::TelegramClient;
use crate::pacing::{Limits, Pacer, Slot};
use async_trait::async_trait;
use hotline_core::{
    Action, Greeting, GreetingButton, MailingContent, MessageId, PanelButton, Performed, Priority,
    Recipient, RetryPolicy, Stop, TextEntity, TopicId, TransportError,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Performs [`Action`]s on the Bot API, paced ahead of Telegram's limits, with failures
/// classified for the desk (a deleted topic, a blocked user, a 429's `retry_after`).
///
/// Topic renames are cosmetic: they are queued at the lowest priority and performed in the
/// background, and a rename waiting for its turn is replaced by a newer one for the same topic,
/// so a topic flipping 🟪/🟨 ten times costs one call, and never delays a relayed message.
#[derive(Debug, Clone)]
pub struct TelegramTransport {
    client: TelegramClient,
    pacer: Arc<Pacer>,
    renames: Arc<Mutex<HashMap<(i64, i64), String>>>,
    stop: Stop,
}

impl TelegramTransport {
    /// A transport on `client`, paced by `limits`.
    pub fn new(client: TelegramClient, limits: Limits) -> Self {
        Self::with_stop(client, limits, Stop::new())
    }

    /// A transport whose waits (pacing, rate limits, rename retries) end at `stop`.
    pub fn with_stop(client: TelegramClient, limits: Limits, stop: Stop) -> Self {
        Self {
            client,
            pacer: Arc::new(Pacer::new(limits).with_stop(stop.clone())),
            renames: Arc::default(),
            stop,
        }
    }

    /// The client.
    pub fn client(&self) -> &TelegramClient {
        &self.client
    }

    /// What a member of a group may do, from `getChatMember`. A read, not a send: not paced
    /// against the group's budget. An anonymous administrator writes as Telegram's
    /// GroupAnonymousBot, which only administrators can do.
    async fn check_member(&self, chat: i64, user: i64) -> Result<Performed, TransportError> {
        const GROUP_ANONYMOUS_BOT: i64 = 1_087_968_824;
        if user == GROUP_ANONYMOUS_BOT {
            return Ok(Performed::Member {
                admin: true,
                can_ban: true,
            });
        }
        let member: Value = self
            .send(
                chat,
                "getChatMember",
                json!({"chat_id": chat, "user_id": user}),
            )
            .await?;
        Ok(member_rights(&member))
    }

    /// Waits for the pacer, then calls.
    async fn call<P, R>(
        &self,
        chat: i64,
        priority: Priority,
        method: &str,
        params: P,
    ) -> Result<R, TransportError>
    where
        P: Serialize + std::fmt::Debug + Send,
        R: DeserializeOwned,
    {
        let slot = self.pacer.acquire_or_stop(chat, priority).await?;
        self.send_in(slot, chat, method, params).await
    }

    /// Makes the call the pacer let go in `slot`, and hands the slot back when Telegram answered.
    async fn send_in<P, R>(
        &self,
        slot: Slot,
        chat: i64,
        method: &str,
        params: P,
    ) -> Result<R, TransportError>
    where
        P: Serialize + std::fmt::Debug + Send,
        R: DeserializeOwned,
    {
        let result = self.client.call_as(method, params).await;
        self.answered(slot, &result);
        result.map_err(|error| self.classified(chat, &error))
    }

    /// Any answer, an error included, means Telegram has counted the call; no answer (the
    /// network failed) says nothing about when.
    fn answered<T>(&self, slot: Slot, result: &Result<T, ApiError>) {
        if !matches!(result, Err(ApiError::Network { .. })) {
            self.pacer.answered(slot);
        }
    }

    /// Calls now, outside the pacer (reads and button answers, which no sending budget counts),
    /// and classifies a failure; a 429 holds the chat in the pacer for as long as Telegram asked.
    async fn send<P, R>(&self, chat: i64, method: &str, params: P) -> Result<R, TransportError>
    where
        P: Serialize + std::fmt::Debug + Send,
        R: DeserializeOwned,
    {
        self.client
            .call_as(method, params)
            .await
            .map_err(|error| self.classified(chat, &error))
    }

    /// A failed call's error for the desk; a 429 holds the chat in the pacer for as long as
    /// Telegram asked.
    fn classified(&self, chat: i64, error: &crate::client::ApiError) -> TransportError {
        let classified = error.classify();
        if let TransportError::RetryAfter(wait) = classified {
            metrics::counter!(hotline_core::metrics::RATE_LIMITED).increment(1);
            self.pacer.penalize(chat, wait);
        }
        classified
    }

    fn renames(&self) -> std::sync::MutexGuard<'_, HashMap<(i64, i64), String>> {
        self.renames.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a rename; a rename of the same topic already waiting just takes the new name.
    fn rename_later(&self, chat: i64, topic: i64, name: String) {
        let key = (chat, topic);
        if self.renames().insert(key, name).is_some() {
            return; // merged into the waiting rename
        }
        let this = self.clone();
        tokio::spawn(async move {
            // A rename is cosmetic: a few tries, by the one retry policy; a 429 is waited out
            // by the pacer, which holds the chat as long as Telegram asked.
            let policy = RetryPolicy::calls();
            let mut failures = 0;
            loop {
                let Ok(slot) = this.pacer.acquire_or_stop(chat, Priority::Cosmetic).await else {
                    this.renames().remove(&key);
                    return;
                };
                // Take the newest name only now, when it is our turn.
                let Some(name) = this.renames().remove(&key) else {
                    return;
                };
                let params = json!({"chat_id": chat, "message_thread_id": topic, "name": name});
                match this
                    .send_in::<_, Value>(slot, chat, "editForumTopic", params)
                    .await
                {
                    Ok(_) => return,
                    Err(error) if error.is_transient() && policy.allows(failures + 1) => {
                        failures += 1;
                        // Put the name back unless a newer one arrived meanwhile.
                        this.renames().entry(key).or_insert(name);
                        if matches!(error, TransportError::Unavailable(_))
                            && policy
                                .wait(&this.stop, policy.backoff(failures))
                                .await
                                .is_err()
                        {
                            this.renames().remove(&key);
                            return;
                        }
                    }
                    Err(error) => {
                        if !is_not_modified(&error) {
                            tracing::info!(%error, "hotline: renaming a topic failed");
                        }
                        return;
                    }
                }
            }
        });
    }
}

fn is_not_modified(error: &TransportError) -> bool {
    matches!(error, TransportError::BadRequest(d) if d.to_ascii_uppercase().contains("NOT_MODIFIED") || d.contains("not modified"))
}

/// Telegram's length limits: texts 4096 characters, captions 1024.
fn cut(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((at, _)) => {
            let mut cut: String = text[..at].chars().take(limit - 1).collect();
            cut.push('…');
            cut
        }
        None => text.to_owned(),
    }
}

/// `copyMessage`'s parameters: the desk's most frequent call, sent as a struct rather than
/// built as a map of JSON values.
#[derive(Debug, Serialize)]
struct CopyOne {
    chat_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_thread_id: Option<i64>,
    from_chat_id: i64,
    message_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_parameters: Option<ReplyTo>,
}

#[derive(Debug, Serialize)]
struct ReplyTo {
    message_id: i64,
    allow_sending_without_reply: bool,
}

/// What a copy action asks for, into a topic or to a user.
struct CopyParts<'a> {
    chat: i64,
    topic: Option<i64>,
    from: i64,
    messages: &'a [MessageId],
    reply_to: Option<MessageId>,
}

impl<'a> CopyParts<'a> {
    /// The parts of `action`, when it is a copy.
    fn of(action: &'a Action) -> Option<Self> {
        match action {
            Action::CopyToTopic {
                chat,
                topic,
                from,
                messages,
                reply_to,
            } => Some(Self {
                chat: chat.0,
                topic: Some(topic.0),
                from: from.0,
                messages,
                reply_to: *reply_to,
            }),
            Action::CopyToUser {
                user,
                from,
                messages,
                reply_to,
            } => Some(Self {
                chat: user.0,
                topic: None,
                from: from.0,
                messages,
                reply_to: *reply_to,
            }),
            Action::Deliver {
                user,
                content: MailingContent::Copy { from, messages },
            } => Some(Self {
                chat: user.0,
                topic: None,
                from: from.0,
                messages,
                reply_to: None,
            }),
            _ => None,
        }
    }

    /// The copy of its one message, when it has one.
    fn one(&self) -> Option<CopyOne> {
        let [message] = self.messages else {
            return None;
        };
        Some(CopyOne {
            chat_id: self.chat,
            message_thread_id: self.topic,
            from_chat_id: self.from,
            message_id: message.0,
            reply_parameters: self.reply_to.map(|id| ReplyTo {
                message_id: id.0,
                allow_sending_without_reply: true,
            }),
        })
    }

    /// The call: `copyMessage` for one message, `copyMessages` for an album (which carries no
    /// reply).
    fn request(&self) -> (&'static str, Value) {
        if let Some(one) = self.one() {
            return ("copyMessage", json_of(&one));
        }
        let mut params = json!({
            "chat_id": self.chat,
            "from_chat_id": self.from,
            "message_ids": self.messages.iter().map(|m| m.0).collect::<Vec<_>>(),
        });
        if let Some(topic) = self.topic {
            params["message_thread_id"] = json!(topic);
        }
        ("copyMessages", params)
    }
}

/// Puts `text` into `params` under `field` (`text` or `caption`), with its formatting as
/// `entities` or `caption_entities`: the spans that still fit a text cut to Telegram's limit.
fn formatted(params: &mut Value, field: &str, text: String, entities: &[TextEntity]) {
    let room = text.encode_utf16().count();
    let spans: Vec<Value> = entities
        .iter()
        .filter(|e| e.offset < room && e.length > 0)
        .filter_map(|e| {
            let mut span = serde_json::from_str::<Value>(&e.detail).ok()?;
            let object = span.as_object_mut()?;
            object.insert("offset".into(), json!(e.offset));
            object.insert("length".into(), json!(e.length.min(room - e.offset)));
            Some(span)
        })
        .collect();
    if !spans.is_empty() {
        let key = if field == "caption" {
            "caption_entities"
        } else {
            "entities"
        };
        params[key] = Value::Array(spans);
    }
    params[field] = json!(text);
}

/// The formatting of a message as the desk carries it: Telegram's `MessageEntity`s, each kept
/// whole but its place (see [`TextEntity`]).
pub(crate) fn entities_of(entities: Option<&Value>) -> Vec<TextEntity> {
    let Some(Value::Array(items)) = entities else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let mut detail = item.as_object()?.clone();
            let offset = detail.remove("offset")?.as_u64()?;
            let length = detail.remove("length")?.as_u64()?;
            Some(TextEntity {
                offset: usize::try_from(offset).ok()?,
                length: usize::try_from(length).ok()?,
                detail: Value::Object(detail).to_string(),
            })
        })
        .collect()
}

/// The part of a sent message's answer the desk reads.
#[derive(Debug, serde::Deserialize)]
struct SentId {
    message_id: i64,
}

/// A struct's JSON form (for [`request_for`], whose callers read parameters as JSON).
fn json_of(params: &impl Serialize) -> Value {
    serde_json::to_value(params).unwrap_or_default()
}

/// The Bot API call for an action: method and JSON parameters.
pub(crate) fn request_for(action: &Action) -> (&'static str, Value) {
    // Copies, into a topic or to a user, are described by their parts (see `CopyParts`).
    if let Some(copy) = CopyParts::of(action) {
        return copy.request();
    }
    match action {
        Action::CreateTopic { chat, name } => (
            "createForumTopic",
            json!({"chat_id": chat.0, "name": cut(name, 128)}),
        ),
        Action::MirrorToTopic {
            chat,
            topic,
            from,
            message,
            text,
            entities,
            has_media,
        } => {
            if *has_media {
                let caption = cut(text, 1024);
                let mut params = json!({
                    "chat_id": chat.0, "message_thread_id": topic.0,
                    "from_chat_id": from.0, "message_id": message.0,
                });
                formatted(&mut params, "caption", caption, entities);
                ("copyMessage", params)
            } else {
                let text = cut(text, 4096);
                let mut params = json!({
                    "chat_id": chat.0, "message_thread_id": topic.0,
                    "link_preview_options": {"is_disabled": true},
                });
                formatted(&mut params, "text", text, entities);
                ("sendMessage", params)
            }
        }
        Action::ForwardToTopic {
            chat,
            topic,
            from,
            messages,
        } => (
            "forwardMessages",
            json!({
                "chat_id": chat.0, "message_thread_id": topic.0, "from_chat_id": from.0,
                "message_ids": messages.iter().map(|m| m.0).collect::<Vec<_>>(),
            }),
        ),
        Action::SendNotice { to, text, markdown } => {
            let mut params = recipient(to);
            params["text"] = json!(cut(text, 4096));
            if *markdown {
                params["parse_mode"] = json!("MarkdownV2");
            }
            ("sendMessage", params)
        }
        Action::EditCopy {
            chat,
            message,
            text,
            entities,
            caption,
        } => {
            let mut params = json!({"chat_id": chat.0, "message_id": message.0});
            if *caption {
                formatted(&mut params, "caption", cut(text, 1024), entities);
                ("editMessageCaption", params)
            } else {
                formatted(&mut params, "text", cut(text, 4096), entities);
                ("editMessageText", params)
            }
        }
        Action::RenameTopic { chat, topic, name } => (
            "editForumTopic",
            json!({"chat_id": chat.0, "message_thread_id": topic.0, "name": cut(name, 128)}),
        ),
        Action::CloseTopic { chat, topic } => (
            "closeForumTopic",
            json!({"chat_id": chat.0, "message_thread_id": topic.0}),
        ),
        Action::ReopenTopic { chat, topic } => (
            "reopenForumTopic",
            json!({"chat_id": chat.0, "message_thread_id": topic.0}),
        ),
        Action::SetReaction {
            chat,
            message,
            emoji,
        } => (
            "setMessageReaction",
            json!({
                "chat_id": chat.0,
                "message_id": message.0,
                "reaction": emoji.iter().map(|e| json!({"type": "emoji", "emoji": e})).collect::<Vec<_>>(),
            }),
        ),
        Action::PinMessage { chat, message } => (
            "pinChatMessage",
            json!({"chat_id": chat.0, "message_id": message.0, "disable_notification": true}),
        ),
        // The last call of a greeting or a mailing's message (its text, under a photo if
        // any); `perform` sends the video note before it. See `greeting_calls`.
        Action::SendGreeting { user, greeting }
        | Action::Deliver {
            user,
            content: MailingContent::Message(greeting),
        } => greeting_calls(user.0, greeting).pop().unwrap_or((
            "sendMessage",
            json!({"chat_id": user.0, "text": greeting.text}),
        )),
        Action::SendPanel {
            to,
            text,
            buttons,
            reply_to,
        } => {
            let mut params = recipient(to);
            params["text"] = json!(cut(text, 4096));
            if !buttons.is_empty() {
                params["reply_markup"] = keyboard(buttons);
            }
            if let Some(reply) = reply_to {
                params["reply_parameters"] =
                    json!({"message_id": reply.0, "allow_sending_without_reply": true});
            }
            ("sendMessage", params)
        }
        Action::EditPanel {
            chat,
            message,
            text,
            buttons,
        } => (
            "editMessageText",
            json!({
                "chat_id": chat.0,
                "message_id": message.0,
                "text": cut(text, 4096),
                "reply_markup": keyboard(buttons),
            }),
        ),
        Action::AnswerButton { query, text } => (
            "answerCallbackQuery",
            json!({"callback_query_id": query, "text": cut(text, 200)}),
        ),
        // Action is non-exhaustive across crates; every variant known today is above (copies
        // before the match).
        #[allow(unreachable_patterns)]
        _ => ("getMe", json!({})),
    }
}

/// `chat_id` (and `message_thread_id` for a topic) of where a message goes.
fn recipient(to: &Recipient) -> Value {
    match to {
        Recipient::User(user) => json!({"chat_id": user.0}),
        Recipient::Topic { chat, topic } => {
            json!({"chat_id": chat.0, "message_thread_id": topic.0})
        }
        Recipient::General(chat) => json!({"chat_id": chat.0}),
    }
}

/// A panel's buttons as one row of an inline keyboard (none: an empty keyboard, which takes
/// the buttons off an edited message).
fn keyboard(buttons: &[PanelButton]) -> Value {
    let row: Vec<Value> = buttons
        .iter()
        .map(|b| json!({"text": b.text, "callback_data": b.data}))
        .collect();
    let rows: Vec<Vec<Value>> = if row.is_empty() {
        Vec::new()
    } else {
        vec![row]
    };
    json!({ "inline_keyboard": rows })
}

/// A rich greeting's calls, in order: the video note, then the text (as a photo's caption when
/// there is a photo) with the buttons.
pub(crate) fn greeting_calls(chat: i64, greeting: &Greeting) -> Vec<(&'static str, Value)> {
    let mut calls = Vec::new();
    if let Some(video_note) = &greeting.video_note {
        calls.push((
            "sendVideoNote",
            json!({"chat_id": chat, "video_note": video_note}),
        ));
    }
    let mut params = match &greeting.photo {
        Some(photo) => {
            json!({"chat_id": chat, "photo": photo, "caption": cut(&greeting.text, 1024)})
        }
        None => json!({"chat_id": chat, "text": cut(&greeting.text, 4096)}),
    };
    if greeting.markdown {
        params["parse_mode"] = json!("MarkdownV2");
    }
    if !greeting.buttons.is_empty() {
        let rows: Vec<Vec<Value>> = greeting
            .buttons
            .iter()
            .map(|row| {
                row.iter()
                    .map(|button| match button {
                        GreetingButton::Url { text, url } => json!({"text": text, "url": url}),
                        GreetingButton::WebApp { text, url } => {
                            json!({"text": text, "web_app": {"url": url}})
                        }
                        GreetingButton::Callback { text, data } => {
                            json!({"text": text, "callback_data": data})
                        }
                        #[allow(unreachable_patterns)]
                        _ => json!({"text": "?", "callback_data": "hotline:unknown"}),
                    })
                    .collect()
            })
            .collect();
        params["reply_markup"] = json!({"inline_keyboard": rows});
    }
    let method = if greeting.photo.is_some() {
        "sendPhoto"
    } else {
        "sendMessage"
    };
    calls.push((method, params));
    calls
}

/// A `ChatMember`'s rights: the creator may do everything, an administrator may ban with
/// `can_restrict_members`, anyone else is no administrator.
pub(crate) fn member_rights(member: &Value) -> Performed {
    match member.get("status").and_then(Value::as_str) {
        Some("creator") => Performed::Member {
            admin: true,
            can_ban: true,
        },
        Some("administrator") => Performed::Member {
            admin: true,
            can_ban: member
                .get("can_restrict_members")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        },
        _ => Performed::Member {
            admin: false,
            can_ban: false,
        },
    }
}

/// Reads what an action produced from the call's result.
pub(crate) fn performed_from(action: &Action, result: &Value) -> Result<Performed, TransportError> {
    let id = |v: &Value, field: &str| v.get(field).and_then(Value::as_i64);
    let missing = |what: &str| TransportError::Other(format!("the answer has no {what}"));
    Ok(match action {
        Action::CreateTopic { .. } => Performed::Topic(TopicId(
            id(result, "message_thread_id").ok_or_else(|| missing("message_thread_id"))?,
        )),
        Action::CopyToTopic { .. }
        | Action::CopyToUser { .. }
        | Action::MirrorToTopic { .. }
        | Action::ForwardToTopic { .. }
        | Action::SendGreeting { .. }
        | Action::Deliver { .. }
        | Action::SendPanel { .. }
        | Action::SendDocument { .. }
        | Action::SendNotice { .. } => match result {
            Value::Array(items) => Performed::Messages(
                items
                    .iter()
                    .filter_map(|m| id(m, "message_id"))
                    .map(MessageId)
                    .collect(),
            ),
            one => Performed::Messages(vec![MessageId(
                id(one, "message_id").ok_or_else(|| missing("message_id"))?,
            )]),
        },
        _ => Performed::Done,
    })
}

#[async_trait]
impl hotline_core::Transport for TelegramTransport {
    async fn perform(&self, action: &Action) -> Result<Performed, TransportError> {
        if let Action::RenameTopic { chat, topic, name } = action {
            self.rename_later(chat.0, topic.0, cut(name, 128));
            return Ok(Performed::Done);
        }
        if let Action::CheckMember { chat, user } = action {
            return self.check_member(chat.0, user.0).await;
        }
        if let Action::SendDocument {
            to,
            file_name,
            bytes,
            caption,
        } = action
        {
            let chat = to.chat().0;
            let mut fields = vec![
                ("chat_id", chat.to_string()),
                ("caption", cut(caption, 1024)),
            ];
            if let Recipient::Topic { topic, .. } = to {
                fields.push(("message_thread_id", topic.0.to_string()));
            }
            let slot = self.pacer.acquire_or_stop(chat, action.priority()).await?;
            let sent = self
                .client
                .upload(
                    "sendDocument",
                    fields,
                    "document",
                    file_name.clone(),
                    bytes.clone(),
                )
                .await;
            self.answered(slot, &sent);
            let sent = sent.map_err(|error| self.classified(chat, &error))?;
            return performed_from(action, &sent);
        }
        if let Action::AnswerButton { .. } = action {
            // An answer to a button press goes to no chat: no budget to wait for.
            let (method, params) = request_for(action);
            self.send::<_, Value>(0, method, params).await?;
            return Ok(Performed::Done);
        }
        if let Action::SendGreeting { user, greeting }
        | Action::Deliver {
            user,
            content: MailingContent::Message(greeting),
        } = action
        {
            // The calls before the text (the video note): a failure is logged, and the text,
            // which is what the user must get, is sent all the same. If the text then fails
            // for a passing reason, the desk performs the greeting again, the note included.
            let mut calls = greeting_calls(user.0, greeting);
            calls.pop();
            for (method, params) in calls {
                if let Err(error) = self
                    .call::<_, Value>(user.0, action.priority(), method, params)
                    .await
                {
                    tracing::warn!(%error, "hotline: the greeting's {method} could not be sent");
                }
            }
        }
        if let Some(copy) = CopyParts::of(action).and_then(|copy| copy.one()) {
            let sent: SentId = self
                .call(
                    action.target_chat().0,
                    action.priority(),
                    "copyMessage",
                    copy,
                )
                .await?;
            return Ok(Performed::Messages(vec![MessageId(sent.message_id)]));
        }
        let (method, params) = request_for(action);
        match self
            .call::<_, Value>(action.target_chat().0, action.priority(), method, params)
            .await
        {
            Ok(result) => performed_from(action, &result),
            // Closing a closed topic (an operator was quicker) is not a failure.
            Err(error)
                if is_not_modified(&error)
                    && matches!(
                        action,
                        Action::CloseTopic { .. }
                            | Action::ReopenTopic { .. }
                            | Action::EditPanel { .. }
                    ) =>
            {
                Ok(Performed::Done)
            }
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_core::{ChatId, UserId};

    #[test]
    fn member_rights_follow_status_and_can_restrict_members() {
        let rights = |v: Value| member_rights(&v);
        assert_eq!(
            rights(json!({"status": "creator"})),
            Performed::Member {
                admin: true,
                can_ban: true
            }
        );
        assert_eq!(
            rights(json!({"status": "administrator", "can_restrict_members": true})),
            Performed::Member {
                admin: true,
                can_ban: true
            }
        );
        assert_eq!(
            rights(json!({"status": "administrator", "can_restrict_members": false})),
            Performed::Member {
                admin: true,
                can_ban: false
            }
        );
        for status in ["member", "restricted", "left", "kicked"] {
            assert_eq!(
                rights(json!({"status": status})),
                Performed::Member {
                    admin: false,
                    can_ban: false
                }
            );
        }
    }

    #[test]
    fn albums_are_one_copy_messages_call_and_singles_carry_the_reply() {
        let (method, params) = request_for(&Action::CopyToTopic {
            chat: ChatId(-100),
            topic: TopicId(5),
            from: ChatId(1),
            messages: vec![MessageId(3), MessageId(4)],
            reply_to: Some(MessageId(9)),
        });
        assert_eq!(method, "copyMessages");
        assert_eq!(params["message_ids"], json!([3, 4]));
        assert_eq!(params["message_thread_id"], 5);
        let (method, params) = request_for(&Action::CopyToUser {
            user: UserId(1),
            from: ChatId(-100),
            messages: vec![MessageId(7)],
            reply_to: Some(MessageId(2)),
        });
        assert_eq!(method, "copyMessage");
        assert_eq!(params["reply_parameters"]["message_id"], 2);
        assert_eq!(
            params["reply_parameters"]["allow_sending_without_reply"],
            true
        );
    }

    #[test]
    fn mirrors_of_texts_are_sent_and_of_media_copied_with_a_caption() {
        let mirror = |has_media| Action::MirrorToTopic {
            chat: ChatId(-100),
            topic: TopicId(5),
            from: ChatId(1),
            message: MessageId(8),
            text: "🤖 Bot:\nhello".into(),
            entities: entities_of(Some(&json!([{"type": "bold", "offset": 8, "length": 5}]))),
            has_media,
        };
        let (method, params) = request_for(&mirror(false));
        assert_eq!(method, "sendMessage");
        assert_eq!(
            params["entities"],
            json!([{"type": "bold", "offset": 8, "length": 5}])
        );
        let (method, params) = request_for(&mirror(true));
        assert_eq!(
            (method, params["caption"].as_str()),
            ("copyMessage", Some("🤖 Bot:\nhello"))
        );
        assert_eq!(params["caption_entities"][0]["type"], "bold");
    }

    #[test]
    fn long_texts_are_cut_to_telegrams_limits() {
        let text = "x".repeat(5000);
        let (_, params) = request_for(&Action::SendNotice {
            to: Recipient::User(UserId(1)),
            text,
            markdown: false,
        });
        assert_eq!(params["text"].as_str().unwrap().chars().count(), 4096);
    }

    #[test]
    fn results_become_ids() {
        let topic = Action::CreateTopic {
            chat: ChatId(-1),
            name: "x".into(),
        };
        assert_eq!(
            performed_from(
                &topic,
                &json!({"message_thread_id": 44, "name": "x", "icon_color": 1})
            )
            .unwrap(),
            Performed::Topic(TopicId(44))
        );
        let copy = Action::CopyToUser {
            user: UserId(1),
            from: ChatId(-1),
            messages: vec![],
            reply_to: None,
        };
        assert_eq!(
            performed_from(&copy, &json!([{"message_id": 5}, {"message_id": 6}])).unwrap(),
            Performed::Messages(vec![MessageId(5), MessageId(6)])
        );
        assert!(performed_from(&topic, &json!({})).is_err());
    }
}
