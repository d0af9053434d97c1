//! [`SqliteStore`]: the desk's state in one SQLite file (WAL), for a bot run as one process.

use crate::archive_row::{ArchiveRow, archive_columns, archived_from_row, entities_column};
use crate::conns::{Conns, on_lease};
use crate::error::{self, backend};
use crate::mailing_row::{
    MailingRow, RECIPIENTS_PER_STATEMENT, content_column, counts_from_rows, ids_json,
    mailing_columns, mailing_from_row,
};
use crate::outbox_row::{OutboxRow, outbox_columns, outbox_from_row};
use crate::row::{
    ConsumerRow, ConversationRow, DeadLetterRow, LinkRow, LogHeadRow, LoggedRow, MAX_ATTEMPTS,
    consumer_columns, consumer_from_row, conversation_columns, conversation_from_row,
    dead_letter_columns, dead_letter_from_row, explain_conflict, link_from_row, log_head_from_row,
    logged_columns, logged_from_row, pending_ids, sql_limit, stored_tag,
};
use crate::segment_sql::{Bound, Dialect, members_query};
use async_trait::async_trait;
use hotline_core::segment::Segment;
use hotline_core::store::{
    ArchiveId, ArchiveRecord, Archived, Commit, Consumer, Conversation, DeadLetter, DeadLetterId,
    Fetched, LogHead, LogId, Logged, MessageLink, NewDeadLetter, NewOutboxEntry, OutboxEntry,
    OutboxId, SetAside, Status, Tag,
};
use hotline_core::store::{Delivery, Mailing, MailingCounts, MailingId, MailingState, Panel};
use hotline_core::{EventKey, MessageId, Store, StoreError, Timestamp, TopicId, UserId};
use sqlx::Arguments;
use sqlx::ConnectOptions;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::Sqlite;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a read waits for a free reader connection before failing (sqlx's pool default).
const READ_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `$run` on a connection for reading from `$store` (bound to `$conn`): one leased from the
/// readers, handed back (or closed) according to the result (see [`crate::conns::Lease`]); or,
/// in memory, the single connection of the writer pool.
macro_rules! on_reader {
    ($store:expr, |$conn:ident| $run:expr) => {
        async {
            match &$store.readers {
                Some(readers) => on_lease!(readers, |$conn| $run).await,
                None => {
                    let mut pooled = $store.writer.acquire().await?;
                    let $conn = &mut *pooled;
                    $run.await
                }
            }
        }
    };
}

/// How hard SQLite works to keep a commit through a crash; see [`SqliteOptions::synchronous`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// `PRAGMA synchronous = NORMAL` (the default). With WAL, a commit is durable once the call
    /// returns as far as the *process* is concerned: a crash, a panic or `SIGKILL` of the bot loses
    /// nothing. Only a power cut or kernel crash may roll back the last commits (the WAL is
    /// fsynced at checkpoints, not at every commit). The database is never corrupted either way.
    #[default]
    Normal,
    /// `PRAGMA synchronous = FULL`: the WAL is fsynced on every commit, so commits also survive a
    /// power cut, at the price of one fsync per commit, which bounds commits per second by how fast
    /// the disk flushes (`docs/benchmarks.md` has both modes' relay rates).
    Full,
}

/// Settings for a [`SqliteStore`]; [`SqliteOptions::open`] opens it.
#[derive(Debug, Clone)]
#[must_use]
pub struct SqliteOptions {
    base: SqliteConnectOptions,
    in_memory: bool,
    synchronous: Synchronous,
    busy_timeout: Duration,
    readers: u32,
    exclusive: bool,
    cache: usize,
}

impl SqliteOptions {
    /// A database file at `path`, created (with its directory's permissions) if missing.
    pub fn file(path: impl AsRef<Path>) -> Self {
        Self::with_base(SqliteConnectOptions::new().filename(path.as_ref()), false)
    }

    /// A private database in memory: gone when the store is dropped. For tests.
    pub fn in_memory() -> Self {
        Self::with_base(SqliteConnectOptions::new().in_memory(true), true)
    }

    /// From an sqlx SQLite URL: `sqlite://path/to/desk.db`, `sqlite:desk.db`, `sqlite::memory:`.
    /// Query parameters sqlx knows (`?mode=rwc`, ...) are honoured; the settings below are
    /// applied on top.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let base = SqliteConnectOptions::from_str(url)
            .map_err(|e| error::connecting(url, "parsing the SQLite URL", e))?;
        let rest = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let in_memory = rest.starts_with(":memory:") || rest.contains("mode=memory");
        Ok(Self::with_base(base, in_memory))
    }

    fn with_base(base: SqliteConnectOptions, in_memory: bool) -> Self {
        Self {
            base,
            in_memory,
            synchronous: Synchronous::default(),
            busy_timeout: Duration::from_secs(5),
            readers: 4,
            exclusive: true,
            cache: 100_000,
        }
    }

    /// How commits are flushed to disk (default [`Synchronous::Normal`]).
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// How long a statement waits for a lock held by another connection (another process, a
    /// backup) before failing (default 5 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How many connections serve reads concurrently (default 4; at least 1). Writes always go
    /// through one connection, so they never wait on each other's locks.
    pub fn readers(mut self, readers: u32) -> Self {
        self.readers = readers.max(1);
        self
    }

    /// Whether the store refuses a database file that another live store (in this or another
    /// process) holds open (default `true`). The desk's per-user ordering across processes
    /// needs claims, which SQLite does not have: two desks on one file could handle one user's
    /// messages at the same time. The lock is an OS file lock on `<file>-hotline-lock`,
    /// released when the store is dropped or the process dies (even by `SIGKILL`).
    pub fn exclusive(mut self, exclusive: bool) -> Self {
        self.exclusive = exclusive;
        self
    }

    /// How many conversations the store keeps in memory (default 100,000; 0 turns the cache
    /// off). The cache is write-through and filled by commits only, never by reads, so it only
    /// ever holds what this store itself wrote last; a relay to a cached user skips one
    /// database read. It is off when [`SqliteOptions::exclusive`] is off, since another store
    /// could then change the file behind it. About 300 bytes per entry.
    pub fn cache_capacity(mut self, entries: usize) -> Self {
        self.cache = entries;
        self
    }

    /// Opens the database (creating the file if missing), applies the pending migrations, and
    /// returns the store.
    pub async fn open(self) -> Result<SqliteStore, StoreError> {
        let synchronous = match self.synchronous {
            Synchronous::Normal => SqliteSynchronous::Normal,
            Synchronous::Full => SqliteSynchronous::Full,
        };
        let options = self
            .base
            .create_if_missing(true)
            .busy_timeout(self.busy_timeout)
            .synchronous(synchronous)
            // Reads straight from the OS page cache (shared by every connection) instead of a
            // read() into each connection's own 2 MB page cache: with a million users the
            // table no longer fits the latter, and every miss was a syscall.
            .pragma("mmap_size", "268435456");
        let store = if self.in_memory {
            // Every connection to `:memory:` is a database of its own: one connection, kept
            // forever, serves reads and writes.
            let pool = SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await
                .map_err(|e| backend("opening the in-memory SQLite database", e))?;
            SqliteStore {
                readers: None,
                writer: pool,
                commit_turn: Arc::default(),
                path: None,
                _lock: None,
                cache: Arc::new(Cache::new(self.cache)),
            }
        } else {
            let options = options.journal_mode(SqliteJournalMode::Wal);
            let path = options.get_filename().to_path_buf();
            let lock = if self.exclusive {
                Some(Arc::new(lock_file(&path)?))
            } else {
                None
            };
            let open_error = |e| {
                backend(
                    &format!("opening the SQLite database {}", path.display()),
                    e,
                )
            };
            // One writer: SQLite lets one transaction write at a time anyway, and queuing in
            // the pool is cheaper than spinning on SQLITE_BUSY.
            let writer = SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(1)
                .connect_with(options.clone())
                .await
                .map_err(open_error)?;
            // Reads on a lean stack of connections rather than a pool (see `crate::conns`): a
            // pooled connection goes back through a spawned task, a wake-up of another thread
            // per read. Each reader is opened with `options`, so it gets every pragma above.
            // One is opened now, so that an unreadable file fails here.
            let probe = options.connect().await.map_err(open_error)?;
            let readers = Conns::new(options, self.readers, READ_ACQUIRE_TIMEOUT);
            readers.adopt(probe);
            SqliteStore {
                readers: Some(readers),
                writer,
                commit_turn: Arc::default(),
                path: Some(path),
                _lock: lock,
                cache: Arc::new(Cache::new(if self.exclusive { self.cache } else { 0 })),
            }
        };
        MIGRATOR
            .run(&store.writer)
            .await
            .map_err(|e| StoreError::backend("migrating the SQLite database").caused_by(e))?;
        Ok(store)
    }
}

