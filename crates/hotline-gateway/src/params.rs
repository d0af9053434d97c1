//! The parameters of the methods the gateway answers itself, read the four ways Bot API
//! clients send them: the query string, `application/x-www-form-urlencoded`,
//! `application/json` and `multipart/form-data` (files in it, such as `setWebhook`'s
//! certificate, are skipped).

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

/// A method's parameters by name: JSON values as sent in JSON, strings otherwise.
pub(crate) type Params = Map<String, Value>;

/// The query string's parameters.
pub(crate) fn query(query: Option<&str>) -> Params {
    let mut params = Params::new();
    if let Some(query) = query {
        form_into(query.as_bytes(), &mut params);
    }
    params
}

fn form_into(form: &[u8], params: &mut Params) {
    for (name, value) in form_urlencoded::parse(form) {
        params.insert(name.into_owned(), Value::String(value.into_owned()));
    }
}

/// Why a request's parameters could not be read.
pub(crate) enum Unreadable {
    /// A JSON or form body over the limit.
    TooLong,
    /// Anything else, in words.
    Bad(String),
}

/// Everything the request carries: its query string, then its body (which wins on a name
/// given twice). `limit` bounds a JSON or form body; the error says why it could not be read.
pub(crate) async fn read(request: Request, limit: usize) -> Result<Params, Unreadable> {
    let mut params = query(request.uri().query());
    let kind = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if kind.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| Unreadable::Bad(e.body_text()))?;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| Unreadable::Bad(e.body_text()))?
        {
            let Some(name) = field.name().map(str::to_owned) else {
                continue;
            };
            if field.file_name().is_some() {
                // A file (setWebhook's certificate): not kept at the gateway.
                continue;
            }
            let text = field
                .text()
                .await
                .map_err(|e| Unreadable::Bad(e.body_text()))?;
            params.insert(name, Value::String(text));
        }
        return Ok(params);
    }
    let body = read_bounded(request.into_body(), limit)
        .await
        .ok_or(Unreadable::TooLong)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(params);
    }
    if kind.starts_with("application/json") {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(object)) => params.extend(object),
            Ok(_) => return Err(Unreadable::Bad("the JSON body is not an object".into())),
            Err(error) => {
                return Err(Unreadable::Bad(format!(
                    "the JSON body cannot be read: {error}"
                )));
            }
        }
    } else {
        form_into(&body, &mut params);
    }
    Ok(params)
}

/// An integer parameter, sent as a number or as its decimal text.
pub(crate) fn int(params: &Params, name: &str) -> Option<i64> {
    match params.get(name)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean parameter (`true`, `"true"`, `"1"`, `1`).
pub(crate) fn boolean(params: &Params, name: &str) -> bool {
    match params.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        Some(Value::String(s)) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1"),
        _ => false,
    }
}

/// A string parameter (a number is given as its text).
pub(crate) fn string(params: &Params, name: &str) -> Option<String> {
    match params.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A list of strings: a JSON array, or (in forms and multipart) its JSON text. `None` when
/// absent (or `null`); `Some(Err)` when unreadable.
pub(crate) fn string_list(params: &Params, name: &str) -> Option<Result<Vec<String>, String>> {
    let value = match params.get(name)? {
        Value::Null => return None,
        Value::String(text) if text.trim().is_empty() => return None,
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(value) => value,
            Err(_) => return Some(Err(format!("{name}: not a JSON array of strings"))),
        },
        other => other.clone(),
    };
    let Value::Array(items) = value else {
        return Some(Err(format!("{name}: not a JSON array of strings")));
    };
    Some(
        items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                _ => Err(format!("{name}: not a JSON array of strings")),
            })
            .collect(),
    )
}

/// The `chat_id` parameter of a JSON or form body (plus the query string), for mirroring:
/// `None` for `@channel` names and multipart bodies (the gateway does not read those).
pub(crate) fn chat_id_of(query_params: &Params, content_type: &str, body: &[u8]) -> Option<i64> {
    let mut params = query_params.clone();
    if content_type.starts_with("application/json") {
        if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) {
            params.extend(object);
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        form_into(body, &mut params);
    }
    int(&params, "chat_id")
}

/// Percent-decodes a path segment (`123%3AABC` → `123:ABC`); `None` when what it decodes to
/// is not UTF-8.
pub(crate) fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// A body of at most `limit` bytes, or `None` for a longer one (or one that broke off). A
/// longer one is still read to its end (up to 16 times the limit) before the caller refuses
/// it: a server that answers 413 while the client is still writing closes the connection under
/// it, and the client sees a broken pipe instead of the answer.
pub(crate) async fn read_bounded(
    body: axum::body::Body,
    limit: usize,
) -> Option<axum::body::Bytes> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut kept: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.ok()?;
        seen = seen.saturating_add(chunk.len());
        if seen > limit.saturating_mul(16) {
            return None;
        }
        if seen <= limit {
            kept.extend_from_slice(&chunk);
        }
    }
    (seen <= limit).then(|| axum::body::Bytes::from(kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn percent_decoding_of_tokens() {
        assert_eq!(percent_decode("123%3AABC").as_deref(), Some("123:ABC"));
        assert_eq!(percent_decode("123:ABC").as_deref(), Some("123:ABC"));
        assert_eq!(percent_decode("a%2").as_deref(), Some("a%2"));
        assert_eq!(percent_decode("a%zz").as_deref(), Some("a%zz"));
        assert_eq!(percent_decode("%2F").as_deref(), Some("/"));
    }

    #[test]
    fn lists_arrive_as_arrays_or_as_json_text() {
        let mut params = Params::new();
        params.insert("a".into(), json!(["message", "poll"]));
        params.insert("b".into(), json!("[\"message\"]"));
        params.insert("c".into(), json!("message"));
        assert_eq!(
            string_list(&params, "a").unwrap().unwrap(),
            ["message", "poll"]
        );
        assert_eq!(string_list(&params, "b").unwrap().unwrap(), ["message"]);
        assert!(string_list(&params, "c").unwrap().is_err());
        assert!(string_list(&params, "d").is_none());
    }

    #[test]
    fn numbers_and_booleans_as_text() {
        let mut params = query(Some("offset=-3&drop=true&limit=5"));
        params.insert("n".into(), json!(7));
        assert_eq!(int(&params, "offset"), Some(-3));
        assert_eq!(int(&params, "n"), Some(7));
        assert!(boolean(&params, "drop"));
        assert!(!boolean(&params, "other"));
        assert_eq!(
            chat_id_of(&Params::new(), "application/json", br#"{"chat_id":42}"#),
            Some(42)
        );
        assert_eq!(
            chat_id_of(
                &Params::new(),
                "application/x-www-form-urlencoded",
                b"chat_id=-5&text=hi"
            ),
            Some(-5)
        );
    }
}
