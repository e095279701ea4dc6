//! The headers exchange matcher: `x-match` all/any (and the `-with-x` variants that also compare
//! `x-` arguments), as RabbitMQ's headers exchange.

use crate::error::CoreError;
use crate::value::{FieldTable, Value};

/// How a headers binding combines its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XMatch {
    /// Every argument must match (the default).
    #[default]
    All,
    /// At least one argument must match.
    Any,
    /// As `All`, also comparing arguments whose names start with `x-`.
    AllWithX,
    /// As `Any`, also comparing arguments whose names start with `x-`.
    AnyWithX,
}

impl XMatch {
    /// Reads `x-match` from binding arguments (absent means `all`).
    pub fn from_arguments(args: &FieldTable) -> Result<XMatch, CoreError> {
        let Some(v) = args.get("x-match") else {
            return Ok(XMatch::All);
        };
        match v.as_str() {
            Some("all") => Ok(XMatch::All),
            Some("any") => Ok(XMatch::Any),
            Some("all-with-x") => Ok(XMatch::AllWithX),
            Some("any-with-x") => Ok(XMatch::AnyWithX),
            Some(other) => Err(CoreError::InvalidXMatch {
                value: format!("<<\"{other}\">>"),
            }),
            None => Err(CoreError::InvalidXMatch {
                value: v.to_string(),
            }),
        }
    }
}

/// True when a message with `headers` matches a binding with `args` under `mode`.
///
/// A binding argument whose value is void only requires the header to be present. With no
/// argument to compare, `all` matches every message and `any` none (as RabbitMQ).
///
/// ```
/// use warren_core::{headers_match, FieldTable, XMatch};
///
/// let binding: FieldTable = [("format", "pdf"), ("type", "report")].into_iter().collect();
/// let headers: FieldTable = [("format", "pdf"), ("type", "log")].into_iter().collect();
/// assert!(!headers_match(XMatch::All, &binding, Some(&headers)));
/// assert!(headers_match(XMatch::Any, &binding, Some(&headers)));
/// ```
pub fn headers_match(mode: XMatch, args: &FieldTable, headers: Option<&FieldTable>) -> bool {
    let with_x = matches!(mode, XMatch::AllWithX | XMatch::AnyWithX);
    let all = matches!(mode, XMatch::All | XMatch::AllWithX);
    for (k, want) in args.iter() {
        if k == "x-match" || (!with_x && k.starts_with("x-")) {
            continue;
        }
        let hit = match headers.and_then(|h| h.get(k)) {
            None => false,
            Some(_) if matches!(want, Value::Void) => true,
            Some(have) => have.equivalent(want),
        };
        if all && !hit {
            return false;
        }
        if !all && hit {
            return true;
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(pairs: &[(&str, Value)]) -> FieldTable {
        pairs.iter().cloned().collect()
    }

    #[test]
    fn all_any_and_void() {
        let b = t(&[("a", Value::I32(1)), ("b", Value::Void)]);
        let both = t(&[("a", Value::I64(1)), ("b", Value::str("x"))]);
        let only_a = t(&[("a", Value::U8(1))]);
        assert!(headers_match(XMatch::All, &b, Some(&both)));
        assert!(!headers_match(XMatch::All, &b, Some(&only_a)));
        assert!(headers_match(XMatch::Any, &b, Some(&only_a)));
        assert!(!headers_match(XMatch::Any, &b, None));
        assert!(!headers_match(XMatch::All, &b, None));
    }

    #[test]
    fn x_arguments_only_with_x() {
        let b = t(&[("x-match", Value::str("all")), ("x-k", Value::str("v"))]);
        let h = t(&[("x-k", Value::str("other"))]);
        assert!(
            headers_match(XMatch::All, &b, Some(&h)),
            "x- ignored: nothing to compare"
        );
        assert!(!headers_match(XMatch::AllWithX, &b, Some(&h)));
        assert!(
            !headers_match(XMatch::Any, &b, Some(&h)),
            "any with nothing to compare"
        );
        let h2 = t(&[("x-k", Value::str("v"))]);
        assert!(headers_match(XMatch::AnyWithX, &b, Some(&h2)));
    }

    #[test]
    fn x_match_parsing() {
        assert_eq!(
            XMatch::from_arguments(&FieldTable::new()).unwrap(),
            XMatch::All
        );
        let bad = t(&[("x-match", Value::str("foo"))]);
        assert_eq!(
            XMatch::from_arguments(&bad).unwrap_err().to_string(),
            "PRECONDITION_FAILED - Invalid x-match field value <<\"foo\">>; expected all, any, all-with-x, or any-with-x"
        );
    }
}
