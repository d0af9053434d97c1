//! A validator for Bot API objects against the machine-readable spec
//! (`shared/telegram-bot-api/api.min.json`, Bot API 10.1).
//!
//! The spec file is found through the environment variable `HOTLINE_BOT_API_SPEC`, else at
//! `../../../shared/telegram-bot-api/api.min.json` relative to this crate's manifest
//! directory (the `shared/` directory beside the repository).
//!
//! A value matches a type when every field the spec marks required is present, every field
//! present is one the type declares, and each has one of the types the spec names (nested
//! objects and arrays checked recursively; a type with subtypes, such as `ChatMember`,
//! matches when any subtype matches). Fields outside the spec are errors, except the few in
//! [`EXTRA_FIELDS`] that current clients require.
//!
//! ```no_run
//! let spec = hotline_testkit::spec::Spec::load().expect("spec file");
//! let me = serde_json::json!({"id": 1, "is_bot": true, "first_name": "Bot"});
//! spec.check_result("getMe", &me).expect("a valid User");
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use crate::TestkitError;

#[derive(Debug, Deserialize)]
struct RawSpec {
    version: String,
    methods: HashMap<String, RawMethod>,
    types: HashMap<String, RawType>,
}

#[derive(Debug, Deserialize)]
struct RawMethod {
    name: String,
    #[serde(default)]
    returns: Vec<String>,
    #[serde(default)]
    fields: Vec<Field>,
}

#[derive(Debug, Deserialize)]
struct RawType {
    #[serde(default)]
    fields: Vec<Field>,
    #[serde(default)]
    subtypes: Vec<String>,
}

/// One field (or method parameter) of the spec.
#[derive(Debug, Clone, Deserialize)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Accepted types, e.g. `["Integer", "String"]` or `["Array of MessageEntity"]`.
    pub types: Vec<String>,
    /// Whether the field must be present.
    pub required: bool,
}

/// A loaded Bot API spec.
#[derive(Debug)]
pub struct Spec {
    version: String,
    /// lowercase method name -> (canonical name, returns, params)
    methods: HashMap<String, (String, Vec<String>, Vec<Field>)>,
    types: HashMap<String, RawType>,
}

/// Where the spec file is looked for: `$HOTLINE_BOT_API_SPEC`, else
/// `<this crate>/../../../shared/telegram-bot-api/api.min.json`.
pub fn spec_path() -> PathBuf {
    match std::env::var_os("HOTLINE_BOT_API_SPEC") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/telegram-bot-api/api.min.json"),
    }
}

/// Fields real clients require that the spec file (Bot API 10.1) does not list yet; they are
/// accepted on these types (frankenstein 0.52 requires `can_send_welcome_messages`).
pub const EXTRA_FIELDS: &[(&str, &str)] = &[
    ("ChatMemberAdministrator", "can_send_welcome_messages"),
    ("ChatAdministratorRights", "can_send_welcome_messages"),
];

static GLOBAL: OnceLock<Result<Spec, String>> = OnceLock::new();

/// The spec loaded once per process from [`spec_path`].
pub fn global() -> Result<&'static Spec, TestkitError> {
    GLOBAL
        .get_or_init(|| Spec::load().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| TestkitError::Spec(e.clone()))
}

/// Checks `value` as the `result` of Bot API method `method` against the global spec.
pub fn check_result(method: &str, value: &Value) -> Result<(), TestkitError> {
    global()?.check_result(method, value)
}

/// Checks `value` as an instance of spec type `type_expr` (e.g. `"Update"`,
/// `"Array of Message"`) against the global spec.
pub fn check_type(type_expr: &str, value: &Value) -> Result<(), TestkitError> {
    global()?.check_type(type_expr, value)
}

