//! The core issue's numbered behaviours, over HTTP through the fake Telegram, asserted on what the
//! users and the operators see.

mod common;

use common::{GROUP, OPERATOR, start, text_of};
use frankenstein::AsyncTelegramApi;
use frankenstein::methods::{ForwardMessageParams, SendMessageParams};
use frankenstein::types::{InlineKeyboardMarkup, ReplyMarkup};
use hotline_testkit::{Fault, NewMessage, NewUser};
use std::time::Duration;

// 1. The first message opens a topic named after the user, greets, and relays in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_message_opens_a_named_topic_greets_and_relays_in_order() {
    let d = start(&[("WELCOME", "Hello {title}, we are here.")]).await;
    d.tg.add_user(NewUser::new(1001, "Ann").last_name("Lee"));
    for text in ["one", "two", "three"] {
        d.say(1001, text);
    }
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "three").await;
    assert_eq!(d.thread_texts(topic), ["one", "two", "three"]);
    let topics = d.tg.topics(GROUP);
    assert_eq!(topics.len(), 1);
    assert!(topics[0].name.ends_with("Ann Lee"), "{}", topics[0].name);
    assert_eq!(d.user_sees(1001), ["Hello Ann Lee, we are here."]);
    d.stop().await;
}

// 2. PRIVATE_KEYWORDS: silence before, context at activation, a closed topic needs a keyword.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keywords_gate_the_desk_and_bring_context() {
    let d = start(&[
        ("PRIVATE_KEYWORDS", r#""operator","/help""#),
        ("WELCOME", "OFF"),
    ])
    .await;
    d.user(1001, "Ann");
    d.say(1001, "hello bot");
    d.say(1001, "what are your prices?");
    d.say(1001, "/help@SomeBot");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "/help@SomeBot").await;
    let texts = d.thread_texts(topic);
    assert!(texts[0].starts_with("⏮ Context"), "{texts:?}");
    assert_eq!(
        texts[1..],
        ["hello bot", "what are your prices?", "/help@SomeBot"]
    );
    assert!(d.user_sees(1001).is_empty(), "WELCOME OFF");

    d.operator_says(topic, "/close");
    d.wait("the topic closed", |d| d.tg.topics(GROUP)[0].is_closed)
        .await;
    d.say(1001, "thanks, bye");
    d.say(1001, "one more: operator please");
    d.wait_thread(topic, "one more: operator please").await;
    assert!(!d.tg.topics(GROUP)[0].is_closed, "reopened by the keyword");
    let texts = d.thread_texts(topic);
    assert!(
        texts.contains(&"thanks, bye".to_owned()),
        "posted as context: {texts:?}"
    );
    d.stop().await;
}

// 3. The host's "talk to a human" button hands the user over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_human_button_hands_the_user_over() {
    let d = start(&[("PRIVATE_KEYWORDS", r#""operator""#)]).await;
    d.user(1001, "Ann");
    d.say(1001, "where is my parcel?");
    // The host bot answers with its own keyboard, holding Hotline's button.
    let keyboard = InlineKeyboardMarkup::builder()
        .inline_keyboard(vec![vec![hotline::human_button("Talk to a human")]])
        .build();
    let params = SendMessageParams::builder()
        .chat_id(1001)
        .text("Parcels take 3 days.")
        .reply_markup(ReplyMarkup::InlineKeyboardMarkup(keyboard))
        .build();
    let faq = d.hotline.bot().send_message(&params).await.unwrap().result;
    let query =
        d.tg.press_button(1001, 1001, i64::from(faq.message_id), "hotline:human")
            .unwrap();
    let query_id = query["id"].as_str().unwrap().to_owned();
    let topic = d.topic_of(1001).await;
    d.wait("the hand-over notice", |d| {
        d.thread_texts(topic)
            .iter()
            .any(|t| t.contains("talk to a human"))
    })
    .await;
    assert!(
        d.thread_texts(topic)
            .contains(&"where is my parcel?".to_owned()),
        "context"
    );
    d.wait("the button's callback answered", |d| {
        d.tg.callback_answer(&query_id).is_some()
    })
    .await;
    d.stop().await;
}

// 4. INTERCEPT_EXTERNAL: the host bot's replies through the wrapped client are mirrored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_bots_replies_are_mirrored_into_open_topics() {
    let d = start(&[("WELCOME", "OFF")]).await;
    d.user(1001, "Ann");
    d.user(1002, "Bob");
    let bot = d.hotline.bot();
    d.say(1001, "hi");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "hi").await;
    let params = SendMessageParams::builder()
        .chat_id(1001)
        .text("Our prices are on the site.")
        .build();
    let sent = bot
        .send_message(&params)
        .await
        .expect("the host's send still works");
    assert_eq!(
        sent.result.text.as_deref(),
        Some("Our prices are on the site.")
    );
    d.wait_thread(topic, "🤖 Bot:\nOur prices are on the site.")
        .await;
    // No open topic: nothing mirrored.
    let params = SendMessageParams::builder()
        .chat_id(1002)
        .text("Hello Bob")
        .build();
    let to_bob = bot.send_message(&params).await.unwrap();
    // A message the host forwards to Ann is a send to her too.
    let params = ForwardMessageParams::builder()
        .chat_id(1001)
        .from_chat_id(1002)
        .message_id(to_bob.result.message_id)
        .build();
    bot.forward_message(&params).await.unwrap();
    d.wait_thread(topic, "🤖 Bot:\nHello Bob").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(d.tg.topics(GROUP).len(), 1, "Bob has no topic");
    d.stop().await;
}

