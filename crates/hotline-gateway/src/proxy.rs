//! Every call the gateway does not answer itself goes to Telegram unchanged: query string,
//! headers a Bot API server reads, and the body streamed (uploads are never held whole); the
//! answer comes back verbatim. The bot's sends are mirrored into their users' topics.

use crate::{Gateway, params, refuse};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;

/// The request headers passed upstream (the rest are the hop's own).
const KEPT: [HeaderName; 3] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::USER_AGENT,
];

/// Whether `method` (lower case) answers with what the desk mirrors.
fn is_mirrored(method: &str) -> bool {
    (method.starts_with("send") && method != "sendchataction")
        || method.starts_with("copymessage")
        || method.starts_with("forwardmessage")
        || method.starts_with("editmessage")
}

fn upstream_headers(from: &HeaderMap, streamed: bool) -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    for name in KEPT {
        // A buffered body's length is set by reqwest itself.
        if name == header::CONTENT_LENGTH && !streamed {
            continue;
        }
        if let Some(value) = from.get(&name) {
            headers.insert(name, value.clone());
        }
    }
    headers
}

fn bad_gateway(error: reqwest::Error) -> Response {
    // reqwest's errors carry the URL, and so the token, unless told not to.
    let error = error.without_url();
    tracing::warn!(%error, "hotline-gateway: Telegram could not be reached");
    refuse(StatusCode::BAD_GATEWAY, "Bad Gateway")
}

/// The upstream URL of `path` (after `/bot<token>/` or `/file/bot<token>/`), with the query
/// string kept.
fn upstream_url(gateway: &Gateway, file: bool, path: &str, query: Option<&str>) -> String {
    let client = gateway.inner.hotline.client();
    let base = client.base_url();
    let token = client.token().expose_secret();
    let prefix = if file { "/file" } else { "" };
    match query {
        Some(query) => format!("{base}{prefix}/bot{token}/{path}?{query}"),
        None => format!("{base}{prefix}/bot{token}/{path}"),
    }
}

/// Passes `method` (as the bot wrote it, `test/...` included) through to Telegram.
pub(crate) async fn forward(gateway: &Gateway, method: &str, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let lower = method.to_ascii_lowercase();
    let streamed = content_type.starts_with("multipart/");
    let url = upstream_url(gateway, false, method, parts.uri.query());
    let http_method = if parts.method == axum::http::Method::GET {
        reqwest::Method::GET
    } else {
        reqwest::Method::POST
    };
    let mut upstream = gateway
        .inner
        .http
        .request(http_method, url)
        .headers(upstream_headers(&parts.headers, streamed));
    let mut chat_id = None;
    if streamed {
        upstream = upstream.body(reqwest::Body::wrap_stream(body.into_data_stream()));
    } else {
        let limit = gateway.inner.config.max_body;
        let Some(bytes) = params::read_bounded(body, limit).await else {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
        };
        if is_mirrored(&lower) {
            let query = params::query(parts.uri.query());
            chat_id = params::chat_id_of(&query, &content_type, &bytes);
        }
        if !bytes.is_empty() || parts.method != axum::http::Method::GET {
            upstream = upstream.body(bytes);
        }
    }
    let response = match upstream.send().await {
        Ok(response) => response,
        Err(error) => return bad_gateway(error),
    };
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::OK);
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .cloned();
    if is_mirrored(&lower) && status.is_success() {
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => return bad_gateway(error),
        };
        if let Ok(answer) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            gateway.inner.hotline.mirror_host_call(
                method.rsplit('/').next().unwrap_or(method),
                chat_id,
                &answer,
            );
        }
        return answered(status, content_type, Body::from(bytes));
    }
    answered(
        status,
        content_type,
        Body::from_stream(response.bytes_stream().map_err(|e| e.without_url())),
    )
}

fn answered(
    status: StatusCode,
    content_type: Option<reqwest::header::HeaderValue>,
    body: Body,
) -> Response {
    let mut response = (status, body).into_response();
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    response
}

/// `/file/bot<token>/<path>`: the file streamed from Telegram, `path` forwarded as written.
pub(crate) async fn file(gateway: &Gateway, path: &str, request: Request) -> Response {
    let url = upstream_url(gateway, true, path, request.uri().query());
    let mut upstream = gateway.inner.http.get(url);
    if let Some(agent) = request.headers().get(header::USER_AGENT) {
        upstream = upstream.header(header::USER_AGENT, agent.clone());
    }
    let response = match upstream.send().await {
        Ok(response) => response,
        Err(error) => return bad_gateway(error),
    };
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::OK);
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .cloned();
    let length = response
        .headers()
        .get(reqwest::header::CONTENT_LENGTH)
        .cloned();
    let mut answer = answered(
        status,
        content_type,
        Body::from_stream(response.bytes_stream().map_err(|e| e.without_url())),
    );
    if let Some(length) = length {
        answer.headers_mut().insert(header::CONTENT_LENGTH, length);
    }
    answer
}