/// A [`Store`] in a SQLite database: the embedded default, for a bot that runs as **one
/// process**.
///
/// The file is opened in WAL mode (readers never block the writer) with `synchronous = NORMAL`
/// by default (see [`Synchronous`] for the trade-off), a busy timeout of 5 s and reads through
/// `mmap`. Writes go through a single connection, one query per commit (BEGIN IMMEDIATE ...
/// COMMIT); reads through a few connections of their own ([`SqliteOptions::readers`]), kept
/// on a bare stack rather than in a pool (no task spawned per read). Conversations this store
/// committed are kept in a write-through cache ([`SqliteOptions::cache_capacity`]). Migrations
/// run when the store opens.
///
/// [`Store::claim_user`] is the default no-op: within one process the desk already orders each
/// user's events. So one file serves one store: opening a file that another live store holds
/// fails (see [`SqliteOptions::exclusive`]); use [`crate::PgStore`] for several replicas.
///
/// Cloning is cheap and shares the connections.
#[derive(Clone)]
pub struct SqliteStore {
    /// The connections reads run on; `None` in memory, where reads share the writer's single
    /// connection (every `:memory:` connection is a database of its own).
    readers: Option<Conns<SqliteConnection>>,
    writer: SqlitePool,
    /// Taken by a conversation commit for as long as it waits for and holds the writer, so at
    /// most one of them is ever queued on the writer's pool. The pool serves its queue in
    /// order: without this, a burst of the desk's commits (one per update in hand, up to a
    /// window of them) would queue ahead of the update log's appends and cursor moves, and a
    /// bot behind the gateway would wait for the desk's whole backlog at every poll. Every
    /// other write goes to the pool directly, behind at most the one commit under way.
    commit_turn: Arc<tokio::sync::Mutex<()>>,
    path: Option<PathBuf>,
    /// Held open (and locked) while any clone of the store lives.
    _lock: Option<Arc<std::fs::File>>,
    cache: Arc<Cache>,
}

/// The conversations this store committed last, by user.
///
/// Why it cannot go stale: every commit goes through the single writer connection and
/// updates the cache while it still holds that connection, so cache updates happen in the
/// order the database applied the commits. A commit first removes the user's entry and puts
/// the new one back only once the database has it; a commit that fails, or is cancelled
/// mid-way, leaves no entry and reads fall through to the database. Reads never fill it (a
/// read racing a commit could otherwise put back an older value).
#[derive(Debug)]
struct Cache {
    capacity: usize,
    entries: std::sync::Mutex<std::collections::HashMap<UserId, Conversation>>,
}

impl Cache {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: std::sync::Mutex::default(),
        }
    }

    fn entries(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<UserId, Conversation>> {
        // Every critical section is a single map operation: a poisoned map is still whole.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, user: UserId) -> Option<Conversation> {
        if self.capacity == 0 {
            return None;
        }
        self.entries().get(&user).cloned()
    }

    fn forget(&self, user: UserId) {
        if self.capacity > 0 {
            self.entries().remove(&user);
        }
    }

    fn put(&self, conversation: &Conversation) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= self.capacity && !entries.contains_key(&conversation.user) {
            // Dropping entries is always safe; a full cache starts over.
            entries.clear();
        }
        entries.insert(conversation.user, conversation.clone());
    }
}

