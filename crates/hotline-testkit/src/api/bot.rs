//! The bot's own profile and settings: getMe, its commands, its menu button, and its answers
//! to inline button presses.

use serde_json::{Value, json};

use super::ok_true;
use crate::params::{ApiError, ApiResult, Params, missing};
use crate::state::{CallbackRec, State};

pub(super) fn get_me(st: &State) -> Value {
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

pub(super) fn answer_callback(st: &mut State, p: &Params) -> ApiResult {
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

pub(super) fn set_my_commands(st: &mut State, p: &Params) -> ApiResult {
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

pub(super) fn set_menu_button(st: &mut State, p: &Params) -> ApiResult {
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

pub(super) fn get_menu_button(st: &mut State, p: &Params) -> ApiResult {
    let chat_button = match p.opt_i64("chat_id")? {
        Some(id) => st.chat(id)?.menu_button.clone(),
        None => None,
    };
    Ok(chat_button
        .or_else(|| st.default_menu_button.clone())
        .unwrap_or_else(|| json!({"type": "default"})))
}

pub(super) fn get_my_commands(st: &mut State, p: &Params) -> ApiResult {
    Ok(st
        .commands
        .get(&commands_key(p)?)
        .cloned()
        .unwrap_or_else(|| json!([])))
}

pub(super) fn delete_my_commands(st: &mut State, p: &Params) -> ApiResult {
    st.commands.remove(&commands_key(p)?);
    ok_true()
}
