//! The catalogue: every rule crate of the workspace, as the SDK entries `evaluate`, the demo,
//! the harness and the bench run. A rule joins it with one dependency line in this crate's
//! `Cargo.toml` (`deployer new-rule` writes it); `all()` is generated from those lines.

use config_rule_sdk::Entry;

include!(concat!(env!("OUT_DIR"), "/all.rs"));

/// The entry of the rule named `name` (as in its `rule.toml`).
pub fn find(name: &str) -> Option<Entry> {
    all().into_iter().find(|e| e.meta().name == name)
}

/// Every rule's name, for messages.
pub fn names() -> Vec<String> {
    all().into_iter().map(|e| e.meta().name.clone()).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// Every folder under rules/ with a rule.toml is in the catalogue, under the name its
    /// rule.toml gives, and nothing else is.
    #[test]
    fn the_catalogue_lists_every_rule_folder() {
        let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut folders = BTreeSet::new();
        for dir in std::fs::read_dir(&rules).unwrap() {
            let toml = dir.unwrap().path().join("rule.toml");
            if toml.exists() {
                let text = std::fs::read_to_string(&toml).unwrap();
                folders.insert(config_rule_sdk::RuleMeta::from_toml(&text).unwrap().name);
            }
        }
        let listed: BTreeSet<String> = names().into_iter().collect();
        assert_eq!(listed, folders);
        assert_eq!(names().len(), listed.len(), "a rule is listed twice");
    }
}
