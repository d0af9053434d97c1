//! The connections the stores run their queries on: a bounded stack of idle sqlx connections
//! of one kind ([`PgStore`](crate::PgStore)'s queries and commits, [`SqliteStore`]'s reads on a
//! file database), leaner than sqlx's pool on the hot path.
//!
//! sqlx's `PoolConnection` returns to its pool through a spawned task (for PostgreSQL it also pings
//! the server: one more round trip), so every query wakes another thread, and every acquire arms a
//! timer: on a single-row read over a local socket that overhead is of the same order as the read
//! itself (see `docs/benchmarks.md`). Here a lease takes an idle connection under a plain mutex, a
//! timer is armed only when every connection is busy, and a connection goes back to the stack only
//! once its statement has run to the end (the server's ReadyForQuery was read, or an error response
//! that the next use drains; for SQLite, the worker thread answered). A lease dropped half-way (its
//! future cancelled) or ended by an I/O or protocol error closes its connection instead: nothing
//! half-read is ever reused.
//!
//! [`SqliteStore`]: crate::SqliteStore

use sqlx::{ConnectOptions, Connection};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit, TryAcquireError};

/// Runs `$run` on a connection leased from `$conns` (bound to `$conn`), then hands the
/// connection back (or closes it) according to the result: see [`Lease`].
macro_rules! on_lease {
    ($conns:expr, |$conn:ident| $run:expr) => {
        async {
            let mut lease = $conns.lease().await?;
            let $conn = lease.conn();
            let result = $run.await;
            lease.finish(result)
        }
    };
}
pub(crate) use on_lease;

/// A connection idle for longer than this is pinged before use (a PostgreSQL server or proxy may
/// have dropped it); a fresher one is used as is.
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

/// Connections idle for longer than this are closed when the stack is next touched (as sqlx's
/// pool does by default).
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// Connections older than this are closed instead of reused (as sqlx's pool does by default):
/// the server's per-session caches do not grow forever, and a proxy can rebalance.
const MAX_LIFETIME: Duration = Duration::from_secs(1800);

/// Up to a fixed number of connections of type `C`, opened with `C::Options` (so every new
/// connection gets the settings they carry: for SQLite, the pragmas). Shared, cheap to clone.
pub(crate) struct Conns<C: Connection> {
    inner: Arc<Inner<C>>,
}

struct Inner<C: Connection> {
    options: C::Options,
    /// Most recently used last: the hot connection is reused first.
    idle: Mutex<Vec<Idle<C>>>,
    /// One permit per connection, idle or leased: at most `max` exist.
    permits: Semaphore,
    acquire_timeout: Duration,
}

struct Idle<C> {
    conn: Open<C>,
    since: Instant,
}

/// A connection and when it was opened.
struct Open<C> {
    conn: C,
    opened: Instant,
}

impl<C: Connection> Clone for Conns<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C: Connection> Conns<C> {
    /// Up to `max` connections to `options`; a lease waits at most `acquire_timeout` for one.
    pub(crate) fn new(options: C::Options, max: u32, acquire_timeout: Duration) -> Self {
        let max = usize::try_from(max.max(1)).unwrap_or(usize::MAX);
        Self {
            inner: Arc::new(Inner {
                options,
                idle: Mutex::new(Vec::with_capacity(max.min(64))),
                permits: Semaphore::new(max.min(Semaphore::MAX_PERMITS)),
                acquire_timeout,
            }),
        }
    }

    /// Adds an already open connection (one a store opened to probe the database) to the stack.
    pub(crate) fn adopt(&self, conn: C) {
        self.inner.push(Open {
            conn,
            opened: Instant::now(),
        });
    }

