//! The durable way in: the desk polls Telegram itself (`Hotline::run_polling`, a SQLite store)
//! and the host's real teloxide dispatcher reads the same update log through
//! `hotline_teloxide::listener`. The host answers its users (mirrored into their topics), never
//! sees the operators' group, and the kinds it handles are asked of Telegram with the desk's;
//! 300 users writing 10 messages each find them in order in their topics.

mod common;

use common::{GROUP, OPERATOR, USER, WAIT, fake, text_of};
use hotline_teloxide::Mirror;
use hotline_testkit::{FakeTelegram, NewMessage, NewUser};
use hotline_transport_telegram::hotline_core::{ChatId, Config, UserId};
use hotline_transport_telegram::{Hotline, Limits};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use teloxide::dispatching::ShutdownToken;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

type Seen = Arc<Mutex<Vec<i64>>>;

/// The desk polling on a SQLite file and the host's dispatcher on its log.
struct Durable {
    tg: FakeTelegram,
    hotline: Hotline,
    seen: Seen,
    stop_bot: ShutdownToken,
    host: JoinHandle<()>,
    stop_desk: oneshot::Sender<()>,
    desk: JoinHandle<Result<(), hotline_transport_telegram::Error>>,
    _dir: tempfile::TempDir,
}

async fn durable(tg: FakeTelegram) -> Durable {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let store = hotline_store_sql::connect(&url).await.expect("sqlite");
    let config = Config::builder(ChatId(GROUP))
        .set("WELCOME", "OFF")
        .expect("param")
        .build()
        .expect("config");
    let hotline = Hotline::builder(common::TOKEN, config)
        .api_url(tg.api_url())
        .limits(Limits::off())
        .store(store)
        .build()
        .expect("hotline");
    let bot = Bot::new(common::TOKEN).set_api_url(tg.api_url().parse().expect("url"));
    let bot = Mirror::new(bot, hotline.clone());
    let seen = Seen::default();
    // The host echoes every private text but `quiet...`, and handles join requests too.
    let handler = dptree::entry()
        .branch(Update::filter_message().endpoint(
            |bot: Mirror<Bot>, seen: Seen, msg: Message| async move {
                seen.lock().expect("seen").push(msg.chat.id.0);
                let text = msg.text().unwrap_or_default();
                if msg.chat.is_private() && !text.starts_with("quiet") {
                    bot.send_message(msg.chat.id, format!("Host echo: {text}"))
                        .await?;
                }
                Ok::<(), teloxide::RequestError>(())
            },
        ))
        .branch(Update::filter_chat_join_request().endpoint(|| async { Ok(()) }));
    let mut dispatcher = Dispatcher::builder(bot, handler)
        .dependencies(dptree::deps![seen.clone()])
        .build();
    let stop_bot = dispatcher.shutdown_token();
    let (stop_desk, desk_stopped) = oneshot::channel::<()>();
    let desk = {
        let hotline = hotline.clone();
        tokio::spawn(async move {
            hotline
                .run_polling(async {
                    let _ = desk_stopped.await;
                })
                .await
        })
    };
    let host = {
        let listener = hotline_teloxide::listener(hotline.clone());
        tokio::spawn(async move {
            dispatcher
                .dispatch_with_listener(listener, LoggingErrorHandler::new())
                .await;
        })
    };
    Durable {
        tg,
        hotline,
        seen,
        stop_bot,
        host,
        stop_desk,
        desk,
        _dir: dir,
    }
}

