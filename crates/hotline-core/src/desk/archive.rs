//! Recording what crossed into the archive (`ARCHIVE`), and its retention.
//!
//! A message is recorded once it went out, before the commit that marks its update handled: a
//! crash in between handles the update again and writes the same records, which the store
//! keeps once. A store that fails is logged and counted, never raised: the archive never fails
//! a relay, as events out never do.

use super::Desk;
use crate::ids::{MessageId, Timestamp, UserId};
use crate::message::IncomingMessage;
use crate::metrics as names;
use crate::store::{ArchiveRecord, Origin};

impl Desk {
    /// Records `messages` of `user`'s conversation, written by `origin`, as they went out
    /// (`edited`: as edits).
    pub(super) async fn archive_messages(
        &self,
        user: UserId,
        origin: Origin,
        messages: &[IncomingMessage],
        edited: bool,
    ) {
        self.archive(|now| {
            messages
                .iter()
                .map(|m| ArchiveRecord::of(user, origin, m, edited, now))
                .collect()
        })
        .await;
    }

    /// Records messages that crossed by their ids alone (their content stays on Telegram).
    pub(super) async fn archive_ids(&self, user: UserId, origin: Origin, ids: &[MessageId]) {
        self.archive(|now| {
            ids.iter()
                .map(|id| ArchiveRecord::copied(user, origin, *id, now))
                .collect()
        })
        .await;
    }

    /// Records what `make` builds, if `ARCHIVE` is on (otherwise nothing is built).
    async fn archive(&self, make: impl FnOnce(Timestamp) -> Vec<ArchiveRecord>) {
        if !self.inner.config.archive {
            return;
        }
        let records = make(self.inner.clock.now());
        if records.is_empty() {
            return;
        }
        let origins: Vec<&'static str> = records.iter().map(|r| r.origin.as_str()).collect();
        match self.inner.store.archive_write(records).await {
            Ok(()) => {
                for origin in origins {
                    metrics::counter!(names::ARCHIVED, "origin" => origin).increment(1);
                }
            }
            Err(error) => {
                metrics::counter!(names::ARCHIVE_WRITE_FAILURES).increment(1);
                tracing::warn!(%error, records = origins.len(), "hotline: messages could not be archived");
            }
        }
    }

    /// Removes archived records past `ARCHIVE_RETENTION_DAYS`, if it is set. A store that fails
    /// is logged: the next tick tries again.
    pub(super) async fn prune_archive(&self, now: Timestamp) {
        let Some(retention) = self.inner.config.archive_retention else {
            return;
        };
        let cut = now.plus_secs(-i64::try_from(retention.as_secs()).unwrap_or(i64::MAX));
        match self.inner.store.archive_prune(cut).await {
            Ok(0) => {}
            Ok(removed) => {
                tracing::info!(removed, "hotline: archived records past retention removed")
            }
            Err(error) => tracing::warn!(%error, "hotline: the archive could not be pruned"),
        }
    }
}
