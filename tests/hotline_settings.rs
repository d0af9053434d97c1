//! Hotline settings pasted as they are work as on Hotline, end to end through the fake Telegram:
//! `LEAVE_CLOSED=private`, `HIDE_INFO`'s values, a `WELCOME` in MarkdownV2, and who may `/ban`.

mod common;

use common::{GROUP, OPERATOR, start, text_of};
use hotline_testkit::{MemberStatus, NewMessage, NewUser};
use std::time::Duration;

fn topic_name(d: &common::Desk, topic: i64) -> String {
    d.tg.topics(GROUP)
        .into_iter()
        .find(|t| t.message_thread_id == topic)
        .map(|t| t.name)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_closed_private_starts_new_topics_closed_without_a_welcome() {
    let d = start(&[
        ("WELCOME", "Hi {title}, we will answer."),
        ("LEAVE_CLOSED", "private"),
    ])
    .await;
    d.user(1001, "Ann");
    d.say(1001, "first");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "first").await;
    d.wait("the new topic closed", |d| d.tg.topics(GROUP)[0].is_closed)
        .await;
    assert!(
        topic_name(&d, topic).starts_with('⬛'),
        "{}",
        topic_name(&d, topic)
    );
    d.say(1001, "second");
    d.wait_thread(topic, "second").await;
    assert!(d.tg.topics(GROUP)[0].is_closed, "still closed");
    assert_eq!(d.tg.topics(GROUP).len(), 1);
    // An operator answers in the closed topic: the user gets it.
    d.operator_says(topic, "we are here");
    d.wait_user_sees(1001, "we are here").await;
    assert!(
        d.user_sees(1001).iter().all(|t| !t.starts_with("Hi ")),
        "no welcome under LEAVE_CLOSED: {:?}",
        d.user_sees(1001)
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hide_info_name_and_command() {
    // `name`: a pseudonym in the topic title; `command`: no card in the topic, /info for admins
    // only, privately.
    let d = start(&[
        ("WELCOME", "OFF"),
        ("HIDE_INFO", r#""name","command""#),
        ("AUTO_INFO", "true"),
        ("AUTO_CLOSE", "24"),
    ])
    .await;
    d.tg.add_user(NewUser::new(1001, "Ann").username("annlee"));
    d.say(1001, "hello");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "hello").await;
    let name = topic_name(&d, topic);
    assert!(name.contains("Client #") && !name.contains("Ann"), "{name}");

    // A plain member is refused.
    d.operator_says(topic, "/info");
    d.wait("the refusal", |d| {
        d.thread_texts(topic)
            .iter()
            .any(|t| t.contains("/info is only for the group's creator and administrators"))
    })
    .await;
    // An administrator gets the card in a private chat with the bot.
    d.tg.add_member_as(GROUP, OPERATOR, MemberStatus::Administrator)
        .unwrap();
    d.operator_says(topic, "/info");
    d.wait("the card sent privately", |d| {
        d.user_sees(OPERATOR).iter().any(|t| t.starts_with("👤"))
    })
    .await;
    d.wait("the notice in the topic", |d| {
        d.thread_texts(topic)
            .iter()
            .any(|t| t.contains("sent to you in a private chat"))
    })
    .await;
    assert!(
        d.thread_texts(topic).iter().all(|t| !t.starts_with("👤")),
        "no card in the topic: {:?}",
        d.thread_texts(topic)
    );
    d.stop().await;

    // `true` keeps today's meaning (names hidden, /info in the topic for everyone); `title` is
    // accepted and changes nothing.
    let d = start(&[("WELCOME", "OFF"), ("HIDE_INFO", "true")]).await;
    d.user(1001, "Ann");
    d.say(1001, "hi");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "hi").await;
    assert!(topic_name(&d, topic).contains("Client #"));
    d.operator_says(topic, "/info");
    d.wait("the card in the topic", |d| {
        d.thread_texts(topic)
            .iter()
            .any(|t| t.starts_with("👤 Client #"))
    })
    .await;
    d.stop().await;
    let d = start(&[("WELCOME", "OFF"), ("HIDE_INFO", "title")]).await;
    d.user(1001, "Ann");
    d.say(1001, "hi");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "hi").await;
    assert_eq!(topic_name(&d, topic), "🟪 Ann");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_markdown_v2_welcome_is_sent_formatted_or_plain_when_refused() {
    let d = start(&[("WELCOME", r"Hi *{title}*\! An operator will answer here\.")]).await;
    d.user(1001, "Ann_Lee");
    d.say(1001, "hello");
    d.wait_user_sees(1001, "Hi Ann_Lee! An operator will answer here.")
        .await;
    let greeting =
        d.tg.messages(1001)
            .into_iter()
            .find(|m| m["from"]["is_bot"] == true)
            .unwrap();
    let bold = greeting["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .any(|e| e["type"] == "bold");
    assert!(bold, "sent formatted: {greeting}");
    d.stop().await;

    // Bad MarkdownV2 (an unescaped `.`): Telegram refuses it, the greeting goes as plain text.
    let d = start(&[("WELCOME", "Hi *{title}*. Welcome!")]).await;
    d.user(1001, "Ann");
    d.say(1001, "hello");
    d.wait_user_sees(1001, "Hi *Ann*. Welcome!").await;
    let refused =
        d.tg.calls_of("sendMessage")
            .into_iter()
            .any(|c| c.params["parse_mode"] == "MarkdownV2" && c.error_code == Some(400));
    assert!(refused, "the markdown was tried first");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "hello").await;
    d.stop().await;
}

async fn ban_by(status: Option<MemberStatus>, params: &[(&str, &str)]) -> (bool, Vec<String>) {
    let mut all = vec![("WELCOME", "OFF")];
    all.extend_from_slice(params);
    let d = start(&all).await;
    if let Some(status) = status {
        d.tg.add_member_as(GROUP, OPERATOR, status).unwrap();
    }
    d.user(1001, "Ann");
    d.say(1001, "hi");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "hi").await;
    d.operator_says(topic, "/ban");
    d.wait("an answer to /ban", |d| {
        d.thread_texts(topic)
            .iter()
            .any(|t| t.contains("banned") || t.contains("⛔"))
    })
    .await;
    let banned = d
        .hotline
        .desk()
        .store()
        .conversation(hotline::core::UserId(1001))
        .await
        .unwrap()
        .unwrap()
        .banned;
    let texts = d.thread_texts(topic);
    d.stop().await;
    (banned, texts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_operators_who_may_ban_can_ban() {
    for (status, allowed) in [
        (None, false),
        (Some(MemberStatus::LimitedAdministrator), false),
        (Some(MemberStatus::Administrator), true),
        (Some(MemberStatus::Creator), true),
    ] {
        let (banned, texts) = ban_by(status, &[]).await;
        assert_eq!(banned, allowed, "{status:?}: {texts:?}");
        if !allowed {
            assert!(
                texts.iter().any(|t| t.contains("BAN_ALLOWED")),
                "{status:?}: a refusal in the topic: {texts:?}"
            );
        }
    }
    let (banned, texts) = ban_by(None, &[("BAN_ALLOWED", "everyone")]).await;
    assert!(banned, "BAN_ALLOWED=everyone: {texts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unban_needs_the_right_too() {
    let d = start(&[("WELCOME", "OFF")]).await;
    d.tg.add_member_as(GROUP, OPERATOR, MemberStatus::Administrator)
        .unwrap();
    d.user(1001, "Ann");
    d.say(1001, "hi");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "hi").await;
    d.operator_says(topic, "/ban");
    d.wait("banned", |d| {
        d.thread_texts(topic)
            .iter()
            .any(|t| t.contains("is banned"))
    })
    .await;
    // A second operator, a plain member, tries to undo it.
    d.tg.add_user(NewUser::new(2002, "Pete"));
    d.tg.add_member(GROUP, 2002).unwrap();
    d.tg.send_message(NewMessage::text(2002, GROUP, "/unban").thread(topic))
        .unwrap();
    d.wait("the refusal", |d| {
        d.thread_texts(topic)
            .iter()
            .any(|t| t.contains("BAN_ALLOWED"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    d.say(1001, "let me in");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !d.thread_texts(topic).iter().any(|t| t == "let me in"),
        "still banned"
    );
    let _ = text_of;
    d.stop().await;
}
