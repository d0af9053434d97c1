//! The crate's error type.

use crate::retry::Interrupted;
use crate::store::StoreError;
use crate::transport::TransportError;
use std::sync::Arc;

/// Everything that can go wrong in the desk. Underlying errors are kept as the
/// [`source`](std::error::Error::source); [`chain`] prints the whole chain on one line.
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
    Transport(#[source] TransportError),
    /// Handling the event panicked (a bug in a policy, a decoder, a store or a transport): the
    /// event failed, nothing else did.
    #[error("handling the event panicked: {0}")]
    Panicked(String),
    /// A stop cut the handling short (a wait was abandoned): the event was not handled, and a
    /// runner does not confirm it, so it comes again after a restart.
    #[error("interrupted by a stop")]
    Interrupted(#[from] Interrupted),
    /// The event failed on every attempt it was given (see `DeskBuilder::event_retry`); the
    /// source is the last failure.
    #[error("gave up after {attempts} attempts: {source}")]
    Exhausted {
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        source: Box<Error>,
    },
    /// The desk could not take the event at all (no Tokio runtime, or the runtime shut down
    /// before the event was handled).
    #[error("desk stopped: {0}")]
    Stopped(String),
    /// The album (or other group of updates handled as one) that this update belongs to failed;
    /// the source is that failure, shared by every part.
    #[error("the album this message belongs to failed: {0}")]
    Album(#[source] Arc<Error>),
}

impl From<TransportError> for Error {
    fn from(error: TransportError) -> Self {
        match error {
            // A stop is the desk's, not the messenger's: the event is interrupted, not failed.
            TransportError::Interrupted => Error::Interrupted(Interrupted),
            other => Error::Transport(other),
        }
    }
}

impl Error {
    /// Whether handling the same event again later may succeed (the store or the messenger was
    /// unreachable), as opposed to an event that will fail the same way every time (a refused
    /// request, corrupt data, a panic). Runners retry the first kind for as long as nothing at
    /// all goes through (an outage), and a bounded number of times otherwise.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Store(error) => error.is_transient(),
            Error::Transport(error) => error.is_transient(),
            Error::Album(error) => error.is_transient(),
            Error::Exhausted { source, .. } => source.is_transient(),
            Error::Config { .. }
            | Error::Panicked(_)
            | Error::Interrupted(_)
            | Error::Stopped(_) => false,
        }
    }

    /// A short name for the kind of failure, like `transport: bad request` or `store: backend`:
    /// failures of one kind have one cause to fix, so [`crate::report_unobserved`] shows one
    /// of each.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config { .. } => "config",
            Error::Store(StoreError::Conflict { .. }) => "store: conflict",
            Error::Store(StoreError::Backend { .. }) => "store: backend",
            Error::Store(StoreError::Corrupt { .. }) => "store: corrupt",
            Error::Transport(error) => match error {
                TransportError::RetryAfter(_) => "transport: rate limited",
                TransportError::TopicGone => "transport: topic gone",
                TransportError::UserBlocked => "transport: user blocked",
                TransportError::BadRequest(_) => "transport: bad request",
                TransportError::Unavailable(_) => "transport: unavailable",
                TransportError::Other(_) => "transport: other",
                TransportError::Interrupted => "interrupted",
            },
            Error::Panicked(_) => "panic",
            Error::Interrupted(_) => "interrupted",
            Error::Exhausted { source, .. } => source.kind(),
            Error::Stopped(_) => "stopped",
            Error::Album(error) => error.kind(),
        }
    }

    /// Whether the event was not handled because the desk is stopping (not a failure of the
    /// event: it must not be counted against it, nor confirmed).
    pub fn is_interrupted(&self) -> bool {
        match self {
            Error::Interrupted(_) | Error::Stopped(_) => true,
            Error::Album(error) => error.is_interrupted(),
            Error::Exhausted { source, .. } => source.is_interrupted(),
            _ => false,
        }
    }

    /// How many attempts the event was given before it was given up, if it was.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            Error::Exhausted { attempts, .. } => Some(*attempts),
            Error::Album(error) => error.attempts(),
            _ => None,
        }
    }

    /// Whether handling panicked.
    pub fn is_panic(&self) -> bool {
        match self {
            Error::Panicked(_) => true,
            Error::Album(error) => error.is_panic(),
            Error::Exhausted { source, .. } => source.is_panic(),
            _ => false,
        }
    }
}

/// An error and its sources on one line, `outer: inner: innermost`, for logs and records.
///
/// ```
/// use hotline_core::{Error, StoreError, error_chain};
/// let error = Error::from(StoreError::backend("commit").caused_by("connection reset"));
/// assert_eq!(
///     error_chain(&error).to_string(),
///     "store: store backend failed: commit: connection reset"
/// );
/// ```
pub fn chain<'a>(error: &'a (dyn std::error::Error + 'static)) -> Chain<'a> {
    Chain(error)
}

/// Displays an error with its sources; see [`chain`].
#[derive(Debug, Clone, Copy)]
pub struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut next = self.0.source();
        while let Some(source) = next {
            let text = source.to_string();
            // An error that already prints its source's text would repeat it.
            if !shown.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            shown = text;
            next = source.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_outages_are_transient_and_only_stops_interrupt() {
        let outage = Error::from(StoreError::backend("commit"));
        assert!(outage.is_transient() && !outage.is_interrupted());
        let corrupt = Error::from(StoreError::corrupt("status"));
        assert!(
            !corrupt.is_transient(),
            "corrupt data fails the same way every time"
        );
        let panic = Error::Panicked("index out of bounds".into());
        assert!(!panic.is_transient() && panic.is_panic());
        let stop = Error::from(Interrupted);
        assert!(stop.is_interrupted() && !stop.is_transient());
        let album = Error::Album(Arc::new(outage));
        assert!(
            album.is_transient(),
            "an album's part is what its album was"
        );
        assert!(
            chain(&album)
                .to_string()
                .ends_with("store backend failed: commit")
        );
    }

    #[test]
    fn a_store_failure_in_an_album_keeps_its_kind_and_source() {
        use std::error::Error as _;
        let cause = std::io::Error::other("disk full");
        let shared = Arc::new(Error::from(StoreError::backend("commit").caused_by(cause)));
        let part = Error::Album(shared);
        let inner = part.source().expect("the album's failure");
        let Some(Error::Store(StoreError::Backend { source, .. })) =
            inner.downcast_ref::<Arc<Error>>().map(|e| e.as_ref())
        else {
            panic!("not a store error: {inner:?}");
        };
        assert_eq!(source.as_ref().expect("a cause").to_string(), "disk full");
        assert_eq!(
            chain(&part).to_string(),
            "the album this message belongs to failed: store: store backend failed: commit: \
             disk full"
        );
    }
}