// 5. Operator → user: copies, internal comments, replies follow the links.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_reach_the_user_with_replies_and_comments_stay() {
    let d = start(&[("WELCOME", "OFF")]).await;
    d.user(1001, "Ann");
    let question = d.say(1001, "Where is my order?");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "Where is my order?").await;
    let copy =
        d.tg.thread_messages(GROUP, topic)
            .into_iter()
            .find(|m| text_of(m) == "Where is my order?")
            .unwrap();
    d.operator_says(topic, "/ she ordered twice");
    d.operator_replies(
        topic,
        copy["message_id"].as_i64().unwrap(),
        "It ships today.",
    );
    d.wait_user_sees(1001, "It ships today.").await;
    let at_user = d.tg.messages(1001);
    let answer = at_user
        .iter()
        .find(|m| text_of(m) == "It ships today.")
        .unwrap();
    assert_eq!(
        answer["reply_to_message"]["message_id"], question["message_id"],
        "a reply to her own message"
    );
    assert_eq!(
        d.user_sees(1001),
        ["It ships today."],
        "the internal comment stayed in the topic"
    );
    d.wait("the 🟨 status", |d| {
        d.tg.topics(GROUP)[0].name.starts_with("🟨")
    })
    .await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_only_sends_only_replies() {
    let d = start(&[("WELCOME", "OFF"), ("REPLY_ONLY", "true")]).await;
    d.user(1001, "Ann");
    d.say(1001, "question");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "question").await;
    let copy =
        d.tg.thread_messages(GROUP, topic)
            .into_iter()
            .find(|m| text_of(m) == "question")
            .unwrap();
    d.operator_says(topic, "colleagues, who takes this?");
    d.operator_replies(topic, copy["message_id"].as_i64().unwrap(), "the answer");
    d.wait_user_sees(1001, "the answer").await;
    assert_eq!(d.user_sees(1001), ["the answer"]);
    d.stop().await;
}

// 6. Edits follow both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_follow_both_ways() {
    let d = start(&[("WELCOME", "OFF")]).await;
    d.user(1001, "Ann");
    let original = d.say(1001, "helo");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "helo").await;
    d.tg.edit_message(
        1001,
        1001,
        original["message_id"].as_i64().unwrap(),
        "hello",
    )
    .unwrap();
    d.wait_thread(topic, "hello").await;
    let answer = d.operator_says(topic, "hi thre");
    d.wait_user_sees(1001, "hi thre").await;
    d.tg.edit_message(
        OPERATOR,
        GROUP,
        answer["message_id"].as_i64().unwrap(),
        "hi there",
    )
    .unwrap();
    d.wait_user_sees(1001, "hi there").await;
    assert_eq!(
        d.user_sees(1001),
        ["hi there"],
        "edited in place, not sent again"
    );
    d.stop().await;
}

// 7. A deleted topic is recreated and the message resent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_topic_is_recreated_and_nothing_is_lost() {
    let d = start(&[("WELCOME", "OFF")]).await;
    d.user(1001, "Ann");
    d.say(1001, "first");
    let old = d.topic_of(1001).await;
    d.wait_thread(old, "first").await;
    d.tg.delete_topic(GROUP, old).unwrap();
    d.say(1001, "second");
    d.wait("a new topic", |d| {
        d.tg.topics(GROUP).iter().filter(|t| !t.deleted).count() == 1
            && d.tg.topics(GROUP).len() == 2
    })
    .await;
    let new = d.topic_of(1001).await;
    assert_ne!(new, old);
    d.wait_thread(new, "second").await;
    d.operator_says(new, "still here");
    d.wait_user_sees(1001, "still here").await;
    d.stop().await;
}

// 8. A user who blocked the bot: a notice, no retry storm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_user_is_marked_and_not_retried() {
    let d = start(&[("WELCOME", "OFF")]).await;
    d.user(1001, "Ann");
    d.say(1001, "hi");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "hi").await;
    d.tg.block_user(1001);
    d.wait("the blocked notice", |d| {
        d.thread_texts(topic)
            .iter()
            .any(|t| t.contains("blocked the bot"))
    })
    .await;
    let copies_before =
        d.tg.stats()
            .calls
            .get("copyMessage")
            .copied()
            .unwrap_or_default();
    for i in 0..5 {
        d.operator_says(topic, &format!("hello? {i}"));
    }
    d.wait("five refusals", |d| {
        d.thread_texts(topic)
            .iter()
            .filter(|t| t.contains("Not delivered"))
            .count()
            == 5
    })
    .await;
    let copies_after =
        d.tg.stats()
            .calls
            .get("copyMessage")
            .copied()
            .unwrap_or_default();
    assert_eq!(
        copies_after, copies_before,
        "no copy attempted to a user known to have blocked the bot"
    );
    d.stop().await;
}

