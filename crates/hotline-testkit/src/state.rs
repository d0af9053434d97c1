//! The fake server's in-memory world: users, chats, messages, topics, updates, files.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::TestkitError;
use crate::content::content_kind;
use crate::files::{FileRec, media_json};
use crate::limits::{FaultRec, Limiter};
use crate::model::{Call, FloodLimits, MemberStatus, NewGroup, NewMessage, NewUser, Stats, Topic};
use crate::params::{ApiError, ApiResult};
use crate::spec::Spec;

/// Default icon colour of a new forum topic (Telegram's blue).
pub(crate) const DEFAULT_ICON_COLOR: i64 = 7_322_096;
/// Icon colours Telegram accepts for `createForumTopic`.
pub(crate) const ICON_COLORS: [i64; 6] = [
    7_322_096, 16_766_590, 13_338_331, 9_367_192, 16_749_490, 16_478_047,
];

pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[derive(Debug)]
pub(crate) struct UserRec {
    pub(crate) user: Value,
    pub(crate) blocked: bool,
    pub(crate) deactivated: bool,
}

#[derive(Debug)]
pub(crate) enum ChatKind {
    Private {
        user_id: i64,
    },
    Group {
        is_forum: bool,
        bot_is_admin: bool,
        members: BTreeMap<i64, MemberStatus>,
    },
}

#[derive(Debug)]
pub(crate) struct TopicRec {
    pub(crate) name: String,
    pub(crate) icon_color: i64,
    pub(crate) icon_custom_emoji_id: Option<String>,
    pub(crate) is_closed: bool,
    pub(crate) deleted: bool,
}

#[derive(Debug)]
pub(crate) struct ChatRec {
    pub(crate) kind: ChatKind,
    pub(crate) chat: Value,
    pub(crate) next_message_id: i64,
    /// Messages in id order (ids only grow), current state.
    pub(crate) history: Vec<Value>,
    pub(crate) topics: BTreeMap<i64, TopicRec>,
    /// (message_id, user_id) -> reactions, for `old_reaction`.
    pub(crate) reactions: HashMap<(i64, i64), Vec<Value>>,
    pub(crate) bot_reactions: HashMap<i64, Vec<Value>>,
    pub(crate) menu_button: Option<Value>,
    /// Pinned message ids, oldest pin first.
    pub(crate) pinned: Vec<i64>,
}

impl ChatRec {
    pub(crate) fn position(&self, message_id: i64) -> Option<usize> {
        self.history
            .binary_search_by_key(&message_id, |m| {
                m.get("message_id").and_then(Value::as_i64).unwrap_or(0)
            })
            .ok()
    }
    pub(crate) fn message(&self, message_id: i64) -> Option<&Value> {
        self.position(message_id).map(|i| &self.history[i])
    }
    pub(crate) fn is_group(&self) -> bool {
        matches!(self.kind, ChatKind::Group { .. })
    }
    pub(crate) fn is_forum(&self) -> bool {
        matches!(self.kind, ChatKind::Group { is_forum: true, .. })
    }
    pub(crate) fn bot_is_admin(&self) -> bool {
        matches!(
            self.kind,
            ChatKind::Group {
                bot_is_admin: true,
                ..
            }
        )
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    pub(crate) url: String,
    pub(crate) secret_token: Option<String>,
    pub(crate) max_connections: i64,
    pub(crate) ip_address: Option<String>,
}

#[derive(Debug)]
pub(crate) struct CallbackRec {
    pub(crate) answer: Option<Value>,
}

/// An update waiting for the bot, kept as the JSON text Telegram sends. `getUpdates` serves an
/// update again with every poll until the bot confirms it, so it is serialised once, here, and
/// every answer copies the text (`Bytes` clones share it).
#[derive(Debug, Clone)]
pub(crate) struct QueuedUpdate {
    pub(crate) id: i64,
    pub(crate) json: Bytes,
}

impl QueuedUpdate {
    pub(crate) fn new(id: i64, update: &Value) -> Self {
        Self {
            id,
            json: Bytes::from(serde_json::to_vec(update).unwrap_or_default()),
        }
    }

