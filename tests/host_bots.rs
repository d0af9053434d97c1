//! The four unmodified host bots (aiogram, python-telegram-bot, grammY, teloxide) run straight
//! against the fake Telegram: the same conversation with each, asserted on what the user sees.
//! The gateway's tests run the same bots through the gateway (`common::host_bots`).
//!
//! Each bot: `/start` → a welcome with an "FAQ" button; the button → the callback answered and
//! the FAQ text; a photo or a document → downloaded by the framework, "Got your file: N
//! bytes"; `/upload` → `report.txt` uploaded from memory; any other text → "You said: …";
//! nothing at all in a group.

mod common;

use std::time::Duration;

use common::host_bots::{HostBot, RunningBot};
use hotline_testkit::{FakeTelegram, NewGroup, NewMessage, NewUser};
use serde_json::Value;

const TOKEN: &str = "424242:host-bot-SECRET_token";
const USER: i64 = 4001;
const GROUP: i64 = -1_004_000_000_001;
const WAIT: Duration = Duration::from_secs(15);
const REPORT: &[u8] = b"hello from the bot";

/// The bot's messages in a chat.
fn bot_messages(tg: &FakeTelegram, chat: i64) -> Vec<Value> {
    tg.messages(chat)
        .into_iter()
        .filter(|m| m["from"]["is_bot"] == true)
        .collect()
}

/// Waits until the bot has sent, in the user's chat, a message `pick` accepts, and returns it.
async fn bot_sends(
    tg: &FakeTelegram,
    bot: &mut RunningBot,
    what: &str,
    pick: impl Fn(&Value) -> bool,
) -> Value {
    let found = tg
        .wait_for(what, WAIT, |t| bot_messages(t, USER).iter().any(&pick))
        .await;
    if let Err(e) = found {
        let running = bot.is_running();
        panic!(
            "{}: {e}\n(bot still running: {running})\nuser chat: {:#?}\ncalls: {:?}\n{}",
            bot.bot.name(),
            tg.messages(USER),
            tg.calls()
                .iter()
                .map(|c| format!(
                    "{}{}",
                    c.method,
                    c.error_code.map(|e| format!(" → {e}")).unwrap_or_default()
                ))
                .collect::<Vec<_>>(),
            bot.output()
        );
    }
    bot_messages(tg, USER)
        .into_iter()
        .find(|m| pick(m))
        .expect("found")
}

fn text_is(text: &str) -> impl Fn(&Value) -> bool + '_ {
    move |m| m["text"] == text
}

/// Downloads a file from the fake the way a client does: getFile, then `/file/bot<T>/<path>`.
async fn fake_file_bytes(tg: &FakeTelegram, file_id: &str) -> Vec<u8> {
    let http = reqwest::Client::new();
    let file: Value = http
        .post(format!("{}/bot{}/getFile", tg.api_url(), tg.token()))
        .json(&serde_json::json!({ "file_id": file_id }))
        .send()
        .await
        .expect("getFile")
        .json()
        .await
        .expect("getFile JSON");
    let path = file["result"]["file_path"].as_str().expect("file_path");
    http.get(format!("{}/file/bot{}/{path}", tg.api_url(), tg.token()))
        .send()
        .await
        .expect("download")
        .bytes()
        .await
        .expect("bytes")
        .to_vec()
}

/// The bot's calls up to its second getUpdates, in order of completion (a long poll completes
/// late), printed for the gateway's sake: `cargo test --test host_bots -- --nocapture`.
fn startup_calls(tg: &FakeTelegram) -> Vec<String> {
    let mut polls = 0;
    tg.calls()
        .into_iter()
        .take_while(|c| {
            polls += usize::from(c.method == "getUpdates");
            polls <= 2
        })
        .map(|c| format!("{} {}", c.method, c.params))
        .collect()
}

