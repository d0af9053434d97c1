//! The user base as a file (`/export [segment]`, [`Desk::export_users`]): one row per user of a
//! segment with id, name, username, language, tags, first and last contact and status, as CSV
//! or as JSON lines.

use crate::desk::Desk;
use crate::error::Error;
use crate::segment::Segment;
use crate::store::{Conversation, Tag};
use std::collections::HashSet;
use std::io::Write;

/// How `/export` writes the users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserExportFormat {
    /// Comma-separated values with a header line (RFC 4180 quoting), for spreadsheets.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl UserExportFormat {
    /// The file name's extension.
    pub fn extension(self) -> &'static str {
        match self {
            UserExportFormat::Csv => "csv",
            UserExportFormat::Jsonl => "jsonl",
        }
    }
}

/// The CSV header: the columns of every export, in order.
pub const CSV_HEADER: &str = "id,name,username,language,tags,first_contact,last_contact,status";

/// One user as an export writes them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserRow {
    /// The user's id.
    pub id: i64,
    /// First and last name ([`crate::UserProfile::display_name`]).
    pub name: String,
    /// `@username` without the `@`, if any.
    pub username: Option<String>,
    /// The language their client reported, if any.
    pub language: Option<String>,
    /// Their tags, in alphabetical order, without `#`.
    pub tags: Vec<String>,
    /// When the desk first met them (RFC 3339, UTC).
    pub first_contact: String,
    /// When they last wrote, to the hour (RFC 3339, UTC).
    pub last_contact: String,
    /// Where their conversation stands: `inactive`, `user_answered`, `support_answered`,
    /// `closed`.
    pub status: String,
}

impl UserRow {
    /// The row of `conversation`'s user, carrying `tags`.
    pub fn new(conversation: &Conversation, tags: &HashSet<Tag>) -> Self {
        let mut tags: Vec<String> = tags.iter().map(|t| t.as_str().to_owned()).collect();
        tags.sort_unstable();
        let profile = &conversation.profile;
        Self {
            id: conversation.user.0,
            name: profile.display_name(),
            username: profile.username.clone(),
            language: profile.language_code.clone(),
            tags,
            first_contact: conversation.first_seen.rfc3339(),
            last_contact: conversation.last_active.rfc3339(),
            status: conversation.status.as_str().to_owned(),
        }
    }

    /// The row as a CSV line (no line end); tags joined by spaces.
    pub fn csv(&self) -> String {
        let fields = [
            self.id.to_string(),
            self.name.clone(),
            self.username.clone().unwrap_or_default(),
            self.language.clone().unwrap_or_default(),
            self.tags.join(" "),
            self.first_contact.clone(),
            self.last_contact.clone(),
            self.status.clone(),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        quoted.join(",")
    }

    /// The row as one line of JSON (no line end).
    pub fn json(&self) -> String {
        // Strings and a list of strings always encode.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (quotes doubled). A
/// field that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a `'` in
/// front: names are written by users.
fn csv_field(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

impl Desk {
    /// Writes the users of `segment` to `out` in `format` (CSV with its header line, or JSON
    /// lines), in ascending id order; how many users were written. Banned users and users who
    /// blocked the bot are never in a segment. The store is read a page at a time.
    ///
    /// ```no_run
    /// # async fn demo(desk: hotline_core::Desk) -> Result<(), hotline_core::Error> {
    /// use hotline_core::{segment::Segment, user_export::UserExportFormat};
    /// let mut csv = Vec::new();
    /// let users = desk
    ///     .export_users(&Segment::parse("#vip").expect("a segment"), UserExportFormat::Csv, &mut csv)
    ///     .await?;
    /// # let _ = users;
    /// # Ok(()) }
    /// ```
    pub async fn export_users(
        &self,
        segment: &Segment,
        format: UserExportFormat,
        out: &mut (impl Write + Send),
    ) -> Result<usize, Error> {
        self.export_users_to(segment, &mut [(format, out)]).await
    }

    /// [`Desk::export_users`] into several outputs, each in its format, from one read of the
    /// user base (`/export` posts the CSV and the JSON lines of one segment).
    pub(crate) async fn export_users_to(
        &self,
        segment: &Segment,
        outs: &mut [(UserExportFormat, &mut (impl Write + Send))],
    ) -> Result<usize, Error> {
        let mut written = 0;
        let mut failed = None;
        for (format, out) in outs.iter_mut() {
            if *format == UserExportFormat::Csv {
                writeln!(out, "{CSV_HEADER}").map_err(write_error)?;
            }
        }
        segment
            .visit(self.store().as_ref(), self.now(), |conversation, tags| {
                if failed.is_some() {
                    return;
                }
                let row = UserRow::new(conversation, tags);
                for (format, out) in outs.iter_mut() {
                    let line = match format {
                        UserExportFormat::Csv => row.csv(),
                        UserExportFormat::Jsonl => row.json(),
                    };
                    if let Err(error) = writeln!(out, "{line}") {
                        failed = Some(error);
                        return;
                    }
                }
                written += 1;
            })
            .await?;
        match failed {
            Some(error) => Err(write_error(error)),
            None => Ok(written),
        }
    }
}

fn write_error(error: std::io::Error) -> Error {
    Error::Stopped(format!("the export could not be written: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Timestamp;
    use crate::message::UserProfile;

    fn row() -> UserRow {
        let mut conversation = Conversation::new(
            UserProfile::new(7, "Ann, \"the\" first")
                .with_last_name("Lee")
                .with_username("ann")
                .with_language("de"),
            Timestamp(1_767_225_600),
        );
        conversation.last_active = Timestamp(1_767_229_200);
        let tags: HashSet<Tag> = ["vip", "de"]
            .iter()
            .map(|t| Tag::parse(t).expect("a tag"))
            .collect();
        UserRow::new(&conversation, &tags)
    }

    #[test]
    fn a_row_in_csv_quotes_what_needs_it() {
        assert_eq!(
            row().csv(),
            "7,\"Ann, \"\"the\"\" first Lee\",ann,de,de vip,2026-01-01T00:00:00Z,2026-01-01T01:00:00Z,inactive"
        );
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(CSV_HEADER.split(',').count(), 8);
    }

    #[test]
    fn a_row_in_json_names_every_field() {
        let value: serde_json::Value = serde_json::from_str(&row().json()).expect("JSON");
        assert_eq!(value["id"], 7);
        assert_eq!(value["tags"], serde_json::json!(["de", "vip"]));
        assert_eq!(value["first_contact"], "2026-01-01T00:00:00Z");
        assert_eq!(value["status"], "inactive");
        assert_eq!(value["username"], "ann");
    }
}