    /// The update as a JSON value (for the control plane and the webhook's checks).
    pub(crate) fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}

/// Everything behind the one mutex.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) bot_user: Value,
    pub(crate) bot_id: i64,
    pub(crate) users: HashMap<i64, UserRec>,
    pub(crate) chats: HashMap<i64, ChatRec>,
    pub(crate) updates: VecDeque<QueuedUpdate>,
    pub(crate) next_update_id: i64,
    pub(crate) allowed_updates: Option<Vec<String>>,
    pub(crate) webhook: Option<Webhook>,
    pub(crate) webhook_last_error: Option<(i64, String)>,
    pub(crate) files: HashMap<String, FileRec>,
    pub(crate) next_file: u64,
    pub(crate) next_media_group: u64,
    pub(crate) next_poll: u64,
    pub(crate) callbacks: HashMap<String, CallbackRec>,
    pub(crate) next_callback: u64,
    pub(crate) commands: HashMap<String, Value>,
    pub(crate) default_menu_button: Option<Value>,
    pub(crate) limits: FloodLimits,
    pub(crate) limiter: Limiter,
    pub(crate) faults: Vec<FaultRec>,
    pub(crate) rng: u64,
    pub(crate) stats: Stats,
    pub(crate) calls: Vec<Call>,
    pub(crate) poll_generation: u64,
    pub(crate) new_updates: bool,
    pub(crate) spec: Option<&'static Spec>,
}

impl State {
    pub(crate) fn new(bot_user: Value, spec: Option<&'static Spec>) -> Self {
        let bot_id = bot_user["id"].as_i64().unwrap_or(0);
        State {
            bot_user,
            bot_id,
            users: HashMap::new(),
            chats: HashMap::new(),
            updates: VecDeque::new(),
            next_update_id: 100_000_001,
            allowed_updates: None,
            webhook: None,
            webhook_last_error: None,
            files: HashMap::new(),
            next_file: 1,
            next_media_group: 13_000_000_000_000_001,
            next_poll: 5_000_000_000_000_000_001,
            callbacks: HashMap::new(),
            next_callback: 4_000_000_000_000_001,
            commands: HashMap::new(),
            default_menu_button: None,
            limits: FloodLimits::default(),
            limiter: Limiter::default(),
            faults: Vec::new(),
            rng: 0x9E37_79B9_7F4A_7C15,
            stats: Stats::default(),
            calls: Vec::new(),
            poll_generation: 0,
            new_updates: false,
            spec,
        }
    }

    // ----- updates -------------------------------------------------------------------

    pub(crate) fn update_allowed(&self, kind: &str) -> bool {
        match &self.allowed_updates {
            Some(list) if !list.is_empty() => list.iter().any(|k| k == kind),
            _ => !matches!(
                kind,
                "chat_member" | "message_reaction" | "message_reaction_count"
            ),
        }
    }

    /// Queues an update of `kind` if the bot's allowed_updates lets it through.
    pub(crate) fn enqueue(&mut self, kind: &str, payload: Value) {
        if !self.update_allowed(kind) {
            return;
        }
        let id = self.next_update_id;
        self.next_update_id += 1;
        let mut u = Map::new();
        u.insert("update_id".into(), json!(id));
        u.insert(kind.into(), payload);
        let u = Value::Object(u);
        self.check_spec("Update", &u);
        self.updates.push_back(QueuedUpdate::new(id, &u));
        self.new_updates = true;
    }

    /// Records a spec violation of `value` as `type_expr` (debug builds with a spec).
    pub(crate) fn check_spec(&mut self, type_expr: &str, value: &Value) {
        if let Some(spec) = self.spec
            && let Err(e) = spec.check_type(type_expr, value)
        {
            tracing::error!(%e, "fake Telegram produced an object outside the Bot API spec");
            self.stats.spec_violations.push(format!("{type_expr}: {e}"));
        }
    }

    /// Drops confirmed updates: those below a positive offset, or all but the last `-offset`.
    pub(crate) fn confirm(&mut self, offset: i64) {
        if offset > 0 {
            while self.updates.front().is_some_and(|u| u.id < offset) {
                self.updates.pop_front();
            }
        } else if offset < 0 {
            let keep = offset.unsigned_abs() as usize;
            while self.updates.len() > keep {
                self.updates.pop_front();
            }
        }
    }

