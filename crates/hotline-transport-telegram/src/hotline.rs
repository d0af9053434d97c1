//! `Hotline`: the desk bolted onto a Telegram bot.

use crate::Error;
use crate::albums::{Albums, Run};
use crate::client::{ApiError, TelegramClient};
use crate::completion::Completion;
use crate::decode::{self, HUMAN_CALLBACK};
use crate::feed::UpdateLog;
use crate::runner::SetAsideKeys;
use frankenstein::types::User;
use frankenstein::updates::Update;
use hotline_core::{Desk, Event, RetryPolicy, Standing, UserId};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// What [`Hotline::handle_update`] made of an update.
#[derive(Debug)]
#[must_use = "check `consumed` to know whether your bot should handle the update too"]
pub struct Handled {
    /// The update was the desk's alone (operators' traffic in the backend group, Hotline's own
    /// buttons): the host bot should not handle it. `false` for user traffic, which the host bot
    /// still answers as usual.
    pub consumed: bool,
    /// Resolves when the desk has finished with the update.
    pub completion: Completion,
}

/// The support desk on a Telegram bot. Cheap to clone.
///
/// Embedded in a host bot: hand it every update with [`Hotline::handle_update`], send through
/// [`Hotline::intercept`]'s wrapper to mirror the bot's replies, call [`Hotline::hand_over`] from
/// a "talk to a human" button. Standalone: [`Hotline::run_polling`] or
/// [`Hotline::webhook_router`].
#[derive(Clone, Debug)]
pub struct Hotline {
    pub(crate) desk: Desk,
    pub(crate) client: TelegramClient,
    pub(crate) albums: Albums,
    pub(crate) set_aside_keys: Arc<SetAsideKeys>,
    pub(crate) update_log: UpdateLog,
    /// Whether the timed work (auto-close) runs: started by the first update handed over, so
    /// `AUTOCLOSE` never silently fails to fire because a host forgot to start it.
    pub(crate) ticking: Arc<std::sync::atomic::AtomicBool>,
    pub(crate) tick_every: Duration,
    pub(crate) webhook_retry: RetryPolicy,
    /// Whether the `WEBHOOKS` deliverer runs (started once, with the first update or runner).
    pub(crate) webhooks_started: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for Albums {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Albums")
    }
}

/// The "talk to a human" button for a host bot's inline keyboard: pressing it hands the user to an
/// operator (Hotline answers the callback itself).
pub fn human_button(text: &str) -> frankenstein::types::InlineKeyboardButton {
    frankenstein::types::InlineKeyboardButton::builder()
        .text(text)
        .callback_data(HUMAN_CALLBACK)
        .build()
}

impl Hotline {
    /// The desk.
    pub fn desk(&self) -> &Desk {
        &self.desk
    }

    /// The Bot API client Hotline uses.
    pub fn client(&self) -> &TelegramClient {
        &self.client
    }

    /// The update log in the desk's store, which [`Hotline::run_polling`] fills and the desk
    /// reads; other consumers (a host bot behind the gateway) read it too, each at its own pace.
    pub fn update_log(&self) -> &UpdateLog {
        &self.update_log
    }

    /// Whether an update (JSON text, as Telegram sent it) is the desk's alone: operators'
    /// traffic in the backend group, Hotline's own buttons. A host bot must not see those. An
    /// update that cannot be read is not the desk's (the host may know its kind).
    pub fn is_desks_alone(&self, update: &str) -> bool {
        serde_json::from_str::<decode::RawUpdate>(update)
            .ok()
            .and_then(|raw| raw.decode_caught(self.backend_group()).ok())
            .is_some_and(|decoded| decoded.consumed)
    }

    /// Hands one update to the desk and says whether the host bot should handle it too (see
    /// [`Handled`]; its [`Completion`] resolves when the desk is done with the update).
    ///
    /// Returns at once: the desk works in the background, one user's events in order. Must be
    /// called within a Tokio runtime: outside one, nothing is done and the completion holds
    /// the error. Updates that are not the desk's business pass through untouched.
    pub fn handle_update(&self, update: &Update) -> Handled {
        self.take_decoded(decode::decode(update, self.backend_group()), Run::Spawned)
    }

