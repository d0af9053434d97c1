//! The bot token is a password, and every request a bot makes to the gateway carries it in its
//! path: provoke each kind of failure on the way through (Telegram unreachable, connections
//! dropped, errors, a failing webhook, missing files, bad requests) and search the gateway's
//! logs, its answers and its `Debug` output for it.

mod common;

use common::{TOKEN, start, start_with};
use hotline_gateway::GatewayConfig;
use hotline_testkit::Fault;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Collects everything `tracing` writes, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const SECRET: &str = "E2E-secret-token-VALUE";

/// The answer's status and body as text.
async fn answer(request: reqwest::RequestBuilder) -> String {
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            format!("{status} {}", response.text().await.unwrap_or_default())
        }
        // The client's own error names its URL, token included: that is the bot's, not ours.
        Err(error) => format!("no answer: {}", error.without_url()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_appears_in_no_log_answer_or_debug_output_of_the_gateway() {
    assert!(TOKEN.ends_with(SECRET));
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    let mut shown: Vec<String> = Vec::new();

    let env = start().await;
    env.user(4001, "Ann");
    shown.push(format!("{:?}", env.gateway));
    let http = &env.http;

    // Errors from Telegram, passed through.
    shown.push(
        answer(
            http.post(env.method_url("sendMessage"))
                .json(&json!({"chat_id": 999_999, "text": "to nobody"})),
        )
        .await,
    );
    // Connections dropped under a send, a download, a getFile.
    env.tg.inject_fault(Fault::drop_connection());
    shown.push(
        answer(
            http.post(env.method_url("sendMessage"))
                .json(&json!({"chat_id": 4001, "text": "dropped"})),
        )
        .await,
    );
    shown.push(answer(http.get(format!("{}/file/bot{TOKEN}/photos/file_9.jpg", env.url))).await);
    env.tg.clear_faults();
    env.tg.inject_fault(Fault::latency(200));
    shown.push(
        answer(
            http.post(env.method_url("getMe"))
                .timeout(Duration::from_millis(50)),
        )
        .await,
    );
    env.tg.clear_faults();
    // A file that is not there, bad parameters, a body over the bound, an unknown method.
    shown.push(answer(http.get(format!("{}/file/bot{TOKEN}/photos/nothing.jpg", env.url))).await);
    shown.push(
        answer(
            http.post(env.method_url("getUpdates"))
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await,
    );
    shown.push(
        answer(
            http.post(env.method_url("sendMessage"))
                .header("content-type", "application/json")
                .body(vec![b' '; 2 << 20]),
        )
        .await,
    );
    shown.push(answer(http.post(env.method_url("noSuchMethod"))).await);
    // A webhook nobody listens on: deliveries fail and are retried, and logged.
    shown.push(
        answer(
            http.post(env.method_url("setWebhook"))
                .json(&json!({"url": "http://127.0.0.1:9/hook"})),
        )
        .await,
    );
    env.say(4001, "for the webhook");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    shown.push(answer(http.post(env.method_url("getWebhookInfo"))).await);
    env.stop().await;

    // Telegram unreachable altogether.
    let tg = common::fake().await;
    let unreachable = start_with(
        tg,
        Arc::new(hotline_core::MemoryStore::new()),
        GatewayConfig::default(),
    )
    .await;
    unreachable
        .tg
        .inject_fault(Fault::drop_connection().ratio(1.0));
    shown.push(
        answer(
            unreachable
                .http
                .post(unreachable.method_url("sendMessage"))
                .json(&json!({"chat_id": 4001, "text": "nobody home"})),
        )
        .await,
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    unreachable.stop().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("hotline"),
        "the failures were logged:\n{logs}"
    );
    assert!(!logs.contains(SECRET), "the token is in the logs:\n{logs}");
    for text in &shown {
        assert!(!text.contains(SECRET), "the token is in: {text}");
    }
}
