//! WEBHOOKS across a crash: `hotline-desk` is killed (SIGKILL) with 200 events in its outbox
//! (the receiver was down), restarted on the same SQLite file: every event is delivered, in
//! order per conversation, and a repeat (a post whose answer the kill cut off) has the same id.

mod common;

use common::receiver::{DOWN, Receiver, UP};
use hotline_testkit::{FakeTelegram, NewGroup, NewMessage, NewUser};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

const TOKEN: &str = "778201:hooks-crash-SECRET";
const GROUP: i64 = -1_001_000_000_921;
const WAIT: Duration = Duration::from_secs(90);
const USERS: i64 = 20;
const MESSAGES: i64 = 10;
const FIRST_USER: i64 = 8000;

/// Starts the desk binary; returns it and the base URL of its metrics server.
async fn spawn_desk(tg: &FakeTelegram, db: &Path, receiver: &Receiver) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hotline-desk"))
        .env_clear()
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", tg.api_url())
        .env("HOTLINE_BACKEND_GROUP", GROUP.to_string())
        .env("HOTLINE_LIMITS", "off")
        .env("WELCOME", "OFF")
        .env("HOTLINE_LOG", "warn")
        .env(
            "WEBHOOKS",
            format!(r#"{{"{}": ["message_received"]}}"#, receiver.url),
        )
        .env("WEBHOOKS_SECRET", "crash-secret")
        .env("HOTLINE_METRICS", "127.0.0.1:0")
        .env("HOTLINE_DATABASE", format!("sqlite://{}", db.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start hotline-desk");
    let base = common::desk_process::metrics_address(&mut child, WAIT).await;
    (child, base)
}

async fn outbox_depth(base: &str) -> Option<f64> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with("hotline_webhook_outbox_depth "))
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_in_the_outbox_survive_a_kill_and_arrive_in_order() {
    let tg = FakeTelegram::start(TOKEN).await.expect("fake telegram");
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    let receiver = Receiver::start(DOWN).await;
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("desk.db");
    let (mut desk, base) = spawn_desk(&tg, &db, &receiver).await;
    for user in FIRST_USER..FIRST_USER + USERS {
        tg.add_user(NewUser::new(user, "U"));
    }
    for n in 0..MESSAGES {
        for user in FIRST_USER..FIRST_USER + USERS {
            tg.send_message(NewMessage::text(user, user, &format!("u{user}:{n}")))
                .expect("user message");
        }
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while outbox_depth(&base).await != Some((USERS * MESSAGES) as f64) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "200 events in the outbox"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        receiver.posts().is_empty(),
        "nothing delivered while the receiver is down"
    );
    desk.start_kill().expect("SIGKILL");
    desk.wait().await.expect("killed");

    receiver.set(UP);
    let (mut desk, _) = spawn_desk(&tg, &db, &receiver).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ids: HashSet<String> = receiver
            .posts()
            .iter()
            .map(|p| p.json["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        if ids.len() as i64 == USERS * MESSAGES {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of 200 delivered",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let posts = receiver.posts();
    // A repeat carries the same id as the first post of that event, and the same text.
    let mut by_id: HashMap<String, String> = HashMap::new();
    for post in &posts {
        let id = post.json["id"].as_str().unwrap().to_owned();
        let text = post.json["text"].as_str().unwrap().to_owned();
        assert_eq!(by_id.entry(id).or_insert_with(|| text.clone()), &text);
    }
    let mut per_user: HashMap<i64, Vec<String>> = HashMap::new();
    for post in &posts {
        let texts = per_user
            .entry(post.json["user_id"].as_i64().unwrap())
            .or_default();
        let text = post.json["text"].as_str().unwrap().to_owned();
        if texts.last() != Some(&text) {
            texts.push(text);
        }
    }
    for user in FIRST_USER..FIRST_USER + USERS {
        let expected: Vec<String> = (0..MESSAGES).map(|n| format!("u{user}:{n}")).collect();
        assert_eq!(
            per_user[&user], expected,
            "user {user}: every event, in order"
        );
    }
    desk.start_kill().expect("kill");
}