/// Takes the exclusive lock that keeps a second store off the database file at `path`.
fn lock_file(path: &Path) -> Result<std::fs::File, StoreError> {
    let mut name = path.as_os_str().to_owned();
    name.push("-hotline-lock");
    let lock_path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| {
            StoreError::backend(format!("opening the lock file {}", lock_path.display()))
                .caused_by(e)
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::backend(format!(
            "the SQLite database {} is in use by another desk (lock file {}): run one process \
             per SQLite file, or use PostgreSQL for several replicas",
            path.display(),
            lock_path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(StoreError::backend(format!("locking {}", lock_path.display())).caused_by(e))
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (or creates) the database file at `path` with the default settings, running the
    /// migrations it lacks.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        SqliteOptions::file(path).open().await
    }

    /// Opens the database named by an sqlx SQLite URL (`sqlite://desk.db`, `sqlite::memory:`),
    /// creating it if missing, running the migrations it lacks.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        SqliteOptions::from_url(url)?.open().await
    }

    /// An empty database in memory, gone when the store is dropped. For tests.
    pub async fn in_memory() -> Result<Self, StoreError> {
        SqliteOptions::in_memory().open().await
    }

    /// The database file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Writes a consistent copy of the database to `path` (`VACUUM INTO`) while the desk keeps
    /// running: an online backup. `path` must not exist yet.
    pub async fn backup_to(&self, path: impl AsRef<Path>) -> Result<(), StoreError> {
        let target = path.as_ref().to_str().ok_or_else(|| {
            StoreError::backend(format!(
                "backup path {} is not valid UTF-8",
                path.as_ref().display()
            ))
        })?;
        on_reader!(self, |conn| sqlx::query("VACUUM INTO ?1")
            .bind(target)
            .execute(conn))
        .await
        .map_err(|e| backend("backing up the SQLite database", e))?;
        Ok(())
    }

    /// Forgets the keys of events handled before `before` (wall-clock time of recording), and
    /// says how many were removed. Telegram redelivers an update for at most 24 hours, so keys
    /// older than a few days are dead weight.
    pub async fn forget_processed_before(&self, before: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM processed WHERE recorded_at < ?1")
            .bind(before.0)
            .execute(&self.writer)
            .await
            .map_err(|e| backend("pruning processed keys", e))?;
        Ok(done.rows_affected())
    }

    /// Closes every connection (after checkpointing the WAL into the file). Further use fails.
    pub async fn close(&self) {
        if let Some(readers) = &self.readers {
            readers.close().await;
        }
        self.writer.close().await;
    }

    async fn apply(&self, commit: &Commit) -> Result<(), sqlx::Error> {
        // The whole commit is one multi-statement query, so the body costs one hop to SQLite's
        // worker thread whatever it holds, instead of one per statement. Parameters are plain
        // `?`, bound in order: sqlx hands each statement the next ones. (Numbered `?NNN` would
        // not do: a statement using ?15 has 15 parameter slots for sqlx, and the next
        // statement's arguments shift.)
        let mut sql = String::new();
        let mut arguments = SqliteArguments::default();
        let bind = |arguments: &mut SqliteArguments, value: Value<'_>| match value {
            Value::Int(v) => arguments.add(v),
            Value::OptInt(v) => arguments.add(v),
            Value::Text(v) => arguments.add(v.to_owned()),
            Value::OptText(v) => arguments.add(v.map(str::to_owned)),
            Value::Bool(v) => arguments.add(v),
        };
        if let Some(c) = &commit.conversation {
            let pending = serde_json::to_string(&pending_ids(c))
                .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            sql.push_str(UPSERT_CONVERSATION);
            for value in [
                Value::Int(c.user.0),
                Value::OptInt(c.topic.map(|t| t.0)),
                Value::Text(c.status.as_str()),
                Value::Int(c.status_since.0),
                Value::Bool(c.blocked),
                Value::Bool(c.banned),
                Value::Text(&c.profile.first_name),
                Value::OptText(c.profile.last_name.as_deref()),
                Value::OptText(c.profile.username.as_deref()),
                Value::OptText(c.profile.language_code.as_deref()),
                Value::OptText(c.start_payload.as_deref()),
                Value::OptText(c.topic_name.as_deref()),
                Value::Bool(c.welcome_pending),
                Value::Text(&pending),
                Value::Int(c.last_active.0),
                Value::Int(c.first_seen.0),
            ] {
                bind(&mut arguments, value).map_err(sqlx::Error::Encode)?;
            }
        }
        for link in &commit.links {
            // REPLACE deletes every row the new link clashes with, on either unique key, then
            // inserts it: last write wins on both sides.
            sql.push_str(
                "INSERT OR REPLACE INTO links (user_id, user_message, topic_message, origin) \
                 VALUES (?, ?, ?, ?);\n",
            );
            for value in [
                Value::Int(link.user.0),
                Value::Int(link.user_message.0),
                Value::Int(link.topic_message.0),
                Value::Text(link.origin.as_str()),
            ] {
                bind(&mut arguments, value).map_err(sqlx::Error::Encode)?;
            }
        }
        if let Some(key) = &commit.processed {
            sql.push_str(
                // Not `OR IGNORE`: that would also swallow a NOT NULL violation.
                "INSERT INTO processed (kind, chat, message, version) \
                 VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING;\n",
            );
            for value in [
                Value::Text(key.kind.as_str()),
                Value::Int(key.chat),
                Value::Int(key.message),
                Value::Int(key.version),
            ] {
                bind(&mut arguments, value).map_err(sqlx::Error::Encode)?;
            }
        }
        // The transaction is part of the same query: BEGIN, body and COMMIT in one hop to the
        // writer's thread. BEGIN IMMEDIATE takes the write lock up front: a deferred
        // transaction that read first could fail with SQLITE_BUSY on upgrade instead of waiting
        // (another process, a backup).
        let sql = format!("BEGIN IMMEDIATE;\n{sql}COMMIT;");
        let _turn = self.commit_turn.lock().await;
        let mut writer = WriteGuard {
            conn: Some(self.writer.acquire().await?),
            settled: false,
        };
        let Some(conn) = writer.conn.as_deref_mut() else {
            return Err(sqlx::Error::PoolClosed);
        };
        if let Some(c) = &commit.conversation {
            self.cache.forget(c.user);
        }
        // Only our own fixed fragments and `?` placeholders: every value is bound.
        let result = sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments)
            .execute(&mut *conn)
            .await;
        if result.is_err() {
            // A statement failed (a constraint): nothing after it ran, COMMIT included. Roll
            // back whatever the transaction holds; an error here means none was open.
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        }
        if result.is_ok()
            && let Some(c) = &commit.conversation
        {
            // Still holding the writer: cache updates follow the database's commit order.
            self.cache.put(c);
        }
        writer.settled = true;
        result.map(|_| ())
    }

    /// The conversation `select` finds by its one parameter, `key` (a unique column); `what`
    /// names the read in an error.
    async fn conversation_where(
        &self,
        select: &'static str,
        key: i64,
        what: &'static str,
    ) -> Result<Option<Conversation>, StoreError> {
        let row: Option<ConversationRow<String>> = on_reader!(self, |conn| sqlx::query_as(select)
            .bind(key)
            .fetch_optional(conn))
        .await
        .map_err(|e| backend(what, e))?;
        row.map(decode).transpose()
    }

    /// [`Store::set_aside`] in one transaction on the writer. `BEGIN IMMEDIATE` takes the
    /// database's write lock before the look-up, so no other writer (another store on the file,
    /// in this process or another) can add or remove the key between the look-up that tells
    /// whether the record is new and the upsert. Dropped half-way, the transaction rolls back.
    async fn upsert_dead_letter(&self, letter: &NewDeadLetter) -> Result<SetAside, sqlx::Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM dead_letters WHERE key = ?1")
                .bind(letter.key.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let id: i64 = sqlx::query_scalar(UPSERT_DEAD_LETTER)
            .bind(letter.key.as_str())
            .bind(letter.user.map(|u| u.0))
            .bind(letter.payload.as_str())
            .bind(letter.error.as_str())
            .bind(i64::from(letter.attempts))
            .bind(letter.first_failed.0)
            .bind(letter.last_failed.0)
            .bind(MAX_ATTEMPTS)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(SetAside {
            id: DeadLetterId(id),
            created: existing.is_none(),
        })
    }

    /// [`Store::append_updates`] in one transaction on the writer; `None` when the new updates
    /// would take ids past [`LogId::MAX`] (rolled back: nothing written). `BEGIN IMMEDIATE`
    /// takes the write lock before the head and the upstream ids are read, so no other writer
    /// (another store on the file) can hand out the same ids or log the same update in between.
    /// Dropped half-way, the transaction rolls back.
    async fn append_on_writer(
        &self,
        updates: &[Fetched],
        received: Timestamp,
    ) -> Result<Option<Vec<LogId>>, sqlx::Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // The head and the batch's updates logged already, in one statement (one hop to
        // SQLite's worker thread): the head is the row without an upstream id. The upstream
        // ids go as one JSON array: prepared once whatever the batch's size, and no limit on
        // bound parameters.
        let upstream =
            serde_json::to_string(&updates.iter().map(|u| u.upstream_id).collect::<Vec<i64>>())
                .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let rows: Vec<(Option<i64>, i64)> = sqlx::query_as(
            "SELECT NULL, last_id FROM update_log_head \
             UNION ALL SELECT upstream_id, id FROM update_log \
             WHERE upstream_id IN (SELECT value FROM json_each(?1))",
        )
        .bind(upstream)
        .fetch_all(&mut *tx)
        .await?;
        let last_id = rows
            .iter()
            .find(|(upstream, _)| upstream.is_none())
            .map(|(_, id)| *id)
            .ok_or(sqlx::Error::RowNotFound)?;
        let mut known: std::collections::HashMap<i64, i64> = rows
            .into_iter()
            .filter_map(|(upstream, id)| Some((upstream?, id)))
            .collect();
        let mut next = last_id;
        let mut fresh: Vec<(i64, &Fetched)> = Vec::new();
        let mut ids = Vec::with_capacity(updates.len());
        for update in updates {
            // Given twice in one batch: the second is the first's.
            let id = *known.entry(update.upstream_id).or_insert_with(|| {
                next += 1;
                fresh.push((next, update));
                next
            });
            ids.push(LogId(id));
        }
        let Some(&(last, last_update)) = fresh.last() else {
            // Everything was logged already: nothing to write.
            tx.commit().await?;
            return Ok(Some(ids));
        };
        if last > LogId::MAX.0 {
            tx.rollback().await?;
            return Ok(None);
        }
        // A multi-row INSERT per chunk, the last one with the head's update: one hop to SQLite's
        // worker thread per chunk instead of one per update. The text varies with the batch's
        // size, so it is not kept among the connection's prepared statements (it would push
        // the commits' out).
        let chunks = fresh.chunks(ROWS_PER_INSERT);
        let count = chunks.len();
        for (i, chunk) in chunks.enumerate() {
            let mut sql =
                String::from("INSERT INTO update_log (id, upstream_id, payload, received) VALUES ");
            let mut arguments = SqliteArguments::default();
            for (j, (id, update)) in chunk.iter().enumerate() {
                sql.push_str(if j == 0 {
                    "(?, ?, ?, ?)"
                } else {
                    ", (?, ?, ?, ?)"
                });
                arguments.add(*id).map_err(sqlx::Error::Encode)?;
                arguments
                    .add(update.upstream_id)
                    .map_err(sqlx::Error::Encode)?;
                arguments
                    .add(update.payload.as_str())
                    .map_err(sqlx::Error::Encode)?;
                arguments.add(received.0).map_err(sqlx::Error::Encode)?;
            }
            sql.push_str(";\n");
            if i + 1 == count {
                sql.push_str("UPDATE update_log_head SET last_id = ?, last_upstream_id = ?;\n");
                arguments.add(last).map_err(sqlx::Error::Encode)?;
                arguments
                    .add(last_update.upstream_id)
                    .map_err(sqlx::Error::Encode)?;
            }
            // Only our own fixed fragments and `?` placeholders: every value is bound.
            sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments)
                .persistent(false)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(ids))
    }

    async fn topic_owner(&self, topic: Option<TopicId>) -> Option<i64> {
        let topic = topic?;
        on_reader!(self, |conn| sqlx::query_scalar(
            "SELECT user_id FROM conversations WHERE topic_id = ?1"
        )
        .bind(topic.0)
        .fetch_optional(conn))
        .await
        .ok()
        .flatten()
    }
}