impl Durable {
    async fn topic_of(&self, user: i64) -> i64 {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let conversation = self
                .hotline
                .desk()
                .store()
                .conversation(UserId(user))
                .await
                .expect("store");
            if let Some(topic) = conversation.and_then(|c| c.topic) {
                return topic.0;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no topic for {user}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the host, then the desk; both cleanly.
    async fn stop(self) {
        loop {
            match self.stop_bot.shutdown() {
                Ok(stopped) => {
                    tokio::time::timeout(WAIT, stopped)
                        .await
                        .expect("the dispatcher stops");
                    break;
                }
                // Still starting: ask again.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        self.host.await.expect("host task");
        let _ = self.stop_desk.send(());
        tokio::time::timeout(WAIT, self.desk)
            .await
            .expect("the desk stops")
            .expect("desk task")
            .expect("the desk stops cleanly");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_reads_the_desks_log_and_never_sees_the_operators_group() {
    let d = durable(fake().await).await;
    let (tg, seen) = (&d.tg, &d.seen);
    tg.send_message(NewMessage::text(USER, USER, "hello desk"))
        .expect("user message");
    let topic = d.topic_of(USER).await;
    let thread = |tg: &hotline_testkit::FakeTelegram| -> Vec<String> {
        tg.thread_messages(GROUP, topic)
            .iter()
            .map(text_of)
            .collect()
    };
    tg.wait_for("the message and the host's reply in the topic", WAIT, |t| {
        let texts = thread(t);
        texts.iter().any(|t| t == "hello desk")
            && texts.iter().any(|t| t == "🤖 Bot:\nHost echo: hello desk")
    })
    .await
    .expect("relayed and mirrored");

    tg.send_message(NewMessage::text(OPERATOR, GROUP, "an operator here").thread(topic))
        .expect("operator message");
    tg.wait_for("the operator's answer at the user", WAIT, |t| {
        t.messages(USER)
            .iter()
            .any(|m| text_of(m) == "an operator here")
    })
    .await
    .expect("answered");
    // One more user message after the operator's: the host has read past the group's update.
    tg.send_message(NewMessage::text(USER, USER, "thanks"))
        .expect("user message");
    tg.wait_for("the host's second echo", WAIT, |t| {
        t.messages(USER)
            .iter()
            .any(|m| text_of(m) == "Host echo: thanks")
    })
    .await
    .expect("echoed");
    let seen_now = seen.lock().expect("seen").clone();
    assert_eq!(
        seen_now,
        [USER, USER],
        "the host saw only the user's messages"
    );

    // The desk's poller asks Telegram for its own kinds and the host's (chat_join_request).
    let want: BTreeSet<String> = [
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
        "message_reaction",
        "chat_join_request",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    let last = tg.calls_of("getUpdates").pop().expect("polled");
    let allowed: Vec<String> = match &last.params["allowed_updates"] {
        Value::String(text) => serde_json::from_str(text).expect("a JSON list"),
        other => serde_json::from_value(other.clone()).expect("a list"),
    };
    assert_eq!(allowed.into_iter().collect::<BTreeSet<_>>(), want);

    d.stop().await;
}

/// 300 users × 10 messages through the desk's log and the dispatcher: one topic each, each
/// topic in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_users_ten_messages_each_arrive_in_order() {
    const USERS: i64 = 300;
    const MESSAGES: usize = 10;
    const FIRST: i64 = 10_000;
    let tg = fake().await;
    for u in 0..USERS {
        tg.add_user(NewUser::new(FIRST + u, &format!("User{u}")));
    }
    let d = durable(tg).await;
    for m in 0..MESSAGES {
        for u in 0..USERS {
            d.tg.send_message(NewMessage::text(
                FIRST + u,
                FIRST + u,
                &format!("quiet u{u} m{m}"),
            ))
            .expect("user message");
        }
    }
    let total = USERS as usize * MESSAGES;
    d.tg.wait_for("every message relayed", 4 * WAIT, |t| {
        t.messages(GROUP)
            .iter()
            .filter(|m| text_of(m).starts_with("quiet u"))
            .count()
            == total
    })
    .await
    .expect("relayed");
    assert_eq!(
        d.tg.topics(GROUP).len(),
        USERS as usize,
        "one topic per user"
    );
    for u in 0..USERS {
        let topic = d.topic_of(FIRST + u).await;
        let texts: Vec<String> =
            d.tg.thread_messages(GROUP, topic)
                .iter()
                .filter(|m| !common::is_service(m))
                .map(text_of)
                .collect();
        let expected: Vec<String> = (0..MESSAGES).map(|m| format!("quiet u{u} m{m}")).collect();
        assert_eq!(texts, expected, "user {u}'s topic");
    }
    // The host read the whole log too: every user message, once.
    d.tg.wait_for("the host read every message", WAIT, |_| {
        d.seen.lock().expect("seen").len() == total
    })
    .await
    .expect("read");
    d.stop().await;
}
