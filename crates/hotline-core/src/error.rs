//! The crate's error type.

use crate::store::StoreError;
use crate::transport::TransportError;

/// Everything that can go wrong in the desk.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is invalid; `parameter` names it, `position` (1-based character)
    /// points at the fault in a list.
    #[error("{parameter}: {}{message}", position.map(|p| format!("at character {p}: ")).unwrap_or_default())]
    Config {
        /// The parameter, by its Hotline name.
        parameter: String,
        /// Where in the value, for list syntaxes.
        position: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The transport failed in a way the desk could not recover from.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// The desk could not handle the event at all (no runtime, or it was shut down).
    #[error("desk stopped: {0}")]
    Stopped(String),
}

impl Error {
    /// Whether handling the same event again later may succeed (the store or the messenger was
    /// unreachable), as opposed to an event that will never go through (a refused request).
    /// Runners use it to decide between retrying an update and giving it up.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Store(_) | Error::Stopped(_) => true,
            Error::Transport(error) => error.is_transient(),
            Error::Config { .. } => false,
        }
    }
}
