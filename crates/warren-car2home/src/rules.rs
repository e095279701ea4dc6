//! Field rules compiled from the generated JSON Schemas, so the broker enforces exactly what the
//! published schema files say.
//!
//! Only the keywords `schemars` emits for this crate's types are understood (`type`, `enum`,
//! `const`, `minimum`, `maximum`, `minLength`, `maxLength`, `properties`, `required`,
//! `additionalProperties: false`, `items`, `minItems`, `maxItems`, `anyOf`, `oneOf`); annotations
//! (`title`, `description`, `format`, …) are ignored. [`Rule::compile`] lists any other keyword
//! and a unit test keeps that list empty for the whole catalogue.
//!
//! Checking has two paths: [`Rule::accepts`] answers yes/no without allocating (the valid
//! message's path), and [`Rule::check`] finds the first problem and describes it.

use serde_json::{Map, Value};

use crate::error::ValidationError;

const NULL: u8 = 1;
const BOOL: u8 = 2;
const INTEGER: u8 = 4;
const NUMBER: u8 = 8;
const STRING: u8 = 16;
const ARRAY: u8 = 32;
const OBJECT: u8 = 64;

const TYPE_NAMES: [(u8, &str); 7] = [
    (OBJECT, "object"),
    (ARRAY, "array"),
    (STRING, "string"),
    (INTEGER, "integer"),
    (NUMBER, "number"),
    (BOOL, "boolean"),
    (NULL, "null"),
];

const ANNOTATIONS: [&str; 12] = [
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "format",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "x-car2home",
];

/// A compiled schema node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rule {
    /// Allowed JSON types as a bit set; 0 means any.
    types: u8,
    /// `enum` / `const`: the allowed values; empty means any.
    allowed: Vec<Value>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    properties: Vec<(String, Rule)>,
    required: Vec<String>,
    /// `additionalProperties: false`.
    closed: bool,
    items: Option<Box<Rule>>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    /// `anyOf` / `oneOf` branches (the catalogue's branches are disjoint, so "one of" and
    /// "any of" agree).
    any_of: Vec<Rule>,
}

/// How strict a check is, and what to name in errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    /// Reject fields the schema does not list (on objects that list their properties).
    pub reject_extra: bool,
    /// The command, for [`ValidationError::UnexpectedField`].
    pub command: &'a str,
}

fn kind_bits(v: &Value) -> u8 {
    match v {
        Value::Null => NULL,
        Value::Bool(_) => BOOL,
        Value::Number(n) if n.is_i64() || n.is_u64() => INTEGER | NUMBER,
        Value::Number(_) => NUMBER,
        Value::String(_) => STRING,
        Value::Array(_) => ARRAY,
        Value::Object(_) => OBJECT,
    }
}

fn type_bit(name: &str) -> Option<u8> {
    TYPE_NAMES
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(bit, _)| *bit)
}

impl Rule {
    /// Compiles a schema; keywords it does not understand are appended to `unsupported` (as
    /// JSON Pointers into the schema) and otherwise ignored.
    pub(crate) fn compile(schema: &Value, unsupported: &mut Vec<String>) -> Rule {
        let mut path = String::new();
        Rule::compile_at(schema, &mut path, unsupported)
    }

