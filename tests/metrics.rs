//! `HOTLINE_METRICS`: the `hotline-desk` binary serves Prometheus text on `/metrics`, and
//! `/healthz`, `/readyz`; after known traffic through the fake Telegram the counters say it.

mod common;

use hotline_testkit::{FakeTelegram, Fault, NewGroup, NewMessage, NewUser};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

const TOKEN: &str = "778101:metrics-SECRET-token";
const GROUP: i64 = -1_001_000_000_901;
const OPERATOR: i64 = 2901;
const WAIT: Duration = Duration::from_secs(60);

/// The value of the sample `name` (with its labels, as Prometheus text writes them).
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.split_once(' ').is_some_and(|(n, _)| n == name))
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.trim().parse().ok())
}

async fn eventually(what: &str, cond: impl AsyncFn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_traffic_and_health_answers() {
    let tg = FakeTelegram::start(TOKEN).await.expect("fake telegram");
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    tg.add_user(NewUser::new(OPERATOR, "Olga"));
    tg.add_member(GROUP, OPERATOR).expect("operator");
    let dir = tempfile::tempdir().expect("dir");
    let mut desk = Command::new(env!("CARGO_BIN_EXE_hotline-desk"))
        .env_clear()
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", tg.api_url())
        .env("HOTLINE_BACKEND_GROUP", GROUP.to_string())
        .env("HOTLINE_LIMITS", "off")
        .env("WELCOME", "OFF")
        .env(
            "HOTLINE_DATABASE",
            format!("sqlite://{}", dir.path().join("desk.db").display()),
        )
        .env("HOTLINE_METRICS", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start hotline-desk");
    let base = common::desk_process::metrics_address(&mut desk, WAIT).await;
    let http = reqwest::Client::new();
    let get = async |path: &str| {
        let response = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("an answer");
        (
            response.status().as_u16(),
            response.text().await.expect("a body"),
        )
    };
    assert_eq!(get("/healthz").await, (200, "ok\n".to_owned()));

    // Three users write twice each; one 429 on the way in; the operator answers each once.
    tg.inject_fault(
        Fault::too_many_requests(1)
            .method("copyMessage")
            .chat(GROUP)
            .count(1),
    );
    for user in [7001, 7002, 7003] {
        tg.add_user(NewUser::new(user, &format!("U{user}")));
        for n in 0..2 {
            tg.send_message(NewMessage::text(user, user, &format!("u{user}:{n}")))
                .expect("user message");
        }
    }
    let in_topics = async || {
        tg.messages(GROUP)
            .iter()
            .filter(|m| m["text"].as_str().is_some_and(|t| t.starts_with('u')))
            .count()
    };
    eventually("six copies in the topics", async || in_topics().await == 6).await;
    for user in [7001, 7002, 7003] {
        let thread = tg
            .messages(GROUP)
            .iter()
            .find(|m| m["text"].as_str() == Some(&format!("u{user}:0")))
            .and_then(|m| m["message_thread_id"].as_i64())
            .expect("the user's topic");
        tg.send_message(NewMessage::text(OPERATOR, GROUP, &format!("o{user}")).thread(thread))
            .expect("operator message");
    }
    for user in [7001, 7002, 7003] {
        eventually("the answer at the user", async || {
            tg.messages(user)
                .iter()
                .any(|m| m["text"].as_str() == Some(&format!("o{user}")))
        })
        .await;
    }
    let relayed_to_user = "hotline_messages_relayed_total{direction=\"to_user\"}";
    eventually("the metrics of the answers", async || {
        sample(&get("/metrics").await.1, relayed_to_user) == Some(3.0)
    })
    .await;
    let (status, text) = get("/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(
        sample(
            &text,
            "hotline_messages_relayed_total{direction=\"to_topic\"}"
        ),
        Some(6.0),
        "{text}"
    );
    assert_eq!(sample(&text, relayed_to_user), Some(3.0), "{text}");
    assert_eq!(
        sample(&text, "hotline_events_total{event=\"dialog_created\"}"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "hotline_rate_limited_total"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "hotline_open_topics"), Some(3.0), "{text}");
    assert_eq!(sample(&text, "hotline_queue_depth"), Some(0.0), "{text}");
    // Every relayed event (six in, three out) went into the latency histogram.
    assert_eq!(
        sample(&text, "hotline_relay_latency_seconds_count"),
        Some(9.0),
        "{text}"
    );
    assert!(
        sample(&text, "hotline_pacing_wait_seconds_count").is_some_and(|n| n >= 9.0),
        "{text}"
    );
    assert!(
        text.contains("# HELP hotline_messages_relayed_total"),
        "{text}"
    );
    assert_eq!(get("/readyz").await, (200, "ready\n".to_owned()));

    // Telegram unreachable: not ready, saying why; still healthy.
    tg.inject_fault(Fault::error(500, "Internal Server Error").method("getMe"));
    let (status, body) = get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("not ready: telegram:"), "{body}");
    assert!(!body.contains("SECRET"), "the token never shows: {body}");
    assert_eq!(get("/healthz").await.0, 200);
    desk.kill().await.expect("kill");
}
