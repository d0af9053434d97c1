//! The Bot API gateway against no gateway: a bot (reqwest, keep-alive) talking straight to the
//! fake Telegram, and the same bot talking to the gateway in front of the same kind of fake, in
//! the same run, in rounds.
//!
//! * **sendMessage**: the bot sends [`SENDS`] messages to one user, one at a time (latency) and
//!   [`IN_FLIGHT`] at a time (throughput). The user has no topic and the desk mirrors the host
//!   bot's sends (`INTERCEPT_EXTERNAL`, on by default), so each send through the gateway is
//!   read for mirroring and handed to the desk, which finds no topic: the normal path. Beside
//!   it, not a target: a user with an open topic, each send then copied into the topic.
//! * **getUpdates**: [`UPDATES`] user messages from [`UPDATE_USERS`] users are waiting at the
//!   fake before the clock starts; the bot long-polls (`limit` 100, `offset` = last + 1) until
//!   it has them all. Through the gateway they go upstream poll → update log → desk → bot. The
//!   desk runs with `HAND_OVER_ONLY=true` (no user message opens a topic: each one is only kept
//!   as context, one store write, no Bot API call). With the gateway binary's default store
//!   (SQLite file) and with `MemoryStore`; beside them the floor, the SQLite appends alone.
//!   Then the latency of one message when idle: injected after the previous one arrived. Its
//!   floor on SQLite (`appends`, after the bulk appends): the durable append alone, and the
//!   store calls a reader without the update log's in-memory copy would add to it, one idle
//!   update at a time ([`idle_store_calls`]).
//!
//! Beside them, two floors measured in the same run: a bare pass-through proxy on the
//! gateway's own stack (the cost of any extra hop), and the desk alone on the same store until
//! it has taken in the last update (a bot behind the gateway gets an update only then).
//!
//! Targets (issue): gateway / direct throughput >= 0.9 and added p50 latency <= 0.5 ms, both
//! the median of the rounds' figures. Each contender's run has a fresh fake (and gateway and
//! store), the order rotates from round to round, and a message lost or duplicated panics.
//!
//! Run with `cargo bench -p hotline-gateway --bench gateway` (`GATEWAY_BENCH_ROUNDS`,
//! `GATEWAY_BENCH_PHASES=send,updates`, `GATEWAY_BENCH_RECEIVERS=direct,sqlite,memory,appends,bare,desk-sqlite,desk-memory`).
//! See `docs/benchmarks.md`.

#![allow(missing_docs)]

use hotline_core::{ChatId, Config, Fetched, MemoryStore, Store, Timestamp};
use hotline_gateway::{Gateway, GatewayConfig};
use hotline_testkit::{FakeTelegram, NewGroup, NewMessage, NewUser};
use hotline_transport_telegram::{Hotline, Limits};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// One allocator for the whole process (as the workspace's `relay_e2e`): glibc's malloc locks
/// an arena when a block is freed on another thread than the one that allocated it, which a
/// Tokio runtime does all the time, a cost of the machine's allocator rather than of either
/// contender. The heap is kept warm with `MIMALLOC_PURGE_DELAY=-1` ([`keep_the_heap_warm`]).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc reads its options before `main`: the bench runs itself again with
/// `MIMALLOC_PURGE_DELAY=-1` unless it was given a value. The exit code of that run, or `None`
/// when this is it.
fn keep_the_heap_warm() -> Option<i32> {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return None;
    }
    let exe = std::env::current_exe().expect("the bench's own path");
    let status = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("MIMALLOC_PURGE_DELAY", "-1")
        .status()
        .expect("the bench runs again");
    Some(status.code().unwrap_or(1))
}

const TOKEN: &str = "777001:GWBENCH-secret-token-VALUE";
const GROUP: i64 = -1_001_000_000_777;
const OPERATOR: i64 = 2001;
/// The user the bot sends to.
const RECIPIENT: i64 = 50_000;
/// The users writing to the bot are `USER_BASE + index`.
const USER_BASE: i64 = 100_000;
const SENDS: usize = 2_000;
const IN_FLIGHT: usize = 8;
const UPDATES: usize = 5_000;
const UPDATE_USERS: usize = 50;
/// Single-message trials of the idle latency of `getUpdates`.
const TRIALS: usize = 200;
/// Timed rounds after the warm-up round (`GATEWAY_BENCH_ROUNDS` overrides).
const ROUNDS: usize = 7;
const WAIT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// Set-up

/// A fake Telegram with the operators' forum group, an operator, the recipient and the users
/// who write.
async fn fake() -> FakeTelegram {
    let tg = FakeTelegram::start(TOKEN).await.expect("fake telegram");
    tg.add_group(NewGroup::forum(GROUP, "Support"));
    tg.add_user(NewUser::new(OPERATOR, "Olga"));
    tg.add_member(GROUP, OPERATOR).expect("operator");
    tg.add_user(NewUser::new(RECIPIENT, "Rita"));
    for i in 0..UPDATE_USERS {
        tg.add_user(NewUser::new(USER_BASE + i as i64, &format!("User {i}")));
    }
    tg
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum StoreKind {
    /// The gateway binary's default: a SQLite file.
    Sqlite,
    Memory,
}

/// A store of `kind` (the SQLite file in a fresh temporary directory, kept alive with it).
async fn store(kind: StoreKind) -> (Arc<dyn Store>, Option<tempfile::TempDir>) {
    match kind {
        StoreKind::Memory => (Arc::new(MemoryStore::new()), None),
        StoreKind::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("hotline.db").display());
            let store = hotline_store_sql::connect(&url)
                .await
                .expect("SQLite store");
            (store, Some(dir))
        }
    }
}

