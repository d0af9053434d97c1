//! The Bot API methods, acting on the in-memory [`State`].

use serde_json::{Map, Value, json};

use crate::format;
use crate::params::{ApiError, ApiResult, Params, missing};
use crate::state::{
    CallbackRec, ChatKind, DEFAULT_ICON_COLOR, FileRec, ICON_COLORS, State, TopicRec, Webhook,
    now_unix,
};

/// Every Bot API method the fake server implements (canonical names).
pub const METHODS: &[&str] = &[
    "getMe",
    "logOut",
    "close",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "sendMessage",
    "forwardMessage",
    "copyMessage",
    "copyMessages",
    "sendPhoto",
    "sendDocument",
    "sendVideo",
    "sendAudio",
    "sendAnimation",
    "sendVoice",
    "sendVideoNote",
    "sendSticker",
    "sendMediaGroup",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "deleteMessage",
    "deleteMessages",
    "setMessageReaction",
    "pinChatMessage",
    "unpinChatMessage",
    "createForumTopic",
    "editForumTopic",
    "closeForumTopic",
    "reopenForumTopic",
    "deleteForumTopic",
    "getForumTopicIconStickers",
    "answerCallbackQuery",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "setChatMenuButton",
    "getChatMenuButton",
    "getChat",
    "getChatMember",
    "sendChatAction",
    "getFile",
];

/// The canonical name of a method, looked up case-insensitively.
pub(crate) fn canonical(method: &str) -> Option<&'static str> {
    METHODS
        .iter()
        .copied()
        .find(|m| m.eq_ignore_ascii_case(method))
}

