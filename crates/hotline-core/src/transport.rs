//! The `Transport` trait: how the desk reaches a messenger.

use crate::action::{Action, Performed};
use async_trait::async_trait;
use std::time::Duration;

/// Performs the desk's [`Action`]s on a messenger (the Telegram Bot API in
/// `hotline-transport-telegram`; [`crate::MemoryTransport`] in tests and the sandbox).
///
/// Implementations classify failures into [`TransportError`]: the desk's recovery depends on it
/// (a deleted topic is recreated, a blocked user is marked, a rate limit is waited out).
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Transport: Send + Sync {
    /// Performs one action.
    async fn perform(&self, action: &Action) -> Result<Performed, TransportError>;
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    async fn perform(&self, action: &Action) -> Result<Performed, TransportError> {
        (**self).perform(action).await
    }
}

/// Why a transport could not perform an action, classified for recovery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Rate limited: perform the same action again after this long, keeping order.
    #[error("rate limited, retry after {0:?}")]
    RetryAfter(Duration),
    /// The topic no longer exists (an operator deleted it).
    #[error("the topic no longer exists")]
    TopicGone,
    /// The user blocked the bot or deleted their account.
    #[error("the user blocked the bot")]
    UserBlocked,
    /// The request was refused as malformed or not allowed; repeating it will not help.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A passing failure (network error, server error): the action may be tried again.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
    /// A wait before the call (pacing, a rate limit) was abandoned because the desk is
    /// stopping; the call was not made.
    #[error("not sent: the desk is stopping")]
    Interrupted,
}

impl From<crate::retry::Interrupted> for TransportError {
    fn from(_: crate::retry::Interrupted) -> Self {
        TransportError::Interrupted
    }
}

impl TransportError {
    /// Whether trying the same action again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TransportError::RetryAfter(_) | TransportError::Unavailable(_)
        )
    }
}
