//! How updates leave the fake: the webhook settings (getUpdates itself lives in the server,
//! as it waits).

use serde_json::{Value, json};

use super::ok_true;
use crate::params::{ApiError, ApiResult, Params};
use crate::state::{State, Webhook};

pub(super) fn set_webhook(st: &mut State, p: &Params) -> ApiResult {
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

pub(super) fn webhook_info(st: &State) -> Value {
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

pub(super) fn delete_webhook(st: &mut State, p: &Params) -> ApiResult {
    st.webhook = None;
    if p.opt_bool("drop_pending_updates") {
        st.updates.clear();
    }
    ok_true()
}
