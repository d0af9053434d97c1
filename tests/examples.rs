//! The `feedback_bot` and `parallel_bot` examples, run against the fake Telegram server for a
//! scripted exchange, asserted on what users and operators see; and `docs/embedding.md`'s diff
//! kept equal to the `// hotline` lines of `examples/parallel_bot.rs`.

#[path = "common/example_kit.rs"]
mod example_kit;
#[path = "../examples/feedback_bot.rs"]
pub mod feedback_bot;
#[path = "../examples/parallel_bot.rs"]
pub mod parallel_bot;

use example_kit::*;
use hotline::Settings;
use hotline_testkit::{FakeTelegram, NewMessage};
use std::collections::HashMap;
use std::time::Duration;

/// A user writes to `feedback_bot`: their topic opens with their message, they are welcomed;
/// an operator answers in the topic and the user receives it; the bot stops cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_bot_relays_a_conversation_and_stops_cleanly() {
    let tg = telegram().await;
    let env = env(&tg);
    let settings = Settings::from_vars(|name| env.get(name).cloned()).expect("settings");
    let bot = Running::start(|shutdown| feedback_bot::run(settings, "sqlite::memory:", shutdown));

    tg.send_message(NewMessage::text(ANN, ANN, "Hello, where is my order?"))
        .expect("Ann writes");
    let topic = topic_named(&tg, "Ann Lee").await;
    let thread = topic.message_thread_id;
    bot_message(
        &tg,
        "Ann's message in her topic",
        GROUP,
        Some(thread),
        |t| t == "Hello, where is my order?",
    )
    .await;
    bot_message(&tg, "the welcome at Ann", ANN, None, |t| {
        t.starts_with("Hello, Ann Lee!")
    })
    .await;

    tg.send_message(NewMessage::text(OPERATOR, GROUP, "Hi Ann, it left yesterday.").thread(thread))
        .expect("the operator answers");
    bot_message(&tg, "the operator's answer at Ann", ANN, None, |t| {
        t == "Hi Ann, it left yesterday."
    })
    .await;

    assert_eq!(
        tg.topics(GROUP).len(),
        1,
        "one topic: {:?}",
        tg.topics(GROUP)
    );
    let relayed = bot_texts(&tg.thread_messages(GROUP, thread));
    assert_eq!(
        relayed
            .iter()
            .filter(|t| *t == "Hello, where is my order?")
            .count(),
        1,
        "relayed once: {relayed:?}"
    );
    bot.stop().await;
    tg.shutdown().await;
}

