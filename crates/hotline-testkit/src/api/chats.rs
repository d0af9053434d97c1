//! Reading chats and their members (getChat, getChatMember), and chat actions.

use serde_json::{Value, json};

use super::{chat_id_param, ok_true};
use crate::params::{ApiError, ApiResult, Params, missing};
use crate::state::{ChatKind, State};

pub(super) fn get_chat(st: &mut State, p: &Params) -> ApiResult {
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

pub(super) fn get_chat_member(st: &mut State, p: &Params) -> ApiResult {
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

pub(super) fn send_chat_action(st: &mut State, p: &Params) -> ApiResult {
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
