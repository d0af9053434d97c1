//! # Hotline for Rust
//!
//! Turn any Telegram bot into a support desk: every user who writes to the bot gets a forum topic
//! in your operators' group; their messages are copied in, the operators' replies are copied back
//! as the bot. It bolts onto a bot that already exists: your bot keeps its greeting, buttons and
//! logic, and Hotline mirrors its replies into the topic so operators see the whole conversation.
//!
//! This crate gathers the parts; features choose them:
//!
//! | feature | crate | what |
//! |---|---|---|
//! | (always) | [`core`] (`hotline-core`) | the desk: events, actions, policies, `Store` and `Transport` traits |
//! | `telegram` (default) | [`telegram`] (`hotline-transport-telegram`) | the desk on the Bot API: embedded in a frankenstein bot, or standalone |
//! | `sqlite` (default) | [`store_sql`] (`hotline-store-sql`) | `SqliteStore`: the desk's state in one file, for one process |
//! | `postgres` | [`store_sql`] (`hotline-store-sql`) | `PgStore`: state in PostgreSQL, shared by several desk replicas |
//! | `gateway` | `gateway` (`hotline-gateway`) | a Bot API-compatible proxy: an unmodified bot in any language gets the desk beside it |
//! | `teloxide` | `teloxide` (`hotline-teloxide`) | the desk inside a teloxide bot: a dptree branch and a `Requester` adaptor that mirrors the bot's replies |
//!
//! With `telegram` and `sqlite` (the defaults) the package also builds `hotline-desk`, a
//! standalone desk configured from the environment (see `src/bin/hotline-desk.rs` and
//! `docs/operations.md`).
//!
//! Start with the README's `cargo run --example sandbox` (no token needed), then the guides in
//! [`docs`]: [`docs::embedding`] first.
//!
//! A whole bot with the desk, as the README shows it (this example is compiled by the tests):
//!
#![doc = include_str!("../README.md")]

pub mod docs;

pub use hotline_core as core;
pub use hotline_core::{
    ChatId, Config, DeadLetter, DeadLetterId, Desk, Event, Greeting, MailingContent, MailingHandle,
    RetryPolicy, Standing, UserId,
};

/// The one error of every part (runners, builders, stores, the desk), so a host writes `?`.
/// The part's own error is the [`source`](std::error::Error::source), and its text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The desk itself or a store failed, or a configuration value was refused.
    #[error(transparent)]
    Desk(#[from] hotline_core::Error),
    /// The Bot API, a setting, or a runner failed.
    #[cfg(feature = "telegram")]
    #[error(transparent)]
    Telegram(#[from] hotline_transport_telegram::Error),
}

impl From<hotline_core::StoreError> for Error {
    fn from(error: hotline_core::StoreError) -> Self {
        Error::Desk(error.into())
    }
}

/// A result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(feature = "telegram")]
pub use hotline_transport_telegram as telegram;
#[cfg(feature = "telegram")]
pub use hotline_transport_telegram::{Hotline, Settings, human_button, shutdown_signal};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use hotline_store_sql as store_sql;

/// The Bot API gateway (`hotline-gateway`): a bot in any language points its API URL at it.
#[cfg(feature = "gateway")]
pub use hotline_gateway as gateway;

/// The desk inside a teloxide bot (`hotline-teloxide`): a dptree branch put first, and
/// `Mirror`, the `Requester` adaptor that mirrors the bot's replies into users' topics.
#[cfg(feature = "teloxide")]
pub use hotline_teloxide as teloxide;
