//! Field-level differences between two JSON documents, as JSON pointer paths (RFC 6901).

use serde::Serialize;
use serde_json::Value;

/// One field that changed: absent before (`old` is `None`), absent after, or different.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// The changed leaves from `old` to `new`, in document order. Objects are compared key by
/// key and arrays index by index; a string holding a JSON object or array (Config's API shape
/// keeps `configuration` as text) is compared as the JSON it holds.
pub fn diff(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(&mut String::new(), Some(old), Some(new), &mut out);
    out
}

fn expand(value: &Value) -> Option<Value> {
    let Value::String(text) = value else {
        return None;
    };
    let trimmed = text.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return None;
    }
    serde_json::from_str(text).ok()
}

fn walk(path: &mut String, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<FieldChange>) {
    let old_expanded = old.and_then(expand);
    let new_expanded = new.and_then(expand);
    let old = old_expanded.as_ref().or(old);
    let new = new_expanded.as_ref().or(new);
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let len = path.len();
                path.push('/');
                path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                walk(path, a.get(key), b.get(key), out);
                path.truncate(len);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                walk(path, a.get(i), b.get(i), out);
                path.truncate(len);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(FieldChange {
            path: if path.is_empty() {
                "/".to_owned()
            } else {
                path.clone()
            },
            old: a.cloned(),
            new: b.cloned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nested_changes_are_named_by_their_pointer() {
        let old = json!({"a": {"b": 1, "gone": true}, "tags": {"x/y": "1"}, "list": [1, 2]});
        let new = json!({"a": {"b": 2, "added": "z"}, "tags": {"x/y": "2"}, "list": [1]});
        let changes = diff(&old, &new);
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/a/added", "/a/b", "/a/gone", "/list/1", "/tags/x~1y"]
        );
        assert_eq!(changes[1].old, Some(json!(1)));
        assert_eq!(changes[1].new, Some(json!(2)));
        assert_eq!(changes[0].old, None);
        assert_eq!(changes[2].new, None);
    }

    #[test]
    fn json_held_in_a_string_is_compared_field_by_field() {
        let old = json!({"configuration": "{\"encrypted\": false, \"name\": \"b\"}"});
        let new = json!({"configuration": "{\"encrypted\": true, \"name\": \"b\"}"});
        let changes = diff(&old, &new);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "/configuration/encrypted");
    }

    #[test]
    fn equal_documents_have_no_changes() {
        let doc = json!({"a": [1, {"b": null}]});
        assert!(diff(&doc, &doc).is_empty());
    }
}