    pub(crate) fn pending(&self, offset: i64, limit: usize) -> Vec<Bytes> {
        self.updates
            .iter()
            .filter(|u| offset <= 0 || u.id >= offset)
            .take(limit)
            .map(|u| u.json.clone())
            .collect()
    }

    // ----- lookups -------------------------------------------------------------------

    pub(crate) fn chat(&self, chat_id: i64) -> ApiResult<&ChatRec> {
        self.chats
            .get(&chat_id)
            .ok_or_else(ApiError::chat_not_found)
    }

    pub(crate) fn chat_mut(&mut self, chat_id: i64) -> ApiResult<&mut ChatRec> {
        self.chats
            .get_mut(&chat_id)
            .ok_or_else(ApiError::chat_not_found)
    }

    /// The bot's answer to a callback query, once `answerCallbackQuery` gave it.
    pub(crate) fn callback_answer(&self, id: &str) -> Option<Value> {
        self.callbacks.get(id).and_then(|c| c.answer.clone())
    }

    pub(crate) fn user_json(&self, user_id: i64) -> Option<Value> {
        if user_id == self.bot_id {
            return Some(self.bot_user.clone());
        }
        self.users.get(&user_id).map(|u| u.user.clone())
    }

    /// Errors for a bot send into `chat_id`: unknown chat, blocked user.
    pub(crate) fn check_can_send(&self, chat_id: i64) -> ApiResult<()> {
        let chat = self.chat(chat_id)?;
        if let ChatKind::Private { user_id } = chat.kind
            && self.users.get(&user_id).is_some_and(|u| u.blocked)
        {
            return Err(ApiError::forbidden("bot was blocked by the user"));
        }
        if let ChatKind::Private { user_id } = chat.kind
            && self.users.get(&user_id).is_some_and(|u| u.deactivated)
        {
            return Err(ApiError::forbidden("user is deactivated"));
        }
        Ok(())
    }

    /// Checks that a topic exists (and, for the bot, is open or the bot is admin).
    pub(crate) fn check_thread(&self, chat_id: i64, thread_id: i64, by_bot: bool) -> ApiResult<()> {
        let chat = self.chat(chat_id)?;
        if !chat.is_forum() {
            // Telegram ignores message_thread_id outside forums (and in private chats of
            // bots without topic mode), except that it must then be a valid reply thread.
            return Ok(());
        }
        if thread_id == 1 {
            return Ok(()); // the General topic
        }
        match chat.topics.get(&thread_id) {
            Some(t) if !t.deleted => {
                if by_bot && t.is_closed && !chat.bot_is_admin() {
                    return Err(ApiError::bad("TOPIC_CLOSED"));
                }
                Ok(())
            }
            _ => Err(ApiError::bad("message thread not found")),
        }
    }

    /// Applies the flood limits to a counted call into `chat_id`.
    pub(crate) fn flood(&mut self, chat_id: i64) -> ApiResult<()> {
        let limits = &self.limits;
        if limits.global_per_second.is_none()
            && limits.per_chat_per_second.is_none()
            && limits.per_group_per_minute.is_none()
        {
            return Ok(());
        }
        let limits = limits.clone();
        match self
            .limiter
            .check(&limits, chat_id, std::time::Instant::now())
        {
            Ok(()) => Ok(()),
            Err(retry_after) => {
                self.stats.too_many_requests += 1;
                Err(ApiError::retry_after(retry_after))
            }
        }
    }

    // ----- messages ------------------------------------------------------------------

