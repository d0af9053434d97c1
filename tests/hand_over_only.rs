//! `HAND_OVER_ONLY`: a user's messages never open a topic by themselves (not even `/start` or a
//! keyword); the host bot's hand-over does, with those messages as context. And
//! `Hotline::conversation` tells the host where a user stands at each step.

mod common;

use common::{OPERATOR, config, fake};
use hotline::Standing;
use hotline::core::Error;
use hotline_testkit::NewMessage;
use std::time::Duration;

const ANN: i64 = 1001;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_hand_over_opens_a_topic_and_the_host_can_ask_where_the_user_stands() {
    let d = common::start(&[("HAND_OVER_ONLY", "true"), ("WELCOME", "OFF")]).await;
    d.user(ANN, "Ann");
    let hotline = d.hotline.clone();
    assert_eq!(
        hotline.conversation(ANN as u64).await.unwrap(),
        Standing::NotAtDesk
    );

    d.say(ANN, "/start");
    d.say(ANN, "I need an operator");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        d.tg.topics(common::GROUP).is_empty(),
        "no message opens a topic by itself"
    );
    assert_eq!(
        hotline.conversation(ANN as u64).await.unwrap(),
        Standing::NotAtDesk
    );

    // The host hands Ann over: her topic opens with what she wrote as context.
    let ann: frankenstein::types::User = serde_json::from_value(
        serde_json::json!({"id": ANN, "is_bot": false, "first_name": "Ann"}),
    )
    .unwrap();
    hotline.hand_over(&ann).await.expect("handed over");
    let topic = d.topic_of(ANN).await;
    d.wait_thread(topic, "I need an operator").await;
    let texts = d.thread_texts(topic);
    let at = |wanted: &str| texts.iter().position(|t| t == wanted);
    assert!(
        at("/start") < at("I need an operator"),
        "in order: {texts:?}"
    );
    assert_eq!(
        hotline.conversation(ANN as u64).await.unwrap(),
        Standing::WithOperator
    );

    // Once open, everything is relayed until the topic closes.
    d.say(ANN, "thanks");
    d.wait_thread(topic, "thanks").await;

    d.operator_says(topic, "/close");
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while hotline.conversation(ANN as u64).await.unwrap() != Standing::Closed {
        assert!(tokio::time::Instant::now() < deadline, "closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A closed topic is not reopened by a message either.
    d.say(ANN, "one more thing");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!d.thread_texts(topic).iter().any(|t| t == "one more thing"));
    assert_eq!(
        hotline.conversation(ANN as u64).await.unwrap(),
        Standing::Closed
    );

    // Banned users stand apart (banning takes an admin's right to restrict members).
    d.tg.add_member_as(
        common::GROUP,
        OPERATOR,
        hotline_testkit::MemberStatus::Administrator,
    )
    .expect("the operator is an admin");
    hotline.hand_over(&ann).await.expect("handed over again");
    d.wait_thread(topic, "one more thing").await;
    d.tg.send_message(NewMessage::text(OPERATOR, common::GROUP, "/ban").thread(topic))
        .expect("ban");
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while hotline.conversation(ANN as u64).await.unwrap() != Standing::Banned {
        assert!(tokio::time::Instant::now() < deadline, "banned");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    d.stop().await;
}

#[tokio::test]
async fn hand_over_only_and_keywords_together_are_refused_by_name() {
    let _tg = fake().await;
    let refused = hotline::core::Config::builder(hotline::ChatId(common::GROUP))
        .set("HAND_OVER_ONLY", "true")
        .and_then(|b| b.set("PRIVATE_KEYWORDS", r#""operator""#))
        .and_then(|b| b.build());
    let Err(Error::Config {
        parameter, message, ..
    }) = refused
    else {
        panic!("refused: {refused:?}");
    };
    assert_eq!(parameter, "HAND_OVER_ONLY");
    assert!(message.contains("PRIVATE_KEYWORDS"), "{message}");
    // Alone, it builds.
    let _ = config(&[("HAND_OVER_ONLY", "true")]);
}