impl Spec {
    /// Loads the spec from [`spec_path`]; the error says where it looked and how to fix it.
    pub fn load() -> Result<Spec, TestkitError> {
        let path = spec_path();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            TestkitError::Spec(format!(
                "cannot read the Bot API spec at {}: {e}. Put `shared/telegram-bot-api/api.min.json` \
                 beside the repository, or set HOTLINE_BOT_API_SPEC to its path",
                path.display()
            ))
        })?;
        Self::from_json(&text)
    }

    /// Parses the spec from the text of `api.min.json`.
    pub fn from_json(text: &str) -> Result<Spec, TestkitError> {
        let raw: RawSpec = serde_json::from_str(text)
            .map_err(|e| TestkitError::Spec(format!("cannot parse the Bot API spec: {e}")))?;
        let methods = raw
            .methods
            .into_values()
            .map(|m| (m.name.to_ascii_lowercase(), (m.name, m.returns, m.fields)))
            .collect();
        Ok(Spec {
            version: raw.version,
            methods,
            types: raw.types,
        })
    }

    /// The spec's version string, e.g. "Bot API 10.1".
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The canonical (camelCase) name of a method, looked up case-insensitively.
    pub fn method_name(&self, method: &str) -> Option<&str> {
        self.methods
            .get(&method.to_ascii_lowercase())
            .map(|(n, _, _)| n.as_str())
    }

    /// The canonical names of every method in the spec, sorted.
    pub fn method_names(&self) -> impl Iterator<Item = &str> {
        let mut names: Vec<&str> = self.methods.values().map(|(n, _, _)| n.as_str()).collect();
        names.sort_unstable();
        names.into_iter()
    }

    /// What a method returns: the spec's types, e.g. `["Message", "Boolean"]`.
    pub fn method_returns(&self, method: &str) -> Option<&[String]> {
        self.methods
            .get(&method.to_ascii_lowercase())
            .map(|(_, r, _)| r.as_slice())
    }

    /// The parameters a method accepts.
    pub fn method_params(&self, method: &str) -> Option<&[Field]> {
        self.methods
            .get(&method.to_ascii_lowercase())
            .map(|(_, _, f)| f.as_slice())
    }

    /// Checks `value` as the result of `method` (any of its return types).
    pub fn check_result(&self, method: &str, value: &Value) -> Result<(), TestkitError> {
        let (name, returns, _) = self
            .methods
            .get(&method.to_ascii_lowercase())
            .ok_or_else(|| TestkitError::Spec(format!("method {method} is not in the spec")))?;
        self.check_any(returns, value, name).map_err(|e| {
            TestkitError::Spec(format!("result of {name} does not match the spec: {e}"))
        })
    }

    /// Checks request parameters: every name is a parameter of `method`, every required one
    /// is present. (Types are not checked: form bodies carry everything as strings.)
    pub fn check_params(
        &self,
        method: &str,
        params: &serde_json::Map<String, Value>,
    ) -> Result<(), TestkitError> {
        let fields = self
            .method_params(method)
            .ok_or_else(|| TestkitError::Spec(format!("method {method} is not in the spec")))?;
        for key in params.keys() {
            if !fields.iter().any(|f| &f.name == key) {
                return Err(TestkitError::Spec(format!(
                    "{method} has no parameter {key}"
                )));
            }
        }
        for f in fields.iter().filter(|f| f.required) {
            if !params.contains_key(&f.name) {
                return Err(TestkitError::Spec(format!(
                    "{method} requires parameter {}",
                    f.name
                )));
            }
        }
        Ok(())
    }

    /// Checks `value` as an instance of `type_expr`.
    pub fn check_type(&self, type_expr: &str, value: &Value) -> Result<(), TestkitError> {
        self.check(type_expr, value, "$")
            .map_err(TestkitError::Spec)
    }

    fn check_any(&self, types: &[String], value: &Value, path: &str) -> Result<(), String> {
        let mut errors = Vec::new();
        for t in types {
            match self.check(t, value, path) {
                Ok(()) => return Ok(()),
                Err(e) => errors.push(e),
            }
        }
        if errors.len() == 1 {
            Err(errors.remove(0))
        } else {
            Err(format!(
                "{path}: matches none of {}: {}",
                types.join(" | "),
                errors.join("; ")
            ))
        }
    }

    fn check(&self, type_expr: &str, value: &Value, path: &str) -> Result<(), String> {
        if let Some(inner) = type_expr.strip_prefix("Array of ") {
            let items = value
                .as_array()
                .ok_or_else(|| format!("{path}: expected {type_expr}, got {}", kind(value)))?;
            for (i, item) in items.iter().enumerate() {
                self.check(inner, item, &format!("{path}[{i}]"))?;
            }
            return Ok(());
        }
        let ok = match type_expr {
            "Integer" => value.is_i64() || value.is_u64(),
            "Float" => value.is_number(),
            "String" | "InputFile" => value.is_string(),
            "Boolean" => value.is_boolean(),
            "True" => value == &Value::Bool(true),
            name => return self.check_object(name, value, path),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{path}: expected {type_expr}, got {}", kind(value)))
        }
    }

    fn check_object(&self, name: &str, value: &Value, path: &str) -> Result<(), String> {
        let ty = self
            .types
            .get(name)
            .ok_or_else(|| format!("{path}: unknown spec type {name}"))?;
        if !ty.subtypes.is_empty() {
            return self.check_any(&ty.subtypes, value, path);
        }
        let obj = value
            .as_object()
            .ok_or_else(|| format!("{path}: expected {name} object, got {}", kind(value)))?;
        for f in &ty.fields {
            match obj.get(&f.name) {
                None if f.required => {
                    return Err(format!("{path}: {name} lacks required field {}", f.name));
                }
                None => {}
                Some(v) => self.check_any(&f.types, v, &format!("{path}.{}", f.name))?,
            }
        }
        for key in obj.keys() {
            if !ty.fields.iter().any(|f| &f.name == key)
                && !EXTRA_FIELDS.contains(&(name, key.as_str()))
            {
                return Err(format!("{path}: {name} has no field {key}"));
            }
        }
        Ok(())
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