/// The writer connection during a commit. Dropped before the commit settled (the caller's
/// future was cancelled mid-query), it rolls back whatever transaction the connection may be
/// left in before the connection goes back to the pool; with no runtime to do that on, the
/// connection is closed instead (SQLite rolls back on close).
struct WriteGuard {
    conn: Option<PoolConnection<Sqlite>>,
    settled: bool,
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if self.settled {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    // Queued behind the interrupted query on the connection's thread.
                    if let Err(sqlx::Error::Database(e)) =
                        sqlx::query("ROLLBACK").execute(&mut *conn).await
                        && !e.message().contains("no transaction is active")
                    {
                        conn.close_on_drop();
                    }
                });
            }
            Err(_) => conn.close_on_drop(),
        }
    }
}

/// How many updates one `INSERT` of [`SqliteStore::append_on_writer`] carries (4 parameters
/// each, far below SQLite's limit on bound parameters).
const ROWS_PER_INSERT: usize = 200;

/// Registers a consumer unless it is: parameters name, start. Returns the new row, or nothing
/// when the name was taken (then the stored row is read: consumers are never removed).
const INSERT_CONSUMER: &str = concat!(
    "INSERT INTO log_consumers (name, confirmed) VALUES (?1, ?2) \
     ON CONFLICT (name) DO NOTHING RETURNING ",
    consumer_columns!()
);