async fn conversation(kind: HostBot) {
    let started = std::time::Instant::now();
    let tg = FakeTelegram::start(TOKEN).await.expect("fake Telegram");
    tg.add_user(NewUser::new(USER, "Ann").username("ann"));
    // A group where the bot is an admin, so that privacy mode hides nothing from it.
    tg.add_group(NewGroup::plain(GROUP, "Acme fans").bot_is_admin(true));
    tg.add_member(GROUP, USER).expect("member");

    let mut bot = kind.spawn(&tg.api_url(), TOKEN).await;

    // In the group first: the bot must stay silent there, whatever it is sent.
    for text in ["/start", "/upload", "hello group"] {
        tg.send_message(NewMessage::text(USER, GROUP, text))
            .expect("group message");
    }
    tg.send_message(NewMessage::empty(USER, GROUP).photo("group-photo"))
        .expect("group photo");

    // 1. /start → the welcome and its FAQ button.
    tg.send_message(NewMessage::text(USER, USER, "/start"))
        .expect("/start");
    let welcome = bot_sends(
        &tg,
        &mut bot,
        "the welcome",
        text_is("Welcome to Acme! Tap FAQ for answers."),
    )
    .await;
    let buttons = &welcome["reply_markup"]["inline_keyboard"];
    assert_eq!(
        buttons,
        &serde_json::json!([[{"text": "FAQ", "callback_data": "faq"}]]),
        "{}: the welcome's keyboard",
        kind.name()
    );

    // 2. The FAQ button → the callback answered, then the FAQ text.
    let welcome_id = welcome["message_id"].as_i64().expect("message_id");
    let query = tg
        .press_button(USER, USER, welcome_id, "faq")
        .expect("press FAQ");
    let query_id = query["id"].as_str().expect("callback id").to_owned();
    bot_sends(
        &tg,
        &mut bot,
        "the FAQ answer",
        text_is("FAQ: we are open 9-18, Monday to Friday."),
    )
    .await;
    assert!(
        tg.callback_answer(&query_id).is_some(),
        "{}: the FAQ button's spinner stops (answerCallbackQuery)",
        kind.name()
    );

    // 3. A photo → downloaded through the framework's file URL; N is what the fake serves.
    let photo = tg
        .send_message(NewMessage::empty(USER, USER).photo("ann-photo-1"))
        .expect("photo");
    let largest = photo["photo"]
        .as_array()
        .and_then(|sizes| sizes.last())
        .expect("photo sizes");
    let photo_bytes = fake_file_bytes(&tg, largest["file_id"].as_str().expect("file_id")).await;
    assert!(!photo_bytes.is_empty());
    let got_photo = format!("Got your file: {} bytes", photo_bytes.len());
    bot_sends(&tg, &mut bot, &got_photo, text_is(&got_photo)).await;

    // 4. /upload → report.txt, its bytes stored by the fake as uploaded.
    tg.send_message(NewMessage::text(USER, USER, "/upload"))
        .expect("/upload");
    let report = bot_sends(&tg, &mut bot, "the report", |m| {
        m["caption"] == "Here is your report"
    })
    .await;
    assert_eq!(
        report["document"]["file_name"],
        "report.txt",
        "{}: {report}",
        kind.name()
    );
    let report_id = report["document"]["file_id"]
        .as_str()
        .expect("document file_id")
        .to_owned();
    assert_eq!(
        fake_file_bytes(&tg, &report_id).await,
        REPORT,
        "{}: the uploaded bytes",
        kind.name()
    );

    // 3'. A document: the user sends the report back, the bot downloads its 18 bytes.
    tg.send_message(NewMessage::empty(USER, USER).document(&report_id))
        .expect("document");
    let got_doc = format!("Got your file: {} bytes", REPORT.len());
    bot_sends(&tg, &mut bot, &got_doc, text_is(&got_doc)).await;

    // 5. Any other text → echoed.
    tg.send_message(NewMessage::text(USER, USER, "hello"))
        .expect("hello");
    bot_sends(&tg, &mut bot, "the echo", text_is("You said: hello")).await;

    // The group got nothing: its updates came before the private ones, all answered by now.
    assert!(
        bot_messages(&tg, GROUP).is_empty(),
        "{} answered in a group: {:#?}",
        kind.name(),
        bot_messages(&tg, GROUP)
    );
    // Straight on Telegram the bot hears the group (and says so, one line per update): through
    // the gateway, the same line for the operators' group must never appear.
    for chat in [USER, GROUP] {
        assert!(
            bot.output().contains(&format!("update chat={chat}")),
            "{} heard nothing from chat {chat}\n{}",
            kind.name(),
            bot.output()
        );
    }
    let errors: Vec<_> = tg
        .calls()
        .into_iter()
        .filter(|c| c.error_code.is_some())
        .collect();
    assert!(
        errors.is_empty(),
        "{}: failed calls {errors:?}",
        kind.name()
    );
    assert!(
        bot.is_running(),
        "{} is still up\n{}",
        kind.name(),
        bot.output()
    );
    assert!(
        !bot.output()
            .contains(TOKEN.split(':').nth(1).expect("secret")),
        "{} logged its token\n{}",
        kind.name(),
        bot.output()
    );
    let spec = tg.stats().spec_violations;
    assert!(spec.is_empty(), "{}: {spec:#?}", kind.name());
    eprintln!(
        "{}: {:#?} ({:.1} s)",
        kind.name(),
        startup_calls(&tg),
        started.elapsed().as_secs_f64()
    );
    drop(bot);
    tg.shutdown().await;
}

#[tokio::test]
async fn aiogram_bot_talks_to_telegram() {
    conversation(HostBot::Aiogram).await;
}

#[tokio::test]
async fn python_telegram_bot_talks_to_telegram() {
    conversation(HostBot::Ptb).await;
}

#[tokio::test]
async fn grammy_bot_talks_to_telegram() {
    conversation(HostBot::Grammy).await;
}

#[tokio::test]
async fn teloxide_bot_talks_to_telegram() {
    conversation(HostBot::Teloxide).await;
}
