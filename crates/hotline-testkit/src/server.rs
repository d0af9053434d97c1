//! HTTP: the accept loop (TCP_NODELAY, dropped connections), the Bot API endpoint and the
//! `/_testkit/` control plane.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use crate::api;
use crate::limits::pick_faults;
use crate::model::{Fault, FloodLimits, MemberStatus, NewGroup, NewMessage, NewUser};
use crate::params::{ApiError, Params, Upload};
use crate::state::State;
use crate::{FakeTelegram, TestkitError};

/// Per-connection handle a handler uses to drop its connection.
#[derive(Clone)]
struct ConnKill(Arc<Notify>);

/// Accepts connections until shutdown; each one served by hyper (HTTP/1.1, keep-alive).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let kill = Arc::new(Notify::new());
            let k = ConnKill(kill.clone());
            let svc = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(k.clone());
                    let router = router.clone();
                    async move {
                        let resp = router.oneshot(req.map(Body::new)).await;
                        Ok::<_, Infallible>(resp.unwrap_or_else(|e| match e {}))
                    }
                },
            );
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = kill.notified() => {} // dropping `conn` closes the socket unanswered
                _ = shutdown.changed() => {}
            }
        });
    }
}

pub(crate) fn router(fake: FakeTelegram) -> Router {
    Router::new()
        .route("/{bot}/{method}", any(bot_api))
        .route("/file/{bot}/{*path}", get(file_download))
        .route("/_testkit/users", post(cp_add_user))
        .route("/_testkit/users/{id}/block", post(cp_block))
        .route("/_testkit/users/{id}/unblock", post(cp_unblock))
        .route("/_testkit/users/{id}/deactivate", post(cp_deactivate))
        .route("/_testkit/groups", post(cp_add_group))
        .route("/_testkit/groups/{chat_id}/members", post(cp_add_member))
        .route("/_testkit/groups/{chat_id}/topics", get(cp_topics))
        .route(
            "/_testkit/groups/{chat_id}/topics/{thread_id}/{action}",
            post(cp_topic_action),
        )
        .route("/_testkit/messages", post(cp_message))
        .route("/_testkit/edits", post(cp_edit))
        .route("/_testkit/callbacks", post(cp_callback))
        .route("/_testkit/callbacks/{id}", get(cp_callback_answer))
        .route("/_testkit/reactions", post(cp_react))
        .route("/_testkit/chats/{chat_id}/messages", get(cp_messages))
        .route("/_testkit/limits", put(cp_limits).post(cp_limits))
        .route("/_testkit/faults", post(cp_fault).delete(cp_clear_faults))
        .route("/_testkit/stats", get(cp_stats))
        .route("/_testkit/updates", get(cp_updates))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(fake)
}

fn json_response(status: u16, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(bytes))
        .unwrap_or_default()
}

fn api_error(e: &ApiError) -> Response {
    json_response(e.code, &e.envelope())
}

async fn not_found() -> Response {
    api_error(&ApiError::new(404, "Not Found"))
}

// ----- Bot API ---------------------------------------------------------------------------

async fn read_params(req: Request) -> Result<Params, ApiError> {
    let mut params = Params::default();
    if let Some(q) = req.uri().query() {
        params.add_urlencoded(q.as_bytes())?;
    }
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ctype.starts_with("multipart/form-data") {
        let mut mp = Multipart::from_request(req, &())
            .await
            .map_err(|_| ApiError::bad("can't parse multipart/form-data"))?;
        while let Some(field) = mp
            .next_field()
            .await
            .map_err(|_| ApiError::bad("can't parse multipart/form-data"))?
        {
            let name = field.name().unwrap_or("").to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_owned);
            let data = field
                .bytes()
                .await
                .map_err(|_| ApiError::bad("can't parse multipart/form-data"))?;
            if file_name.is_some() {
                params
                    .map
                    .insert(name.clone(), Value::String(format!("attach://{name}")));
                params.uploads.insert(
                    name,
                    Upload {
                        file_name,
                        content_type,
                        data,
                    },
                );
            } else {
                let text = String::from_utf8_lossy(&data).into_owned();
                params.map.insert(name, Value::String(text));
            }
        }
        return Ok(params);
    }
    let body: Bytes = axum::body::to_bytes(req.into_body(), 64 * 1024 * 1024)
        .await
        .map_err(|_| ApiError::bad("can't read request body"))?;
    if body.is_empty() {
        return Ok(params);
    }
    if ctype.starts_with("application/json") {
        params.add_json_body(&body)?;
    } else if ctype.starts_with("application/x-www-form-urlencoded") || ctype.is_empty() {
        // Some clients send a form body without a content type; try JSON when it looks so.
        if ctype.is_empty() && body.first() == Some(&b'{') {
            params.add_json_body(&body)?;
        } else {
            params.add_urlencoded(&body)?;
        }
    }
    Ok(params)
}

