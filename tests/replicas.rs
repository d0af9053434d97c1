//! Two desk replicas, two `hotline-desk` processes in webhook mode sharing one PostgreSQL and
//! nothing else, take the updates of 200 users writing at once, alternately: exactly one topic
//! per user, every user's messages in it once each and in order. Each user's first update is
//! delivered to both replicas at the same moment (a webhook retry landing on the other replica
//! while the first still works on it): it is still relayed once, into one topic.
//!
//! Separate processes rather than two `Hotline`s in this test's process: nothing in memory can
//! then be shared by mistake (a lock, a cache, a connection pool), only the database.
//!
//! PostgreSQL is real: `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`). The
//! test creates a schema of its own and drops it afterwards; with no server it fails saying how
//! to start one.

use hotline::store_sql::PgStore;
use hotline_testkit::{FakeTelegram, NewGroup, NewMessage, NewUser};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

const TOKEN: &str = "779003:replicas-SECRET-token";
const GROUP: i64 = -1_001_000_000_779;
const OPERATOR: i64 = 2003;
const USERS: i64 = 200;
const MESSAGES: usize = 5;
const FIRST_USER: i64 = 7000;
const SECRET: &str = "replica-webhook-secret";
const WAIT: Duration = Duration::from_secs(60);

fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh schema, created and migrated; fails (never skips) without a server.
async fn fresh_store(url: &str) -> PgStore {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let schema = format!("hotline_replicas_{}_{nanos}", std::process::id());
    match PgStore::connect_with_schema(url, &schema).await {
        Ok(store) => store,
        Err(error) => panic!(
            "PostgreSQL is needed for this test and none answers at DATABASE_URL ({error}).\n\
             Start one with trust auth and a database `test`, e.g.\n  \
             docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:17\n\
             or `sudo service postgresql start` and `createdb -U postgres test`, \
             or point DATABASE_URL at another server."
        ),
    }
}

/// A free local port (bound, then released for the replica to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts a replica serving the webhook on `listen`, its state in `database`.
fn spawn_replica(
    tg: &FakeTelegram,
    database: &str,
    listen: SocketAddr,
    sink: &str,
    log: &std::path::Path,
) -> Child {
    let log = std::fs::File::create(log).expect("replica log");
    Command::new(env!("CARGO_BIN_EXE_hotline-desk"))
        .env_clear()
        .env("TELEGRAM_BOT_TOKEN", TOKEN)
        .env("TELEGRAM_API_URL", tg.api_url())
        .env("HOTLINE_BACKEND_GROUP", GROUP.to_string())
        .env("HOTLINE_LIMITS", "off")
        .env("WELCOME", "OFF")
        .env("HOTLINE_DATABASE", database)
        .env("HOTLINE_MODE", "webhook")
        .env("HOTLINE_WEBHOOK_LISTEN", listen.to_string())
        .env("HOTLINE_WEBHOOK_URL", sink)
        .env("HOTLINE_WEBHOOK_SECRET", SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("start hotline-desk")
}

/// Where the fake Telegram delivers its own webhook pushes: answered and dropped, since this
/// test plays Telegram towards the replicas itself.
async fn sink() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("sink");
    let addr = listener.local_addr().expect("sink address");
    let router = axum::Router::new().fallback(|| async { "" });
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/")
}

fn text(m: &Value) -> &str {
    m["text"].as_str().unwrap_or_default()
}

fn copies(messages: &[Value], prefix: &str) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["from"]["is_bot"] == true && text(m).starts_with(prefix))
        .map(|m| text(m).to_owned())
        .collect()
}

