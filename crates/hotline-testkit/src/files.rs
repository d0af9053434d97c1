//! Files the fake knows, and the Bot API objects (PhotoSize, Document, Video...) that show
//! them in a message.

use bytes::Bytes;
use serde_json::{Map, Value, json};

/// A file the fake knows: uploaded by the bot, given by URL, or named by a test. Its
/// `file_id` is what messages carry; its bytes (uploads only) are served at `path()`.
#[derive(Debug, Clone)]
pub(crate) struct FileRec {
    pub(crate) file_id: String,
    pub(crate) file_unique_id: String,
    pub(crate) kind: String,
    pub(crate) size: u64,
    pub(crate) name: Option<String>,
    pub(crate) mime: Option<String>,
    pub(crate) data: Option<Bytes>,
}

impl FileRec {
    /// The `file_path` getFile gives, under `/file/bot<TOKEN>/`.
    pub(crate) fn path(&self) -> String {
        format!("{}s/{}", self.kind, self.file_unique_id)
    }
}

/// The Bot API object for a file sent as `kind`.
pub(crate) fn media_json(kind: &str, f: &FileRec, duration: Option<i64>) -> Value {
    let mut o = Map::new();
    o.insert("file_id".into(), json!(f.file_id));
    o.insert("file_unique_id".into(), json!(f.file_unique_id));
    let duration = duration.unwrap_or(1);
    match kind {
        "photo" => {
            o.insert("width".into(), json!(1280));
            o.insert("height".into(), json!(960));
        }
        "video" | "animation" => {
            o.insert("width".into(), json!(640));
            o.insert("height".into(), json!(480));
            o.insert("duration".into(), json!(duration));
        }
        "audio" | "voice" => {
            o.insert("duration".into(), json!(duration));
        }
        "video_note" => {
            o.insert("length".into(), json!(240));
            o.insert("duration".into(), json!(duration));
        }
        "sticker" => {
            o.insert("type".into(), json!("regular"));
            o.insert("width".into(), json!(512));
            o.insert("height".into(), json!(512));
            o.insert("is_animated".into(), json!(false));
            o.insert("is_video".into(), json!(false));
        }
        _ => {}
    }
    if matches!(kind, "document" | "audio" | "animation")
        && let Some(n) = &f.name
    {
        o.insert("file_name".into(), json!(n));
    }
    if matches!(kind, "document" | "audio" | "animation" | "video" | "voice")
        && let Some(m) = &f.mime
    {
        o.insert("mime_type".into(), json!(m));
    }
    o.insert("file_size".into(), json!(f.size));
    if kind == "photo" {
        Value::Array(vec![Value::Object(o)])
    } else {
        Value::Object(o)
    }
}