    /// A fresh message skeleton in `chat_id` (id allocated), not yet stored.
    /// `thread_id` and `reply_to` were validated by the caller.
    pub(crate) fn new_message(
        &mut self,
        chat_id: i64,
        from: Value,
        thread_id: Option<i64>,
        reply_to: Option<i64>,
    ) -> ApiResult<Map<String, Value>> {
        let chat = self.chat_mut(chat_id)?;
        let id = chat.next_message_id;
        chat.next_message_id += 1;
        let mut m = Map::new();
        m.insert("message_id".into(), json!(id));
        let forum = chat.is_forum();
        let thread_id = thread_id.filter(|t| forum && *t != 1);
        if let Some(t) = thread_id {
            m.insert("message_thread_id".into(), json!(t));
        }
        m.insert("from".into(), from);
        m.insert("chat".into(), chat.chat.clone());
        m.insert("date".into(), json!(now_unix()));
        if thread_id.is_some() {
            m.insert("is_topic_message".into(), json!(true));
        }
        // In a topic, a message that replies to nothing replies to the topic's creation
        // service message, as on Telegram.
        let reply_id = reply_to.or(thread_id);
        if let Some(r) = reply_id
            && r != id
            && let Some(orig) = chat.message(r)
        {
            let mut orig = orig.clone();
            if let Some(o) = orig.as_object_mut() {
                o.remove("reply_to_message");
            }
            m.insert("reply_to_message".into(), orig);
        }
        Ok(m)
    }

    /// Resolves where a new message goes: validates the reply target and inherits its topic.
    pub(crate) fn resolve_reply(
        &self,
        chat_id: i64,
        thread_id: Option<i64>,
        reply_to: Option<i64>,
        allow_without_reply: bool,
    ) -> ApiResult<(Option<i64>, Option<i64>)> {
        let chat = self.chat(chat_id)?;
        let Some(r) = reply_to else {
            return Ok((thread_id, None));
        };
        match chat.message(r) {
            Some(orig) => {
                let orig_thread = orig.get("message_thread_id").and_then(Value::as_i64);
                let thread = thread_id.or(orig_thread);
                Ok((thread, Some(r)))
            }
            None if allow_without_reply => Ok((thread_id, None)),
            None => Err(ApiError::bad("message to be replied not found")),
        }
    }

    /// Stores a message in its chat's history.
    pub(crate) fn store(&mut self, msg: &Value) {
        let chat_id = msg["chat"]["id"].as_i64().unwrap_or(0);
        if let Some(chat) = self.chats.get_mut(&chat_id) {
            chat.history.push(msg.clone());
        }
    }

    pub(crate) fn new_file(
        &mut self,
        kind: &str,
        size: u64,
        name: Option<String>,
        mime: Option<String>,
        data: Option<Bytes>,
    ) -> FileRec {
        let n = self.next_file;
        self.next_file += 1;
        let rec = FileRec {
            file_id: format!("FAKE{}_{n:08}_{}", kind.to_ascii_uppercase(), self.bot_id),
            file_unique_id: format!("U{n:08}"),
            kind: kind.to_owned(),
            size,
            name,
            mime,
            data,
        };
        self.files.insert(rec.file_id.clone(), rec.clone());
        rec
    }

    /// A file named by a test (control plane): known, or registered under that id.
    pub(crate) fn file_by_id_or_register(&mut self, file_id: &str, kind: &str) -> FileRec {
        if let Some(f) = self.files.get(file_id) {
            return f.clone();
        }
        let n = self.next_file;
        self.next_file += 1;
        let rec = FileRec {
            file_id: file_id.to_owned(),
            file_unique_id: format!("U{n:08}"),
            kind: kind.to_owned(),
            size: 1024,
            name: (kind == "document").then(|| format!("file{n}.bin")),
            mime: (kind == "document").then(|| "application/octet-stream".to_owned()),
            data: None,
        };
        self.files.insert(rec.file_id.clone(), rec.clone());
        rec
    }

    // ----- control plane -------------------------------------------------------------

