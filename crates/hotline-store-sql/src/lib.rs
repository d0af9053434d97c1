//! Durable stores for Hotline, on [sqlx](https://docs.rs/sqlx): [`SqliteStore`] (one file,
//! the embedded default) and [`PgStore`] (PostgreSQL, for several desk replicas). Both
//! implement [`hotline_core::Store`] and pass its conformance suite.
//!
//! - Every [`Commit`](hotline_core::store::Commit) is one database transaction: an event's
//!   effects and the record that it was handled land together, or not at all.
//! - A topic belongs to one user: a `UNIQUE` constraint refuses a second owner with
//!   [`StoreError::Conflict`], even across processes.
//! - Dead letters ([`Store::set_aside`]) live in a `dead_letters` table, one row per update
//!   key: setting an update aside again is one atomic upsert on that key, so two processes
//!   racing on it still keep one record, and exactly one of them is told it is new.
//! - The update log ([`Store::append_updates`]) is an `update_log` table numbered from a
//!   one-row `update_log_head` (kept when every row is pruned, so ids are never reused), with a
//!   cursor per consumer in `log_consumers`. An append is one transaction that holds the head
//!   (SQLite's write lock; on PostgreSQL a row lock taken by `hotline_append_updates`), so
//!   replicas appending at once still get gap-free ids in order and each upstream update once.
//! - Migrations are embedded in the binary and applied when a store is opened (forward-only).
//! - [`PgStore`] claims users across processes with PostgreSQL advisory locks, so two replicas
//!   never handle one user's events at the same time.
//!
//! A [`MessageLink`](hotline_core::MessageLink) is unique on both sides: per user on the
//! private-chat side, per backend group on the topic side. A new link replaces any stored link
//! it clashes with on either side (last write wins), so both look-ups always return the newest
//! pairing.
//!
//! Cargo features `sqlite` and `postgres` (both on by default) choose the backends. No TLS
//! library is compiled in.
//!
//! ```no_run
//! use hotline_core::{ChatId, Config, Desk, MemoryTransport};
//! use hotline_store_sql::SqliteStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Created if missing; migrations run now.
//! let store = SqliteStore::open("hotline.db").await?;
//! let config = Config::builder(ChatId(-1001234567890)).build()?;
//! let desk = Desk::new(config, store, MemoryTransport::new());
//! # let _ = desk;
//!
//! // Several replicas: one PostgreSQL for all of them.
//! # #[cfg(feature = "postgres")] {
//! let shared = hotline_store_sql::PgStore::connect("postgres://hotline@db.internal/hotline").await?;
//! # let _ = shared; }
//! # Ok(()) }
//! ```
//!
//! Operations (choosing a store, backups, migrations, replicas): `docs/operations.md`.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod archive_row;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod conns;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod error;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod mailing_row;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod outbox_row;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod row;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod segment_sql;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::{PgOptions, PgStore};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};

use hotline_core::{Store, StoreError};
use std::sync::Arc;

/// Opens the store a URL names: `sqlite://path/to/desk.db` (or `sqlite::memory:`) gives a
/// [`SqliteStore`], `postgres://...` / `postgresql://...` a [`PgStore`]. Migrations run before
/// it returns. Handy for a runner configured by one `DATABASE_URL`; errors never contain the
/// URL's password.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return Ok(Arc::new(SqliteStore::connect(url).await?));
    }
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PgStore::connect(url).await?));
    }
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    let compiled: Vec<&str> = vec![
        #[cfg(feature = "sqlite")]
        "sqlite:",
        #[cfg(feature = "postgres")]
        "postgres://",
    ];
    Err(StoreError::backend(format!(
        "no store for URL scheme {scheme:?} (compiled in: {})",
        compiled.join(", ")
    )))
}
