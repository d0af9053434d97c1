//! The bot's webhook, kept at the gateway: `setWebhook`, `deleteWebhook`, `getWebhookInfo`,
//! and the pusher that POSTs the bot's updates to its URL, in order, one at a time.

use crate::{Gateway, Webhook, lock, ok, params, read_params, refuse, store_failed};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hotline_core::RetryPolicy;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The header a webhook request carries its secret in.
const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

/// How long one delivery may take before it counts as failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

fn secret_is_valid(secret: &str) -> bool {
    (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub(crate) async fn set_webhook(gateway: &Gateway, request: Request) -> Response {
    let params = match read_params(gateway, request).await {
        Ok(params) => params,
        Err(refused) => return refused,
    };
    let url = params::string(&params, "url").unwrap_or_default();
    let url = url.trim().to_owned();
    let allowed = match params::string_list(&params, "allowed_updates") {
        None => None,
        Some(Ok(kinds)) => Some(kinds),
        Some(Err(why)) => return refuse(StatusCode::BAD_REQUEST, &format!("Bad Request: {why}")),
    };
    let secret = params::string(&params, "secret_token").filter(|s| !s.is_empty());
    if let Some(secret) = &secret
        && !secret_is_valid(secret)
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Bad Request: secret token contains unallowed characters",
        );
    }
    if !url.is_empty() && reqwest::Url::parse(&url).is_err() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Bad Request: bad webhook: Failed to resolve host: Name or service not known",
        );
    }
    let max_connections = params::int(&params, "max_connections")
        .unwrap_or(40)
        .clamp(1, 100);
    if params::boolean(&params, "drop_pending_updates")
        && let Err(error) = drop_pending(gateway).await
    {
        return store_failed(&error);
    }
    let hook = (!url.is_empty()).then_some(Webhook {
        url,
        secret_token: secret,
        max_connections,
    });
    let description = if hook.is_some() {
        "Webhook was set"
    } else {
        "Webhook was deleted"
    };
    let changed = gateway
        .update_settings(|s| {
            if let Some(kinds) = allowed {
                s.allowed = (!kinds.is_empty()).then_some(kinds);
            }
            s.webhook = hook;
        })
        .await;
    if let Err(error) = changed {
        return store_failed(&error);
    }
    *lock(&gateway.inner.last_error) = None;
    described(description)
}