// 9. Rate limited: retried after retry_after, order kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_waited_out_and_order_is_kept() {
    let d = start(&[("WELCOME", "OFF")]).await;
    d.user(1001, "Ann");
    d.user(1002, "Bob");
    d.say(1001, "a0");
    let ann = d.topic_of(1001).await;
    d.wait_thread(ann, "a0").await;
    d.tg.inject_fault(Fault {
        method: Some("copyMessage".into()),
        count: Some(1),
        ..Fault::too_many_requests(1)
    });
    for text in ["a1", "a2", "a3"] {
        d.say(1001, text);
    }
    d.say(1002, "b1");
    d.wait_thread(ann, "a3").await;
    assert_eq!(
        d.thread_texts(ann),
        ["a0", "a1", "a2", "a3"],
        "in order, none twice, none lost"
    );
    let bob = d.topic_of(1002).await;
    d.wait_thread(bob, "b1").await;
    assert!(d.tg.stats().faults_injected >= 1, "the 429 was really sent");
    d.stop().await;
}

// 10. Many users at once: one topic each, each in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_users_at_once_get_one_topic_each_in_order() {
    const USERS: i64 = 300;
    const MESSAGES: usize = 10;
    let d = start(&[("WELCOME", "OFF")]).await;
    for u in 0..USERS {
        d.user(10_000 + u, &format!("User{u}"));
    }
    for m in 0..MESSAGES {
        for u in 0..USERS {
            d.say(10_000 + u, &format!("u{u} m{m}"));
        }
    }
    d.wait("every message relayed", |d| {
        d.tg.messages(GROUP)
            .iter()
            .filter(|m| text_of(m).starts_with('u'))
            .count()
            == USERS as usize * MESSAGES
    })
    .await;
    assert_eq!(
        d.tg.topics(GROUP).len(),
        USERS as usize,
        "exactly one topic per user"
    );
    for u in 0..USERS {
        let topic = d.topic_of(10_000 + u).await;
        let expected: Vec<String> = (0..MESSAGES).map(|m| format!("u{u} m{m}")).collect();
        assert_eq!(d.thread_texts(topic), expected);
    }
    d.stop().await;
}

// 11. Traffic outside users' topics is ignored; nobody gets another user's messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_traffic_is_ignored() {
    let d = start(&[("WELCOME", "OFF")]).await;
    d.user(1001, "Ann");
    d.user(1002, "Bob");
    d.say(1001, "hi");
    d.say(1002, "hey");
    let ann = d.topic_of(1001).await;
    d.wait_thread(ann, "hi").await;
    // The group's general chat (no topic) and a topic an operator opened by hand.
    d.tg.send_message(NewMessage::text(OPERATOR, GROUP, "general chatter"))
        .unwrap();
    d.operator_says(ann, "for Ann only");
    d.wait_user_sees(1001, "for Ann only").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(d.user_sees(1001), ["for Ann only"]);
    assert!(
        d.user_sees(1002).is_empty(),
        "Bob got nothing: {:?}",
        d.user_sees(1002)
    );
    d.stop().await;
}

// Albums arrive as one update per photo; operators get them as one album.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn albums_are_collected_and_copied_together_both_ways() {
    let d = start(&[("WELCOME", "OFF")]).await;
    d.user(1001, "Ann");
    for i in 0..3 {
        let mut part = NewMessage::empty(1001, 1001)
            .photo(&format!("p{i}"))
            .media_group("trip");
        if i == 0 {
            part = part.caption("my trip");
        }
        d.tg.send_message(part).unwrap();
    }
    d.say(1001, "after the album");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "after the album").await;
    let copies: Vec<_> =
        d.tg.thread_messages(GROUP, topic)
            .into_iter()
            .filter(|m| m.get("photo").is_some())
            .collect();
    assert_eq!(copies.len(), 3);
    let group_ids: std::collections::HashSet<_> =
        copies.iter().map(|m| m["media_group_id"].clone()).collect();
    assert_eq!(group_ids.len(), 1, "one album in the topic");
    assert_eq!(
        d.tg.stats().calls.get("copyMessages").copied(),
        Some(1),
        "copied in one call"
    );
    assert_eq!(
        d.thread_texts(topic).last().map(String::as_str),
        Some("after the album"),
        "order kept"
    );

    for i in 0..2 {
        d.tg.send_message(
            NewMessage::empty(OPERATOR, GROUP)
                .thread(topic)
                .photo(&format!("o{i}"))
                .media_group("answer"),
        )
        .unwrap();
    }
    d.wait("the operator's album at Ann", |d| {
        d.tg.messages(1001)
            .iter()
            .filter(|m| m["from"]["is_bot"] == true && m.get("photo").is_some())
            .count()
            == 2
    })
    .await;
    assert_eq!(d.tg.stats().calls.get("copyMessages").copied(), Some(2));
    d.stop().await;
}