    pub(crate) fn add_user(&mut self, u: NewUser) -> Value {
        let mut user = Map::new();
        user.insert("id".into(), json!(u.id));
        user.insert("is_bot".into(), json!(false));
        user.insert("first_name".into(), json!(u.first_name));
        if let Some(v) = &u.last_name {
            user.insert("last_name".into(), json!(v));
        }
        if let Some(v) = &u.username {
            user.insert("username".into(), json!(v));
        }
        if let Some(v) = &u.language_code {
            user.insert("language_code".into(), json!(v));
        }
        let user = Value::Object(user);
        let mut chat = Map::new();
        chat.insert("id".into(), json!(u.id));
        chat.insert("type".into(), json!("private"));
        chat.insert("first_name".into(), json!(u.first_name));
        if let Some(v) = &u.last_name {
            chat.insert("last_name".into(), json!(v));
        }
        if let Some(v) = &u.username {
            chat.insert("username".into(), json!(v));
        }
        let blocked = self.users.get(&u.id).is_some_and(|r| r.blocked);
        let deactivated = self.users.get(&u.id).is_some_and(|r| r.deactivated);
        self.users.insert(
            u.id,
            UserRec {
                user: user.clone(),
                blocked,
                deactivated,
            },
        );
        match self.chats.get_mut(&u.id) {
            Some(c) => c.chat = Value::Object(chat),
            None => {
                self.chats.insert(
                    u.id,
                    ChatRec {
                        kind: ChatKind::Private { user_id: u.id },
                        chat: Value::Object(chat),
                        next_message_id: 1,
                        history: Vec::new(),
                        topics: BTreeMap::new(),
                        reactions: HashMap::new(),
                        bot_reactions: HashMap::new(),
                        menu_button: None,
                        pinned: Vec::new(),
                    },
                );
            }
        }
        user
    }

    pub(crate) fn add_group(&mut self, g: NewGroup) -> Value {
        let mut chat = Map::new();
        chat.insert("id".into(), json!(g.id));
        chat.insert("type".into(), json!("supergroup"));
        chat.insert("title".into(), json!(g.title));
        if g.is_forum {
            chat.insert("is_forum".into(), json!(true));
        }
        let chat = Value::Object(chat);
        let members = self
            .chats
            .get(&g.id)
            .and_then(|c| match &c.kind {
                ChatKind::Group { members, .. } => Some(members.clone()),
                ChatKind::Private { .. } => None,
            })
            .unwrap_or_default();
        let kind = ChatKind::Group {
            is_forum: g.is_forum,
            bot_is_admin: g.bot_is_admin,
            members,
        };
        match self.chats.get_mut(&g.id) {
            Some(c) => {
                c.chat = chat.clone();
                c.kind = kind;
            }
            None => {
                self.chats.insert(
                    g.id,
                    ChatRec {
                        kind,
                        chat: chat.clone(),
                        // Message 1 is the group's creation; in a forum, thread 1 is General.
                        next_message_id: 2,
                        history: Vec::new(),
                        topics: BTreeMap::new(),
                        reactions: HashMap::new(),
                        bot_reactions: HashMap::new(),
                        menu_button: None,
                        pinned: Vec::new(),
                    },
                );
            }
        }
        chat
    }

    pub(crate) fn add_member(
        &mut self,
        chat_id: i64,
        user_id: i64,
        status: MemberStatus,
    ) -> Result<(), TestkitError> {
        if !self.users.contains_key(&user_id) {
            return Err(TestkitError::UserNotFound(user_id));
        }
        match self.chats.get_mut(&chat_id).map(|c| &mut c.kind) {
            Some(ChatKind::Group { members, .. }) => {
                if status == MemberStatus::Creator {
                    for s in members.values_mut() {
                        if *s == MemberStatus::Creator {
                            *s = MemberStatus::Administrator;
                        }
                    }
                }
                members.insert(user_id, status);
                Ok(())
            }
            Some(ChatKind::Private { .. }) => Err(TestkitError::Invalid(format!(
                "chat {chat_id} is a private chat, not a group"
            ))),
            None => Err(TestkitError::ChatNotFound(chat_id)),
        }
    }

    fn check_author(&self, from: i64, chat_id: i64) -> Result<Value, TestkitError> {
        let user = self
            .users
            .get(&from)
            .map(|u| u.user.clone())
            .ok_or(TestkitError::UserNotFound(from))?;
        let chat = self
            .chats
            .get(&chat_id)
            .ok_or(TestkitError::ChatNotFound(chat_id))?;
        match &chat.kind {
            ChatKind::Private { user_id } if *user_id == from => Ok(user),
            ChatKind::Private { .. } => Err(TestkitError::Invalid(format!(
                "user {from} cannot write in the private chat {chat_id} of another user"
            ))),
            ChatKind::Group { members, .. } if members.contains_key(&from) => Ok(user),
            ChatKind::Group { .. } => Err(TestkitError::Invalid(format!(
                "user {from} is not a member of group {chat_id} (add_member first)"
            ))),
        }
    }

