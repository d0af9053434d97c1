//! Exporting the conversation archive (`ARCHIVE`): one file per conversation, as JSON lines
//! (a record per line, for tools) or as an HTML transcript (for people).
//!
//! The archive keeps the formatting of each text in Telegram's notation (`MessageEntity`s), so
//! the rendering lives here, beside the transport that reads that notation, and not in the core.
//!
//! ```no_run
//! # async fn demo(store: &impl hotline_core::Store) -> Result<(), hotline_transport_telegram::Error> {
//! use hotline_transport_telegram::archive_export::{ArchiveExport, ExportFormat, export_archive};
//!
//! let export = ArchiveExport {
//!     format: ExportFormat::Html,
//!     ..ArchiveExport::default()
//! };
//! let files = export_archive(store, &export, "exports".as_ref()).await?;
//! println!("{} conversations exported", files.len());
//! # Ok(())
//! # }
//! ```

mod html;
mod jsonl;

pub use html::html_transcript;
use html::{Place, html_transcript_with};
pub use jsonl::{jsonl_line, jsonl_lines};

use crate::error::Error;
use hotline_core::store::{ArchiveRecord, Origin, Store};
use hotline_core::{Timestamp, UserId, UserProfile};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How many records one read of the archive asks for.
const PAGE: usize = 1_000;

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ExportFormat {
    /// JSON lines: one record per line, in the order they were written (`.jsonl`).
    #[default]
    Jsonl,
    /// A readable HTML transcript; media appear as placeholders with their file ids (`.html`).
    Html,
}

impl ExportFormat {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Html => "html",
        }
    }
}

impl std::str::FromStr for ExportFormat {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self, Error> {
        match value.trim().to_ascii_lowercase().as_str() {
            "jsonl" | "json" => Ok(ExportFormat::Jsonl),
            "html" => Ok(ExportFormat::Html),
            other => Err(Error::config(
                "--format",
                format!("`{other}` is neither `jsonl` nor `html`"),
            )),
        }
    }
}

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct ArchiveExport {
    /// One user's conversation only; `None`: every conversation in the archive.
    pub user: Option<UserId>,
    /// Only records dated at or after this (Unix seconds); the default takes all.
    pub since: Timestamp,
    /// The files' format.
    pub format: ExportFormat,
}

/// Writes one file per conversation into `dir` (created if missing), named `user-<id>.jsonl`
/// or `user-<id>.html`, and returns their paths in user id order. A conversation with no
/// record in the range gets no file.
pub async fn export_archive(
    store: &(impl Store + ?Sized),
    export: &ArchiveExport,
    dir: &Path,
) -> Result<Vec<PathBuf>, Error> {
    let users = match export.user {
        Some(user) => vec![user],
        None => store.archive_users(export.since).await?,
    };
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|source| Error::Export {
            path: dir.to_owned(),
            source,
        })?;
    let mut written = Vec::with_capacity(users.len());
    for user in users {
        let records = conversation_records(store, user, export.since).await?;
        if records.is_empty() {
            continue;
        }
        let body = match export.format {
            ExportFormat::Jsonl => jsonl_lines(&records),
            ExportFormat::Html => {
                let profile = store.conversation(user).await?.map(|c| c.profile);
                let copies = reply_targets(store, user, &records).await?;
                html_transcript_with(user, profile.as_ref(), &records, &copies)
            }
        };
        let path = dir.join(format!("user-{}.{}", user.0, export.format.extension()));
        tokio::fs::write(&path, body)
            .await
            .map_err(|source| Error::Export {
                path: path.clone(),
                source,
            })?;
        written.push(path);
    }
    Ok(written)
}

