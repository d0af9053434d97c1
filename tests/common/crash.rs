//! The SIGKILL exchange that crash-safety tests share: a desk process (spawned by the test's
//! `spawn`) is killed with SIGKILL at random points of a 2,000-message exchange and restarted on
//! the same SQLite file each time; the fake Telegram's transcripts then show every message
//! delivered, in order, and no duplicate but the send that was in flight at a kill (Telegram has
//! no idempotency key: that window cannot be closed), at most one per conversation per kill.
//!
//! The kill points come from a seeded generator; the seed is printed, and
//! `HOTLINE_CRASH_SEED=<seed> cargo test --test <test> -- --nocapture` replays a run.

#![allow(dead_code, unreachable_pub)]

use hotline_testkit::{FakeTelegram, NewGroup, NewMessage, NewUser};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::process::Child;

pub const TOKEN: &str = "778002:crash-SECRET-token";
pub const GROUP: i64 = -1_001_000_000_778;
pub const OPERATOR: i64 = 2002;
/// 20 users × 50 rounds × (one user message + one operator answer) = 2,000 messages.
pub const USERS: i64 = 20;
pub const ROUNDS: usize = 50;
pub const FIRST_USER: i64 = 5000;
pub const MIN_KILLS: usize = 5;
pub const WAIT: Duration = Duration::from_secs(60);

/// splitmix64: a tiny seeded generator, so that a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