async fn bot_api(
    AxState(fake): AxState<FakeTelegram>,
    Path((bot, method)): Path<(String, String)>,
    req: Request,
) -> Response {
    let shared = &fake.shared;
    let kill = req.extensions().get::<ConnKill>().cloned();
    if req.method() != Method::GET && req.method() != Method::POST {
        return api_error(&ApiError::new(404, "Not Found"));
    }
    let Some(token) = bot.strip_prefix("bot") else {
        return api_error(&ApiError::new(404, "Not Found"));
    };
    let canonical = api::canonical(&method);
    let _in_progress = {
        let mut st = shared.lock();
        st.stats.total_calls += 1;
        if token != shared.token {
            drop(st);
            return api_error(&ApiError::new(401, "Unauthorized"));
        }
        let Some(canonical) = canonical else {
            // Counted under one spelling, as Telegram matches names case-insensitively.
            *st.stats
                .calls
                .entry(method.to_ascii_lowercase())
                .or_insert(0) += 1;
            drop(st);
            return api_error(&ApiError::new(404, "Not Found"));
        };
        *st.stats.calls.entry(canonical.to_owned()).or_insert(0) += 1;
        // Counted under the lock already held for the call's other counters. A long poll can
        // wait for minutes; only calls that act are counted.
        (canonical != "getUpdates").then(|| InProgress::start(&mut st, &fake))
    };
    let Some(canonical) = canonical else {
        return api_error(&ApiError::new(404, "Not Found"));
    };
    let params = match read_params(req).await {
        Ok(p) => p,
        Err(e) => return api_error(&e),
    };
    // Faults are picked once the parameters are known: a fault can be for one chat.
    let fault = {
        let mut st = shared.lock();
        let st = &mut *st;
        let chat_id = params.opt_i64("chat_id").ok().flatten();
        let f = pick_faults(&mut st.faults, canonical, chat_id, &mut st.rng);
        if f.is_some() {
            st.stats.faults_injected += 1;
        }
        f
    };
    let mut drop_after_acting = false;
    if let Some(f) = fault {
        if let Some(d) = f.latency {
            tokio::time::sleep(d).await;
        }
        if f.drop_connection {
            return drop_unanswered(&fake, kill).await;
        }
        drop_after_acting = f.drop_after_acting;
        if let Some(e) = f.error {
            shared.lock().calls.push(crate::model::Call {
                method: canonical.to_owned(),
                params: Value::Object(params.map),
                error_code: Some(e.code),
            });
            return api_error(&e);
        }
    }
    let result = if canonical == "getUpdates" {
        get_updates(&fake, &params).await.map(Answer::Updates)
    } else {
        let mut st = shared.lock();
        let r = api::call(&mut st, canonical, &params);
        let woke = std::mem::take(&mut st.new_updates);
        drop(st);
        if woke {
            shared.updates.notify_waiters();
        }
        r.map(Answer::Value)
    };
    fake.bump();
    shared.lock().calls.push(crate::model::Call {
        method: canonical.to_owned(),
        params: Value::Object(params.map),
        error_code: result.as_ref().err().map(|e| e.code),
    });
    if drop_after_acting {
        // The call has acted (state changed, logged); only its answer is lost.
        return drop_unanswered(&fake, kill).await;
    }
    match result {
        Ok(answer) => {
            if let Some(spec) = shared.spec
                && let Err(e) = spec.check_result(canonical, &answer.value())
            {
                tracing::error!(%e, "fake Telegram answered outside the Bot API spec");
                shared.lock().stats.spec_violations.push(e.to_string());
            }
            match answer {
                Answer::Value(v) => json_response(200, &json!({"ok": true, "result": v})),
                Answer::Updates(updates) => updates_response(&updates),
            }
        }
        Err(e) => api_error(&e),
    }
}

