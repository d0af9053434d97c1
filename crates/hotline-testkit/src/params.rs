//! Bot API request parameters, merged from the query string and the body, and the Bot API
//! error type.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{Map, Value, json};

/// A Bot API error as Telegram words it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) code: u16,
    pub(crate) description: String,
    pub(crate) parameters: Option<Value>,
}

impl ApiError {
    pub(crate) fn new(code: u16, description: impl Into<String>) -> Self {
        ApiError {
            code,
            description: description.into(),
            parameters: None,
        }
    }
    pub(crate) fn bad(description: &str) -> Self {
        ApiError::new(400, format!("Bad Request: {description}"))
    }
    pub(crate) fn forbidden(description: &str) -> Self {
        ApiError::new(403, format!("Forbidden: {description}"))
    }
    pub(crate) fn retry_after(seconds: u64) -> Self {
        ApiError {
            code: 429,
            description: format!("Too Many Requests: retry after {seconds}"),
            parameters: Some(json!({ "retry_after": seconds })),
        }
    }
    pub(crate) fn chat_not_found() -> Self {
        ApiError::bad("chat not found")
    }
    pub(crate) fn envelope(&self) -> Value {
        let mut v = json!({
            "ok": false,
            "error_code": self.code,
            "description": self.description,
        });
        if let Some(p) = &self.parameters {
            v["parameters"] = p.clone();
        }
        v
    }
}

pub(crate) type ApiResult<T = Value> = Result<T, ApiError>;

/// An uploaded file part of a multipart request.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub(crate) file_name: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) data: Bytes,
}

/// Request parameters. Uploaded parts appear in `map` as `"attach://<field>"`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    pub(crate) map: Map<String, Value>,
    pub(crate) uploads: HashMap<String, Upload>,
}

impl Params {
    pub(crate) fn from_json(v: Value) -> Self {
        match v {
            Value::Object(map) => Params {
                map,
                uploads: HashMap::new(),
            },
            _ => Params::default(),
        }
    }

    /// Adds `key=value` pairs from a query string or a form body (later ones win).
    pub(crate) fn add_urlencoded(&mut self, raw: &[u8]) -> Result<(), ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(raw)
            .map_err(|_| ApiError::bad("can't parse parameters"))?;
        for (k, v) in pairs {
            self.map.insert(k, Value::String(v));
        }
        Ok(())
    }

    pub(crate) fn add_json_body(&mut self, raw: &[u8]) -> Result<(), ApiError> {
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let v: Value =
            serde_json::from_slice(raw).map_err(|_| ApiError::bad("can't parse JSON object"))?;
        match v {
            Value::Object(m) => {
                self.map.extend(m);
                Ok(())
            }
            _ => Err(ApiError::bad("can't parse JSON object")),
        }
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        matches!(self.map.get(key), Some(v) if !v.is_null())
    }

    pub(crate) fn raw(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// An optional integer, given as a number or a string.
    pub(crate) fn opt_i64(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiError::bad(&format!("invalid {key} specified"))),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad(&format!("invalid {key} specified"))),
            Some(Value::Bool(_) | Value::Array(_) | Value::Object(_) | Value::Null) => {
                Err(ApiError::bad(&format!("invalid {key} specified")))
            }
        }
    }

    pub(crate) fn req_i64(&self, key: &str) -> ApiResult<i64> {
        self.opt_i64(key)?.ok_or_else(|| missing(key))
    }

    pub(crate) fn opt_str(&self, key: &str) -> Option<String> {
        match self.raw(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => Some(other.to_string()),
        }
    }

    pub(crate) fn req_str(&self, key: &str) -> ApiResult<String> {
        self.opt_str(key).ok_or_else(|| missing(key))
    }

    pub(crate) fn opt_bool(&self, key: &str) -> bool {
        match self.raw(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "1"),
            Some(Value::Number(n)) => n.as_i64() == Some(1),
            _ => false,
        }
    }

    pub(crate) fn opt_f64(&self, key: &str) -> Option<f64> {
        match self.raw(key)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// An array or object parameter: JSON in JSON bodies, a JSON string in form bodies.
    pub(crate) fn opt_json(&self, key: &str) -> ApiResult<Option<Value>> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::String(s)) => {
                if s.trim().is_empty() {
                    return Ok(None);
                }
                serde_json::from_str(s)
                    .map(Some)
                    .map_err(|_| ApiError::bad(&format!("can't parse {key} JSON object")))
            }
            Some(v) => Ok(Some(v.clone())),
        }
    }
}

/// Telegram's wording for a missing required parameter.
pub(crate) fn missing(key: &str) -> ApiError {
    match key {
        "chat_id" => ApiError::bad("chat_id is empty"),
        "text" => ApiError::bad("message text is empty"),
        "user_id" => ApiError::bad("invalid user_id specified"),
        "callback_query_id" => {
            ApiError::bad("query is too old and response timeout expired or query ID is invalid")
        }
        _ => ApiError::bad(&format!("parameter \"{key}\" is required")),
    }
}