    fn compile_at(schema: &Value, path: &mut String, unsupported: &mut Vec<String>) -> Rule {
        let mut rule = Rule::default();
        let obj = match schema {
            Value::Bool(true) => return rule,
            Value::Object(obj) => obj,
            _ => {
                unsupported.push(format!("{path} (schema is not an object or `true`)"));
                return rule;
            }
        };
        for (key, v) in obj {
            let mark = path.len();
            push_segment(path, key);
            match key.as_str() {
                "type" => match v {
                    Value::String(t) => {
                        rule.types |= type_bit(t).unwrap_or_else(|| {
                            unsupported.push(path.clone());
                            0
                        })
                    }
                    Value::Array(ts) => {
                        for t in ts {
                            match t.as_str().and_then(type_bit) {
                                Some(bit) => rule.types |= bit,
                                None => unsupported.push(path.clone()),
                            }
                        }
                    }
                    _ => unsupported.push(path.clone()),
                },
                "enum" => match v {
                    Value::Array(vs) => rule.allowed.extend(vs.iter().cloned()),
                    _ => unsupported.push(path.clone()),
                },
                "const" => rule.allowed.push(v.clone()),
                "minimum" => rule.minimum = number(v, path, unsupported),
                "maximum" => rule.maximum = number(v, path, unsupported),
                "minLength" => rule.min_length = count(v, path, unsupported),
                "maxLength" => rule.max_length = count(v, path, unsupported),
                "minItems" => rule.min_items = count(v, path, unsupported),
                "maxItems" => rule.max_items = count(v, path, unsupported),
                "properties" => match v {
                    Value::Object(props) => {
                        for (name, sub) in props {
                            let m = path.len();
                            push_segment(path, name);
                            let r = Rule::compile_at(sub, path, unsupported);
                            path.truncate(m);
                            rule.properties.push((name.clone(), r));
                        }
                    }
                    _ => unsupported.push(path.clone()),
                },
                "required" => match v {
                    Value::Array(names) => {
                        for n in names {
                            match n.as_str() {
                                Some(n) => rule.required.push(n.to_owned()),
                                None => unsupported.push(path.clone()),
                            }
                        }
                    }
                    _ => unsupported.push(path.clone()),
                },
                "additionalProperties" => match v {
                    Value::Bool(b) => rule.closed = !b,
                    _ => unsupported.push(path.clone()),
                },
                "items" => rule.items = Some(Box::new(Rule::compile_at(v, path, unsupported))),
                "anyOf" | "oneOf" => match v {
                    Value::Array(branches) => {
                        for (i, b) in branches.iter().enumerate() {
                            let m = path.len();
                            path.push('/');
                            path.push_str(&i.to_string());
                            rule.any_of.push(Rule::compile_at(b, path, unsupported));
                            path.truncate(m);
                        }
                    }
                    _ => unsupported.push(path.clone()),
                },
                k if ANNOTATIONS.contains(&k) => {}
                _ => unsupported.push(path.clone()),
            }
            path.truncate(mark);
        }
        rule
    }

    /// Whether `v` satisfies the rule. Allocates nothing.
    pub(crate) fn accepts(&self, v: &Value, ctx: Ctx<'_>) -> bool {
        if !self.any_of.is_empty() && !self.any_of.iter().any(|b| b.accepts(v, ctx)) {
            return false;
        }
        if self.types != 0 && self.types & kind_bits(v) == 0 {
            return false;
        }
        if !self.allowed.is_empty() && !self.allowed.contains(v) {
            return false;
        }
        match v {
            Value::Number(n) => n.as_f64().is_none_or(|x| self.in_range(x)),
            Value::String(s) => self.length_ok(s),
            Value::Array(items) => {
                within(items.len(), self.min_items, self.max_items)
                    && self
                        .items
                        .as_ref()
                        .is_none_or(|r| items.iter().all(|i| r.accepts(i, ctx)))
            }
            Value::Object(map) => self.object_accepts(map, ctx),
            Value::Null | Value::Bool(_) => true,
        }
    }

    fn object_accepts(&self, map: &Map<String, Value>, ctx: Ctx<'_>) -> bool {
        let required_present = self.required.iter().all(|r| map.contains_key(r));
        let props_ok = self
            .properties
            .iter()
            .all(|(name, r)| map.get(name).is_none_or(|v| r.accepts(v, ctx)));
        let extras_ok = !self.rejects_extras(ctx) || map.keys().all(|k| self.has_property(k));
        required_present && props_ok && extras_ok
    }

    fn rejects_extras(&self, ctx: Ctx<'_>) -> bool {
        self.closed || (ctx.reject_extra && !self.properties.is_empty())
    }