    /// Whether the bot sees a user's message in a group (privacy mode when not admin).
    fn bot_sees(&self, chat: &ChatRec, msg: &Value) -> bool {
        if !chat.is_group() || chat.bot_is_admin() {
            return true;
        }
        let text = msg["text"].as_str().unwrap_or("");
        let bot_name = self.bot_user["username"].as_str().unwrap_or("");
        text.starts_with('/')
            || (!bot_name.is_empty() && text.contains(&format!("@{bot_name}")))
            || msg["reply_to_message"]["from"]["id"].as_i64() == Some(self.bot_id)
    }

    pub(crate) fn user_message(&mut self, nm: NewMessage) -> Result<Value, TestkitError> {
        let from = self.check_author(nm.from, nm.chat_id)?;
        // A user who blocked the bot and writes to it again has restarted it.
        if nm.chat_id > 0 && self.users.get(&nm.from).is_some_and(|u| u.blocked) {
            self.set_blocked(nm.from, false)?;
        }
        if let Some(t) = nm.message_thread_id {
            self.check_thread(nm.chat_id, t, false)
                .map_err(|_| TestkitError::TopicNotFound {
                    chat_id: nm.chat_id,
                    thread_id: t,
                })?;
        }
        let (thread, reply) = self
            .resolve_reply(
                nm.chat_id,
                nm.message_thread_id,
                nm.reply_to_message_id,
                false,
            )
            .map_err(|_| TestkitError::MessageNotFound {
                chat_id: nm.chat_id,
                message_id: nm.reply_to_message_id.unwrap_or(0),
            })?;
        if nm.text.is_none() && nm.photo.is_none() && nm.document.is_none() {
            return Err(TestkitError::Invalid(
                "a message needs text, photo or document".into(),
            ));
        }
        let mut m = self
            .new_message(nm.chat_id, from, thread, reply)
            .map_err(|_| TestkitError::ChatNotFound(nm.chat_id))?;
        let media = nm.photo.is_some() || nm.document.is_some();
        if let Some(g) = &nm.media_group_id {
            m.insert("media_group_id".into(), json!(g));
        }
        if let Some(p) = &nm.photo {
            let f = self.file_by_id_or_register(p, "photo");
            m.insert("photo".into(), media_json("photo", &f, None));
        } else if let Some(d) = &nm.document {
            let f = self.file_by_id_or_register(d, "document");
            m.insert("document".into(), media_json("document", &f, None));
        }
        let text = if media {
            nm.caption.clone().or(nm.text.clone())
        } else {
            nm.text.clone()
        };
        if let Some(text) = text {
            let (tkey, ekey) = if media {
                ("caption", "caption_entities")
            } else {
                ("text", "entities")
            };
            let entities = match &nm.entities {
                Some(Value::Array(a)) => a.clone(),
                _ => crate::format::auto_entities(&text),
            };
            m.insert(tkey.into(), json!(text));
            if !entities.is_empty() {
                m.insert(ekey.into(), Value::Array(entities));
            }
        }
        let msg = Value::Object(m);
        self.store(&msg);
        let chat = &self.chats[&nm.chat_id];
        if self.bot_sees(chat, &msg) {
            self.enqueue("message", msg.clone());
        }
        Ok(msg)
    }

    pub(crate) fn user_edit(
        &mut self,
        from: i64,
        chat_id: i64,
        message_id: i64,
        text: &str,
    ) -> Result<Value, TestkitError> {
        self.check_author(from, chat_id)?;
        let chat = self
            .chats
            .get_mut(&chat_id)
            .ok_or(TestkitError::ChatNotFound(chat_id))?;
        let pos = chat
            .position(message_id)
            .ok_or(TestkitError::MessageNotFound {
                chat_id,
                message_id,
            })?;
        let msg = &mut chat.history[pos];
        if msg["from"]["id"].as_i64() != Some(from) {
            return Err(TestkitError::Invalid(format!(
                "message {message_id} was not written by user {from}"
            )));
        }
        let obj = msg
            .as_object_mut()
            .ok_or_else(|| TestkitError::Invalid("corrupt message".into()))?;
        let (tkey, ekey) = if obj.contains_key("text") {
            ("text", "entities")
        } else {
            ("caption", "caption_entities")
        };
        obj.insert(tkey.into(), json!(text));
        let entities = crate::format::auto_entities(text);
        if entities.is_empty() {
            obj.remove(ekey);
        } else {
            obj.insert(ekey.into(), Value::Array(entities));
        }
        obj.insert("edit_date".into(), json!(now_unix()));
        let msg = msg.clone();
        let sees = self.bot_sees(&self.chats[&chat_id], &msg);
        if sees {
            self.enqueue("edited_message", msg.clone());
        }
        Ok(msg)
    }

