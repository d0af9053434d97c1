//! The Bot API methods, acting on the in-memory [`State`]: the dispatch by canonical method
//! name, and the helpers every family of methods shares. Each family the fake models lives in
//! its own file; every other method of the spec gets a placeholder answer. A method changes
//! the state only when it answers `ok`.

mod bot;
mod catalog;
mod chats;
mod copy;
mod edit;
mod forum;
mod media;
mod placeholder;
mod send;
mod structured;
mod updates;

use serde_json::Value;

use crate::params::{ApiError, ApiResult, Params, missing};
use crate::state::State;

pub use catalog::VERSION as BOT_API_VERSION;
pub(crate) use updates::parse_allowed;

/// Every Bot API method the fake server models (canonical names). Every other method of Bot
/// API 10.1 is answered too, with a placeholder result (see [`Stats::not_modelled`]).
///
/// [`Stats::not_modelled`]: crate::Stats::not_modelled
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
    "forwardMessages",
    "sendPhoto",
    "sendDocument",
    "sendVideo",
    "sendAudio",
    "sendAnimation",
    "sendVoice",
    "sendVideoNote",
    "sendSticker",
    "sendMediaGroup",
    "sendContact",
    "sendLocation",
    "sendVenue",
    "sendPoll",
    "stopPoll",
    "sendDice",
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
    "getChatAdministrators",
    "getChatMemberCount",
    "getUserProfilePhotos",
    "sendChatAction",
    "getFile",
];

/// The canonical name of a Bot API method, looked up case-insensitively; `None` for a name
/// outside the Bot API.
pub(crate) fn canonical(method: &str) -> Option<&'static str> {
    catalog::lookup(method).map(|m| m.name)
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
        "forwardMessages" => copy::forward_messages(st, p),
        "sendPhoto" => media::send_media(st, p, "photo"),
        "sendDocument" => media::send_media(st, p, "document"),
        "sendVideo" => media::send_media(st, p, "video"),
        "sendAudio" => media::send_media(st, p, "audio"),
        "sendAnimation" => media::send_media(st, p, "animation"),
        "sendVoice" => media::send_media(st, p, "voice"),
        "sendVideoNote" => media::send_media(st, p, "video_note"),
        "sendSticker" => media::send_media(st, p, "sticker"),
        "sendMediaGroup" => media::send_media_group(st, p),
        "sendContact" => structured::send_contact(st, p),
        "sendLocation" => structured::send_location(st, p),
        "sendVenue" => structured::send_venue(st, p),
        "sendPoll" => structured::send_poll(st, p),
        "stopPoll" => structured::stop_poll(st, p),
        "sendDice" => structured::send_dice(st, p),
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
        "getChatAdministrators" => chats::get_chat_administrators(st, p),
        "getChatMemberCount" => chats::get_chat_member_count(st, p),
        "getUserProfilePhotos" => chats::get_user_profile_photos(st, p),
        "sendChatAction" => chats::send_chat_action(st, p),
        "getFile" => media::get_file(st, p),
        other => match catalog::lookup(other) {
            Some(m) => {
                *st.stats.not_modelled.entry(m.name.to_owned()).or_insert(0) += 1;
                placeholder::answer(st, m, p)
            }
            None => Err(ApiError::new(404, "Not Found")),
        },
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