    fn has_property(&self, key: &str) -> bool {
        self.properties.iter().any(|(name, _)| name == key)
    }

    fn in_range(&self, x: f64) -> bool {
        self.minimum.is_none_or(|m| x >= m) && self.maximum.is_none_or(|m| x <= m)
    }

    fn length_ok(&self, s: &str) -> bool {
        if self.min_length.is_none() && self.max_length.is_none() {
            return true;
        }
        within(s.chars().count(), self.min_length, self.max_length)
    }

    /// Finds the first problem with `v` (at JSON Pointer `path`) and describes it. Returns
    /// `Ok(())` exactly when [`accepts`](Self::accepts) is true.
    pub(crate) fn check(
        &self,
        v: &Value,
        path: &mut String,
        ctx: Ctx<'_>,
    ) -> Result<(), ValidationError> {
        if !self.any_of.is_empty() && !self.any_of.iter().any(|b| b.accepts(v, ctx)) {
            return Err(self.any_of_error(v, path, ctx));
        }
        if self.types != 0 && self.types & kind_bits(v) == 0 {
            return Err(ValidationError::WrongType {
                path: path.clone(),
                expected: self.describe(),
                found: found(v),
            });
        }
        let invalid = || ValidationError::InvalidValue {
            path: path.clone(),
            expected: self.describe(),
            found: found(v),
        };
        if !self.allowed.is_empty() && !self.allowed.contains(v) {
            return Err(invalid());
        }
        match v {
            Value::Number(n) if n.as_f64().is_some_and(|x| !self.in_range(x)) => Err(invalid()),
            Value::String(s) if !self.length_ok(s) => Err(invalid()),
            Value::Array(items) => {
                if !within(items.len(), self.min_items, self.max_items) {
                    return Err(invalid());
                }
                if let Some(r) = &self.items {
                    for (i, item) in items.iter().enumerate() {
                        let mark = path.len();
                        path.push('/');
                        path.push_str(&i.to_string());
                        r.check(item, path, ctx)?;
                        path.truncate(mark);
                    }
                }
                Ok(())
            }
            Value::Object(map) => self.check_object(map, path, ctx),
            _ => Ok(()),
        }
    }

