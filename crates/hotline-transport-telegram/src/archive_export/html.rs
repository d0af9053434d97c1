//! The HTML export: a transcript a person reads in a browser, one page per conversation.
//!
//! Every record is an `<article class="message">` carrying its origin, message id, kind and
//! version as `data-` attributes; media are placeholders naming the kind and the file id (the
//! file itself stays on Telegram). Formatting is rendered from Telegram's entities: the text
//! is cut at every span boundary and each piece wrapped in the tags of the spans covering it,
//! so overlapping spans still give well-formed HTML.

use super::author;
use super::jsonl::message_entity;
use hotline_core::store::{ArchiveRecord, Origin};
use hotline_core::{MessageKind, TextEntity, UserId, UserProfile};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write;

const STYLE: &str = "body{font-family:sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;\
color:#222}article{border-radius:.5rem;padding:.5rem .75rem;margin:.5rem 0;background:#f1f1f4}\
article.from-operator{background:#e3f0ff;margin-left:3rem}article.from-host{background:#eef7e8;\
margin-left:3rem}article.edit{opacity:.8;border-left:3px solid #999}header{font-size:.8rem;\
color:#555}.media{font-family:monospace;font-size:.85rem;color:#444}.reply{font-size:.8rem;\
color:#555}.spoiler{background:#bbb}pre{white-space:pre-wrap}";

/// A message's place: in the backend group (`true`: an operator's, or a copy there) or in the
/// user's private chat, and its id there.
pub(crate) type Place = (bool, i64);

/// The transcript of `user`'s conversation: every record, in the order they were written.
/// `profile` (the user as last seen) names them; without it they are `User <id>`. A reply
/// links to its target when the target has a record of its own in the same chat.
pub fn html_transcript(
    user: UserId,
    profile: Option<&UserProfile>,
    records: &[ArchiveRecord],
) -> String {
    html_transcript_with(user, profile, records, &HashMap::new())
}

/// [`html_transcript`], with `copies` telling which message a reply's target is a copy of
/// (a reply in a topic to the copy of the user's message links to the user's message).
pub(crate) fn html_transcript_with(
    user: UserId,
    profile: Option<&UserProfile>,
    records: &[ArchiveRecord],
    copies: &HashMap<Place, Place>,
) -> String {
    let who = profile.map_or_else(|| format!("User {}", user.0), UserProfile::display_name);
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Conversation with {name}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Conversation with {name}</h1>\n<p class=\"about\" data-user-id=\"{id}\">user id {id}\
         {username}, {count} messages</p>\n",
        name = escape(&who),
        id = user.0,
        username = profile
            .and_then(|p| p.username.as_deref())
            .map(|u| format!(", @{}", escape(u)))
            .unwrap_or_default(),
        count = records.len(),
    );
    // Which messages have a record of their own, per chat, so a reply can link to its target.
    let anchored: HashSet<Place> = records
        .iter()
        .filter(|r| r.edit == 0)
        .map(|r| (in_group(r.origin), r.message.0))
        .collect();
    for record in records {
        message(&mut page, record, profile, &anchored, copies);
    }
    page.push_str("</body>\n</html>\n");
    page
}

/// Whether the record's message id is one of the backend group (an operator's) rather than
/// of the user's private chat.
fn in_group(origin: Origin) -> bool {
    origin == Origin::Operator
}

fn anchor((in_group, message): Place) -> String {
    format!("m-{}-{message}", if in_group { "g" } else { "u" })
}

fn message(
    page: &mut String,
    record: &ArchiveRecord,
    profile: Option<&UserProfile>,
    anchored: &HashSet<Place>,
    copies: &HashMap<Place, Place>,
) {
    let id = if record.edit == 0 {
        format!(
            " id=\"{}\"",
            anchor((in_group(record.origin), record.message.0))
        )
    } else {
        String::new()
    };
    let class = if record.edit == 0 { "" } else { " edit" };
    let _ = write!(
        page,
        "<article class=\"message from-{origin}{class}\"{id} data-origin=\"{origin}\" \
         data-message-id=\"{message}\" data-kind=\"{kind}\" data-edit=\"{edit}\">\n<header>\
         <span class=\"who\">{who}</span> <time datetime=\"{date}\">{date}</time>{edited}</header>\n",
        origin = record.origin.as_str(),
        message = record.message.0,
        kind = record.kind.as_str(),
        edit = record.edit,
        who = escape(&author(record, profile)),
        date = record.time.rfc3339(),
        edited = if record.edit == 0 {
            ""
        } else {
            " <span class=\"edited\">(edited)</span>"
        },
    );
    if let Some(reply_to) = record.reply_to {
        let written = (in_group(record.origin), reply_to.0);
        let target = copies.get(&written).copied().unwrap_or(written);
        let _ = if anchored.contains(&target) {
            writeln!(
                page,
                "<p class=\"reply\">in reply to <a href=\"#{}\">message {}</a></p>",
                anchor(target),
                target.1
            )
        } else {
            writeln!(
                page,
                "<p class=\"reply\">in reply to message {}</p>",
                reply_to.0
            )
        };
    }
    if let Some(group) = &record.media_group {
        let _ = writeln!(
            page,
            "<p class=\"album\" data-media-group=\"{0}\">album {0}</p>",
            escape(group)
        );
    }
    if record.kind != MessageKind::Text {
        let _ = match (&record.file_id, record.kind) {
            (Some(file), kind) => writeln!(
                page,
                "<div class=\"media\" data-file-id=\"{file}\">[{kind}: file_id {file}]</div>",
                kind = kind.as_str(),
                file = escape(file),
            ),
            (None, MessageKind::Other) if record.text.is_none() => writeln!(
                page,
                "<div class=\"media\">[a message the desk passed on by its id (copied or \
                 forwarded by the bot, or posted as context): its content stays on Telegram]</div>"
            ),
            (None, kind) => writeln!(page, "<div class=\"media\">[{}]</div>", kind.as_str()),
        };
    }
    if let Some(text) = &record.text {
        let _ = writeln!(
            page,
            "<div class=\"text\">{}</div>",
            formatted(text, &record.entities)
        );
    }
    page.push_str("</article>\n");
}