    pub(crate) fn press_button(
        &mut self,
        from: i64,
        chat_id: i64,
        message_id: i64,
        data: &str,
    ) -> Result<Value, TestkitError> {
        let user = self.check_author(from, chat_id)?;
        let chat = self
            .chats
            .get(&chat_id)
            .ok_or(TestkitError::ChatNotFound(chat_id))?;
        let msg = chat
            .message(message_id)
            .ok_or(TestkitError::MessageNotFound {
                chat_id,
                message_id,
            })?
            .clone();
        let has_button = msg["reply_markup"]["inline_keyboard"]
            .as_array()
            .is_some_and(|rows| {
                rows.iter().any(|row| {
                    row.as_array().is_some_and(|row| {
                        row.iter()
                            .any(|b| b["callback_data"].as_str() == Some(data))
                    })
                })
            });
        if !has_button {
            return Err(TestkitError::Invalid(format!(
                "message {message_id} in chat {chat_id} has no inline button with callback_data {data:?}"
            )));
        }
        let id = self.next_callback.to_string();
        self.next_callback += 1;
        let cq = json!({
            "id": id,
            "from": user,
            "message": msg,
            "chat_instance": format!("{}", chat_id.unsigned_abs().wrapping_mul(2_654_435_761) % 9_000_000_000_000_000_000),
            "data": data,
        });
        self.callbacks.insert(id, CallbackRec { answer: None });
        self.enqueue("callback_query", cq.clone());
        Ok(cq)
    }

    pub(crate) fn react(
        &mut self,
        from: i64,
        chat_id: i64,
        message_id: i64,
        emoji: &str,
    ) -> Result<Value, TestkitError> {
        let user = self.check_author(from, chat_id)?;
        let chat = self
            .chats
            .get_mut(&chat_id)
            .ok_or(TestkitError::ChatNotFound(chat_id))?;
        if chat.message(message_id).is_none() {
            return Err(TestkitError::MessageNotFound {
                chat_id,
                message_id,
            });
        }
        let new: Vec<Value> = if emoji.is_empty() {
            Vec::new()
        } else {
            vec![json!({"type": "emoji", "emoji": emoji})]
        };
        let old = chat
            .reactions
            .insert((message_id, from), new.clone())
            .unwrap_or_default();
        let upd = json!({
            "chat": chat.chat.clone(),
            "message_id": message_id,
            "user": user,
            "date": now_unix(),
            "old_reaction": old,
            "new_reaction": new,
        });
        self.enqueue("message_reaction", upd.clone());
        Ok(upd)
    }

    pub(crate) fn set_deactivated(&mut self, user_id: i64) -> Result<(), TestkitError> {
        let rec = self
            .users
            .get_mut(&user_id)
            .ok_or(TestkitError::UserNotFound(user_id))?;
        rec.deactivated = true;
        Ok(())
    }

