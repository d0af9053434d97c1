//! Reading chats, their members and administrators, users' profiles, and chat actions.

use serde_json::{Value, json};

use super::{chat_id_param, ok_true};
use crate::model::MemberStatus;
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

/// A ChatMember object for `user` with `status`.
fn member_json(user: Value, status: MemberStatus) -> Value {
    match status {
        MemberStatus::Member => json!({"status": "member", "user": user}),
        MemberStatus::Administrator => admin_rights(user),
        MemberStatus::LimitedAdministrator => {
            let mut rights = admin_rights(user);
            rights["can_restrict_members"] = json!(false);
            rights
        }
        MemberStatus::Creator => json!({"status": "creator", "user": user, "is_anonymous": false}),
    }
}

pub(super) fn get_chat_member(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = chat_id_param(p, "chat_id")?;
    let user_id = p.opt_i64("user_id")?.ok_or_else(|| missing("user_id"))?;
    let user = st
        .user_json(user_id)
        .ok_or_else(|| ApiError::bad("user not found"))?;
    let bot_id = st.bot_id;
    let chat = st.chat(chat_id)?;
    let left = || json!({"status": "left", "user": user.clone()});
    Ok(match &chat.kind {
        ChatKind::Private { user_id: owner } => {
            if user_id == *owner || user_id == bot_id {
                member_json(user.clone(), MemberStatus::Member)
            } else {
                left()
            }
        }
        ChatKind::Group {
            bot_is_admin,
            members,
            ..
        } => {
            if user_id == bot_id {
                let status = if *bot_is_admin {
                    MemberStatus::Administrator
                } else {
                    MemberStatus::Member
                };
                member_json(user.clone(), status)
            } else if let Some(status) = members.get(&user_id) {
                member_json(user.clone(), *status)
            } else {
                left()
            }
        }
    })
}

/// The group's creator first, then its administrators, then the bot when it is one (the only
/// bot here, so `return_bots` changes nothing).
pub(super) fn get_chat_administrators(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = chat_id_param(p, "chat_id")?;
    let chat = st.chat(chat_id)?;
    let ChatKind::Group {
        bot_is_admin,
        members,
        ..
    } = &chat.kind
    else {
        return Err(ApiError::bad(
            "there are no administrators in the private chat",
        ));
    };
    let mut admins = Vec::new();
    for wanted in [
        MemberStatus::Creator,
        MemberStatus::Administrator,
        MemberStatus::LimitedAdministrator,
    ] {
        for (id, status) in members {
            if *status == wanted
                && let Some(user) = st.user_json(*id)
            {
                admins.push(member_json(user, wanted));
            }
        }
    }
    if *bot_is_admin {
        admins.push(admin_rights(st.bot_user.clone()));
    }
    Ok(Value::Array(admins))
}

/// The members of a chat, the bot included.
pub(super) fn get_chat_member_count(st: &mut State, p: &Params) -> ApiResult {
    let chat_id = chat_id_param(p, "chat_id")?;
    let count = match &st.chat(chat_id)?.kind {
        ChatKind::Private { .. } => 2,
        ChatKind::Group { members, .. } => members.len() + 1,
    };
    Ok(json!(count))
}

/// Users here have no profile photos; a user the fake does not know is an error.
pub(super) fn get_user_profile_photos(st: &mut State, p: &Params) -> ApiResult {
    let user_id = p.opt_i64("user_id")?.ok_or_else(|| missing("user_id"))?;
    st.user_json(user_id)
        .ok_or_else(|| ApiError::bad("user not found"))?;
    Ok(json!({"total_count": 0, "photos": []}))
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
