//! `Mirror<DefaultParseMode<Throttle<Bot>>>` in a real dispatcher: the desk's own traffic never
//! waits in the host's `Throttle`; downloads go through `Mirror`; a callback query without a
//! message (an inline message's button) reaches the desk or the host as its data says; and 300
//! users writing 10 messages each find them in order in their own topics.

mod common;

use common::{GROUP, Host, USER, WAIT, host, host_on, text_of};
use hotline_testkit::{NewMessage, NewUser};
use serde_json::json;
use std::time::Duration;
use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::InputFile;

/// Teloxide's default `Throttle` lets 10 messages a minute into one supergroup. The desk relays
/// 30 of the user's messages into the operators' group through its own client: all 30 arrive,
/// in order, well before a throttled host could have sent the 11th (a minute), so they never
/// queued in the host's throttle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desks_relays_never_wait_in_the_hosts_throttle() {
    let h = host(&[("WELCOME", "OFF")]).await;
    h.say("quiet 0");
    let topic = h.wait_topic().await;
    for i in 1..30 {
        h.say(&format!("quiet {i}"));
    }
    let expected: Vec<String> = (0..30).map(|i| format!("quiet {i}")).collect();
    // WAIT (30 s) is half the minute the host's throttle would hold the 11th message for.
    assert!(WAIT < Duration::from_secs(60));
    h.wait("30 relays in the topic", |h| {
        h.thread_texts(topic) == expected
    })
    .await;
    let relayed =
        h.tg.calls_of("copyMessage")
            .into_iter()
            .filter(|c| c.params["chat_id"] == json!(GROUP) && c.error_code.is_none())
            .count();
    assert_eq!(relayed, 30, "each relayed once");
    h.stop().await;
}

/// The host uploads a file through `Mirror` (mirrored into the topic as a document) and
/// downloads it back through `Mirror`'s `Download`, from the fake's `/file/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_mirrored_and_download_file_works_through_mirror() {
    let h = host(&[("WELCOME", "OFF")]).await;
    h.say("quiet");
    let topic = h.wait_topic().await;
    let report = InputFile::memory(&b"hello from the bot"[..]).file_name("report.txt");
    let sent = h
        .bot
        .send_document(teloxide::types::ChatId(USER), report)
        .caption("Here is your report")
        .await
        .expect("upload");
    h.wait_thread(topic, "🤖 Bot:\nHere is your report").await;
    let copy = h
        .thread(topic)
        .into_iter()
        .find(|m| text_of(m).ends_with("Here is your report"))
        .expect("copy");
    assert_eq!(copy["document"]["file_name"], "report.txt", "{copy}");

    let document = sent.document().expect("a document").file.id.clone();
    let file = h.bot.get_file(document).await.expect("getFile");
    let mut bytes = Vec::new();
    h.bot
        .download_file(&file.path, &mut bytes)
        .await
        .expect("download through Mirror");
    assert_eq!(bytes, b"hello from the bot");
    h.stop().await;
}

/// An inline message's button has no message and no chat: Hotline's opens the topic (the host
/// never sees it), the host's own reaches the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_query_without_a_message_reaches_the_desk_or_the_host() {
    let h = host(&[("HAND_OVER_ONLY", "true"), ("WELCOME", "OFF")]).await;
    h.say("quiet: a question first");
    h.wait("the host got the message", |h| {
        h.seen.lock().expect("seen").contains(&USER)
    })
    .await;
    assert_eq!(h.topic().await, None, "no topic before the hand-over");
    let user = json!({"id": USER, "is_bot": false, "first_name": "Ulla"});
    h.tg.push_raw_update(
        "callback_query",
        json!({"id": "inline-1", "from": user, "chat_instance": "ci-1",
               "inline_message_id": "AAEAAQ", "data": "faq:1"}),
    );
    h.wait("the host saw its own inline button", |h| {
        h.seen.lock().expect("seen").contains(&0)
    })
    .await;
    assert_eq!(h.topic().await, None, "the host's button opens nothing");

    h.tg.push_raw_update(
        "callback_query",
        json!({"id": "inline-2", "from": user, "chat_instance": "ci-1",
               "inline_message_id": "AAEAAQ", "data": hotline_transport_telegram::HUMAN_CALLBACK}),
    );
    let topic = h.wait_topic().await;
    h.wait_thread(topic, "quiet: a question first").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let presses = h
        .seen
        .lock()
        .expect("seen")
        .iter()
        .filter(|c| **c == 0)
        .count();
    assert_eq!(presses, 1, "the host never saw Hotline's button");
    let answered =
        h.tg.calls_of("answerCallbackQuery")
            .into_iter()
            .filter(|c| c.params["callback_query_id"] == "inline-2")
            .count();
    assert_eq!(answered, 1, "Hotline answered its button");
    h.stop().await;
}

/// 300 users × 10 messages through the dispatcher: one topic each, each topic in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_users_ten_messages_each_arrive_in_order() {
    const USERS: i64 = 300;
    const MESSAGES: usize = 10;
    const FIRST: i64 = 10_000;
    let tg = common::fake().await;
    for u in 0..USERS {
        tg.add_user(NewUser::new(FIRST + u, &format!("User{u}")));
    }
    let h: Host = host_on(tg, &[("WELCOME", "OFF")]).await;
    for m in 0..MESSAGES {
        for u in 0..USERS {
            h.tg.send_message(NewMessage::text(
                FIRST + u,
                FIRST + u,
                &format!("quiet u{u} m{m}"),
            ))
            .expect("user message");
        }
    }
    let long = tokio::time::Instant::now() + 4 * WAIT;
    loop {
        let relayed =
            h.tg.messages(GROUP)
                .iter()
                .filter(|m| text_of(m).starts_with("quiet u"))
                .count();
        if relayed == USERS as usize * MESSAGES {
            break;
        }
        assert!(
            tokio::time::Instant::now() < long,
            "{relayed} of {} relayed",
            USERS as usize * MESSAGES
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        h.tg.topics(GROUP).len(),
        USERS as usize,
        "one topic per user"
    );
    for u in 0..USERS {
        let topic = h.wait_topic_of(FIRST + u).await;
        let expected: Vec<String> = (0..MESSAGES).map(|m| format!("quiet u{u} m{m}")).collect();
        assert_eq!(h.thread_texts(topic), expected, "user {u}'s topic");
    }
    h.stop().await;
}
