//! # hotline-testkit: a fake Telegram Bot API server
//!
//! A stateful, in-memory Telegram on `127.0.0.1`, speaking the Bot API over real HTTP at
//! `{api_url}/bot<TOKEN>/<method>` closely enough that unmodified clients
//! (frankenstein, python-telegram-bot, aiogram) work against it. Beside the Bot API it has a
//! control plane, as a Rust API ([`FakeTelegram`]) and as HTTP JSON under `/_testkit/`, to act
//! as users and operators, read what each chat holds, set flood limits and inject faults.
//!
//! ```
//! use hotline_testkit::{FakeTelegram, NewGroup, NewMessage, NewUser};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), hotline_testkit::TestkitError> {
//! let tg = FakeTelegram::start("123:ABC").await?;
//! tg.add_user(NewUser::new(1001, "Ann").username("ann"));
//! tg.add_group(NewGroup::forum(-1001000000001, "Support"));
//!
//! // Ann writes to the bot: the bot will receive it from getUpdates (or its webhook).
//! let msg = tg.send_message(NewMessage::text(1001, 1001, "/start"))?;
//! assert_eq!(msg["entities"][0]["type"], "bot_command");
//!
//! // Point any Bot API client at `tg.api_url()` with token "123:ABC", then wait for effects:
//! let url = format!("{}/bot{}/sendMessage?chat_id=1001&text=hello", tg.api_url(), tg.token());
//! # let _ = url;
//! # tg.wait_for("Ann's message", Duration::from_secs(1), |t| t.messages(1001).len() == 1).await?;
//! tg.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! ## Faithfulness
//!
//! * Every method of the Bot API ([`BOT_API_VERSION`]) is answered. The methods in
//!   [`METHODS`] are modelled (every one the desk uses: getMe, getUpdates, webhooks,
//!   send/copy/forward, media and albums, contacts, locations, venues, polls and dice, edits,
//!   deletes, reactions, forum topics, callback answers, commands, menu button, getChat,
//!   getChatMember, getChatAdministrators, getUserProfilePhotos, sendChatAction, getFile).
//!   The others (payments, stickers, business accounts, stories, invite links...) check the
//!   parameters the spec requires, change nothing, answer the smallest result the spec allows
//!   for their return type (`true`, an empty list, a minimal object), and are counted in
//!   [`Stats::not_modelled`]. Only a name outside the Bot API answers 404 `Not Found`.
//! * Group members are plain members unless made administrators or the creator
//!   ([`FakeTelegram::add_member_as`]); `getChatAdministrators` lists the creator, the
//!   administrators and the bot when it is an admin.
//! * Files: uploads and `http(s)://` URLs get a fresh `file_id`; a `file_id` the bot sends must
//!   be known (uploaded, or seen in a message), else `Bad Request: wrong file identifier/HTTP
//!   URL specified`. The control plane accepts any string as a file id and registers it.
//!   `getFile` gives a `file_path` served at `{api_url}/file/bot<TOKEN>/<file_path>`.
//! * Method names are case-insensitive; GET and POST; parameters from the query string and a
//!   JSON, form-urlencoded (arrays/objects as JSON strings) or multipart body (uploads are
//!   stored and given a `file_id`). Numbers given as strings are accepted.
//! * Answers use Telegram's envelope: `{"ok":true,"result":...}` or
//!   `{"ok":false,"error_code":N,"description":"...","parameters":{...}}` with the HTTP
//!   status equal to `error_code`; errors are worded as Telegram words them (wrong token: 401
//!   `Unauthorized`; unknown method: 404 `Not Found`; `Bad Request: chat not found`,
//!   `Bad Request: message thread not found`, `Forbidden: bot was blocked by the user`,
//!   `Bad Request: not enough rights to create a topic`, `Bad Request: message is too long`,
//!   `Bad Request: chat_id is empty`, `Bad Request: message text is empty`, other missing
//!   parameters `Bad Request: parameter "NAME" is required`).
//! * The bot never receives updates for its own messages; messages written through the
//!   control plane do produce updates (`message`, `edited_message`, `callback_query`,
//!   `message_reaction`, `my_chat_member` when a user blocks or unblocks the bot).
//! * `allowed_updates` works as on Telegram: by default (or with `[]`) every kind except
//!   `chat_member`, `message_reaction` and `message_reaction_count`; the filter applies when
//!   an update is created, so **ask for `message_reaction` explicitly** to receive reactions.
//! * Forum topics: a topic's `message_thread_id` is the message id of its
//!   `forum_topic_created` service message. Every message in a topic carries
//!   `message_thread_id` and `is_topic_message: true`, and, when it replies to nothing else,
//!   `reply_to_message` is the topic's creation message (as on Telegram: do not take such a
//!   reply for a reply to a user's message). A reply inherits its target's topic.
//! * In a group where the bot is not an admin, privacy mode applies: the bot only sees
//!   commands, mentions of it and replies to its messages.
//! * `parse_mode` HTML, MarkdownV2 and Markdown are parsed into entities (MarkdownV2's
//!   reserved characters must be escaped, or the call fails as on Telegram); a word starting
//!   with `/` gets a `bot_command` entity.
//! * Long polling (`getUpdates` with `timeout`) wakes as soon as an update is queued; an idle
//!   server uses no CPU. A second concurrent `getUpdates` makes the first answer 409, and
//!   `getUpdates` while a webhook is set answers 409. Webhooks are delivered one update at a
//!   time, in order, with `X-Telegram-Bot-Api-Secret-Token` (plain `http://` URLs are
//!   accepted, unlike Telegram).
//!
//! ## Flood limits and `time_scale`
//!
//! [`FloodLimits`] are off by default. Counted calls are those that put or change a message
//! in a chat (every `send*`, `copyMessage(s)`, `forwardMessage`, `editMessageText` /
//! `editMessageCaption`, and the forum topic methods). Each limit is a sliding window:
//! `global_per_second` and `per_chat_per_second` (private chats) over one second,
//! `per_group_per_minute` (groups, negative ids) over sixty seconds. Each call counts once,
//! `sendMediaGroup` and `copyMessages` included.
//!
//! `time_scale` (default 1) makes the limit clock run faster than the wall clock: **a window
//! of `W` Telegram seconds lasts `W / time_scale` wall-clock seconds**. With `time_scale: 60`,
//! "20 per minute" means 20 per wall-clock second. A call over a limit is answered
//! `429 Too Many Requests: retry after N` with `parameters.retry_after = N`, where **`N` is the
//! real wait, in wall-clock seconds**: the time until the oldest call in the full window
//! leaves it, rounded up, at least 1. An unmodified client that honours `retry_after` (sleeps
//! `N` seconds, then repeats the call) therefore waits about as long as the scaled window
//! asks, and is guaranteed to get through (if nothing else used the slot meanwhile). Refused
//! calls are not counted in the window.
//!
//! ## Faults
//!
//! [`Fault`]s change what matching calls (by method, by chat) meet: added latency, then a
//! dropped connection before the call acts, a call that acts and then loses its answer (the
//! connection is closed after Telegram did the work: the retry-after-timeout case), or an
//! error answer instead of acting; for the next `count` calls, a `ratio` of calls, or every
//! call until cleared. Over HTTP, e.g. the next two copies into one chat act and lose their
//! answers:
//! `POST /_testkit/faults {"method":"copyMessage","chat_id":1001,"drop_after_acting":true,"count":2}`.
//!
//! ## Spec conformance
//!
//! [`spec`] validates Bot API objects against `shared/telegram-bot-api/api.min.json`. In debug
//! builds, when that file is found, the server checks every result it returns and every update
//! it queues, and records violations in [`Stats::spec_violations`] (its own tests assert that
//! this stays empty).
//!
//! ## Control plane over HTTP
//!
//! Every answer is `{"ok":true,"result":...}` (or `{"ok":false,...}`):
//!
//! | request | body | result |
//! |---|---|---|
//! | `POST /_testkit/users` | `{"id","first_name","last_name"?,"username"?,"language_code"?}` | User |
//! | `POST /_testkit/users/{id}/block`, `/unblock`, `/deactivate` | | `true` |
//! | `POST /_testkit/groups` | `{"id","title","is_forum","bot_is_admin"}` | Chat |
//! | `POST /_testkit/groups/{chat_id}/members` | `{"user_id","status"?}` ([`MemberStatus`]: `member` (default), `administrator`, `limited_administrator` (no `can_restrict_members`), `creator`) | `true` |
//! | `GET /_testkit/groups/{chat_id}/topics` | | `[Topic]` |
//! | `POST /_testkit/groups/{chat_id}/topics/{thread_id}/delete`, `/close`, `/reopen` | `{"from"?}` (operator; default the first member) | `true` / service Message |
//! | `POST /_testkit/messages` | [`NewMessage`] | Message |
//! | `POST /_testkit/edits` | `{"from","chat_id","message_id","text"}` | Message |
//! | `POST /_testkit/callbacks` | `{"from","chat_id","message_id","data"}` | CallbackQuery |
//! | `GET /_testkit/callbacks/{id}` | | the bot's answer or `null` |
//! | `POST /_testkit/reactions` | `{"from","chat_id","message_id","emoji"}` | MessageReactionUpdated |
//! | `GET /_testkit/chats/{chat_id}/messages[?message_thread_id=N]` | | `[Message]` |
//! | `PUT /_testkit/limits` | [`FloodLimits`] | the limits |
//! | `POST /_testkit/faults`, `DELETE /_testkit/faults` | [`Fault`] | the fault / `true` |
//! | `GET /_testkit/stats` | | [`Stats`] |
//! | `GET /_testkit/updates` | | pending updates (not consumed) |

