//! A host bot on the real teloxide dispatcher against the fake Telegram: its handlers behind
//! `hotline_teloxide::branch`, its client `Mirror<DefaultParseMode<Throttle<Bot>>>`, and helpers
//! that read what users and operators see.

#![allow(dead_code, unreachable_pub)]

use hotline_teloxide::{Mirror, branch};
use hotline_testkit::{FakeTelegram, NewGroup, NewMessage, NewUser};
use hotline_transport_telegram::hotline_core::{ChatId, Config, UserId};
use hotline_transport_telegram::{Hotline, Limits};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use teloxide::adaptors::throttle::Limits as ThrottleLimits;
use teloxide::adaptors::{DefaultParseMode, Throttle};
use teloxide::dispatching::ShutdownToken;
use teloxide::prelude::*;
use teloxide::types::{InputFile, InputMedia, InputMediaPhoto, ParseMode};
use tokio::task::JoinHandle;

pub const TOKEN: &str = "777001:TELOXIDE-secret-token";
pub const GROUP: i64 = -1_001_000_000_777;
pub const OPERATOR: i64 = 2001;
pub const USER: i64 = 5001;
pub const WAIT: Duration = Duration::from_secs(30);

/// The host's client, composed as the crate's docs say: `Mirror` outermost.
pub type HostBot = Mirror<DefaultParseMode<Throttle<Bot>>>;

/// Chats the host's own message handler saw; 0 stands for a callback query.
pub type Seen = Arc<Mutex<Vec<i64>>>;

pub struct Host {
    pub tg: FakeTelegram,
    pub hotline: Hotline,
    pub seen: Seen,
    pub bot: HostBot,
    stop: ShutdownToken,
    dispatcher: JoinHandle<()>,
}

/// A fake Telegram with the operators' forum group, an operator and the user Ulla.
pub async fn fake() -> FakeTelegram {
    let tg = FakeTelegram::start(TOKEN).await.expect("fake telegram");
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    tg.add_user(NewUser::new(OPERATOR, "Olga"));
    tg.add_member(GROUP, OPERATOR).expect("operator");
    tg.add_user(NewUser::new(USER, "Ulla"));
    tg
}

/// The host on a fresh fake Telegram, the desk configured with `params`, no desk pacing.
pub async fn host(params: &[(&str, &str)]) -> Host {
    host_on(fake().await, params).await
}

/// The host on `tg`, with teloxide's default `Throttle` limits.
pub async fn host_on(tg: FakeTelegram, params: &[(&str, &str)]) -> Host {
    let config = Config::builder(ChatId(GROUP))
        .set_all(params.iter().copied())
        .expect("params")
        .build()
        .expect("config");
    let hotline = Hotline::builder(TOKEN, config)
        .api_url(tg.api_url())
        .limits(Limits::off())
        .album_quiet(Duration::from_millis(200))
        .build()
        .expect("hotline");
    let bot = Bot::new(TOKEN).set_api_url(tg.api_url().parse().expect("url"));
    let throttled = bot.throttle(ThrottleLimits::default());
    let bot: HostBot = Mirror::new(throttled.parse_mode(ParseMode::Html), hotline.clone());
    let seen = Seen::default();
    let handler = dptree::entry()
        .branch(branch::<teloxide::RequestError>(hotline.clone()))
        .branch(Update::filter_message().endpoint(
            |bot: HostBot, seen: Seen, msg: Message| async move {
                seen.lock().expect("seen").push(msg.chat.id.0);
                if msg.chat.is_private() {
                    answer(&bot, &msg).await?;
                }
                Ok(())
            },
        ))
        .branch(Update::filter_callback_query().endpoint(
            |seen: Seen, _query: CallbackQuery| async move {
                seen.lock().expect("seen").push(0);
                Ok(())
            },
        ));
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler)
        .dependencies(dptree::deps![seen.clone()])
        .build();
    let stop = dispatcher.shutdown_token();
    let dispatcher = tokio::spawn(async move { dispatcher.dispatch().await });
    Host {
        tg,
        hotline,
        seen,
        bot,
        stop,
        dispatcher,
    }
}

