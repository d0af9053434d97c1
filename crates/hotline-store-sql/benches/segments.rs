//! Segment queries over 1,000,000 users (issue 18): `Store::segment_members` on SqliteStore
//! and PgStore, for the whole base (`all`), a tag carried by 1% (`#vip`) and combinations,
//! p50 and p99 of repeated runs.
//!
//! The users: every other one `de`, the rest `en`; 1% tagged `vip`, 10% `churned`; 0.1%
//! banned; last activity spread over 100 days. The databases are kept between runs
//! (`$CARGO_TARGET_TMPDIR/segments-1m.db`, schema `hotline_bench_segments`) and rebuilt only
//! when their row count is off. `cargo bench -p hotline-store-sql --bench segments`;
//! `SEGMENT_BENCH_SAMPLES` (default 30) runs per query. Under `cargo test --benches` it runs
//! once on 10,000 users.

#![allow(missing_docs)]

use hotline_core::segment::Segment;
use hotline_core::{Store, Timestamp};
use hotline_store_sql::{PgOptions, PgStore, SqliteStore};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// "Now" for the queries: the last activities lie in the 100 days before it.
const NOW: Timestamp = Timestamp(1_700_000_000 + 100 * 86_400);

fn pg_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn data_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// The users, in SQL both backends take (`n` is the user id, from a series).
const USERS_SELECT: &str = "SELECT n, CASE WHEN n % 3 = 0 THEN n + 10 ELSE NULL END, CASE WHEN n % 3 = 0 THEN 'closed' ELSE 'inactive' END, \
     1700000000, FALSE, n % 1000 = 0, 'User', NULL, NULL, CASE WHEN n % 2 = 0 THEN 'de' ELSE 'en' END, \
     NULL, NULL, FALSE, LAST, 1700000000 + (n % 100) * 86400, 1700000000";

const TAGS_SELECT: &str = "SELECT user_id, 'vip' FROM conversations WHERE user_id % 100 = 7 \
     UNION ALL SELECT user_id, 'churned' FROM conversations WHERE user_id % 10 = 3";

const COLUMNS: &str = "INSERT INTO conversations (user_id, topic_id, status, status_since, \
     blocked, banned, first_name, last_name, username, language_code, start_payload, topic_name, \
     welcome_pending, pending, last_active, first_seen) ";

async fn sqlite(users: i64, path: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::open(path).await.expect("sqlite");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("sqlite");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations")
        .fetch_one(&pool)
        .await
        .expect("count");
    if count != users {
        let started = Instant::now();
        for clear in ["DELETE FROM conversations", "DELETE FROM user_tags"] {
            sqlx::query(clear).execute(&pool).await.expect("clear");
        }
        let insert = format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {users}) \
             {COLUMNS} {} FROM s",
            USERS_SELECT.replace("LAST", "'[]'")
        );
        sqlx::query(sqlx::AssertSqlSafe(insert))
            .execute(&pool)
            .await
            .expect("users");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO user_tags (user_id, tag) {TAGS_SELECT}"
        )))
        .execute(&pool)
        .await
        .expect("tags");
        sqlx::query("ANALYZE")
            .execute(&pool)
            .await
            .expect("analyze");
        println!(
            "segments: stored {users} users in SQLite in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    // The floor: every id in one value, no condition, on a pool of sqlx's own.
    let mut times = Vec::new();
    for _ in 0..samples() {
        let started = Instant::now();
        let ids: String = sqlx::query_scalar(
            "SELECT json_group_array(user_id) FROM (SELECT user_id FROM conversations)",
        )
        .fetch_one(&pool)
        .await
        .expect("floor");
        let ids: Vec<i64> = serde_json::from_str(&ids).expect("ids");
        std::hint::black_box(ids);
        times.push(started.elapsed());
    }
    floor("SQLite", users, times);
    pool.close().await;
    store
}

