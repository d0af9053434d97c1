//! Store-side cost of the desk, in one run:
//! - relays per second (`Desk::handle` of user messages into existing topics, 64 users at once,
//!   a transport that only hands out ids) on MemoryStore, SqliteStore (a durable file, NORMAL
//!   and FULL synchronous) and PgStore;
//! - latency of `conversation(user)` with 1,000,000 users stored in SQLite and PostgreSQL
//!   (mean from criterion, p50/p99/p99.9 printed from 100,000 timed lookups);
//! - PostgreSQL's own floor beside PgStore's look-up: `SELECT 1` on a connection with PgStore's
//!   settings, on the same runtime, in turns with the look-ups (one look-up, one `SELECT 1`, ...)
//!   so that the machine's noise hits both alike. The target compares the two p99s of one run:
//!   PgStore's look-up p99 <= 1.5 x `SELECT 1` p99.
//!
//! `cargo bench -p hotline-store-sql` (PostgreSQL from `DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`). The million-user databases are kept between runs
//! (`$CARGO_TARGET_TMPDIR/lookup-1m.db`, schema `hotline_bench_lookup`) and rebuilt only when
//! their row count is not 1,000,000. Under `cargo test --benches` every part runs once on 10,000
//! users.
//!
//! While it runs the bench asks the kernel to keep processors out of deep idle states
//! (`/dev/cpu_dma_latency` = 0 µs, as `cyclictest` does; see [`WakeLatency`]) and prints whether it
//! could. A look-up or a relay is a ping-pong between threads and processes (the caller, sqlx's
//! SQLite worker threads, PostgreSQL's backend): on a virtual machine whose idle vCPUs
//! halt, every hand-over would otherwise wait for the host to wake a vCPU (longer than a look-up
//! itself; see `docs/benchmarks.md`), which measures the machine, not the store.

#![allow(missing_docs)]

mod common;

use async_trait::async_trait;
use common::{data_dir, pg_url, postgres_beside_pool, sqlite_beside_pool};
use criterion::{BenchmarkId, Criterion, Throughput};
use hotline_core::store::Commit;
use hotline_core::{
    Action, ChatId, Config, Conversation, Desk, Event, IncomingMessage, MemoryStore, MessageId,
    Outcome, Performed, Status, Store, Timestamp, TopicId, Transport, TransportError, UserId,
    UserProfile, Welcome,
};
use hotline_store_sql::{PgOptions, PgStore, SqliteOptions, SqliteStore, Synchronous};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// Answers every action at once with a fresh id, like a messenger with no latency.
struct NullTransport(AtomicI64);

#[async_trait]
impl Transport for NullTransport {
    async fn perform(&self, action: &Action) -> Result<Performed, TransportError> {
        let id = self.0.fetch_add(1, Ordering::Relaxed);
        Ok(match action {
            Action::CreateTopic { .. } => Performed::Topic(TopicId(id)),
            Action::CopyToTopic { messages, .. } | Action::CopyToUser { messages, .. } => {
                Performed::Messages(
                    (0..messages.len() as i64)
                        .map(|i| MessageId(id * 100 + i))
                        .collect(),
                )
            }
            Action::RenameTopic { .. } | Action::CloseTopic { .. } | Action::ReopenTopic { .. } => {
                Performed::Done
            }
            _ => Performed::Messages(vec![MessageId(id)]),
        })
    }
}

const RELAY_USERS: i64 = 64;

fn profile(id: i64) -> UserProfile {
    UserProfile::new(id, format!("User{id}"))
        .with_last_name("Tester")
        .with_username(format!("user_{id}"))
        .with_language("en")
}

/// Users 1..=RELAY_USERS with open topics, then a desk over `store`.
async fn relay_desk(store: Arc<dyn Store>) -> Desk {
    for id in 1..=RELAY_USERS {
        let mut conversation = Conversation::new(profile(id), Timestamp(0));
        conversation.topic = Some(TopicId(1_000_000 + id));
        conversation.status = Status::UserAnswered;
        conversation.topic_name = Some(format!("🟪 User{id} Tester"));
        store
            .commit(Commit {
                conversation: Some(conversation),
                ..Commit::default()
            })
            .await
            .expect("seed");
    }
    let config = Config::builder(ChatId(-1_001))
        .welcome(Welcome::Off)
        .build()
        .expect("config");
    Desk::builder(
        config,
        store,
        Arc::new(NullTransport(AtomicI64::new(10_000_000))),
    )
    .build()
}

