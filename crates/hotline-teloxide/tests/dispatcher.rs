//! The desk inside a real teloxide dispatcher, end to end through the fake Telegram: the
//! host's handlers behind `hotline_teloxide::branch`, its bot wrapped in `Mirror`.

use hotline_teloxide::{Mirror, branch};
use hotline_testkit::{FakeTelegram, NewGroup, NewMessage, NewUser};
use hotline_transport_telegram::hotline_core::{ChatId, Config, UserId};
use hotline_transport_telegram::{Hotline, Limits};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use teloxide::adaptors::{DefaultParseMode, Throttle};
use teloxide::adaptors::throttle::Limits as ThrottleLimits;
use teloxide::dispatching::ShutdownToken;
use teloxide::prelude::*;
use teloxide::types::ParseMode;
use tokio::task::JoinHandle;

const TOKEN: &str = "777001:TELOXIDE-secret-token";
const GROUP: i64 = -1_001_000_000_777;
const OPERATOR: i64 = 2001;
const USER: i64 = 5001;
const WAIT: Duration = Duration::from_secs(30);

type HostBot = Mirror<DefaultParseMode<Throttle<Bot>>>;

/// Chats the host's own message handler saw.
type Seen = Arc<Mutex<Vec<i64>>>;

struct Host {
    tg: FakeTelegram,
    hotline: Hotline,
    seen: Seen,
    stop: ShutdownToken,
    dispatcher: JoinHandle<()>,
}

async fn host(params: &[(&str, &str)]) -> Host {
    let tg = FakeTelegram::start(TOKEN).await.expect("fake telegram");
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    tg.add_user(NewUser::new(OPERATOR, "Olga"));
    tg.add_member(GROUP, OPERATOR).expect("operator");
    tg.add_user(NewUser::new(USER, "Ulla"));
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
                    let text = format!("Host echo: {}", msg.text().unwrap_or_default());
                    bot.send_message(msg.chat.id, text).await?;
                }
                Ok(())
            },
        ));
    let mut dispatcher = Dispatcher::builder(bot, handler)
        .dependencies(dptree::deps![seen.clone()])
        .build();
    let stop = dispatcher.shutdown_token();
    let dispatcher = tokio::spawn(async move { dispatcher.dispatch().await });
    Host {
        tg,
        hotline,
        seen,
        stop,
        dispatcher,
    }
}

impl Host {
    fn say(&self, text: &str) {
        self.tg
            .send_message(NewMessage::text(USER, USER, text))
            .expect("user message");
    }

    async fn topic(&self) -> Option<i64> {
        let conversation = self
            .hotline
            .desk()
            .store()
            .conversation(UserId(USER))
            .await
            .expect("store");
        conversation.and_then(|c| c.topic).map(|t| t.0)
    }

    async fn wait_topic(&self) -> i64 {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(topic) = self.topic().await {
                return topic;
            }
            assert!(tokio::time::Instant::now() < deadline, "no topic");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn thread_texts(&self, thread: i64) -> Vec<String> {
        self.tg
            .thread_messages(GROUP, thread)
            .iter()
            .filter_map(|m| m.get("text").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    fn user_texts(&self) -> Vec<String> {
        self.tg
            .messages(USER)
            .iter()
            .filter_map(|m| m.get("text").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    async fn wait<F: Fn(&Host) -> bool>(&self, what: &str, done: F) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(self) {
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn stop(self) {
        if let Ok(stopping) = self.stop.shutdown() {
            stopping.await;
        }
        self.dispatcher.await.expect("dispatcher");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_opens_a_topic_the_hosts_reply_is_mirrored_and_an_operator_answers() {
    let h = host(&[]).await;
    h.say("hello desk");
    let topic = h.wait_topic().await;
    h.wait("the user's message and the host's reply in the topic", |h| {
        let texts = h.thread_texts(topic);
        texts.iter().any(|t| t == "hello desk")
            && texts.iter().any(|t| t == "🤖 Bot:\nHost echo: hello desk")
    })
    .await;

    h.tg.send_message(NewMessage::text(OPERATOR, GROUP, "an operator here").thread(topic))
        .expect("operator message");
    h.wait("the operator's reply reaches the user", |h| {
        h.user_texts().iter().any(|t| t == "an operator here")
    })
    .await;
    // The operator's message is the desk's alone: the host saw only the user's chat.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = h.seen.lock().expect("seen").clone();
    assert!(!seen.is_empty(), "the host saw the user's message");
    assert!(seen.iter().all(|chat| *chat == USER), "host saw {seen:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_private_keywords_only_the_keyword_opens_the_topic() {
    let h = host(&[("PRIVATE_KEYWORDS", r#""operator""#)]).await;
    h.say("just browsing");
    h.wait("the host answers", |h| {
        h.user_texts().iter().any(|t| t == "Host echo: just browsing")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.topic().await, None, "no keyword, no topic");

    h.say("operator please");
    let topic = h.wait_topic().await;
    h.wait("the keyword in the topic", |h| {
        h.thread_texts(topic).iter().any(|t| t == "operator please")
    })
    .await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teloxide_asks_telegram_for_the_hosts_kinds_plus_the_desks() {
    let h = host(&[]).await;
    h.say("hi");
    h.wait("the host answers", |h| {
        h.user_texts().iter().any(|t| t == "Host echo: hi")
    })
    .await;
    let calls = h.tg.calls_of("getUpdates");
    assert!(!calls.is_empty());
    let want: BTreeSet<String> = [
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
        "message_reaction",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for call in calls {
        let allowed = &call.params["allowed_updates"];
        // Form values arrive as strings as sent; JSON bodies as arrays.
        let allowed: Vec<String> = match allowed {
            Value::String(text) => serde_json::from_str(text).expect("a JSON list"),
            other => serde_json::from_value(other.clone()).expect("a list"),
        };
        let allowed: BTreeSet<String> = allowed.into_iter().collect();
        assert_eq!(allowed, want, "allowed_updates of {:?}", call.params);
    }
    h.stop().await;
}
