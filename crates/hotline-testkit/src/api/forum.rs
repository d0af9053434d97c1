//! Forum topics: a topic's id is the message id of its `forum_topic_created` service
//! message, and every change to a topic posts a service message into it.

use serde_json::{Map, Value, json};

use super::{chat_id_param, ok_true};
use crate::params::{ApiError, ApiResult, Params};
use crate::state::{DEFAULT_ICON_COLOR, ICON_COLORS, State, TopicRec};

fn forum_chat(st: &State, p: &Params) -> ApiResult<i64> {
    let chat_id = chat_id_param(p, "chat_id")?;
    let chat = st.chat(chat_id)?;
    if !chat.is_forum() {
        return Err(ApiError::bad("the chat is not a forum"));
    }
    Ok(chat_id)
}

fn live_topic(st: &State, chat_id: i64, thread_id: i64) -> ApiResult<()> {
    let chat = st.chat(chat_id)?;
    match chat.topics.get(&thread_id) {
        Some(t) if !t.deleted => Ok(()),
        _ => Err(ApiError::bad("message thread not found")),
    }
}

fn topic_mut(st: &mut State, chat_id: i64, thread_id: i64) -> ApiResult<&mut TopicRec> {
    st.chat_mut(chat_id)?
        .topics
        .get_mut(&thread_id)
        .ok_or_else(|| ApiError::bad("message thread not found"))
}

fn topic_service(
    st: &mut State,
    chat_id: i64,
    thread_id: i64,
    key: &str,
    payload: Value,
) -> ApiResult<Value> {
    let bot = st.bot_user.clone();
    let mut m = st.new_message(chat_id, bot, Some(thread_id), None)?;
    m.insert(key.into(), payload);
    let msg = Value::Object(m);
    st.store(&msg);
    Ok(msg)
}

pub(super) fn create_topic(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = forum_chat(st, p)?;
    let name = p.opt_str("name").unwrap_or_default();
    if !st.chat(chat_id)?.bot_is_admin() {
        return Err(ApiError::bad("not enough rights to create a topic"));
    }
    let len = name.chars().count();
    if len == 0 {
        return Err(ApiError::bad("TOPIC_TITLE_EMPTY"));
    }
    if len > 128 {
        return Err(ApiError::bad("TOPIC_TITLE_INVALID"));
    }
    let icon_color = p.opt_i64("icon_color")?.unwrap_or(DEFAULT_ICON_COLOR);
    if !ICON_COLORS.contains(&icon_color) {
        return Err(ApiError::bad("TOPIC_ICON_COLOR_INVALID"));
    }
    let emoji = p.opt_str("icon_custom_emoji_id").filter(|s| !s.is_empty());
    st.flood(chat_id)?;
    let chat = st.chat_mut(chat_id)?;
    let thread_id = chat.next_message_id;
    chat.topics.insert(
        thread_id,
        TopicRec {
            name: name.clone(),
            icon_color,
            icon_custom_emoji_id: emoji.clone(),
            is_closed: false,
            deleted: false,
        },
    );
    let mut created = json!({"name": name, "icon_color": icon_color});
    if let Some(e) = &emoji {
        created["icon_custom_emoji_id"] = json!(e);
    }
    let bot = st.bot_user.clone();
    let mut m = st.new_message(chat_id, bot, Some(thread_id), None)?;
    m.insert("forum_topic_created".into(), created);
    let msg = Value::Object(m);
    st.store(&msg);
    let mut topic = json!({"message_thread_id": thread_id, "name": name, "icon_color": icon_color});
    if let Some(e) = emoji {
        topic["icon_custom_emoji_id"] = json!(e);
    }
    Ok(topic)
}

pub(super) fn edit_topic(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = forum_chat(st, p)?;
    let thread_id = p.req_i64("message_thread_id")?;
    live_topic(st, chat_id, thread_id)?;
    if !st.chat(chat_id)?.bot_is_admin() {
        return Err(ApiError::bad("not enough rights to edit a topic"));
    }
    let name = p.opt_str("name");
    let emoji = p.opt_str("icon_custom_emoji_id");
    if let Some(n) = &name {
        let len = n.chars().count();
        if len == 0 {
            return Err(ApiError::bad("TOPIC_TITLE_EMPTY"));
        }
        if len > 128 {
            return Err(ApiError::bad("TOPIC_TITLE_INVALID"));
        }
    }
    st.flood(chat_id)?;
    let topic = topic_mut(st, chat_id, thread_id)?;
    let name_changed = name.as_ref().is_some_and(|n| *n != topic.name);
    let emoji_changed = emoji
        .as_ref()
        .is_some_and(|e| Some(e) != topic.icon_custom_emoji_id.as_ref());
    if !name_changed && !emoji_changed {
        return Err(ApiError::bad("TOPIC_NOT_MODIFIED"));
    }
    let mut edited = Map::new();
    if name_changed && let Some(n) = &name {
        topic.name = n.clone();
        edited.insert("name".into(), json!(n));
    }
    if emoji_changed {
        let e = emoji.unwrap_or_default();
        topic.icon_custom_emoji_id = (!e.is_empty()).then(|| e.clone());
        edited.insert("icon_custom_emoji_id".into(), json!(e));
    }
    topic_service(
        st,
        chat_id,
        thread_id,
        "forum_topic_edited",
        Value::Object(edited),
    )?;
    ok_true()
}

pub(super) fn close_topic(st: &mut State, p: &Params, close: bool) -> ApiResult {
    let chat_id = forum_chat(st, p)?;
    let thread_id = p.req_i64("message_thread_id")?;
    live_topic(st, chat_id, thread_id)?;
    if !st.chat(chat_id)?.bot_is_admin() {
        return Err(ApiError::bad("not enough rights to manage topics"));
    }
    st.flood(chat_id)?;
    let topic = topic_mut(st, chat_id, thread_id)?;
    if topic.is_closed == close {
        return Err(ApiError::bad("TOPIC_NOT_MODIFIED"));
    }
    topic.is_closed = close;
    let key = if close {
        "forum_topic_closed"
    } else {
        "forum_topic_reopened"
    };
    topic_service(st, chat_id, thread_id, key, json!({}))?;
    ok_true()
}

pub(super) fn delete_topic(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = forum_chat(st, p)?;
    let thread_id = p.req_i64("message_thread_id")?;
    live_topic(st, chat_id, thread_id)?;
    if !st.chat(chat_id)?.bot_is_admin() {
        return Err(ApiError::bad("not enough rights to delete a topic"));
    }
    st.flood(chat_id)?;
    st.delete_topic(chat_id, thread_id)
        .map_err(|_| ApiError::bad("message thread not found"))?;
    ok_true()
}
