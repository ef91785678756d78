//! `reads`: the item fields a change rule's verdict depends on (`configuration.x`,
//! `supplementaryConfiguration.X`, `[]` for each item of a list). An item without one cannot be
//! judged: the rule would read its absence as a fact.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Problems;

/// One list for every resource type, or a list per resource type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Reads {
    All(Vec<String>),
    ByType(BTreeMap<String, Vec<String>>),
}

impl Default for Reads {
    fn default() -> Self {
        Self::All(Vec::new())
    }
}

impl Reads {
    /// The fields read from items of `resource_type`.
    pub fn of(&self, resource_type: &str) -> &[String] {
        match self {
            Self::All(paths) => paths,
            Self::ByType(by_type) => by_type.get(resource_type).map_or(&[], Vec::as_slice),
        }
    }

    /// Resource types are the rule's own; paths start in `configuration` or
    /// `supplementaryConfiguration`.
    pub(super) fn check(&self, resource_types: &[String], problems: &mut Problems) {
        let lists: Vec<(String, &Vec<String>)> = match self {
            Self::All(paths) => vec![("reads".to_owned(), paths)],
            Self::ByType(by_type) => by_type
                .iter()
                .map(|(t, paths)| (format!("reads.\"{t}\""), paths))
                .collect(),
        };
        if let Self::ByType(by_type) = self {
            for resource_type in by_type.keys() {
                if !resource_types.contains(resource_type) {
                    problems.push(
                        &format!("reads.\"{resource_type}\""),
                        format!("`{resource_type}` is not in `resource-types`"),
                    );
                }
            }
        }
        for (path, paths) in lists {
            for (i, field) in paths.iter().enumerate() {
                let root = field.split(['.', '[']).next().unwrap_or_default();
                let rest = &field[root.len()..];
                if !matches!(root, "configuration" | "supplementaryConfiguration")
                    || rest.len() < 2
                    || !rest.starts_with('.')
                {
                    problems.push(
                        &format!("{path}[{i}]"),
                        format!(
                            "`{field}` is not a field under `configuration.` or \
                             `supplementaryConfiguration.`"
                        ),
                    );
                }
            }
        }
    }
}
