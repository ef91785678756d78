//! Fuzzing the event decoder: proptest at scale (cargo-fuzz needs a nightly toolchain), on
//! inputs a fuzzer would make: the real events of the developer guide with bytes edited, and
//! with fields deleted, retyped or replaced by arbitrary JSON (inside `invokingEvent` and
//! `ruleParameters` too, which are JSON inside strings).
//!
//! The decoder must never panic, and every error must say where the problem is: a field's
//! path (backquoted), a line and column, or the top level.
//!
//! `PROPTEST_CASES` sets the cases per round (default 256, the short run of `make test`);
//! `CUSTOS_FUZZ_SECONDS` repeats rounds, with fresh random seeds, until that many seconds
//! have passed (`make fuzz`).

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::fuzzing::{edit_bytes, fuzz};

const EVENTS: [&str; 3] = [
    "change-notification.json",
    "oversized-notification.json",
    "scheduled-notification.json",
];

fn example(name: &str) -> String {
    let path = format!("{}/fixtures/events/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Arbitrary JSON, nested a little, with the keys the decoder looks for among the random ones.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "\\PC{0,16}".prop_map(Value::String),
        Just(json!("2024-01-01T00:00:00.000Z")),
        Just(json!("ConfigurationItemChangeNotification")),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("messageType".to_owned()),
                    Just("configurationItem".to_owned()),
                    Just("resourceType".to_owned()),
                    Just("resourceId".to_owned()),
                    Just("tags".to_owned()),
                    "[a-zA-Z]{1,10}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One edit of a JSON document.
#[derive(Debug, Clone)]
enum Edit {
    Delete,
    Replace(Value),
    Insert(String, Value),
    /// The value's JSON text in place of the value.
    Stringify,
}

fn edit() -> impl Strategy<Value = (usize, Edit)> {
    let kind = prop_oneof![
        Just(Edit::Delete),
        any_json().prop_map(Edit::Replace),
        ("[a-zA-Z]{1,12}", any_json()).prop_map(|(k, v)| Edit::Insert(k, v)),
        Just(Edit::Stringify),
    ];
    (any::<usize>(), kind)
}

/// Every node's place, depth first: `(parent path, key or index)`.
fn places(value: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                at.push(k.clone());
                places(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(i.to_string());
                places(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn node<'a>(value: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |v, step| match v {
        Value::Object(map) => map.get_mut(step),
        Value::Array(items) => step.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
        _ => None,
    })
}

fn apply(doc: &mut Value, (selector, edit): &(usize, Edit)) {
    let mut all = Vec::new();
    places(doc, &mut Vec::new(), &mut all);
    let path = all[selector % all.len()].clone();
    match edit {
        Edit::Delete => {
            if let Some((last, parent)) = path.split_last() {
                match node(doc, parent) {
                    Some(Value::Object(map)) => {
                        map.remove(last);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = last.parse::<usize>()
                            && i < items.len()
                        {
                            items.remove(i);
                        }
                    }
                    _ => {}
                }
            }
        }
        Edit::Replace(v) => {
            if let Some(n) = node(doc, &path) {
                *n = v.clone();
            }
        }
        Edit::Insert(k, v) => match node(doc, &path) {
            Some(Value::Object(map)) => {
                map.insert(k.clone(), v.clone());
            }
            Some(Value::Array(items)) => items.push(v.clone()),
            _ => {}
        },
        Edit::Stringify => {
            if let Some(n) = node(doc, &path) {
                *n = Value::String(n.to_string());
            }
        }
    }
}

/// A real event with `invokingEvent` and `ruleParameters` opened up, edited, and (unless
/// `keep_open`) closed again into strings.
fn edited_event(which: usize, edits: &[(usize, Edit)], keep_open: bool) -> Value {
    let mut doc: Value = serde_json::from_str(&example(EVENTS[which % EVENTS.len()])).unwrap();
    for field in ["invokingEvent", "ruleParameters"] {
        if let Some(Value::String(text)) = doc.get(field)
            && let Ok(inner) = serde_json::from_str::<Value>(text)
        {
            doc[field] = inner;
        }
    }
    for e in edits {
        apply(&mut doc, e);
    }
    if !keep_open {
        for field in ["invokingEvent", "ruleParameters"] {
            if let Some(inner) = doc.get(field)
                && !inner.is_string()
            {
                doc[field] = Value::String(inner.to_string());
            }
        }
    }
    doc
}

/// A real event's text with bytes deleted, inserted or replaced.
fn edited_text(which: usize, edits: &[(usize, u8, u8)]) -> String {
    const ALPHABET: &[u8] = b"{}[]\":,\\ 0123456789.eE-+truefalsn\n\t\x00\xff\xc3";
    edit_bytes(&example(EVENTS[which % EVENTS.len()]), ALPHABET, edits)
}

/// An error names where: a backquoted field or path, a line and column, the top level, or (an
/// item's errors) the path in the item.
fn located(error: &EventError) -> Result<(), TestCaseError> {
    let text = error.to_string();
    let item_path = match error {
        EventError::Item(message) => message
            .split_once(": ")
            .is_some_and(|(path, _)| path.starts_with("configurationItem") && !path.contains(' ')),
        _ => false,
    };
    let named =
        item_path || text.contains('`') || text.contains(" line ") || text.contains("top level");
    prop_assert!(named, "an error that names no place: {text}");
    Ok(())
}

#[test]
fn fuzz_event_decoder_on_edited_events() {
    let strategy = (
        0usize..3,
        prop::collection::vec(edit(), 1..6),
        any::<bool>(),
    );
    let cases = fuzz(
        "event decoder, edited events",
        &strategy,
        |(which, edits, open)| {
            let event = edited_event(which, &edits, open);
            if let Err(e) = Invocation::from_json(event) {
                located(&e)?;
            }
            Ok(())
        },
    );
    assert!(cases > 0);
}

#[test]
fn fuzz_event_decoder_on_edited_text() {
    let strategy = (
        0usize..3,
        prop::collection::vec(any::<(usize, u8, u8)>(), 1..12),
    );
    fuzz(
        "event decoder, edited bytes",
        &strategy,
        |(which, edits)| {
            let text = edited_text(which, &edits);
            if let Err(e) = Invocation::from_text(&text) {
                located(&e)?;
            }
            Ok(())
        },
    );
}

#[test]
fn the_fuzzer_edits_reach_the_decoder_s_errors() {
    // Not a vacuous fuzz: a deleted resultToken and a retyped invokingEvent are errors, each
    // named.
    let mut doc: Value = serde_json::from_str(&example(EVENTS[0])).unwrap();
    doc.as_object_mut().unwrap().remove("resultToken");
    let e = Invocation::from_json(doc).unwrap_err();
    assert_eq!(e.to_string(), "the event has no `resultToken`");
    let mut doc: Value = serde_json::from_str(&example(EVENTS[0])).unwrap();
    doc["eventLeftScope"] = json!("yes");
    let e = Invocation::from_json(doc).unwrap_err().to_string();
    assert!(e.contains("`eventLeftScope`"), "{e}");
    let e = Invocation::from_text("{\"invokingEvent\": ")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 1 column"), "{e}");
}