    /// [`Hotline::handle_update`] for an update as Bot API JSON (the bytes Telegram sent, or a
    /// framework's update serialized back to JSON: a teloxide bot's, say). An update that
    /// cannot be read is not the desk's business: it passes through to the host.
    pub fn handle_update_json(&self, update: &[u8]) -> Handled {
        match serde_json::from_slice::<decode::RawUpdate>(update)
            .map_err(|error| error.to_string())
            .and_then(|raw| {
                raw.decode_caught(self.backend_group())
                    .map_err(|error| error.to_string())
            }) {
            Ok(decoded) => self.take_decoded(decoded, Run::Spawned),
            Err(error) => {
                tracing::debug!(%error, "hotline: an update the desk cannot read passes through");
                Handled {
                    consumed: false,
                    completion: Completion::ready(),
                }
            }
        }
    }

    /// The backend group's chat id.
    pub(crate) fn backend_group(&self) -> hotline_core::ChatId {
        self.desk.config().backend_group
    }

    /// Hands an update already decoded for this desk's backend group to the desk.
    pub(crate) fn take_decoded(&self, decoded: decode::Decoded, run: Run) -> Handled {
        if (decoded.event.is_some() || decoded.answer_callback.is_some())
            && tokio::runtime::Handle::try_current().is_err()
        {
            // The callback's answer and an album's collection run on tasks of their own:
            // outside a runtime, say so instead of panicking in `tokio::spawn`.
            return Handled {
                consumed: decoded.consumed,
                completion: Completion::failed(hotline_core::Error::Stopped(
                    "Hotline::handle_update needs a Tokio runtime".into(),
                )),
            };
        }
        self.keep_ticking();
        if let Some(callback) = decoded.answer_callback {
            let client = self.client.clone();
            tokio::spawn(async move {
                let params = json!({"callback_query_id": callback, "text": "An operator will answer you here."});
                if let Err(error) = client.call("answerCallbackQuery", params).await {
                    tracing::info!(%error, "hotline: answering a callback failed");
                }
            });
        }
        let completion = match decoded.event {
            Some(event) => self.albums.submit_to(&self.desk, event, run),
            None => Completion::ready(),
        };
        Handled {
            consumed: decoded.consumed,
            completion,
        }
    }

    /// Hands the user to an operator (the host bot's own button or command): opens their topic
    /// with their recent messages as context, like a keyword would.
    ///
    /// The hand-over starts at once and runs whether or not the returned [`Completion`] is
    /// awaited: drop it (`let _ = hotline.hand_over(&user);`) to go on, or await it to know the
    /// topic is open. Needs a Tokio runtime: outside one, nothing is done and the completion
    /// holds the error.
    pub fn hand_over(&self, user: &User) -> Completion {
        self.keep_ticking();
        // Outside a runtime `Desk::dispatch` answers with an error itself (no task to spawn).
        self.albums.submit(
            &self.desk,
            Event::HandOver {
                user: decode::profile(decode::Sender::from(user)),
            },
        )
    }

    /// Starts a mailing of `content` to the users of `segment` (the `/send` syntax: `#vip
    /// lang:de`, `start:promo42`, `active:<30d`, ...; empty: every user who ever wrote),
    /// sent below relays by the desk's mailer, which this starts if nothing did yet. The
    /// handle reports progress, pauses, resumes and cancels.
    ///
    /// ```no_run
    /// # async fn demo(hotline: hotline_transport_telegram::Hotline) -> Result<(), hotline_transport_telegram::Error> {
    /// use hotline_core::{Greeting, MailingContent};
    /// let mailing = hotline
    ///     .broadcast("#vip", MailingContent::Message(Greeting::text("New in the shop!", false)))
    ///     .await?;
    /// let done = mailing.finished().await?;
    /// println!("sent {} of {}", done.counts.sent, mailing.recipients());
    /// # Ok(()) }
    /// ```
    ///
    /// A segment that does not parse is an [`Error::Config`] naming `segment`.
    pub async fn broadcast(
        &self,
        segment: &str,
        content: hotline_core::MailingContent,
    ) -> Result<hotline_core::MailingHandle, Error> {
        let segment = hotline_core::segment::Segment::parse(segment)
            .map_err(|e| Error::config("segment", e.to_string()))?;
        self.keep_ticking();
        Ok(self.desk.broadcast(&segment, content).await?)
    }

    /// Where the user with this Telegram id stands with the desk: with an operator (an open
    /// topic), closed, banned, or not at the desk. A host bot can go quiet while a human
    /// handles the user, and answer again after `/close`.
    pub async fn conversation(&self, user_id: u64) -> Result<Standing, Error> {
        let user = UserId(i64::try_from(user_id).map_err(|_| {
            Error::config("user_id", format!("{user_id} is not a Telegram user id"))
        })?);
        Ok(self.desk.standing(user).await?)
    }

