//! The crate's error type.

/// What can go wrong outside the desk itself: configuration, the Bot API, the webhook server.
///
/// No variant ever holds the bot token: URLs are rebuilt without it and frankenstein's HTTP errors
/// are stripped of their URL before they get here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is missing or invalid; `name` is the environment variable or parameter.
    #[error("{name}: {message}")]
    Config {
        /// The setting.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The desk refused its configuration or failed.
    #[error(transparent)]
    Core(#[from] hotline_core::Error),
    /// A Bot API call failed.
    #[error("Bot API: {0}")]
    Api(#[from] crate::client::ApiError),
    /// The webhook server could not start or failed.
    #[error("webhook server: {message}")]
    Server {
        /// What the server was doing.
        message: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The backend group is not ready for the desk ([`Hotline::preflight_strict`](crate::Hotline::preflight_strict)):
    /// not a forum, or the bot may not manage its topics. Each problem names its fix.
    #[error("the backend group {group} is not ready for the desk: {}", problems.join("; "))]
    Preflight {
        /// The group's chat id.
        group: i64,
        /// What is wrong, in plain words, with the fix.
        problems: Vec<String>,
    },
    /// A dead letter does not exist or cannot be read back.
    #[error("dead letter {0}")]
    DeadLetter(String),
    /// An archive export could not write its files.
    #[error("archive export: cannot write {}", path.display())]
    Export {
        /// The file or folder.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl From<hotline_core::StoreError> for Error {
    fn from(error: hotline_core::StoreError) -> Self {
        Error::Core(error.into())
    }
}

impl Error {
    pub(crate) fn config(name: &str, message: impl Into<String>) -> Self {
        Error::Config {
            name: name.to_owned(),
            message: message.into(),
        }
    }
}
