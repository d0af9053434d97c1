//! Standalone runners: Hotline owns the bot's update stream.

mod polling;
mod settle;

pub(crate) use settle::SetAsideKeys;
mod webhook;

pub use polling::{ALLOWED_UPDATES, STOP_GRACE};
pub use webhook::WEBHOOK_SECRET_HEADER;

/// Resolves on Ctrl-C (SIGINT) or SIGTERM: pass it to a runner for a clean stop.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("hotline: shutting down");
}
