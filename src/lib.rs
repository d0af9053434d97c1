//! Hotline: turn any Telegram bot into a support desk.
pub use hotline_core as core;
