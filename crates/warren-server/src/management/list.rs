//! Listing parameters as RabbitMQ's API takes them: `sort` (a field, dotted for nested ones such
//! as `message_stats.publish`), `sort_reverse`, `columns`, and `page` and `page_size`, which
//! switch the answer to a page object and enable the `name` filter (with `use_regex`).

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::error::ApiError;

/// Largest page RabbitMQ allows.
const MAX_PAGE_SIZE: usize = 500;

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, key| v.get(key))
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

/// Keeps only the named (possibly dotted) columns of an object.
fn select_columns(item: &Value, columns: &[&str]) -> Value {
    let mut out = Map::new();
    for col in columns {
        let Some(v) = lookup(item, col) else { continue };
        let mut parts = col.split('.').peekable();
        let mut target = &mut out;
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                target.insert(part.to_owned(), v.clone());
            } else {
                let entry = target
                    .entry(part.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                let Value::Object(next) = entry else { break };
                target = next;
            }
        }
    }
    Value::Object(out)
}

fn parse_usize(params: &HashMap<String, String>, key: &str) -> Result<Option<usize>, ApiError> {
    match params.get(key) {
        None => Ok(None),
        Some(v) => v
            .parse::<usize>()
            .map(Some)
            .map_err(|_| ApiError::Pagination(format!("Invalid pagination parameters: {key} {v}"))),
    }
}

/// Applies the listing parameters to `items` (objects with at least a `name`).
pub fn apply(mut items: Vec<Value>, params: &HashMap<String, String>) -> Result<Value, ApiError> {
    let total = items.len();
    let page = parse_usize(params, "page")?;
    let page_size = parse_usize(params, "page_size")?;
    let paginated = page.is_some() || page_size.is_some();
    // As RabbitMQ, the name filter applies to paginated requests only.
    if let Some(filter) = params.get("name").filter(|f| paginated && !f.is_empty()) {
        let use_regex = params.get("use_regex").is_some_and(|v| v == "true");
        if use_regex {
            let re = regex::Regex::new(filter)
                .map_err(|e| ApiError::BadRequest(format!("invalid name regex: {e}")))?;
            items.retain(|i| {
                lookup(i, "name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| re.is_match(n))
            });
        } else {
            let needle = filter.to_lowercase();
            items.retain(|i| {
                lookup(i, "name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.to_lowercase().contains(&needle))
            });
        }
    }
    if let Some(sort) = params.get("sort").filter(|s| !s.is_empty()) {
        items.sort_by(|a, b| compare(lookup(a, sort), lookup(b, sort)));
    }
    if params.get("sort_reverse").is_some_and(|v| v == "true") {
        items.reverse();
    }
    let columns: Option<Vec<&str>> = params.get("columns").map(|c| {
        c.split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect()
    });
    let project = |items: Vec<Value>| -> Vec<Value> {
        match &columns {
            Some(cols) => items.iter().map(|i| select_columns(i, cols)).collect(),
            None => items,
        }
    };
    if !paginated {
        return Ok(Value::Array(project(items)));
    }
    let page = page.unwrap_or(1);
    let page_size = page_size.unwrap_or(100);
    if page == 0 || page_size == 0 || page_size > MAX_PAGE_SIZE {
        return Err(ApiError::Pagination(format!(
            "Invalid pagination parameters: page number {page}, page size {page_size}"
        )));
    }
    let filtered = items.len();
    let page_count = filtered.div_ceil(page_size).max(1);
    if page > page_count {
        return Err(ApiError::PageOutOfRange(format!(
            "Page out of range, page: {page} page size: {page_size}, len: {filtered}"
        )));
    }
    let start = (page - 1) * page_size;
    let slice: Vec<Value> = items.into_iter().skip(start).take(page_size).collect();
    Ok(json!({
        "filtered_count": filtered,
        "item_count": slice.len(),
        "items": project(slice),
        "page": page,
        "page_count": page_count,
        "page_size": page_size,
        "total_count": total,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn items() -> Vec<Value> {
        vec![
            json!({"name": "b", "messages": 3, "message_stats": {"publish": 1}}),
            json!({"name": "a", "messages": 5, "message_stats": {"publish": 9}}),
            json!({"name": "car", "messages": 1}),
        ]
    }

    #[test]
    fn plain_list_filter_sort_columns() {
        let v = apply(
            items(),
            &params(&[("sort", "messages"), ("columns", "name")]),
        )
        .unwrap();
        assert_eq!(v, json!([{"name": "car"}, {"name": "b"}, {"name": "a"}]));
        let v = apply(items(), &params(&[("name", "^c"), ("use_regex", "true")])).unwrap();
        assert_eq!(
            v.as_array().unwrap().len(),
            3,
            "no filter without pagination"
        );
        let v = apply(
            items(),
            &params(&[("name", "^c"), ("use_regex", "true"), ("page", "1")]),
        )
        .unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 1);
        let v = apply(items(), &params(&[("name", "A"), ("page_size", "5")])).unwrap();
        assert_eq!(v["filtered_count"], json!(2), "case-insensitive substring");
        let v = apply(
            items(),
            &params(&[
                ("sort", "message_stats.publish"),
                ("sort_reverse", "true"),
                ("columns", "name,message_stats.publish"),
            ]),
        )
        .unwrap();
        assert_eq!(v[0], json!({"name": "a", "message_stats": {"publish": 9}}));
    }

    #[test]
    fn pages() {
        let v = apply(
            items(),
            &params(&[("page", "2"), ("page_size", "2"), ("sort", "name")]),
        )
        .unwrap();
        assert_eq!(v["items"], json!([{"name": "car", "messages": 1}]));
        assert_eq!(
            (v["page_count"].as_u64(), v["total_count"].as_u64()),
            (Some(2), Some(3))
        );
        assert!(matches!(
            apply(items(), &params(&[("page", "0")])),
            Err(ApiError::Pagination(_))
        ));
        assert!(matches!(
            apply(items(), &params(&[("page", "9")])),
            Err(ApiError::PageOutOfRange(_))
        ));
        assert!(matches!(
            apply(items(), &params(&[("page", "x")])),
            Err(ApiError::Pagination(_))
        ));
    }
}
