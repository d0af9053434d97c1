//! The webhook endpoint (axum).

use super::settle::Settled;
use crate::Error;
use crate::albums::Run;
use crate::decode::RawUpdate;
use crate::hotline::Hotline;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::json;
use std::future::Future;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The header Telegram puts the secret token in.
pub const WEBHOOK_SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

struct WebhookState {
    hotline: Hotline,
    secret: Box<[u8]>,
}

fn check_secret(secret: &str) -> Result<(), Error> {
    let valid = (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(Error::config(
            "HOTLINE_WEBHOOK_SECRET",
            "must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)",
        ))
    }
}

impl Hotline {
    /// An axum router taking Telegram's webhook POSTs at `/`. Requests without the right
    /// `X-Telegram-Bot-Api-Secret-Token` get 401 and change nothing (compared in constant time).
    /// The answer is sent once the desk has handled the update, so Telegram re-delivers what a
    /// crash interrupted.
    pub fn webhook_router(&self, secret: &str) -> Result<Router, Error> {
        check_secret(secret)?;
        let state = Arc::new(WebhookState {
            hotline: self.clone(),
            secret: secret.as_bytes().into(),
        });
        Ok(Router::new().route("/", post(receive)).with_state(state))
    }

    /// An axum router taking Telegram's webhook POSTs at `/` into the update log
    /// ([`Hotline::update_log`]) instead of handing them to the desk: for a process whose desk
    /// reads the log ([`Hotline::run_from_log`]) beside other consumers (the gateway). Each
    /// update is answered 200 once it is written (Telegram then forgets it), 500 if the store
    /// failed (Telegram sends it again). Requests without the right
    /// `X-Telegram-Bot-Api-Secret-Token` get 401 and change nothing.
    pub fn log_webhook_router(&self, secret: &str) -> Result<Router, Error> {
        check_secret(secret)?;
        let state = Arc::new(WebhookState {
            hotline: self.clone(),
            secret: secret.as_bytes().into(),
        });
        Ok(Router::new().route("/", post(append)).with_state(state))
    }

    /// Serves [`Hotline::webhook_router`] on `addr` and registers `public_url` with Telegram
    /// (`setWebhook`, with the secret), until `shutdown` resolves. Then it stops as
    /// [`Hotline::run_polling`] does: every wait is given up at once, the requests in hand are
    /// answered (200 for what was handled, 503 for the rest, which Telegram sends again) within
    /// [`crate::STOP_GRACE`], and it returns.
    pub async fn serve_webhook(
        &self,
        addr: SocketAddr,
        public_url: &str,
        secret: &str,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let router = self.webhook_router(secret)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Server {
                message: format!("binding {addr}"),
                source,
            })?;
        self.load_set_aside().await?;
        self.keep_delivering();
        self.client
            .call(
                "setWebhook",
                json!({"url": public_url, "secret_token": secret, "allowed_updates": super::polling::ALLOWED_UPDATES}),
            )
            .await?;
        let ticker = self.spawn_ticker(self.tick_every);
        let stop = self.desk.stop_signal().clone();
        let stopping = stop.clone();
        let signal = tokio::spawn(async move {
            shutdown.await;
            stopping.stop();
        });
        let serving = axum::serve(listener, router)
            .with_graceful_shutdown({
                let stop = stop.clone();
                async move { stop.stopped().await }
            })
            .into_future();
        tokio::pin!(serving);
        let served = tokio::select! {
            served = &mut serving => served,
            () = async {
                stop.stopped().await;
                tokio::time::sleep(super::polling::STOP_GRACE).await;
            } => {
                tracing::warn!("hotline: webhook requests still open at the end of the grace period were dropped");
                Ok(())
            }
        };
        ticker.abort();
        signal.abort();
        served.map_err(|source| Error::Server {
            message: "serving the webhook".into(),
            source,
        })
    }
}

async fn receive(
    State(state): State<Arc<WebhookState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let given = headers
        .get(WEBHOOK_SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(given.ct_eq(&state.secret)) {
        return StatusCode::UNAUTHORIZED;
    }
    let hotline = &state.hotline;
    let decoded = serde_json::from_slice::<RawUpdate>(&body).and_then(|update| {
        update
            .decode_caught(hotline.backend_group())
            .map(|d| (update, d))
    });
    let (update, decoded) = match decoded {
        Ok(read) => read,
        Err(error) => {
            // Answering an error would make Telegram send it again forever.
            tracing::warn!(%error, "hotline: a webhook update could not be decoded and was skipped");
            return StatusCode::OK;
        }
    };
    if let Some(id) = update.id()
        && hotline.set_aside_keys.holds_update(id)
    {
        return StatusCode::OK;
    }
    let completion = hotline.take_decoded(decoded, Run::Here).completion;
    match hotline.settle(&update, completion).await {
        Settled::Handled | Settled::SetAside => StatusCode::OK,
        // Telegram sends it again; what did complete is recorded and not repeated.
        Settled::Interrupted => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn append(
    State(state): State<Arc<WebhookState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let given = headers
        .get(WEBHOOK_SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(given.ct_eq(&state.secret)) {
        return StatusCode::UNAUTHORIZED;
    }
    #[derive(serde::Deserialize)]
    struct Id {
        update_id: i64,
    }
    let (Ok(payload), Ok(Id { update_id })) = (
        std::str::from_utf8(&body),
        serde_json::from_slice::<Id>(&body),
    ) else {
        // Answering an error would make Telegram send it again forever.
        tracing::warn!("hotline: a webhook update without a readable update_id was skipped");
        return StatusCode::OK;
    };
    let hotline = &state.hotline;
    let fetched = hotline_core::Fetched {
        upstream_id: update_id,
        payload: payload.to_owned(),
    };
    match hotline
        .update_log()
        .append(vec![fetched], hotline.desk.now())
        .await
    {
        Ok(_) => StatusCode::OK,
        Err(error) => {
            tracing::error!(%error, "hotline: a webhook update could not be written to the log; Telegram will send it again");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}