/// `text` as HTML, its spans rendered as tags.
fn formatted(text: &str, entities: &[TextEntity]) -> String {
    let units: Vec<u16> = text.encode_utf16().collect();
    let spans: Vec<(usize, usize, Value)> = entities
        .iter()
        .filter_map(|e| {
            let end = e.offset.checked_add(e.length)?;
            (e.length > 0 && end <= units.len()).then(|| (e.offset, end, message_entity(e)))
        })
        .collect();
    let mut cuts: BTreeSet<usize> = BTreeSet::from([0, units.len()]);
    for (start, end, _) in &spans {
        cuts.insert(*start);
        cuts.insert(*end);
    }
    let cuts: Vec<usize> = cuts.into_iter().collect();
    let mut html = String::new();
    for window in cuts.windows(2) {
        let (start, end) = (window[0], window[1]);
        let mut piece = escape(&String::from_utf16_lossy(&units[start..end])).replace('\n', "<br>");
        // The first span is outermost: wrap from the last one covering the piece outwards.
        for (span_start, span_end, entity) in spans.iter().rev() {
            if *span_start <= start && end <= *span_end {
                let whole = String::from_utf16_lossy(&units[*span_start..*span_end]);
                piece = wrap(entity, &whole, &piece);
            }
        }
        html.push_str(&piece);
    }
    html
}

/// `inner` in the tags of one `MessageEntity` (`whole`: the span's full text, a `url`'s target).
fn wrap(entity: &Value, whole: &str, inner: &str) -> String {
    let kind = entity.get("type").and_then(Value::as_str).unwrap_or("");
    let link = |href: Option<String>| match href.filter(|h| safe_href(h)) {
        Some(href) => format!("<a href=\"{}\">{inner}</a>", escape(&href)),
        None => format!("<span class=\"link\">{inner}</span>"),
    };
    match kind {
        "bold" => format!("<strong>{inner}</strong>"),
        "italic" => format!("<em>{inner}</em>"),
        "underline" => format!("<u>{inner}</u>"),
        "strikethrough" => format!("<s>{inner}</s>"),
        "code" => format!("<code>{inner}</code>"),
        "pre" => format!("<pre><code>{inner}</code></pre>"),
        "blockquote" | "expandable_blockquote" => format!("<blockquote>{inner}</blockquote>"),
        "text_link" => link(entity.get("url").and_then(Value::as_str).map(str::to_owned)),
        "url" => link(Some(if whole.contains("://") {
            whole.to_owned()
        } else {
            format!("https://{whole}")
        })),
        "email" => link(Some(format!("mailto:{whole}"))),
        "text_mention" => link(
            entity
                .pointer("/user/id")
                .and_then(Value::as_i64)
                .map(|id| format!("tg://user?id={id}")),
        ),
        other => format!(
            "<span class=\"{}\">{inner}</span>",
            escape(if other.is_empty() { "entity" } else { other })
        ),
    }
}

/// Whether a link target is one a transcript may follow (no `javascript:` and the like).
fn safe_href(href: &str) -> bool {
    let lower = href.trim_start().to_ascii_lowercase();
    ["http://", "https://", "tg://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

/// `text` safe inside HTML text and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(offset: usize, length: usize, detail: &str) -> TextEntity {
        TextEntity {
            offset,
            length,
            detail: detail.to_owned(),
        }
    }

    #[test]
    fn spans_become_tags_counted_in_utf16_and_overlaps_stay_well_formed() {
        // "😀" is two UTF-16 units: the bold span starts after it.
        let html = formatted(
            "😀 bold <x> link",
            &[
                span(3, 4, r#"{"type":"bold"}"#),
                span(5, 5, r#"{"type":"italic"}"#),
                span(
                    12,
                    4,
                    r#"{"type":"text_link","url":"https://example.org/?a=1&b=2"}"#,
                ),
            ],
        );
        assert_eq!(
            html,
            "😀 <strong>bo</strong><strong><em>ld</em></strong><em> &lt;x</em>&gt; \
             <a href=\"https://example.org/?a=1&amp;b=2\">link</a>"
        );
    }

    #[test]
    fn unsafe_links_and_spans_past_the_text_are_not_followed() {
        let html = formatted(
            "click",
            &[
                span(0, 5, r#"{"type":"text_link","url":"javascript:alert(1)"}"#),
                span(2, 40, r#"{"type":"bold"}"#),
            ],
        );
        assert_eq!(html, "<span class=\"link\">click</span>");
    }
}