/// Closes the call's connection without an answer: the connection task drops the handler,
/// so this never returns while the connection lives.
async fn drop_unanswered(fake: &FakeTelegram, kill: Option<ConnKill>) -> Response {
    fake.shared.lock().stats.dropped_connections += 1;
    if let Some(k) = kill {
        k.0.notify_one();
        std::future::pending::<()>().await;
    }
    // Only a request that did not come through the accept loop has no connection to drop.
    api_error(&ApiError::new(500, "Internal Server Error"))
}

/// Counts a call in [`crate::Stats::calls_in_progress`] until dropped: when it is answered, or
/// when its connection goes and the handler is dropped with it.
struct InProgress(FakeTelegram);

impl InProgress {
    /// Counts the call in `st`, the fake's state, locked by the caller.
    fn start(st: &mut State, fake: &FakeTelegram) -> Self {
        st.stats.calls_in_progress += 1;
        Self(fake.clone())
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        let mut st = self.0.shared.lock();
        st.stats.calls_in_progress = st.stats.calls_in_progress.saturating_sub(1);
    }
}

/// A successful call's `result`.
enum Answer {
    Value(Value),
    /// `getUpdates`: the queued updates' JSON text, served without parsing it again.
    Updates(Vec<Bytes>),
}

impl Answer {
    fn value(&self) -> Value {
        match self {
            Answer::Value(v) => v.clone(),
            Answer::Updates(updates) => Value::Array(
                updates
                    .iter()
                    .map(|u| serde_json::from_slice(u).unwrap_or(Value::Null))
                    .collect(),
            ),
        }
    }
}

/// `{"ok":true,"result":[...]}` around updates already serialised.
fn updates_response(updates: &[Bytes]) -> Response {
    let mut body = Vec::with_capacity(32 + updates.iter().map(|u| u.len() + 1).sum::<usize>());
    body.extend_from_slice(br#"{"ok":true,"result":["#);
    for (i, update) in updates.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(update);
    }
    body.extend_from_slice(b"]}");
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_default()
}

async fn get_updates(fake: &FakeTelegram, p: &Params) -> Result<Vec<Bytes>, ApiError> {
    let shared = &fake.shared;
    let offset = p.opt_i64("offset")?.unwrap_or(0);
    let limit = p.opt_i64("limit")?.unwrap_or(100).clamp(1, 100) as usize;
    let timeout = p.opt_f64("timeout").unwrap_or(0.0).clamp(0.0, 3600.0);
    let allowed = match p.opt_json("allowed_updates")? {
        Some(v) => Some(api::parse_allowed(&v)?),
        None => None,
    };
    let webhook_conflict = || {
        ApiError::new(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        )
    };
    let generation = {
        let mut st = shared.lock();
        if st.webhook.is_some() {
            return Err(webhook_conflict());
        }
        if let Some(a) = allowed {
            st.allowed_updates = Some(a);
        }
        st.confirm(offset);
        st.poll_generation += 1;
        st.poll_generation
    };
    // An older long poll still waiting is answered 409, as on Telegram.
    shared.updates.notify_waiters();
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(timeout);
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let notified = shared.updates.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut st = shared.lock();
            if st.poll_generation != generation {
                return Err(ApiError::new(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                ));
            }
            if st.webhook.is_some() {
                return Err(webhook_conflict());
            }
            let batch = st.pending(offset, limit);
            if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
                st.stats.updates_delivered += batch.len() as u64;
                return Ok(batch);
            }
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = shutdown.changed() => return Ok(Vec::new()),
        }
    }
}

