//! Crash safety of the gateway: the `hotline-gateway` binary is killed with SIGKILL three times
//! in the middle of traffic and restarted on the same SQLite file, while a bot polls through it
//! (keeping its offset across the gateway's restarts, as every framework does).
//!
//! Both consumers' transcripts are then checked: the bot received every user message exactly
//! once, with increasing update ids, and nothing of the operators' group; the desk copied
//! every message into its user's topic, in order, none lost, repeating only a copy that was in
//! flight at a kill (the Bot API has no idempotency key), at most one per conversation per kill.

use hotline_testkit::{FakeTelegram, NewGroup, NewMessage, NewUser};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::process::{Child, Command};

const TOKEN: &str = "778003:gateway-crash-SECRET";
const GROUP: i64 = -1_001_000_000_779;
const OPERATOR: i64 = 2003;
const USERS: i64 = 10;
const PER_USER: usize = 20;
const FIRST_USER: i64 = 7000;
const KILLS: usize = 3;
const WAIT: Duration = Duration::from_secs(90);

fn spawn_gateway(tg: &FakeTelegram, db: &Path, listen: &str, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("gateway log");
    Command::new(env!("CARGO_BIN_EXE_hotline-gateway"))
        .env_clear()
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", tg.api_url())
        .env("HOTLINE_BACKEND_GROUP", GROUP.to_string())
        .env("HOTLINE_LIMITS", "off")
        .env("WELCOME", "OFF")
        .env("HOTLINE_DATABASE", format!("sqlite://{}", db.display()))
        .env("HOTLINE_GATEWAY_LISTEN", listen)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("start hotline-gateway")
}

fn text(m: &Value) -> &str {
    m["text"].as_str().unwrap_or_default()
}

/// What the bot received: (update_id, chat id, text) in the order it got them.
type Received = Arc<Mutex<Vec<(i64, i64, String)>>>;

