//! Errors of the testkit's Rust API (not Bot API errors, which travel as HTTP answers).

use std::io;

/// What can go wrong when driving the fake server from Rust.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// The listening socket could not be bound or configured.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// A chat id that the fake server does not know.
    #[error("chat {0} not found (add it with add_user / add_group first)")]
    ChatNotFound(i64),
    /// A user id that the fake server does not know.
    #[error("user {0} not found (add it with add_user first)")]
    UserNotFound(i64),
    /// A message that does not exist (any more) in the chat.
    #[error("message {message_id} not found in chat {chat_id}")]
    MessageNotFound {
        /// The chat.
        chat_id: i64,
        /// The message id looked for.
        message_id: i64,
    },
    /// A forum topic that does not exist or was deleted.
    #[error("topic {thread_id} not found in chat {chat_id}")]
    TopicNotFound {
        /// The group.
        chat_id: i64,
        /// The topic's `message_thread_id`.
        thread_id: i64,
    },
    /// The request makes no sense for this chat/user/message (e.g. `from` is not a member).
    #[error("invalid testkit request: {0}")]
    Invalid(String),
    /// [`FakeTelegram::wait_for`](crate::FakeTelegram::wait_for) ran out of time.
    #[error("timed out after {timeout_ms} ms waiting for {what}\n{summary}")]
    Timeout {
        /// What the caller was waiting for.
        what: String,
        /// How long it waited.
        timeout_ms: u128,
        /// A short dump of the fake server's state at that moment.
        summary: String,
    },
    /// The Bot API spec file could not be read or parsed.
    #[error("{0}")]
    Spec(String),
}

impl TestkitError {
    /// The HTTP status the control plane answers this error with.
    pub(crate) fn status(&self) -> u16 {
        match self {
            TestkitError::ChatNotFound(_)
            | TestkitError::UserNotFound(_)
            | TestkitError::MessageNotFound { .. }
            | TestkitError::TopicNotFound { .. } => 404,
            TestkitError::Timeout { .. } => 408,
            TestkitError::Bind { .. } | TestkitError::Spec(_) => 500,
            TestkitError::Invalid(_) => 400,
        }
    }
}