async fn file_download(
    AxState(fake): AxState<FakeTelegram>,
    Path((bot, path)): Path<(String, String)>,
) -> Response {
    if bot.strip_prefix("bot") != Some(fake.shared.token.as_str()) {
        return api_error(&ApiError::new(401, "Unauthorized"));
    }
    let st = fake.shared.lock();
    match st.files.values().find(|f| f.path() == path) {
        Some(f) => {
            let data = f
                .data
                .clone()
                .unwrap_or_else(|| Bytes::from(vec![0u8; f.size.min(1 << 20) as usize]));
            let mime = f
                .mime
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into());
            ([(header::CONTENT_TYPE, mime)], data).into_response()
        }
        None => api_error(&ApiError::new(404, "Not Found")),
    }
}

// ----- control plane ---------------------------------------------------------------------

fn cp_ok(v: Value) -> Response {
    json_response(200, &json!({"ok": true, "result": v}))
}

fn cp_err(e: &TestkitError) -> Response {
    json_response(
        e.status(),
        &json!({"ok": false, "error_code": e.status(), "description": e.to_string()}),
    )
}

fn cp_result(r: Result<Value, TestkitError>) -> Response {
    match r {
        Ok(v) => cp_ok(v),
        Err(e) => cp_err(&e),
    }
}

async fn cp_json<T: for<'de> Deserialize<'de>>(body: Bytes) -> Result<T, Response> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        Bytes::from_static(b"{}")
    } else {
        body
    };
    serde_json::from_slice(&body)
        .map_err(|e| cp_err(&TestkitError::Invalid(format!("bad JSON body: {e}"))))
}

async fn cp_add_user(AxState(f): AxState<FakeTelegram>, body: Bytes) -> Response {
    match cp_json::<NewUser>(body).await {
        Ok(u) => cp_ok(f.add_user(u)),
        Err(r) => r,
    }
}