/// A value bound into a commit.
enum Value<'a> {
    Int(i64),
    OptInt(Option<i64>),
    Text(&'a str),
    OptText(Option<&'a str>),
    Bool(bool),
}

/// The conversation upsert, 15 parameters in column order.
const UPSERT_CONVERSATION: &str = concat!(
    "INSERT INTO conversations (",
    conversation_columns!(),
    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (user_id) DO UPDATE SET \
     topic_id = excluded.topic_id, status = excluded.status, \
     status_since = excluded.status_since, blocked = excluded.blocked, \
     banned = excluded.banned, first_name = excluded.first_name, \
     last_name = excluded.last_name, username = excluded.username, \
     language_code = excluded.language_code, start_payload = excluded.start_payload, \
     topic_name = excluded.topic_name, welcome_pending = excluded.welcome_pending, \
     pending = excluded.pending, last_active = excluded.last_active;\n"
);

/// The dead-letter upsert: parameters key, user_id, payload, error, attempts, first_failed,
/// last_failed, then the attempt ceiling. A record with the key absorbs the new one as
/// `DeadLetter::absorb` does. (Unqualified names in `SET` are the stored row's.)
const UPSERT_DEAD_LETTER: &str = "\
    INSERT INTO dead_letters \
        (key, user_id, payload, error, attempts, first_failed, last_failed) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
    ON CONFLICT (key) DO UPDATE SET \
        attempts = min(attempts + excluded.attempts, ?8), \
        first_failed = min(first_failed, excluded.first_failed), \
        last_failed = max(last_failed, excluded.last_failed), \
        error = excluded.error, \
        payload = excluded.payload, \
        user_id = coalesce(excluded.user_id, user_id) \
    RETURNING id";

fn decode(row: ConversationRow<String>) -> Result<Conversation, StoreError> {
    let user = row.0;
    let pending: Vec<i64> = serde_json::from_str(&row.13).map_err(|e| {
        StoreError::corrupt(format!("user {user} has unreadable pending messages")).caused_by(e)
    })?;
    let (a, b, c, d, e, f, g, h, i, j, k, l, m, _, n, o) = row;
    conversation_from_row((a, b, c, d, e, f, g, h, i, j, k, l, m, pending, n, o))
}

#[async_trait]
impl Store for SqliteStore {
    async fn conversation(&self, user: UserId) -> Result<Option<Conversation>, StoreError> {
        if let Some(cached) = self.cache.get(user) {
            return Ok(Some(cached));
        }
        self.conversation_where(
            concat!(
                "SELECT ",
                conversation_columns!(),
                " FROM conversations WHERE user_id = ?1"
            ),
            user.0,
            "reading a conversation",
        )
        .await
    }

    async fn conversation_by_topic(
        &self,
        topic: TopicId,
    ) -> Result<Option<Conversation>, StoreError> {
        self.conversation_where(
            concat!(
                "SELECT ",
                conversation_columns!(),
                " FROM conversations WHERE topic_id = ?1"
            ),
            topic.0,
            "reading a conversation by topic",
        )
        .await
    }

    async fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        if commit.is_empty() {
            return Ok(());
        }
        match self.apply(&commit).await {
            Ok(()) => Ok(()),
            // The transaction was rolled back when it was dropped: nothing landed.
            Err(e) => Err(match commit.conversation.as_ref() {
                Some(c) if error::is_unique_violation(&e) => {
                    explain_conflict(c, e, self.topic_owner(c.topic).await)
                }
                _ => backend("committing", e),
            }),
        }
    }

    async fn link_by_user_message(
        &self,
        user: UserId,
        message: MessageId,
    ) -> Result<Option<MessageLink>, StoreError> {
        let row: Option<LinkRow> = on_reader!(self, |conn| sqlx::query_as(
            "SELECT user_id, user_message, topic_message, origin FROM links \
             WHERE user_id = ?1 AND user_message = ?2",
        )
        .bind(user.0)
        .bind(message.0)
        .fetch_optional(conn))
        .await
        .map_err(|e| backend("reading a link", e))?;
        row.map(link_from_row).transpose()
    }

    async fn link_by_topic_message(
        &self,
        message: MessageId,
    ) -> Result<Option<MessageLink>, StoreError> {
        let row: Option<LinkRow> = on_reader!(self, |conn| sqlx::query_as(
            "SELECT user_id, user_message, topic_message, origin FROM links \
             WHERE topic_message = ?1",
        )
        .bind(message.0)
        .fetch_optional(conn))
        .await
        .map_err(|e| backend("reading a link", e))?;
        row.map(link_from_row).transpose()
    }

    async fn is_processed(&self, key: &EventKey) -> Result<bool, StoreError> {
        let found: Option<i64> = on_reader!(self, |conn| sqlx::query_scalar(
            "SELECT 1 FROM processed \
             WHERE kind = ?1 AND chat = ?2 AND message = ?3 AND version = ?4",
        )
        .bind(key.kind.as_str())
        .bind(key.chat)
        .bind(key.message)
        .bind(key.version)
        .fetch_optional(conn))
        .await
        .map_err(|e| backend("reading a processed key", e))?;
        Ok(found.is_some())
    }

    async fn due_for_autoclose(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let rows: Vec<ConversationRow<String>> = on_reader!(self, |conn| sqlx::query_as(concat!(
            "SELECT ",
            conversation_columns!(),
            " FROM conversations \
              WHERE status = ?1 AND status_since < ?2 AND topic_id IS NOT NULL \
              ORDER BY status_since, user_id LIMIT ?3"
        ))
        .bind(Status::SupportAnswered.as_str())
        .bind(before.0)
        .bind(sql_limit(limit))
        .fetch_all(conn))
        .await
        .map_err(|e| backend("reading conversations due for auto-close", e))?;
        rows.into_iter().map(decode).collect()
    }

    async fn set_aside(&self, letter: NewDeadLetter) -> Result<SetAside, StoreError> {
        self.upsert_dead_letter(&letter)
            .await
            .map_err(|e| backend("setting a dead letter aside", e))
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        let rows: Vec<DeadLetterRow> = on_reader!(self, |conn| sqlx::query_as(concat!(
            "SELECT ",
            dead_letter_columns!(),
            " FROM dead_letters ORDER BY id LIMIT ?1"
        ))
        .bind(sql_limit(limit))
        .fetch_all(conn))
        .await
        .map_err(|e| backend("reading the dead letters", e))?;
        rows.into_iter().map(dead_letter_from_row).collect()
    }

    async fn dead_letter(&self, id: DeadLetterId) -> Result<Option<DeadLetter>, StoreError> {
        let row: Option<DeadLetterRow> = on_reader!(self, |conn| sqlx::query_as(concat!(
            "SELECT ",
            dead_letter_columns!(),
            " FROM dead_letters WHERE id = ?1"
        ))
        .bind(id.0)
        .fetch_optional(conn))
        .await
        .map_err(|e| backend("reading a dead letter", e))?;
        row.map(dead_letter_from_row).transpose()
    }

    async fn dead_letter_by_key(&self, key: &str) -> Result<Option<DeadLetter>, StoreError> {
        let row: Option<DeadLetterRow> = on_reader!(self, |conn| sqlx::query_as(concat!(
            "SELECT ",
            dead_letter_columns!(),
            " FROM dead_letters WHERE key = ?1"
        ))
        .bind(key)
        .fetch_optional(conn))
        .await
        .map_err(|e| backend("reading a dead letter by key", e))?;
        row.map(dead_letter_from_row).transpose()
    }

    async fn remove_dead_letter(&self, id: DeadLetterId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM dead_letters WHERE id = ?1")
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(|e| backend("removing a dead letter", e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn append_updates(
        &self,
        updates: Vec<Fetched>,
        received: Timestamp,
    ) -> Result<Vec<LogId>, StoreError> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        self.append_on_writer(&updates, received)
            .await
            .map_err(|e| backend("appending to the update log", e))?
            .ok_or_else(|| StoreError::backend("the update log has used every id below 2^31"))
    }

    async fn logged_updates(&self, after: LogId, limit: usize) -> Result<Vec<Logged>, StoreError> {
        let rows: Vec<LoggedRow> = on_reader!(self, |conn| sqlx::query_as(concat!(
            "SELECT ",
            logged_columns!(),
            " FROM update_log WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))
        .bind(after.0)
        .bind(sql_limit(limit))
        .fetch_all(conn))
        .await
        .map_err(|e| backend("reading the update log", e))?;
        Ok(rows.into_iter().map(logged_from_row).collect())
    }

    async fn log_head(&self) -> Result<LogHead, StoreError> {
        let row: LogHeadRow = on_reader!(self, |conn| sqlx::query_as(
            "SELECT last_id, last_upstream_id FROM update_log_head"
        )
        .fetch_one(conn))
        .await
        .map_err(|e| backend("reading the update log's head", e))?;
        Ok(log_head_from_row(row))
    }

    async fn consumer(&self, name: &str) -> Result<Option<Consumer>, StoreError> {
        let row: Option<ConsumerRow> = on_reader!(self, |conn| sqlx::query_as(concat!(
            "SELECT ",
            consumer_columns!(),
            " FROM log_consumers WHERE name = ?1"
        ))
        .bind(name)
        .fetch_optional(conn))
        .await
        .map_err(|e| backend("reading a log consumer", e))?;
        Ok(row.map(consumer_from_row))
    }

    async fn register_consumer(&self, name: &str, start: LogId) -> Result<Consumer, StoreError> {
        let inserted: Option<ConsumerRow> = sqlx::query_as(INSERT_CONSUMER)
            .bind(name)
            .bind(start.0)
            .fetch_optional(&self.writer)
            .await
            .map_err(|e| backend("registering a log consumer", e))?;
        if let Some(row) = inserted {
            return Ok(consumer_from_row(row));
        }
        self.consumer(name).await?.ok_or_else(|| {
            StoreError::backend(format!(
                "the log consumer {name:?} was registered, then not found"
            ))
        })
    }

    async fn confirm_updates(&self, name: &str, upto: LogId) -> Result<(), StoreError> {
        // (Unqualified names in `SET` are the stored row's.)
        sqlx::query(
            "INSERT INTO log_consumers (name, confirmed) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET confirmed = max(confirmed, excluded.confirmed)",
        )
        .bind(name)
        .bind(upto.0)
        .execute(&self.writer)
        .await
        .map_err(|e| backend("confirming logged updates", e))?;
        Ok(())
    }

    async fn save_consumer_settings(
        &self,
        name: &str,
        settings: Option<String>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO log_consumers (name, confirmed, settings) VALUES (?1, 0, ?2) \
             ON CONFLICT (name) DO UPDATE SET settings = excluded.settings",
        )
        .bind(name)
        .bind(settings)
        .execute(&self.writer)
        .await
        .map_err(|e| backend("saving a log consumer's settings", e))?;
        Ok(())
    }

    async fn prune_updates(&self, expired: Timestamp) -> Result<u64, StoreError> {
        // With no consumer registered, nothing holds an update: all go.
        let done = sqlx::query(
            "DELETE FROM update_log \
             WHERE id <= coalesce((SELECT min(confirmed) FROM log_consumers), ?2) \
                OR received < ?1",
        )
        .bind(expired.0)
        .bind(LogId::MAX.0)
        .execute(&self.writer)
        .await
        .map_err(|e| backend("pruning the update log", e))?;
        Ok(done.rows_affected())
    }

    // ---- Events out: the webhook outbox (migration 0005), figures for metrics. ----

    async fn outbox_push(&self, entries: Vec<NewOutboxEntry>) -> Result<Vec<OutboxId>, StoreError> {
        let fail = |e| backend("writing to the webhook outbox", e);
        let mut tx = self.writer.begin().await.map_err(fail)?;
        let mut ids = Vec::with_capacity(entries.len());
        for entry in &entries {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO webhook_outbox (endpoint, lane, event_id, payload, created) \
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            )
            .bind(&entry.endpoint)
            .bind(entry.lane.0)
            .bind(&entry.event_id)
            .bind(&entry.payload)
            .bind(entry.created.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
            ids.push(OutboxId(id));
        }
        tx.commit().await.map_err(fail)?;
        Ok(ids)
    }

    async fn outbox_heads(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows: Vec<OutboxRow> = on_reader!(self, |conn| sqlx::query_as(concat!(
            "SELECT ",
            outbox_columns!(),
            " FROM webhook_outbox \
             WHERE id IN (SELECT min(id) FROM webhook_outbox GROUP BY endpoint, lane) \
               AND next_attempt_ms <= ?1 ORDER BY id LIMIT ?2"
        ))
        .bind(now_ms)
        .bind(sql_limit(limit))
        .fetch_all(conn))
        .await
        .map_err(|e| backend("reading the webhook outbox", e))?;
        rows.into_iter().map(outbox_from_row).collect()
    }

    async fn outbox_delivered(&self, id: OutboxId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM webhook_outbox WHERE id = ?1")
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(|e| backend("removing a delivered webhook", e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn outbox_postpone(
        &self,
        id: OutboxId,
        attempts: u32,
        next_attempt_ms: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_outbox SET attempts = ?2, next_attempt_ms = ?3, last_error = ?4 \
             WHERE id = ?1",
        )
        .bind(id.0)
        .bind(i64::from(attempts))
        .bind(next_attempt_ms)
        .bind(error)
        .execute(&self.writer)
        .await
        .map_err(|e| backend("postponing a webhook", e))?;
        Ok(())
    }

    async fn outbox_len(&self) -> Result<u64, StoreError> {
        let n: i64 = on_reader!(self, |conn| sqlx::query_scalar(
            "SELECT count(*) FROM webhook_outbox"
        )
        .fetch_one(conn))
        .await
        .map_err(|e| backend("counting the webhook outbox", e))?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    async fn open_conversations(&self) -> Result<u64, StoreError> {
        let n: i64 = on_reader!(self, |conn| sqlx::query_scalar(
            "SELECT count(*) FROM conversations \
             WHERE topic_id IS NOT NULL AND status IN ('user_answered', 'support_answered')"
        )
        .fetch_one(conn))
        .await
        .map_err(|e| backend("counting open conversations", e))?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    // ---- Marks (migration 0007). ----

    async fn set_tag(&self, user: UserId, tag: &Tag, on: bool) -> Result<bool, StoreError> {
        let sql = if on {
            "INSERT INTO user_tags (user_id, tag) VALUES (?1, ?2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM user_tags WHERE user_id = ?1 AND tag = ?2"
        };
        let done = sqlx::query(sql)
            .bind(user.0)
            .bind(tag.as_str())
            .execute(&self.writer)
            .await
            .map_err(|e| backend("writing a tag", e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn tag_counts(&self) -> Result<Vec<(Tag, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = on_reader!(self, |conn| sqlx::query_as(
            "SELECT tag, count(*) FROM user_tags GROUP BY tag ORDER BY tag"
        )
        .fetch_all(conn))
        .await
        .map_err(|e| backend("counting tags", e))?;
        rows.into_iter()
            .map(|(t, n)| Ok((stored_tag(&t)?, u64::try_from(n).unwrap_or_default())))
            .collect()
    }

    async fn tags_of(&self, users: &[UserId]) -> Result<Vec<(UserId, Tag)>, StoreError> {
        let ids = serde_json::to_string(&users.iter().map(|u| u.0).collect::<Vec<i64>>())
            .map_err(|e| StoreError::backend("encoding user ids").caused_by(e))?;
        let rows: Vec<(i64, String)> = on_reader!(self, |conn| sqlx::query_as(
            "SELECT user_id, tag FROM user_tags \
             WHERE user_id IN (SELECT value FROM json_each(?1))"
        )
        .bind(ids)
        .fetch_all(conn))
        .await
        .map_err(|e| backend("reading users' tags", e))?;
        rows.into_iter()
            .map(|(u, t)| Ok((UserId(u), stored_tag(&t)?)))
            .collect()
    }

    async fn segment_members(
        &self,
        segment: &Segment,
        now: Timestamp,
    ) -> Result<Vec<UserId>, StoreError> {
        let (members, bound) = members_query(segment, now, Dialect::Sqlite);
        // One row holding every id (a JSON array) rather than a row per member: a million rows
        // would each cross from SQLite's worker thread on their own.
        let sql = format!("SELECT json_group_array(user_id) FROM ({members})");
        // Audited: the text is the compiler's own fragments and placeholders; every value
        // from the segment is bound.
        let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
        for value in bound {
            query = match value {
                Bound::Text(text) => query.bind(text),
                Bound::Int(number) => query.bind(number),
            };
        }
        let ids = on_reader!(self, |conn| query.fetch_one(conn))
            .await
            .map_err(|e| backend("selecting a segment's members", e))?;
        let mut ids: Vec<i64> = serde_json::from_str(&ids).map_err(|e| {
            StoreError::corrupt("a segment's members could not be read").caused_by(e)
        })?;
        ids.sort_unstable();
        Ok(ids.into_iter().map(UserId).collect())
    }

    async fn conversations_after(
        &self,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let rows: Vec<ConversationRow<String>> = on_reader!(self, |conn| sqlx::query_as(concat!(
            "SELECT ",
            conversation_columns!(),
            " FROM conversations WHERE user_id > ?1 ORDER BY user_id LIMIT ?2"
        ))
        .bind(after.0)
        .bind(sql_limit(limit))
        .fetch_all(conn))
        .await
        .map_err(|e| backend("listing conversations", e))?;
        rows.into_iter().map(decode).collect()
    }

    // ---- The conversation archive (migration 0006). ----

    async fn archive_write(&self, records: Vec<ArchiveRecord>) -> Result<(), StoreError> {
        let fail = |e| backend("writing to the archive", e);
        let mut tx = self.writer.begin().await.map_err(fail)?;
        for record in &records {
            sqlx::query(
                "INSERT INTO archive (user_id, origin, message_id, edit, time, kind, text, \
                 entities, file_id, reply_to, media_group) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
                 ON CONFLICT (user_id, origin, message_id, edit) DO NOTHING",
            )
            .bind(record.user.0)
            .bind(record.origin.as_str())
            .bind(record.message.0)
            .bind(record.edit)
            .bind(record.time.0)
            .bind(record.kind.as_str())
            .bind(record.text.as_deref())
            .bind(entities_column(record))
            .bind(record.file_id.as_deref())
            .bind(record.reply_to.map(|m| m.0))
            .bind(record.media_group.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)
    }

    async fn archive_users(&self, since: Timestamp) -> Result<Vec<UserId>, StoreError> {
        let users: Vec<i64> = on_reader!(self, |conn| sqlx::query_scalar(
            "SELECT DISTINCT user_id FROM archive WHERE time >= ?1 ORDER BY user_id"
        )
        .bind(since.0)
        .fetch_all(conn))
        .await
        .map_err(|e| backend("reading the archive's users", e))?;
        Ok(users.into_iter().map(UserId).collect())
    }

    async fn archived(
        &self,
        user: UserId,
        since: Timestamp,
        after: Option<ArchiveId>,
        limit: usize,
    ) -> Result<Vec<Archived>, StoreError> {
        let rows: Vec<ArchiveRow> = on_reader!(self, |conn| sqlx::query_as(concat!(
            "SELECT ",
            archive_columns!(),
            " FROM archive WHERE user_id = ?1 AND time >= ?2 AND id > ?3 ORDER BY id LIMIT ?4"
        ))
        .bind(user.0)
        .bind(since.0)
        .bind(after.map_or(i64::MIN, |a| a.0))
        .bind(sql_limit(limit))
        .fetch_all(conn))
        .await
        .map_err(|e| backend("reading the archive", e))?;
        rows.into_iter().map(archived_from_row).collect()
    }

    async fn archive_prune(&self, before: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM archive WHERE time < ?1")
            .bind(before.0)
            .execute(&self.writer)
            .await
            .map_err(|e| backend("pruning the archive", e))?;
        Ok(done.rows_affected())
    }

    // ---- Mailings (migration 0009). ----

    async fn mailing_create(
        &self,
        mailing: &Mailing,
        recipients: &[UserId],
    ) -> Result<MailingId, StoreError> {
        let fail = |e| backend("writing a mailing", e);
        let content = content_column(mailing)?;
        let mut tx = self.writer.begin().await.map_err(fail)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO mailings (content, segment, state, created, author, panel_chat, \
             panel_message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        )
        .bind(content)
        .bind(&mailing.segment)
        .bind(mailing.state.as_str())
        .bind(mailing.created.0)
        .bind(mailing.author.map(|u| u.0))
        .bind(mailing.panel.map(|p| p.chat.0))
        .bind(mailing.panel.map(|p| p.message.0))
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
        for chunk in recipients.chunks(RECIPIENTS_PER_STATEMENT) {
            sqlx::query(
                "INSERT INTO mailing_recipients (mailing, user_id) \
                 SELECT ?1, value FROM json_each(?2) WHERE true ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(ids_json(chunk))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(MailingId(id))
    }

    async fn mailing(&self, id: MailingId) -> Result<Option<Mailing>, StoreError> {
        let row: Option<MailingRow> = on_reader!(self, |conn| sqlx::query_as(concat!(
            "SELECT ",
            mailing_columns!(),
            " FROM mailings WHERE id = ?1"
        ))
        .bind(id.0)
        .fetch_optional(conn))
        .await
        .map_err(|e| backend("reading a mailing", e))?;
        row.map(mailing_from_row).transpose()
    }

    async fn mailings(&self, limit: usize) -> Result<Vec<Mailing>, StoreError> {
        let rows: Vec<MailingRow> = on_reader!(self, |conn| sqlx::query_as(concat!(
            "SELECT ",
            mailing_columns!(),
            " FROM mailings ORDER BY id DESC LIMIT ?1"
        ))
        .bind(sql_limit(limit))
        .fetch_all(conn))
        .await
        .map_err(|e| backend("listing mailings", e))?;
        rows.into_iter().map(mailing_from_row).collect()
    }

    async fn mailing_set_state(
        &self,
        id: MailingId,
        from: &[MailingState],
        to: MailingState,
    ) -> Result<bool, StoreError> {
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let from = serde_json::to_string(&from)
            .map_err(|e| StoreError::backend("encoding mailing states").caused_by(e))?;
        let done = sqlx::query(
            "UPDATE mailings SET state = ?2 WHERE id = ?1 \
             AND state IN (SELECT value FROM json_each(?3))",
        )
        .bind(id.0)
        .bind(to.as_str())
        .bind(from)
        .execute(&self.writer)
        .await
        .map_err(|e| backend("changing a mailing's state", e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn mailing_lease(
        &self,
        id: MailingId,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE mailings SET runner = ?2, lease_until = ?4 WHERE id = ?1 \
             AND (runner IS NULL OR runner = ?2 OR lease_until < ?3)",
        )
        .bind(id.0)
        .bind(owner)
        .bind(now.0)
        .bind(until.0)
        .execute(&self.writer)
        .await
        .map_err(|e| backend("taking a mailing's lease", e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn mailing_set_panel(&self, id: MailingId, panel: Panel) -> Result<(), StoreError> {
        sqlx::query("UPDATE mailings SET panel_chat = ?2, panel_message = ?3 WHERE id = ?1")
            .bind(id.0)
            .bind(panel.chat.0)
            .bind(panel.message.0)
            .execute(&self.writer)
            .await
            .map_err(|e| backend("recording a mailing's panel", e))?;
        Ok(())
    }

    async fn mailing_pending(
        &self,
        id: MailingId,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<UserId>, StoreError> {
        let users: Vec<i64> = on_reader!(self, |conn| sqlx::query_scalar(
            "SELECT user_id FROM mailing_recipients WHERE mailing = ?1 AND delivery = 0 \
             AND user_id > ?2 ORDER BY user_id LIMIT ?3"
        )
        .bind(id.0)
        .bind(after.map_or(i64::MIN, |u| u.0))
        .bind(sql_limit(limit))
        .fetch_all(conn))
        .await
        .map_err(|e| backend("reading a mailing's recipients", e))?;
        Ok(users.into_iter().map(UserId).collect())
    }

    async fn mailing_record(
        &self,
        id: MailingId,
        user: UserId,
        delivery: Delivery,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE mailing_recipients SET delivery = ?3 \
             WHERE mailing = ?1 AND user_id = ?2 AND delivery = 0",
        )
        .bind(id.0)
        .bind(user.0)
        .bind(delivery.code())
        .execute(&self.writer)
        .await
        .map_err(|e| backend("recording a mailing's delivery", e))?;
        Ok(())
    }

    async fn mailing_counts(&self, id: MailingId) -> Result<MailingCounts, StoreError> {
        let rows: Vec<(i64, i64)> = on_reader!(self, |conn| sqlx::query_as(
            "SELECT delivery, count(*) FROM mailing_recipients WHERE mailing = ?1 \
             GROUP BY delivery"
        )
        .bind(id.0)
        .fetch_all(conn))
        .await
        .map_err(|e| backend("counting a mailing's recipients", e))?;
        counts_from_rows(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reader connection, the first and the ones opened later, carries the pragmas.
    #[tokio::test]
    async fn readers_get_the_pragmas() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteOptions::file(dir.path().join("desk.db"))
            .busy_timeout(Duration::from_millis(1234))
            .readers(2)
            .open()
            .await
            .expect("open");
        let readers = store.readers.as_ref().expect("a file store has readers");
        // Both at once: the second is opened afresh.
        let mut first = readers.lease().await.expect("lease");
        let mut second = readers.lease().await.expect("lease");
        for lease in [&mut first, &mut second] {
            let conn = lease.conn();
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await
                .expect("journal_mode");
            assert_eq!(mode, "wal");
            let mmap: i64 = sqlx::query_scalar("PRAGMA mmap_size")
                .fetch_one(&mut *conn)
                .await
                .expect("mmap_size");
            assert_eq!(mmap, 268_435_456);
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut *conn)
                .await
                .expect("busy_timeout");
            assert_eq!(busy, 1234);
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .expect("synchronous");
            assert_eq!(synchronous, 1, "NORMAL");
        }
        first.release();
        second.release();
        store.close().await;
        assert!(matches!(
            readers.lease().await.err(),
            Some(sqlx::Error::PoolClosed)
        ));
    }
}
