//! [`PgStore`]: the desk's state in PostgreSQL, shareable by several desk processes.

use crate::archive_row::{ArchiveRow, archive_columns, archived_from_row, entities_column};
use crate::conns::{Conns, on_lease};
use crate::error::{self, backend};
use crate::mailing_row::{
    MailingRow, content_column, counts_from_rows, mailing_columns, mailing_from_row,
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
    OutboxId, SetAside, Status, Tag, UserClaim,
};
use hotline_core::store::{Delivery, Mailing, MailingCounts, MailingId, MailingState, Panel};
use hotline_core::{EventKey, MessageId, Store, StoreError, Timestamp, TopicId, UserId};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, Postgres};
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Settings for a [`PgStore`]; [`PgOptions::connect`] connects.
#[derive(Clone)]
#[must_use]
pub struct PgOptions {
    url: String,
    schema: Option<String>,
    max_connections: u32,
    max_claims: u32,
    acquire_timeout: Duration,
    claim_timeout: Duration,
}

impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOptions")
            .field("url", &error::redact(&self.url, &self.url))
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .field("max_claims", &self.max_claims)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("claim_timeout", &self.claim_timeout)
            .finish()
    }
}

impl PgOptions {
    /// Settings for the database at `url` (`postgres://user:password@host:5432/database`; any
    /// parameter sqlx understands may follow). TLS is not compiled in: connect over a trusted
    /// network or a Unix socket (`postgres:///db?host=/run/postgresql`).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: None,
            max_connections: 10,
            max_claims: 32,
            acquire_timeout: Duration::from_secs(30),
            claim_timeout: Duration::from_secs(600),
        }
    }

    /// Keeps the desk's tables in `schema` (created if missing) instead of the server's default
    /// `search_path`. Letters, digits and `_` only, not starting with a digit, at most 63 bytes.
    /// Several desks (or test runs) can share one database this way.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Connections for queries and commits (default 10).
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Connections that hold per-user claims (default 32): how many users this process handles
    /// at the same moment. Each held claim keeps one connection; more users wait their turn.
    pub fn max_claims(mut self, max: u32) -> Self {
        self.max_claims = max.max(1);
        self
    }

    /// How long a query waits for a free connection before failing (default 30 s).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long a claim waits for a free claim connection before failing (default 10 min):
    /// under a burst, users queue for claims rather than fail.
    pub fn claim_timeout(mut self, timeout: Duration) -> Self {
        self.claim_timeout = timeout;
        self
    }

    /// Connects, creates the schema if one was set and missing, applies the pending migrations
    /// (under sqlx's migration lock, so replicas starting together migrate once), and returns
    /// the store.
    ///
    /// Errors never contain the URL's password.
    pub async fn connect(self) -> Result<PgStore, StoreError> {
        let url = self.url.as_str();
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|e| error::connecting(url, "parsing the PostgreSQL URL", e))?
            .application_name("hotline");
        if let Some(schema) = &self.schema {
            check_schema_name(schema)?;
            options = options.options([("search_path", schema.as_str())]);
        }
        let target = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        // One direct connection first: a pool only reports "timed out" when the server cannot
        // be reached, this says why (refused, unknown host, authentication failed).
        let probe = tokio::time::timeout(self.acquire_timeout, options.connect())
            .await
            .map_err(|_| {
                StoreError::backend(format!(
                    "connecting to PostgreSQL at {target}: no answer within {:?}",
                    self.acquire_timeout
                ))
            })?
            .map_err(|e| {
                error::connecting(url, &format!("connecting to PostgreSQL at {target}"), e)
            })?;
        // The probe becomes the first of the store's connections.
        let conns = Conns::new(options.clone(), self.max_connections, self.acquire_timeout);
        conns.adopt(probe);
        if let Some(schema) = &self.schema {
            let create = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
            match on_lease!(conns, |conn| sqlx::query(sqlx::AssertSqlSafe(create))
                .execute(conn))
            .await
            {
                Ok(_) => {}
                // Two processes creating it at the same moment: it exists now.
                Err(e) if error::is_unique_violation(&e) => {}
                Err(e) => return Err(error::connecting(url, "creating the schema", e)),
            }
        }
        let claims = pool_options()
            .max_connections(self.max_claims)
            .acquire_timeout(self.claim_timeout)
            .idle_timeout(Duration::from_secs(60))
            .connect_lazy_with(options);
        // On the claims' sqlx pool, not on a leased connection: `Migrator::run` given a
        // `&mut PgConnection` makes the whole `connect` future fail the `Send` check of any host
        // that spawns it ("`Acquire` is not general enough", rustc #110338); given a pool it
        // does not.
        if let Err(e) = MIGRATOR.run(&claims).await {
            claims.close().await;
            // No source: the lazy pool connects here, so this is a connection error too (and
            // the migration error's text already holds its cause's); see `error::connecting`.
            return Err(StoreError::backend(error::redact(
                &format!("migrating the PostgreSQL database: {e}"),
                url,
            )));
        }
        Ok(PgStore {
            claim_class: claim_class(self.schema.as_deref().unwrap_or("")),
            conns,
            claims,
            schema: self.schema,
            target,
        })
    }
}

