//! What a message holds: the keys that make up its content, and a short name for it.

use serde_json::Value;

/// The keys of a message that a copy or a forward carries over.
pub(crate) const CONTENT_KEYS: &[&str] = &[
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "document",
    "video",
    "audio",
    "animation",
    "voice",
    "video_note",
    "sticker",
    "contact",
    "location",
    "venue",
    "poll",
    "dice",
    "has_media_spoiler",
    "show_caption_above_media",
];

/// The keys of a message that hold a file.
pub(crate) const MEDIA_KINDS: &[&str] = &[
    "photo",
    "document",
    "video",
    "audio",
    "animation",
    "voice",
    "video_note",
    "sticker",
];

/// The keys of a message that hold structured data (no text, no file).
pub(crate) const STRUCTURED_KINDS: &[&str] = &["venue", "contact", "location", "poll", "dice"];

/// Whether a message holds something a copy can carry: text, a file or structured data.
pub(crate) fn has_copyable_content(m: &Value) -> bool {
    m.get("text").is_some()
        || MEDIA_KINDS
            .iter()
            .chain(STRUCTURED_KINDS)
            .any(|k| m.get(*k).is_some())
}

/// A short name for what a message holds (for summaries).
pub(crate) fn content_kind(m: &Value) -> &'static str {
    for k in MEDIA_KINDS.iter().chain(STRUCTURED_KINDS) {
        if m.get(*k).is_some() {
            return k;
        }
    }
    for k in [
        "forum_topic_created",
        "forum_topic_edited",
        "forum_topic_closed",
        "forum_topic_reopened",
    ] {
        if m.get(k).is_some() {
            return k;
        }
    }
    if m.get("text").is_some() {
        "text"
    } else {
        "other"
    }
}