mod api;
mod content;
mod error;
mod files;
mod format;
mod limits;
mod model;
mod params;
mod server;
pub mod spec;
mod state;
mod webhook;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

pub use api::{BOT_API_VERSION, METHODS};
pub use error::TestkitError;
pub use model::{
    Call, Fault, FloodLimits, MemberStatus, NewGroup, NewMessage, NewUser, Stats, Topic,
};

use limits::FaultRec;
use state::State;

pub(crate) struct Shared {
    pub(crate) token: String,
    pub(crate) bot_user: Value,
    state: Mutex<State>,
    /// Woken whenever updates are queued (long polls, webhook pusher).
    pub(crate) updates: Notify,
    /// Bumped on every change, for `wait_for`.
    pub(crate) changed: watch::Sender<u64>,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) spec: Option<&'static spec::Spec>,
    addr: SocketAddr,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running fake Telegram server. Cheap to clone; the server runs on tokio tasks until
/// [`FakeTelegram::shutdown`] (or until the runtime ends).
#[derive(Clone)]
pub struct FakeTelegram {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for FakeTelegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeTelegram")
            .field("api_url", &self.api_url())
            .finish_non_exhaustive()
    }
}

impl FakeTelegram {
    /// Starts a server on an ephemeral port of 127.0.0.1 for bot token `token`
    /// (`"<bot id>:<secret>"`; the bot's user id is the part before the colon, its username
    /// `hotline_test_<id>_bot`). Call it inside a tokio runtime: the server runs on spawned
    /// tasks of that runtime (a `#[tokio::test]`'s current-thread runtime is fine).
    pub async fn start(token: &str) -> Result<FakeTelegram, TestkitError> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), token).await
    }

    /// Starts a server on `addr` (port 0 for an ephemeral port).
    pub async fn start_on(addr: SocketAddr, token: &str) -> Result<FakeTelegram, TestkitError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| TestkitError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| TestkitError::Bind { addr, source })?;
        let bot_id: i64 = token
            .split(':')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        let bot_user = json!({
            "id": bot_id,
            "is_bot": true,
            "first_name": "Hotline Test Bot",
            "username": format!("hotline_test_{bot_id}_bot"),
        });
        let spec = if cfg!(debug_assertions) {
            spec::global().ok()
        } else {
            None
        };
        let (changed, _) = watch::channel(0u64);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            token: token.to_owned(),
            bot_user: bot_user.clone(),
            state: Mutex::new(State::new(bot_user, spec)),
            updates: Notify::new(),
            changed,
            shutdown,
            spec,
            addr: local,
        });
        let fake = FakeTelegram { shared };
        tokio::spawn(server::serve(
            listener,
            server::router(fake.clone()),
            shutdown_rx,
        ));
        tokio::spawn(webhook::run(fake.clone()));
        Ok(fake)
    }

    /// The base URL, e.g. `http://127.0.0.1:PORT`; clients call
    /// `{api_url}/bot{token}/{method}`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The bot token the server accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The bot's User object (as in `from` of its messages).
    pub fn bot_user(&self) -> Value {
        self.shared.bot_user.clone()
    }

    /// The bot's user id (the token's part before the colon).
    pub fn bot_id(&self) -> i64 {
        self.shared.bot_user["id"].as_i64().unwrap_or(0)
    }

    /// Runs `f` on the state, then wakes waiters (long polls, webhook, `wait_for`).
    fn mutate<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let (r, woke) = {
            let mut st = self.shared.lock();
            let r = f(&mut st);
            (r, std::mem::take(&mut st.new_updates))
        };
        if woke {
            self.shared.updates.notify_waiters();
        }
        self.bump();
        r
    }

    pub(crate) fn bump(&self) {
        self.shared.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Adds (or updates) a user and the private chat between the user and the bot
    /// (chat id = user id). Returns the User object.
    pub fn add_user(&self, user: NewUser) -> Value {
        self.mutate(|st| st.add_user(user))
    }

    /// Adds (or updates) a supergroup with the bot in it. Returns the Chat object.
    pub fn add_group(&self, group: NewGroup) -> Value {
        self.mutate(|st| st.add_group(group))
    }

    /// Adds user `user_id` (already added) to group `chat_id` as a member (an operator).
    pub fn add_member(&self, chat_id: i64, user_id: i64) -> Result<(), TestkitError> {
        self.add_member_as(chat_id, user_id, MemberStatus::Member)
    }

    /// Adds user `user_id` (already added) to group `chat_id`, or changes their standing
    /// there: a plain member, an administrator, or the group's creator (see [`MemberStatus`]).
    pub fn add_member_as(
        &self,
        chat_id: i64,
        user_id: i64,
        status: MemberStatus,
    ) -> Result<(), TestkitError> {
        self.mutate(|st| st.add_member(chat_id, user_id, status))
    }

    /// A user or operator writes a message; the bot gets a `message` update. Returns the
    /// Message as the bot receives it.
    pub fn send_message(&self, msg: NewMessage) -> Result<Value, TestkitError> {
        self.mutate(|st| st.user_message(msg))
    }

    /// A user edits their message; the bot gets an `edited_message` update.
    pub fn edit_message(
        &self,
        from: i64,
        chat_id: i64,
        message_id: i64,
        text: &str,
    ) -> Result<Value, TestkitError> {
        self.mutate(|st| st.user_edit(from, chat_id, message_id, text))
    }

    /// A user presses the inline button with `callback_data == data` under a message; the bot
    /// gets a `callback_query` update. Returns the CallbackQuery (its `id` is what
    /// `answerCallbackQuery` takes).
    pub fn press_button(
        &self,
        from: i64,
        chat_id: i64,
        message_id: i64,
        data: &str,
    ) -> Result<Value, TestkitError> {
        self.mutate(|st| st.press_button(from, chat_id, message_id, data))
    }

    /// The bot's answer to a callback query (`{"text","show_alert","url"?}`), once given.
    pub fn callback_answer(&self, callback_query_id: &str) -> Option<Value> {
        self.shared.lock().callback_answer(callback_query_id)
    }

    /// A user sets their reaction on a message (`""` removes it); the bot gets a
    /// `message_reaction` update if its `allowed_updates` asks for them. Returns the
    /// MessageReactionUpdated.
    pub fn react(
        &self,
        from: i64,
        chat_id: i64,
        message_id: i64,
        emoji: &str,
    ) -> Result<Value, TestkitError> {
        self.mutate(|st| st.react(from, chat_id, message_id, emoji))
    }

    /// The reactions the bot set on a message with `setMessageReaction`.
    pub fn bot_reactions(&self, chat_id: i64, message_id: i64) -> Vec<Value> {
        self.shared
            .lock()
            .chats
            .get(&chat_id)
            .and_then(|c| c.bot_reactions.get(&message_id).cloned())
            .unwrap_or_default()
    }

    pub(crate) fn set_blocked(&self, user_id: i64, blocked: bool) -> Result<(), TestkitError> {
        self.mutate(|st| st.set_blocked(user_id, blocked))
    }

    /// The user blocks the bot: sends to them answer 403 "Forbidden: bot was blocked by the
    /// user", and the bot gets a `my_chat_member` update (new status `kicked`). Unknown users
    /// are ignored.
    pub fn block_user(&self, user_id: i64) {
        let _ = self.set_blocked(user_id, true);
    }

    /// The ids of a chat's pinned messages, oldest pin first.
    pub fn pinned_messages(&self, chat_id: i64) -> Vec<i64> {
        self.mutate(|state| {
            state
                .chat(chat_id)
                .map(|c| c.pinned.clone())
                .unwrap_or_default()
        })
    }

    /// Queues an update of `kind` exactly as given, outside the Bot API spec if need be (an
    /// update kind newer than a client's types, say), to prove that a client skips what it
    /// cannot decode instead of stalling. Returns its `update_id`.
    pub fn push_raw_update(&self, kind: &str, payload: Value) -> i64 {
        self.mutate(|state| {
            let id = state.next_update_id;
            state.next_update_id += 1;
            let mut update = serde_json::Map::new();
            update.insert("update_id".into(), serde_json::json!(id));
            update.insert(kind.into(), payload);
            state
                .updates
                .push_back(state::QueuedUpdate::new(id, &Value::Object(update)));
            state.new_updates = true;
            id
        })
    }

    /// The user unblocks the bot (a `my_chat_member` update with status `member`).
    pub fn unblock_user(&self, user_id: i64) {
        let _ = self.set_blocked(user_id, false);
    }

    /// The user deletes their account: sends to them answer 403 "Forbidden: user is
    /// deactivated" from now on (no update, as on Telegram).
    pub fn deactivate_user(&self, user_id: i64) -> Result<(), TestkitError> {
        self.mutate(|st| st.set_deactivated(user_id))
    }

    /// An operator deletes a topic, with all its messages. No update (as on Telegram); sends
    /// to it then answer 400 "Bad Request: message thread not found".
    pub fn delete_topic(&self, chat_id: i64, thread_id: i64) -> Result<(), TestkitError> {
        self.mutate(|st| st.delete_topic(chat_id, thread_id))
    }

    /// Operator `by` (a group member) closes a topic: a `forum_topic_closed` service message
    /// is posted and the bot gets it as an update. Returns that message.
    pub fn close_topic(
        &self,
        chat_id: i64,
        thread_id: i64,
        by: i64,
    ) -> Result<Value, TestkitError> {
        self.mutate(|st| st.operator_topic_action(chat_id, thread_id, by, true))
    }

    /// Operator `by` reopens a topic (`forum_topic_reopened` service message and update).
    pub fn reopen_topic(
        &self,
        chat_id: i64,
        thread_id: i64,
        by: i64,
    ) -> Result<Value, TestkitError> {
        self.mutate(|st| st.operator_topic_action(chat_id, thread_id, by, false))
    }

    pub(crate) fn first_member(&self, chat_id: i64) -> Option<i64> {
        match &self.shared.lock().chats.get(&chat_id)?.kind {
            state::ChatKind::Group { members, .. } => members.keys().next().copied(),
            state::ChatKind::Private { .. } => None,
        }
    }

    /// Every message in a chat, in order, the bot's and service messages included, in their
    /// current state (edits applied, deleted ones gone). Empty for an unknown chat.
    pub fn messages(&self, chat_id: i64) -> Vec<Value> {
        self.shared
            .lock()
            .chats
            .get(&chat_id)
            .map(|c| c.history.clone())
            .unwrap_or_default()
    }

    /// The messages of one forum topic (its creation service message included).
    pub fn thread_messages(&self, chat_id: i64, thread_id: i64) -> Vec<Value> {
        self.shared
            .lock()
            .chats
            .get(&chat_id)
            .map(|c| {
                c.history
                    .iter()
                    .filter(|m| m["message_thread_id"].as_i64() == Some(thread_id))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The forum topics of a group, deleted ones included (flagged).
    pub fn topics(&self, chat_id: i64) -> Vec<Topic> {
        self.shared.lock().topics(chat_id)
    }

    /// Updates queued for the bot and not yet confirmed (not consumed by this call).
    pub fn pending_updates(&self) -> Vec<Value> {
        let queued: Vec<state::QueuedUpdate> = self.shared.lock().updates.iter().cloned().collect();
        queued.iter().map(state::QueuedUpdate::value).collect()
    }

    /// Sets the flood limits (replacing the previous ones and resetting their windows).
    pub fn set_limits(&self, limits: FloodLimits) {
        self.mutate(|st| {
            st.limits = limits;
            st.limiter.reset();
        });
    }

    /// The current limit clock speed (1 unless [`FloodLimits::time_scale`] says otherwise).
    /// The flood limits' `retry_after` is already in wall-clock seconds: do not divide it by
    /// this.
    pub fn time_scale(&self) -> f64 {
        limits::time_scale(&self.shared.lock().limits)
    }

    /// Adds a fault (see [`Fault`]).
    pub fn inject_fault(&self, fault: Fault) {
        self.mutate(|st| {
            let remaining = fault.count;
            st.faults.push(FaultRec { fault, remaining });
        });
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.mutate(|st| st.faults.clear());
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Every Bot API call that reached a method (not one refused for a wrong token or an
    /// unknown method, nor one whose connection a fault dropped before it acted), in order of
    /// completion, with its parameters and outcome (injected errors included; a call that
    /// acted and then lost its answer is here with the outcome it had).
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    /// The calls of one method (case-insensitive).
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method))
            .cloned()
            .collect()
    }

    /// Waits until `cond` holds, re-checking on every change of the server's state and every
    /// 20 ms (cheap: no busy loop). On timeout the error names `what` and summarises the state.
    pub async fn wait_for<F: Fn(&FakeTelegram) -> bool>(
        &self,
        what: &str,
        timeout: Duration,
        cond: F,
    ) -> Result<(), TestkitError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.shared.changed.subscribe();
        loop {
            rx.borrow_and_update();
            if cond(self) {
                return Ok(());
            }
            // Woken on every change of the world; the tick catches conditions on things that
            // change without a notification (counters of calls still in progress).
            tokio::select! {
                r = rx.changed() => {
                    if r.is_err() {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = tokio::time::sleep_until(deadline) => {
                    if cond(self) {
                        return Ok(());
                    }
                    return Err(TestkitError::Timeout {
                        what: what.to_owned(),
                        timeout_ms: timeout.as_millis(),
                        summary: self.shared.lock().summary(),
                    });
                }
            }
        }
    }

    /// Stops the server: the listener closes, connections and long polls end.
    pub async fn shutdown(self) {
        let _ = self.shared.shutdown.send(true);
        tokio::task::yield_now().await;
    }
}
