//! What the store benches share: where their databases are, and opening a store beside a
//! connection of sqlx's own on the same database, to load the rows fast and to time floors.

#![allow(dead_code, unreachable_pub)]

use hotline_store_sql::{PgOptions, PgStore, SqliteStore};
use std::path::{Path, PathBuf};

/// `DATABASE_URL`, or the local server's `test` database.
pub fn pg_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Where the SQLite files live between runs (`CARGO_TARGET_TMPDIR`).
pub fn data_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).expect("bench data directory");
    dir
}

/// The store on the SQLite file at `path` (its migrations run), a pool of sqlx's own on the same
/// file, and how many conversations it holds already.
pub async fn sqlite_beside_pool(path: &Path) -> (SqliteStore, sqlx::SqlitePool, i64) {
    let store = SqliteStore::open(path).await.expect("sqlite");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("sqlite");
    let count = sqlx::query_scalar("SELECT count(*) FROM conversations")
        .fetch_one(&pool)
        .await
        .expect("count");
    (store, pool, count)
}

/// The store on the PostgreSQL schema `schema` (its migrations run), one connection of sqlx's
/// own on the same schema, and how many conversations it holds already.
pub async fn postgres_beside_pool(schema: &str) -> (PgStore, sqlx::PgPool, i64) {
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
    let count = sqlx::query_scalar("SELECT count(*) FROM conversations")
        .fetch_one(&pool)
        .await
        .expect("count");
    (store, pool, count)
}