/// The gateway, built (store opened, client built, listener bound) but not serving yet.
struct Built {
    hotline: Hotline,
    gateway: Gateway,
    listener: tokio::net::TcpListener,
    url: String,
    dir: Option<tempfile::TempDir>,
}

async fn build(tg: &FakeTelegram, kind: StoreKind, params: &[(&str, &str)]) -> Built {
    let config = Config::builder(ChatId(GROUP))
        .set_all(
            [("WELCOME", "OFF")]
                .into_iter()
                .chain(params.iter().copied()),
        )
        .expect("params")
        .build()
        .expect("config");
    let (store, dir) = store(kind).await;
    let hotline = Hotline::builder(TOKEN, config)
        .api_url(tg.api_url())
        .limits(Limits::off())
        .store(store)
        .build()
        .expect("hotline");
    let gateway = Gateway::new(hotline.clone(), GatewayConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listener");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    Built {
        hotline,
        gateway,
        listener,
        url,
        dir,
    }
}

struct Serving {
    hotline: Hotline,
    url: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), hotline_gateway::Error>>,
    _dir: Option<tempfile::TempDir>,
}

fn serve(built: Built) -> Serving {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = {
        let gateway = built.gateway.clone();
        let listener = built.listener;
        tokio::spawn(async move {
            gateway
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
        })
    };
    Serving {
        hotline: built.hotline,
        url: built.url,
        stop,
        task,
        _dir: built.dir,
    }
}

impl Serving {
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("the gateway stops")
            .expect("gateway task")
            .expect("the gateway exits cleanly");
    }
}

/// The bot's HTTP client: keep-alive, as every Bot API library's.
fn bot_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .expect("bot client")
}