    /// [`Hotline::conversation`] of the user an update comes from (their message in the private
    /// chat, their button press); [`Standing::NotAtDesk`] for anything else, and when the store
    /// cannot say (logged), so a host bot answers rather than stays silent by mistake.
    pub async fn conversation_of(&self, update: &Update) -> Standing {
        use frankenstein::updates::UpdateContent;
        let user = match &update.content {
            UpdateContent::Message(m) | UpdateContent::EditedMessage(m)
                if m.chat.type_field == frankenstein::types::ChatType::Private =>
            {
                m.from.as_ref().map(|u| u.id)
            }
            UpdateContent::CallbackQuery(q) => Some(q.from.id),
            _ => None,
        };
        let Some(user) = user else {
            return Standing::NotAtDesk;
        };
        match self.conversation(user).await {
            Ok(standing) => standing,
            Err(error) => {
                tracing::warn!(%error, "hotline: where a user stands could not be read");
                Standing::NotAtDesk
            }
        }
    }

    /// `updates` without those of users an operator is handling now
    /// ([`Standing::WithOperator`]): a host bot that answers only what this returns goes quiet
    /// while a human is on the case and answers again once the topic is closed.
    pub async fn not_with_operator(
        &self,
        updates: impl IntoIterator<Item = Update>,
    ) -> Vec<Update> {
        let mut kept = Vec::new();
        for update in updates {
            if !self.conversation_of(&update).await.is_with_operator() {
                kept.push(update);
            }
        }
        kept
    }

    /// Starts the desk's timed work (every [`HotlineBuilder::tick_every`]), if nothing started it yet (inside a Tokio
    /// runtime only). Every update handed over calls it, so a host never has to.
    fn keep_ticking(&self) {
        use std::sync::atomic::Ordering;
        self.keep_delivering();
        if !self.ticking.load(Ordering::Relaxed)
            && tokio::runtime::Handle::try_current().is_ok()
            && !self.ticking.swap(true, Ordering::Relaxed)
        {
            drop(self.spawn_ticker(self.tick_every));
        }
    }

