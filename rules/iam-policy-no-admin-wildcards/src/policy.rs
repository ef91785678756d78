//! Permissions policy documents as Config records them, and what they allow.
//!
//! Config keeps a document as IAM hands it out: JSON text, URL-encoded as RFC 3986 says (`%22`
//! for `"`, `%20` for a space, `%2B` for `+`). Decoding is percent-decoding only: a bare `+` is a
//! `+`, not a space, as in IAM's own encoding (HTML form decoding would turn it into a space).
//!
//! The grammar read is IAM's: `Statement` is one object or a list of them; `Action`,
//! `NotAction`, `Resource` and `NotResource` are a string or a list of strings; each statement
//! has `Effect` `Allow` or `Deny`, exactly one of `Action` and `NotAction`, and exactly one of
//! `Resource` and `NotResource`. A document outside that grammar is [`Unreadable`]: IAM would not
//! have accepted it, so the item is not what the rule can vouch for.

use std::fmt;

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::glob::{self, Pattern, Search};

/// Why a document cannot be read. The rule reports such a document NON_COMPLIANT, never
/// COMPLIANT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(String);

impl Unreadable {
    pub fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
}

/// A permissions policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub statements: Vec<Statement>,
}

/// One statement; conditions and principals are not kept (see [`Document::findings`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// How annotations name it: `statement "Sid"`, or `statement #N` (counting from 1) when it
    /// has no `Sid`.
    pub name: String,
    pub effect: Effect,
    /// `Action` or `NotAction`.
    pub actions: Scope<Pattern>,
    /// `Resource` or `NotResource`.
    pub resources: Scope<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// The listed ones (`Action`, `Resource`), or all but the listed ones (`NotAction`,
/// `NotResource`).
#[derive(Debug, Clone, PartialEq)]
pub enum Scope<T> {
    Listed(Vec<T>),
    AllExcept(Vec<T>),
}

/// Reads a document as a configuration item carries it: URL-encoded JSON text. An object (a
/// document some tool decoded already) is read as it is.
pub fn decode(document: &Value) -> Result<Document, Unreadable> {
    match document {
        Value::String(encoded) => {
            let text = percent_decode_str(encoded)
                .decode_utf8()
                .map_err(|_| Unreadable::new("it is not URL-encoded UTF-8 text"))?;
            let json: Value = serde_json::from_str(&text)
                .map_err(|e| Unreadable(format!("it is not JSON ({e})")))?;
            Document::from_json(&json)
        }
        Value::Object(_) => Document::from_json(document),
        other => Err(Unreadable(format!(
            "it is {}, not URL-encoded JSON text",
            kind(other)
        ))),
    }
}

impl Document {
    /// Reads a decoded document.
    pub fn from_json(json: &Value) -> Result<Self, Unreadable> {
        let Value::Object(document) = json else {
            return Err(Unreadable(format!(
                "the document is {}, not an object",
                kind(json)
            )));
        };
        let statements = match document.get("Statement") {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            Some(other) => {
                return Err(Unreadable(format!(
                    "Statement is {}, not an object or a list",
                    kind(other)
                )));
            }
            None => return Err(Unreadable::new("it has no Statement")),
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, s)| Statement::from_json(i + 1, s))
            .collect::<Result<_, _>>()?;
        Ok(Self { statements })
    }

    /// What the document's `Allow` statements grant that the rule reports, statement by
    /// statement: every action on every resource, or actions that overlap `forbidden`.
    ///
    /// `Deny` statements are not subtracted: a deny makes an allow safe only as long as both
    /// stay, and the rule judges what each policy allows. Conditions are not read: a condition
    /// narrows when an allow applies, not what it allows, and AWS's managed rule
    /// `iam-policy-no-statements-with-admin-access` ignores them too.
    pub fn findings(&self, forbidden: &[Pattern]) -> Vec<Finding> {
        self.statements
            .iter()
            .filter(|s| s.effect == Effect::Allow)
            .filter_map(|s| {
                s.grant(forbidden).map(|grant| Finding {
                    statement: s.name.clone(),
                    grant,
                })
            })
            .collect()
    }
}