/// Where each reply's target was written, when the reply answers a copy: an operator replies
/// to the copy of the user's message in the topic, the user to the copy of an operator's in
/// their chat. Read from the desk's message links.
async fn reply_targets(
    store: &(impl Store + ?Sized),
    user: UserId,
    records: &[ArchiveRecord],
) -> Result<HashMap<Place, Place>, Error> {
    let mut targets = HashMap::new();
    for record in records {
        let Some(reply_to) = record.reply_to else {
            continue;
        };
        let (place, original) = if record.origin == Origin::Operator {
            let link = store.link_by_topic_message(reply_to).await?;
            let original = link
                .filter(|l| l.origin != Origin::Operator)
                .map(|l| (false, l.user_message.0));
            ((true, reply_to.0), original)
        } else {
            let link = store.link_by_user_message(user, reply_to).await?;
            let original = link
                .filter(|l| l.origin == Origin::Operator)
                .map(|l| (true, l.topic_message.0));
            ((false, reply_to.0), original)
        };
        if let Some(original) = original {
            targets.insert(place, original);
        }
    }
    Ok(targets)
}

/// `user`'s records dated `since` or later, in the order they were written.
pub async fn conversation_records(
    store: &(impl Store + ?Sized),
    user: UserId,
    since: Timestamp,
) -> Result<Vec<ArchiveRecord>, Error> {
    let mut records = Vec::new();
    let mut after = None;
    loop {
        let page = store.archived(user, since, after, PAGE).await?;
        let full = page.len() == PAGE;
        after = page.last().map(|a| a.id);
        records.extend(page.into_iter().map(|a| a.record));
        if !full {
            return Ok(records);
        }
    }
}

/// Reads a `--since` value: Unix seconds (`1767225600`), a day (`2026-01-01`, from midnight
/// UTC), an RFC 3339 time (`2026-01-01T08:00:00+01:00`), or days back from `now` (`30d`).
pub fn parse_since(value: &str, now: Timestamp) -> Result<Timestamp, Error> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return Ok(Timestamp(seconds));
    }
    if let Some(days) = value.strip_suffix('d').and_then(|d| d.parse::<i64>().ok()) {
        return Ok(now.plus_secs(-days.saturating_mul(86_400)));
    }
    let rfc3339 = time::format_description::well_known::Rfc3339;
    let day = format!("{value}T00:00:00Z");
    time::OffsetDateTime::parse(value, &rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(&day, &rfc3339))
        .map(|t| Timestamp(t.unix_timestamp()))
        .map_err(|_| {
            Error::config(
                "--since",
                format!(
                    "`{value}` is neither Unix seconds, a day (2026-01-01), an RFC 3339 time \
                     nor days back (30d)"
                ),
            )
        })
}

/// Who a record's author is, as the transcript names them.
pub(crate) fn author(record: &ArchiveRecord, profile: Option<&UserProfile>) -> String {
    match record.origin {
        Origin::User => {
            profile.map_or_else(|| format!("User {}", record.user.0), |p| p.display_name())
        }
        Origin::Operator => "Operator".to_owned(),
        Origin::Host => "Bot".to_owned(),
        _ => "Unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_seconds_days_dates_and_times() {
        let now = Timestamp(1_767_225_600 + 10 * 86_400);
        assert_eq!(
            parse_since("1767225600", now).unwrap(),
            Timestamp(1_767_225_600)
        );
        assert_eq!(
            parse_since("2026-01-01", now).unwrap(),
            Timestamp(1_767_225_600)
        );
        assert_eq!(
            parse_since("2026-01-01T01:00:00+01:00", now).unwrap(),
            Timestamp(1_767_225_600)
        );
        assert_eq!(parse_since("10d", now).unwrap(), Timestamp(1_767_225_600));
        let error = parse_since("last tuesday", now).unwrap_err().to_string();
        assert!(error.starts_with("--since:"), "{error}");
        assert_eq!(Timestamp(1_767_225_600).rfc3339(), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn formats_are_named_as_on_the_command_line() {
        assert_eq!("HTML".parse::<ExportFormat>().unwrap(), ExportFormat::Html);
        assert_eq!(
            "jsonl".parse::<ExportFormat>().unwrap(),
            ExportFormat::Jsonl
        );
        let error = "pdf".parse::<ExportFormat>().unwrap_err().to_string();
        assert!(error.starts_with("--format:"), "{error}");
    }
}
