//! The Bot API methods the fake models, acting on the in-memory [`State`]: the dispatch by
//! canonical method name, and the helpers every family of methods shares. Each family lives in
//! its own file; a method changes the state only when it answers `ok`.

mod bot;
mod chats;
mod copy;
mod edit;
mod forum;
mod media;
mod send;
mod updates;

use serde_json::Value;

use crate::params::{ApiError, ApiResult, Params, missing};
use crate::state::State;

pub(crate) use updates::parse_allowed;

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

fn ok_true() -> ApiResult {
    Ok(Value::Bool(true))
}

/// Calls a (non-long-polling) method. `method` is canonical.
pub(crate) fn call(st: &mut State, method: &str, p: &Params) -> ApiResult {
    match method {
        "getMe" => Ok(bot::get_me(st)),
        "logOut" | "close" => ok_true(),
        "setWebhook" => updates::set_webhook(st, p),
        "deleteWebhook" => updates::delete_webhook(st, p),
        "getWebhookInfo" => Ok(updates::webhook_info(st)),
        "sendMessage" => send::send_message(st, p),
        "forwardMessage" => copy::forward_message(st, p),
        "copyMessage" => copy::copy_message(st, p),
        "copyMessages" => copy::copy_messages(st, p),
        "sendPhoto" => media::send_media(st, p, "photo"),
        "sendDocument" => media::send_media(st, p, "document"),
        "sendVideo" => media::send_media(st, p, "video"),
        "sendAudio" => media::send_media(st, p, "audio"),
        "sendAnimation" => media::send_media(st, p, "animation"),
        "sendVoice" => media::send_media(st, p, "voice"),
        "sendVideoNote" => media::send_media(st, p, "video_note"),
        "sendSticker" => media::send_media(st, p, "sticker"),
        "sendMediaGroup" => media::send_media_group(st, p),
        "editMessageText" => edit::edit_message(st, p, edit::Edit::Text),
        "editMessageCaption" => edit::edit_message(st, p, edit::Edit::Caption),
        "editMessageReplyMarkup" => edit::edit_message(st, p, edit::Edit::Markup),
        "deleteMessage" => edit::delete_message(st, p),
        "deleteMessages" => edit::delete_messages(st, p),
        "setMessageReaction" => edit::set_reaction(st, p),
        "pinChatMessage" => edit::pin_message(st, p, true),
        "unpinChatMessage" => edit::pin_message(st, p, false),
        "createForumTopic" => forum::create_topic(st, p),
        "editForumTopic" => forum::edit_topic(st, p),
        "closeForumTopic" => forum::close_topic(st, p, true),
        "reopenForumTopic" => forum::close_topic(st, p, false),
        "deleteForumTopic" => forum::delete_topic(st, p),
        "getForumTopicIconStickers" => Ok(Value::Array(Vec::new())),
        "answerCallbackQuery" => bot::answer_callback(st, p),
        "setMyCommands" => bot::set_my_commands(st, p),
        "getMyCommands" => bot::get_my_commands(st, p),
        "deleteMyCommands" => bot::delete_my_commands(st, p),
        "setChatMenuButton" => bot::set_menu_button(st, p),
        "getChatMenuButton" => bot::get_menu_button(st, p),
        "getChat" => chats::get_chat(st, p),
        "getChatMember" => chats::get_chat_member(st, p),
        "sendChatAction" => chats::send_chat_action(st, p),
        "getFile" => media::get_file(st, p),
        _ => Err(ApiError::new(404, "Not Found")),
    }
}

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

/// The `message_ids` parameter: 1 to 100 message ids.
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