fn described(description: &str) -> Response {
    let body = json!({"ok": true, "result": true, "description": description});
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Confirms everything the desk has taken in, for the bot.
async fn drop_pending(gateway: &Gateway) -> Result<(), hotline_core::StoreError> {
    let head = gateway.seen();
    if head > gateway.confirmed().await? {
        gateway.confirm(head).await?;
    }
    Ok(())
}

pub(crate) async fn delete_webhook(gateway: &Gateway, request: Request) -> Response {
    let params = match read_params(gateway, request).await {
        Ok(params) => params,
        Err(refused) => return refused,
    };
    if params::boolean(&params, "drop_pending_updates")
        && let Err(error) = drop_pending(gateway).await
    {
        return store_failed(&error);
    }
    let had = gateway.settings().webhook.is_some();
    if had && let Err(error) = gateway.update_settings(|s| s.webhook = None).await {
        return store_failed(&error);
    }
    *lock(&gateway.inner.last_error) = None;
    described(if had {
        "Webhook was deleted"
    } else {
        "Webhook is already deleted"
    })
}

pub(crate) async fn get_webhook_info(gateway: &Gateway, request: Request) -> Response {
    if let Err(refused) = read_params(gateway, request).await {
        return refused;
    }
    let settings = gateway.settings();
    let pending = match gateway.pending().await {
        Ok(pending) => pending,
        Err(error) => return store_failed(&error),
    };
    let mut info = json!({
        "url": settings.webhook.as_ref().map_or("", |h| h.url.as_str()),
        "has_custom_certificate": false,
        "pending_update_count": pending,
    });
    if let Some(hook) = &settings.webhook {
        info["max_connections"] = json!(hook.max_connections);
        if let Some((date, message)) = lock(&gateway.inner.last_error).clone() {
            info["last_error_date"] = json!(date);
            info["last_error_message"] = json!(message);
        }
    }
    if let Some(allowed) = &settings.allowed {
        info["allowed_updates"] = json!(allowed);
    }
    ok(info)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Delivers the bot's updates to its webhook while one is set, until the gateway stops.
pub(crate) async fn push(gateway: Gateway) {
    let policy = RetryPolicy::new(u32::MAX, Duration::from_secs(1), Duration::from_secs(60));
    let stop = gateway.inner.stop.clone();
    let mut changed = gateway.inner.settings_changed.subscribe();
    let mut desk_seen = gateway.inner.hotline.update_log().desk_seen();
    let mut failures: u32 = 0;
    while !stop.is_cancelled() {
        changed.mark_unchanged();
        let Some(hook) = gateway.settings().webhook else {
            failures = 0;
            tokio::select! {
                _ = changed.changed() => continue,
                () = stop.cancelled() => return,
            }
        };
        let seen = *desk_seen.borrow_and_update();
        let next = async {
            let confirmed = gateway.confirmed().await?;
            let visible = gateway.visible(confirmed, seen, 1).await?;
            if let Some(skipped) = visible.skipped_to.filter(|s| *s > confirmed) {
                gateway.confirm(skipped).await?;
            }
            Ok::<_, hotline_core::StoreError>(visible.updates.into_iter().next())
        };
        let next = match next.await {
            Ok(next) => next,
            Err(error) => {
                tracing::warn!(%error, "hotline-gateway: the update log cannot be read; retrying");
                failures = failures.saturating_add(1);
                tokio::select! {
                    () = tokio::time::sleep(policy.backoff(failures)) => {}
                    () = stop.cancelled() => return,
                }
                continue;
            }
        };
        let Some((id, update)) = next else {
            tokio::select! {
                _ = desk_seen.changed() => {}
                _ = changed.changed() => {}
                () = stop.cancelled() => return,
            }
            continue;
        };
        let delivered = tokio::select! {
            delivered = deliver(&gateway, &hook, &update) => delivered,
            // Changed or deleted meanwhile: start again with what is set now.
            _ = changed.changed() => continue,
            () = stop.cancelled() => return,
        };
        match delivered {
            Ok(reply) => {
                failures = 0;
                if let Err(error) = gateway.confirm(id).await {
                    tracing::warn!(%error, "hotline-gateway: a delivery could not be confirmed in the update log");
                }
                if let Some(reply) = reply {
                    execute_reply(&gateway, reply).await;
                }
            }
            Err(why) => {
                failures = failures.saturating_add(1);
                tracing::warn!(update_id = id.0, error = %why, "hotline-gateway: webhook delivery failed; retrying");
                *lock(&gateway.inner.last_error) = Some((unix_now(), why));
                tokio::select! {
                    () = tokio::time::sleep(policy.backoff(failures)) => {}
                    _ = changed.changed() => {}
                    () = stop.cancelled() => return,
                }
            }
        }
    }
}

/// POSTs one update; a 2xx answer's body is returned when it is a method call.
async fn deliver(
    gateway: &Gateway,
    hook: &Webhook,
    update: &Value,
) -> Result<Option<Value>, String> {
    let mut request = gateway
        .inner
        .http
        .post(&hook.url)
        .timeout(DELIVERY_TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(update.to_string());
    if let Some(secret) = &hook.secret_token {
        request = request.header(SECRET_HEADER, secret);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("Connection failed: {}", e.without_url()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!(
            "Wrong response from the webhook: {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or_default()
        ));
    }
    let body = response.bytes().await.unwrap_or_default();
    Ok(serde_json::from_slice::<Value>(&body)
        .ok()
        .filter(|v| v.get("method").and_then(Value::as_str).is_some()))
}

/// Executes a method call the bot answered a delivery with, upstream, and mirrors it as any
/// call of the bot's.
async fn execute_reply(gateway: &Gateway, mut reply: Value) {
    let Some(object) = reply.as_object_mut() else {
        return;
    };
    let Some(Value::String(method)) = object.remove("method") else {
        return;
    };
    let lower = method.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "getupdates" | "setwebhook" | "deletewebhook" | "getwebhookinfo" | "logout" | "close"
    ) {
        tracing::warn!(%method, "hotline-gateway: a webhook reply may not call this method; ignored");
        return;
    }
    let chat_id = match object.get("chat_id") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    let hotline = &gateway.inner.hotline;
    match hotline.client().call(&method, reply).await {
        Ok(result) => {
            hotline.mirror_host_call(&method, chat_id, &json!({"ok": true, "result": result}));
        }
        Err(error) => {
            tracing::warn!(%error, "hotline-gateway: the bot's webhook reply failed upstream");
        }
    }
}
