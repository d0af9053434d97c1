//! Events out in Rust: `Hotline::events()` through the fake Telegram, one of each kind, from a
//! scripted conversation (a user, an operator, the host bot, an edit, a close and a reopen, a
//! poisoned update, a block).

mod common;

use common::{GROUP, OPERATOR, TOKEN, WAIT, config, fake, run};
use frankenstein::AsyncTelegramApi;
use frankenstein::methods::SendMessageParams;
use hotline::RetryPolicy;
use hotline::core::{DeskEvent, DeskEventKind, MessageKind, UserId};
use hotline::telegram::{Hotline, Limits};
use hotline_testkit::Fault;
use std::collections::HashSet;
use std::time::Duration;

/// Reads events until one of `kind` arrives (at most [`WAIT`]); every event read is kept.
async fn until(
    events: &mut hotline::core::Events,
    seen: &mut Vec<DeskEvent>,
    kind: DeskEventKind,
) -> DeskEvent {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let next = tokio::time::timeout_at(deadline, events.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event; seen: {seen:?}"))
            .expect("the desk is alive")
            .expect("no event missed");
        seen.push(next.clone());
        if next.kind == kind {
            return next;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_event_arrives_with_its_user_topic_and_text() {
    let tg = fake().await;
    let hotline = Hotline::builder(TOKEN, config(&[("WELCOME", "OFF")]))
        .api_url(tg.api_url())
        .limits(Limits::off())
        .album_quiet(Duration::from_millis(200))
        .update_retry(RetryPolicy::new(
            3,
            Duration::from_millis(50),
            Duration::from_millis(100),
        ))
        .build()
        .expect("hotline");
    let mut events = hotline.events();
    let d = run(tg, hotline);
    let mut seen = Vec::new();
    let ann = d.user(1001, "Ann");

    let hi = d.say(ann, "hi there");
    let created = until(&mut events, &mut seen, DeskEventKind::DialogCreated).await;
    let topic = d.topic_of(ann).await;
    assert_eq!(
        (created.user, created.topic.map(|t| t.0)),
        (UserId(ann), Some(topic))
    );
    let received = until(&mut events, &mut seen, DeskEventKind::MessageReceived).await;
    assert_eq!(received.text.as_deref(), Some("hi there"));
    assert_eq!(received.message_kind, Some(MessageKind::Text));
    assert_eq!(received.message.map(|m| m.0), hi["message_id"].as_i64());
    assert_eq!(received.topic.map(|t| t.0), Some(topic));

    d.operator_says(topic, "hello Ann");
    let sent = until(&mut events, &mut seen, DeskEventKind::MessageSent).await;
    assert_eq!(
        (sent.user, sent.text.as_deref()),
        (UserId(ann), Some("hello Ann"))
    );

    let params = SendMessageParams::builder()
        .chat_id(ann)
        .text("Our prices are on the site.")
        .build();
    d.hotline
        .bot()
        .send_message(&params)
        .await
        .expect("the host's send");
    let intercepted = until(&mut events, &mut seen, DeskEventKind::MessageIntercepted).await;
    assert_eq!(
        intercepted.text.as_deref(),
        Some("Our prices are on the site.")
    );

    d.tg.edit_message(ann, ann, hi["message_id"].as_i64().unwrap(), "hi there!")
        .expect("edit");
    let edited = until(&mut events, &mut seen, DeskEventKind::MessageEdited).await;
    assert_eq!(
        (edited.text.as_deref(), edited.topic.map(|t| t.0)),
        (Some("hi there!"), Some(topic))
    );

    d.operator_says(topic, "/close");
    let closed = until(&mut events, &mut seen, DeskEventKind::DialogClosed).await;
    assert_eq!(closed.topic.map(|t| t.0), Some(topic));
    d.say(ann, "one more question");
    let reopened = until(&mut events, &mut seen, DeskEventKind::DialogReopened).await;
    assert_eq!(reopened.topic.map(|t| t.0), Some(topic));
    let again = until(&mut events, &mut seen, DeskEventKind::MessageReceived).await;
    assert_eq!(again.text.as_deref(), Some("one more question"));

    // A message Telegram refuses to copy every time is set aside after its three attempts.
    d.tg.inject_fault(
        Fault::error(400, "Bad Request: message to copy not found")
            .method("copyMessage")
            .chat(GROUP)
            .count(3),
    );
    d.say(ann, "poison");
    let dead = until(&mut events, &mut seen, DeskEventKind::DeadLettered).await;
    assert_eq!(
        (dead.user, dead.topic.map(|t| t.0)),
        (UserId(ann), Some(topic))
    );
    assert!(
        dead.text
            .as_deref()
            .is_some_and(|t| t.contains("message to copy not found")),
        "{dead:?}"
    );

    d.tg.block_user(ann);
    let blocked = until(&mut events, &mut seen, DeskEventKind::UserBlocked).await;
    assert_eq!(
        (blocked.user, blocked.topic.map(|t| t.0)),
        (UserId(ann), Some(topic))
    );

    let ids: HashSet<&str> = seen.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids.len(),
        seen.len(),
        "every event has its own id: {seen:#?}"
    );
    assert!(seen.iter().all(|e| e.user == UserId(ann) && e.time.0 > 0));
    let _ = OPERATOR;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_does_not_read_is_told_what_it_missed_and_never_slows_the_desk() {
    let tg = fake().await;
    let hotline = Hotline::builder(TOKEN, config(&[("WELCOME", "OFF")]))
        .api_url(tg.api_url())
        .limits(Limits::off())
        .event_buffer(4)
        .build()
        .expect("hotline");
    let mut idle = hotline.events();
    let d = run(tg, hotline);
    let ann = d.user(1001, "Ann");
    for i in 0..20 {
        d.say(ann, &format!("m{i}"));
    }
    let topic = d.topic_of(ann).await;
    d.wait_thread(topic, "m19").await;
    // Nobody read while 21 events happened: the relays went on, and the reader hears of the
    // gap first, then the newest events the buffer kept.
    let first = idle.next().await.expect("alive");
    let missed = first.expect_err("the reader lagged").0;
    assert_eq!(missed, 21 - 4, "21 events, 4 kept");
    let kept = idle.next().await.expect("alive").expect("an event");
    assert_eq!(kept.text.as_deref(), Some("m16"));
    d.stop().await;
}
