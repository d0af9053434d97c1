//! What the teloxide host sends a user (from its handlers, through `Mirror`) shows in the
//! user's topic as the user saw it: a photo with its formatted caption, an album as one album,
//! edits in place; and edits both ways between the user and the operators. Asserted on the
//! fake Telegram's transcript.

mod common;

use common::{GROUP, Host, OPERATOR, USER, host, text_of};
use hotline_testkit::NewMessage;
use serde_json::{Value, json};
use std::time::Duration;

/// "🤖 Bot:" and its line break, in UTF-16 code units: where the original text starts.
const MARK: i64 = 8;

/// A host with the user's topic open (they said "hi"); welcome off.
async fn open() -> (Host, i64) {
    let h = host(&[("WELCOME", "OFF")]).await;
    h.say("hi");
    let topic = h.wait_topic().await;
    h.wait_thread(topic, "🤖 Bot:\nHost echo: hi").await;
    (h, topic)
}

/// The topic's messages after the opening "hi" and its echo.
fn after_opening(h: &Host, topic: i64) -> Vec<Value> {
    h.thread(topic).into_iter().skip(2).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosts_photo_is_mirrored_with_its_formatted_caption() {
    let (h, topic) = open().await;
    h.say("/photo");
    h.wait("the photo in the topic", |h| {
        after_opening(h, topic)
            .iter()
            .any(|m| m["photo"].is_array() && m.get("caption").is_some())
    })
    .await;
    let copy = after_opening(&h, topic)
        .into_iter()
        .find(|m| m["photo"].is_array())
        .expect("photo");
    // DefaultParseMode (HTML) formatted it; the mirror keeps that formatting behind its mark.
    assert_eq!(copy["caption"], "🤖 Bot:\nNew arrivals");
    assert_eq!(
        copy["caption_entities"],
        json!([{"type": "italic", "offset": MARK, "length": 3}])
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosts_media_group_is_mirrored_as_one_album() {
    let (h, topic) = open().await;
    h.say("/album");
    let photos = |h: &Host| {
        after_opening(h, topic)
            .into_iter()
            .filter(|m| m["photo"].is_array())
            .collect::<Vec<_>>()
    };
    h.wait("three photos in the topic", |h| photos(h).len() >= 3)
        .await;
    // Give a stray item-by-item mirror the time to show.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let copies = photos(&h);
    assert_eq!(copies.len(), 3, "three photos, once: {copies:?}");
    let album = &copies[0]["media_group_id"];
    assert!(album.is_string(), "an album: {copies:?}");
    assert!(
        copies.iter().all(|c| &c["media_group_id"] == album),
        "one album: {copies:?}"
    );
    let into_group: Vec<_> =
        h.tg.calls_of("copyMessages")
            .into_iter()
            .filter(|c| c.params["chat_id"] == json!(GROUP))
            .collect();
    assert_eq!(into_group.len(), 1, "copied in one call: {into_group:?}");
    h.wait("the album's caption marked", |h| {
        photos(h)[0]["caption"] == "🤖 Bot:\nOur shop"
    })
    .await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosts_edit_follows_in_the_topic() {
    let (h, topic) = open().await;
    h.say("quiet: the price please");
    h.wait_thread(topic, "quiet: the price please").await;
    h.say("/price");
    h.wait("the edited price in the topic", |h| {
        h.thread_texts(topic)
            .iter()
            .any(|t| t == "🤖 Bot:\nPrice: 12")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let prices: Vec<String> = h
        .thread_texts(topic)
        .into_iter()
        .filter(|t| t.contains("Price"))
        .collect();
    assert_eq!(prices, ["🤖 Bot:\nPrice: 12"], "edited in place");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_follow_both_ways() {
    let (h, topic) = open().await;
    // The user edits their message: the topic's copy is edited in place.
    let question = h.say("quiet: where is my order");
    h.wait_thread(topic, "quiet: where is my order").await;
    let id = question["message_id"].as_i64().expect("id");
    h.tg.edit_message(USER, USER, id, "quiet: where is my parcel")
        .expect("the user edits");
    h.wait_thread(topic, "quiet: where is my parcel").await;
    let texts = h.thread_texts(topic);
    assert!(
        !texts.iter().any(|t| t == "quiet: where is my order"),
        "edited, not resent: {texts:?}"
    );

    // The operator edits their answer: the user's copy is edited in place.
    let answer =
        h.tg.send_message(NewMessage::text(OPERATOR, GROUP, "It left on Monday").thread(topic))
            .expect("operator answers");
    h.wait("the answer at the user", |h| {
        h.user_texts().iter().any(|t| t == "It left on Monday")
    })
    .await;
    let id = answer["message_id"].as_i64().expect("id");
    h.tg.edit_message(OPERATOR, GROUP, id, "It left on Tuesday")
        .expect("the operator edits");
    h.wait("the edit at the user", |h| {
        h.user_texts().iter().any(|t| t == "It left on Tuesday")
    })
    .await;
    let at_user: Vec<String> =
        h.tg.messages(USER)
            .iter()
            .filter(|m| m["from"]["is_bot"] == true)
            .map(text_of)
            .filter(|t| t.starts_with("It left"))
            .collect();
    assert_eq!(at_user, ["It left on Tuesday"], "edited in place");
    // The operators' traffic (their answer and its edit) never reached the host.
    let seen = h.seen.lock().expect("seen").clone();
    assert!(seen.iter().all(|chat| *chat == USER), "host saw {seen:?}");
    h.stop().await;
}