fn samples() -> usize {
    std::env::var("SEGMENT_BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
}

fn floor(name: &str, users: i64, mut times: Vec<Duration>) {
    times.sort_unstable();
    println!(
        "segments: floor, {name}, {users} users, every id in one value with no condition: p50 {:.1} ms, p99 {:.1} ms",
        quantile(&times, 0.5).as_secs_f64() * 1e3,
        quantile(&times, 0.99).as_secs_f64() * 1e3,
    );
}

async fn postgres(users: i64, schema: &str) -> PgStore {
    let store = PgOptions::new(pg_url())
        .schema(schema)
        .connect()
        .await
        .expect("PostgreSQL (set DATABASE_URL)");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(
            pg_url()
                .parse::<sqlx::postgres::PgConnectOptions>()
                .expect("url")
                .options([("search_path", schema)]),
        )
        .await
        .expect("PostgreSQL");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations")
        .fetch_one(&pool)
        .await
        .expect("count");
    if count != users {
        let started = Instant::now();
        sqlx::query("TRUNCATE conversations, user_tags")
            .execute(&pool)
            .await
            .expect("clear");
        let insert = format!(
            "{COLUMNS} {} FROM generate_series(1, {users}) AS n",
            USERS_SELECT.replace("LAST", "'{}'::bigint[]")
        );
        sqlx::query(sqlx::AssertSqlSafe(insert))
            .execute(&pool)
            .await
            .expect("users");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO user_tags (user_id, tag) {TAGS_SELECT}"
        )))
        .execute(&pool)
        .await
        .expect("tags");
        // What autovacuum does after a bulk insert: statistics, and the pages marked visible
        // (index-only scans need that).
        sqlx::query("VACUUM ANALYZE conversations")
            .execute(&pool)
            .await
            .expect("vacuum");
        sqlx::query("VACUUM ANALYZE user_tags")
            .execute(&pool)
            .await
            .expect("vacuum");
        println!(
            "segments: stored {users} users in PostgreSQL in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let mut times = Vec::new();
    for _ in 0..samples() {
        let started = Instant::now();
        let mut ids: Vec<i64> =
            sqlx::query_scalar("SELECT COALESCE(array_agg(user_id), '{}') FROM conversations")
                .fetch_one(&pool)
                .await
                .expect("floor");
        ids.sort_unstable();
        std::hint::black_box(ids);
        times.push(started.elapsed());
    }
    floor("PostgreSQL", users, times);
    // The floor of a 1% tag: its users' rows read by id, no other condition.
    let tagged: Vec<i64> =
        sqlx::query_scalar("SELECT user_id FROM user_tags WHERE tag = 'vip' ORDER BY user_id")
            .fetch_all(&pool)
            .await
            .expect("tagged");
    let mut times = Vec::new();
    for _ in 0..samples() {
        let started = Instant::now();
        let mut ids: Vec<i64> = sqlx::query_scalar(
            "SELECT COALESCE(array_agg(user_id), '{}') FROM conversations \
             WHERE user_id = ANY($1)",
        )
        .bind(&tagged)
        .fetch_one(&pool)
        .await
        .expect("floor");
        ids.sort_unstable();
        std::hint::black_box(ids);
        times.push(started.elapsed());
    }
    floor(
        &format!("PostgreSQL, the {} rows of `#vip` by id,", tagged.len()),
        users,
        times,
    );
    pool.close().await;
    store
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn measure(name: &str, store: &dyn Store, users: i64, samples: usize) {
    for query in [
        "all",
        "#vip",
        "lang:de active:<30d",
        "#vip lang:de, #churned ~lang:de",
        "~#churned closed",
    ] {
        let segment = Segment::parse(query).expect("a segment");
        let mut times = Vec::with_capacity(samples);
        let mut members = 0;
        for _ in 0..samples {
            let started = Instant::now();
            members = store
                .segment_members(&segment, NOW)
                .await
                .expect("segment_members")
                .len();
            times.push(started.elapsed());
        }
        times.sort_unstable();
        println!(
            "segments: {name}, {users} users, `{query}`: {members} members, p50 {:.1} ms, p99 {:.1} ms ({samples} runs)",
            quantile(&times, 0.5).as_secs_f64() * 1e3,
            quantile(&times, 0.99).as_secs_f64() * 1e3,
        );
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let users: i64 = if full { 1_000_000 } else { 10_000 };
    let samples = if full { samples() } else { 2 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (path, schema) = if full {
        (
            data_dir().join("segments-1m.db"),
            "hotline_bench_segments".to_owned(),
        )
    } else {
        (
            data_dir().join(format!("segments-test-{}.db", std::process::id())),
            format!("hotline_bench_segments_test_{}", std::process::id()),
        )
    };
    runtime.block_on(async {
        let sqlite = sqlite(users, &path).await;
        measure("SqliteStore", &sqlite, users, samples).await;
        let pg = postgres(users, &schema).await;
        measure("PgStore", &pg, users, samples).await;
        if !full {
            sqlite.close().await;
            let _ = pg.drop_schema().await;
            for extension in ["db", "db-wal", "db-shm", "db-hotline-lock"] {
                let _ = std::fs::remove_file(path.with_extension(extension));
            }
        }
    });
}
