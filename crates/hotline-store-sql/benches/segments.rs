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
mod common;

use common::{data_dir, postgres_beside_pool, sqlite_beside_pool};
use hotline_store_sql::{PgStore, SqliteStore};
use std::path::Path;
use std::time::{Duration, Instant};

/// "Now" for the queries: the last activities lie in the 100 days before it.
const NOW: Timestamp = Timestamp(1_700_000_000 + 100 * 86_400);

/// The users, in SQL both backends take (`n` is the user id, from a series).
const USERS_SELECT: &str = "SELECT n, CASE WHEN n % 3 = 0 THEN n + 10 ELSE NULL END, CASE WHEN n % 3 = 0 THEN 'closed' ELSE 'inactive' END, \
     1700000000, FALSE, n % 1000 = 0, 'User', NULL, NULL, CASE WHEN n % 2 = 0 THEN 'de' ELSE 'en' END, \
     NULL, NULL, FALSE, LAST, 1700000000 + (n % 100) * 86400, 1700000000";

const TAGS_SELECT: &str = "SELECT user_id, 'vip' FROM conversations WHERE user_id % 100 = 7 \
     UNION ALL SELECT user_id, 'churned' FROM conversations WHERE user_id % 10 = 3";

const COLUMNS: &str = "INSERT INTO conversations (user_id, topic_id, status, status_since, \
     blocked, banned, first_name, last_name, username, language_code, start_payload, topic_name, \
     welcome_pending, pending, last_active, first_seen) ";

async fn sqlite(users: i64, path: &Path, samples: usize) -> SqliteStore {
    let (store, pool, count) = sqlite_beside_pool(path).await;
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
    let (times, ()) = timed(samples, || async {
        let ids: String = sqlx::query_scalar(
            "SELECT json_group_array(user_id) FROM (SELECT user_id FROM conversations)",
        )
        .fetch_one(&pool)
        .await
        .expect("floor");
        let ids: Vec<i64> = serde_json::from_str(&ids).expect("ids");
        std::hint::black_box(ids);
    })
    .await;
    println!(
        "segments: floor, SQLite, {users} users, every id in one value with no condition: {times}"
    );
    pool.close().await;
    store
}

fn samples() -> usize {
    std::env::var("SEGMENT_BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
}

/// The p50 and p99 of some runs' times, as printed.
struct Times(Vec<Duration>);

impl std::fmt::Display for Times {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let quantile = |q: f64| {
            let rank = ((self.0.len() as f64 - 1.0) * q).round() as usize;
            self.0[rank.min(self.0.len() - 1)].as_secs_f64() * 1e3
        };
        write!(
            f,
            "p50 {:.1} ms, p99 {:.1} ms",
            quantile(0.5),
            quantile(0.99)
        )
    }
}

/// Runs `run` `samples` times, one after another: their times, and what the last run returned.
async fn timed<T, F, Fut>(samples: usize, mut run: F) -> (Times, T)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut times = Vec::with_capacity(samples);
    let mut last = None;
    for _ in 0..samples.max(1) {
        let started = Instant::now();
        last = Some(run().await);
        times.push(started.elapsed());
    }
    times.sort_unstable();
    (Times(times), last.expect("at least one run"))
}

async fn postgres(users: i64, schema: &str, samples: usize) -> PgStore {
    let (store, pool, count) = postgres_beside_pool(schema).await;
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
    let (times, ()) = timed(samples, || async {
        let mut ids: Vec<i64> =
            sqlx::query_scalar("SELECT COALESCE(array_agg(user_id), '{}') FROM conversations")
                .fetch_one(&pool)
                .await
                .expect("floor");
        ids.sort_unstable();
        std::hint::black_box(ids);
    })
    .await;
    println!(
        "segments: floor, PostgreSQL, {users} users, every id in one value with no condition: {times}"
    );
    // The floor of a 1% tag: its users' rows read by id, no other condition.
    let tagged: Vec<i64> =
        sqlx::query_scalar("SELECT user_id FROM user_tags WHERE tag = 'vip' ORDER BY user_id")
            .fetch_all(&pool)
            .await
            .expect("tagged");
    let (times, ()) = timed(samples, || async {
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
    })
    .await;
    println!(
        "segments: floor, PostgreSQL, {users} users, the {} rows of `#vip` by id: {times}",
        tagged.len()
    );
    pool.close().await;
    store
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
        let (times, members) = timed(samples, || async {
            store
                .segment_members(&segment, NOW)
                .await
                .expect("segment_members")
                .len()
        })
        .await;
        println!(
            "segments: {name}, {users} users, `{query}`: {members} members, {times} ({samples} runs)"
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
        let sqlite = sqlite(users, &path, samples).await;
        measure("SqliteStore", &sqlite, users, samples).await;
        let pg = postgres(users, &schema, samples).await;
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
