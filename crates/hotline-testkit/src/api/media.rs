//! Files in and out: sends that carry a file (one, or an album) and getFile. A file is an
//! upload, an `http(s)://` URL, or a `file_id` the fake already knows; anything else is
//! refused as on Telegram.

use serde_json::{Map, Value, json};

use super::send::{finish_bot_message, formatted, target};
use crate::files::{FileRec, media_json};
use crate::format;
use crate::params::{ApiError, ApiResult, Params, missing};
use crate::state::State;

pub(super) fn caption_content(p: &Params, c: &mut Map<String, Value>) -> ApiResult<()> {
    if let Some(raw) = p.opt_str("caption") {
        let (cap, ents) = formatted(p, &raw, "caption_entities")?;
        if format::telegram_len(&cap) > 1024 {
            return Err(ApiError::bad("message caption is too long"));
        }
        if !cap.is_empty() {
            c.insert("caption".into(), json!(cap));
            if !ents.is_empty() {
                c.insert("caption_entities".into(), Value::Array(ents));
            }
        }
    }
    if p.opt_bool("has_spoiler") {
        c.insert("has_media_spoiler".into(), json!(true));
    }
    if p.opt_bool("show_caption_above_media") {
        c.insert("show_caption_above_media".into(), json!(true));
    }
    Ok(())
}

/// Resolves an InputFile or file_id value to a stored file.
fn input_file(st: &mut State, p: &Params, value: &str, kind: &str) -> ApiResult<FileRec> {
    if let Some(field) = value.strip_prefix("attach://") {
        let up = p
            .uploads
            .get(field)
            .ok_or_else(|| {
                ApiError::bad(&format!(
                    "file must be uploaded as multipart/form-data, field \"{field}\" not found"
                ))
            })?
            .clone();
        let mime = up.content_type.clone().or_else(|| default_mime(kind));
        return Ok(st.new_file(
            kind,
            up.data.len() as u64,
            up.file_name.clone(),
            mime,
            Some(up.data.clone()),
        ));
    }
    if let Some(f) = st.files.get(value) {
        return Ok(f.clone());
    }
    if value.starts_with("http://") || value.starts_with("https://") {
        let name = value.rsplit('/').next().map(str::to_owned);
        return Ok(st.new_file(kind, 4096, name, default_mime(kind), None));
    }
    Err(ApiError::bad("wrong file identifier/HTTP URL specified"))
}

fn default_mime(kind: &str) -> Option<String> {
    match kind {
        "video" | "animation" => Some("video/mp4".into()),
        "voice" => Some("audio/ogg".into()),
        "audio" => Some("audio/mpeg".into()),
        "document" => Some("application/octet-stream".into()),
        _ => None,
    }
}

pub(super) fn send_media(st: &mut State, p: &Params, kind: &str) -> ApiResult {
    if !p.has("chat_id") {
        return Err(missing("chat_id"));
    }
    let value = p.opt_str(kind).ok_or_else(|| missing(kind))?;
    let mut c = Map::new();
    caption_content(p, &mut c)?;
    let t = target(st, p, true)?;
    let f = input_file(st, p, &value, kind)?;
    let duration = p.opt_i64("duration")?;
    c.insert(kind.into(), media_json(kind, &f, duration));
    if kind == "animation" {
        c.insert("document".into(), media_json("document", &f, None));
    }
    finish_bot_message(st, &t, p, c)
}

pub(super) fn send_media_group(st: &mut State, p: &Params) -> ApiResult {
    if !p.has("chat_id") {
        return Err(missing("chat_id"));
    }
    let media = p.opt_json("media")?.ok_or_else(|| missing("media"))?;
    let items = media
        .as_array()
        .ok_or_else(|| ApiError::bad("can't parse media JSON object"))?
        .clone();
    if !(2..=10).contains(&items.len()) {
        return Err(ApiError::bad(
            "wrong number of messages in the album: must include 2-10 items",
        ));
    }
    let t = target(st, p, true)?;
    let mut contents = Vec::new();
    for item in &items {
        let kind = item
            .get("type")
            .and_then(Value::as_str)
            .filter(|k| matches!(*k, "photo" | "video" | "document" | "audio"))
            .ok_or_else(|| ApiError::bad("can't parse InputMedia: unsupported type"))?
            .to_owned();
        let value = item
            .get("media")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::bad("can't parse InputMedia: media not found"))?
            .to_owned();
        let f = input_file(st, p, &value, &kind)?;
        let mut ip = Params::from_json(item.clone());
        ip.uploads = Default::default();
        let mut c = Map::new();
        caption_content(&ip, &mut c)?;
        c.insert(kind.clone(), media_json(&kind, &f, None));
        contents.push(c);
    }
    let group_id = st.next_media_group.to_string();
    st.next_media_group += 1;
    let mut out = Vec::new();
    for mut c in contents {
        c.insert("media_group_id".into(), json!(group_id));
        let bot = st.bot_user.clone();
        let mut m = st.new_message(t.chat_id, bot, t.thread, t.reply)?;
        m.extend(c);
        if p.opt_bool("protect_content") {
            m.insert("has_protected_content".into(), json!(true));
        }
        let msg = Value::Object(m);
        st.store(&msg);
        out.push(msg);
    }
    Ok(Value::Array(out))
}

pub(super) fn get_file(st: &mut State, p: &Params) -> ApiResult {
    let id = p.req_str("file_id")?;
    let f = st
        .files
        .get(&id)
        .ok_or_else(|| ApiError::bad("invalid file_id"))?;
    Ok(json!({
        "file_id": f.file_id,
        "file_unique_id": f.file_unique_id,
        "file_size": f.size,
        "file_path": f.path(),
    }))
}