async fn cp_add_group(AxState(f): AxState<FakeTelegram>, body: Bytes) -> Response {
    match cp_json::<NewGroup>(body).await {
        Ok(g) => cp_ok(f.add_group(g)),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct MemberBody {
    user_id: i64,
    #[serde(default)]
    status: MemberStatus,
}

async fn cp_add_member(
    AxState(f): AxState<FakeTelegram>,
    Path(chat_id): Path<i64>,
    body: Bytes,
) -> Response {
    match cp_json::<MemberBody>(body).await {
        Ok(m) => cp_result(
            f.add_member_as(chat_id, m.user_id, m.status)
                .map(|()| json!(true)),
        ),
        Err(r) => r,
    }
}

async fn cp_block(AxState(f): AxState<FakeTelegram>, Path(id): Path<i64>) -> Response {
    cp_result(f.set_blocked(id, true).map(|()| json!(true)))
}

async fn cp_unblock(AxState(f): AxState<FakeTelegram>, Path(id): Path<i64>) -> Response {
    cp_result(f.set_blocked(id, false).map(|()| json!(true)))
}

async fn cp_deactivate(AxState(f): AxState<FakeTelegram>, Path(id): Path<i64>) -> Response {
    cp_result(f.deactivate_user(id).map(|()| json!(true)))
}

async fn cp_message(AxState(f): AxState<FakeTelegram>, body: Bytes) -> Response {
    match cp_json::<NewMessage>(body).await {
        Ok(m) => cp_result(f.send_message(m)),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct EditBody {
    from: i64,
    chat_id: i64,
    message_id: i64,
    text: String,
}

async fn cp_edit(AxState(f): AxState<FakeTelegram>, body: Bytes) -> Response {
    match cp_json::<EditBody>(body).await {
        Ok(b) => cp_result(f.edit_message(b.from, b.chat_id, b.message_id, &b.text)),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct CallbackBody {
    from: i64,
    chat_id: i64,
    message_id: i64,
    data: String,
}

async fn cp_callback(AxState(f): AxState<FakeTelegram>, body: Bytes) -> Response {
    match cp_json::<CallbackBody>(body).await {
        Ok(b) => cp_result(f.press_button(b.from, b.chat_id, b.message_id, &b.data)),
        Err(r) => r,
    }
}

async fn cp_callback_answer(AxState(f): AxState<FakeTelegram>, Path(id): Path<String>) -> Response {
    cp_ok(f.callback_answer(&id).unwrap_or(Value::Null))
}

#[derive(Deserialize)]
struct ReactionBody {
    from: i64,
    chat_id: i64,
    message_id: i64,
    emoji: String,
}

async fn cp_react(AxState(f): AxState<FakeTelegram>, body: Bytes) -> Response {
    match cp_json::<ReactionBody>(body).await {
        Ok(b) => cp_result(f.react(b.from, b.chat_id, b.message_id, &b.emoji)),
        Err(r) => r,
    }
}

#[derive(Deserialize, Default)]
struct TopicActionBody {
    #[serde(default)]
    from: Option<i64>,
}

async fn cp_topic_action(
    AxState(f): AxState<FakeTelegram>,
    Path((chat_id, thread_id, action)): Path<(i64, i64, String)>,
    body: Bytes,
) -> Response {
    let b = match cp_json::<TopicActionBody>(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let by = || b.from.or_else(|| f.first_member(chat_id)).unwrap_or(0);
    match action.as_str() {
        "delete" => cp_result(f.delete_topic(chat_id, thread_id).map(|()| json!(true))),
        "close" => cp_result(f.close_topic(chat_id, thread_id, by())),
        "reopen" => cp_result(f.reopen_topic(chat_id, thread_id, by())),
        _ => not_found().await,
    }
}

#[derive(Deserialize)]
struct ThreadQuery {
    message_thread_id: Option<i64>,
}

async fn cp_messages(
    AxState(f): AxState<FakeTelegram>,
    Path(chat_id): Path<i64>,
    Query(q): Query<ThreadQuery>,
) -> Response {
    if !f.shared.lock().chats.contains_key(&chat_id) {
        return cp_err(&TestkitError::ChatNotFound(chat_id));
    }
    let list = match q.message_thread_id {
        Some(t) => f.thread_messages(chat_id, t),
        None => f.messages(chat_id),
    };
    cp_ok(Value::Array(list))
}

async fn cp_topics(AxState(f): AxState<FakeTelegram>, Path(chat_id): Path<i64>) -> Response {
    if !f.shared.lock().chats.contains_key(&chat_id) {
        return cp_err(&TestkitError::ChatNotFound(chat_id));
    }
    cp_ok(serde_json::to_value(f.topics(chat_id)).unwrap_or_default())
}

async fn cp_limits(AxState(f): AxState<FakeTelegram>, body: Bytes) -> Response {
    match cp_json::<FloodLimits>(body).await {
        Ok(l) => {
            f.set_limits(l.clone());
            cp_ok(serde_json::to_value(l).unwrap_or_default())
        }
        Err(r) => r,
    }
}

async fn cp_fault(AxState(f): AxState<FakeTelegram>, body: Bytes) -> Response {
    match cp_json::<Fault>(body).await {
        Ok(fault) => {
            f.inject_fault(fault.clone());
            cp_ok(serde_json::to_value(fault).unwrap_or_default())
        }
        Err(r) => r,
    }
}

async fn cp_clear_faults(AxState(f): AxState<FakeTelegram>) -> Response {
    f.clear_faults();
    cp_ok(json!(true))
}

async fn cp_stats(AxState(f): AxState<FakeTelegram>) -> Response {
    cp_ok(serde_json::to_value(f.stats()).unwrap_or_default())
}

async fn cp_updates(AxState(f): AxState<FakeTelegram>, _h: HeaderMap) -> Response {
    cp_ok(Value::Array(f.pending_updates()))
}