fn photo(url: &str, caption: Option<&str>) -> InputMedia {
    let mut photo = InputMediaPhoto::new(InputFile::url(url.parse().expect("url")));
    if let Some(caption) = caption {
        photo = photo.caption(caption);
    }
    InputMedia::Photo(photo)
}

/// The host's answers in a private chat: `/photo`, `/album`, `/price` (sent, then edited),
/// `quiet...` (nothing), anything else echoed. Formatted with the default parse mode (HTML).
async fn answer(bot: &HostBot, msg: &Message) -> Result<(), teloxide::RequestError> {
    let text = msg.text().unwrap_or_default();
    match text {
        "/photo" => {
            let url = "https://shop.example/new.jpg".parse().expect("url");
            bot.send_photo(msg.chat.id, InputFile::url(url))
                .caption("<i>New</i> arrivals")
                .await?;
        }
        "/album" => {
            let media = [
                photo("https://shop.example/1.jpg", Some("<b>Our</b> shop")),
                photo("https://shop.example/2.jpg", None),
                photo("https://shop.example/3.jpg", None),
            ];
            bot.send_media_group(msg.chat.id, media).await?;
        }
        "/price" => {
            let sent = bot.send_message(msg.chat.id, "Price: <b>10</b>").await?;
            bot.edit_message_text(msg.chat.id, sent.id, "Price: <b>12</b>")
                .await?;
        }
        quiet if quiet.starts_with("quiet") => {}
        _ => {
            bot.send_message(msg.chat.id, format!("Host echo: {text}"))
                .await?;
        }
    }
    Ok(())
}

pub fn text_of(m: &Value) -> String {
    m.get("text")
        .or_else(|| m.get("caption"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A topic's messages, its service messages left out.
pub fn is_service(m: &Value) -> bool {
    m.get("forum_topic_created").is_some() || m.get("forum_topic_edited").is_some()
}

impl Host {
    pub fn say(&self, text: &str) -> Value {
        self.say_as(USER, text)
    }

    pub fn say_as(&self, user: i64, text: &str) -> Value {
        self.tg
            .send_message(NewMessage::text(user, user, text))
            .expect("user message")
    }

    pub async fn topic(&self) -> Option<i64> {
        self.topic_of(USER).await
    }

    pub async fn topic_of(&self, user: i64) -> Option<i64> {
        let conversation = self
            .hotline
            .desk()
            .store()
            .conversation(UserId(user))
            .await
            .expect("store");
        conversation.and_then(|c| c.topic).map(|t| t.0)
    }

    pub async fn wait_topic(&self) -> i64 {
        self.wait_topic_of(USER).await
    }

    pub async fn wait_topic_of(&self, user: i64) -> i64 {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(topic) = self.topic_of(user).await {
                return topic;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no topic for {user}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A topic's messages as the operators see them, service messages left out.
    pub fn thread(&self, thread: i64) -> Vec<Value> {
        self.tg
            .thread_messages(GROUP, thread)
            .into_iter()
            .filter(|m| !is_service(m))
            .collect()
    }

    /// Texts (or captions) of a topic's messages.
    pub fn thread_texts(&self, thread: i64) -> Vec<String> {
        self.thread(thread).iter().map(text_of).collect()
    }

    /// Texts (or captions) of what the bot sent the user.
    pub fn user_texts(&self) -> Vec<String> {
        self.tg
            .messages(USER)
            .iter()
            .filter(|m| m["from"]["is_bot"] == true)
            .map(text_of)
            .collect()
    }

    pub async fn wait<F: Fn(&Host) -> bool>(&self, what: &str, done: F) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(self) {
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn wait_thread(&self, thread: i64, text: &str) {
        self.wait(&format!("«{text}» in topic {thread}"), |h| {
            h.thread_texts(thread).iter().any(|t| t == text)
        })
        .await;
    }

    pub async fn stop(self) {
        // A graceful shutdown waits for teloxide's long poll: bounded, then the task is dropped.
        if let Ok(stopping) = self.stop.shutdown() {
            let _ = tokio::time::timeout(Duration::from_secs(2), stopping).await;
        }
        self.dispatcher.abort();
        let _ = self.dispatcher.await;
    }
}
