//! Telegram's webhook as the gateway's upstream (instead of long polling).

use crate::Error;
use axum::Router;
use hotline_transport_telegram::Hotline;
use tokio_util::sync::CancellationToken;

/// Telegram's webhook as the gateway's upstream: the route that writes each update to the log,
/// on its own listener, and the registration that keeps Telegram asking for the right kinds.
pub(crate) struct TelegramWebhook {
    pub(crate) listener: tokio::net::TcpListener,
    pub(crate) router: Router,
    pub(crate) public_url: String,
    pub(crate) secret: String,
}

impl TelegramWebhook {
    /// Serves the route until `stop`, registering the webhook now and whenever the update kinds
    /// the consumers want change (each registration retried until Telegram takes it).
    pub(crate) async fn receive(
        self,
        hotline: &Hotline,
        stop: CancellationToken,
    ) -> Result<(), Error> {
        let serving = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(stop.clone().cancelled_owned());
        let log = hotline.update_log();
        let mut wanted = log.wanted_changed();
        let registering = async {
            loop {
                wanted.mark_unchanged();
                let params = serde_json::json!({
                    "url": self.public_url,
                    "secret_token": self.secret,
                    "allowed_updates": log.allowed_updates(),
                });
                let policy = hotline_core::RetryPolicy::outage();
                let mut failures = 0;
                while let Err(error) = hotline.client().call("setWebhook", params.clone()).await {
                    failures += 1;
                    tracing::warn!(%error, "hotline-gateway: setWebhook failed; retrying");
                    if stop.is_cancelled() {
                        return;
                    }
                    tokio::time::sleep(policy.backoff(failures)).await;
                }
                if wanted.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::select! {
            served = serving => served.map_err(Error::Io),
            () = async { registering.await; std::future::pending::<()>().await } => Ok(()),
        }
    }
}