const CONTENT_KEYS: &[&str] = &[
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

const MEDIA_KINDS: &[&str] = &[
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

fn ok_true() -> ApiResult {
    Ok(Value::Bool(true))
}

/// Calls a (non-long-polling) method. `method` is canonical.
pub(crate) fn call(st: &mut State, method: &str, p: &Params) -> ApiResult {
    match method {
        "getMe" => Ok(get_me(st)),
        "logOut" | "close" => ok_true(),
        "setWebhook" => set_webhook(st, p),
        "deleteWebhook" => {
            st.webhook = None;
            if p.opt_bool("drop_pending_updates") {
                st.updates.clear();
            }
            ok_true()
        }
        "getWebhookInfo" => Ok(webhook_info(st)),
        "sendMessage" => send_message(st, p),
        "forwardMessage" => forward_message(st, p),
        "copyMessage" => copy_message(st, p),
        "copyMessages" => copy_messages(st, p),
        "sendPhoto" => send_media(st, p, "photo"),
        "sendDocument" => send_media(st, p, "document"),
        "sendVideo" => send_media(st, p, "video"),
        "sendAudio" => send_media(st, p, "audio"),
        "sendAnimation" => send_media(st, p, "animation"),
        "sendVoice" => send_media(st, p, "voice"),
        "sendVideoNote" => send_media(st, p, "video_note"),
        "sendSticker" => send_media(st, p, "sticker"),
        "sendMediaGroup" => send_media_group(st, p),
        "editMessageText" => edit_message(st, p, Edit::Text),
        "editMessageCaption" => edit_message(st, p, Edit::Caption),
        "editMessageReplyMarkup" => edit_message(st, p, Edit::Markup),
        "deleteMessage" => delete_message(st, p),
        "deleteMessages" => delete_messages(st, p),
        "setMessageReaction" => set_reaction(st, p),
        "pinChatMessage" => pin_message(st, p, true),
        "unpinChatMessage" => pin_message(st, p, false),
        "createForumTopic" => create_topic(st, p),
        "editForumTopic" => edit_topic(st, p),
        "closeForumTopic" => close_topic(st, p, true),
        "reopenForumTopic" => close_topic(st, p, false),
        "deleteForumTopic" => delete_topic(st, p),
        "getForumTopicIconStickers" => Ok(json!([])),
        "answerCallbackQuery" => answer_callback(st, p),
        "setMyCommands" => set_my_commands(st, p),
        "getMyCommands" => Ok(st
            .commands
            .get(&commands_key(p)?)
            .cloned()
            .unwrap_or_else(|| json!([]))),
        "deleteMyCommands" => {
            st.commands.remove(&commands_key(p)?);
            ok_true()
        }
        "setChatMenuButton" => set_menu_button(st, p),
        "getChatMenuButton" => get_menu_button(st, p),
        "getChat" => get_chat(st, p),
        "getChatMember" => get_chat_member(st, p),
        "sendChatAction" => send_chat_action(st, p),
        "getFile" => get_file(st, p),
        _ => Err(ApiError::new(404, "Not Found")),
    }
}

fn get_me(st: &State) -> Value {
    let mut me = st.bot_user.clone();
    for (k, v) in [
        ("can_join_groups", true),
        ("can_read_all_group_messages", false),
        ("supports_inline_queries", false),
        ("can_connect_to_business", false),
        ("has_main_web_app", false),
        ("has_topics_enabled", false),
        ("allows_users_to_create_topics", false),
    ] {
        me[k] = json!(v);
    }
    me
}

// ----- webhook ---------------------------------------------------------------------------

fn set_webhook(st: &mut State, p: &Params) -> ApiResult {
    let url = p.opt_str("url").unwrap_or_default();
    if let Some(allowed) = p.opt_json("allowed_updates")? {
        st.allowed_updates = Some(parse_allowed(&allowed)?);
    }
    if p.opt_bool("drop_pending_updates") {
        st.updates.clear();
    }
    if url.is_empty() {
        st.webhook = None;
        return ok_true();
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(ApiError::bad(
            "bad webhook: An HTTPS URL must be provided for webhook",
        ));
    }
    let secret = p.opt_str("secret_token").filter(|s| !s.is_empty());
    if let Some(s) = &secret
        && (s.len() > 256
            || !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(ApiError::bad("secret token contains unallowed characters"));
    }
    st.webhook = Some(Webhook {
        url,
        secret_token: secret,
        max_connections: p.opt_i64("max_connections")?.unwrap_or(40),
        ip_address: p.opt_str("ip_address"),
    });
    st.webhook_last_error = None;
    st.new_updates = true; // wake the pusher for already queued updates
    ok_true()
}

pub(crate) fn parse_allowed(v: &Value) -> ApiResult<Vec<String>> {
    let arr = v
        .as_array()
        .ok_or_else(|| ApiError::bad("can't parse allowed updates"))?;
    Ok(arr
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect())
}

fn webhook_info(st: &State) -> Value {
    let mut info = json!({
        "url": st.webhook.as_ref().map_or("", |w| w.url.as_str()),
        "has_custom_certificate": false,
        "pending_update_count": st.updates.len(),
    });
    if let Some(w) = &st.webhook {
        info["max_connections"] = json!(w.max_connections);
        if let Some(ip) = &w.ip_address {
            info["ip_address"] = json!(ip);
        }
        if let Some((date, msg)) = &st.webhook_last_error {
            info["last_error_date"] = json!(date);
            info["last_error_message"] = json!(msg);
        }
    }
    if let Some(a) = &st.allowed_updates {
        info["allowed_updates"] = json!(a);
    }
    info
}

// ----- sending ---------------------------------------------------------------------------

/// The chat id parameter (an integer, or its string form; `@username` is unknown here).
fn chat_id_param(p: &Params, key: &str) -> ApiResult<i64> {
    if !p.has(key) {
        return Err(missing(key));
    }
    match p.opt_i64(key) {
        Ok(Some(id)) => Ok(id),
        _ => Err(ApiError::chat_not_found()),
    }
}

/// Where a bot message goes: chat, topic, reply target. Checks chat, block, topic, reply.
struct Target {
    chat_id: i64,
    thread: Option<i64>,
    reply: Option<i64>,
}

fn target(st: &mut State, p: &Params, counted: bool) -> ApiResult<Target> {
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
fn inline_markup(p: &Params) -> ApiResult<Option<Value>> {
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
fn formatted(p: &Params, text: &str, entities_key: &str) -> ApiResult<(String, Vec<Value>)> {
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

fn finish_bot_message(
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

fn send_message(st: &mut State, p: &Params) -> ApiResult {
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

fn caption_content(p: &Params, c: &mut Map<String, Value>) -> ApiResult<()> {
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

fn send_media(st: &mut State, p: &Params, kind: &str) -> ApiResult {
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

fn send_media_group(st: &mut State, p: &Params) -> ApiResult {
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
        let plain = Params::default();
        let bot = st.bot_user.clone();
        let mut m = st.new_message(t.chat_id, bot, t.thread, t.reply)?;
        m.extend(c);
        if p.opt_bool("protect_content") {
            m.insert("has_protected_content".into(), json!(true));
        }
        let _ = plain;
        let msg = Value::Object(m);
        st.store(&msg);
        out.push(msg);
    }
    Ok(Value::Array(out))
}

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

fn copy_message(st: &mut State, p: &Params) -> ApiResult {
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

fn message_ids(p: &Params) -> ApiResult<Vec<i64>> {
    let ids = p
        .opt_json("message_ids")?
        .ok_or_else(|| missing("message_ids"))?;
    let ids: Vec<i64> = ids
        .as_array()
        .ok_or_else(|| ApiError::bad("can't parse message identifiers JSON object"))?
        .iter()
        .filter_map(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .collect();
    if ids.is_empty() || ids.len() > 100 {
        return Err(ApiError::bad("message identifiers are not specified"));
    }
    Ok(ids)
}

fn copy_messages(st: &mut State, p: &Params) -> ApiResult {
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

fn forward_message(st: &mut State, p: &Params) -> ApiResult {
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

// ----- editing ---------------------------------------------------------------------------

#[derive(PartialEq)]
enum Edit {
    Text,
    Caption,
    Markup,
}

fn edit_message(st: &mut State, p: &Params, what: Edit) -> ApiResult {
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

fn delete_message(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = chat_id_param(p, "chat_id")?;
    let message_id = p.req_i64("message_id")?;
    delete_one(st, chat_id, message_id)?;
    ok_true()
}

fn delete_messages(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = chat_id_param(p, "chat_id")?;
    st.chat(chat_id)?;
    for id in message_ids(p)? {
        let _ = delete_one(st, chat_id, id);
    }
    ok_true()
}

/// pinChatMessage / unpinChatMessage. Pinning posts the `pinned_message` service message in the
/// pinned message's topic, as Telegram does in groups.
fn pin_message(st: &mut State, p: &Params, pin: bool) -> ApiResult {
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

fn set_reaction(st: &mut State, p: &Params) -> ApiResult {
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

// ----- forum topics ----------------------------------------------------------------------

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

fn create_topic(st: &mut State, p: &Params) -> ApiResult {
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

fn edit_topic(st: &mut State, p: &Params) -> ApiResult {
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
    let topic = st
        .chat_mut(chat_id)?
        .topics
        .get_mut(&thread_id)
        .ok_or_else(|| ApiError::bad("message thread not found"))?;
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

fn close_topic(st: &mut State, p: &Params, close: bool) -> ApiResult {
    let chat_id = forum_chat(st, p)?;
    let thread_id = p.req_i64("message_thread_id")?;
    live_topic(st, chat_id, thread_id)?;
    if !st.chat(chat_id)?.bot_is_admin() {
        return Err(ApiError::bad("not enough rights to manage topics"));
    }
    st.flood(chat_id)?;
    let topic = st
        .chat_mut(chat_id)?
        .topics
        .get_mut(&thread_id)
        .ok_or_else(|| ApiError::bad("message thread not found"))?;
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

fn delete_topic(st: &mut State, p: &Params) -> ApiResult {
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

// ----- misc ------------------------------------------------------------------------------

fn answer_callback(st: &mut State, p: &Params) -> ApiResult {
    let id = p.req_str("callback_query_id")?;
    let text = p.opt_str("text").unwrap_or_default();
    if text.chars().count() > 200 {
        return Err(ApiError::bad("MESSAGE_TOO_LONG"));
    }
    let rec: &mut CallbackRec = st
        .callbacks
        .get_mut(&id)
        .filter(|c| c.answer.is_none())
        .ok_or_else(|| missing("callback_query_id"))?;
    let mut answer = json!({"text": text, "show_alert": p.opt_bool("show_alert")});
    if let Some(u) = p.opt_str("url") {
        answer["url"] = json!(u);
    }
    rec.answer = Some(answer);
    ok_true()
}

fn commands_key(p: &Params) -> ApiResult<String> {
    let scope = p
        .opt_json("scope")?
        .map(|s| s.to_string())
        .unwrap_or_else(|| r#"{"type":"default"}"#.to_owned());
    Ok(format!(
        "{scope}|{}",
        p.opt_str("language_code").unwrap_or_default()
    ))
}

fn set_my_commands(st: &mut State, p: &Params) -> ApiResult {
    let cmds = p.opt_json("commands")?.ok_or_else(|| missing("commands"))?;
    let list = cmds
        .as_array()
        .ok_or_else(|| ApiError::bad("can't parse commands JSON object"))?;
    let mut clean = Vec::new();
    for c in list {
        let command = c.get("command").and_then(Value::as_str).unwrap_or("");
        let description = c.get("description").and_then(Value::as_str).unwrap_or("");
        let command = command.strip_prefix('/').unwrap_or(command);
        if command.is_empty()
            || command.len() > 32
            || !command
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        {
            return Err(ApiError::bad("BOT_COMMAND_INVALID"));
        }
        if description.is_empty() || description.chars().count() > 256 {
            return Err(ApiError::bad("BOT_COMMAND_DESCRIPTION_INVALID"));
        }
        clean.push(json!({"command": command, "description": description}));
    }
    if clean.len() > 100 {
        return Err(ApiError::bad("too many commands"));
    }
    st.commands.insert(commands_key(p)?, Value::Array(clean));
    ok_true()
}

fn set_menu_button(st: &mut State, p: &Params) -> ApiResult {
    let button = p
        .opt_json("menu_button")?
        .unwrap_or_else(|| json!({"type": "default"}));
    match button.get("type").and_then(Value::as_str) {
        Some("default" | "commands") => {}
        Some("web_app") if button.get("text").is_some() && button.get("web_app").is_some() => {}
        _ => return Err(ApiError::bad("can't parse menu button JSON object")),
    }
    match p.opt_i64("chat_id")? {
        Some(id) => st.chat_mut(id)?.menu_button = Some(button),
        None => st.default_menu_button = Some(button),
    }
    ok_true()
}

fn get_menu_button(st: &mut State, p: &Params) -> ApiResult {
    let chat_button = match p.opt_i64("chat_id")? {
        Some(id) => st.chat(id)?.menu_button.clone(),
        None => None,
    };
    Ok(chat_button
        .or_else(|| st.default_menu_button.clone())
        .unwrap_or_else(|| json!({"type": "default"})))
}

fn get_chat(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = chat_id_param(p, "chat_id")?;
    let chat = st.chat(chat_id)?;
    let mut info = chat.chat.clone();
    info["accent_color_id"] = json!(chat_id.rem_euclid(7));
    info["max_reaction_count"] = json!(11);
    info["accepted_gift_types"] = json!({
        "unlimited_gifts": false,
        "limited_gifts": false,
        "unique_gifts": false,
        "premium_subscription": false,
        "gifts_from_channels": false,
    });
    if let ChatKind::Group { .. } = chat.kind {
        info["permissions"] = json!({"can_send_messages": true});
    }
    Ok(info)
}

fn admin_rights(user: Value) -> Value {
    json!({
        "status": "administrator",
        "user": user,
        "can_be_edited": false,
        "is_anonymous": false,
        "can_manage_chat": true,
        "can_delete_messages": true,
        "can_manage_video_chats": true,
        "can_restrict_members": true,
        "can_promote_members": false,
        "can_change_info": true,
        "can_invite_users": true,
        "can_post_stories": false,
        "can_edit_stories": false,
        "can_delete_stories": false,
        "can_pin_messages": true,
        "can_manage_topics": true,
        "can_send_welcome_messages": false,
    })
}

fn get_chat_member(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = chat_id_param(p, "chat_id")?;
    let user_id = p.opt_i64("user_id")?.ok_or_else(|| missing("user_id"))?;
    let user = st
        .user_json(user_id)
        .ok_or_else(|| ApiError::bad("user not found"))?;
    let bot_id = st.bot_id;
    let chat = st.chat(chat_id)?;
    let member = |status: &str| json!({"status": status, "user": user.clone()});
    Ok(match &chat.kind {
        ChatKind::Private { user_id: owner } => {
            if user_id == *owner || user_id == bot_id {
                member("member")
            } else {
                member("left")
            }
        }
        ChatKind::Group {
            bot_is_admin,
            members,
            ..
        } => {
            if user_id == bot_id {
                if *bot_is_admin {
                    admin_rights(user.clone())
                } else {
                    member("member")
                }
            } else if members.contains(&user_id) {
                member("member")
            } else {
                member("left")
            }
        }
    })
}

fn send_chat_action(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = chat_id_param(p, "chat_id")?;
    st.check_can_send(chat_id)?;
    let action = p.req_str("action")?;
    const ACTIONS: &[&str] = &[
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ];
    if !ACTIONS.contains(&action.as_str()) {
        return Err(ApiError::bad("wrong parameter action in request"));
    }
    if let Some(t) = p.opt_i64("message_thread_id")? {
        st.check_thread(chat_id, t, true)?;
    }
    ok_true()
}

fn get_file(st: &mut State, p: &Params) -> ApiResult {
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

/// Used by the state for updates a method queues (none today: the bot's own actions never
/// produce updates); kept for symmetry with the control plane.
#[allow(dead_code)]
pub(crate) fn callback_answer(st: &State, id: &str) -> Option<Value> {
    st.callbacks.get(id).and_then(|c| c.answer.clone())
}