/// A [`Store`] in PostgreSQL: for several desk processes (replicas) sharing one database.
///
/// - Every [`Commit`] is one transaction; the `UNIQUE` constraint on a conversation's topic
///   refuses a second owner with [`StoreError::Conflict`] even when two replicas race.
/// - [`Store::claim_user`] takes a session-level advisory lock on a dedicated connection,
///   `pg_advisory_lock(class, key)`: `class` is derived from the schema name (so desks in
///   different schemas of one database never wait on each other) and `key` from the user id.
///   Dropping the claim unlocks it (on the Tokio runtime) and returns the connection to the
///   pool; if unlocking fails the connection is closed, which releases the lock with the
///   session. A process that dies releases its claims the same way.
/// - Migrations are embedded and run by [`PgStore::connect`].
///
/// Cloning is cheap and shares the connections.
#[derive(Clone)]
pub struct PgStore {
    conns: Conns<PgConnection>,
    claims: PgPool,
    claim_class: i32,
    schema: Option<String>,
    target: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// The conversation `select` finds by its one parameter, `key` (a unique column); `what`
    /// names the read in an error.
    async fn conversation_where(
        &self,
        select: &'static str,
        key: i64,
        what: &'static str,
    ) -> Result<Option<Conversation>, StoreError> {
        let row: Option<ConversationRow<Vec<i64>>> =
            on_lease!(self.conns, |conn| sqlx::query_as(select)
                .bind(key)
                .fetch_optional(conn))
            .await
            .map_err(|e| backend(what, e))?;
        row.map(conversation_from_row).transpose()
    }

    /// Connects to `url` with the default settings, applying the pending migrations. The tables
    /// live in the first schema of the server's `search_path` (usually `public`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        PgOptions::new(url).connect().await
    }

    /// Connects to `url` keeping the tables in `schema` (created if missing), applying the
    /// pending migrations there. See [`PgOptions::schema`].
    pub async fn connect_with_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        PgOptions::new(url).schema(schema).connect().await
    }

    /// The schema the tables live in, if one was chosen.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The first key of this store's advisory locks (`pg_advisory_lock(class, user_key)`),
    /// derived from the schema name: `SELECT * FROM pg_locks WHERE locktype = 'advisory' AND
    /// objsubid = 2 AND classid = <class as unsigned>` lists the claims held right now.
    pub fn claim_class(&self) -> i32 {
        self.claim_class
    }

    /// Forgets the keys of events handled before `before` (wall-clock time of recording), and
    /// says how many were removed. Telegram redelivers an update for at most 24 hours, so keys
    /// older than a few days are dead weight.
    pub async fn forget_processed_before(&self, before: Timestamp) -> Result<u64, StoreError> {
        let done = on_lease!(self.conns, |conn| sqlx::query(
            "DELETE FROM processed WHERE recorded_at < $1"
        )
        .bind(before.0)
        .execute(conn))
        .await
        .map_err(|e| backend("pruning processed keys", e))?;
        Ok(done.rows_affected())
    }

    /// Drops the schema chosen with [`PgOptions::schema`] with everything in it, and closes
    /// the store. For tests and throw-away desks; refuses when no schema was chosen.
    pub async fn drop_schema(self) -> Result<(), StoreError> {
        let Some(schema) = self.schema.clone() else {
            return Err(StoreError::backend(
                "drop_schema needs a store connected with a schema",
            ));
        };
        self.claims.close().await;
        let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        let result = on_lease!(self.conns, |conn| sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(conn))
        .await
        .map_err(|e| backend("dropping the schema", e));
        self.conns.close().await;
        result.map(|_| ())
    }

    /// Closes every connection; claims still held are released as their guards drop.
    pub async fn close(&self) {
        self.conns.close().await;
        self.claims.close().await;
    }

    async fn apply(&self, commit: &Commit) -> Result<(), sqlx::Error> {
        // One statement, one round trip, one implicit transaction: `hotline_commit` (its
        // 24-argument form, migration 0009) runs the upsert, the links and the key in order.
        let c = commit.conversation.as_ref();
        let links = &commit.links;
        let key = commit.processed.as_ref();
        on_lease!(self.conns, |conn| sqlx::query(
            "SELECT hotline_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)",
        )
        .bind(c.is_some())
        .bind(c.map_or(0, |c| c.user.0))
        .bind(c.and_then(|c| c.topic).map(|t| t.0))
        .bind(c.map_or("", |c| c.status.as_str()))
        .bind(c.map_or(0, |c| c.status_since.0))
        .bind(c.is_some_and(|c| c.blocked))
        .bind(c.is_some_and(|c| c.banned))
        .bind(c.map_or("", |c| c.profile.first_name.as_str()))
        .bind(c.and_then(|c| c.profile.last_name.as_deref()))
        .bind(c.and_then(|c| c.profile.username.as_deref()))
        .bind(c.and_then(|c| c.profile.language_code.as_deref()))
        .bind(c.and_then(|c| c.start_payload.as_deref()))
        .bind(c.and_then(|c| c.topic_name.as_deref()))
        .bind(c.is_some_and(|c| c.welcome_pending))
        .bind(c.map(pending_ids).unwrap_or_default())
        .bind(c.map_or(0, |c| c.last_active.0))
        .bind(links.iter().map(|l| l.user.0).collect::<Vec<i64>>())
        .bind(links.iter().map(|l| l.user_message.0).collect::<Vec<i64>>())
        .bind(
            links
                .iter()
                .map(|l| l.topic_message.0)
                .collect::<Vec<i64>>(),
        )
        .bind(
            links
                .iter()
                .map(|l| l.origin.as_str())
                .collect::<Vec<&str>>(),
        )
        .bind(key.map(|k| k.kind.as_str()))
        .bind(key.map(|k| k.chat))
        .bind(key.map(|k| k.message))
        .bind(key.map(|k| k.version))
        .execute(conn))
        .await?;
        Ok(())
    }

    async fn topic_owner(&self, topic: Option<TopicId>) -> Option<i64> {
        let topic = topic?;
        on_lease!(self.conns, |conn| sqlx::query_scalar(
            "SELECT user_id FROM conversations WHERE topic_id = $1"
        )
        .bind(topic.0)
        .fetch_optional(conn))
        .await
        .ok()
        .flatten()
    }
}

