//! The operator's desk, end to end through the fake Telegram: statuses, commands, filters,
//! greetings, user cards and reactions, asserted on what operators and users see.

mod common;

use common::{GROUP, OPERATOR, TOKEN, fake, start, text_of};
use hotline::core::{ChatId, Config, Greeting, GreetingButton, ManualClock, Timestamp, Welcome};
use hotline::telegram::{Hotline, Limits};
use hotline_testkit::{NewMessage, NewUser};
use std::sync::Arc;
use std::time::Duration;

fn topic_name(d: &common::Desk, topic: i64) -> String {
    d.tg.topics(GROUP)
        .into_iter()
        .find(|t| t.message_thread_id == topic)
        .map(|t| t.name)
        .unwrap_or_default()
}

async fn wait_name(d: &common::Desk, topic: i64, prefix: &str) {
    d.wait(&format!("topic name starting with {prefix}"), |d| {
        topic_name(d, topic).starts_with(prefix)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_follow_traffic_and_commands() {
    let d = start(&[("WELCOME", "OFF")]).await;
    d.tg.add_user(NewUser::new(1001, "Ann").last_name("Lee"));
    d.say(1001, "hello");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "hello").await;
    assert_eq!(topic_name(&d, topic), "🟪 Ann Lee", "a new topic is 🟪");
    d.operator_says(topic, "hi Ann");
    wait_name(&d, topic, "🟨").await;
    d.say(1001, "thanks");
    wait_name(&d, topic, "🟪").await;
    d.operator_says(topic, "/wait");
    wait_name(&d, topic, "🟨").await;
    d.operator_says(topic, "/hold");
    wait_name(&d, topic, "🟪").await;
    d.operator_says(topic, "/close");
    wait_name(&d, topic, "⬛").await;
    d.wait("closed", |d| d.tg.topics(GROUP)[0].is_closed).await;
    assert!(
        d.user_sees(1001).iter().all(|t| !t.starts_with('/')),
        "commands never reach the user"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autoclose_reopen_welcome_and_leave_closed() {
    let tg = fake().await;
    tg.add_user(NewUser::new(1001, "Ann"));
    let clock = Arc::new(ManualClock::new(Timestamp(1_800_000_000)));
    let config = Config::builder(ChatId(GROUP))
        .set("AUTOCLOSE", "48")
        .and_then(|b| b.set("WELCOME", "Welcome back, {title}"))
        .and_then(|b| b.build())
        .unwrap();
    let hotline = Hotline::builder(TOKEN, config)
        .api_url(tg.api_url())
        .limits(Limits::off())
        .clock(clock.clone())
        .build()
        .unwrap();
    let d = common::run(tg, hotline);
    d.say(1001, "question");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "question").await;
    d.operator_says(topic, "answer");
    d.wait_user_sees(1001, "answer").await;
    clock.advance(47 * 3600);
    d.hotline.desk().tick().await.unwrap();
    assert!(
        !d.tg.topics(GROUP)[0].is_closed,
        "47 hours in 🟨: still open"
    );
    clock.advance(3600);
    d.hotline.desk().tick().await.unwrap();
    d.wait("closed by AUTOCLOSE", |d| d.tg.topics(GROUP)[0].is_closed)
        .await;
    wait_name(&d, topic, "⬛").await;
    d.say(1001, "one more question");
    d.wait_thread(topic, "one more question").await;
    d.wait("reopened", |d| !d.tg.topics(GROUP)[0].is_closed)
        .await;
    d.wait("greeted twice", |d| {
        d.user_sees(1001)
            .iter()
            .filter(|t| t.starts_with("Welcome back"))
            .count()
            == 2
    })
    .await;
    d.stop().await;

    // LEAVE_CLOSED: the topic starts closed (see tests/hotline_settings.rs), and a message
    // goes into the closed topic, which stays closed.
    let d = start(&[("WELCOME", "OFF"), ("LEAVE_CLOSED", "true")]).await;
    d.user(1001, "Ann");
    d.say(1001, "first");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "first").await;
    d.wait("closed", |d| d.tg.topics(GROUP)[0].is_closed).await;
    d.say(1001, "after closing");
    d.wait_thread(topic, "after closing").await;
    assert!(
        d.tg.topics(GROUP)[0].is_closed,
        "LEAVE_CLOSED keeps it closed"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_closed_and_reopened_by_hand_are_picked_up() {
    let d = start(&[("WELCOME", "Hi {title}")]).await;
    d.user(1001, "Ann");
    d.say(1001, "hi");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "hi").await;
    d.tg.close_topic(GROUP, topic, OPERATOR).unwrap();
    wait_name(&d, topic, "⬛").await;
    d.tg.reopen_topic(GROUP, topic, OPERATOR).unwrap();
    wait_name(&d, topic, "🟪").await;
    // Open again: the user's next message is relayed without a second greeting.
    d.say(1001, "still there?");
    d.wait_thread(topic, "still there?").await;
    assert_eq!(d.user_sees(1001), ["Hi Ann"]);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ban_unban_info_and_help() {
    let d = start(&[("WELCOME", "OFF")]).await;
    // Banning takes an administrator's right (BAN_ALLOWED's default).
    d.tg.add_member_as(
        GROUP,
        OPERATOR,
        hotline_testkit::MemberStatus::Administrator,
    )
    .unwrap();
    d.tg.add_user(
        NewUser::new(1001, "Ann")
            .username("ann")
            .language_code("de"),
    );
    d.say(1001, "/start promo-7");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "/start promo-7").await;
    d.operator_says(topic, "/ban");
    d.wait("the ban notice", |d| {
        d.thread_texts(topic).iter().any(|t| t.contains("banned"))
    })
    .await;
    d.say(1001, "let me in");
    d.operator_says(topic, "/info");
    d.wait("the card", |d| {
        d.thread_texts(topic).iter().any(|t| t.starts_with("👤"))
    })
    .await;
    let card = d
        .thread_texts(topic)
        .into_iter()
        .find(|t| t.starts_with("👤"))
        .unwrap();
    for field in [
        "Ann",
        "@ann",
        "ID: 1001",
        "Language: de",
        "promo-7",
        "Banned: yes",
    ] {
        assert!(
            card.contains(field),
            "{field} missing from the card:\n{card}"
        );
    }
    assert!(
        !d.thread_texts(topic).contains(&"let me in".to_owned()),
        "a banned user is not relayed"
    );
    d.operator_says(topic, "/unban");
    // The user's and the operators' events run in separate lanes: wait for the unban to land.
    d.wait("the unban notice", |d| {
        d.thread_texts(topic)
            .iter()
            .any(|t| t.contains("no longer banned"))
    })
    .await;
    d.say(1001, "thanks");
    d.wait_thread(topic, "thanks").await;
    d.operator_says(topic, "/help");
    d.wait("the help", |d| {
        d.thread_texts(topic)
            .iter()
            .any(|t| t.contains("/close") && t.contains("/ban"))
    })
    .await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_restrict_what_crosses() {
    let d = start(&[
        ("WELCOME", "OFF"),
        ("RESTRICTED_KEYWORDS_FRONTEND", r#""casino""#),
        ("RESTRICTED_KEYWORDS_BACKEND", r#""password""#),
        ("IGNORE_CHATS", "1003"),
    ])
    .await;
    for (id, name) in [(1001, "Ann"), (1003, "Spammer")] {
        d.user(id, name);
    }
    d.say(1001, "hi");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "hi").await;
    d.say(1001, "best CASINO here");
    d.wait_user_sees(1001, "Your message was not delivered.")
        .await;
    d.operator_says(topic, "your password is 1234");
    d.wait("the refusal", |d| {
        d.thread_texts(topic)
            .iter()
            .any(|t| t.contains("restricted keyword"))
    })
    .await;
    d.say(1003, "hello?");
    d.say(1001, "ok");
    d.wait_thread(topic, "ok").await;
    assert!(
        !d.thread_texts(topic).iter().any(|t| t.contains("CASINO")),
        "frontend restriction"
    );
    assert!(
        !d.user_sees(1001).iter().any(|t| t.contains("password")),
        "backend restriction"
    );
    assert_eq!(d.tg.topics(GROUP).len(), 1, "the ignored chat got no topic");
    d.stop().await;

    let silent = start(&[
        ("WELCOME", "OFF"),
        ("SILENT_MODE", "true"),
        ("RESTRICTED_KEYWORDS_FRONTEND", "casino"),
    ])
    .await;
    silent.user(1001, "Ann");
    silent.say(1001, "casino");
    silent.say(1001, "hello");
    let topic = silent.topic_of(1001).await;
    silent.wait_thread(topic, "hello").await;
    assert!(
        silent.user_sees(1001).is_empty(),
        "SILENT_MODE tells the user nothing"
    );
    silent.stop().await;

    let listed = start(&[("WELCOME", "OFF"), ("WHITE_LIST", "1001")]).await;
    listed.user(1001, "Ann");
    listed.user(1002, "Bob");
    listed.say(1002, "not on the list");
    listed.say(1001, "on the list");
    let topic = listed.topic_of(1001).await;
    listed.wait_thread(topic, "on the list").await;
    assert_eq!(listed.tg.topics(GROUP).len(), 1, "WHITE_LIST");
    listed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hide_info_and_auto_info_with_a_pinned_card() {
    let d = start(&[
        ("WELCOME", "OFF"),
        ("HIDE_INFO", "true"),
        ("AUTO_INFO", "true"),
    ])
    .await;
    d.tg.add_user(
        NewUser::new(1001, "Ann")
            .last_name("Lee")
            .username("annlee")
            .language_code("fr"),
    );
    d.say(1001, "/start ref-42");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "/start ref-42").await;
    let name = topic_name(&d, topic);
    assert!(
        name.starts_with("🟪 Client #") && !name.contains("Ann"),
        "{name}"
    );
    let card = d
        .thread_texts(topic)
        .into_iter()
        .find(|t| t.starts_with("👤"))
        .expect("a card");
    assert!(
        !card.contains("Ann") && !card.contains("annlee"),
        "names hidden:\n{card}"
    );
    assert!(
        card.contains("ref-42") && card.contains("Language: fr"),
        "{card}"
    );
    let card_id =
        d.tg.thread_messages(GROUP, topic)
            .into_iter()
            .find(|m| text_of(m).starts_with("👤"))
            .unwrap()["message_id"]
            .as_i64()
            .unwrap();
    d.wait("the card pinned", |d| {
        d.tg.pinned_messages(GROUP).contains(&card_id)
    })
    .await;
    d.stop().await;

    // The pseudonym is stable: a second desk on the same user gives the same name.
    let again = start(&[("WELCOME", "OFF"), ("HIDE_INFO", "true")]).await;
    again.tg.add_user(NewUser::new(1001, "Ann"));
    again.say(1001, "hi");
    let t = again.topic_of(1001).await;
    again.wait_thread(t, "hi").await;
    assert_eq!(topic_name(&again, t), name);
    again.stop().await;
}

/// A desk on `tg` that greets with `greeting`.
fn greeting_with(tg: hotline_testkit::FakeTelegram, greeting: Greeting) -> common::Desk {
    let config = Config::builder(ChatId(GROUP))
        .welcome(Welcome::Rich(greeting))
        .build()
        .unwrap();
    let hotline = Hotline::builder(TOKEN, config)
        .api_url(tg.api_url())
        .limits(Limits::off())
        .build()
        .unwrap();
    common::run(tg, hotline)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rich_greeting_with_photo_and_buttons() {
    let tg = fake().await;
    tg.add_user(NewUser::new(1001, "Ann"));
    let greeting = Greeting {
        photo: Some("https://example.com/desk.jpg".into()),
        buttons: vec![vec![
            GreetingButton::Url {
                text: "Help centre".into(),
                url: "https://example.com/help".into(),
            },
            GreetingButton::WebApp {
                text: "Open the app".into(),
                url: "https://example.com/app".into(),
            },
        ]],
        ..Greeting::text("Hi *{title}*\\! We answer here\\.", true)
    };
    let d = greeting_with(tg, greeting);
    d.say(1001, "hello");
    d.wait("the greeting", |d| {
        d.tg.messages(1001).iter().any(|m| m.get("photo").is_some())
    })
    .await;
    let greeting =
        d.tg.messages(1001)
            .into_iter()
            .find(|m| m.get("photo").is_some())
            .unwrap();
    assert_eq!(text_of(&greeting), "Hi Ann! We answer here.");
    assert_eq!(greeting["caption_entities"][0]["type"], "bold");
    let row = &greeting["reply_markup"]["inline_keyboard"][0];
    assert_eq!(row[0]["url"], "https://example.com/help");
    assert_eq!(row[1]["web_app"]["url"], "https://example.com/app");
    d.stop().await;
}

/// Ann writes to a desk greeting with `video_note` and a text; returns what the bot sent her.
async fn greeted_with_a_video_note(video_note: &str, known: bool) -> Vec<serde_json::Value> {
    let tg = fake().await;
    tg.add_user(NewUser::new(1001, "Ann"));
    if known {
        // A file the bot may send must be known to Telegram: an operator posts it in General,
        // which the desk ignores.
        tg.send_message(NewMessage::text(OPERATOR, GROUP, "our hello").document(video_note))
            .unwrap();
    }
    let greeting = Greeting {
        video_note: Some(video_note.into()),
        ..Greeting::text("Hi {title}, we answer here.", false)
    };
    let d = greeting_with(tg, greeting);
    d.say(1001, "hello");
    d.wait_user_sees(1001, "Hi Ann, we answer here.").await;
    d.wait_thread(d.topic_of(1001).await, "hello").await;
    let from_bot =
        d.tg.messages(1001)
            .into_iter()
            .filter(|m| m["from"]["is_bot"] == true)
            .collect();
    d.stop().await;
    from_bot
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_greeting_with_a_video_note_sends_the_note_then_the_text() {
    let from_bot = greeted_with_a_video_note("DQACAgIAAxkBAAIBnote", true).await;
    assert_eq!(from_bot.len(), 2, "the note and the text: {from_bot:?}");
    assert!(from_bot[0].get("video_note").is_some(), "{from_bot:?}");
    assert_eq!(text_of(&from_bot[1]), "Hi Ann, we answer here.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_greeting_whose_video_note_is_refused_still_sends_the_text() {
    // Telegram answers 400 for a file id it does not know: the text goes all the same.
    let from_bot = greeted_with_a_video_note("not-a-known-file-id", false).await;
    assert_eq!(from_bot.len(), 1, "the text alone: {from_bot:?}");
    assert_eq!(text_of(&from_bot[0]), "Hi Ann, we answer here.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_are_mirrored_both_ways() {
    let d = start(&[("WELCOME", "OFF")]).await;
    d.user(1001, "Ann");
    let mine = d.say(1001, "my question");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "my question").await;
    let copy =
        d.tg.thread_messages(GROUP, topic)
            .into_iter()
            .find(|m| text_of(m) == "my question")
            .unwrap();
    let answer = d.operator_says(topic, "the answer");
    d.wait_user_sees(1001, "the answer").await;
    let answer_copy =
        d.tg.messages(1001)
            .into_iter()
            .find(|m| text_of(m) == "the answer")
            .unwrap();
    // The operator reacts to the copy of Ann's message: Ann sees it on her own message.
    d.tg.react(OPERATOR, GROUP, copy["message_id"].as_i64().unwrap(), "👍")
        .unwrap();
    let mine_id = mine["message_id"].as_i64().unwrap();
    d.wait("👍 at Ann", |d| {
        !d.tg.bot_reactions(1001, mine_id).is_empty()
    })
    .await;
    assert_eq!(d.tg.bot_reactions(1001, mine_id)[0]["emoji"], "👍");
    // Ann reacts to the operator's answer: the operators see it on the original.
    d.tg.react(1001, 1001, answer_copy["message_id"].as_i64().unwrap(), "❤")
        .unwrap();
    let answer_id = answer["message_id"].as_i64().unwrap();
    d.wait("❤ in the topic", |d| {
        !d.tg.bot_reactions(GROUP, answer_id).is_empty()
    })
    .await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_general_topic_and_other_groups_are_ignored() {
    let d = start(&[("WELCOME", "OFF")]).await;
    d.user(1001, "Ann");
    d.say(1001, "hi");
    let topic = d.topic_of(1001).await;
    d.wait_thread(topic, "hi").await;
    d.tg.send_message(NewMessage::text(OPERATOR, GROUP, "/close"))
        .unwrap();
    d.tg.send_message(NewMessage::text(OPERATOR, GROUP, "/ban"))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !d.tg.topics(GROUP)[0].is_closed,
        "a command outside a user's topic does nothing"
    );
    d.say(1001, "still relayed");
    d.wait_thread(topic, "still relayed").await;
    d.stop().await;
}

/// A host bot that only hands updates over (no runner, no `spawn_ticker` of its own) still
/// gets AUTOCLOSE: the desk's timed work starts with the first update it is handed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autoclose_fires_for_an_embedded_desk_that_never_started_a_ticker() {
    let tg = fake().await;
    tg.add_user(NewUser::new(1001, "Ann"));
    let clock = Arc::new(ManualClock::new(Timestamp(1_800_000_000)));
    let config = Config::builder(ChatId(GROUP))
        .set("AUTOCLOSE", "1")
        .and_then(|b| b.build())
        .unwrap();
    let hotline = Hotline::builder(TOKEN, config)
        .api_url(tg.api_url())
        .limits(Limits::off())
        .clock(clock.clone())
        .tick_every(std::time::Duration::from_millis(50))
        .build()
        .unwrap();
    // The host's own loop: every update handed over, nothing else.
    let updates = |offset: i64| {
        let tg = tg.clone();
        async move {
            let answer: serde_json::Value = reqwest::Client::new()
                .post(format!("{}/bot{TOKEN}/getUpdates", tg.api_url()))
                .json(&serde_json::json!({"offset": offset, "timeout": 0}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer["result"].as_array().cloned().unwrap_or_default()
        }
    };
    let mut offset = 0;
    let hand_over_all = async |offset: &mut i64| {
        for raw in updates(*offset).await {
            *offset = raw["update_id"].as_i64().unwrap() + 1;
            let update: frankenstein::updates::Update = serde_json::from_value(raw).unwrap();
            let _ = hotline.handle_update(&update).completion.await;
        }
    };
    tg.send_message(NewMessage::text(1001, 1001, "question"))
        .unwrap();
    hand_over_all(&mut offset).await;
    tg.wait_for("Ann's topic", common::WAIT, |t| !t.topics(GROUP).is_empty())
        .await
        .unwrap();
    let topic = tg.topics(GROUP)[0].message_thread_id;
    tg.send_message(NewMessage::text(common::OPERATOR, GROUP, "answer").thread(topic))
        .unwrap();
    hand_over_all(&mut offset).await;
    clock.advance(2 * 3600);
    tg.wait_for("closed by AUTOCLOSE", common::WAIT, |t| {
        t.topics(GROUP)[0].is_closed
    })
    .await
    .expect("AUTOCLOSE fired without a ticker started by the host");
}