/// `total` relays spread over the users, each user's in order, all users at once.
async fn relay_burst(desk: &Desk, next_message: &AtomicI64, total: u64) -> Duration {
    let per_user = total.div_ceil(RELAY_USERS as u64);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(RELAY_USERS as usize);
    for id in 1..=RELAY_USERS {
        let desk = desk.clone();
        let first = next_message.fetch_add(per_user as i64, Ordering::Relaxed);
        tasks.push(tokio::spawn(async move {
            let profile = profile(id);
            for n in 0..per_user as i64 {
                let message = IncomingMessage::text(first + n, "hello, I need help");
                let outcome = desk
                    .handle(Event::UserMessage {
                        user: profile.clone(),
                        message,
                    })
                    .await
                    .expect("relay");
                assert_eq!(outcome, Outcome::Relayed);
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    // Scale to the exact count asked for (per_user rounds up).
    started
        .elapsed()
        .mul_f64(total as f64 / (per_user * RELAY_USERS as u64) as f64)
}

fn relays(c: &mut Criterion, runtime: &tokio::runtime::Runtime, schema_guard: &mut Vec<PgStore>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut stores: Vec<(&str, Arc<dyn Store>)> = Vec::new();
    runtime.block_on(async {
        stores.push(("MemoryStore", Arc::new(MemoryStore::new())));
        stores.push((
            "SqliteStore (file, synchronous=NORMAL)",
            Arc::new(
                SqliteStore::open(dir.path().join("relay.db"))
                    .await
                    .expect("sqlite"),
            ),
        ));
        stores.push((
            "SqliteStore (file, synchronous=FULL)",
            Arc::new(
                SqliteOptions::file(dir.path().join("relay-full.db"))
                    .synchronous(Synchronous::Full)
                    .open()
                    .await
                    .expect("sqlite"),
            ),
        ));
        let schema = format!("hotline_bench_relay_{}", std::process::id());
        let pg = PgOptions::new(pg_url())
            .schema(schema)
            .connect()
            .await
            .expect("PostgreSQL (set DATABASE_URL)");
        schema_guard.push(pg.clone());
        stores.push(("PgStore", Arc::new(pg)));
    });
    let mut group = c.benchmark_group("relay");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(6));
    for (name, store) in stores {
        let desk = runtime.block_on(relay_desk(store));
        let next_message = AtomicI64::new(1);
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iterations| {
                runtime
                    .block_on(relay_burst(
                        &desk,
                        &next_message,
                        iterations.max(RELAY_USERS as u64),
                    ))
                    .mul_f64(iterations as f64 / iterations.max(RELAY_USERS as u64) as f64)
            });
        });
    }
    group.finish();
}

/// A tiny xorshift: spread look-ups over the whole table without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: i64) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as i64
    }
}

const CONVERSATION_COLUMNS: &str = "INSERT INTO conversations (user_id, topic_id, status, \
     status_since, blocked, banned, first_name, last_name, username, language_code, \
     topic_name, welcome_pending) ";

