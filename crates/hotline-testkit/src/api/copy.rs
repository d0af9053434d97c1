//! Copies and forwards: a new bot message carrying the content of an existing one. A copy
//! carries no trace of its origin; a forward keeps the original's `forward_origin`.

use serde_json::{Map, Value, json};

use super::media::caption_content;
use super::send::{finish_bot_message, target};
use super::{chat_id_param, message_ids};
use crate::content::{CONTENT_KEYS, MEDIA_KINDS};
use crate::params::{ApiError, ApiResult, Params, missing};
use crate::state::State;

fn copy_content(orig: &Value) -> ApiResult<Map<String, Value>> {
    let mut c = Map::new();
    for k in CONTENT_KEYS {
        if let Some(v) = orig.get(*k) {
            c.insert((*k).into(), v.clone());
        }
    }
    if !c.contains_key("text") && !MEDIA_KINDS.iter().any(|k| c.contains_key(*k)) {
        return Err(ApiError::bad("message can't be copied"));
    }
    Ok(c)
}

fn source(st: &State, p: &Params, message_id: i64, what: &str) -> ApiResult<Value> {
    let from_chat = chat_id_param(p, "from_chat_id")?;
    let chat = st.chat(from_chat)?;
    chat.message(message_id)
        .cloned()
        .ok_or_else(|| ApiError::bad(&format!("message to {what} not found")))
}

pub(super) fn copy_message(st: &mut State, p: &Params) -> ApiResult {
    if !p.has("chat_id") {
        return Err(missing("chat_id"));
    }
    let message_id = p.req_i64("message_id")?;
    let orig = source(st, p, message_id, "copy")?;
    let mut c = copy_content(&orig)?;
    if p.has("caption") || p.opt_bool("remove_caption") {
        c.remove("caption");
        c.remove("caption_entities");
        if !c.contains_key("text") {
            caption_content(p, &mut c)?;
        }
    }
    let t = target(st, p, true)?;
    let msg = finish_bot_message(st, &t, p, c)?;
    Ok(json!({ "message_id": msg["message_id"] }))
}

pub(super) fn copy_messages(st: &mut State, p: &Params) -> ApiResult {
    if !p.has("chat_id") {
        return Err(missing("chat_id"));
    }
    let ids = message_ids(p)?;
    if ids.windows(2).any(|w| w[0] >= w[1]) {
        return Err(ApiError::bad(
            "message identifiers must be in a strictly increasing order",
        ));
    }
    let from_chat = chat_id_param(p, "from_chat_id")?;
    let originals: Vec<Value> = {
        let chat = st.chat(from_chat)?;
        ids.iter()
            .filter_map(|id| chat.message(*id).cloned())
            .collect()
    };
    let t = target(st, p, true)?;
    let mut groups: std::collections::HashMap<String, String> = Default::default();
    let mut out = Vec::new();
    let plain = Params::default();
    for orig in originals {
        let Ok(mut c) = copy_content(&orig) else {
            continue;
        };
        if p.opt_bool("remove_caption") {
            c.remove("caption");
            c.remove("caption_entities");
        }
        if let Some(g) = orig.get("media_group_id").and_then(Value::as_str) {
            let next = &mut st.next_media_group;
            let new = groups.entry(g.to_owned()).or_insert_with(|| {
                let id = next.to_string();
                *next += 1;
                id
            });
            c.insert("media_group_id".into(), json!(new));
        }
        let msg = finish_bot_message(st, &t, &plain, c)?;
        out.push(json!({ "message_id": msg["message_id"] }));
    }
    if out.is_empty() {
        return Err(ApiError::bad("there are no messages to copy"));
    }
    Ok(Value::Array(out))
}

pub(super) fn forward_message(st: &mut State, p: &Params) -> ApiResult {
    if !p.has("chat_id") {
        return Err(missing("chat_id"));
    }
    let message_id = p.req_i64("message_id")?;
    let orig = source(st, p, message_id, "forward")?;
    let mut c = copy_content(&orig).map_err(|_| ApiError::bad("message can't be forwarded"))?;
    let origin = match orig.get("forward_origin") {
        Some(o) => o.clone(),
        None => json!({
            "type": "user",
            "date": orig["date"].clone(),
            "sender_user": orig["from"].clone(),
        }),
    };
    c.insert("forward_origin".into(), origin);
    let t = target(st, p, true)?;
    finish_bot_message(st, &t, &Params::default(), c)
}
