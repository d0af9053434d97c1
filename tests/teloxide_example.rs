//! `examples/teloxide_bot.rs`, a teloxide bot with a dialogue, FAQ buttons and a "talk to a
//! human" button, run in-process against the fake Telegram: the bot keeps its own dialogue and
//! FAQ, the button opens the topic, the bot's replies are mirrored, an operator's answer reaches
//! the user; and `docs/embedding.md`'s teloxide diff kept equal to the example's `// hotline`
//! lines.

#[path = "common/example_kit.rs"]
mod example_kit;
#[path = "../examples/teloxide_bot.rs"]
pub mod teloxide_bot;

use example_kit::*;
use hotline_testkit::NewMessage;
use std::collections::HashMap;
use std::time::Duration;

/// teloxide finishes its long poll (10 s) before it stops.
const STOP: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teloxide_bot_keeps_its_dialogue_and_adds_the_desk() {
    let tg = telegram().await;
    let env = env(&tg);
    let bot = Running::start(move |shutdown| {
        teloxide_bot::run(move |name| env.get(name).cloned(), shutdown)
    });

    // The dialogue: a greeting that asks the name, then the menu with the FAQ and Hotline's
    // button; no topic (HAND_OVER_ONLY).
    tg.send_message(NewMessage::text(ANN, ANN, "/start"))
        .expect("Ann starts");
    bot_message(&tg, "the greeting", ANN, None, |t| {
        t == "Welcome to Example Shop! What is your name?"
    })
    .await;
    tg.send_message(NewMessage::text(ANN, ANN, "Ann"))
        .expect("Ann gives her name");
    let menu = bot_message(&tg, "the menu", ANN, None, |t| {
        t == "Nice to meet you, Ann! Pick a question:"
    })
    .await;
    assert_eq!(callback_data(&menu), ["faq:1", "faq:2", "hotline:human"]);

    // The FAQ button is the bot's business: answered by the bot, still no topic.
    let query = tg
        .press_button(ANN, ANN, message_id(&menu), "faq:1")
        .expect("Ann presses faq:1");
    let query_id = query["id"].as_str().expect("callback id").to_owned();
    bot_message(&tg, "the bot's FAQ answer", ANN, None, |t| {
        t.starts_with("❓ How do I track my order?")
    })
    .await;
    tg.wait_for("the FAQ callback answered", WAIT, |t| {
        t.callback_answer(&query_id).is_some()
    })
    .await
    .expect("answered");
    assert!(tg.topics(GROUP).is_empty(), "{:?}", tg.topics(GROUP));

    // "Talk to a human": Hotline answers the button and opens the topic, the dialogue so far
    // as context; the bot does not answer the button too.
    let query = tg
        .press_button(ANN, ANN, message_id(&menu), "hotline:human")
        .expect("Ann asks for a human");
    let query_id = query["id"].as_str().expect("callback id").to_owned();
    let thread = topic_named(&tg, "Ann Lee").await.message_thread_id;
    bot_message(&tg, "the hand-over notice", GROUP, Some(thread), |t| {
        t.contains("asked to talk to a human")
    })
    .await;
    bot_message(&tg, "Ann's /start as context", GROUP, Some(thread), |t| {
        t == "/start"
    })
    .await;
    bot_message(
        &tg,
        "the bot's greeting as context",
        GROUP,
        Some(thread),
        |t| t.contains("Welcome to Example Shop! What is your name?"),
    )
    .await;
    bot_message(&tg, "Hotline's welcome at Ann", ANN, None, |t| {
        t.starts_with("Hello, Ann Lee!")
    })
    .await;
    tg.wait_for("Hotline answers its button", WAIT, |t| {
        t.callback_answer(&query_id).is_some()
    })
    .await
    .expect("answered");
    let answers = tg
        .calls_of("answerCallbackQuery")
        .into_iter()
        .filter(|c| c.params["callback_query_id"] == query_id.as_str())
        .count();
    assert_eq!(answers, 1, "Hotline's button is consumed");

    // Ann writes: her message and the bot's reply both show in the topic.
    tg.send_message(NewMessage::text(ANN, ANN, "My parcel is late"))
        .expect("Ann writes");
    bot_message(
        &tg,
        "Ann's message in the topic",
        GROUP,
        Some(thread),
        |t| t == "My parcel is late",
    )
    .await;
    bot_message(&tg, "the bot's reply mirrored", GROUP, Some(thread), |t| {
        t.starts_with("🤖 Bot:") && t.contains("Thanks, Ann!")
    })
    .await;

    // An operator answers in the topic: Ann receives it, as the bot.
    tg.send_message(
        NewMessage::text(OPERATOR, GROUP, "Your parcel left yesterday.").thread(thread),
    )
    .expect("the operator answers");
    bot_message(&tg, "the operator's answer at Ann", ANN, None, |t| {
        t == "Your parcel left yesterday."
    })
    .await;
    assert_eq!(tg.topics(GROUP).len(), 1, "{:?}", tg.topics(GROUP));

    bot.stop_within(STOP).await;
    tg.shutdown().await;
}

/// When Telegram cannot be reached, the bot stops with an error that never shows the token.
#[tokio::test]
async fn teloxide_bot_fails_without_showing_the_token() {
    let secret = "SECRET_do_not_print";
    let vars: HashMap<String, String> = [
        ("TELEGRAM_BOT_TOKEN", format!("123:{secret}")),
        // Nothing listens on port 1: the connection is refused at once.
        ("TELEGRAM_API_URL", "http://127.0.0.1:1".to_owned()),
        ("HOTLINE_BACKEND_GROUP", GROUP.to_string()),
        ("HOTLINE_DATABASE", "sqlite::memory:".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    let never = std::future::pending::<()>();
    let error = tokio::time::timeout(WAIT, teloxide_bot::run(|n| vars.get(n).cloned(), never))
        .await
        .expect("teloxide_bot gives up")
        .expect_err("no Telegram, no bot")
        .to_string();
    assert!(!error.contains(secret), "the token leaked: {error}");
    assert!(!error.is_empty());
}

/// Embedding Hotline in the teloxide bot takes 15 added lines or fewer, and docs/embedding.md's
/// teloxide section shows exactly those. `HOTLINE_BLESS=1` rewrites the doc's diff block.
#[test]
fn teloxide_embedding_diff_is_small_and_documented() {
    check_embedding_diff("examples/teloxide_bot.rs");
}