    /// Runs the desk's timed work (auto-close, the archive's retention) every `every` until
    /// the desk stops (its [`hotline_core::Stop`] signal) or the returned handle is aborted,
    /// and starts the desk's mailer ([`hotline_core::Desk::run_mailings`], one per desk, until
    /// the desk stops). The desk starts both itself, ticking every minute, with the first
    /// update it is handed: call this only for another period.
    pub fn spawn_ticker(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        self.ticking
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let mailer = self.desk.clone();
        tokio::spawn(async move { mailer.run_mailings().await });
        let desk = self.desk.clone();
        let stop = self.desk.stop_signal().clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                if stop.or_stop(interval.tick()).await.is_err() {
                    return;
                }
                if let Err(error) = desk.tick().await
                    && !error.is_interrupted()
                {
                    tracing::warn!(%error, "hotline: timed work failed");
                    hotline_core::report_unobserved(
                        error.kind(),
                        "hotline: timed work failed",
                        &error,
                    );
                }
            }
        })
    }

    /// Checks the backend group once: a forum, with the bot an admin allowed to manage topics.
    /// Returns a list of problems in plain words, each naming its fix (empty when all is well).
    ///
    /// A failure to check at all is an [`Error::Config`] naming the setting at fault by its
    /// [`Settings::from_env`](crate::Settings::from_env) name: a token the Bot API refuses (`TELEGRAM_BOT_TOKEN`), a Bot API
    /// that cannot be reached (`TELEGRAM_API_URL`, with the address tried), a group the bot
    /// cannot see (`HOTLINE_BACKEND_GROUP`). The token itself is never shown.
    pub async fn preflight(&self) -> Result<Vec<String>, Error> {
        let group = self.desk.config().backend_group.0;
        let mut problems = Vec::new();
        let chat = self
            .client
            .call("getChat", json!({"chat_id": group}))
            .await
            .map_err(|e| self.preflight_error(e))?;
        if chat.get("is_forum").and_then(serde_json::Value::as_bool) != Some(true) {
            problems.push(format!(
                "the backend group {group} is not a forum: turn on Topics in its settings"
            ));
        }
        let bot_id = self.client.token().bot_id();
        let member = self
            .client
            .call(
                "getChatMember",
                json!({"chat_id": group, "user_id": bot_id}),
            )
            .await
            .map_err(|e| self.preflight_error(e))?;
        let status = member
            .get("status")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let can_manage = member
            .get("can_manage_topics")
            .and_then(serde_json::Value::as_bool);
        if status != "creator" && (status != "administrator" || can_manage == Some(false)) {
            problems.push(format!(
                "the bot is `{status}` in the backend group: make it an admin allowed to manage topics"
            ));
        }
        Ok(problems)
    }

    /// [`Hotline::preflight`] that refuses to go on: `Err(`[`Error::Preflight`]`)` listing every
    /// problem (and its fix) when the backend group is not a forum or the bot may not manage
    /// its topics, since users would then get nothing. What `hotline-desk` runs at start.
    pub async fn preflight_strict(&self) -> Result<(), Error> {
        let problems = self.preflight().await?;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Preflight {
                group: self.desk.config().backend_group.0,
                problems,
            })
        }
    }

    /// A failed start-up call, as the setting to fix.
    fn preflight_error(&self, error: ApiError) -> Error {
        let group = self.desk.config().backend_group.0;
        let api = self.client.base_url();
        match &error {
            ApiError::Telegram {
                code: 401,
                description,
                ..
            } => Error::config(
                "TELEGRAM_BOT_TOKEN",
                format!(
                    "the Bot API at {api} refused the token (401 {description}): copy it again \
                     from @BotFather"
                ),
            ),
            ApiError::Telegram {
                code: 404,
                description,
                ..
            } => Error::config(
                "TELEGRAM_BOT_TOKEN",
                format!(
                    "the Bot API at {api} knows no bot with this token (404 {description}): copy \
                     it again from @BotFather (and check TELEGRAM_API_URL if it is not Telegram's)"
                ),
            ),
            ApiError::Telegram {
                code: 400 | 403,
                description,
                ..
            } => Error::config(
                "HOTLINE_BACKEND_GROUP",
                format!(
                    "the bot cannot see group {group} ({description}): check the id (a \
                     supergroup's starts with -100) and add the bot to the operators' group"
                ),
            ),
            ApiError::Network { reason, .. } => {
                let host = frankenstein::reqwest::Url::parse(api)
                    .ok()
                    .and_then(|url| {
                        url.host_str().map(|host| match url.port() {
                            Some(port) => format!("{host}:{port}"),
                            None => host.to_owned(),
                        })
                    })
                    .unwrap_or_else(|| api.to_owned());
                Error::config(
                    "TELEGRAM_API_URL",
                    format!("cannot reach the Bot API at {host} ({api}): {reason}"),
                )
            }
            _ => Error::Api(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_core::ChatId;
    use hotline_core::Config;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn resolved(completion: Completion) -> Result<(), hotline_core::Error> {
        let mut completion = pin!(completion);
        match completion
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(result) => result,
            Poll::Pending => panic!("the completion should have resolved at once"),
        }
    }

    /// No Tokio runtime here: handing updates over must report it, not panic.
    #[test]
    fn outside_a_runtime_updates_fail_their_completion_instead_of_panicking() {
        let config = Config::builder(ChatId(-100)).build().expect("config");
        let hotline = Hotline::builder("42:SECRET", config)
            .api_url("http://127.0.0.1:9")
            .build()
            .expect("built without a runtime");
        let update = |content: serde_json::Value| -> Update {
            let mut value = json!({"update_id": 1});
            for (k, v) in content.as_object().expect("an object") {
                value[k] = v.clone();
            }
            serde_json::from_value(value).expect("an update")
        };
        let ann = json!({"id": 7, "is_bot": false, "first_name": "Ann"});
        let chat = json!({"id": 7, "type": "private", "first_name": "Ann"});
        let button = update(json!({"callback_query": {
            "id": "cb1", "from": ann, "chat_instance": "x", "data": HUMAN_CALLBACK}}));
        let album_part = update(json!({"message": {"message_id": 3, "date": 1, "chat": chat,
            "from": ann, "caption": "a", "photo": [{"file_id": "p", "file_unique_id": "u",
            "width": 1, "height": 1}], "media_group_id": "g"}}));
        for update in [button, album_part] {
            let handled = hotline.handle_update(&update);
            let error = resolved(handled.completion).expect_err("no runtime to run it on");
            assert!(error.to_string().contains("Tokio runtime"), "{error}");
        }
        let user: User = serde_json::from_value(ann).expect("a user");
        let error = resolved(hotline.hand_over(&user)).expect_err("no runtime");
        assert!(error.to_string().contains("Tokio runtime"), "{error}");
    }
}
