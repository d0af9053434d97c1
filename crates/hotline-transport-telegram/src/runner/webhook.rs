//! The webhook endpoint (axum).

use crate::Error;
use crate::hotline::Hotline;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use frankenstein::updates::Update;
use serde_json::json;
use std::future::Future;
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

    /// Serves [`Hotline::webhook_router`] on `addr` and registers `public_url` with Telegram
    /// (`setWebhook`, with the secret), until `shutdown` resolves.
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
            .map_err(|e| Error::Server(format!("binding {addr}: {e}")))?;
        self.client
            .call(
                "setWebhook",
                json!({"url": public_url, "secret_token": secret, "allowed_updates": super::polling::ALLOWED_UPDATES}),
            )
            .await?;
        let ticker = self.spawn_ticker(std::time::Duration::from_secs(60));
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| Error::Server(e.to_string()));
        ticker.abort();
        served
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
    let update: Update = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(error) => {
            // Answering an error would make Telegram send it again forever.
            tracing::warn!(%error, "hotline: a webhook update could not be decoded and was skipped");
            return StatusCode::OK;
        }
    };
    match state.hotline.handle_update(&update).completion.await {
        Ok(()) => StatusCode::OK,
        // Telegram sends it again later; what did complete is recorded and not repeated.
        Err(error) if error.is_transient() => {
            tracing::warn!(%error, "hotline: a webhook update failed; asking Telegram to resend it");
            StatusCode::SERVICE_UNAVAILABLE
        }
        Err(error) => {
            tracing::warn!(%error, "hotline: a webhook update could not be handled and was given up");
            StatusCode::OK
        }
    }
}