/// The dead-letter upsert: parameters key, user_id, payload, error, attempts, first_failed,
/// last_failed, then the attempt ceiling. One statement, so atomic even when replicas race on
/// one key (the second waits for the first, then updates): a record with the key absorbs the
/// new one as `DeadLetter::absorb` does. A row version this statement inserted has no
/// deleting or locking transaction (`xmax = 0`); the version its update wrote carries this
/// transaction's id there: that tells a new record from an absorbed one.
const UPSERT_DEAD_LETTER: &str = "\
    INSERT INTO dead_letters \
        (key, user_id, payload, error, attempts, first_failed, last_failed) \
    VALUES ($1, $2, $3, $4, $5, $6, $7) \
    ON CONFLICT (key) DO UPDATE SET \
        attempts = LEAST(dead_letters.attempts + excluded.attempts, $8), \
        first_failed = LEAST(dead_letters.first_failed, excluded.first_failed), \
        last_failed = GREATEST(dead_letters.last_failed, excluded.last_failed), \
        error = excluded.error, \
        payload = excluded.payload, \
        user_id = COALESCE(excluded.user_id, dead_letters.user_id) \
    RETURNING id, (xmax = 0) AS created";

/// Registers a consumer unless it is: parameters name, start. Returns the new row, or nothing
/// when the name was taken (then the stored row is read: consumers are never removed).
const INSERT_CONSUMER: &str = concat!(
    "INSERT INTO log_consumers (name, confirmed) VALUES ($1, $2) \
     ON CONFLICT (name) DO NOTHING RETURNING ",
    consumer_columns!()
);

/// The claims' pools, which check a connection only when it sat idle for a while (queries and
/// commits run on [`Conns`], which does the same).
fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > Duration::from_secs(10) {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// Letters, digits and `_`, not starting with a digit, 1–63 bytes: safe to quote into DDL.
fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && !schema.starts_with(|c: char| c.is_ascii_digit())
        && schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::backend(format!(
            "invalid schema name {schema:?}: use letters, digits and _ (at most 63 bytes)"
        )))
    }
}

/// The advisory-lock class of a desk's claims: FNV-1a of `hotline-claim:<schema>`.
fn claim_class(schema: &str) -> i32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in b"hotline-claim:".iter().chain(schema.as_bytes()) {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    i32::from_ne_bytes(hash.to_ne_bytes())
}

/// The advisory-lock key of a user: the id folded into 32 bits. Two users that fold to the same
/// key only wait for each other now and then; nothing else is affected.
fn claim_key(user: UserId) -> i32 {
    let folded = (user.0 ^ (user.0 >> 32)) as u64;
    i32::from_ne_bytes((folded as u32).to_ne_bytes())
}

/// Holds the connection whose session holds the advisory lock; dropping it releases the lock.
struct ClaimGuard {
    conn: Option<PoolConnection<Postgres>>,
    class: i32,
    key: i32,
    locked: bool,
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let (class, key) = (self.class, self.key);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) if self.locked => {
                // Should the task never finish (a runtime shutting down drops it), the
                // connection inside is closed, not returned to the pool holding the lock.
                let mut pending = Unlocking(Some(conn));
                runtime.spawn(async move {
                    let Some(conn) = pending.0.as_deref_mut() else {
                        return;
                    };
                    let unlocked: Result<bool, _> =
                        sqlx::query_scalar("SELECT pg_advisory_unlock($1, $2)")
                            .bind(class)
                            .bind(key)
                            .fetch_one(&mut *conn)
                            .await;
                    match unlocked {
                        // Unlocked: back to the pool.
                        Ok(true) => drop(pending.0.take()),
                        _ => tracing::warn!(
                            ?unlocked,
                            "hotline: releasing a user claim failed; closing its connection"
                        ),
                    }
                });
            }
            // Interrupted while waiting for the lock (the server may still grant it), or no
            // runtime to unlock on: end the session, which releases whatever it holds. The
            // connection never goes back to the pool holding a lock.
            _ => drop(conn.detach()),
        }
    }
}

