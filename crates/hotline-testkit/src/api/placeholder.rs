//! Answers for the Bot API methods the fake does not model (payments, stickers, business
//! accounts, stories, invite links...). Such a call is checked only for the parameters the
//! spec requires (and for a `chat_id` the fake knows), changes nothing, and answers the
//! smallest result the spec allows for its return type, so a client that merely calls one
//! gets a well-formed answer instead of a 404.

use serde_json::{Value, json};

use super::catalog::SpecMethod;
use super::chat_id_param;
use crate::params::{ApiResult, Params, missing};
use crate::state::{State, now_unix};

/// The answer to a call of `m`, a method the fake does not model.
pub(super) fn answer(st: &State, m: &SpecMethod, p: &Params) -> ApiResult {
    if let Some(key) = m.required.iter().find(|key| !p.has(key)) {
        return Err(missing(key));
    }
    let chat = if p.has("chat_id") {
        Some(st.chat(chat_id_param(p, "chat_id")?)?.chat.clone())
    } else {
        None
    };
    // "Message or True": a message when it names one by chat, `true` for inline messages.
    let returns = match m.returns {
        [one] => *one,
        several if chat.is_some() && several.contains(&"Message") => "Message",
        several => several.last().copied().unwrap_or("Boolean"),
    };
    Ok(value(st, m.name, returns, p, chat))
}

/// The smallest valid `returns` for method `method`. Every return type of the spec's methods
/// the fake does not model has an arm here; the coverage test checks each against the spec.
fn value(st: &State, method: &str, returns: &str, p: &Params, chat: Option<Value>) -> Value {
    let text = |key: &str| p.opt_str(key).unwrap_or_default();
    match returns {
        "Boolean" | "True" => json!(true),
        "Integer" => json!(0),
        "String" => json!(string_result(method, p)),
        array if array.starts_with("Array of ") => json!([]),
        "Message" => json!({
            // Nothing is stored: no message id is taken from the chat.
            "message_id": 0,
            "date": now_unix(),
            "chat": chat.unwrap_or_else(|| json!({"id": 0, "type": "private"})),
            "from": st.bot_user,
        }),
        "MessageId" => json!({"message_id": 0}),
        "ChatInviteLink" => json!({
            "invite_link": p
                .opt_str("invite_link")
                .unwrap_or_else(|| invite_link(p)),
            "creator": st.bot_user,
            "creates_join_request": p.opt_bool("creates_join_request"),
            "is_primary": false,
            "is_revoked": method == "revokeChatInviteLink",
        }),
        "Story" => json!({
            "chat": bot_chat(st),
            "id": p.opt_i64("story_id").ok().flatten().unwrap_or(1),
        }),
        "OwnedGifts" => json!({"total_count": 0, "gifts": []}),
        "StarAmount" => json!({"amount": 0}),
        "SentGuestMessage" => json!({"inline_message_id": "fake-inline-message"}),
        "SentWebAppMessage" => json!({}),
        "Gifts" => json!({"gifts": []}),
        "BusinessConnection" => json!({
            "id": text("business_connection_id"),
            "user": {"id": 1, "is_bot": false, "first_name": "Business"},
            "user_chat_id": 1,
            "date": now_unix(),
            "is_enabled": false,
        }),
        "BotAccessSettings" => json!({"is_access_restricted": false}),
        "ChatAdministratorRights" => json!({
            "is_anonymous": false,
            "can_manage_chat": false,
            "can_delete_messages": false,
            "can_manage_video_chats": false,
            "can_restrict_members": false,
            "can_promote_members": false,
            "can_change_info": false,
            "can_invite_users": false,
            "can_post_stories": false,
            "can_edit_stories": false,
            "can_delete_stories": false,
        }),
        "BotDescription" => json!({"description": ""}),
        "BotName" => json!({"name": st.bot_user["first_name"]}),
        "BotShortDescription" => json!({"short_description": ""}),
        "StarTransactions" => json!({"transactions": []}),
        "StickerSet" => json!({
            "name": text("name"),
            "title": text("name"),
            "sticker_type": "regular",
            "stickers": [],
        }),
        "UserChatBoosts" => json!({"boosts": []}),
        "UserProfileAudios" => json!({"total_count": 0, "audios": []}),
        "PreparedInlineMessage" => json!({
            "id": "fake-prepared-message",
            "expiration_date": now_unix() + 86_400,
        }),
        "PreparedKeyboardButton" => json!({"id": "fake-prepared-button"}),
        "File" => json!({"file_id": "FAKEFILE_PLACEHOLDER", "file_unique_id": "UPLACEHOLDER"}),
        // A type with no arm yet: the server's spec self-check reports the answer.
        _ => json!(true),
    }
}

/// String results: links look like links and tokens like tokens; anything else is empty.
fn string_result(method: &str, p: &Params) -> String {
    match method {
        "exportChatInviteLink" => invite_link(p),
        "createInvoiceLink" => "https://t.me/$fake-invoice".to_owned(),
        "getManagedBotToken" | "replaceManagedBotToken" => {
            format!(
                "{}:FAKE-managed-bot-token",
                p.opt_str("user_id").unwrap_or_default()
            )
        }
        _ => String::new(),
    }
}

fn invite_link(p: &Params) -> String {
    format!(
        "https://t.me/+fake{}",
        p.opt_str("chat_id")
            .unwrap_or_default()
            .trim_start_matches('-')
    )
}

/// The bot's own private chat, as the chat of what it posts as itself (stories).
fn bot_chat(st: &State) -> Value {
    json!({
        "id": st.bot_id,
        "type": "private",
        "first_name": st.bot_user["first_name"],
    })
}