impl Statement {
    fn from_json(number: usize, json: &Value) -> Result<Self, Unreadable> {
        let fail = |why: String| Unreadable(format!("statement #{number} {why}"));
        let Value::Object(statement) = json else {
            return Err(fail(format!("is {}, not an object", kind(json))));
        };
        let name = match statement.get("Sid") {
            Some(Value::String(sid)) if !sid.is_empty() => format!("statement {sid:?}"),
            None | Some(Value::Null | Value::String(_)) => format!("statement #{number}"),
            Some(other) => return Err(fail(format!("has a Sid that is {}", kind(other)))),
        };
        let effect = match statement.get("Effect") {
            Some(Value::String(e)) if e == "Allow" => Effect::Allow,
            Some(Value::String(e)) if e == "Deny" => Effect::Deny,
            Some(other) => {
                return Err(fail(format!(
                    "has Effect {other}, neither \"Allow\" nor \"Deny\""
                )));
            }
            None => return Err(fail("has no Effect".into())),
        };
        let actions = either(statement, "Action", "NotAction").map_err(fail)?;
        let resources = either(statement, "Resource", "NotResource").map_err(fail)?;
        Ok(Self {
            name,
            effect,
            actions: match actions {
                Scope::Listed(list) => {
                    Scope::Listed(list.iter().map(|a| Pattern::new(a)).collect())
                }
                Scope::AllExcept(list) => {
                    Scope::AllExcept(list.iter().map(|a| Pattern::new(a)).collect())
                }
            },
            resources,
        })
    }

    /// What this statement, if it allows, grants that the rule reports.
    fn grant(&self, forbidden: &[Pattern]) -> Option<Grant> {
        // The pattern that covers every resource, as the annotation names it.
        let every_resource = match &self.resources {
            Scope::Listed(resources) if resources.is_empty() => return None,
            Scope::Listed(resources) => resources.iter().find(|r| is_every_resource(r)).cloned(),
            // `NotResource: "*"` (or `arn:*`) leaves no resource.
            Scope::AllExcept(resources) if resources.iter().any(|r| is_every_resource(r)) => {
                return None;
            }
            Scope::AllExcept(_) => Some("*".to_owned()),
        };
        let on_every_resource = every_resource.is_some();
        let on = every_resource.unwrap_or_default();
        let except_resources = match &self.resources {
            Scope::AllExcept(resources) => resources.clone(),
            Scope::Listed(_) => Vec::new(),
        };
        match &self.actions {
            Scope::Listed(actions) => {
                if actions.is_empty() {
                    return None;
                }
                if on_every_resource && names_every_action(actions) {
                    return Some(Grant::Everything {
                        except_actions: Vec::new(),
                        on,
                        except_resources,
                    });
                }
                let reached: Vec<Reach> = actions
                    .iter()
                    .filter_map(|allowed| {
                        let hit: Vec<String> = forbidden
                            .iter()
                            .filter(|f| allowed.overlaps(f))
                            .map(|f| f.as_str().to_owned())
                            .collect();
                        (!hit.is_empty()).then(|| Reach {
                            allowed: allowed.as_str().to_owned(),
                            forbidden: hit,
                        })
                    })
                    .collect();
                (!reached.is_empty()).then_some(Grant::Forbidden(reached))
            }
            Scope::AllExcept(excluded) => {
                if !leaves_an_action(excluded) {
                    return None;
                }
                let excluded_text: Vec<String> =
                    excluded.iter().map(|p| p.as_str().to_owned()).collect();
                if on_every_resource {
                    return Some(Grant::Everything {
                        except_actions: excluded_text,
                        on,
                        except_resources,
                    });
                }
                let hit: Vec<String> = forbidden
                    .iter()
                    .filter(|f| escapes(f, excluded))
                    .map(|f| f.as_str().to_owned())
                    .collect();
                (!hit.is_empty()).then(|| {
                    Grant::Forbidden(vec![Reach {
                        allowed: format!("* except {}", excluded_text.join(", ")),
                        forbidden: hit,
                    }])
                })
            }
        }
    }
}

/// Whether a resource pattern covers every resource: `*` (any number of stars), or an ARN pattern
/// whose wildcards leave service, region, account and resource free, such as `arn:*`,
/// `arn:aws:*`, `arn:*:*` or `arn:aws:*:*:*:*`. `arn:aws:s3:::*` names some resources.
pub(crate) fn is_every_resource(resource: &str) -> bool {
    if resource.is_empty() {
        return false;
    }
    if resource.chars().all(|c| c == '*') {
        return true;
    }
    // A policy only reaches ARNs of its own partition: the one the pattern names, or aws.
    let partition = resource
        .strip_prefix("arn:")
        .and_then(|rest| rest.split(':').next())
        .filter(|p| !p.is_empty() && !p.contains(['*', '?']))
        .unwrap_or("aws");
    // ARNs made of a character the pattern lacks escape every literal of it but the `arn:`,
    // partition and `:` structure every ARN has; a pattern that matches them all, with empty and
    // filled region and account and a resource holding `:` and `/`, matches every ARN.
    let Some(f) = ('!'..='~').find(|c| !matches!(c, ':' | '*' | '?') && !resource.contains(*c))
    else {
        return false;
    };
    let probes = [
        format!("arn:{partition}:{f}:::{f}"),
        format!("arn:{partition}:{f}::{f}:{f}"),
        format!("arn:{partition}:{f}:{f}::{f}"),
        format!("arn:{partition}:{f}:{f}:{f}:{f}"),
        format!("arn:{partition}:{f}{f}:{f}{f}:{f}{f}:{f}{f}:{f}{f}/{f}{f}"),
    ];
    probes.iter().all(|arn| resource_matches(resource, arn))
}

