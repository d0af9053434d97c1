//! Sending a bot message: where it goes (chat, topic, reply), how its text is formatted, and
//! the checks every send shares, in Telegram's order (chat, block, topic, reply, flood limit).

use serde_json::{Map, Value, json};

use super::chat_id_param;
use crate::format;
use crate::params::{ApiError, ApiResult, Params, missing};
use crate::state::State;

/// Where a bot message goes: chat, topic, reply target. Checks chat, block, topic, reply.
pub(super) struct Target {
    pub(super) chat_id: i64,
    pub(super) thread: Option<i64>,
    pub(super) reply: Option<i64>,
}

pub(super) fn target(st: &mut State, p: &Params, counted: bool) -> ApiResult<Target> {
    let chat_id = chat_id_param(p, "chat_id")?;
    st.check_can_send(chat_id)?;
    let thread = p.opt_i64("message_thread_id")?;
    let (reply, allow) = reply_params(p)?;
    let (thread, reply) = st.resolve_reply(chat_id, thread, reply, allow)?;
    if let Some(t) = thread {
        st.check_thread(chat_id, t, true)?;
    }
    if counted {
        st.flood(chat_id)?;
    }
    Ok(Target {
        chat_id,
        thread,
        reply,
    })
}

fn reply_params(p: &Params) -> ApiResult<(Option<i64>, bool)> {
    if let Some(rp) = p.opt_json("reply_parameters")? {
        let id = rp
            .get("message_id")
            .and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .ok_or_else(|| ApiError::bad("can't parse reply parameters JSON object"))?;
        let allow = rp
            .get("allow_sending_without_reply")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        return Ok((Some(id), allow));
    }
    Ok((
        p.opt_i64("reply_to_message_id")?,
        p.opt_bool("allow_sending_without_reply"),
    ))
}

/// Validates and returns an inline keyboard for the Message, if `reply_markup` is one.
pub(super) fn inline_markup(p: &Params) -> ApiResult<Option<Value>> {
    let Some(markup) = p.opt_json("reply_markup")? else {
        return Ok(None);
    };
    let Some(rows) = markup.get("inline_keyboard") else {
        return Ok(None); // reply keyboards are not part of the Message object
    };
    let rows = rows.as_array().ok_or_else(|| {
        ApiError::bad("can't parse inline keyboard button: InlineKeyboardButtons must be an Array")
    })?;
    for row in rows {
        let row = row.as_array().ok_or_else(|| {
            ApiError::bad(
                "can't parse inline keyboard button: InlineKeyboardButtons must be an Array",
            )
        })?;
        for b in row {
            if b.get("text").and_then(Value::as_str).is_none() {
                return Err(ApiError::bad(
                    "can't parse inline keyboard button: Text must be a String",
                ));
            }
            if let Some(d) = b.get("callback_data").and_then(Value::as_str)
                && (d.is_empty() || d.len() > 64)
            {
                return Err(ApiError::bad("BUTTON_DATA_INVALID"));
            }
        }
    }
    Ok(Some(json!({ "inline_keyboard": rows })))
}

/// Text (or caption) with parse_mode / explicit entities applied.
pub(super) fn formatted(
    p: &Params,
    text: &str,
    entities_key: &str,
) -> ApiResult<(String, Vec<Value>)> {
    if let Some(e) = p.opt_json(entities_key)? {
        let arr = e
            .as_array()
            .cloned()
            .ok_or_else(|| ApiError::bad("can't parse entities JSON object"))?;
        return Ok((text.to_owned(), format::merge_auto(text, arr)));
    }
    match p.opt_str("parse_mode").filter(|m| !m.is_empty()) {
        Some(mode) => {
            let (t, e) = format::parse(text, &mode)?;
            let e = format::merge_auto(&t, e);
            Ok((t, e))
        }
        None => Ok((text.to_owned(), format::auto_entities(text))),
    }
}

pub(super) fn finish_bot_message(
    st: &mut State,
    t: &Target,
    p: &Params,
    content: Map<String, Value>,
) -> ApiResult {
    let markup = inline_markup(p)?;
    let bot = st.bot_user.clone();
    let mut m = st.new_message(t.chat_id, bot, t.thread, t.reply)?;
    m.extend(content);
    if p.opt_bool("protect_content") {
        m.insert("has_protected_content".into(), json!(true));
    }
    if let Some(k) = markup {
        m.insert("reply_markup".into(), k);
    }
    let msg = Value::Object(m);
    st.store(&msg);
    Ok(msg)
}

pub(super) fn send_message(st: &mut State, p: &Params) -> ApiResult {
    let raw = p.opt_str("text").unwrap_or_default();
    if !p.has("chat_id") {
        return Err(missing("chat_id"));
    }
    let (text, entities) = formatted(p, &raw, "entities")?;
    if text.trim().is_empty() {
        return Err(missing("text"));
    }
    if format::telegram_len(&text) > 4096 {
        return Err(ApiError::bad("message is too long"));
    }
    let t = target(st, p, true)?;
    let mut c = Map::new();
    c.insert("text".into(), json!(text));
    if !entities.is_empty() {
        c.insert("entities".into(), Value::Array(entities));
    }
    if let Some(lp) = p.opt_json("link_preview_options")?
        && lp.is_object()
    {
        c.insert("link_preview_options".into(), lp);
    }
    finish_bot_message(st, &t, p, c)
}