fn seed() -> u64 {
    std::env::var("HOTLINE_CRASH_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

fn text(m: &Value) -> &str {
    m["text"].as_str().unwrap_or_default()
}

fn from_bot(m: &Value) -> bool {
    m["from"]["is_bot"] == Value::Bool(true)
}

/// The bot's copies of texts starting with `prefix` in `messages`, in order.
fn copies(messages: &[Value], prefix: &str) -> Vec<String> {
    messages
        .iter()
        .filter(|m| from_bot(m) && text(m).starts_with(prefix))
        .map(|m| text(m).to_owned())
        .collect()
}

/// Checks that `seen` is `expected` with some entries repeated in place (a re-sent message
/// lands right after its first copy); returns the repeated texts.
fn duplicates(seen: &[String], expected: &[String], what: &str) -> Vec<String> {
    let mut collapsed: Vec<&String> = Vec::new();
    let mut repeated = Vec::new();
    for s in seen {
        if collapsed.last() == Some(&s) {
            repeated.push(s.clone());
        } else {
            collapsed.push(s);
        }
    }
    let collapsed: Vec<String> = collapsed.into_iter().cloned().collect();
    assert_eq!(
        collapsed, expected,
        "{what}: every message, once each and in order (repeats in place aside)"
    );
    repeated
}

/// The topic that holds the user's first message.
fn thread_of_first(tg: &FakeTelegram, user: i64) -> Option<i64> {
    let first = format!("u{user}:0");
    tg.messages(GROUP)
        .iter()
        .find(|m| from_bot(m) && text(m) == first)
        .and_then(|m| m["message_thread_id"].as_i64())
}

/// Whether every expected message has reached its side at least once.
fn all_delivered(tg: &FakeTelegram) -> bool {
    let group = tg.messages(GROUP);
    let mut in_group: HashMap<&str, ()> = HashMap::new();
    for m in group.iter().filter(|m| from_bot(m)) {
        in_group.insert(text(m), ());
    }
    (0..USERS).all(|u| {
        let user = FIRST_USER + u;
        let at_user = tg.messages(user);
        let last_in = format!("u{user}:{}", ROUNDS - 1);
        let last_out = format!("o{user}:{}", ROUNDS - 1);
        in_group.contains_key(last_in.as_str())
            && at_user.iter().any(|m| from_bot(m) && text(m) == last_out)
            && copies(&group, &format!("u{user}:")).len() >= ROUNDS
            && copies(&at_user, &format!("o{user}:")).len() >= ROUNDS
    })
}

/// How many messages the bot has put anywhere: unchanged for a while means quiet.
fn bot_message_count(tg: &FakeTelegram) -> usize {
    let mut n = tg.messages(GROUP).iter().filter(|m| from_bot(m)).count();
    for u in 0..USERS {
        n += tg
            .messages(FIRST_USER + u)
            .iter()
            .filter(|m| from_bot(m))
            .count();
    }
    n
}

/// A Bot API parameter as a number (JSON numbers and form strings alike).
fn number(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_default()
}

/// The repeated copies (a source message copied again), per kill, from the fake's log of calls.
/// A repeat is charged to the kill that ended the life which made the copy before it: that life
/// sent the copy but died before recording it, and a later life sends it again. The later life
/// may be killed itself before it gets there, so the repeat can land one or more lives after
/// the kill it is due to; and a life that repeats a copy may die before recording it too, so
/// the next repeat is due to the kill that ended that life, not the first one. Checks that no life repeated its own copy and that no
/// conversation got more than one repeat per direction for any one kill: the desk handles a
/// user's messages and their topic's operator messages in two lanes, each with at most one
/// event (so one send) in flight at a kill.
fn duplicates_per_kill(tg: &FakeTelegram, marks: &[usize]) -> Vec<usize> {
    // The life (0: before the first kill) that made each source's latest copy.
    let mut last_copy: HashMap<(i64, i64), usize> = HashMap::new();
    let mut per_kill: Vec<HashMap<(i64, &str), usize>> = vec![HashMap::new(); marks.len() + 1];
    let mut within_one_life = Vec::new();
    for (index, call) in tg.calls().iter().enumerate() {
        if call.method != "copyMessage" || call.error_code.is_some() {
            continue;
        }
        let from = number(&call.params["from_chat_id"]);
        let source = number(&call.params["message_id"]);
        let life = marks.iter().filter(|&&mark| mark <= index).count();
        let Some(previous_life) = last_copy.insert((from, source), life) else {
            continue;
        };
        let (conversation, direction) = if from == GROUP {
            (number(&call.params["chat_id"]), "to the user")
        } else {
            (from, "to the topic")
        };
        if previous_life == life {
            within_one_life.push((conversation, source));
            continue;
        }
        // Kill k (1-based) ended life k - 1.
        *per_kill[previous_life + 1]
            .entry((conversation, direction))
            .or_default() += 1;
    }
    assert!(
        within_one_life.is_empty(),
        "a copy repeated with no kill between (conversation, source message): {within_one_life:?}"
    );
    for (kill, repeats) in per_kill.iter().enumerate().skip(1) {
        for ((conversation, direction), n) in repeats {
            assert!(
                *n <= 1,
                "kill {kill}: {n} repeated sends {direction} in the conversation of user \
                 {conversation}"
            );
        }
    }
    per_kill[1..].iter().map(|e| e.values().sum()).collect()
}

fn desk_log(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Runs the exchange against processes `spawn` starts (on the fake server, the SQLite file `db`,
/// stderr appended to `log`); `what` names the run in its printed report.
pub async fn sigkill_exchange(spawn: impl Fn(&FakeTelegram, &Path, &Path) -> Child, what: &str) {
    let started = Instant::now();
    let seed = seed();
    println!("{what}: seed {seed} (HOTLINE_CRASH_SEED={seed} replays this run)");
    let mut rng = Rng(seed);

    let tg = FakeTelegram::start(TOKEN).await.expect("fake Telegram");
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    tg.add_user(NewUser::new(OPERATOR, "Olga"));
    tg.add_member(GROUP, OPERATOR).expect("operator");
    for u in 0..USERS {
        tg.add_user(NewUser::new(
            FIRST_USER + u,
            &format!("Client{}", FIRST_USER + u),
        ));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let db: PathBuf = dir.path().join("desk.db");
    let log: PathBuf = dir.path().join("desk.log");

    let mut child = spawn(&tg, &db, &log);

    // The exchange: each user writes, then the operator answers in the user's topic, 50 times,
    // with a random pause; users run at the same time.
    let sent = Arc::new(AtomicBool::new(false));
    let mut drivers = Vec::new();
    for u in 0..USERS {
        let tg = tg.clone();
        let mut rng = Rng(rng.next());
        drivers.push(tokio::spawn(async move {
            let user = FIRST_USER + u;
            let mut thread = None;
            for i in 0..ROUNDS {
                tg.send_message(NewMessage::text(user, user, &format!("u{user}:{i}")))
                    .expect("the user writes");
                let thread = match thread {
                    Some(thread) => thread,
                    None => {
                        tg.wait_for(&format!("the topic of user {user}"), WAIT, |t| {
                            thread_of_first(t, user).is_some()
                        })
                        .await
                        .expect("a topic");
                        *thread.insert(thread_of_first(&tg, user).expect("topic"))
                    }
                };
                tg.send_message(
                    NewMessage::text(OPERATOR, GROUP, &format!("o{user}:{i}")).thread(thread),
                )
                .expect("the operator answers");
                tokio::time::sleep(Duration::from_millis(rng.range(40, 160))).await;
            }
        }));
    }
    let driving = {
        let sent = sent.clone();
        tokio::spawn(async move {
            for driver in drivers {
                driver.await.expect("driver");
            }
            sent.store(true, Ordering::SeqCst);
        })
    };

    // The killer: SIGKILL at a random moment, restart on the same database at once; until the
    // whole exchange is sent and at least MIN_KILLS kills happened.
    let mut kills: Vec<Duration> = Vec::new();
    // How many Bot API calls had completed at each kill: the calls after mark k are epoch k.
    let mut marks: Vec<usize> = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_millis(rng.range(300, 900))).await;
        if sent.load(Ordering::SeqCst) && kills.len() >= MIN_KILLS {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the desk exited by itself ({status}); its log:\n{}",
                desk_log(&log)
            );
        }
        child.start_kill().expect("SIGKILL");
        child.wait().await.expect("reaped");
        kills.push(started.elapsed());
        // A call the killed desk had already sent can still be acted on by the fake after the
        // process is gone; it belongs to the life before the kill, so the mark waits for it.
        tg.wait_for("the killed desk's last calls", WAIT, |t| {
            t.stats().calls_in_progress == 0
        })
        .await
        .expect("the fake finishes the killed desk's calls");
        marks.push(tg.calls().len());
        child = spawn(&tg, &db, &log);
    }
    driving.await.expect("the exchange was sent");
    let sent_at = started.elapsed();

    // The last desk finishes the backlog; then the world must stay quiet.
    if let Err(error) = tg
        .wait_for("every message delivered", WAIT, all_delivered)
        .await
    {
        panic!("{error}\nthe desk's log:\n{}", desk_log(&log));
    }
    let mut count = bot_message_count(&tg);
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_millis(1500) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = bot_message_count(&tg);
        if now != count {
            count = now;
            quiet_since = Instant::now();
        }
    }

    // SIGTERM: the desk stops cleanly (exit code 0).
    let pid = child.id().expect("pid").to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the desk stops within 30 s of SIGTERM")
        .expect("exit status");
    assert!(
        status.success(),
        "SIGTERM stops the desk cleanly: {status}\n{}",
        desk_log(&log)
    );

    // The transcripts.
    let group = tg.messages(GROUP);
    let topics = tg.topics(GROUP);
    let mut total_duplicates = 0;
    let mut orphan_topics = 0;
    let mut report = Vec::new();
    for u in 0..USERS {
        let user = FIRST_USER + u;
        let thread = thread_of_first(&tg, user).expect("the user's topic");
        let expected_in: Vec<String> = (0..ROUNDS).map(|i| format!("u{user}:{i}")).collect();
        let expected_out: Vec<String> = (0..ROUNDS).map(|i| format!("o{user}:{i}")).collect();
        let in_topic = copies(&tg.thread_messages(GROUP, thread), &format!("u{user}:"));
        let in_group = copies(&group, &format!("u{user}:"));
        assert_eq!(
            in_topic.len(),
            in_group.len(),
            "every copy of user {user}'s messages is in their topic {thread}"
        );
        let dup_in = duplicates(&in_topic, &expected_in, &format!("user {user} → topic"));
        let at_user = copies(&tg.messages(user), &format!("o{user}:"));
        let dup_out = duplicates(&at_user, &expected_out, &format!("topic → user {user}"));
        // A topic created by a call in flight at a kill, never recorded: empty, and replaced.
        let name = format!("Client{user}");
        let theirs: Vec<_> = topics.iter().filter(|t| t.name.contains(&name)).collect();
        assert!(
            theirs.iter().any(|t| t.message_thread_id == thread),
            "user {user}'s topic is named after them: {theirs:?}"
        );
        let orphans = theirs.len() - 1;
        for t in theirs.iter().filter(|t| t.message_thread_id != thread) {
            let held = copies(&tg.thread_messages(GROUP, t.message_thread_id), "");
            assert!(
                held.is_empty(),
                "user {user} has a second topic {} with messages: {held:?}",
                t.message_thread_id
            );
        }
        let dups = dup_in.len() + dup_out.len() + orphans;
        assert!(
            dups <= kills.len(),
            "user {user}: {dups} duplicates ({dup_in:?} {dup_out:?}, {orphans} extra topics) \
             for {} kills",
            kills.len()
        );
        total_duplicates += dup_in.len() + dup_out.len();
        orphan_topics += orphans;
        if dups > 0 {
            report.push(format!(
                "user {user}: {dup_in:?} {dup_out:?} +{orphans} topics"
            ));
        }
    }
    let per_kill = duplicates_per_kill(&tg, &marks);
    assert_eq!(
        per_kill.iter().sum::<usize>(),
        total_duplicates,
        "the Bot API's call log and the transcripts count the same duplicates"
    );
    assert_eq!(
        topics.len() - orphan_topics,
        USERS as usize,
        "one topic per user"
    );

    let messages = USERS as usize * ROUNDS * 2;
    println!(
        "{what}: {messages} messages, {} kills at {:?}, {total_duplicates} duplicates \
         ({:.2} per kill: {per_kill:?}), {orphan_topics} extra empty topics, exchange sent in {:.1} s, \
         all done in {:.1} s, seed {seed}",
        kills.len(),
        kills
            .iter()
            .map(|k| format!("{:.1}s", k.as_secs_f64()))
            .collect::<Vec<_>>(),
        total_duplicates as f64 / kills.len() as f64,
        sent_at.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    for line in report {
        println!("{what}:   {line}");
    }
    assert!(kills.len() >= MIN_KILLS);
    tg.shutdown().await;
}
