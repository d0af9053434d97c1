//! A desk on the fake Telegram, run by the polling runner, with helpers that read what users and
//! operators see.

#![allow(dead_code, unreachable_pub)]

pub mod desk_binary;
pub mod desk_process;
pub mod host_bots;
pub mod receiver;

use hotline::core::{ChatId, Config, UserId};
use hotline::telegram::{Hotline, Limits};
use hotline_testkit::{FakeTelegram, NewGroup, NewMessage, NewUser};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "777001:E2E-secret-token-VALUE";
pub const GROUP: i64 = -1_001_000_000_777;
pub const OPERATOR: i64 = 2001;
pub const WAIT: Duration = Duration::from_secs(30);

pub struct Desk {
    pub tg: FakeTelegram,
    pub hotline: Hotline,
    stop: Option<oneshot::Sender<()>>,
    runner: Option<JoinHandle<Result<(), hotline::telegram::Error>>>,
}

/// A fake Telegram with a forum group and an operator in it.
pub async fn fake() -> FakeTelegram {
    let tg = FakeTelegram::start(TOKEN).await.expect("fake telegram");
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    tg.add_user(NewUser::new(OPERATOR, "Olga"));
    tg.add_member(GROUP, OPERATOR).expect("operator");
    tg
}

pub fn config(params: &[(&str, &str)]) -> Config {
    Config::builder(ChatId(GROUP))
        .set_all(params.iter().copied())
        .expect("params")
        .build()
        .expect("config")
}

/// A desk with `params`, no pacing, polling the fake server.
pub async fn start(params: &[(&str, &str)]) -> Desk {
    start_on(fake().await, params, Limits::off()).await
}

pub async fn start_on(tg: FakeTelegram, params: &[(&str, &str)], limits: Limits) -> Desk {
    let hotline = Hotline::builder(TOKEN, config(params))
        .api_url(tg.api_url())
        .limits(limits)
        .album_quiet(Duration::from_millis(200))
        .build()
        .expect("hotline");
    run(tg, hotline)
}

/// Runs `hotline` (built on `tg`) with the polling runner.
pub fn run(tg: FakeTelegram, hotline: Hotline) -> Desk {
    let (stop, stopped) = oneshot::channel::<()>();
    let runner = {
        let hotline = hotline.clone();
        tokio::spawn(async move {
            hotline
                .run_polling(async {
                    let _ = stopped.await;
                })
                .await
        })
    };
    Desk {
        tg,
        hotline,
        stop: Some(stop),
        runner: Some(runner),
    }
}

pub fn text_of(m: &Value) -> String {
    m.get("text")
        .or_else(|| m.get("caption"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

impl Desk {
    pub fn user(&self, id: i64, first_name: &str) -> i64 {
        self.tg.add_user(NewUser::new(id, first_name));
        id
    }

    pub fn say(&self, user: i64, text: &str) -> Value {
        self.tg
            .send_message(NewMessage::text(user, user, text))
            .expect("user message")
    }

    pub fn operator_says(&self, thread: i64, text: &str) -> Value {
        self.tg
            .send_message(NewMessage::text(OPERATOR, GROUP, text).thread(thread))
            .expect("operator message")
    }

    pub fn operator_replies(&self, thread: i64, reply_to: i64, text: &str) -> Value {
        self.tg
            .send_message(
                NewMessage::text(OPERATOR, GROUP, text)
                    .thread(thread)
                    .reply_to(reply_to),
            )
            .expect("operator reply")
    }

    /// The user's current topic, once the desk has recorded one.
    pub async fn topic_of(&self, user: i64) -> i64 {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let conv = self
                .hotline
                .desk()
                .store()
                .conversation(UserId(user))
                .await
                .expect("store");
            if let Some(topic) = conv.and_then(|c| c.topic) {
                return topic.0;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no topic for user {user}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Texts (or captions) of a topic's messages, service messages left out.
    pub fn thread_texts(&self, thread: i64) -> Vec<String> {
        self.tg
            .thread_messages(GROUP, thread)
            .iter()
            .filter(|m| {
                m.get("forum_topic_created").is_none()
                    && m.get("forum_topic_edited").is_none()
                    && m.get("forum_topic_closed").is_none()
                    && m.get("forum_topic_reopened").is_none()
            })
            .map(text_of)
            .collect()
    }

    /// What the bot sent to a user.
    pub fn user_sees(&self, user: i64) -> Vec<String> {
        self.tg
            .messages(user)
            .iter()
            .filter(|m| m["from"]["is_bot"] == true)
            .map(text_of)
            .collect()
    }

    pub async fn wait(&self, what: &str, cond: impl Fn(&Desk) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !cond(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn wait_thread(&self, thread: i64, text: &str) {
        self.wait(&format!("«{text}» in topic {thread}"), |d| {
            d.thread_texts(thread).iter().any(|t| t == text)
        })
        .await;
    }

    pub async fn wait_user_sees(&self, user: i64, text: &str) {
        self.wait(&format!("«{text}» at user {user}"), |d| {
            d.user_sees(user).iter().any(|t| t == text)
        })
        .await;
    }

    /// Stops the runner (as Ctrl-C would) and checks it exited cleanly.
    pub async fn stop(mut self) -> FakeTelegram {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(runner) = self.runner.take() {
            tokio::time::timeout(WAIT, runner)
                .await
                .expect("the runner stops")
                .expect("runner task")
                .expect("the runner exits cleanly");
        }
        self.tg.clone()
    }
}
