//! `WEBHOOKS` and `WEBHOOKS_SECRET`: which events go to which HTTP endpoints, and the key that
//! signs them.
//!
//! Hotline's syntax is a JSON object, each URL mapped to the events it receives; a name that
//! starts with `/` is a command (an operator's `/crm` in a topic is posted there, and a text in
//! the answer is posted back into the topic):
//!
//! ```
//! use hotline_core::{ChatId, Config, DeskEventKind};
//!
//! let config = Config::builder(ChatId(-100))
//!     .set("WEBHOOKS", r#"{"https://crm.example/hook": ["dialog_created", "message_received", "/crm"]}"#)?
//!     .set("WEBHOOKS_SECRET", "s3cret")?
//!     .build()?;
//! let hook = &config.webhooks[0];
//! assert!(hook.wants(DeskEventKind::MessageReceived) && !hook.wants(DeskEventKind::MessageSent));
//! assert!(hook.wants_command("CRM"));
//! # Ok::<(), hotline_core::Error>(())
//! ```

use super::invalid;
use crate::desk_event::DeskEventKind;
use crate::error::Error;

/// One endpoint of `WEBHOOKS`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookTarget {
    /// Where the events are POSTed (`http://` or `https://`).
    pub url: String,
    /// The events it receives.
    pub events: Vec<DeskEventKind>,
    /// The operators' commands it answers, lower-cased, without their slash.
    pub commands: Vec<String>,
}

impl WebhookTarget {
    /// An endpoint receiving `events` and answering `commands` (without their slash).
    pub fn new(
        url: impl Into<String>,
        events: impl IntoIterator<Item = DeskEventKind>,
        commands: impl IntoIterator<Item = String>,
    ) -> Self {
        let commands: Vec<String> = commands
            .into_iter()
            .map(|c| c.trim_start_matches('/').to_ascii_lowercase())
            .collect();
        let mut events: Vec<DeskEventKind> = events.into_iter().collect();
        if !commands.is_empty() && !events.contains(&DeskEventKind::Command) {
            events.push(DeskEventKind::Command);
        }
        Self {
            url: url.into(),
            events,
            commands,
        }
    }

    /// Whether this endpoint receives events of `kind`.
    pub fn wants(&self, kind: DeskEventKind) -> bool {
        self.events.contains(&kind)
    }

    /// Whether this endpoint answers the command `name` (with or without its slash; case
    /// ignored).
    pub fn wants_command(&self, name: &str) -> bool {
        let name = name.trim_start_matches('/');
        self.commands.iter().any(|c| c.eq_ignore_ascii_case(name))
    }
}

/// `WEBHOOKS_SECRET`: the key of the `X-Hotline-Signature` HMAC, also sent as `api_key`. Its
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// A secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself (to sign with).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

/// Parses `WEBHOOKS`: `{"URL": ["event", "/command", ...], ...}`; off (`OFF`, empty) is none.
pub(super) fn parse(value: &str) -> Result<Vec<WebhookTarget>, Error> {
    const NAME: &str = "WEBHOOKS";
    if super::is_off(value) {
        return Ok(Vec::new());
    }
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(value).map_err(|e| {
            invalid(
                NAME,
                Some(e.column()),
                format!(
                    "expected a JSON object of URL -> list of events, like \
                     {{\"https://example.com/hook\": [\"message_received\"]}} ({e})"
                ),
            )
        })?;
    let mut targets = Vec::new();
    for (url, list) in object {
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(' ') {
            return Err(invalid(
                NAME,
                None,
                format!("`{url}` is not an http:// or https:// URL"),
            ));
        }
        let names: Vec<String> = match list {
            serde_json::Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    serde_json::Value::String(s) => Ok(s),
                    other => Err(invalid(
                        NAME,
                        None,
                        format!("{url}: `{other}` is not an event name (a string)"),
                    )),
                })
                .collect::<Result<_, _>>()?,
            serde_json::Value::String(s) => vec![s],
            other => {
                return Err(invalid(
                    NAME,
                    None,
                    format!("{url}: expected a list of events, found `{other}`"),
                ));
            }
        };
        let mut target = WebhookTarget {
            url: url.clone(),
            events: Vec::new(),
            commands: Vec::new(),
        };
        for name in names {
            let name = name.trim();
            if let Some(command) = name.strip_prefix('/') {
                if command.is_empty() || command.contains(char::is_whitespace) {
                    return Err(invalid(
                        NAME,
                        None,
                        format!("{url}: `{name}` is not a command"),
                    ));
                }
                target.commands.push(command.to_ascii_lowercase());
                continue;
            }
            match DeskEventKind::parse(name).filter(|k| *k != DeskEventKind::Command) {
                Some(kind) if !target.events.contains(&kind) => target.events.push(kind),
                Some(_) => {}
                None => {
                    let known: Vec<&str> = DeskEventKind::ALL
                        .iter()
                        .filter(|k| **k != DeskEventKind::Command)
                        .map(|k| k.as_str())
                        .collect();
                    return Err(invalid(
                        NAME,
                        None,
                        format!(
                            "{url}: unknown event `{name}`; known ones: {}, or a /command",
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        if !target.commands.is_empty() {
            target.events.push(DeskEventKind::Command);
        }
        targets.push(target);
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hotline_syntax_is_read() {
        let targets = parse(
            r#"{"https://a.example/h": ["dialog_created", "MESSAGE_SENT", "/crm"],
                "http://127.0.0.1:9/x": "dialog_closed"}"#,
        )
        .unwrap();
        assert_eq!(targets.len(), 2);
        let a = targets.iter().find(|t| t.url.starts_with("https")).unwrap();
        assert_eq!(
            a.events,
            [
                DeskEventKind::DialogCreated,
                DeskEventKind::MessageSent,
                DeskEventKind::Command
            ]
        );
        assert!(a.wants_command("/CRM") && !a.wants_command("help"));
        assert!(parse("off").unwrap().is_empty());
    }

    #[test]
    fn bad_values_name_the_fault() {
        let e = parse(r#"{"https://a/h": ["message_recieved"]}"#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("WEBHOOKS: https://a/h: unknown event `message_recieved`"),
            "{e}"
        );
        let e = parse(r#"{"ftp://a/h": []}"#).unwrap_err();
        assert!(
            e.to_string().contains("not an http:// or https:// URL"),
            "{e}"
        );
        let e = parse(r#"["https://a/h"]"#).unwrap_err();
        assert!(e.to_string().starts_with("WEBHOOKS"), "{e}");
        assert!(
            format!("{:?}", WebhookSecret::new("hidden"))
                .find("hidden")
                .is_none()
        );
    }
}
