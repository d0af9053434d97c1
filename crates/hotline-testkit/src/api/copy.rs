//! Copies and forwards: a new bot message carrying the content of an existing one. A copy
//! carries no trace of its origin (a copied poll is a new poll); a forward keeps the
//! original's `forward_origin`, or names its sender.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::media::caption_content;
use super::send::{finish_bot_message, target};
use super::{chat_id_param, message_ids};
use crate::content::{CONTENT_KEYS, has_copyable_content};
use crate::params::{ApiError, ApiResult, Params, missing};
use crate::state::State;

/// Copy or forward: the two differ only in what the new message says about its origin.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Copy,
    Forward,
}

impl Kind {
    fn verb(self) -> &'static str {
        match self {
            Kind::Copy => "copy",
            Kind::Forward => "forward",
        }
    }

    /// The new message's content, from the original message `orig`.
    fn content(self, st: &mut State, orig: &Value) -> ApiResult<Map<String, Value>> {
        if !has_copyable_content(orig) {
            return Err(match self {
                Kind::Copy => ApiError::bad("message can't be copied"),
                Kind::Forward => ApiError::bad("message can't be forwarded"),
            });
        }
        let mut c = Map::new();
        for k in CONTENT_KEYS {
            if let Some(v) = orig.get(*k) {
                c.insert((*k).into(), v.clone());
            }
        }
        match self {
            Kind::Copy => {
                if let Some(poll) = c.get_mut("poll").and_then(Value::as_object_mut) {
                    poll.insert("id".into(), json!(st.next_poll.to_string()));
                    st.next_poll += 1;
                }
            }
            Kind::Forward => {
                let origin = match orig.get("forward_origin") {
                    Some(o) => o.clone(),
                    None => json!({
                        "type": "user",
                        "date": orig["date"].clone(),
                        "sender_user": orig["from"].clone(),
                    }),
                };
                c.insert("forward_origin".into(), origin);
            }
        }
        Ok(c)
    }
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
    let mut c = Kind::Copy.content(st, &orig)?;
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

pub(super) fn forward_message(st: &mut State, p: &Params) -> ApiResult {
    if !p.has("chat_id") {
        return Err(missing("chat_id"));
    }
    let message_id = p.req_i64("message_id")?;
    let orig = source(st, p, message_id, "forward")?;
    let c = Kind::Forward.content(st, &orig)?;
    let t = target(st, p, true)?;
    finish_bot_message(st, &t, &Params::default(), c)
}

pub(super) fn copy_messages(st: &mut State, p: &Params) -> ApiResult {
    many(st, p, Kind::Copy)
}

pub(super) fn forward_messages(st: &mut State, p: &Params) -> ApiResult {
    many(st, p, Kind::Forward)
}

/// copyMessages / forwardMessages: the messages that exist and can be carried, in order, as
/// one counted call; albums stay albums (under a new `media_group_id`). Answers their ids.
fn many(st: &mut State, p: &Params, kind: Kind) -> ApiResult {
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
    let mut groups: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    let plain = Params::default();
    for orig in originals {
        let Ok(mut c) = kind.content(st, &orig) else {
            continue;
        };
        if kind == Kind::Copy && p.opt_bool("remove_caption") {
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
        return Err(ApiError::bad(&format!(
            "there are no messages to {}",
            kind.verb()
        )));
    }
    Ok(Value::Array(out))
}