/// Whether the resource pattern (`*` any run, `?` one character, case kept as IAM compares
/// resources) matches `arn`.
fn resource_matches(pattern: &str, arn: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = arn.chars().collect();
    // matched[j]: the pattern so far matches text[..j].
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for p in &pattern {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            next[j] = match p {
                '*' => matched[j] || (j > 0 && next[j - 1]),
                '?' => j > 0 && matched[j - 1],
                c => j > 0 && matched[j - 1] && text[j - 1] == *c,
            };
        }
        matched = next;
    }
    matched[text.len()]
}

/// Whether the patterns between them name every action (`*`, `*:*`, ...). Undecided counts as
/// yes: the statement is reported.
fn names_every_action(patterns: &[Pattern]) -> bool {
    let refs: Vec<&Pattern> = patterns.iter().collect();
    !matches!(glob::find_action(&[], &refs), Search::Found(_))
}

/// Whether a `NotAction` list leaves any action allowed. Undecided counts as yes.
fn leaves_an_action(excluded: &[Pattern]) -> bool {
    let refs: Vec<&Pattern> = excluded.iter().collect();
    glob::find_action(&[], &refs) != Search::NoAction
}

/// Whether some action named by `forbidden` is outside a `NotAction` list, and so allowed.
/// Undecided counts as yes.
fn escapes(forbidden: &Pattern, excluded: &[Pattern]) -> bool {
    let refs: Vec<&Pattern> = excluded.iter().collect();
    glob::find_action(&[forbidden], &refs) != Search::NoAction
}

/// `Action` xor `NotAction` (or `Resource` xor `NotResource`): a string or a list of strings.
fn either(
    statement: &Map<String, Value>,
    listed: &str,
    all_except: &str,
) -> Result<Scope<String>, String> {
    match (statement.get(listed), statement.get(all_except)) {
        (Some(value), None) => strings(listed, value).map(Scope::Listed),
        (None, Some(value)) => strings(all_except, value).map(Scope::AllExcept),
        (Some(_), Some(_)) => Err(format!("has both {listed} and {all_except}")),
        (None, None) => Err(format!("has neither {listed} nor {all_except}")),
    }
}

fn strings(element: &str, value: &Value) -> Result<Vec<String>, String> {
    let not_strings = |found: &Value| format!("has {element} {}, not strings", kind(found));
    match value {
        Value::String(one) => Ok(vec![one.clone()]),
        Value::Array(list) => list
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| not_strings(v)))
            .collect(),
        other => Err(not_strings(other)),
    }
}

/// A JSON value's kind, for messages (the value itself may be long or sensitive).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A statement that grants what the rule reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub statement: String,
    pub grant: Grant,
}

/// What a statement grants that the rule reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Every action on every resource (`*` on `*`), or admin-like: all but a `NotAction` list on
    /// all resources, or on all but a `NotResource` list.
    Everything {
        except_actions: Vec<String>,
        /// The resource pattern that covers every resource: `*`, `arn:*`, ...
        on: String,
        except_resources: Vec<String>,
    },
    /// Forbidden actions, by the pattern that allows them.
    Forbidden(Vec<Reach>),
}

/// An allowed pattern (or `* except ...` for a `NotAction` list) and the forbidden entries it
/// reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub allowed: String,
    pub forbidden: Vec<String>,
}

impl Finding {
    /// Whether this is a `*` on `*` (or admin-like) finding, which annotations put first.
    pub fn is_everything(&self) -> bool {
        matches!(self.grant, Grant::Everything { .. })
    }
}

impl fmt::Display for Finding {
    /// `statement "AllowAll" allows * on *`, `statement #1 allows * on arn:aws:*`,
    /// `statement #2 allows iam:* (forbidden: iam:CreateUser)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} allows ", self.statement)?;
        match &self.grant {
            Grant::Everything {
                except_actions,
                on,
                except_resources,
            } => {
                f.write_str("*")?;
                if !except_actions.is_empty() {
                    write!(f, " except {}", except_actions.join(", "))?;
                }
                write!(f, " on {on}")?;
                if !except_resources.is_empty() {
                    write!(f, " except {}", except_resources.join(", "))?;
                }
                Ok(())
            }
            Grant::Forbidden(reached) => {
                for (i, reach) in reached.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match reach.forbidden.as_slice() {
                        [same] if same.eq_ignore_ascii_case(&reach.allowed) => {
                            write!(f, "{} (forbidden)", reach.allowed)?;
                        }
                        hit => write!(f, "{} (forbidden: {})", reach.allowed, hit.join(", "))?,
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