/// The self-written bot keeps its own greeting, FAQ, web app, menu and commands; Hotline opens a
/// topic only on a keyword or the "talk to a human" button, with the earlier messages as
/// context, mirrors the bot's later replies, and relays the operator's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_bot_keeps_its_own_logic_and_adds_the_desk() {
    let tg = telegram().await;
    let env = env(&tg);
    let bot = Running::start(move |shutdown| {
        parallel_bot::run(move |name| env.get(name).cloned(), shutdown)
    });

    // /start: the bot's own greeting, a photo with its buttons; no topic (PRIVATE_KEYWORDS).
    tg.send_message(NewMessage::text(ANN, ANN, "/start"))
        .expect("Ann starts");
    let greeting = bot_message(&tg, "the bot's greeting at Ann", ANN, None, |t| {
        t.starts_with("Welcome to Example Shop!")
    })
    .await;
    assert!(greeting["photo"].is_array(), "a photo: {greeting}");
    assert_eq!(
        callback_data(&greeting),
        ["faq:1", "faq:2", "hotline:human"]
    );
    assert!(
        buttons(&greeting).any(|b| b["web_app"]["url"].is_string()),
        "a web-app button: {greeting}"
    );
    assert!(!tg.calls_of("setMyCommands").is_empty(), "commands set");
    assert!(
        !tg.calls_of("setChatMenuButton").is_empty(),
        "menu button set"
    );

    // The FAQ button is the bot's business: answered by the bot, still no topic.
    let query = tg
        .press_button(ANN, ANN, message_id(&greeting), "faq:1")
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
    assert!(
        tg.topics(GROUP).is_empty(),
        "no topic before a keyword: {:?}",
        tg.topics(GROUP)
    );

    // A keyword: the topic opens with Ann's earlier message as context, then this one.
    tg.send_message(NewMessage::text(ANN, ANN, "I need an operator"))
        .expect("Ann asks for an operator");
    let thread = topic_named(&tg, "Ann Lee").await.message_thread_id;
    bot_message(
        &tg,
        "Ann's keyword message in her topic",
        GROUP,
        Some(thread),
        |t| t == "I need an operator",
    )
    .await;
    let topic = bot_texts(&tg.thread_messages(GROUP, thread));
    let position = |wanted: &str| topic.iter().position(|t| t.starts_with(wanted));
    let (context, start, keyword) = (
        position("⏮ Context"),
        position("/start"),
        position("I need an operator"),
    );
    assert!(
        context.is_some() && context < start && start < keyword,
        "context first, then the keyword message: {topic:?}"
    );
    // The context is the whole dialogue: the bot's own answers from before, in their place.
    let (greeting_at, faq_at) = (
        position("Welcome to Example Shop!"),
        position("❓ How do I track my order?"),
    );
    assert!(
        start < greeting_at && greeting_at < faq_at && faq_at < keyword,
        "the bot's greeting and FAQ answer between /start and the keyword: {topic:?}"
    );
    let forwarded = tg
        .thread_messages(GROUP, thread)
        .iter()
        .filter(|m| m.get("forward_origin").is_some())
        .count();
    assert_eq!(
        forwarded, 2,
        "the bot's answers come forwarded, marked as the bot's"
    );
    bot_message(&tg, "Hotline's welcome at Ann", ANN, None, |t| {
        t.starts_with("Hello, Ann Lee!")
    })
    .await;

    // While an operator is on the case the bot stays quiet: its FAQ answers wait
    // (`Hotline::not_with_operator` asks where Ann stands).
    tg.press_button(ANN, ANN, message_id(&greeting), "faq:2")
        .expect("Ann presses faq:2");
    tg.send_message(NewMessage::text(ANN, ANN, "still there?"))
        .expect("Ann writes");
    bot_message(
        &tg,
        "Ann's message in her topic",
        GROUP,
        Some(thread),
        |t| t == "still there?",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let opening_hours = |t: &FakeTelegram| {
        bot_texts(&t.messages(ANN))
            .iter()
            .any(|t| t.contains("What are your opening hours?"))
    };
    assert!(!opening_hours(&tg), "the bot is quiet while a human helps");
    // Bob taps "Talk to a human": Hotline answers the button and opens his topic.
    tg.send_message(NewMessage::text(BOB, BOB, "/start"))
        .expect("Bob starts");
    let greeting = bot_message(&tg, "the bot's greeting at Bob", BOB, None, |t| {
        t.starts_with("Welcome to Example Shop!")
    })
    .await;
    let query = tg
        .press_button(BOB, BOB, message_id(&greeting), "hotline:human")
        .expect("Bob asks for a human");
    let query_id = query["id"].as_str().expect("callback id").to_owned();
    let bob = topic_named(&tg, "Bob").await.message_thread_id;
    bot_message(
        &tg,
        "the hand-over notice in Bob's topic",
        GROUP,
        Some(bob),
        |t| t.contains("asked to talk to a human"),
    )
    .await;
    bot_message(&tg, "Bob's /start as context", GROUP, Some(bob), |t| {
        t == "/start"
    })
    .await;
    bot_message(&tg, "Hotline's welcome at Bob", BOB, None, |t| {
        t.starts_with("Hello, Bob!")
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
    assert_eq!(
        answers, 1,
        "Hotline's button is consumed: the bot does not answer it too"
    );

    // An operator answers Ann in her topic: Ann receives it.
    tg.send_message(
        NewMessage::text(OPERATOR, GROUP, "Your parcel left yesterday.").thread(thread),
    )
    .expect("the operator answers");
    bot_message(&tg, "the operator's answer at Ann", ANN, None, |t| {
        t == "Your parcel left yesterday."
    })
    .await;
    assert_eq!(tg.topics(GROUP).len(), 2, "{:?}", tg.topics(GROUP));

    // The operator closes the topic: the bot answers Ann's FAQ again.
    tg.send_message(NewMessage::text(OPERATOR, GROUP, "/close").thread(thread))
        .expect("the operator closes");
    // Renamed ⬛ once the desk has recorded the close (the rename follows the commit).
    tg.wait_for("Ann's topic closed", WAIT, |t| {
        t.topics(GROUP).iter().any(|topic| {
            topic.message_thread_id == thread && topic.is_closed && topic.name.starts_with('⬛')
        })
    })
    .await
    .expect("closed");
    tg.press_button(ANN, ANN, message_id(&greeting), "faq:2")
        .expect("Ann presses faq:2 again");
    bot_message(&tg, "the bot's FAQ answer after /close", ANN, None, |t| {
        t.starts_with("❓ What are your opening hours?")
    })
    .await;

    bot.stop().await;
    tg.shutdown().await;
}

/// When Telegram cannot be reached, both examples stop with an error that names the problem and
/// never shows the bot token (frankenstein's HTTP errors carry the URL, which holds it).
#[tokio::test]
async fn examples_fail_without_showing_the_token() {
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
    let settings = Settings::from_vars(|name| vars.get(name).cloned()).expect("settings");
    let never = std::future::pending::<()>();
    let feedback =
        tokio::time::timeout(WAIT, feedback_bot::run(settings, "sqlite::memory:", never))
            .await
            .expect("feedback_bot gives up")
            .expect_err("no Telegram, no bot")
            .to_string();
    let never = std::future::pending::<()>();
    let parallel = tokio::time::timeout(WAIT, parallel_bot::run(|n| vars.get(n).cloned(), never))
        .await
        .expect("parallel_bot gives up")
        .expect_err("no Telegram, no bot")
        .to_string();
    for error in [feedback, parallel] {
        assert!(!error.contains(secret), "the token leaked: {error}");
        assert!(!error.is_empty());
    }
}

// ---- docs/embedding.md: the diff between the bot without Hotline and with it ----

/// Embedding Hotline in a frankenstein bot takes 15 changed lines or fewer, and
/// docs/embedding.md shows exactly those. `HOTLINE_BLESS=1` rewrites the doc's diff block.
#[test]
fn embedding_diff_is_small_and_documented() {
    check_embedding_diff("examples/parallel_bot.rs");
}