async fn fill_sqlite(path: &std::path::Path, users: i64) -> SqliteStore {
    let (store, pool, count) = sqlite_beside_pool(path).await;
    if count != users {
        let started = Instant::now();
        let mut tx = pool.begin().await.expect("begin");
        sqlx::query("DELETE FROM conversations")
            .execute(&mut *tx)
            .await
            .expect("clear");
        for chunk in (1..=users).collect::<Vec<_>>().chunks(2_000) {
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(CONVERSATION_COLUMNS);
            insert.push_values(chunk, |mut row, &id| {
                row.push_bind(id)
                    .push_bind(id + 10)
                    .push("'user_answered'")
                    .push("1700000000")
                    .push("0")
                    .push("0")
                    .push_bind(format!("User{id}"))
                    .push("'Tester'")
                    .push_bind(format!("user_{id}"))
                    .push("'en'")
                    .push_bind(format!("🟪 User{id} Tester"))
                    .push("0");
            });
            insert.build().execute(&mut *tx).await.expect("insert");
        }
        tx.commit().await.expect("commit");
        println!(
            "lookup: stored {users} users in SQLite in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    pool.close().await;
    store
}

async fn fill_postgres(users: i64, schema: &str) -> PgStore {
    let (store, pool, count) = postgres_beside_pool(schema).await;
    if count != users {
        let started = Instant::now();
        let mut tx = pool.begin().await.expect("begin");
        sqlx::query("TRUNCATE conversations")
            .execute(&mut *tx)
            .await
            .expect("clear");
        for chunk in (1..=users).collect::<Vec<_>>().chunks(5_000) {
            let mut insert = sqlx::QueryBuilder::<sqlx::Postgres>::new(CONVERSATION_COLUMNS);
            insert.push_values(chunk, |mut row, &id| {
                row.push_bind(id)
                    .push_bind(id + 10)
                    .push("'user_answered'")
                    .push("1700000000")
                    .push("false")
                    .push("false")
                    .push_bind(format!("User{id}"))
                    .push("'Tester'")
                    .push_bind(format!("user_{id}"))
                    .push("'en'")
                    .push_bind(format!("🟪 User{id} Tester"))
                    .push("false");
            });
            insert.build().execute(&mut *tx).await.expect("insert");
        }
        tx.commit().await.expect("commit");
        sqlx::query("ANALYZE conversations")
            .execute(&pool)
            .await
            .expect("analyze");
        println!(
            "lookup: stored {users} users in PostgreSQL in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    pool.close().await;
    store
}

/// Holds a PM QoS request for 0 µs processor wake-up latency while alive (the kernel drops it
/// when the file is closed). Needs write access to `/dev/cpu_dma_latency` (root); without it the
/// bench runs anyway and says so.
struct WakeLatency {
    _held: Option<std::fs::File>,
}

impl WakeLatency {
    fn zero() -> Self {
        use std::io::Write;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/cpu_dma_latency")
            .and_then(|mut f| f.write_all(&0i32.to_ne_bytes()).map(|()| f));
        match file {
            Ok(file) => {
                println!(
                    "store bench: processors kept out of deep idle (/dev/cpu_dma_latency = 0)"
                );
                Self { _held: Some(file) }
            }
            Err(e) => {
                println!(
                    "store bench: could not hold /dev/cpu_dma_latency ({e}): figures include \
                     processor wake-ups"
                );
                Self { _held: None }
            }
        }
    }
}

/// A connection to PostgreSQL with the settings `PgOptions::connect` gives the store's own (the
/// URL, `application_name` `hotline`, the schema as `search_path`, sqlx's default statement
/// cache), opened on the calling runtime: the kind of connection a look-up runs on.
async fn floor_connection(schema: &str) -> sqlx::PgConnection {
    use sqlx::ConnectOptions;
    pg_url()
        .parse::<sqlx::postgres::PgConnectOptions>()
        .expect("url")
        .application_name("hotline")
        .options([("search_path", schema)])
        .connect()
        .await
        .expect("PostgreSQL")
}

/// `SELECT 1` as the store runs a read: a persistent (prepared) statement, one row fetched.
async fn select_one(conn: &mut sqlx::PgConnection) {
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(conn)
        .await
        .expect("SELECT 1");
    black_box(one);
}

/// PgStore's look-up of random users and PostgreSQL's own `SELECT 1` on `floor` (the round trip
/// no PostgreSQL read can beat), in turns: one of each, `samples` times, after 1,000 untimed
/// turns. Returns p50, p99 and p99.9 of the look-ups, then of the `SELECT 1`s.
async fn lookups_beside_floor(
    store: &PgStore,
    floor: &mut sqlx::PgConnection,
    users: i64,
    samples: usize,
) -> ([Duration; 3], [Duration; 3]) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut lookups = Vec::with_capacity(samples);
    let mut ones = Vec::with_capacity(samples);
    for turn in 0..1_000 + samples {
        let user = UserId(1 + rng.below(users));
        let started = Instant::now();
        let found = store.conversation(user).await.expect("lookup");
        let looked_up = started.elapsed();
        assert!(found.is_some());
        black_box(found);
        let started = Instant::now();
        select_one(floor).await;
        let one = started.elapsed();
        if turn >= 1_000 {
            lookups.push(looked_up);
            ones.push(one);
        }
    }
    (quantiles(lookups), quantiles(ones))
}

/// Prints PgStore's look-up and the floor measured beside it, and the ratio of their p99s.
fn report_beside_floor(
    runtime: &str,
    users: i64,
    samples: usize,
    (lookup, floor): ([Duration; 3], [Duration; 3]),
) {
    report("PgStore", runtime, users, samples, lookup);
    let [p50, p99, p999] = floor.map(|d| d.as_secs_f64() * 1e6);
    println!(
        "lookup: PostgreSQL floor ({runtime}), {samples} `SELECT 1` in turns with the look-ups, \
         on a connection with PgStore's settings: p50 {p50:.1} µs, p99 {p99:.1} µs, \
         p99.9 {p999:.1} µs"
    );
    println!(
        "RATIO PgStore look-up p99 / SELECT 1 p99 ({runtime}): {:.2} (target <= 1.5); \
         p50s: {:.2}",
        lookup[1].as_secs_f64() / floor[1].as_secs_f64(),
        lookup[0].as_secs_f64() / floor[0].as_secs_f64(),
    );
}

fn quantiles(mut times: Vec<Duration>) -> [Duration; 3] {
    times.sort_unstable();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    [at(0.50), at(0.99), at(0.999)]
}

/// p50, p99 and p99.9 of `samples` sequential lookups of random users.
async fn percentiles(store: &dyn Store, users: i64, samples: usize) -> [Duration; 3] {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..1_000 {
        black_box(
            store
                .conversation(UserId(1 + rng.below(users)))
                .await
                .expect("warm"),
        );
    }
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let user = UserId(1 + rng.below(users));
        let started = Instant::now();
        let found = store.conversation(user).await.expect("lookup");
        times.push(started.elapsed());
        assert!(found.is_some());
    }
    quantiles(times)
}

fn report(name: &str, runtime: &str, users: i64, samples: usize, quantiles: [Duration; 3]) {
    let [p50, p99, p999] = quantiles.map(|d| d.as_secs_f64() * 1e6);
    println!(
        "lookup: {name} ({runtime}), {users} users, {samples} sequential lookups: \
         p50 {p50:.1} µs, p99 {p99:.1} µs, p99.9 {p999:.1} µs"
    );
}

fn lookups(c: &mut Criterion, runtime: &tokio::runtime::Runtime, full: bool) {
    let users: i64 = if full { 1_000_000 } else { 10_000 };
    let samples = if full { 100_000 } else { 1_000 };
    let (sqlite_path, schema) = if full {
        (
            data_dir().join("lookup-1m.db"),
            "hotline_bench_lookup".to_owned(),
        )
    } else {
        (
            data_dir().join(format!("lookup-test-{}.db", std::process::id())),
            format!("hotline_bench_lookup_test_{}", std::process::id()),
        )
    };
    let sqlite = runtime.block_on(fill_sqlite(&sqlite_path, users));
    let pg = runtime.block_on(fill_postgres(users, &schema));
    let stores: [(&str, Arc<dyn Store>); 2] = [
        ("SqliteStore", Arc::new(sqlite.clone())),
        ("PgStore", Arc::new(pg.clone())),
    ];
    // Sequential look-ups on the multi-threaded runtime the stores were opened on, then on a
    // current-thread runtime (no hop between the caller's thread and Tokio's workers: closer to
    // the store's own cost). The stores' connections are opened afresh for the second, as
    // connections belong to the runtime that opened them; so is the floor's, for each runtime.
    let [p50, p99, p999] = runtime.block_on(percentiles(&sqlite, users, samples));
    report(
        "SqliteStore",
        "multi-thread runtime",
        users,
        samples,
        [p50, p99, p999],
    );
    let beside = runtime.block_on(async {
        let mut floor = floor_connection(&schema).await;
        let beside = lookups_beside_floor(&pg, &mut floor, users, samples).await;
        let _ = sqlx::Connection::close(floor).await;
        beside
    });
    report_beside_floor("multi-thread runtime", users, samples, beside);
    let local = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    local.block_on(async {
        let sqlite_local = SqliteOptions::file(&sqlite_path)
            .exclusive(false)
            .open()
            .await
            .expect("sqlite");
        let pg_local = PgOptions::new(pg_url())
            .schema(schema.clone())
            .connect()
            .await
            .expect("PostgreSQL");
        let quantiles = percentiles(&sqlite_local, users, samples).await;
        report(
            "SqliteStore",
            "current-thread runtime",
            users,
            samples,
            quantiles,
        );
        let mut floor = floor_connection(&schema).await;
        let beside = lookups_beside_floor(&pg_local, &mut floor, users, samples).await;
        let _ = sqlx::Connection::close(floor).await;
        report_beside_floor("current-thread runtime", users, samples, beside);
        sqlite_local.close().await;
        pg_local.close().await;
    });
    let mut group = c.benchmark_group("lookup");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(4));
    for (name, store) in &stores {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        group.bench_function(BenchmarkId::new(*name, users), |b| {
            b.to_async(runtime).iter(|| {
                let user = UserId(1 + rng.below(users));
                let store = store.clone();
                async move { black_box(store.conversation(user).await.expect("lookup")) }
            });
        });
    }
    group.finish();
    if !full {
        runtime.block_on(async {
            sqlite.close().await;
            let _ = pg.drop_schema().await;
        });
        let _ = std::fs::remove_file(&sqlite_path);
        let _ = std::fs::remove_file(sqlite_path.with_extension("db-wal"));
        let _ = std::fs::remove_file(sqlite_path.with_extension("db-shm"));
        let _ = std::fs::remove_file(sqlite_path.with_extension("db-hotline-lock"));
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not: then run small.
    let full = std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default().configure_from_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let _awake = WakeLatency::zero();
    let mut relay_schemas = Vec::new();
    relays(&mut c, &runtime, &mut relay_schemas);
    // HOTLINE_BENCH_RELAY_ONLY=1 skips the look-ups (and their million-row setup).
    if std::env::var_os("HOTLINE_BENCH_RELAY_ONLY").is_none() {
        lookups(&mut c, &runtime, full);
    }
    runtime.block_on(async {
        for store in relay_schemas {
            let _ = store.drop_schema().await;
        }
    });
    c.final_summary();
}
