//! Request bodies: JSON objects read leniently, with RabbitMQ's errors for bad ones.

use serde_json::{Map, Value};

use super::error::ApiError;

/// The body as a JSON object (`{}` for an empty body; 400 `not_json` otherwise).
pub fn object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(ApiError::BadRequest("not_json".into())),
    }
}

/// A boolean field (`true`/`false` or the strings RabbitMQ's UI sends), with a default.
pub fn flag(o: &Map<String, Value>, key: &str, default: bool) -> Result<bool, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" => Ok(true),
        Some(Value::String(s)) if s == "false" => Ok(false),
        Some(_) => Err(ApiError::BadRequest(format!("{key} must be a boolean"))),
    }
}

/// A string field.
pub fn text<'a>(o: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::BadRequest(format!("{key} must be a string"))),
    }
}

/// A required field, or RabbitMQ's `[{key_missing,KEY}]`.
pub fn required<'a>(o: &'a Map<String, Value>, key: &str) -> Result<&'a Value, ApiError> {
    o.get(key)
        .ok_or_else(|| ApiError::BadRequest(format!("[{{key_missing,{key}}}]")))
}

/// The `arguments` object as a field table.
pub fn arguments(o: &Map<String, Value>) -> Result<warren_core::FieldTable, ApiError> {
    match o.get("arguments") {
        None | Some(Value::Null) => Ok(warren_core::FieldTable::new()),
        Some(Value::Object(a)) => Ok(warren_core::json_to_table(a)),
        Some(Value::Array(a)) if a.is_empty() => Ok(warren_core::FieldTable::new()),
        Some(_) => Err(ApiError::BadRequest("arguments must be an object".into())),
    }
}

/// Tags as a list: RabbitMQ accepts `"a,b"` or `["a", "b"]`.
pub fn tags(o: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    match o.get("tags") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| {
                t.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::BadRequest("tags must be strings".into()))
            })
            .collect(),
        Some(_) => Err(ApiError::BadRequest(
            "tags must be a string or a list".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        assert!(object(b"").unwrap().is_empty());
        assert!(matches!(object(b"nope"), Err(ApiError::BadRequest(r)) if r == "not_json"));
        assert!(object(b"[1]").is_err());
        let o = object(br#"{"durable": "false", "tags": "a, b,", "x": 1}"#).unwrap();
        assert!(!flag(&o, "durable", true).unwrap());
        assert!(flag(&o, "missing", true).unwrap());
        assert!(flag(&o, "x", true).is_err());
        assert_eq!(tags(&o).unwrap(), vec!["a", "b"]);
        assert!(
            matches!(required(&o, "count"), Err(ApiError::BadRequest(r)) if r == "[{key_missing,count}]")
        );
    }
}