    pub(crate) fn set_blocked(&mut self, user_id: i64, blocked: bool) -> Result<(), TestkitError> {
        let rec = self
            .users
            .get_mut(&user_id)
            .ok_or(TestkitError::UserNotFound(user_id))?;
        if rec.blocked == blocked {
            return Ok(());
        }
        rec.blocked = blocked;
        let user = rec.user.clone();
        let chat = self.chats[&user_id].chat.clone();
        let (old, new) = if blocked {
            ("member", "kicked")
        } else {
            ("kicked", "member")
        };
        let member = |status: &str| {
            let mut m = json!({"status": status, "user": self.bot_user.clone()});
            if status == "kicked" {
                m["until_date"] = json!(0);
            }
            m
        };
        let upd = json!({
            "chat": chat,
            "from": user,
            "date": now_unix(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        });
        self.enqueue("my_chat_member", upd);
        Ok(())
    }

    pub(crate) fn operator_topic_action(
        &mut self,
        chat_id: i64,
        thread_id: i64,
        by: i64,
        close: bool,
    ) -> Result<Value, TestkitError> {
        let from = self.check_author(by, chat_id)?;
        let chat = self
            .chats
            .get_mut(&chat_id)
            .ok_or(TestkitError::ChatNotFound(chat_id))?;
        let topic = chat
            .topics
            .get_mut(&thread_id)
            .filter(|t| !t.deleted)
            .ok_or(TestkitError::TopicNotFound { chat_id, thread_id })?;
        if topic.is_closed == close {
            return Err(TestkitError::Invalid(format!(
                "topic {thread_id} is already {}",
                if close { "closed" } else { "open" }
            )));
        }
        topic.is_closed = close;
        let mut m = self
            .new_message(chat_id, from, Some(thread_id), None)
            .map_err(|_| TestkitError::ChatNotFound(chat_id))?;
        let key = if close {
            "forum_topic_closed"
        } else {
            "forum_topic_reopened"
        };
        m.insert(key.into(), json!({}));
        let msg = Value::Object(m);
        self.store(&msg);
        self.enqueue("message", msg.clone());
        Ok(msg)
    }

    pub(crate) fn delete_topic(
        &mut self,
        chat_id: i64,
        thread_id: i64,
    ) -> Result<(), TestkitError> {
        let chat = self
            .chats
            .get_mut(&chat_id)
            .ok_or(TestkitError::ChatNotFound(chat_id))?;
        let topic = chat
            .topics
            .get_mut(&thread_id)
            .filter(|t| !t.deleted)
            .ok_or(TestkitError::TopicNotFound { chat_id, thread_id })?;
        topic.deleted = true;
        chat.history
            .retain(|m| m["message_thread_id"].as_i64() != Some(thread_id));
        Ok(())
    }

    pub(crate) fn topics(&self, chat_id: i64) -> Vec<Topic> {
        self.chats
            .get(&chat_id)
            .map(|c| {
                c.topics
                    .iter()
                    .map(|(id, t)| Topic {
                        message_thread_id: *id,
                        name: t.name.clone(),
                        is_closed: t.is_closed,
                        icon_color: t.icon_color,
                        icon_custom_emoji_id: t.icon_custom_emoji_id.clone(),
                        deleted: t.deleted,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A few lines describing the world, for timeout errors.
    pub(crate) fn summary(&self) -> String {
        let mut out = String::new();
        let mut ids: Vec<_> = self.chats.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let c = &self.chats[&id];
            out.push_str(&format!("  chat {id}: {} messages", c.history.len()));
            if !c.topics.is_empty() {
                out.push_str(&format!(", {} topics", c.topics.len()));
            }
            for m in c.history.iter().rev().take(3).rev() {
                let what = m["text"]
                    .as_str()
                    .or(m["caption"].as_str())
                    .map(|t| format!("{t:?}"))
                    .unwrap_or_else(|| content_kind(m).to_owned());
                out.push_str(&format!(
                    "\n    #{} from {} thread {}: {}",
                    m["message_id"],
                    m["from"]["id"],
                    m["message_thread_id"],
                    truncate(&what, 80)
                ));
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "  pending updates: {}, webhook: {}, calls: {:?}, 429s: {}, faults: {}",
            self.updates.len(),
            self.webhook.as_ref().map_or("none", |w| w.url.as_str()),
            self.stats.calls,
            self.stats.too_many_requests,
            self.stats.faults_injected
        ));
        out
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_check_records_objects_outside_the_spec() {
        let spec = crate::spec::global().expect("spec file");
        let bot = json!({"id": 1, "is_bot": true, "first_name": "B"});
        let mut st = State::new(bot, Some(spec));
        st.enqueue("message", json!({"message_id": 1}));
        assert_eq!(
            st.stats.spec_violations.len(),
            1,
            "{:?}",
            st.stats.spec_violations
        );
        st.add_user(NewUser::new(5, "U"));
        st.user_message(NewMessage::text(5, 5, "/start"))
            .expect("message");
        assert_eq!(st.stats.spec_violations.len(), 1, "a real message is valid");
    }
}