/// The floor of any extra HTTP hop on this machine, measured beside the gateway: a pass-through
/// proxy on the gateway's own stack (axum server with `TCP_NODELAY`, a keep-alive reqwest
/// client) that reads no parameter, keeps no log and mirrors nothing; every call, `getUpdates`
/// included, goes to the fake as it came.
struct BareProxy {
    url: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl BareProxy {
    async fn start(upstream: String) -> Self {
        use axum::serve::ListenerExt;
        let http = bot_client();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let (http, upstream) = (http.clone(), upstream.clone());
            async move { pass_through(&http, &upstream, request).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listener");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .expect("the bare proxy serves");
        });
        Self { url, stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("the bare proxy stops")
            .expect("bare proxy task");
    }
}

async fn pass_through(
    http: &reqwest::Client,
    upstream: &str,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::http::header::CONTENT_TYPE;
    use axum::response::IntoResponse;
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("the bot's body");
    let mut forwarded = http.post(format!("{upstream}{path}")).body(body);
    if let Some(content_type) = parts.headers.get(CONTENT_TYPE) {
        forwarded = forwarded.header(CONTENT_TYPE, content_type.clone());
    }
    let answer = forwarded.send().await.expect("the fake answers");
    let status = axum::http::StatusCode::from_u16(answer.status().as_u16()).expect("status");
    let content_type = answer.headers().get(CONTENT_TYPE).cloned();
    let bytes = answer.bytes().await.expect("the fake's body");
    let mut response = (status, bytes).into_response();
    if let Some(content_type) = content_type {
        response.headers_mut().insert(CONTENT_TYPE, content_type);
    }
    response
}

async fn call(http: &reqwest::Client, base: &str, method: &str, params: &Value) -> Value {
    let response = http
        .post(format!("{base}/bot{TOKEN}/{method}"))
        .json(params)
        .send()
        .await
        .expect("an answer");
    let status = response.status();
    let body: Value = response.json().await.expect("a JSON answer");
    assert!(status.is_success(), "{method}: {status} {body}");
    assert_eq!(body["ok"], true, "{method}: {body}");
    body
}

// ---------------------------------------------------------------------------------------------
// Figures

/// The median of `values` (the upper one of an even count), sorting them.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The p50 and p99 of `values`, in any order.
fn p50_p99(values: &[Duration]) -> (Duration, Duration) {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    (percentile(&sorted, 50.0), percentile(&sorted, 99.0))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Throughput and per-call latency of one batch.
#[derive(Debug, Clone, Copy)]
struct Figures {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

impl Figures {
    fn of(count: usize, elapsed: Duration, mut latencies: Vec<Duration>) -> Self {
        latencies.sort_unstable();
        Self {
            per_sec: count as f64 / elapsed.as_secs_f64(),
            p50: percentile(&latencies, 50.0),
            p99: percentile(&latencies, 99.0),
        }
    }

    fn show(&self) -> String {
        format!(
            "{:>8.0}/s  p50 {:.3} ms  p99 {:.3} ms",
            self.per_sec,
            ms(self.p50),
            ms(self.p99)
        )
    }
}

/// Per contender, per figure name, one value a round.
type Series<C> = BTreeMap<(C, &'static str), Vec<f64>>;

fn note<C: Ord + Copy>(series: &mut Series<C>, c: C, name: &'static str, value: f64) {
    series.entry((c, name)).or_default().push(value);
}

/// `a[name] / b[name]` per round.
fn per_round<C: Ord + Copy>(
    series: &Series<C>,
    a: C,
    b: C,
    name: &'static str,
    f: impl Fn(f64, f64) -> f64,
) -> Vec<f64> {
    let (Some(xs), Some(ys)) = (series.get(&(a, name)), series.get(&(b, name))) else {
        return Vec::new();
    };
    xs.iter().zip(ys).map(|(x, y)| f(*x, *y)).collect()
}

fn range(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        })
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}

// ---------------------------------------------------------------------------------------------
// sendMessage

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Sender {
    Direct,
    /// Through the gateway, the recipient without a topic (the target's case).
    Gateway,
    /// Through the gateway, the recipient with an open topic: every send mirrored.
    GatewayTopic,
    /// Through [`BareProxy`]: the floor of an extra hop.
    BareProxy,
}

impl Sender {
    const ALL: [Sender; 4] = [
        Sender::Direct,
        Sender::Gateway,
        Sender::GatewayTopic,
        Sender::BareProxy,
    ];

    fn label(self) -> &'static str {
        match self {
            Sender::Direct => "direct",
            Sender::Gateway => "gateway",
            Sender::GatewayTopic => "gateway, open topic",
            Sender::BareProxy => "bare proxy (floor)",
        }
    }
}

struct SendRun {
    sequential: Figures,
    concurrent: Figures,
    /// Open topic: from the first send until every send was mirrored into the topic.
    mirrored_after: Option<Duration>,
}

fn send_text(batch: &str, i: usize) -> String {
    format!("bench {batch} {i}")
}

/// `count` sendMessage calls, `in_flight` at a time: the elapsed time and each call's latency.
/// Checks every call got its own message id.
async fn send_batch(
    http: &reqwest::Client,
    base: &str,
    batch: &'static str,
    count: usize,
    in_flight: usize,
) -> (Duration, Vec<Duration>) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<JoinHandle<Vec<(Duration, i64)>>> = (0..in_flight)
        .map(|_| {
            let (http, base, next) = (http.clone(), base.to_owned(), next.clone());
            tokio::spawn(async move {
                let mut done = Vec::with_capacity(count / in_flight + 1);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return done;
                    }
                    let params = json!({"chat_id": RECIPIENT, "text": send_text(batch, i)});
                    let at = Instant::now();
                    let answer = call(&http, &base, "sendMessage", &params).await;
                    let latency = at.elapsed();
                    let id = answer["result"]["message_id"].as_i64().expect("message_id");
                    done.push((latency, id));
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(count);
    let mut ids = HashSet::with_capacity(count);
    for worker in workers {
        for (latency, id) in worker.await.expect("sender") {
            latencies.push(latency);
            assert!(ids.insert(id), "message id {id} answered twice");
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(latencies.len(), count, "every send answered");
    (elapsed, latencies)
}

/// How many of the recipient's chat's messages are from `batch`, each once.
fn check_sent(tg: &FakeTelegram, batch: &str, count: usize) {
    let prefix = format!("bench {batch} ");
    let mut seen = HashSet::new();
    for m in tg.messages(RECIPIENT) {
        let Some(n) = m
            .get("text")
            .and_then(Value::as_str)
            .and_then(|t| t.strip_prefix(&prefix))
        else {
            continue;
        };
        assert!(seen.insert(n.to_owned()), "{batch} {n} sent twice");
    }
    assert_eq!(seen.len(), count, "every {batch} send reached the user");
}

async fn run_sender(sender: Sender) -> SendRun {
    let tg = fake().await;
    let http = bot_client();
    let serving = match sender {
        Sender::Direct | Sender::BareProxy => None,
        Sender::Gateway | Sender::GatewayTopic => {
            Some(serve(build(&tg, StoreKind::Sqlite, &[]).await))
        }
    };
    let bare = match sender {
        Sender::BareProxy => Some(BareProxy::start(tg.api_url()).await),
        _ => None,
    };
    let base = match (&serving, &bare) {
        (Some(s), _) => s.url.clone(),
        (None, Some(b)) => b.url.clone(),
        (None, None) => tg.api_url(),
    };
    let mut topic = None;
    if sender == Sender::GatewayTopic {
        let s = serving.as_ref().expect("gateway");
        tg.send_message(NewMessage::text(RECIPIENT, RECIPIENT, "hello"))
            .expect("user message");
        let deadline = Instant::now() + WAIT;
        topic = loop {
            let conv = s
                .hotline
                .desk()
                .store()
                .conversation(hotline_core::UserId(RECIPIENT))
                .await
                .expect("store");
            if let Some(t) = conv.and_then(|c| c.topic) {
                break Some(t.0);
            }
            assert!(Instant::now() < deadline, "no topic opened");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
    }
    // The bot's connection is open before the clock starts, as a running bot's is.
    call(&http, &base, "getMe", &json!({})).await;
    let started = Instant::now();
    let (elapsed, latencies) = send_batch(&http, &base, "seq", SENDS, 1).await;
    let sequential = Figures::of(SENDS, elapsed, latencies);
    let (elapsed, latencies) = send_batch(&http, &base, "par", SENDS, IN_FLIGHT).await;
    let concurrent = Figures::of(SENDS, elapsed, latencies);
    check_sent(&tg, "seq", SENDS);
    check_sent(&tg, "par", SENDS);
    let mut mirrored_after = None;
    if let Some(thread) = topic {
        let deadline = Instant::now() + WAIT;
        loop {
            let copies = tg
                .thread_messages(GROUP, thread)
                .iter()
                .filter(|m| {
                    m.get("text")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.contains("\nbench "))
                })
                .count();
            if copies >= 2 * SENDS {
                assert_eq!(copies, 2 * SENDS, "every send mirrored once");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "only {copies} of {} sends mirrored",
                2 * SENDS
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        mirrored_after = Some(started.elapsed());
    }
    if let Some(s) = serving {
        s.stop().await;
    }
    if let Some(b) = bare {
        b.stop().await;
    }
    tg.shutdown().await;
    SendRun {
        sequential,
        concurrent,
        mirrored_after,
    }
}

async fn send_phase(rounds: usize) {
    println!(
        "\n== sendMessage: {SENDS} calls to one user, sequential and {IN_FLIGHT} in flight; \
         gateway on SQLite, INTERCEPT_EXTERNAL on =="
    );
    for sender in Sender::ALL {
        let _ = run_sender(sender).await;
    }
    let mut series: Series<Sender> = BTreeMap::new();
    for round in 1..=rounds {
        let mut order = Sender::ALL.to_vec();
        let n = order.len();
        order.rotate_left(round % n);
        for sender in order.iter().copied() {
            let run = run_sender(sender).await;
            let mirrored = run
                .mirrored_after
                .map(|d| format!("; all mirrored {:.0} ms after the first send", ms(d)))
                .unwrap_or_default();
            println!(
                "[{round}] {:<20} sequential {} | {IN_FLIGHT} in flight {}{mirrored}",
                sender.label(),
                run.sequential.show(),
                run.concurrent.show()
            );
            note(&mut series, sender, "seq/s", run.sequential.per_sec);
            note(&mut series, sender, "seq p50", ms(run.sequential.p50));
            note(&mut series, sender, "seq p99", ms(run.sequential.p99));
            note(&mut series, sender, "par/s", run.concurrent.per_sec);
            note(&mut series, sender, "par p50", ms(run.concurrent.p50));
            note(&mut series, sender, "par p99", ms(run.concurrent.p99));
        }
    }
    println!("\nsendMessage, medians of {rounds} rounds:");
    for sender in Sender::ALL {
        let m = |name| median(&mut series[&(sender, name)].clone());
        println!(
            "  {:<20} sequential {:>6.0}/s p50 {:.3} ms p99 {:.3} ms | {IN_FLIGHT} in flight {:>6.0}/s p50 {:.3} ms p99 {:.3} ms",
            sender.label(),
            m("seq/s"),
            m("seq p50"),
            m("seq p99"),
            m("par/s"),
            m("par p50"),
            m("par p99"),
        );
    }
    for (through, what) in [
        (Sender::Gateway, "no topic (target)"),
        (Sender::GatewayTopic, "open topic (beside)"),
        (Sender::BareProxy, "bare proxy (the floor of a hop)"),
    ] {
        for (mode, per_sec, p50) in [
            (format!("{IN_FLIGHT} in flight"), "par/s", "par p50"),
            ("sequential".to_owned(), "seq/s", "seq p50"),
        ] {
            let mut ratio = per_round(&series, through, Sender::Direct, per_sec, |a, b| a / b);
            let mut added = per_round(&series, through, Sender::Direct, p50, |a, b| a - b);
            let ((rlo, rhi), (alo, ahi)) = (range(&ratio), range(&added));
            let (ratio, added) = (median(&mut ratio), median(&mut added));
            let target = through == Sender::Gateway;
            let (r_goal, a_goal) = if target {
                (
                    format!(" (target >= 0.9: {})", verdict(ratio >= 0.9)),
                    format!(" (target <= 0.5 ms: {})", verdict(added <= 0.5)),
                )
            } else {
                Default::default()
            };
            println!(
                "RATIO gateway / direct throughput, sendMessage {mode}, {what}: {ratio:.3}{r_goal}; rounds {rlo:.3}–{rhi:.3}"
            );
            println!(
                "  added p50 latency, sendMessage {mode}, {what}: {added:.3} ms{a_goal}; rounds {alo:.3}–{ahi:.3} ms"
            );
        }
    }
    for (mode, per_sec) in [
        (format!("{IN_FLIGHT} in flight"), "par/s"),
        ("sequential".to_owned(), "seq/s"),
    ] {
        let mut ratio = per_round(
            &series,
            Sender::Gateway,
            Sender::BareProxy,
            per_sec,
            |a, b| a / b,
        );
        let (lo, hi) = range(&ratio);
        println!(
            "  gateway / bare proxy throughput, sendMessage {mode}: {:.3}; rounds {lo:.3}–{hi:.3}",
            median(&mut ratio)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// getUpdates

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Receiver {
    Direct,
    Gateway(StoreKind),
    /// The update log's appends alone, in SQLite, in the poll's batches of 100: no HTTP, no
    /// desk, no bot. Then the idle latency's floor on the same store: [`idle_store_calls`].
    SqliteAppends,
    /// The bot long-polling the fake through [`BareProxy`]: the floor of an extra hop.
    BareProxy,
    /// The desk alone (`run_polling`, no gateway, no bot) on a store of this kind: until it
    /// has taken in the last update, which is when a bot behind the gateway may have it (the
    /// desk takes a user's update before the bot can answer it, so the desk's copy of the
    /// user's message precedes the mirror of the answer in the topic).
    DeskAlone(StoreKind),
}

impl Receiver {
    const ALL: [Receiver; 7] = [
        Receiver::Direct,
        Receiver::Gateway(StoreKind::Sqlite),
        Receiver::Gateway(StoreKind::Memory),
        Receiver::SqliteAppends,
        Receiver::BareProxy,
        Receiver::DeskAlone(StoreKind::Sqlite),
        Receiver::DeskAlone(StoreKind::Memory),
    ];

    /// Its name in `GATEWAY_BENCH_RECEIVERS`.
    fn name(self) -> &'static str {
        match self {
            Receiver::Direct => "direct",
            Receiver::Gateway(StoreKind::Sqlite) => "sqlite",
            Receiver::Gateway(StoreKind::Memory) => "memory",
            Receiver::SqliteAppends => "appends",
            Receiver::BareProxy => "bare",
            Receiver::DeskAlone(StoreKind::Sqlite) => "desk-sqlite",
            Receiver::DeskAlone(StoreKind::Memory) => "desk-memory",
        }
    }

    /// What its idle latency is of.
    fn idle_label(self) -> &'static str {
        match self {
            Receiver::SqliteAppends => "idle, the store calls alone",
            _ => "idle latency",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Receiver::Direct => "direct",
            Receiver::Gateway(StoreKind::Sqlite) => "gateway, SQLite",
            Receiver::Gateway(StoreKind::Memory) => "gateway, MemoryStore",
            Receiver::SqliteAppends => "SQLite appends alone",
            Receiver::BareProxy => "bare proxy (floor)",
            Receiver::DeskAlone(StoreKind::Sqlite) => "desk alone, SQLite",
            Receiver::DeskAlone(StoreKind::Memory) => "desk alone, Memory",
        }
    }
}

struct ReceiveRun {
    elapsed: Duration,
    polls: usize,
    /// Idle latency of one message, per trial; for the appends alone, of the store calls on
    /// its way ([`idle_store_calls`]).
    latencies: Vec<Duration>,
    /// For the appends alone: of the one append among those calls, per trial.
    appends: Vec<Duration>,
}

/// Message `n` of every user in turn, `UPDATES` in all.
fn inject_all(tg: &FakeTelegram) {
    for n in 0..UPDATES / UPDATE_USERS {
        for u in 0..UPDATE_USERS {
            let id = USER_BASE + u as i64;
            let msg = tg
                .send_message(NewMessage::text(id, id, &format!("u{u} m{n}")))
                .expect("user message");
            assert_eq!(msg["message_id"].as_i64(), Some(n as i64 + 1));
        }
    }
}

/// The (chat, message id) of an update's message.
fn message_key(update: &Value) -> (i64, i64) {
    let message = &update["message"];
    (
        message["chat"]["id"].as_i64().expect("chat id"),
        message["message_id"].as_i64().expect("message id"),
    )
}

/// Long-polls from `offset` until `count` updates came: the polls made and the next offset.
/// Panics on a duplicate, an update id out of order, or an update beyond `count`.
async fn receive(
    http: &reqwest::Client,
    base: &str,
    mut offset: i64,
    count: usize,
    seen: &mut HashSet<(i64, i64)>,
) -> (usize, i64) {
    let mut got = 0;
    let mut polls = 0;
    let deadline = Instant::now() + WAIT;
    while got < count {
        assert!(
            Instant::now() < deadline,
            "only {got} of {count} updates came"
        );
        let params = json!({"offset": offset, "limit": 100, "timeout": 10});
        let answer = call(http, base, "getUpdates", &params).await;
        polls += 1;
        for update in answer["result"].as_array().expect("a list") {
            let id = update["update_id"].as_i64().expect("update_id");
            assert!(id >= offset, "update {id} before offset {offset}");
            offset = id + 1;
            let key = message_key(update);
            assert!(seen.insert(key), "message {key:?} delivered twice");
            got += 1;
        }
    }
    assert_eq!(got, count, "more updates than messages");
    (polls, offset)
}

/// `TRIALS` single messages, each injected once the previous one reached the bot (and its
/// next poll had a moment to reach the server): each one's time from injection to receipt.
async fn idle_latency(
    tg: &FakeTelegram,
    http: &reqwest::Client,
    base: &str,
    offset: i64,
    seen: &mut HashSet<(i64, i64)>,
) -> Vec<Duration> {
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel::<(Instant, (i64, i64))>();
    let bot = {
        let (http, base) = (http.clone(), base.to_owned());
        tokio::spawn(async move {
            let mut offset = offset;
            let mut got = 0;
            while got < TRIALS {
                let params = json!({"offset": offset, "limit": 100, "timeout": 10});
                let answer = call(&http, &base, "getUpdates", &params).await;
                let at = Instant::now();
                for update in answer["result"].as_array().expect("a list") {
                    offset = update["update_id"].as_i64().expect("update_id") + 1;
                    got += 1;
                    if arrived_tx.send((at, message_key(update))).is_err() {
                        return;
                    }
                }
            }
        })
    };
    let user = USER_BASE;
    let first = UPDATES / UPDATE_USERS;
    let mut latencies = Vec::with_capacity(TRIALS);
    for t in 0..TRIALS {
        // Let the bot's next poll (and the gateway's upstream one) park at the server.
        tokio::time::sleep(Duration::from_millis(2)).await;
        let at = Instant::now();
        let msg = tg
            .send_message(NewMessage::text(user, user, &format!("idle {t}")))
            .expect("user message");
        let id = msg["message_id"].as_i64().expect("message id");
        assert_eq!(id, (first + t + 1) as i64);
        let (came, key) = tokio::time::timeout(WAIT, arrived.recv())
            .await
            .expect("the message reaches the bot")
            .expect("the bot polls");
        assert_eq!(key, (user, id), "trial {t}: another message came");
        assert!(seen.insert(key), "message {key:?} delivered twice");
        latencies.push(came.duration_since(at));
    }
    bot.await.expect("bot");
    latencies
}

/// How many updates the desk's reader asks the log for when it holds none (the runner's
/// window).
const DESK_READ: usize = 1_000;
/// How many updates the gateway's poll asks the log for at once (its page).
const GATEWAY_READ: usize = 500;

/// The idle latency's floor on SQLite, timed directly on `store` (which holds the [`UPDATES`]
/// appended before, the last of them `last`). [`TRIALS`] single updates, one at a time after
/// the same pause as [`idle_latency`]'s, each: appended (the upstream poller's one transaction
/// on the writer, before anyone is told of it: the floor), then read from the store by the
/// desk's reader and by the bot's parked poll, the two reads the update log's in-memory copy
/// of what it just appended spares them. Nothing else in the store comes before the answer:
/// the desk's own commit, its place in the log and the bot's cursor are written after the
/// update was handed on. Each trial's (append alone, the whole sequence).
async fn idle_store_calls(store: &dyn Store, last: &Value) -> Vec<(Duration, Duration)> {
    let first = last["update_id"].as_i64().expect("update_id") + 1;
    let mut timings = Vec::with_capacity(TRIALS);
    for t in 0..TRIALS {
        let mut update = last.clone();
        update["update_id"] = json!(first + t as i64);
        update["message"]["message_id"] = json!(t + 1);
        update["message"]["text"] = json!(format!("idle {t}"));
        let fetched = vec![Fetched {
            upstream_id: first + t as i64,
            payload: update.to_string(),
        }];
        let before = hotline_core::LogId((UPDATES + t) as i64);
        tokio::time::sleep(Duration::from_millis(2)).await;
        let at = Instant::now();
        let ids = store
            .append_updates(fetched, Timestamp(0))
            .await
            .expect("append");
        let appended = at.elapsed();
        let taken = store
            .logged_updates(before, DESK_READ)
            .await
            .expect("the desk's read");
        let answered = store
            .logged_updates(before, GATEWAY_READ)
            .await
            .expect("the gateway's read");
        let whole = at.elapsed();
        let id = hotline_core::LogId(before.0 + 1);
        assert_eq!(ids, [id], "trial {t}: appended as another id");
        for read in [&taken, &answered] {
            assert_eq!(
                read.iter().map(|l| l.id).collect::<Vec<_>>(),
                [id],
                "trial {t}: another read"
            );
        }
        timings.push((appended, whole));
    }
    timings
}

async fn run_receiver(receiver: Receiver) -> ReceiveRun {
    let tg = fake().await;
    inject_all(&tg);
    let http = bot_client();
    let mut seen = HashSet::with_capacity(UPDATES + TRIALS);
    let run = match receiver {
        Receiver::Direct | Receiver::BareProxy => {
            let bare = match receiver {
                Receiver::BareProxy => Some(BareProxy::start(tg.api_url()).await),
                _ => None,
            };
            let base = bare
                .as_ref()
                .map_or_else(|| tg.api_url(), |b| b.url.clone());
            call(&http, &base, "getMe", &json!({})).await;
            let started = Instant::now();
            let (polls, offset) = receive(&http, &base, 0, UPDATES, &mut seen).await;
            let elapsed = started.elapsed();
            let latencies = idle_latency(&tg, &http, &base, offset, &mut seen).await;
            if let Some(bare) = bare {
                bare.stop().await;
            }
            ReceiveRun {
                elapsed,
                polls,
                latencies,
                appends: Vec::new(),
            }
        }
        Receiver::Gateway(kind) => {
            let built = build(&tg, kind, &[("HAND_OVER_ONLY", "true")]).await;
            let base = built.url.clone();
            // The clock starts before the gateway does: the updates wait at the fake until
            // its first upstream poll, and its start-up (a consumer registered, the webhook
            // removed) is counted.
            let started = Instant::now();
            let serving = serve(built);
            let (polls, offset) = receive(&http, &base, 0, UPDATES, &mut seen).await;
            let elapsed = started.elapsed();
            let latencies = idle_latency(&tg, &http, &base, offset, &mut seen).await;
            serving.stop().await;
            ReceiveRun {
                elapsed,
                polls,
                latencies,
                appends: Vec::new(),
            }
        }
        Receiver::DeskAlone(kind) => {
            let built = build(&tg, kind, &[("HAND_OVER_ONLY", "true")]).await;
            let hotline = built.hotline.clone();
            let mut taken = hotline.update_log().desk_seen();
            let (stop, stopped) = oneshot::channel::<()>();
            let started = Instant::now();
            let desk = tokio::spawn(async move {
                hotline
                    .run_polling(async {
                        let _ = stopped.await;
                    })
                    .await
            });
            let last = hotline_core::LogId(UPDATES as i64);
            tokio::time::timeout(WAIT, taken.wait_for(|seen| *seen >= last))
                .await
                .expect("the desk takes every update in")
                .expect("the desk runs");
            let elapsed = started.elapsed();
            let _ = stop.send(());
            tokio::time::timeout(WAIT, desk)
                .await
                .expect("the desk stops")
                .expect("desk task")
                .expect("the desk stops cleanly");
            drop(built);
            ReceiveRun {
                elapsed,
                polls: 0,
                latencies: Vec::new(),
                appends: Vec::new(),
            }
        }
        Receiver::SqliteAppends => {
            let payloads: Vec<Fetched> = tg
                .pending_updates()
                .into_iter()
                .map(|u| Fetched {
                    upstream_id: u["update_id"].as_i64().expect("update_id"),
                    payload: u.to_string(),
                })
                .collect();
            assert_eq!(payloads.len(), UPDATES);
            let (store, _dir) = store(StoreKind::Sqlite).await;
            let started = Instant::now();
            let mut appended = 0;
            for batch in payloads.chunks(100) {
                appended += store
                    .append_updates(batch.to_vec(), Timestamp(0))
                    .await
                    .expect("append")
                    .len();
            }
            let elapsed = started.elapsed();
            assert_eq!(appended, UPDATES);
            let last: Value =
                serde_json::from_str(&payloads[UPDATES - 1].payload).expect("an update");
            let (appends, latencies) = idle_store_calls(&*store, &last).await.into_iter().unzip();
            ReceiveRun {
                elapsed,
                polls: 0,
                latencies,
                appends,
            }
        }
    };
    if !matches!(receiver, Receiver::SqliteAppends | Receiver::DeskAlone(_)) {
        assert_eq!(seen.len(), UPDATES + TRIALS, "every message delivered once");
    }
    tg.shutdown().await;
    run
}

async fn updates_phase(rounds: usize, receivers: &[Receiver]) {
    println!(
        "\n== getUpdates: {UPDATES} messages from {UPDATE_USERS} users waiting at the fake, \
         limit 100; then {TRIALS} single messages when idle; desk HAND_OVER_ONLY=true =="
    );
    for receiver in receivers.iter().copied() {
        let _ = run_receiver(receiver).await;
    }
    let mut series: Series<Receiver> = BTreeMap::new();
    for round in 1..=rounds {
        let mut order = receivers.to_vec();
        let n = order.len();
        order.rotate_left(round % n);
        for receiver in order.iter().copied() {
            let run = run_receiver(receiver).await;
            let secs = run.elapsed.as_secs_f64();
            note(&mut series, receiver, "time", secs);
            let mut latency = if run.latencies.is_empty() {
                String::new()
            } else {
                let (p50, p99) = p50_p99(&run.latencies);
                note(&mut series, receiver, "p50", ms(p50));
                note(&mut series, receiver, "p99", ms(p99));
                format!(
                    "; {} p50 {:.3} ms p99 {:.3} ms",
                    receiver.idle_label(),
                    ms(p50),
                    ms(p99)
                )
            };
            if !run.appends.is_empty() {
                let (p50, p99) = p50_p99(&run.appends);
                note(&mut series, receiver, "append p50", ms(p50));
                note(&mut series, receiver, "append p99", ms(p99));
                latency.push_str(&format!(
                    " (the append alone p50 {:.3} ms p99 {:.3} ms)",
                    ms(p50),
                    ms(p99)
                ));
            }
            let polls = if run.polls > 0 {
                format!(" in {} polls", run.polls)
            } else {
                String::new()
            };
            println!(
                "[{round}] {:<22} {UPDATES} in {:.1} ms ({:.0}/s){polls}{latency}",
                receiver.label(),
                secs * 1e3,
                UPDATES as f64 / secs,
            );
        }
    }
    println!("\ngetUpdates, medians of {rounds} rounds:");
    for receiver in receivers.iter().copied() {
        let mut time = series[&(receiver, "time")].clone();
        let time = median(&mut time);
        let mut latency = String::new();
        for (what, p50, p99) in [
            (receiver.idle_label(), "p50", "p99"),
            ("the append alone", "append p50", "append p99"),
        ] {
            if let (Some(p50), Some(p99)) =
                (series.get(&(receiver, p50)), series.get(&(receiver, p99)))
            {
                latency.push_str(&format!(
                    "; {what} p50 {:.3} ms p99 {:.3} ms",
                    median(&mut p50.clone()),
                    median(&mut p99.clone())
                ));
            }
        }
        println!(
            "  {:<22} {:.1} ms ({:.0}/s){latency}",
            receiver.label(),
            time * 1e3,
            UPDATES as f64 / time
        );
    }
    for kind in [StoreKind::Sqlite, StoreKind::Memory] {
        let through = Receiver::Gateway(kind);
        if !receivers.contains(&through) {
            continue;
        }
        let mut ratio = per_round(&series, Receiver::Direct, through, "time", |d, g| d / g);
        let mut added = per_round(&series, through, Receiver::Direct, "p50", |g, d| g - d);
        // The idle latency's floor, SQLite: the store calls alone, and added / floor per round.
        let floor = match (kind, series.get(&(Receiver::SqliteAppends, "p50"))) {
            (StoreKind::Sqlite, Some(floor)) => {
                let appends = &series[&(Receiver::SqliteAppends, "append p50")];
                let over = |of: &Vec<f64>| -> Vec<f64> {
                    added.iter().zip(of).map(|(a, f)| a / f).collect()
                };
                Some((floor.clone(), appends.clone(), over(floor), over(appends)))
            }
            _ => None,
        };
        let ((rlo, rhi), (alo, ahi)) = (range(&ratio), range(&added));
        let (ratio, added) = (median(&mut ratio), median(&mut added));
        let what = through.label();
        let goal = |met| {
            if kind == StoreKind::Sqlite {
                format!(": {}", verdict(met))
            } else {
                String::new()
            }
        };
        println!(
            "RATIO gateway / direct throughput, getUpdates, {what} (direct time / gateway time): \
             {ratio:.3} (target >= 0.9{}); rounds {rlo:.3}–{rhi:.3}",
            goal(ratio >= 0.9)
        );
        println!(
            "  added p50 latency, getUpdates idle, {what}: {added:.3} ms (target <= 0.5 ms{}); \
             rounds {alo:.3}–{ahi:.3} ms",
            goal(added <= 0.5)
        );
        if let Some((mut floor, mut appends, mut over, mut over_append)) = floor {
            let ((flo, fhi), (olo, ohi)) = (range(&floor), range(&over));
            let (wlo, whi) = range(&over_append);
            println!(
                "  floor: the durable write alone p50 {:.3} ms, added / it {:.2} (rounds \
                 {wlo:.2}–{whi:.2}); with the two reads the in-memory copy spares (the write, then \
                 the desk's and the gateway's reads from the store) p50 {:.3} ms (rounds {flo:.3}–{fhi:.3} ms), added / them {:.2} \
                 (rounds {olo:.2}–{ohi:.2})",
                median(&mut appends),
                median(&mut over_append),
                median(&mut floor),
                median(&mut over)
            );
        }
    }
    if receivers.contains(&Receiver::BareProxy) {
        let mut ratio = per_round(
            &series,
            Receiver::Direct,
            Receiver::BareProxy,
            "time",
            |d, b| d / b,
        );
        let mut added = per_round(
            &series,
            Receiver::BareProxy,
            Receiver::Direct,
            "p50",
            |b, d| b - d,
        );
        let ((rlo, rhi), (alo, ahi)) = (range(&ratio), range(&added));
        println!(
            "  floor: bare proxy / direct throughput, getUpdates: {:.3}; rounds {rlo:.3}–{rhi:.3}; \
             added idle p50 {:.3} ms; rounds {alo:.3}–{ahi:.3} ms",
            median(&mut ratio),
            median(&mut added)
        );
        for kind in [StoreKind::Sqlite, StoreKind::Memory] {
            let through = Receiver::Gateway(kind);
            if receivers.contains(&through) {
                let mut ratio =
                    per_round(&series, Receiver::BareProxy, through, "time", |b, g| b / g);
                println!(
                    "  {} / bare proxy throughput, getUpdates: {:.3}",
                    through.label(),
                    median(&mut ratio)
                );
            }
        }
    }
    for kind in [StoreKind::Sqlite, StoreKind::Memory] {
        let (alone, through) = (Receiver::DeskAlone(kind), Receiver::Gateway(kind));
        if receivers.contains(&alone) && receivers.contains(&through) {
            let mut ratio = per_round(&series, alone, through, "time", |a, g| a / g);
            let mut floor = per_round(&series, Receiver::Direct, alone, "time", |d, a| d / a);
            println!(
                "  floor: direct time / {} time: {:.3}; {} / the desk alone: {:.3} (medians of rounds)",
                alone.label(),
                median(&mut floor),
                through.label(),
                median(&mut ratio)
            );
        }
    }
    let mut vs_direct = per_round(
        &series,
        Receiver::SqliteAppends,
        Receiver::Direct,
        "time",
        |f, d| f / d,
    );
    if !vs_direct.is_empty() {
        println!(
            "  floor: the SQLite appends alone take {:.3} × the direct time (median of rounds)",
            median(&mut vs_direct)
        );
    }
    let mut vs_sqlite = per_round(
        &series,
        Receiver::SqliteAppends,
        Receiver::Gateway(StoreKind::Sqlite),
        "time",
        |f, g| f / g,
    );
    if !vs_sqlite.is_empty() {
        println!(
            "  floor: the SQLite appends alone take {:.3} of the SQLite gateway's time (median of rounds)",
            median(&mut vs_sqlite)
        );
    }
}

fn main() {
    if let Some(code) = keep_the_heap_warm() {
        std::process::exit(code);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rounds: usize = std::env::var("GATEWAY_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(ROUNDS);
    let phases = std::env::var("GATEWAY_BENCH_PHASES").unwrap_or_default();
    let run = |phase: &str| phases.is_empty() || phases.split(',').any(|p| p == phase);
    println!(
        "gateway bench: fake Telegram, gateway, desk and bot in one process, 2 worker threads, \
         {rounds} rounds after a warm-up round, the order rotating"
    );
    runtime.block_on(async {
        if run("send") {
            send_phase(rounds).await;
        }
        if run("updates") {
            // GATEWAY_BENCH_RECEIVERS=direct,sqlite,memory,appends picks contenders (all by
            // default).
            let picked = std::env::var("GATEWAY_BENCH_RECEIVERS").unwrap_or_default();
            let receivers: Vec<Receiver> = Receiver::ALL
                .into_iter()
                .filter(|r| picked.is_empty() || picked.split(',').any(|p| p == r.name()))
                .collect();
            updates_phase(rounds, &receivers).await;
        }
    });
}
