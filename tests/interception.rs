//! Interception (#15.14): what the host bot sends to a user through `Hotline::intercept` shows
//! in the user's topic, formatted as the user saw it, albums as albums, edits in place; asserted
//! on what the operators see, through the fake Telegram.

mod common;

use common::{Desk, GROUP, start};
use frankenstein::AsyncTelegramApi;
use frankenstein::ParseMode;
use frankenstein::input_media::{InputMediaPhoto, MediaGroupInputMedia};
use frankenstein::methods::{
    CopyMessageParams, CopyMessagesParams, EditMessageCaptionParams, EditMessageTextParams,
    ForwardMessagesParams, SendMediaGroupParams, SendMessageParams, SendPhotoParams,
};
use serde_json::{Value, json};
use std::time::Duration;

const ANN: i64 = 1001;
const BOB: i64 = 1002;

/// A desk with Ann's topic open (she said "hi"); Bob has no topic.
async fn desk(params: &[(&str, &str)]) -> (Desk, i64) {
    let mut all = vec![("WELCOME", "OFF")];
    all.extend_from_slice(params);
    let d = start(&all).await;
    d.user(ANN, "Ann");
    d.user(BOB, "Bob");
    d.say(ANN, "hi");
    let topic = d.topic_of(ANN).await;
    d.wait_thread(topic, "hi").await;
    (d, topic)
}

/// What the operators see in a topic: its messages, service messages and Ann's "hi" left out.
fn mirrored(d: &Desk, topic: i64) -> Vec<Value> {
    d.tg.thread_messages(GROUP, topic)
        .into_iter()
        .filter(|m| m.get("forum_topic_created").is_none() && m.get("forum_topic_edited").is_none())
        .filter(|m| m.get("text").and_then(Value::as_str) != Some("hi"))
        .collect()
}

async fn wait_mirrored(d: &Desk, topic: i64, count: usize) -> Vec<Value> {
    d.wait(&format!("{count} mirrored messages"), |d| {
        mirrored(d, topic).len() >= count
    })
    .await;
    mirrored(d, topic)
}

fn html(chat: i64, text: &str) -> SendMessageParams {
    SendMessageParams::builder()
        .chat_id(chat)
        .text(text)
        .parse_mode(ParseMode::Html)
        .build()
}

fn photo(url: &str, caption: Option<&str>) -> MediaGroupInputMedia {
    let photo = InputMediaPhoto::builder().media(url.to_owned()).build();
    MediaGroupInputMedia::Photo(InputMediaPhoto {
        caption: caption.map(str::to_owned),
        parse_mode: caption.map(|_| ParseMode::Html),
        ..photo
    })
}

