//! The bot token, which is a password.

use std::fmt;
use std::sync::Arc;

/// A bot token. Its `Debug` and `Display` never show it; only the HTTP client reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(Arc<str>);

impl BotToken {
    /// Checks the shape Telegram gives tokens (`<bot id>:<secret>`); the error names the
    /// variable but never repeats the value.
    pub fn new(token: impl Into<String>) -> Result<Self, crate::Error> {
        let token = token.into();
        let token = token.trim();
        let valid = token.split_once(':').is_some_and(|(id, secret)| {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && !secret.is_empty()
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        if !valid {
            return Err(crate::Error::config(
                "TELEGRAM_BOT_TOKEN",
                "not a bot token (expected `<digits>:<secret>`, as @BotFather gives it)",
            ));
        }
        Ok(Self(Arc::from(token)))
    }

    /// The bot's user id, the part before the colon.
    pub fn bot_id(&self) -> i64 {
        self.0
            .split(':')
            .next()
            .and_then(|id| id.parse().ok())
            .unwrap_or_default()
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The token itself, for a caller that must put it on the wire or compare with it (the
    /// Bot API gateway builds its upstream URLs with it and checks its clients' tokens against
    /// it, in constant time). Never log, format or store what this returns.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BotToken({}:***)", self.bot_id())
    }
}

impl fmt::Display for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:***", self.bot_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_the_secret() {
        let token = BotToken::new("123456:AAE-secret_part").unwrap();
        assert_eq!(format!("{token:?}"), "BotToken(123456:***)");
        assert_eq!(token.to_string(), "123456:***");
        assert_eq!(token.bot_id(), 123_456);
    }

    #[test]
    fn bad_tokens_are_refused_without_echo() {
        for bad in ["", "abc", "123:", ":abc", "12a:bc", "123:a b"] {
            let error = BotToken::new(bad).unwrap_err().to_string();
            assert!(error.starts_with("TELEGRAM_BOT_TOKEN:"), "{error}");
            if !bad.is_empty() {
                assert!(!error.contains(bad), "{error}");
            }
        }
    }
}
