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

/// A short name for what a message holds (for summaries).
pub(crate) fn content_kind(m: &Value) -> &'static str {
    for k in MEDIA_KINDS {
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
