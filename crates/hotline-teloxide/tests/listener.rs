//! The durable way in: the desk polls Telegram itself (`Hotline::run_polling`, a SQLite store)
//! and the host's real teloxide dispatcher reads the same update log through
//! `hotline_teloxide::listener`. The host answers its users (mirrored into their topics), never
//! sees the operators' group, and the kinds it handles are asked of Telegram with the desk's.

mod common;

use common::{GROUP, OPERATOR, USER, WAIT, fake, text_of};
use hotline_teloxide::Mirror;
use hotline_testkit::NewMessage;
use hotline_transport_telegram::hotline_core::{ChatId, Config, UserId};
use hotline_transport_telegram::{Hotline, Limits};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_reads_the_desks_log_and_never_sees_the_operators_group() {
    let tg = fake().await;
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
    let seen: Arc<Mutex<Vec<i64>>> = Arc::default();
    let handler = dptree::entry()
        .branch(Update::filter_message().endpoint(
            |bot: Mirror<Bot>, seen: Arc<Mutex<Vec<i64>>>, msg: Message| async move {
                seen.lock().expect("seen").push(msg.chat.id.0);
                if msg.chat.is_private() {
                    let text = format!("Host echo: {}", msg.text().unwrap_or_default());
                    bot.send_message(msg.chat.id, text).await?;
                }
                Ok::<(), teloxide::RequestError>(())
            },
        ))
        .branch(Update::filter_chat_join_request().endpoint(|| async { Ok(()) }));
    let mut dispatcher = Dispatcher::builder(bot, handler)
        .dependencies(dptree::deps![seen.clone()])
        .build();
    let stop_bot = dispatcher.shutdown_token();
    let (stop_desk, desk_stopped) = tokio::sync::oneshot::channel::<()>();
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

    tg.send_message(NewMessage::text(USER, USER, "hello desk"))
        .expect("user message");
    let deadline = tokio::time::Instant::now() + WAIT;
    let topic = loop {
        let conversation = hotline
            .desk()
            .store()
            .conversation(UserId(USER))
            .await
            .expect("store");
        if let Some(topic) = conversation.and_then(|c| c.topic) {
            break topic.0;
        }
        assert!(tokio::time::Instant::now() < deadline, "no topic");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
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

    if let Ok(stopped) = stop_bot.shutdown() {
        tokio::time::timeout(WAIT, stopped)
            .await
            .expect("the dispatcher stops");
    }
    host.await.expect("host task");
    let _ = stop_desk.send(());
    tokio::time::timeout(WAIT, desk)
        .await
        .expect("the desk stops")
        .expect("desk task")
        .expect("the desk stops cleanly");
}
