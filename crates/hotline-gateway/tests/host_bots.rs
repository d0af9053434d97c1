//! Unmodified host bots (aiogram, python-telegram-bot, grammY, teloxide; the workspace's
//! `tests/host_bots`) pointed at the gateway instead of Telegram, with the desk opening topics
//! on a keyword (`PRIVATE_KEYWORDS`): the bot's conversation works as it does against Telegram
//! (its greeting, its FAQ button, downloads through `/file/`, uploads), the user's keyword
//! opens a topic, the bot's replies are mirrored into it, an operator's reply reaches the user,
//! and the bot never hears a word of the operators' group.
//!
//! The bots' runtimes are found or installed as `tests/common/host_bots.rs` says (Python:
//! `$HOTLINE_PYTHON` or `<workspace>/.venv`; node: `npm ci`; teloxide: the workspace's
//! `teloxide_host_bot` example, built if missing).

mod common;

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../../tests/common/host_bots.rs"]
mod host_bots;

use common::{Env, GROUP, text_of};
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
    let env = common::start_with_params(
        common::fake().await,
        std::sync::Arc::new(hotline_core::MemoryStore::new()),
        hotline_gateway::GatewayConfig::default(),
        &[("PRIVATE_KEYWORDS", "operator")],
    )
    .await;
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
    assert_eq!(
        welcome["reply_markup"]["inline_keyboard"],
        serde_json::json!([[{"text": "FAQ", "callback_data": "faq"}]]),
        "{}: the greeting keeps its button",
        kind.name()
    );
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
    assert!(
        env.tg.topics(GROUP).is_empty(),
        "{}: no keyword yet, no topic",
        kind.name()
    );

    // The keyword: the desk opens Ann's topic; the bot answers it as any text.
    env.say(USER, "operator");
    bot_says(&env, &bot, "You said: operator").await;
    let topic = env.topic_of(USER).await;

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

    // The desk: Ann's words and the bot's replies are in her topic.
    env.wait("the bot's replies mirrored", |e| {
        let texts = e.thread_texts(topic);
        texts.iter().any(|t| t == "hello there")
            && texts.iter().any(|t| t.contains("You said: hello there"))
            && texts.iter().any(|t| t.contains("Got your file"))
    })
    .await;
    env.wait("the bot's upload mirrored", |e| {
        e.tg.thread_messages(GROUP, topic)
            .iter()
            .any(|m| m["document"]["file_name"] == "report.txt")
    })
    .await;

    // An operator answers in the topic: Ann gets it from the bot; the bot never hears it.
    env.operator_says(topic, "Hi Ann, Olga here");
    env.wait("the operator's reply reaches Ann", |e| {
        e.tg.messages(USER)
            .iter()
            .any(|m| text_of(m) == "Hi Ann, Olga here")
    })
    .await;
    // The bot's every update is one line on its stdout; a message after the operator's, answered,
    // shows the bot has read past it.
    env.say(USER, "still there?");
    bot_says(&env, &bot, "You said: still there?").await;
    let output = bot.output();
    assert!(
        output.contains(&format!("update chat={USER}")),
        "{}: the bot hears the user\n{output}",
        kind.name()
    );
    assert!(
        !output.contains(&format!("update chat={GROUP}")),
        "{}: the bot heard the operators' group\n{output}",
        kind.name()
    );
    assert!(
        !bot_texts(&env)
            .iter()
            .any(|t| t.starts_with("You said: Hi Ann")),
        "{}: the bot did not echo the operator",
        kind.name()
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teloxide_through_the_gateway() {
    conversation(HostBot::Teloxide).await;
}