/// A claim connection on its way to being unlocked: dropped while still holding it, the
/// connection is closed (ending the session releases every lock it holds).
struct Unlocking(Option<PoolConnection<Postgres>>);

impl Drop for Unlocking {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}

#[async_trait]
impl Store for PgStore {
    async fn conversation(&self, user: UserId) -> Result<Option<Conversation>, StoreError> {
        self.conversation_where(
            concat!(
                "SELECT ",
                conversation_columns!(),
                " FROM conversations WHERE user_id = $1"
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
                " FROM conversations WHERE topic_id = $1"
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
        let row: Option<LinkRow> = on_lease!(self.conns, |conn| sqlx::query_as(
            "SELECT user_id, user_message, topic_message, origin FROM links \
             WHERE user_id = $1 AND user_message = $2",
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
        let row: Option<LinkRow> = on_lease!(self.conns, |conn| sqlx::query_as(
            "SELECT user_id, user_message, topic_message, origin FROM links \
             WHERE topic_message = $1",
        )
        .bind(message.0)
        .fetch_optional(conn))
        .await
        .map_err(|e| backend("reading a link", e))?;
        row.map(link_from_row).transpose()
    }

    async fn is_processed(&self, key: &EventKey) -> Result<bool, StoreError> {
        let found: Option<i32> = on_lease!(self.conns, |conn| sqlx::query_scalar(
            "SELECT 1 FROM processed \
             WHERE kind = $1 AND chat = $2 AND message = $3 AND version = $4",
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
        let rows: Vec<ConversationRow<Vec<i64>>> =
            on_lease!(self.conns, |conn| sqlx::query_as(concat!(
                "SELECT ",
                conversation_columns!(),
                " FROM conversations \
              WHERE status = $1 AND status_since < $2 AND topic_id IS NOT NULL \
              ORDER BY status_since, user_id LIMIT $3"
            ))
            .bind(Status::SupportAnswered.as_str())
            .bind(before.0)
            .bind(sql_limit(limit))
            .fetch_all(conn))
            .await
            .map_err(|e| backend("reading conversations due for auto-close", e))?;
        rows.into_iter().map(conversation_from_row).collect()
    }

    async fn set_aside(&self, letter: NewDeadLetter) -> Result<SetAside, StoreError> {
        let (id, created): (i64, bool) =
            on_lease!(self.conns, |conn| sqlx::query_as(UPSERT_DEAD_LETTER)
                .bind(letter.key.as_str())
                .bind(letter.user.map(|u| u.0))
                .bind(letter.payload.as_str())
                .bind(letter.error.as_str())
                .bind(i64::from(letter.attempts))
                .bind(letter.first_failed.0)
                .bind(letter.last_failed.0)
                .bind(MAX_ATTEMPTS)
                .fetch_one(conn))
            .await
            .map_err(|e| backend("setting a dead letter aside", e))?;
        Ok(SetAside {
            id: DeadLetterId(id),
            created,
        })
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        let rows: Vec<DeadLetterRow> = on_lease!(self.conns, |conn| sqlx::query_as(concat!(
            "SELECT ",
            dead_letter_columns!(),
            " FROM dead_letters ORDER BY id LIMIT $1"
        ))
        .bind(sql_limit(limit))
        .fetch_all(conn))
        .await
        .map_err(|e| backend("reading the dead letters", e))?;
        rows.into_iter().map(dead_letter_from_row).collect()
    }

    async fn dead_letter(&self, id: DeadLetterId) -> Result<Option<DeadLetter>, StoreError> {
        let row: Option<DeadLetterRow> = on_lease!(self.conns, |conn| sqlx::query_as(concat!(
            "SELECT ",
            dead_letter_columns!(),
            " FROM dead_letters WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(conn))
        .await
        .map_err(|e| backend("reading a dead letter", e))?;
        row.map(dead_letter_from_row).transpose()
    }

    async fn dead_letter_by_key(&self, key: &str) -> Result<Option<DeadLetter>, StoreError> {
        let row: Option<DeadLetterRow> = on_lease!(self.conns, |conn| sqlx::query_as(concat!(
            "SELECT ",
            dead_letter_columns!(),
            " FROM dead_letters WHERE key = $1"
        ))
        .bind(key)
        .fetch_optional(conn))
        .await
        .map_err(|e| backend("reading a dead letter by key", e))?;
        row.map(dead_letter_from_row).transpose()
    }

    async fn remove_dead_letter(&self, id: DeadLetterId) -> Result<bool, StoreError> {
        let done = on_lease!(self.conns, |conn| sqlx::query(
            "DELETE FROM dead_letters WHERE id = $1"
        )
        .bind(id.0)
        .execute(conn))
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
        // One statement, one round trip, one transaction: `hotline_append_updates` (migration
        // 0004) locks the head, looks the upstream ids up, numbers and inserts the new ones.
        let upstream: Vec<i64> = updates.iter().map(|u| u.upstream_id).collect();
        let payloads: Vec<&str> = updates.iter().map(|u| u.payload.as_str()).collect();
        let ids: Vec<i64> = on_lease!(self.conns, |conn| sqlx::query_scalar(
            "SELECT hotline_append_updates($1, $2, $3, $4)"
        )
        .bind(&upstream)
        .bind(&payloads)
        .bind(received.0)
        .bind(LogId::MAX.0)
        .fetch_one(conn))
        .await
        .map_err(|e| backend("appending to the update log", e))?;
        if ids.len() != updates.len() {
            return Err(StoreError::corrupt(format!(
                "the update log returned {} ids for {} updates",
                ids.len(),
                updates.len()
            )));
        }
        Ok(ids.into_iter().map(LogId).collect())
    }

    async fn logged_updates(&self, after: LogId, limit: usize) -> Result<Vec<Logged>, StoreError> {
        let rows: Vec<LoggedRow> = on_lease!(self.conns, |conn| sqlx::query_as(concat!(
            "SELECT ",
            logged_columns!(),
            " FROM update_log WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after.0)
        .bind(sql_limit(limit))
        .fetch_all(conn))
        .await
        .map_err(|e| backend("reading the update log", e))?;
        Ok(rows.into_iter().map(logged_from_row).collect())
    }

    async fn log_head(&self) -> Result<LogHead, StoreError> {
        let row: LogHeadRow = on_lease!(self.conns, |conn| sqlx::query_as(
            "SELECT last_id, last_upstream_id FROM update_log_head"
        )
        .fetch_one(conn))
        .await
        .map_err(|e| backend("reading the update log's head", e))?;
        Ok(log_head_from_row(row))
    }

    async fn consumer(&self, name: &str) -> Result<Option<Consumer>, StoreError> {
        let row: Option<ConsumerRow> = on_lease!(self.conns, |conn| sqlx::query_as(concat!(
            "SELECT ",
            consumer_columns!(),
            " FROM log_consumers WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(conn))
        .await
        .map_err(|e| backend("reading a log consumer", e))?;
        Ok(row.map(consumer_from_row))
    }

    async fn register_consumer(&self, name: &str, start: LogId) -> Result<Consumer, StoreError> {
        let inserted: Option<ConsumerRow> =
            on_lease!(self.conns, |conn| sqlx::query_as(INSERT_CONSUMER)
                .bind(name)
                .bind(start.0)
                .fetch_optional(conn))
            .await
            .map_err(|e| backend("registering a log consumer", e))?;
        if let Some(row) = inserted {
            return Ok(consumer_from_row(row));
        }
        // Registered already (by this process or another, maybe a moment ago: this statement
        // sees what was committed before it started).
        self.consumer(name).await?.ok_or_else(|| {
            StoreError::backend(format!(
                "the log consumer {name:?} was registered, then not found"
            ))
        })
    }

    async fn confirm_updates(&self, name: &str, upto: LogId) -> Result<(), StoreError> {
        on_lease!(self.conns, |conn| sqlx::query(
            "INSERT INTO log_consumers (name, confirmed) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE \
             SET confirmed = GREATEST(log_consumers.confirmed, excluded.confirmed)"
        )
        .bind(name)
        .bind(upto.0)
        .execute(conn))
        .await
        .map_err(|e| backend("confirming logged updates", e))?;
        Ok(())
    }

    async fn save_consumer_settings(
        &self,
        name: &str,
        settings: Option<String>,
    ) -> Result<(), StoreError> {
        on_lease!(self.conns, |conn| sqlx::query(
            "INSERT INTO log_consumers (name, confirmed, settings) VALUES ($1, 0, $2) \
             ON CONFLICT (name) DO UPDATE SET settings = excluded.settings"
        )
        .bind(name)
        .bind(settings.as_deref())
        .execute(conn))
        .await
        .map_err(|e| backend("saving a log consumer's settings", e))?;
        Ok(())
    }

    async fn prune_updates(&self, expired: Timestamp) -> Result<u64, StoreError> {
        // With no consumer registered, nothing holds an update: all go.
        let done = on_lease!(self.conns, |conn| sqlx::query(
            "DELETE FROM update_log \
             WHERE id <= COALESCE((SELECT MIN(confirmed) FROM log_consumers), $2) \
                OR received < $1"
        )
        .bind(expired.0)
        .bind(LogId::MAX.0)
        .execute(conn))
        .await
        .map_err(|e| backend("pruning the update log", e))?;
        Ok(done.rows_affected())
    }

    async fn claim_user(&self, user: UserId) -> Result<UserClaim, StoreError> {
        let conn = self
            .claims
            .acquire()
            .await
            .map_err(|e| backend("taking a connection for a user claim", e))?;
        let mut guard = ClaimGuard {
            conn: Some(conn),
            class: self.claim_class,
            key: claim_key(user),
            locked: false,
        };
        if let Some(conn) = guard.conn.as_mut() {
            sqlx::query("SELECT pg_advisory_lock($1, $2)")
                .bind(guard.class)
                .bind(guard.key)
                .execute(&mut **conn)
                .await
                .map_err(|e| backend("claiming a user", e))?;
        }
        guard.locked = true;
        Ok(UserClaim::holding(guard))
    }

    // ---- Events out: the webhook outbox (migration 0006), figures for metrics. ----

    async fn outbox_push(&self, entries: Vec<NewOutboxEntry>) -> Result<Vec<OutboxId>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        // One statement (atomic); ids are drawn in the order of `ordinality`.
        let ids: Vec<i64> = on_lease!(self.conns, |conn| sqlx::query_scalar(
            "INSERT INTO webhook_outbox (endpoint, lane, event_id, payload, created) \
             SELECT e, l, i, p, c FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], \
             $5::bigint[]) WITH ORDINALITY AS t(e, l, i, p, c, n) ORDER BY n RETURNING id"
        )
        .bind(
            entries
                .iter()
                .map(|e| e.endpoint.clone())
                .collect::<Vec<String>>()
        )
        .bind(entries.iter().map(|e| e.lane.0).collect::<Vec<i64>>())
        .bind(
            entries
                .iter()
                .map(|e| e.event_id.clone())
                .collect::<Vec<String>>()
        )
        .bind(
            entries
                .iter()
                .map(|e| e.payload.clone())
                .collect::<Vec<String>>()
        )
        .bind(entries.iter().map(|e| e.created.0).collect::<Vec<i64>>())
        .fetch_all(conn))
        .await
        .map_err(|e| backend("writing to the webhook outbox", e))?;
        let mut ids: Vec<OutboxId> = ids.into_iter().map(OutboxId).collect();
        ids.sort();
        Ok(ids)
    }

    async fn outbox_heads(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows: Vec<OutboxRow> = on_lease!(self.conns, |conn| sqlx::query_as(concat!(
            "SELECT ",
            outbox_columns!(),
            " FROM webhook_outbox \
             WHERE id IN (SELECT MIN(id) FROM webhook_outbox GROUP BY endpoint, lane) \
               AND next_attempt_ms <= $1 ORDER BY id LIMIT $2"
        ))
        .bind(now_ms)
        .bind(sql_limit(limit))
        .fetch_all(conn))
        .await
        .map_err(|e| backend("reading the webhook outbox", e))?;
        rows.into_iter().map(outbox_from_row).collect()
    }

    async fn outbox_delivered(&self, id: OutboxId) -> Result<bool, StoreError> {
        let done = on_lease!(self.conns, |conn| sqlx::query(
            "DELETE FROM webhook_outbox WHERE id = $1"
        )
        .bind(id.0)
        .execute(conn))
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
        on_lease!(self.conns, |conn| sqlx::query(
            "UPDATE webhook_outbox SET attempts = $2, next_attempt_ms = $3, last_error = $4 \
             WHERE id = $1"
        )
        .bind(id.0)
        .bind(i64::from(attempts))
        .bind(next_attempt_ms)
        .bind(error)
        .execute(conn))
        .await
        .map_err(|e| backend("postponing a webhook", e))?;
        Ok(())
    }

    async fn outbox_len(&self) -> Result<u64, StoreError> {
        let n: i64 = on_lease!(self.conns, |conn| sqlx::query_scalar(
            "SELECT count(*) FROM webhook_outbox"
        )
        .fetch_one(conn))
        .await
        .map_err(|e| backend("counting the webhook outbox", e))?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    async fn open_conversations(&self) -> Result<u64, StoreError> {
        let n: i64 = on_lease!(self.conns, |conn| sqlx::query_scalar(
            "SELECT count(*) FROM conversations \
             WHERE topic_id IS NOT NULL AND status IN ('user_answered', 'support_answered')"
        )
        .fetch_one(conn))
        .await
        .map_err(|e| backend("counting open conversations", e))?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    // ---- Marks (migration 0008). ----

    async fn set_tag(&self, user: UserId, tag: &Tag, on: bool) -> Result<bool, StoreError> {
        let sql = if on {
            "INSERT INTO user_tags (user_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM user_tags WHERE user_id = $1 AND tag = $2"
        };
        let done = on_lease!(self.conns, |conn| sqlx::query(sql)
            .bind(user.0)
            .bind(tag.as_str())
            .execute(conn))
        .await
        .map_err(|e| backend("writing a tag", e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn tag_counts(&self) -> Result<Vec<(Tag, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = on_lease!(self.conns, |conn| sqlx::query_as(
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
        let rows: Vec<(i64, String)> = on_lease!(self.conns, |conn| sqlx::query_as(
            "SELECT user_id, tag FROM user_tags WHERE user_id = ANY($1)"
        )
        .bind(users.iter().map(|u| u.0).collect::<Vec<i64>>())
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
        let (members, bound) = members_query(segment, now, Dialect::Postgres);
        // One row holding every id (an array) rather than a row per member, in no order:
        // sorting here is cheaper than PostgreSQL's sort of a million ids (its aggregates
        // sort their input apart from any index order).
        let sql = format!("SELECT COALESCE(array_agg(user_id), '{{}}') FROM ({members}) m");
        // Audited: the text is the compiler's own fragments and placeholders; every value
        // from the segment is bound. Not kept prepared: a prepared statement soon runs a
        // generic plan, blind to how rare this segment's tag is (a 1% tag planned as a scan
        // of every user); a segment is read seldom enough to be planned for its values.
        let mut query =
            sqlx::query_scalar::<_, Vec<i64>>(sqlx::AssertSqlSafe(sql)).persistent(false);
        for value in bound {
            query = match value {
                Bound::Text(text) => query.bind(text),
                Bound::Int(number) => query.bind(number),
            };
        }
        let mut ids = on_lease!(self.conns, |conn| async {
            // Planned for this query only. One process: the leader gathers every member into
            // the array itself (an array_agg is not split across workers), so workers only
            // add their start-up and the passing of each row to it. And an index page costs
            // about what a table page does (the default, 4 times as much, models a spinning
            // disk): the whole base is then read from the narrow `conversations_reachable`
            // index, not the wide rows, and a rare tag's users are probed in it by id.
            let mut tx = sqlx::Connection::begin(conn).await?;
            sqlx::raw_sql(
                "SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL random_page_cost = 1.1",
            )
            .execute(&mut *tx)
            .await?;
            let ids = query.fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(ids)
        })
        .await
        .map_err(|e| backend("selecting a segment's members", e))?;
        ids.sort_unstable();
        Ok(ids.into_iter().map(UserId).collect())
    }

    async fn conversations_after(
        &self,
        after: UserId,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let rows: Vec<ConversationRow<Vec<i64>>> =
            on_lease!(self.conns, |conn| sqlx::query_as(concat!(
                "SELECT ",
                conversation_columns!(),
                " FROM conversations WHERE user_id > $1 ORDER BY user_id LIMIT $2"
            ))
            .bind(after.0)
            .bind(sql_limit(limit))
            .fetch_all(conn))
            .await
            .map_err(|e| backend("listing conversations", e))?;
        rows.into_iter().map(conversation_from_row).collect()
    }

    // ---- The conversation archive (migration 0007). ----

    async fn archive_write(&self, records: Vec<ArchiveRecord>) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        // One statement (atomic); rows are written in the order of `ordinality`.
        on_lease!(self.conns, |conn| sqlx::query(
            "INSERT INTO archive (user_id, origin, message_id, edit, time, kind, text, entities, \
             file_id, reply_to, media_group) \
             SELECT u, o, m, e, t, k, x, n, f, r, g FROM UNNEST($1::bigint[], $2::text[], \
             $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::text[], \
             $9::text[], $10::bigint[], $11::text[]) WITH ORDINALITY \
             AS a(u, o, m, e, t, k, x, n, f, r, g, i) ORDER BY i \
             ON CONFLICT (user_id, origin, message_id, edit) DO NOTHING"
        )
        .bind(records.iter().map(|r| r.user.0).collect::<Vec<i64>>())
        .bind(
            records
                .iter()
                .map(|r| r.origin.as_str())
                .collect::<Vec<&str>>()
        )
        .bind(records.iter().map(|r| r.message.0).collect::<Vec<i64>>())
        .bind(records.iter().map(|r| r.edit).collect::<Vec<i64>>())
        .bind(records.iter().map(|r| r.time.0).collect::<Vec<i64>>())
        .bind(
            records
                .iter()
                .map(|r| r.kind.as_str())
                .collect::<Vec<&str>>()
        )
        .bind(
            records
                .iter()
                .map(|r| r.text.clone())
                .collect::<Vec<Option<String>>>()
        )
        .bind(records.iter().map(entities_column).collect::<Vec<String>>())
        .bind(
            records
                .iter()
                .map(|r| r.file_id.clone())
                .collect::<Vec<Option<String>>>()
        )
        .bind(
            records
                .iter()
                .map(|r| r.reply_to.map(|m| m.0))
                .collect::<Vec<Option<i64>>>()
        )
        .bind(
            records
                .iter()
                .map(|r| r.media_group.clone())
                .collect::<Vec<Option<String>>>()
        )
        .execute(conn))
        .await
        .map_err(|e| backend("writing to the archive", e))?;
        Ok(())
    }

    async fn archive_users(&self, since: Timestamp) -> Result<Vec<UserId>, StoreError> {
        let users: Vec<i64> = on_lease!(self.conns, |conn| sqlx::query_scalar(
            "SELECT DISTINCT user_id FROM archive WHERE time >= $1 ORDER BY user_id"
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
        let rows: Vec<ArchiveRow> = on_lease!(self.conns, |conn| sqlx::query_as(concat!(
            "SELECT ",
            archive_columns!(),
            " FROM archive WHERE user_id = $1 AND time >= $2 AND id > $3 ORDER BY id LIMIT $4"
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
        let done = on_lease!(self.conns, |conn| sqlx::query(
            "DELETE FROM archive WHERE time < $1"
        )
        .bind(before.0)
        .execute(conn))
        .await
        .map_err(|e| backend("pruning the archive", e))?;
        Ok(done.rows_affected())
    }

    // ---- Mailings (migration 0010). ----

    async fn mailing_create(
        &self,
        mailing: &Mailing,
        recipients: &[UserId],
    ) -> Result<MailingId, StoreError> {
        let content = content_column(mailing)?;
        let ids: Vec<i64> = recipients.iter().map(|u| u.0).collect();
        // One statement: the mailing and its recipients land together or not at all.
        let id: i64 = on_lease!(self.conns, |conn| sqlx::query_scalar(
            "WITH m AS (INSERT INTO mailings (content, segment, state, created, author, \
             panel_chat, panel_message) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id), \
             r AS (INSERT INTO mailing_recipients (mailing, user_id) \
             SELECT DISTINCT m.id, u FROM m, UNNEST($8::bigint[]) AS u) \
             SELECT id FROM m"
        )
        .bind(&content)
        .bind(&mailing.segment)
        .bind(mailing.state.as_str())
        .bind(mailing.created.0)
        .bind(mailing.author.map(|u| u.0))
        .bind(mailing.panel.map(|p| p.chat.0))
        .bind(mailing.panel.map(|p| p.message.0))
        .bind(&ids)
        .fetch_one(conn))
        .await
        .map_err(|e| backend("writing a mailing", e))?;
        Ok(MailingId(id))
    }

    async fn mailing(&self, id: MailingId) -> Result<Option<Mailing>, StoreError> {
        let row: Option<MailingRow> = on_lease!(self.conns, |conn| sqlx::query_as(concat!(
            "SELECT ",
            mailing_columns!(),
            " FROM mailings WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(conn))
        .await
        .map_err(|e| backend("reading a mailing", e))?;
        row.map(mailing_from_row).transpose()
    }

    async fn mailings(&self, limit: usize) -> Result<Vec<Mailing>, StoreError> {
        let rows: Vec<MailingRow> = on_lease!(self.conns, |conn| sqlx::query_as(concat!(
            "SELECT ",
            mailing_columns!(),
            " FROM mailings ORDER BY id DESC LIMIT $1"
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
        let done = on_lease!(self.conns, |conn| sqlx::query(
            "UPDATE mailings SET state = $2 WHERE id = $1 AND state = ANY($3::text[])"
        )
        .bind(id.0)
        .bind(to.as_str())
        .bind(&from)
        .execute(conn))
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
        let done = on_lease!(self.conns, |conn| sqlx::query(
            "UPDATE mailings SET runner = $2, lease_until = $4 WHERE id = $1 \
             AND (runner IS NULL OR runner = $2 OR lease_until < $3)"
        )
        .bind(id.0)
        .bind(owner)
        .bind(now.0)
        .bind(until.0)
        .execute(conn))
        .await
        .map_err(|e| backend("taking a mailing's lease", e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn mailing_set_panel(&self, id: MailingId, panel: Panel) -> Result<(), StoreError> {
        on_lease!(self.conns, |conn| sqlx::query(
            "UPDATE mailings SET panel_chat = $2, panel_message = $3 WHERE id = $1"
        )
        .bind(id.0)
        .bind(panel.chat.0)
        .bind(panel.message.0)
        .execute(conn))
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
        let users: Vec<i64> = on_lease!(self.conns, |conn| sqlx::query_scalar(
            "SELECT user_id FROM mailing_recipients WHERE mailing = $1 AND delivery = 0 \
             AND user_id > $2 ORDER BY user_id LIMIT $3"
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
        let code = i16::try_from(delivery.code()).unwrap_or_default();
        on_lease!(self.conns, |conn| sqlx::query(
            "UPDATE mailing_recipients SET delivery = $3 \
             WHERE mailing = $1 AND user_id = $2 AND delivery = 0"
        )
        .bind(id.0)
        .bind(user.0)
        .bind(code)
        .execute(conn))
        .await
        .map_err(|e| backend("recording a mailing's delivery", e))?;
        Ok(())
    }

    async fn mailing_counts(&self, id: MailingId) -> Result<MailingCounts, StoreError> {
        let rows: Vec<(i16, i64)> = on_lease!(self.conns, |conn| sqlx::query_as(
            "SELECT delivery, count(*) FROM mailing_recipients WHERE mailing = $1 \
             GROUP BY delivery"
        )
        .bind(id.0)
        .fetch_all(conn))
        .await
        .map_err(|e| backend("counting a mailing's recipients", e))?;
        counts_from_rows(rows.into_iter().map(|(d, n)| (i64::from(d), n)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_checked() {
        for good in ["hotline", "hotline_test_1_2", "_x", "A9"] {
            assert!(check_schema_name(good).is_ok(), "{good}");
        }
        for bad in ["", "9x", "a-b", "a\"b", "a;drop", &"x".repeat(64)] {
            assert!(check_schema_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn claim_keys_and_classes_spread() {
        assert_ne!(claim_class(""), claim_class("desk_a"));
        assert_eq!(claim_class("desk_a"), claim_class("desk_a"));
        assert_ne!(claim_key(UserId(1)), claim_key(UserId(2)));
        assert_ne!(claim_key(UserId(1)), claim_key(UserId(1 << 33)));
        assert_eq!(claim_key(UserId(-5)), claim_key(UserId(-5)));
    }
}
