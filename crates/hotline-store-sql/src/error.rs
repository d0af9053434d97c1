//! Mapping sqlx errors onto [`StoreError`], without ever leaking a password.

use hotline_core::StoreError;

/// Which [`StoreError`] an sqlx error becomes, with `context` (what the store was doing) as
/// the message and the sqlx error as the source.
pub(crate) fn backend(context: &str, error: sqlx::Error) -> StoreError {
    kind_of(&error, context.to_owned()).caused_by(error)
}

/// The [`StoreError`] kind an sqlx error maps to, carrying `message` and no source.
fn kind_of(error: &sqlx::Error, message: String) -> StoreError {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::conflict(message),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => StoreError::corrupt(message),
        _ => StoreError::backend(message),
    }
}

/// Whether the error is a broken UNIQUE constraint.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// An error met while connecting to `url`: the sqlx error's text goes into the message, with
/// the URL's password (raw and percent-decoded) replaced by `***` wherever it shows up.
pub(crate) fn connecting(url: &str, context: &str, error: sqlx::Error) -> StoreError {
    let message = redact(&format!("{context}: {error}"), url);
    // No source: a printed chain (or Debug) would show the sqlx error unredacted, password too.
    kind_of(&error, message)
}

/// `message` with the password of `url` (if it has one) masked.
pub(crate) fn redact(message: &str, url: &str) -> String {
    let mut out = message.to_owned();
    for password in passwords_of(url) {
        let decoded = percent_decode(password);
        // The longer form first, so that masking one never leaves part of the other.
        let (first, second) = if decoded.len() >= password.len() {
            (decoded.as_str(), password)
        } else {
            (password, decoded.as_str())
        };
        for secret in [first, second] {
            if !secret.is_empty() {
                out = out.replace(secret, "***");
            }
        }
    }
    out
}

/// The passwords in `url`: `scheme://user:password@host/...` and `?password=...`.
fn passwords_of(url: &str) -> Vec<&str> {
    let mut found = Vec::new();
    if let Some(start) = url.find("://") {
        let rest = &url[start + 3..];
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        if let Some(at) = authority.rfind('@')
            && let Some(colon) = authority[..at].find(':')
        {
            found.push(&authority[colon + 1..at]);
        }
    }
    if let Some(query) = url.split_once('?').map(|(_, q)| q) {
        for pair in query.split(['&', '#']) {
            if let Some(value) = pair.strip_prefix("password=") {
                found.push(value);
            }
        }
    }
    found.retain(|p| !p.is_empty());
    found
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_masks_passwords() {
        let url = "postgres://bob:p%40ss%3Aword@db.example:5432/desk";
        assert_eq!(passwords_of(url), ["p%40ss%3Aword"]);
        assert_eq!(
            redact("failed for p%40ss%3Aword and p@ss:word", url),
            "failed for *** and ***"
        );
        assert!(passwords_of("postgres://bob@db/desk").is_empty());
        assert_eq!(
            passwords_of("postgres://db/desk?user=a&password=hunter2"),
            ["hunter2"]
        );
        assert_eq!(
            redact("x hunter2 y", "postgres://db/d?password=hunter2"),
            "x *** y"
        );
        assert_eq!(redact("nothing", "sqlite::memory:"), "nothing");
    }

    #[test]
    fn backend_errors_keep_the_sqlx_error_as_their_source() {
        use std::error::Error as _;
        let error = backend("reading a link", sqlx::Error::PoolTimedOut);
        assert!(matches!(error, StoreError::Backend { .. }), "{error:?}");
        assert_eq!(error.to_string(), "store backend failed: reading a link");
        let source = error.source().expect("the sqlx error is the source");
        assert_eq!(source.to_string(), sqlx::Error::PoolTimedOut.to_string());
        let decode = backend("reading", sqlx::Error::Decode("bad".into()));
        assert!(matches!(decode, StoreError::Corrupt { .. }), "{decode:?}");
    }

    #[test]
    fn connection_errors_are_redacted_and_have_no_source() {
        use std::error::Error as _;
        let url = "postgres://bob:hunter2@db/desk";
        let error = connecting(
            url,
            "connecting",
            sqlx::Error::Configuration(format!("bad url {url}").into()),
        );
        let text = format!("{error} / {error:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("bad url postgres://bob:***@db/desk"),
            "{text}"
        );
        assert!(error.source().is_none(), "{error:?}");
    }
}
