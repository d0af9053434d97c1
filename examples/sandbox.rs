//! The whole desk against a local fake Telegram: no token, no account, nothing to install.
//!
//! `cargo run --example sandbox` starts the fake Bot API server (hotline-testkit) with a forum
//! group, an operator and three users, runs Hotline on it with long polling, plays a scripted
//! conversation and prints what each side saw: the users in their chats with the bot, the
//! operators in the topics of the support group. It exits 0 when every step did what it should.

use hotline::telegram::{Hotline, Limits};
use hotline::{ChatId, Config};
use hotline_testkit::{FakeTelegram, NewGroup, NewMessage, NewUser};
use serde_json::Value;
use std::fmt::Write as _;
use std::time::Duration;

const TOKEN: &str = "123456:SANDBOX-not-a-real-token";
const GROUP: i64 = -1_001_000_000_001;
const OPERATOR: i64 = 2001;
const ANN: i64 = 1001;
const BOB: i64 = 1002;
const CHEN: i64 = 1003;
const WAIT: Duration = Duration::from_secs(10);

type Fallible<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() {
    match run().await {
        Ok(transcript) => print!("{transcript}"),
        Err(error) => {
            eprintln!("sandbox failed: {error}");
            std::process::exit(1);
        }
    }
}

/// Plays the script and returns both sides' transcripts.
pub(crate) async fn run() -> Fallible<String> {
    let tg = FakeTelegram::start(TOKEN).await?;
    tg.add_group(NewGroup::forum(GROUP, "Support desk"));
    tg.add_user(NewUser::new(OPERATOR, "Olga").last_name("(operator)"));
    tg.add_member(GROUP, OPERATOR)?;
    tg.add_user(
        NewUser::new(ANN, "Ann")
            .last_name("Lee")
            .username("ann")
            .language_code("en"),
    );
    tg.add_user(NewUser::new(BOB, "Bob").username("bob"));
    tg.add_user(NewUser::new(CHEN, "Chen"));

    let config = Config::builder(ChatId(GROUP))
        .set("PRIVATE_KEYWORDS", r#""operator","help","/help""#)?
        .set(
            "WELCOME",
            "Hi {title}! You are talking to our support team now; we answer here.",
        )?
        .set("AUTO_INFO", "true")?
        .build()?;
    let hotline = Hotline::builder(TOKEN, config)
        .api_url(tg.api_url())
        .limits(Limits::off())
        .album_quiet(Duration::from_millis(300))
        .build()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = {
        let hotline = hotline.clone();
        tokio::spawn(async move {
            hotline
                .run_polling(async {
                    let _ = stopped.await;
                })
                .await
        })
    };

    let mut log = String::new();
    let step = |log: &mut String, text: &str| {
        let _ = writeln!(log, "▸ {text}");
    };
    let say = |from: i64, text: &str| tg.send_message(NewMessage::text(from, from, text));

    step(
        &mut log,
        "Ann writes before asking for a human: nothing reaches the desk yet",
    );
    say(ANN, "/start")?;
    say(ANN, "Hi! I have a question about order #1234")?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    if !tg.topics(GROUP).is_empty() {
        return Err("a topic opened before the keyword".into());
    }

    step(
        &mut log,
        "Ann says the keyword: her topic opens with her earlier messages as context",
    );
    say(ANN, "Can I talk to an operator?")?;
    let ann_topic = wait_topic(&tg, "Ann").await?;
    wait_texts(&tg, ann_topic, "Can I talk to an operator?").await?;
    tg.wait_for("Ann's greeting", WAIT, |t| {
        bot_texts(t, ANN).iter().any(|x| x.starts_with("Hi Ann"))
    })
    .await?;

    step(&mut log, "Ann sends a photo, then an album of three");
    tg.send_message(
        NewMessage::empty(ANN, ANN)
            .photo("receipt-photo")
            .caption("Here is the receipt"),
    )?;
    for i in 1..=3 {
        let mut part = NewMessage::empty(ANN, ANN)
            .photo(&format!("parcel-{i}"))
            .media_group("album-1");
        if i == 1 {
            part = part.caption("The parcel as it arrived");
        }
        tg.send_message(part)?;
    }
    tg.wait_for("the album in Ann's topic", WAIT, |t| {
        t.thread_messages(GROUP, ann_topic)
            .iter()
            .filter(|m| m.get("media_group_id").is_some())
            .count()
            == 3
    })
    .await?;

    step(
        &mut log,
        "Olga answers in the topic, replying to Ann's message",
    );
    let question = tg
        .thread_messages(GROUP, ann_topic)
        .into_iter()
        .find(|m| text_of(m) == "Hi! I have a question about order #1234")
        .and_then(|m| m["message_id"].as_i64())
        .ok_or("the context copy of Ann's question")?;
    tg.send_message(
        NewMessage::text(OPERATOR, GROUP, "Hello Ann! Order #1234 ships tomorrow.")
            .thread(ann_topic)
            .reply_to(question),
    )?;
    tg.wait_for("Olga's answer at Ann", WAIT, |t| {
        bot_texts(t, ANN)
            .iter()
            .any(|x| x.contains("ships tomorrow"))
    })
    .await?;
    tg.send_message(
        NewMessage::text(OPERATOR, GROUP, "/ she already asked by mail").thread(ann_topic),
    )?;

    step(
        &mut log,
        "Ann corrects her last message; the copy in the topic follows",
    );
    let last = say(ANN, "Thanks, that is quick!")?;
    wait_texts(&tg, ann_topic, "Thanks, that is quick!").await?;
    tg.edit_message(
        ANN,
        ANN,
        last["message_id"].as_i64().unwrap_or_default(),
        "Thanks, that is very quick!",
    )?;
    wait_texts(&tg, ann_topic, "Thanks, that is very quick!").await?;

    step(
        &mut log,
        "An operator deletes Ann's topic; her next message recreates it, nothing lost",
    );
    // Telegram deletes a topic's messages with it: keep what the operators saw before.
    let first_topic = render_topic(&tg, ann_topic, " (as it was before an operator deleted it)");
    tg.delete_topic(GROUP, ann_topic)?;
    say(ANN, "One more thing: can you gift-wrap it?")?;
    let new_topic = tg
        .wait_for("a second topic for Ann", WAIT, |t| {
            t.topics(GROUP)
                .iter()
                .filter(|x| x.name.contains("Ann") && !x.deleted)
                .count()
                == 1
                && t.topics(GROUP)
                    .iter()
                    .filter(|x| x.name.contains("Ann"))
                    .count()
                    == 2
        })
        .await
        .map(|()| {
            tg.topics(GROUP)
                .into_iter()
                .find(|x| x.name.contains("Ann") && !x.deleted)
                .map(|x| x.message_thread_id)
        })?
        .ok_or("the recreated topic")?;
    wait_texts(&tg, new_topic, "One more thing: can you gift-wrap it?").await?;

    step(
        &mut log,
        "Bob asks for help, then blocks the bot; the operators are told",
    );
    say(BOB, "help, my account is locked")?;
    let bob_topic = wait_topic(&tg, "Bob").await?;
    wait_texts(&tg, bob_topic, "help, my account is locked").await?;
    tg.block_user(BOB);
    // The block and an operator's message are handled in different lanes (the user's, the
    // topic's), so the script waits for the block to be noticed before Olga writes: then the
    // transcript shows both notices, always in this order.
    tg.wait_for("the blocked notice", WAIT, |t| {
        t.thread_messages(GROUP, bob_topic)
            .iter()
            .any(|m| text_of(m).contains("has blocked the bot"))
    })
    .await?;
    tg.send_message(
        NewMessage::text(OPERATOR, GROUP, "Bob, can you try again now?").thread(bob_topic),
    )?;
    tg.wait_for("the not-delivered notice", WAIT, |t| {
        t.thread_messages(GROUP, bob_topic)
            .iter()
            .any(|m| text_of(m).contains("Not delivered"))
    })
    .await?;

    step(
        &mut log,
        "Chen chats with the bot without a keyword: the desk stays out of it",
    );
    say(CHEN, "What are your opening hours?")?;

    let _ = stop.send(());
    runner.await??;
    if tg.topics(GROUP).iter().any(|t| t.name.contains("Chen")) {
        return Err("Chen got a topic without a keyword".into());
    }

    let _ = writeln!(log);
    for (user, name) in [(ANN, "Ann"), (BOB, "Bob"), (CHEN, "Chen")] {
        let _ = writeln!(log, "━━ {name}'s chat with the bot");
        for m in tg.messages(user) {
            let _ = writeln!(log, "   {}", line(&m));
        }
    }
    let _ = writeln!(log, "━━ Support desk (the operators' forum group)");
    log.push_str(&first_topic);
    for topic in tg.topics(GROUP).into_iter().filter(|t| !t.deleted) {
        let state = if topic.is_closed { " (closed)" } else { "" };
        log.push_str(&render_topic(&tg, topic.message_thread_id, state));
    }
    tg.shutdown().await;
    Ok(log)
}

/// A topic as the operators see it.
fn render_topic(tg: &FakeTelegram, topic: i64, state: &str) -> String {
    let name = tg
        .topics(GROUP)
        .into_iter()
        .find(|t| t.message_thread_id == topic)
        .map(|t| t.name)
        .unwrap_or_default();
    let mut out = format!("  ┌ topic «{name}»{state}\n");
    for m in tg.thread_messages(GROUP, topic) {
        if m.get("forum_topic_created").is_none() {
            let _ = writeln!(out, "  │ {}", line(&m));
        }
    }
    out
}

fn text_of(m: &Value) -> String {
    m.get("text")
        .or_else(|| m.get("caption"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn bot_texts(tg: &FakeTelegram, user: i64) -> Vec<String> {
    tg.messages(user)
        .iter()
        .filter(|m| m["from"]["is_bot"] == true)
        .map(text_of)
        .collect()
}

async fn wait_topic(tg: &FakeTelegram, name: &str) -> Fallible<i64> {
    tg.wait_for(&format!("{name}'s topic"), WAIT, |t| {
        t.topics(GROUP).iter().any(|x| x.name.contains(name))
    })
    .await?;
    Ok(tg
        .topics(GROUP)
        .into_iter()
        .find(|x| x.name.contains(name))
        .map(|x| x.message_thread_id)
        .unwrap_or_default())
}

async fn wait_texts(tg: &FakeTelegram, topic: i64, text: &str) -> Fallible<()> {
    tg.wait_for(&format!("«{text}» in the topic"), WAIT, |t| {
        t.thread_messages(GROUP, topic)
            .iter()
            .any(|m| text_of(m) == text)
    })
    .await?;
    Ok(())
}

/// One message as a person would read it.
fn line(m: &Value) -> String {
    if let Some(edited) = m.get("forum_topic_edited") {
        return format!(
            "      · topic renamed to «{}»",
            edited["name"].as_str().unwrap_or_default()
        );
    }
    if m.get("forum_topic_closed").is_some() {
        return "      · topic closed".to_owned();
    }
    if m.get("forum_topic_reopened").is_some() {
        return "      · topic reopened".to_owned();
    }
    if let Some(pinned) = m.get("pinned_message") {
        return format!(
            "      · pinned «{}»",
            text_of(pinned)
                .replace('\n', " ⏎ ")
                .chars()
                .take(30)
                .collect::<String>()
        );
    }
    let who = if m["from"]["is_bot"] == true {
        "bot".to_owned()
    } else {
        m["from"]["first_name"].as_str().unwrap_or("?").to_owned()
    };
    let mut text = text_of(m).replace('\n', " ⏎ ");
    if m.get("photo").is_some() {
        text = format!("[photo] {text}");
    }
    let reply = match m.get("reply_to_message") {
        Some(r) if r.get("forum_topic_created").is_none() => {
            format!(
                "  ↪ replying to «{}»",
                text_of(r).chars().take(30).collect::<String>()
            )
        }
        _ => String::new(),
    };
    let edited = if m.get("edit_date").is_some() {
        "  (edited)"
    } else {
        ""
    };
    format!("{who:>5} ▸ {}{reply}{edited}", text.trim())
}