/// POSTs an update to a replica as Telegram would; the replica answers once it handled it.
async fn deliver(http: &reqwest::Client, replica: &str, update: &Value) {
    let mut attempt = 0;
    loop {
        let sent = http
            .post(replica)
            .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
            .json(update)
            .send()
            .await;
        match sent {
            Ok(answer) if answer.status().is_success() => return,
            other if attempt >= 5 => panic!("{replica} refused an update: {other:?}"),
            _ => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

async fn wait_ready(http: &reqwest::Client, replica: &str, log: &std::path::Path) {
    let deadline = Instant::now() + WAIT;
    loop {
        // No secret: a running replica answers 401 and does nothing.
        if let Ok(answer) = http.post(replica).body("{}").send().await
            && answer.status() == reqwest::StatusCode::UNAUTHORIZED
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the replica at {replica} did not start; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_postgres_one_topic_per_user_in_order() {
    let url = database_url();
    let store = fresh_store(&url).await;
    let schema = store.schema().expect("schema").to_owned();
    let body = tokio::spawn(exchange(url, schema));
    let result = body.await;
    store.drop_schema().await.expect("drop the test schema");
    if let Err(panic) = result {
        std::panic::resume_unwind(panic.into_panic());
    }
}

async fn exchange(url: String, schema: String) {
    let started = Instant::now();
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
    let separator = if url.contains('?') { '&' } else { '?' };
    let database = format!("{url}{separator}options[search_path]={schema}");
    let sink = sink().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = [dir.path().join("a.log"), dir.path().join("b.log")];
    let addrs = [free_port(), free_port()].map(|p| SocketAddr::from(([127, 0, 0, 1], p)));
    let mut replicas: Vec<Child> = (0..2)
        .map(|i| spawn_replica(&tg, &database, addrs[i], &sink, &logs[i]))
        .collect();
    let endpoints: Arc<[String; 2]> = Arc::new(addrs.map(|a| format!("http://{a}/")));
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(256)
        .timeout(WAIT)
        .build()
        .expect("HTTP client");
    for (endpoint, log) in endpoints.iter().zip(&logs) {
        wait_ready(&http, endpoint, log).await;
    }
    let ready = started.elapsed();

    // 200 users at once; each user's next message only once the previous one was answered.
    let next_update = Arc::new(AtomicI64::new(1_000_000));
    let mut users = Vec::new();
    for u in 0..USERS {
        let (tg, http, endpoints, next_update) = (
            tg.clone(),
            http.clone(),
            endpoints.clone(),
            next_update.clone(),
        );
        users.push(tokio::spawn(async move {
            let user = FIRST_USER + u;
            for i in 0..MESSAGES {
                let message = tg
                    .send_message(NewMessage::text(user, user, &format!("r{user}:{i}")))
                    .expect("the user writes");
                let update = json!({
                    "update_id": next_update.fetch_add(1, Ordering::SeqCst),
                    "message": message,
                });
                if i == 0 {
                    // Delivered to both at the same moment: only one may act on it.
                    tokio::join!(
                        deliver(&http, &endpoints[0], &update),
                        deliver(&http, &endpoints[1], &update)
                    );
                } else {
                    let replica = &endpoints[(u as usize + i) % 2];
                    deliver(&http, replica, &update).await;
                }
            }
        }));
    }
    for user in users {
        user.await.expect("a user's messages were all answered");
    }
    let exchanged = started.elapsed();

    // Each answer came after the desk handled the update: the transcript is final.
    let group = tg.messages(GROUP);
    let topics = tg.topics(GROUP);
    assert_eq!(
        topics.len(),
        USERS as usize,
        "exactly one topic per user: {} topics for {USERS} users",
        topics.len()
    );
    for u in 0..USERS {
        let user = FIRST_USER + u;
        let first = format!("r{user}:0");
        let thread = group
            .iter()
            .find(|m| m["from"]["is_bot"] == true && text(m) == first)
            .and_then(|m| m["message_thread_id"].as_i64())
            .unwrap_or_else(|| panic!("user {user}'s first message is in a topic"));
        let expected: Vec<String> = (0..MESSAGES).map(|i| format!("r{user}:{i}")).collect();
        let in_topic = copies(&tg.thread_messages(GROUP, thread), &format!("r{user}:"));
        assert_eq!(
            in_topic, expected,
            "user {user}'s messages in their topic, once each, in order"
        );
        assert_eq!(
            copies(&group, &format!("r{user}:")).len(),
            MESSAGES,
            "none of user {user}'s messages anywhere else"
        );
        let name = format!("Client{user}");
        assert_eq!(
            topics.iter().filter(|t| t.name.contains(&name)).count(),
            1,
            "one topic named after user {user}"
        );
    }

    // SIGTERM: both replicas stop cleanly.
    for (replica, log) in replicas.iter_mut().zip(&logs) {
        let pid = replica.id().expect("pid").to_string();
        let term = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(term.success());
        let status = tokio::time::timeout(Duration::from_secs(30), replica.wait())
            .await
            .expect("a replica stops within 30 s of SIGTERM")
            .expect("exit status");
        assert!(
            status.success(),
            "SIGTERM stops a replica cleanly: {status}\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
    let updates = USERS as usize * (MESSAGES + 1);
    println!(
        "replicas: {USERS} users × {MESSAGES} messages through 2 replicas ({updates} webhook \
         deliveries, the first of each user to both at once): {} topics, order kept; replicas \
         ready in {:.1} s, exchange in {:.1} s",
        topics.len(),
        ready.as_secs_f64(),
        (exchanged - ready).as_secs_f64(),
    );
    tg.shutdown().await;
}
