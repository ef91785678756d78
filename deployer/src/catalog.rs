//! The rules that exist: every `rules/<name>/rule.toml`, read as data (the deployer never links
//! rule code).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use config_rule_sdk::RuleMeta;

/// Rule metadata by rule name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub rules: BTreeMap<String, RuleMeta>,
    /// SSM documents a rule ships in `ssm/<document>.yaml`: rule -> document name -> YAML.
    pub documents: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    #[error("cannot read the rules directory {}", path.display())]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}", path.display())]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: invalid rule metadata", path.display())]
    Invalid {
        path: PathBuf,
        source: config_rule_sdk::manifest::MetaError,
    },
    #[error("{}: name `{name}` differs from its directory `{dir}`", path.display())]
    NameMismatch {
        path: PathBuf,
        name: String,
        dir: String,
    },
}

impl Catalog {
    /// Reads every `DIR/*/rule.toml`; directories without one (the SDK) are not rules.
    pub fn discover(dir: &Path) -> Result<Self, CatalogError> {
        let read_dir = |source| CatalogError::ReadDir {
            path: dir.to_path_buf(),
            source,
        };
        let mut rules = BTreeMap::new();
        let mut documents = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(read_dir)? {
            let entry = entry.map_err(read_dir)?;
            let path = entry.path().join("rule.toml");
            if !path.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|source| CatalogError::ReadFile {
                path: path.clone(),
                source,
            })?;
            let meta = RuleMeta::from_toml(&text).map_err(|source| CatalogError::Invalid {
                path: path.clone(),
                source,
            })?;
            let dir_name = entry.file_name().to_string_lossy().into_owned();
            if meta.name != dir_name {
                return Err(CatalogError::NameMismatch {
                    path,
                    name: meta.name,
                    dir: dir_name,
                });
            }
            documents.insert(
                meta.name.clone(),
                read_documents(&entry.path().join("ssm"))?,
            );
            rules.insert(meta.name.clone(), meta);
        }
        Ok(Self { rules, documents })
    }

    pub fn documents(&self, rule: &str) -> BTreeMap<String, String> {
        self.documents.get(rule).cloned().unwrap_or_default()
    }

    pub fn get(&self, name: &str) -> Option<&RuleMeta> {
        self.rules.get(name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.rules.keys().map(String::as_str).collect()
    }
}

/// `DIR/*.yaml` by file stem; a missing directory holds none.
fn read_documents(dir: &Path) -> Result<BTreeMap<String, String>, CatalogError> {
    let mut documents = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(documents);
    };
    for entry in entries {
        let path = entry
            .map_err(|source| CatalogError::ReadDir {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).map_err(|source| CatalogError::ReadFile {
                path: path.clone(),
                source,
            })?;
            if let Some(stem) = path.file_stem() {
                documents.insert(stem.to_string_lossy().into_owned(), text);
            }
        }
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_fixture_rules_and_skips_directories_without_rule_toml() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sdk")).unwrap();
        std::fs::create_dir(dir.path().join("x-rule")).unwrap();
        std::fs::write(
            dir.path().join("x-rule/rule.toml"),
            "name = \"x-rule\"\ndescription = \"X.\"\nresource-types = [\"AWS::S3::Bucket\"]\n[trigger]\nchange = true\n",
        )
        .unwrap();
        let catalog = Catalog::discover(dir.path()).unwrap();
        assert_eq!(catalog.names(), ["x-rule"]);
    }

    #[test]
    fn a_rule_named_unlike_its_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::write(
            dir.path().join("a/rule.toml"),
            "name = \"b\"\ndescription = \"B.\"\nresource-types = [\"AWS::S3::Bucket\"]\n[trigger]\nchange = true\n",
        )
        .unwrap();
        let err = Catalog::discover(dir.path()).unwrap_err();
        assert!(matches!(err, CatalogError::NameMismatch { .. }), "{err}");
    }
}
