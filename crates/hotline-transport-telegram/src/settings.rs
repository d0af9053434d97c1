//! Settings from the environment (and a TOML file), for runners and examples.

use crate::Error;
use crate::client::TELEGRAM_API_URL;
use crate::pacing::Limits;
use crate::secret::BotToken;
use hotline_core::config::PARAMETERS;
use hotline_core::{ChatId, Config};

/// Everything a desk needs to start, read from environment variables:
///
/// | variable | meaning |
/// |---|---|
/// | `TELEGRAM_BOT_TOKEN` | the bot's token (required) |
/// | `TELEGRAM_API_URL` | the Bot API base, default `https://api.telegram.org` |
/// | `HOTLINE_BACKEND_GROUP` | the operators' forum group id (required) |
/// | `HOTLINE_LIMITS` | `GLOBAL_PER_SECOND,PER_CHAT_PER_SECOND,PER_GROUP_PER_MINUTE` (default `30,1,20`) or `off` |
/// | `HOTLINE_CONFIG` | a TOML file of Hotline parameters (`PRIVATE_KEYWORDS = '"operator","help"'`) |
/// | `PRIVATE_KEYWORDS`, `WELCOME`, ... | any Hotline parameter by its own name (overrides the file) |
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// The bot's token.
    pub token: BotToken,
    /// The Bot API base URL.
    pub api_url: String,
    /// The desk's configuration.
    pub config: Config,
    /// Pacing budgets.
    pub limits: Limits,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads settings through `var` (a map in tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let token = BotToken::new(var("TELEGRAM_BOT_TOKEN").ok_or_else(|| {
            Error::config(
                "TELEGRAM_BOT_TOKEN",
                "not set: the token @BotFather gave your bot",
            )
        })?)?;
        let api_url = var("TELEGRAM_API_URL")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| TELEGRAM_API_URL.to_owned());
        let group = var("HOTLINE_BACKEND_GROUP").ok_or_else(|| {
            Error::config(
                "HOTLINE_BACKEND_GROUP",
                "not set: the id of the operators' forum group",
            )
        })?;
        let group: i64 = group.trim().parse().map_err(|_| {
            Error::config(
                "HOTLINE_BACKEND_GROUP",
                format!("`{}` is not a chat id", group.trim()),
            )
        })?;
        if group >= 0 {
            // Checked here too, so that the error names the variable, not the Rust field.
            return Err(Error::config(
                "HOTLINE_BACKEND_GROUP",
                format!(
                    "{group} is not a group id: a forum supergroup's id is negative, like -1001234567890"
                ),
            ));
        }
        let limits = match var("HOTLINE_LIMITS") {
            Some(value) => Limits::parse(&value)?,
            None => Limits::telegram(),
        };
        let mut builder = Config::builder(ChatId(group));
        if let Some(path) = var("HOTLINE_CONFIG").filter(|p| !p.trim().is_empty()) {
            let text = std::fs::read_to_string(path.trim())
                .map_err(|e| Error::config("HOTLINE_CONFIG", format!("reading {path}: {e}")))?;
            for (name, value) in parse_toml(&text)? {
                builder = builder.set(&name, &value)?;
            }
        }
        for name in PARAMETERS {
            if let Some(value) = var(name) {
                builder = builder.set(name, &value)?;
            }
        }
        Ok(Self {
            token,
            api_url,
            config: builder.build()?,
            limits,
        })
    }
}

/// A TOML file of Hotline parameters → (name, value in Hotline's syntax). Strings are taken as
/// written; booleans and numbers as text; arrays of numbers as id lists; arrays of strings as
/// keyword lists.
fn parse_toml(text: &str) -> Result<Vec<(String, String)>, Error> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| Error::config("HOTLINE_CONFIG", e.to_string()))?;
    let mut pairs = Vec::new();
    for (name, value) in table {
        let text = match &value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    toml::Value::String(s) => Ok(format!("\"{}\"", s.replace('"', "\\\""))),
                    toml::Value::Integer(i) => Ok(i.to_string()),
                    _ => Err(Error::config(&name, "lists hold strings or numbers")),
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            _ => {
                return Err(Error::config(
                    &name,
                    "expected a string, a number, a boolean or a list",
                ));
            }
        };
        pairs.push((name, text));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, Error> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_vars(|name| map.get(name).cloned())
    }

    #[test]
    fn reads_the_environment() {
        let s = settings(&[
            ("TELEGRAM_BOT_TOKEN", "42:SECRET"),
            ("TELEGRAM_API_URL", "http://127.0.0.1:8081"),
            ("HOTLINE_BACKEND_GROUP", "-1001"),
            ("HOTLINE_LIMITS", "off"),
            ("PRIVATE_KEYWORDS", r#""operator","/help""#),
            ("INTERCEPT_EXTERNAL", "false"),
        ])
        .unwrap();
        assert_eq!(s.api_url, "http://127.0.0.1:8081");
        assert_eq!(s.limits, Limits::off());
        assert!(s.config.private_keywords.is_some() && !s.config.intercept_external);
        assert!(!format!("{s:?}").contains("SECRET"));
    }

    #[test]
    fn missing_and_bad_values_name_the_variable() {
        let e = settings(&[("HOTLINE_BACKEND_GROUP", "-1")])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("TELEGRAM_BOT_TOKEN:"), "{e}");
        let e = settings(&[("TELEGRAM_BOT_TOKEN", "42:S")])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("HOTLINE_BACKEND_GROUP:"), "{e}");
        let e = settings(&[
            ("TELEGRAM_BOT_TOKEN", "42:S"),
            ("HOTLINE_BACKEND_GROUP", "12345"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("HOTLINE_BACKEND_GROUP: 12345 is not a group id"),
            "{e}"
        );
        assert!(!e.contains("backend_group"), "{e}");
        let e = settings(&[
            ("TELEGRAM_BOT_TOKEN", "42:S"),
            ("HOTLINE_BACKEND_GROUP", "-1"),
            ("PRIVATE_KEYWORDS", "\"a\",["),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("PRIVATE_KEYWORDS: at character"), "{e}");
    }

    #[test]
    fn toml_files_use_hotline_names() {
        let pairs = parse_toml(
            "PRIVATE_KEYWORDS = ['operator', 'help']\nIGNORE_CHATS = [1, 2]\nAUTO_INFO = true\nAUTOCLOSE = 24\n",
        )
        .unwrap();
        let config = Config::builder(ChatId(-1))
            .set_all(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .unwrap()
            .build()
            .unwrap();
        assert!(config.private_keywords.unwrap().matches("HELP me"));
        assert!(config.auto_info && config.ignore_chats.contains(&2));
    }
}