    fn check_object(
        &self,
        map: &Map<String, Value>,
        path: &mut String,
        ctx: Ctx<'_>,
    ) -> Result<(), ValidationError> {
        for (name, r) in &self.properties {
            let mark = path.len();
            push_segment(path, name);
            match map.get(name) {
                Some(v) => r.check(v, path, ctx)?,
                None if self.required.contains(name) => {
                    return Err(ValidationError::MissingField {
                        path: path.clone(),
                        expected: r.describe(),
                    })
                }
                None => {}
            }
            path.truncate(mark);
        }
        for name in &self.required {
            if !map.contains_key(name) {
                push_segment(path, name);
                return Err(ValidationError::MissingField {
                    path: path.clone(),
                    expected: "any value".to_owned(),
                });
            }
        }
        if self.rejects_extras(ctx) {
            if let Some(extra) = map.keys().find(|k| !self.has_property(k)) {
                push_segment(path, extra);
                return Err(ValidationError::UnexpectedField {
                    path: path.clone(),
                    command: ctx.command.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// No branch of `anyOf` accepts `v`: if exactly one branch takes its JSON type, that
    /// branch's complaint is the precise one; otherwise describe the whole set.
    fn any_of_error(&self, v: &Value, path: &mut String, ctx: Ctx<'_>) -> ValidationError {
        let mut same_type = self
            .any_of
            .iter()
            .filter(|b| b.types == 0 || b.types & kind_bits(v) != 0);
        match (same_type.next(), same_type.next()) {
            (None, _) => ValidationError::WrongType {
                path: path.clone(),
                expected: self.describe(),
                found: found(v),
            },
            (Some(only), None) => match only.check(v, path, ctx) {
                Err(e) => e,
                // Unreachable while `check` agrees with `accepts`; still an error, not a pass.
                Ok(()) => ValidationError::InvalidValue {
                    path: path.clone(),
                    expected: self.describe(),
                    found: found(v),
                },
            },
            (Some(_), Some(_)) => ValidationError::InvalidValue {
                path: path.clone(),
                expected: self.describe(),
                found: found(v),
            },
        }
    }

    /// What the rule expects, in words: `string of 1 to 128 characters`, `one of "on", "off"`.
    pub(crate) fn describe(&self) -> String {
        if !self.any_of.is_empty() {
            let mut consts: Vec<&Value> = Vec::new();
            let mut others: Vec<String> = Vec::new();
            for b in &self.any_of {
                if !b.allowed.is_empty() && b.any_of.is_empty() {
                    consts.extend(b.allowed.iter());
                } else {
                    others.push(b.describe());
                }
            }
            let mut parts = Vec::new();
            if !consts.is_empty() {
                parts.push(one_of(consts));
            }
            parts.extend(others);
            return parts.join(" or ");
        }
        if !self.allowed.is_empty() {
            return one_of(self.allowed.iter().collect());
        }
        if self.types == 0 {
            return "any value".to_owned();
        }
        let mut parts = Vec::new();
        for (bit, name) in TYPE_NAMES {
            // "integer or number" reads badly: number already admits integers.
            if self.types & bit == 0 || (bit == INTEGER && self.types & NUMBER != 0) {
                continue;
            }
            let qualifier = match bit {
                STRING => bounds(self.min_length, self.max_length, "character"),
                ARRAY => bounds(self.min_items, self.max_items, "item"),
                INTEGER | NUMBER => range(self.minimum, self.maximum),
                _ => None,
            };
            parts.push(match qualifier {
                Some(q) => format!("{name} {q}"),
                None => name.to_owned(),
            });
        }
        parts.join(" or ")
    }
}

fn within(n: usize, min: Option<u64>, max: Option<u64>) -> bool {
    let n = u64::try_from(n).unwrap_or(u64::MAX);
    min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m)
}

fn number(v: &Value, path: &str, unsupported: &mut Vec<String>) -> Option<f64> {
    let n = v.as_f64();
    if n.is_none() {
        unsupported.push(path.to_owned());
    }
    n
}

fn count(v: &Value, path: &str, unsupported: &mut Vec<String>) -> Option<u64> {
    let n = v.as_u64();
    if n.is_none() {
        unsupported.push(path.to_owned());
    }
    n
}

/// Appends `/key` to a JSON Pointer, escaping `~` and `/` (RFC 6901).
pub(crate) fn push_segment(path: &mut String, key: &str) {
    path.push('/');
    for c in key.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

fn one_of(values: Vec<&Value>) -> String {
    match values.as_slice() {
        [only] => only.to_string(),
        _ => {
            let list: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            format!("one of {}", list.join(", "))
        }
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("{n} {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn bounds(min: Option<u64>, max: Option<u64>, unit: &str) -> Option<String> {
    match (min, max) {
        (Some(a), Some(b)) if a == b => Some(format!("of exactly {}", plural(a, unit))),
        (Some(a), Some(b)) => Some(format!("of {a} to {b} {unit}s")),
        (Some(a), None) => Some(format!("of at least {}", plural(a, unit))),
        (None, Some(b)) => Some(format!("of at most {}", plural(b, unit))),
        (None, None) => None,
    }
}

fn range(min: Option<f64>, max: Option<f64>) -> Option<String> {
    match (min, max) {
        (Some(a), Some(b)) => Some(format!("from {a} to {b}")),
        (Some(a), None) => Some(format!("of at least {a}")),
        (None, Some(b)) => Some(format!("of at most {b}")),
        (None, None) => None,
    }
}

/// What a value is, in words, for "found …": `integer 5`, `string "abc"`, `array of 2 items`.
/// Long strings are cut at 40 characters.
pub(crate) fn found(v: &Value) -> String {
    const MAX_CHARS: usize = 40;
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("integer {n}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => {
            let mut shown: String = s.chars().take(MAX_CHARS).collect();
            let cut = shown.len() < s.len();
            shown = Value::String(shown).to_string();
            if cut {
                shown.push('…');
            }
            format!("string {shown}")
        }
        Value::Array(a) => format!("array of {}", plural(a.len() as u64, "item")),
        Value::Object(o) => format!("object with {}", plural(o.len() as u64, "field")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CTX: Ctx<'static> = Ctx {
        reject_extra: false,
        command: "test",
    };

    fn rule(schema: Value) -> Rule {
        let mut unsupported = Vec::new();
        let r = Rule::compile(&schema, &mut unsupported);
        assert!(unsupported.is_empty(), "{unsupported:?}");
        r
    }

    fn err(r: &Rule, v: Value) -> ValidationError {
        assert!(!r.accepts(&v, CTX));
        r.check(&v, &mut String::new(), CTX).unwrap_err()
    }

    #[test]
    fn unsupported_keywords_are_listed() {
        let mut unsupported = Vec::new();
        Rule::compile(
            &json!({"properties": {"a/b": {"pattern": "x"}}, "$ref": "#/x"}),
            &mut unsupported,
        );
        assert_eq!(unsupported, vec!["/$ref", "/properties/a~1b/pattern"]);
    }

    #[test]
    fn descriptions() {
        assert_eq!(
            rule(json!({"type": ["string", "null"], "minLength": 1, "maxLength": 8})).describe(),
            "string of 1 to 8 characters or null"
        );
        assert_eq!(
            rule(json!({"type": "integer", "minimum": 0, "maximum": 100})).describe(),
            "integer from 0 to 100"
        );
        assert_eq!(
            rule(json!({"oneOf": [{"const": "on"}, {"const": "off"}]})).describe(),
            r#"one of "on", "off""#
        );
        assert_eq!(rule(json!(true)).describe(), "any value");
        assert_eq!(
            rule(json!({"type": "array", "minItems": 1})).describe(),
            "array of at least 1 item"
        );
    }

    #[test]
    fn any_of_picks_the_branch_of_the_same_type() {
        let r = rule(json!({"anyOf": [
            {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
            {"type": "null"}
        ]}));
        assert_eq!(
            err(&r, json!({})),
            ValidationError::MissingField {
                path: "/x".into(),
                expected: "integer".into()
            }
        );
        assert_eq!(
            err(&r, json!(3)),
            ValidationError::WrongType {
                path: String::new(),
                expected: "object or null".into(),
                found: "integer 3".into()
            }
        );
    }

    #[test]
    fn arrays_report_the_index() {
        let r = rule(json!({"type": "array", "items": {"type": "number", "maximum": 1}}));
        assert_eq!(
            err(&r, json!([0.5, 2])),
            ValidationError::InvalidValue {
                path: "/1".into(),
                expected: "number of at most 1".into(),
                found: "integer 2".into()
            }
        );
        assert!(r.accepts(&json!([0, 1.0]), CTX));
    }

    #[test]
    fn closed_objects_and_strict_mode_name_the_extra_field() {
        let r = rule(json!({"properties": {"a": true}, "additionalProperties": false}));
        assert_eq!(
            err(&r, json!({"a": 1, "b~": 2})),
            ValidationError::UnexpectedField {
                path: "/b~0".into(),
                command: "test".into()
            }
        );
        let open = rule(json!({"properties": {"a": true}}));
        let strict = Ctx {
            reject_extra: true,
            ..CTX
        };
        assert!(open.accepts(&json!({"b": 1}), CTX));
        assert!(!open.accepts(&json!({"b": 1}), strict));
    }

    #[test]
    fn long_strings_are_cut_in_found() {
        let long = "é".repeat(50);
        let f = found(&Value::String(long));
        assert_eq!(f, format!("string \"{}\"…", "é".repeat(40)));
    }
}
