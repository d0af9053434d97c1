//! A 10,000-user mailing while 20 users chat with operators (issue 18), against the fake
//! Telegram with Telegram's limits (30 calls a second, 1 a second per chat, 20 a minute into
//! the group) on a scaled clock.
//!
//! Phase one: the 20 users' traffic alone, for a while. Phase two: the same traffic while the
//! mailing runs, until it is done. Printed: the relays' latency (a user's message until its copy
//! is in the topic; an operator's answer until its copy is at the user), p50 and p99 in both
//! phases and their ratio; the share of the global budget the mailing used of what the relays
//! left; 429s; relays lost (panics if any, or if anyone got the mailing twice).
//!
//! `cargo bench --bench mailing_load`; `MAILING_BENCH_SCALE` (default 1) speeds the limit
//! clock up, `MAILING_BENCH_USERS` (default 10000) sizes the mailing. See docs/benchmarks.md.

use hotline::core::UserProfile;
use hotline::core::store::{Commit, Conversation};
use hotline::core::{ChatId, Config, Greeting, MailingContent, MemoryStore, Store, Timestamp};
use hotline::telegram::{Hotline, Limits};
use hotline_testkit::{FakeTelegram, FloodLimits, MemberStatus, NewGroup, NewMessage, NewUser};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "779001:mailing-load-SECRET";
const GROUP: i64 = -1_001_000_000_780;
const OPERATOR: i64 = 2_004;
const CHATTERS: i64 = 20;
const FIRST_CHATTER: i64 = 10;
const FIRST_RECIPIENT: i64 = 1_000_000;
const MAILING: &str = "Our shop opens on Monday";
/// One user message every this many (scaled) seconds, round the 20 users, each answered by an
/// operator: 10 a minute into the group, half its budget.
const EVERY_SCALED_SECS: f64 = 6.0;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !cond() {
        assert!(started.elapsed() < limit, "lost: {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    started.elapsed()
}

fn has_text(tg: &FakeTelegram, chat: i64, thread: Option<i64>, text: &str) -> bool {
    let messages = match thread {
        Some(thread) => tg.thread_messages(chat, thread),
        None => tg.messages(chat),
    };
    messages
        .iter()
        .any(|m| m["from"]["is_bot"] == true && m["text"] == text)
}

/// The 20 users' traffic until `until` says stop: each round one user writes, the copy is
/// awaited in the topic, an operator answers, the copy is awaited at the user. Latencies of
/// both legs, in order.
async fn chat(
    tg: &FakeTelegram,
    topics: &[i64],
    scale: f64,
    phase: &str,
    until: impl Fn() -> bool,
) -> Vec<Duration> {
    let every = Duration::from_secs_f64(EVERY_SCALED_SECS / scale);
    let limit = Duration::from_secs_f64(120.0 / scale.min(1.0)) + Duration::from_secs(120);
    let mut latencies = Vec::new();
    let mut round = 0usize;
    while !until() {
        let started = Instant::now();
        let i = round % CHATTERS as usize;
        let user = FIRST_CHATTER + i as i64;
        let question = format!("{phase} q{round}");
        tg.send_message(NewMessage::text(user, user, &question))
            .expect("a user message");
        latencies.push(
            wait_until(&question, limit, || {
                has_text(tg, GROUP, Some(topics[i]), &question)
            })
            .await,
        );
        let answer = format!("{phase} a{round}");
        tg.send_message(NewMessage::text(OPERATOR, GROUP, &answer).thread(topics[i]))
            .expect("an answer");
        latencies.push(wait_until(&answer, limit, || has_text(tg, user, None, &answer)).await);
        round += 1;
        if let Some(rest) = every.checked_sub(started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    latencies
}

fn summary(name: &str, latencies: &[Duration]) -> (Duration, Duration) {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let (p50, p99) = (percentile(&sorted, 0.5), percentile(&sorted, 0.99));
    println!(
        "{name}: {} relays, p50 {:.1} ms, p99 {:.1} ms",
        sorted.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    (p50, p99)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run());
}

async fn run() {
    let scale: f64 = env_or("MAILING_BENCH_SCALE", 1.0);
    let users: i64 = env_or("MAILING_BENCH_USERS", 10_000);
    let tg = FakeTelegram::start(TOKEN).await.expect("fake telegram");
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    tg.add_user(NewUser::new(OPERATOR, "Olga"));
    tg.add_member_as(GROUP, OPERATOR, MemberStatus::Administrator)
        .expect("an admin");
    let store = Arc::new(MemoryStore::new());
    for i in 0..users {
        let id = FIRST_RECIPIENT + i;
        tg.add_user(NewUser::new(id, "U"));
        let conversation = Conversation::new(UserProfile::new(id, "U"), Timestamp(1_700_000_000));
        store
            .commit(Commit {
                conversation: Some(conversation),
                ..Commit::default()
            })
            .await
            .expect("a conversation");
    }
    let config = Config::builder(ChatId(GROUP))
        .set_all([("WELCOME", "OFF")])
        .expect("params")
        .build()
        .expect("config");
    let hotline = Hotline::builder(TOKEN, config)
        .api_url(tg.api_url())
        .limits(Limits::telegram().with_time_scale(scale))
        .store(store.clone())
        .build()
        .expect("hotline");
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
    // The chatters, in conversation already: their topics made as the bot before the desk
    // starts, so that none of the group's 20 calls a minute goes to opening them.
    let http = reqwest::Client::new();
    let mut topics = Vec::new();
    for i in 0..CHATTERS {
        let user = FIRST_CHATTER + i;
        tg.add_user(NewUser::new(user, "Chatter"));
        let created: serde_json::Value = http
            .post(format!("{}/bot{TOKEN}/createForumTopic", tg.api_url()))
            .json(&serde_json::json!({"chat_id": GROUP, "name": format!("🟪 Chatter {user}")}))
            .send()
            .await
            .expect("createForumTopic")
            .json()
            .await
            .expect("its answer");
        let topic = created["result"]["message_thread_id"]
            .as_i64()
            .expect("a topic");
        let mut conversation =
            Conversation::new(UserProfile::new(user, "Chatter"), Timestamp(1_700_000_000));
        conversation.topic = Some(hotline::core::TopicId(topic));
        conversation.status = hotline::core::Status::UserAnswered;
        store
            .commit(Commit {
                conversation: Some(conversation),
                ..Commit::default()
            })
            .await
            .expect("a chatter");
        topics.push(topic);
    }
    tg.set_limits(FloodLimits {
        global_per_second: Some(30),
        per_chat_per_second: Some(1),
        per_group_per_minute: Some(20),
        time_scale: Some(scale),
    });

    // Phase one: the traffic alone, for 20 rounds.
    let alone_started = Instant::now();
    let rounds = std::sync::atomic::AtomicUsize::new(0);
    let alone = chat(&tg, &topics, scale, "alone", || {
        rounds.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= 20
    })
    .await;
    println!(
        "phase one took {:.1} s (scaled {:.0} s)",
        alone_started.elapsed().as_secs_f64(),
        alone_started.elapsed().as_secs_f64() * scale
    );

    // Phase two: the same traffic while a mailing to every user runs.
    let calls_before = tg.calls().len();
    let started = Instant::now();
    let mailing = hotline
        // Everyone but the 20 in conversation (open topics): a mailing to someone mid-chat
        // would hold their next answer for Telegram's 1 s per chat.
        .broadcast(
            "~open",
            MailingContent::Message(Greeting::text(MAILING, false)),
        )
        .await
        .expect("a mailing");
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (mailing, finished) = (mailing.clone(), finished.clone());
        tokio::spawn(async move {
            let done = mailing.finished().await.expect("the mailing ends");
            finished.store(true, std::sync::atomic::Ordering::Release);
            (done, Instant::now())
        })
    };
    let during = chat(&tg, &topics, scale, "during", || {
        finished.load(std::sync::atomic::Ordering::Acquire)
    })
    .await;
    let (done, ended) = watcher.await.expect("the watcher");
    let took = ended.duration_since(started).as_secs_f64();

    let calls = tg.calls();
    let phase_two = &calls[calls_before..];
    let throttled = calls.iter().filter(|c| c.error_code == Some(429)).count();
    let mailed = phase_two
        .iter()
        .filter(|c| {
            c.error_code.is_none() && c.method == "sendMessage" && c.params["text"] == MAILING
        })
        .count();
    let relayed = phase_two
        .iter()
        .filter(|c| {
            c.error_code.is_none()
                && c.method != "getUpdates"
                && c.method != "getChatMember"
                && c.params["text"] != MAILING
        })
        .count();
    let budget = took * scale * 30.0;
    let left = budget - relayed as f64;
    println!(
        "mailing: {mailed} sent to {} users in {took:.1} s (scaled {:.0} s): {:.1}/s scaled",
        users,
        took * scale,
        mailed as f64 / (took * scale)
    );
    println!(
        "budget: {budget:.0} calls, relays and notices {relayed}, left {left:.0}; the mailing used {:.1}% of what was left",
        100.0 * mailed as f64 / left
    );
    let (_, p99_alone) = summary("relays alone", &alone);
    let (_, p99_during) = summary("relays during the mailing", &during);
    let leg = |all: &[Duration], first: usize| -> Vec<Duration> {
        all.iter().skip(first).step_by(2).copied().collect()
    };
    summary("  user to topic, alone", &leg(&alone, 0));
    summary("  user to topic, during", &leg(&during, 0));
    summary("  operator to user, alone", &leg(&alone, 1));
    summary("  operator to user, during", &leg(&during, 1));
    println!(
        "relay p99 during / alone: {:.2}",
        p99_during.as_secs_f64() / p99_alone.as_secs_f64().max(1e-9)
    );
    // While the mailing keeps the window full, a relay that comes right after another (the
    // answer after the question) finds the window's one free call taken and waits for the
    // next call to leave the window: one bulk spacing at most.
    let spacing = Duration::from_secs_f64(1.0 / scale / 29.0);
    let floor = p99_alone + spacing;
    println!(
        "floor during the mailing: p99 alone + one bulk spacing ({:.1} ms) = {:.1} ms; p99 during / floor: {:.2}",
        spacing.as_secs_f64() * 1e3,
        floor.as_secs_f64() * 1e3,
        p99_during.as_secs_f64() / floor.as_secs_f64()
    );
    println!("429s: {throttled}");
    assert_eq!(done.counts.sent as i64, users, "everyone got the mailing");
    for i in 0..users {
        let id = FIRST_RECIPIENT + i;
        let copies = tg
            .messages(id)
            .iter()
            .filter(|m| m["text"] == MAILING)
            .count();
        assert_eq!(copies, 1, "user {id} got the mailing once");
    }
    println!("relays lost: 0 (every copy awaited)");
    let _ = stop.send(());
    let _ = runner.await;
}
