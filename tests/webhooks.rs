//! WEBHOOKS end to end: the desk on the fake Telegram posts its events to a receiver on
//! 127.0.0.1, signed, at least once, in order per conversation, without ever holding relays up.

mod common;

use common::receiver::{DOWN, HANGING, Receiver, UP};
use common::{GROUP, TOKEN, WAIT, config, fake, run};
use frankenstein::AsyncTelegramApi;
use frankenstein::methods::SendMessageParams;
use hotline::RetryPolicy;
use hotline::telegram::{Hotline, Limits, verify_webhook_signature};
use hotline_testkit::Fault;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const SECRET: &str = "webhook-test-secret";
const EVERY_EVENT: &str = r#"["dialog_created", "dialog_reopened", "dialog_closed", "message_received", "message_sent", "message_intercepted", "message_edited", "user_blocked", "dead_lettered", "/crm"]"#;

fn hotline(tg: &hotline_testkit::FakeTelegram, receiver: &Receiver, events: &str) -> Hotline {
    let webhooks = format!(r#"{{"{}": {events}}}"#, receiver.url);
    Hotline::builder(
        TOKEN,
        config(&[
            ("WELCOME", "OFF"),
            ("WEBHOOKS", &webhooks),
            ("WEBHOOKS_SECRET", SECRET),
        ]),
    )
    .api_url(tg.api_url())
    .limits(Limits::off())
    .album_quiet(Duration::from_millis(200))
    .update_retry(RetryPolicy::new(
        3,
        Duration::from_millis(50),
        Duration::from_millis(100),
    ))
    .webhook_retry(RetryPolicy::new(
        u32::MAX,
        Duration::from_millis(50),
        Duration::from_millis(400),
    ))
    .build()
    .expect("hotline")
}

async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn kinds(receiver: &Receiver) -> Vec<String> {
    receiver
        .posts()
        .iter()
        .map(|p| p.json["event"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_once_signed_and_a_command_is_answered_in_the_topic() {
    let receiver = Receiver::start(UP).await;
    let tg = fake().await;
    let d = run(tg.clone(), hotline(&tg, &receiver, EVERY_EVENT));
    let ann = d.user(1001, "Ann");
    let has = |kind: &'static str| {
        let receiver = receiver.clone();
        move || kinds(&receiver).iter().any(|k| k == kind)
    };

    let hi = d.say(ann, "hi there");
    let topic = d.topic_of(ann).await;
    eventually("message_received", has("message_received")).await;
    d.operator_says(topic, "hello Ann");
    eventually("message_sent", has("message_sent")).await;
    let params = SendMessageParams::builder()
        .chat_id(ann)
        .text("Prices are on the site.")
        .build();
    d.hotline
        .bot()
        .send_message(&params)
        .await
        .expect("the host's send");
    eventually("message_intercepted", has("message_intercepted")).await;
    d.tg.edit_message(ann, ann, hi["message_id"].as_i64().unwrap(), "hi there!")
        .expect("edit");
    eventually("message_edited", has("message_edited")).await;

    // Hotline's command webhook: the receiver's answer lands in the topic.
    d.operator_says(topic, "/crm lookup");
    let answer = format!("CRM: {ann} has 2 orders");
    d.wait_thread(topic, &answer).await;

    d.operator_says(topic, "/close");
    eventually("dialog_closed", has("dialog_closed")).await;
    d.say(ann, "one more question");
    eventually("dialog_reopened", has("dialog_reopened")).await;
    d.tg.inject_fault(
        Fault::error(400, "Bad Request: message to copy not found")
            .method("copyMessage")
            .chat(GROUP)
            .count(3),
    );
    d.say(ann, "poison");
    eventually("dead_lettered", has("dead_lettered")).await;
    d.tg.block_user(ann);
    eventually("user_blocked", has("user_blocked")).await;
    // Nothing more is on its way: what arrived is all there is.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let posts = receiver.posts();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for post in &posts {
        *counts
            .entry(post.json["event"].as_str().unwrap().to_owned())
            .or_default() += 1;
        assert!(
            verify_webhook_signature(SECRET, &post.body, &post.signature),
            "a valid signature: {post:?}"
        );
        assert!(!verify_webhook_signature(
            "wrong-secret",
            &post.body,
            &post.signature
        ));
        assert_eq!(post.json["api_key"], SECRET, "Hotline's api_key field");
        assert_eq!(post.json["user_id"], ann);
        assert!(post.json["time"].as_i64().is_some_and(|t| t > 0));
        assert!(post.json["id"].as_str().is_some_and(|id| !id.is_empty()));
    }
    let once: HashMap<&str, usize> = [
        ("dialog_created", 1),
        ("dialog_reopened", 1),
        ("dialog_closed", 1),
        ("message_received", 2),
        ("message_sent", 1),
        ("message_intercepted", 1),
        ("message_edited", 1),
        ("user_blocked", 1),
        ("dead_lettered", 1),
        ("command", 1),
    ]
    .into_iter()
    .collect();
    let counts: HashMap<&str, usize> = counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        counts, once,
        "each event once (two messages received): {posts:#?}"
    );
    let ids: HashSet<&str> = posts
        .iter()
        .map(|p| p.json["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), posts.len(), "distinct ids");
    let received = posts
        .iter()
        .find(|p| p.json["event"] == "message_received")
        .unwrap();
    assert_eq!(received.json["text"], "hi there");
    assert_eq!(received.json["topic_id"], topic);
    assert_eq!(received.json["message_kind"], "text");
    let command = posts.iter().find(|p| p.json["event"] == "command").unwrap();
    assert_eq!(
        (
            command.json["command"].as_str(),
            command.json["topic_id"].as_i64()
        ),
        (Some("crm"), Some(topic))
    );
    d.stop().await;
}

/// The `text`s of `message_received` posts per user, in arrival order.
fn received_per_user(posts: &[common::receiver::Post]) -> HashMap<i64, Vec<String>> {
    let mut per_user: HashMap<i64, Vec<String>> = HashMap::new();
    for post in posts
        .iter()
        .filter(|p| p.json["event"] == "message_received")
    {
        per_user
            .entry(post.json["user_id"].as_i64().unwrap())
            .or_default()
            .push(post.json["text"].as_str().unwrap_or_default().to_owned());
    }
    per_user
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_then_back_gets_everything_in_order_per_conversation() {
    let receiver = Receiver::start(DOWN).await;
    let tg = fake().await;
    let d = run(
        tg.clone(),
        hotline(&tg, &receiver, r#"["message_received"]"#),
    );
    let users: Vec<i64> = (0..5).map(|i| d.user(3000 + i, "U")).collect();
    for n in 0..10 {
        for &user in &users {
            d.say(user, &format!("u{user}:{n}"));
        }
    }
    for &user in &users {
        let topic = d.topic_of(user).await;
        d.wait_thread(topic, &format!("u{user}:9")).await;
    }
    // Every queue's first entry was refused a few times (retried with back-off) ...
    eventually("refusals while down", || {
        receiver.refused() >= 3 * users.len()
    })
    .await;
    assert!(receiver.posts().is_empty());
    // ... and once the receiver is back, everything arrives, in each conversation's order.
    receiver.set(UP);
    eventually("all 50 delivered", || receiver.posts().len() >= 50).await;
    let per_user = received_per_user(&receiver.posts());
    for &user in &users {
        let expected: Vec<String> = (0..10).map(|n| format!("u{user}:{n}")).collect();
        assert_eq!(
            per_user[&user], expected,
            "user {user}'s events in order, once each"
        );
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_does_not_hold_relays_up() {
    let receiver = Receiver::start(HANGING).await;
    let tg = fake().await;
    let d = run(
        tg.clone(),
        hotline(&tg, &receiver, r#"["dialog_created", "message_received"]"#),
    );
    let users: Vec<i64> = (0..20).map(|i| d.user(4000 + i, "U")).collect();
    for n in 0..5 {
        for &user in &users {
            d.say(user, &format!("u{user}:{n}"));
        }
    }
    for &user in &users {
        let topic = d.topic_of(user).await;
        d.wait_thread(topic, &format!("u{user}:4")).await;
        let texts: Vec<String> = d
            .thread_texts(topic)
            .into_iter()
            .filter(|t| t.starts_with('u'))
            .collect();
        let expected: Vec<String> = (0..5).map(|n| format!("u{user}:{n}")).collect();
        assert_eq!(texts, expected);
    }
    // Every relay is done while the receiver holds every post it was sent unanswered.
    assert!(receiver.refused() > 0, "posts were made");
    assert!(receiver.posts().is_empty(), "none answered");
    // (An event is written to the outbox right after its copy went out, before its commit.)
    let store = d.hotline.desk().store().clone();
    let deadline = tokio::time::Instant::now() + WAIT;
    while store.outbox_len().await.expect("outbox") < 20 * 6 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the outbox holds every event"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        store.outbox_len().await.expect("outbox"),
        20 * 6,
        "every event still waits, once"
    );
    d.stop().await;
}
