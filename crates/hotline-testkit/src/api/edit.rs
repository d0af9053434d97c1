//! Changing what is already in a chat: edits, deletes, pins and the bot's reactions.

use serde_json::{Value, json};

use super::send::{formatted, inline_markup};
use super::{chat_id_param, message_ids, ok_true};
use crate::content::MEDIA_KINDS;
use crate::format;
use crate::params::{ApiError, ApiResult, Params, missing};
use crate::state::{State, now_unix};

#[derive(PartialEq)]
pub(super) enum Edit {
    Text,
    Caption,
    Markup,
}

pub(super) fn edit_message(st: &mut State, p: &Params, what: Edit) -> ApiResult {
    if p.has("inline_message_id") && !p.has("chat_id") {
        return Err(ApiError::bad("MESSAGE_ID_INVALID"));
    }
    let chat_id = chat_id_param(p, "chat_id")?;
    let message_id = p.req_i64("message_id")?;
    st.check_can_send(chat_id)?;
    let new_text = match what {
        Edit::Text => {
            let raw = p.opt_str("text").unwrap_or_default();
            let (t, e) = formatted(p, &raw, "entities")?;
            if t.trim().is_empty() {
                return Err(missing("text"));
            }
            if format::telegram_len(&t) > 4096 {
                return Err(ApiError::bad("message is too long"));
            }
            Some((t, e))
        }
        Edit::Caption => {
            let raw = p.opt_str("caption").unwrap_or_default();
            let (t, e) = formatted(p, &raw, "caption_entities")?;
            if format::telegram_len(&t) > 1024 {
                return Err(ApiError::bad("message caption is too long"));
            }
            Some((t, e))
        }
        Edit::Markup => None,
    };
    let markup = inline_markup(p)?;
    let bot_id = st.bot_id;
    let chat = st.chat(chat_id)?;
    let orig = chat
        .message(message_id)
        .ok_or_else(|| ApiError::bad("message to edit not found"))?;
    if orig["from"]["id"].as_i64() != Some(bot_id) {
        return Err(ApiError::bad("message can't be edited"));
    }
    let (tkey, ekey) = match what {
        Edit::Text => {
            if orig.get("text").is_none() {
                return Err(ApiError::bad("there is no text in the message to edit"));
            }
            ("text", "entities")
        }
        _ => {
            if what == Edit::Caption && !MEDIA_KINDS.iter().any(|k| orig.get(*k).is_some()) {
                return Err(ApiError::bad("there is no caption in the message to edit"));
            }
            ("caption", "caption_entities")
        }
    };
    if what != Edit::Markup {
        st.flood(chat_id)?;
    }
    let chat = st.chat_mut(chat_id)?;
    let pos = chat
        .position(message_id)
        .ok_or_else(|| ApiError::bad("message to edit not found"))?;
    let msg = chat.history[pos]
        .as_object_mut()
        .ok_or_else(|| ApiError::bad("message to edit not found"))?;
    let before = msg.clone();
    if let Some((t, e)) = new_text {
        if t.is_empty() {
            msg.remove(tkey);
        } else {
            msg.insert(tkey.into(), json!(t));
        }
        if e.is_empty() {
            msg.remove(ekey);
        } else {
            msg.insert(ekey.into(), Value::Array(e));
        }
    }
    match markup {
        Some(k) => {
            msg.insert("reply_markup".into(), k);
        }
        None => {
            msg.remove("reply_markup");
        }
    }
    if *msg == before {
        return Err(ApiError::bad(
            "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        ));
    }
    if what != Edit::Markup {
        msg.insert("edit_date".into(), json!(now_unix()));
    }
    Ok(Value::Object(msg.clone()))
}

fn delete_one(st: &mut State, chat_id: i64, message_id: i64) -> ApiResult<()> {
    let bot_id = st.bot_id;
    let chat = st.chat_mut(chat_id)?;
    let pos = chat
        .position(message_id)
        .ok_or_else(|| ApiError::bad("message to delete not found"))?;
    let m = &chat.history[pos];
    if m.get("forum_topic_created").is_some() {
        return Err(ApiError::bad("message can't be deleted"));
    }
    let own = m["from"]["id"].as_i64() == Some(bot_id);
    if chat.is_group() && !own && !chat.bot_is_admin() {
        return Err(ApiError::bad("message can't be deleted"));
    }
    chat.history.remove(pos);
    Ok(())
}

pub(super) fn delete_message(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = chat_id_param(p, "chat_id")?;
    let message_id = p.req_i64("message_id")?;
    delete_one(st, chat_id, message_id)?;
    ok_true()
}

pub(super) fn delete_messages(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = chat_id_param(p, "chat_id")?;
    st.chat(chat_id)?;
    for id in message_ids(p)? {
        let _ = delete_one(st, chat_id, id);
    }
    ok_true()
}

/// pinChatMessage / unpinChatMessage. Pinning posts the `pinned_message` service message in the
/// pinned message's topic, as Telegram does in groups.
pub(super) fn pin_message(st: &mut State, p: &Params, pin: bool) -> ApiResult {
    let chat_id = chat_id_param(p, "chat_id")?;
    let chat = st.chat(chat_id)?;
    if chat.is_group() && !chat.bot_is_admin() {
        return Err(ApiError::bad(
            "not enough rights to manage pinned messages in the chat",
        ));
    }
    let message_id = match p.opt_i64("message_id")? {
        Some(id) => id,
        None if !pin => match chat.pinned.last() {
            Some(id) => *id,
            None => return ok_true(),
        },
        None => p.req_i64("message_id")?,
    };
    let pinned = chat
        .message(message_id)
        .cloned()
        .ok_or_else(|| ApiError::bad("message to pin not found"))?;
    let is_group = chat.is_group();
    let chat = st.chat_mut(chat_id)?;
    chat.pinned.retain(|id| *id != message_id);
    if pin {
        chat.pinned.push(message_id);
        if is_group {
            let thread = pinned.get("message_thread_id").and_then(Value::as_i64);
            let bot = st.bot_user.clone();
            let mut service = st.new_message(chat_id, bot, thread, None)?;
            let mut inner = pinned;
            if let Some(object) = inner.as_object_mut() {
                object.remove("reply_to_message");
            }
            service.insert("pinned_message".into(), inner);
            let service = Value::Object(service);
            st.store(&service);
        }
    }
    ok_true()
}

pub(super) fn set_reaction(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = chat_id_param(p, "chat_id")?;
    let message_id = p.req_i64("message_id")?;
    st.check_can_send(chat_id)?;
    let reaction = p.opt_json("reaction")?.unwrap_or_else(|| json!([]));
    let list = reaction
        .as_array()
        .cloned()
        .ok_or_else(|| ApiError::bad("can't parse reaction types JSON object"))?;
    for r in &list {
        match r.get("type").and_then(Value::as_str) {
            Some("emoji") if r.get("emoji").and_then(Value::as_str).is_some() => {}
            Some("custom_emoji") | Some("paid") => {}
            _ => return Err(ApiError::bad("REACTION_INVALID")),
        }
    }
    let chat = st.chat_mut(chat_id)?;
    if chat.message(message_id).is_none() {
        return Err(ApiError::bad("message to react not found"));
    }
    chat.bot_reactions.insert(message_id, list);
    ok_true()
}
