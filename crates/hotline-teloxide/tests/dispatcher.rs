//! The desk inside a real teloxide dispatcher, end to end through the fake Telegram: the
//! host's handlers behind `hotline_teloxide::branch`, its bot wrapped in `Mirror`.

mod common;

use common::{GROUP, OPERATOR, USER, host};
use hotline_testkit::NewMessage;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use teloxide::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_opens_a_topic_the_hosts_reply_is_mirrored_and_an_operator_answers() {
    let h = host(&[]).await;
    h.say("hello desk");
    let topic = h.wait_topic().await;
    h.wait(
        "the user's message and the host's reply in the topic",
        |h| {
            let texts = h.thread_texts(topic);
            texts.iter().any(|t| t == "hello desk")
                && texts.iter().any(|t| t == "🤖 Bot:\nHost echo: hello desk")
        },
    )
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
        h.user_texts()
            .iter()
            .any(|t| t == "Host echo: just browsing")
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_are_mirrored_both_ways_through_the_branch() {
    let h = host(&[("WELCOME", "OFF")]).await;
    let mine =
        h.tg.send_message(NewMessage::text(USER, USER, "my question"))
            .expect("user message");
    let topic = h.wait_topic().await;
    h.wait("the question in the topic", |h| {
        h.thread_texts(topic).iter().any(|t| t == "my question")
    })
    .await;
    let copy =
        h.tg.thread_messages(GROUP, topic)
            .into_iter()
            .find(|m| m["text"] == "my question")
            .expect("copy");
    let answer =
        h.tg.send_message(NewMessage::text(OPERATOR, GROUP, "the answer").thread(topic))
            .expect("operator message");
    h.wait("the answer at the user", |h| {
        h.user_texts().iter().any(|t| t == "the answer")
    })
    .await;
    let answer_copy =
        h.tg.messages(USER)
            .into_iter()
            .find(|m| m["text"] == "the answer")
            .expect("answer copy");
    // An operator's reaction in the group reaches the user's own message.
    h.tg.react(
        OPERATOR,
        GROUP,
        copy["message_id"].as_i64().expect("id"),
        "👍",
    )
    .expect("react");
    let mine_id = mine["message_id"].as_i64().expect("id");
    h.wait("👍 at the user", |h| {
        !h.tg.bot_reactions(USER, mine_id).is_empty()
    })
    .await;
    // The user's reaction (teloxide flattens its `user`) reaches the operator's message.
    h.tg.react(
        USER,
        USER,
        answer_copy["message_id"].as_i64().expect("id"),
        "❤",
    )
    .expect("react");
    let answer_id = answer["message_id"].as_i64().expect("id");
    h.wait("❤ in the topic", |h| {
        !h.tg.bot_reactions(GROUP, answer_id).is_empty()
    })
    .await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hotlines_button_hands_the_user_over_and_the_host_never_sees_the_press() {
    use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
    let h = host(&[("PRIVATE_KEYWORDS", r#""operator""#)]).await;
    let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(
        "Talk to a human",
        hotline_transport_telegram::HUMAN_CALLBACK,
    )]]);
    let sent = h
        .bot
        .send_message(teloxide::types::ChatId(USER), "Need help?")
        .reply_markup(keyboard)
        .await
        .expect("host's message");
    h.tg.press_button(
        USER,
        USER,
        i64::from(sent.id.0),
        hotline_transport_telegram::HUMAN_CALLBACK,
    )
    .expect("press");
    let topic = h.wait_topic().await;
    assert!(topic > 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = h.seen.lock().expect("seen").clone();
    assert!(
        !seen.contains(&0),
        "the host saw Hotline's button: {seen:?}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosts_copy_message_is_mirrored_and_hand_over_opens_the_topic() {
    let h = host(&[("PRIVATE_KEYWORDS", r#""operator""#), ("WELCOME", "OFF")]).await;
    let user: teloxide::types::User = serde_json::from_value(serde_json::json!(
        {"id": USER, "is_bot": false, "first_name": "Ulla"}
    ))
    .expect("user");
    hotline_teloxide::hand_over(&h.hotline, &user)
        .expect("a user the desk reads")
        .await
        .expect("handed over");
    let topic = h.wait_topic().await;
    // The host copies a message of its own (from the operators' group) to the user.
    let note =
        h.tg.send_message(NewMessage::text(OPERATOR, GROUP, "Opening hours"))
            .expect("a message to copy");
    h.bot
        .copy_message(
            teloxide::types::ChatId(USER),
            teloxide::types::ChatId(GROUP),
            teloxide::types::MessageId(
                i32::try_from(note["message_id"].as_i64().expect("id")).expect("i32"),
            ),
        )
        .await
        .expect("copied");
    h.wait("the copy mirrored into the topic", |h| {
        h.thread_texts(topic)
            .iter()
            .any(|t| t.contains("Opening hours"))
    })
    .await;
    h.stop().await;
}
