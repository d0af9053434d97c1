//! Does a webhook receiver that never answers slow the desk? 20 users' messages relayed through
//! the whole desk (polling runner, desk, transport) on the fake Telegram, with no `WEBHOOKS`,
//! then with `WEBHOOKS` posting every `message_received` to a receiver that accepts the
//! connection and never answers. The relay latency of each message is from the user's send (to
//! the fake) to the desk's `message_received` event (published right after its copy went out).
//!
//! The target (issue 19): p99 with the hanging receiver within 1.5x of p99 without webhooks
//! (median of the rounds' ratios, the two runs of a round back to back, their order alternated).
//!
//! Run with `cargo bench --bench webhook_latency`; see `docs/benchmarks.md`.

use axum::Router;
use axum::routing::post;
use hotline::core::{ChatId, Config, DeskEventKind};
use hotline::telegram::{Hotline, Limits};
use hotline_testkit::{FakeTelegram, NewGroup, NewMessage, NewUser};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const TOKEN: &str = "777301:BENCH-hooks-token";
const GROUP: i64 = -1_001_000_000_931;
const USERS: i64 = 20;
const PER_USER: usize = 10;
const ROUNDS: usize = 7;

/// A receiver that takes every post and never answers.
async fn hanging_receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let app = Router::new().route("/hook", post(std::future::pending::<&'static str>));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Relay latencies of one run, in order of arrival.
async fn run(webhook: Option<&str>) -> Vec<Duration> {
    let tg = FakeTelegram::start(TOKEN).await.expect("fake");
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    let mut config = Config::builder(ChatId(GROUP))
        .set("WELCOME", "OFF")
        .expect("welcome");
    if let Some(url) = webhook {
        config = config
            .set("WEBHOOKS", &format!(r#"{{"{url}": ["message_received"]}}"#))
            .and_then(|c| c.set("WEBHOOKS_SECRET", "bench"))
            .expect("webhooks");
    }
    let hotline = Hotline::builder(TOKEN, config.build().expect("config"))
        .api_url(tg.api_url())
        .limits(Limits::off())
        .build()
        .expect("hotline");
    let mut events = hotline.events();
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
    let users: Vec<i64> = (0..USERS).map(|i| 9000 + i).collect();
    for &user in &users {
        tg.add_user(NewUser::new(user, "U"));
    }
    // Each user writes first (their topics open), then the measured messages.
    for &user in &users {
        tg.send_message(NewMessage::text(user, user, "hello"))
            .expect("send");
    }
    let mut opened = 0;
    while opened < USERS {
        if let Some(Ok(e)) = events.next().await
            && e.kind == DeskEventKind::MessageReceived
        {
            opened += 1;
        }
    }
    let mut sent: HashMap<String, Instant> = HashMap::new();
    for n in 0..PER_USER {
        for &user in &users {
            let text = format!("u{user}:{n}");
            sent.insert(text.clone(), Instant::now());
            tg.send_message(NewMessage::text(user, user, &text))
                .expect("send");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut latencies = Vec::with_capacity(sent.len());
    while latencies.len() < sent.len() {
        match events.next().await {
            Some(Ok(e)) if e.kind == DeskEventKind::MessageReceived => {
                if let Some(at) = e.text.as_deref().and_then(|t| sent.get(t)) {
                    latencies.push(at.elapsed());
                }
            }
            Some(Ok(_)) => {}
            Some(Err(lagged)) => panic!("{lagged}"),
            None => panic!("the desk stopped"),
        }
    }
    let _ = stop.send(());
    let _ = runner.await;
    latencies
}

fn p99(mut latencies: Vec<Duration>) -> Duration {
    latencies.sort();
    latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let url = hanging_receiver().await;
        let mut ratios = Vec::new();
        for round in 0..ROUNDS {
            let (plain, hooked) = if round % 2 == 0 {
                let plain = p99(run(None).await);
                (plain, p99(run(Some(&url)).await))
            } else {
                let hooked = p99(run(Some(&url)).await);
                (p99(run(None).await), hooked)
            };
            let ratio = hooked.as_secs_f64() / plain.as_secs_f64();
            println!(
                "round {round}: p99 without webhooks {:.1} ms, with a hanging receiver {:.1} ms, ratio {ratio:.2}",
                plain.as_secs_f64() * 1e3,
                hooked.as_secs_f64() * 1e3
            );
            ratios.push(ratio);
        }
        ratios.sort_by(f64::total_cmp);
        let median = ratios[ratios.len() / 2];
        println!("median ratio (hanging receiver / no webhooks) of p99 relay latency: {median:.2} (target <= 1.5)");
    });
}
