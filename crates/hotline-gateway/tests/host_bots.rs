//! Unmodified host bots (aiogram, python-telegram-bot, grammY; the workspace's
//! `tests/host_bots`) pointed at the gateway instead of Telegram: the bot's conversation works
//! as it does against Telegram (buttons, downloads through `/file/`, uploads), the user gets a
//! topic, and the bot's replies are mirrored into it.
//!
//! The bots' runtimes are found or installed as `tests/common/host_bots.rs` says (Python:
//! `$HOTLINE_PYTHON` or `<workspace>/.venv`; node: `npm ci`). teloxide is left out here: its
//! example is built by the facade's tests (`tests/host_bots.rs`).

mod common;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../../tests/common/host_bots.rs"]
mod host_bots;

use common::{Env, start, text_of};
use host_bots::HostBot;
use hotline_testkit::NewMessage;
use serde_json::Value;

const USER: i64 = 4001;

fn bot_texts(env: &Env) -> Vec<String> {
    env.tg
        .messages(USER)
        .iter()
        .filter(|m| m["from"]["is_bot"] == true)
        .map(text_of)
        .collect()
}

async fn bot_says(env: &Env, bot: &host_bots::RunningBot, text: &str) {
    let found = env
        .tg
        .wait_for(text, common::WAIT, |_| {
            bot_texts(env).iter().any(|t| t == text)
        })
        .await;
    if let Err(error) = found {
        panic!(
            "{}: {error}\nthe user's chat: {:?}\n{}",
            bot.bot.name(),
            bot_texts(env),
            bot.output()
        );
    }
}

/// The length of a file as the fake serves it (getFile, then the download), straight from it.
async fn fake_file_len(env: &Env, file_id: &str) -> usize {
    let api = env.tg.api_url();
    let token = common::TOKEN;
    let file: Value = env
        .http
        .post(format!("{api}/bot{token}/getFile"))
        .json(&serde_json::json!({ "file_id": file_id }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = file["result"]["file_path"].as_str().unwrap();
    env.http
        .get(format!("{api}/file/bot{token}/{path}"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len()
}

async fn conversation(kind: HostBot) {
    let env = start().await;
    env.user(USER, "Ann");
    let bot = kind.spawn(&env.url, common::TOKEN).await;

    env.say(USER, "/start");
    bot_says(&env, &bot, "Welcome to Acme! Tap FAQ for answers.").await;
    let welcome = env
        .tg
        .messages(USER)
        .into_iter()
        .find(|m| text_of(m) == "Welcome to Acme! Tap FAQ for answers.")
        .unwrap();
    let query = env
        .tg
        .press_button(USER, USER, welcome["message_id"].as_i64().unwrap(), "faq")
        .unwrap();
    bot_says(&env, &bot, "FAQ: we are open 9-18, Monday to Friday.").await;
    assert!(
        env.tg
            .callback_answer(query["id"].as_str().unwrap())
            .is_some(),
        "{}: answerCallbackQuery went through",
        kind.name()
    );

    // A photo: the framework downloads it through the gateway's /file/ route.
    let photo = env
        .tg
        .send_message(NewMessage::empty(USER, USER).photo("ann-photo-1"))
        .unwrap();
    let largest = photo["photo"].as_array().and_then(|s| s.last()).unwrap();
    let bytes = fake_file_len(&env, largest["file_id"].as_str().unwrap()).await;
    bot_says(&env, &bot, &format!("Got your file: {bytes} bytes")).await;

    // An upload from the bot, streamed through the gateway.
    env.say(USER, "/upload");
    env.tg
        .wait_for("the report", common::WAIT, |tg| {
            tg.messages(USER)
                .iter()
                .any(|m| m["document"]["file_name"] == "report.txt")
        })
        .await
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", kind.name(), bot.output()));

    env.say(USER, "hello there");
    bot_says(&env, &bot, "You said: hello there").await;

    // The desk: Ann has a topic, her words and the bot's replies are in it.
    let topic = env.topic_of(USER).await;
    env.wait("the bot's reply mirrored", |e| {
        let texts = e.thread_texts(topic);
        texts.iter().any(|t| t == "hello there")
            && texts.iter().any(|t| t.contains("You said: hello there"))
    })
    .await;
    assert!(
        env.tg.calls_of("deleteWebhook").len() <= 1,
        "{}: only the desk's own deleteWebhook reaches Telegram",
        kind.name()
    );
    drop(bot);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiogram_through_the_gateway() {
    conversation(HostBot::Aiogram).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_telegram_bot_through_the_gateway() {
    conversation(HostBot::Ptb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grammy_through_the_gateway() {
    conversation(HostBot::Grammy).await;
}

/// teloxide's example is built by the facade's package, whose tests need the SQL stores: until
/// those build on every branch, this runs when `HOTLINE_TELOXIDE_BOT` names the binary
/// (`cargo build --example teloxide_bot` at the workspace root makes it) and says so otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teloxide_through_the_gateway() {
    if std::env::var_os("HOTLINE_TELOXIDE_BOT").is_none() {
        eprintln!("teloxide_through_the_gateway: skipped, HOTLINE_TELOXIDE_BOT is not set");
        return;
    }
    conversation(HostBot::Teloxide).await;
}