/// "🤖 Bot:" and its line break, in UTF-16 code units: where the original text starts.
const MARK: i64 = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_formatted_text_keeps_its_formatting_and_its_edits_follow() {
    let (d, topic) = desk(&[]).await;
    let bot = d.hotline.bot();
    let sent = bot
        .send_message(&html(
            ANN,
            "<b>Prices</b> are <a href=\"https://shop.example\">here</a>",
        ))
        .await
        .expect("the host's send works");
    let copy = &wait_mirrored(&d, topic, 1).await[0];
    assert_eq!(copy["text"], "🤖 Bot:\nPrices are here");
    assert_eq!(
        copy["entities"],
        json!([
            {"type": "bold", "offset": MARK, "length": 6},
            {"type": "text_link", "offset": MARK + 11, "length": 4, "url": "https://shop.example"},
        ]),
        "the original's entities, behind the mark: {copy}"
    );

    let edit = EditMessageTextParams::builder()
        .chat_id(ANN)
        .message_id(sent.result.message_id)
        .text("<b>Prices</b> are <i>lower</i> now")
        .parse_mode(ParseMode::Html)
        .build();
    bot.edit_message_text(&edit).await.expect("the host's edit");
    d.wait("the edit in the topic", |d| {
        mirrored(d, topic)[0]["text"] == "🤖 Bot:\nPrices are lower now"
    })
    .await;
    let copies = mirrored(&d, topic);
    assert_eq!(copies.len(), 1, "edited in place: {copies:?}");
    assert_eq!(
        copies[0]["entities"],
        json!([
            {"type": "bold", "offset": MARK, "length": 6},
            {"type": "italic", "offset": MARK + 11, "length": 5},
        ])
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_is_copied_with_its_formatted_caption_and_caption_edits_follow() {
    let (d, topic) = desk(&[]).await;
    let bot = d.hotline.bot();
    let params = SendPhotoParams::builder()
        .chat_id(ANN)
        .photo("https://shop.example/new.jpg".to_owned())
        .caption("<i>New</i> arrivals")
        .parse_mode(ParseMode::Html)
        .build();
    let sent = bot.send_photo(&params).await.expect("the host's photo");
    let copy = &wait_mirrored(&d, topic, 1).await[0];
    assert!(copy["photo"].is_array(), "the photo itself: {copy}");
    assert_eq!(copy["caption"], "🤖 Bot:\nNew arrivals");
    assert_eq!(
        copy["caption_entities"],
        json!([{"type": "italic", "offset": MARK, "length": 3}])
    );

    let edit = EditMessageCaptionParams::builder()
        .chat_id(ANN)
        .message_id(sent.result.message_id)
        .caption("<b>Sold</b> out")
        .parse_mode(ParseMode::Html)
        .build();
    bot.edit_message_caption(&edit)
        .await
        .expect("the host's edit");
    d.wait("the caption edit in the topic", |d| {
        mirrored(d, topic)[0]["caption"] == "🤖 Bot:\nSold out"
    })
    .await;
    assert_eq!(
        mirrored(&d, topic)[0]["caption_entities"],
        json!([{"type": "bold", "offset": MARK, "length": 4}])
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_album_is_mirrored_as_one_album() {
    let (d, topic) = desk(&[]).await;
    let bot = d.hotline.bot();
    let params = SendMediaGroupParams::builder()
        .chat_id(ANN)
        .media(vec![
            photo("https://shop.example/1.jpg", Some("<b>Our</b> shop")),
            photo("https://shop.example/2.jpg", None),
            photo("https://shop.example/3.jpg", None),
        ])
        .build();
    bot.send_media_group(&params)
        .await
        .expect("the host's album");
    let copies = wait_mirrored(&d, topic, 3).await;
    // Give a stray item-by-item mirror the time to show.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let copies_now = mirrored(&d, topic);
    assert_eq!(copies_now.len(), 3, "three photos, once: {copies_now:?}");
    let group = &copies[0]["media_group_id"];
    assert!(group.is_string(), "an album: {copies:?}");
    assert!(
        copies
            .iter()
            .all(|c| c["photo"].is_array() && &c["media_group_id"] == group),
        "one album of the three photos: {copies:?}"
    );
    let calls = d.tg.calls_of("copyMessages");
    assert_eq!(calls.len(), 1, "copied in one call: {calls:?}");
    assert_eq!(calls[0].params["chat_id"], json!(GROUP));
    // The mark goes before the album's caption, its formatting behind it.
    d.wait("the album's caption marked", |d| {
        mirrored(d, topic)[0]["caption"] == "🤖 Bot:\nOur shop"
    })
    .await;
    assert_eq!(
        mirrored(&d, topic)[0]["caption_entities"],
        json!([{"type": "bold", "offset": MARK, "length": 3}])
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_and_forwards_to_the_user_are_mirrored_whole() {
    let (d, topic) = desk(&[]).await;
    let bot = d.hotline.bot();
    // The host's own messages in Bob's chat (no topic: not mirrored) are what it copies to Ann.
    let first = bot
        .send_message(&html(BOB, "<b>Opening</b> hours"))
        .await
        .unwrap();
    let second = bot.send_message(&html(BOB, "9 to 5")).await.unwrap();
    let album = SendMediaGroupParams::builder()
        .chat_id(BOB)
        .media(vec![
            photo("https://shop.example/a.jpg", Some("Menu")),
            photo("https://shop.example/b.jpg", None),
        ])
        .build();
    let album = bot.send_media_group(&album).await.unwrap().result;
    let (first, second) = (first.result.message_id, second.result.message_id);

    let copy = CopyMessageParams::builder()
        .chat_id(ANN)
        .from_chat_id(BOB)
        .message_id(first)
        .build();
    bot.copy_message(&copy).await.expect("copyMessage");
    let copies = wait_mirrored(&d, topic, 1).await;
    let bot_id = d.tg.bot_id();
    assert_eq!(copies[0]["text"], "Opening hours");
    assert_eq!(
        copies[0]["entities"],
        json!([{"type": "bold", "offset": 0, "length": 7}]),
        "formatting kept: {}",
        copies[0]
    );
    assert_eq!(
        copies[0]["forward_origin"]["sender_user"]["id"],
        json!(bot_id),
        "shown as the bot's"
    );

    let many = CopyMessagesParams::builder()
        .chat_id(ANN)
        .from_chat_id(BOB)
        .message_ids(vec![first, second])
        .build();
    bot.copy_messages(&many).await.expect("copyMessages");
    let copies = wait_mirrored(&d, topic, 3).await;
    assert_eq!(
        [&copies[1]["text"], &copies[2]["text"]],
        ["Opening hours", "9 to 5"]
    );

    let forward = ForwardMessagesParams::builder()
        .chat_id(ANN)
        .from_chat_id(BOB)
        .message_ids(album.iter().map(|m| m.message_id).collect::<Vec<_>>())
        .build();
    bot.forward_messages(&forward)
        .await
        .expect("forwardMessages");
    let copies = wait_mirrored(&d, topic, 5).await;
    let (a, b) = (&copies[3], &copies[4]);
    assert!(a["photo"].is_array() && b["photo"].is_array(), "{a} {b}");
    assert_eq!(a["caption"], "Menu");
    assert!(
        a["media_group_id"].is_string() && a["media_group_id"] == b["media_group_id"],
        "still one album: {a} {b}"
    );
    // One call into the topic for each of the host's calls.
    let into_topic =
        d.tg.calls_of("forwardMessages")
            .into_iter()
            .filter(|c| c.params["chat_id"] == json!(GROUP))
            .count();
    assert_eq!(into_topic, 3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mirrored(&d, topic).len(), 5, "each mirrored once");
    assert_eq!(d.tg.topics(GROUP).len(), 1, "Bob has no topic");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_intercept_external_off_nothing_is_mirrored() {
    let (d, topic) = desk(&[("INTERCEPT_EXTERNAL", "false")]).await;
    let bot = d.hotline.bot();
    let sent = bot.send_message(&html(ANN, "<b>Hello</b>")).await.unwrap();
    let photo_params = SendPhotoParams::builder()
        .chat_id(ANN)
        .photo("https://shop.example/p.jpg".to_owned())
        .build();
    bot.send_photo(&photo_params).await.unwrap();
    let album = SendMediaGroupParams::builder()
        .chat_id(ANN)
        .media(vec![
            photo("https://shop.example/1.jpg", None),
            photo("https://shop.example/2.jpg", None),
        ])
        .build();
    bot.send_media_group(&album).await.unwrap();
    let copy = CopyMessageParams::builder()
        .chat_id(ANN)
        .from_chat_id(ANN)
        .message_id(sent.result.message_id)
        .build();
    bot.copy_message(&copy).await.unwrap();
    let forward = ForwardMessagesParams::builder()
        .chat_id(ANN)
        .from_chat_id(ANN)
        .message_ids(vec![sent.result.message_id])
        .build();
    bot.forward_messages(&forward).await.unwrap();
    let edit = EditMessageTextParams::builder()
        .chat_id(ANN)
        .message_id(sent.result.message_id)
        .text("Hello again")
        .build();
    bot.edit_message_text(&edit).await.unwrap();
    // Ann still sees it all; the operators see only what she wrote.
    d.say(ANN, "still there?");
    d.wait_thread(topic, "still there?").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let shown: Vec<Value> = mirrored(&d, topic);
    assert_eq!(shown.len(), 1, "only Ann's second message: {shown:?}");
    assert_eq!(shown[0]["text"], "still there?");
    d.stop().await;
}