/// A bot polling through the gateway, as a framework does: its offset kept in memory across
/// the gateway's restarts, connection errors waited out.
fn poll_as_a_bot(url: String, received: Received) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut offset = 0_i64;
        loop {
            let answer = http
                .post(format!("{url}/bot{TOKEN}/getUpdates"))
                .json(&json!({"offset": offset, "timeout": 1}))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            let body: Value = match answer {
                Ok(response) => match response.json().await {
                    Ok(body) => body,
                    Err(_) => Value::Null,
                },
                Err(_) => Value::Null,
            };
            let Some(updates) = body["result"].as_array() else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            for update in updates {
                let id = update["update_id"].as_i64().expect("update_id");
                let message = &update["message"];
                received.lock().unwrap().push((
                    id,
                    message["chat"]["id"].as_i64().unwrap_or_default(),
                    text(message).to_owned(),
                ));
                offset = id + 1;
            }
        }
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The desk's copies in each user's topic, by user (the topic found by the user's first text).
fn desk_copies(tg: &FakeTelegram) -> HashMap<i64, Vec<String>> {
    let group = tg.messages(GROUP);
    let mut by_thread: HashMap<i64, Vec<String>> = HashMap::new();
    for m in &group {
        if m["from"]["is_bot"] == true
            && let Some(thread) = m["message_thread_id"].as_i64()
        {
            by_thread
                .entry(thread)
                .or_default()
                .push(text(m).to_owned());
        }
    }
    let mut by_user = HashMap::new();
    for texts in by_thread.into_values() {
        if let Some(user) = texts
            .iter()
            .find_map(|t| t.strip_prefix('u')?.split(':').next()?.parse::<i64>().ok())
        {
            let own: Vec<String> = texts
                .into_iter()
                .filter(|t| t.starts_with(&format!("u{user}:")))
                .collect();
            by_user.insert(user, own);
        }
    }
    by_user
}

fn expected(user: i64) -> Vec<String> {
    (0..PER_USER).map(|i| format!("u{user}:{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_the_gateway_loses_and_repeats_no_update_for_the_desk_or_the_bot() {
    let tg = FakeTelegram::start(TOKEN).await.expect("fake Telegram");
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    tg.add_user(NewUser::new(OPERATOR, "Olga"));
    tg.add_member(GROUP, OPERATOR).expect("operator");
    let users: Vec<i64> = (FIRST_USER..FIRST_USER + USERS).collect();
    for &user in &users {
        tg.add_user(NewUser::new(user, &format!("Client{user}")));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("gateway.db");
    let log = dir.path().join("gateway.log");
    let listen = format!("127.0.0.1:{}", free_port());
    let url = format!("http://{listen}");

    let mut child = spawn_gateway(&tg, &db, &listen, &log);
    let received: Received = Arc::default();
    let bot = poll_as_a_bot(url.clone(), received.clone());

    // Users write in turns, an operator answers in the topics already open.
    let writer = {
        let tg = tg.clone();
        let users = users.clone();
        tokio::spawn(async move {
            for i in 0..PER_USER {
                for &user in &users {
                    tg.send_message(NewMessage::text(user, user, &format!("u{user}:{i}")))
                        .expect("the user writes");
                    tokio::time::sleep(Duration::from_millis(8)).await;
                }
                if let Some((&thread, _)) = desk_copies_threads(&tg).iter().next() {
                    tg.send_message(
                        NewMessage::text(OPERATOR, GROUP, &format!("o:{i}")).thread(thread),
                    )
                    .expect("the operator answers");
                }
            }
        })
    };

    for kill in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(350 + 150 * kill as u64)).await;
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the gateway exited by itself ({status}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        child.start_kill().expect("SIGKILL");
        child.wait().await.expect("reaped");
        child = spawn_gateway(&tg, &db, &listen, &log);
    }
    writer.await.expect("writer");

    let total = users.len() * PER_USER;
    let everything = tg
        .wait_for("both consumers have every message", WAIT, |tg| {
            let desk = desk_copies(tg);
            let desk_has_all = users.iter().all(|u| {
                let seen = desk.get(u).cloned().unwrap_or_default();
                expected(*u).iter().all(|t| seen.contains(t))
            });
            let bot_has = received
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, chat, _)| *chat > 0)
                .count();
            desk_has_all && bot_has >= total
        })
        .await;
    let gateway_log = std::fs::read_to_string(&log).unwrap_or_default();
    everything.unwrap_or_else(|e| {
        panic!(
            "{e}\nbot received {} updates\ngateway log:\n{gateway_log}",
            received.lock().unwrap().len()
        )
    });
    // A moment more: a repeat would arrive now.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    bot.abort();

    // The bot: every message once, ids increasing, nothing from the operators' group.
    let received = received.lock().unwrap().clone();
    let ids: Vec<i64> = received.iter().map(|(id, _, _)| *id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "the bot's update ids increase: {ids:?}"
    );
    assert!(
        received.iter().all(|(_, chat, _)| *chat != GROUP),
        "the bot got operators' traffic"
    );
    for &user in &users {
        let got: Vec<String> = received
            .iter()
            .filter(|(_, chat, _)| *chat == user)
            .map(|(_, _, t)| t.clone())
            .collect();
        assert_eq!(
            got,
            expected(user),
            "the bot received user {user}'s messages once each, in order"
        );
    }

    // The desk: every message in its topic, in order; a repeat only in place, at most one per
    // conversation per kill.
    let desk = desk_copies(&tg);
    for &user in &users {
        let seen = desk.get(&user).cloned().unwrap_or_default();
        let mut collapsed: Vec<String> = Vec::new();
        let mut repeats = 0;
        for t in seen {
            if collapsed.last() == Some(&t) {
                repeats += 1;
            } else {
                collapsed.push(t);
            }
        }
        assert_eq!(
            collapsed,
            expected(user),
            "user {user}'s topic holds every message in order"
        );
        assert!(
            repeats <= KILLS,
            "user {user}: {repeats} repeated copies for {KILLS} kills"
        );
    }
    println!(
        "gateway crash: {KILLS} kills, {} updates to the bot, {total} messages",
        received.len()
    );
    child.start_kill().ok();
    let _ = child.wait().await;
    tg.shutdown().await;
}

/// The topics the desk has opened so far (thread ids), for the operator to answer in.
fn desk_copies_threads(tg: &FakeTelegram) -> HashMap<i64, ()> {
    tg.topics(GROUP)
        .iter()
        .map(|t| (t.message_thread_id, ()))
        .collect()
}