    /// A connection for one operation: an idle one (pinged first if it sat idle a while), or a
    /// new one. Fails with [`sqlx::Error::PoolTimedOut`] after the acquire timeout and with
    /// [`sqlx::Error::PoolClosed`] once [`Conns::close`] ran.
    pub(crate) async fn lease(&self) -> Result<Lease<'_, C>, sqlx::Error> {
        let inner = &*self.inner;
        let started = Instant::now();
        let permit = match inner.permits.try_acquire() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return Err(sqlx::Error::PoolClosed),
            Err(TryAcquireError::NoPermits) => {
                tokio::time::timeout(inner.acquire_timeout, inner.permits.acquire())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?
                    .map_err(|_| sqlx::Error::PoolClosed)?
            }
        };
        while let Some(idle) = inner.pop() {
            let mut conn = idle.conn;
            if idle.since.elapsed() > PING_AFTER_IDLE {
                let remaining = inner.acquire_timeout.saturating_sub(started.elapsed());
                match tokio::time::timeout(remaining, conn.conn.ping()).await {
                    Ok(Ok(())) => {}
                    // Dead or stuck: dropping it closes the socket; try the next one.
                    _ => continue,
                }
            }
            return Ok(Lease {
                inner,
                conn: Some(conn),
                _permit: permit,
            });
        }
        let conn = Open {
            conn: inner.connect(started).await?,
            opened: Instant::now(),
        };
        Ok(Lease {
            inner,
            conn: Some(conn),
            _permit: permit,
        })
    }

    /// Refuses new leases and closes the idle connections; leased ones close when returned.
    pub(crate) async fn close(&self) {
        self.inner.permits.close();
        let idle = std::mem::take(&mut *self.inner.lock());
        for idle in idle {
            let _ = idle.conn.conn.close().await;
        }
    }
}

impl<C: Connection> Inner<C> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle<C>>> {
        // Nothing in the critical sections can panic half-way; a poisoned stack is still whole.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pop(&self) -> Option<Idle<C>> {
        let mut idle = self.lock();
        // The oldest are at the bottom: close those idle for too long.
        let stale = idle
            .iter()
            .take_while(|i| i.since.elapsed() > IDLE_TIMEOUT)
            .count();
        idle.drain(..stale);
        idle.pop()
    }

    fn push(&self, conn: Open<C>) {
        if self.permits.is_closed() || conn.opened.elapsed() > MAX_LIFETIME {
            return;
        }
        self.lock().push(Idle {
            conn,
            since: Instant::now(),
        });
    }

    /// A new connection, retrying refused connections (a server restarting) with backoff until
    /// the acquire timeout, counted from `started`.
    async fn connect(&self, started: Instant) -> Result<C, sqlx::Error> {
        let mut backoff = Duration::from_millis(10);
        loop {
            let remaining = self.acquire_timeout.saturating_sub(started.elapsed());
            match tokio::time::timeout(remaining, self.options.connect()).await {
                Ok(Ok(conn)) => return Ok(conn),
                Ok(Err(sqlx::Error::Io(e)))
                    if e.kind() == std::io::ErrorKind::ConnectionRefused
                        && started.elapsed() + backoff < self.acquire_timeout =>
                {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(sqlx::Error::PoolTimedOut),
            }
        }
    }
}

/// One connection for one operation. [`Lease::finish`] hands it back when the statement ran to
/// the end; dropped otherwise (cancelled), the connection is closed, never reused.
pub(crate) struct Lease<'a, C: Connection> {
    inner: &'a Inner<C>,
    conn: Option<Open<C>>,
    _permit: SemaphorePermit<'a>,
}

impl<C: Connection> Lease<'_, C> {
    /// The connection to run the operation's statement on.
    pub(crate) fn conn(&mut self) -> &mut C {
        &mut self
            .conn
            .as_mut()
            .expect("a lease holds its connection until finished")
            .conn
    }

    /// Ends an operation that succeeded: the connection goes back to the stack.
    #[cfg(all(test, feature = "sqlite"))]
    pub(crate) fn release(self) {
        let _ = self.finish(Ok(()));
    }

    /// Ends the operation with its `result`, which is passed through. The connection goes back
    /// to the stack after a success or an error reported by the server (its ReadyForQuery is
    /// still due and the next statement drains it first); after any other error (I/O, protocol,
    /// a decoding failure half-way) it is closed.
    pub(crate) fn finish<T>(mut self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        let reusable = match &result {
            Ok(_) | Err(sqlx::Error::Database(_)) => true,
            Err(_) => false,
        };
        if reusable && let Some(conn) = self.conn.take() {
            self.inner.push(conn);
        }
        result
    }
}
