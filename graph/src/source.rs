//! Where configuration items come from. [`ItemSource`] is the seam: the graph is built from any
//! source of items; [`DeliveredFiles`] reads the history and snapshot files AWS Config delivers
//! to S3 (`.json` or `.json.gz`, their `configurationItems` array), from a folder walked
//! recursively. A file that cannot be read is reported with its position and the rest go on.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::item::Item;

/// Something that yields configuration items, and reports what it could not read.
pub trait ItemSource {
    /// Calls `each` with every item; returns the problems met on the way.
    fn items(&self, each: &mut dyn FnMut(Item)) -> Vec<SourceProblem>;
}

/// Items already in memory (tests, benchmarks, a store that has them).
impl ItemSource for Vec<Item> {
    fn items(&self, each: &mut dyn FnMut(Item)) -> Vec<SourceProblem> {
        for item in self {
            each(item.clone());
        }
        Vec::new()
    }
}

/// A file, or a place in it, that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceProblem {
    pub file: PathBuf,
    /// 1-based line and column in the (decompressed) text, when the problem has a position.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for SourceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.file.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// AWS Config's delivered files under a folder.
#[derive(Debug, Clone)]
pub struct DeliveredFiles {
    pub root: PathBuf,
}

/// A history or snapshot file as Config delivers it; other fields are skipped.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delivered {
    configuration_items: Vec<Item>,
}

impl DeliveredFiles {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Every `.json` and `.json.gz` file under the root, sorted, so runs are repeatable.
    pub fn files(&self) -> Result<Vec<PathBuf>, SourceProblem> {
        let mut out = Vec::new();
        walk(&self.root, &mut out)?;
        out.sort();
        Ok(out)
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SourceProblem> {
    let problem = |e: std::io::Error| SourceProblem {
        file: dir.to_path_buf(),
        position: None,
        message: format!("cannot read the folder: {e}"),
    };
    for entry in std::fs::read_dir(dir).map_err(problem)? {
        let path = entry.map_err(problem)?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if let Some(name) = path.file_name().and_then(|n| n.to_str())
            && is_item_file(name)
        {
            out.push(path);
        }
    }
    Ok(())
}

/// `*.json` or `*.json.gz`, in any case.
fn is_item_file(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [".json", ".json.gz"].iter().any(|ext| name.ends_with(ext))
}

/// The items of one delivered file's text.
pub fn parse_delivered(file: &Path, text: &str) -> Result<Vec<Item>, SourceProblem> {
    serde_json::from_str::<Delivered>(text)
        .map(|d| d.configuration_items)
        .map_err(|e| SourceProblem {
            file: file.to_path_buf(),
            position: (e.line() > 0).then(|| (e.line(), e.column())),
            message: e.to_string(),
        })
}

fn read_text(file: &Path) -> Result<String, SourceProblem> {
    let problem = |message: String| SourceProblem {
        file: file.to_path_buf(),
        position: None,
        message,
    };
    let bytes = std::fs::read(file).map_err(|e| problem(format!("cannot read: {e}")))?;
    let is_gz = file.to_string_lossy().ends_with(".gz");
    let bytes = if is_gz {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| problem(format!("not a readable gzip file: {e}")))?;
        out
    } else {
        bytes
    };
    String::from_utf8(bytes).map_err(|e| problem(format!("not UTF-8 text: {e}")))
}

impl ItemSource for DeliveredFiles {
    fn items(&self, each: &mut dyn FnMut(Item)) -> Vec<SourceProblem> {
        let files = match self.files() {
            Ok(files) => files,
            Err(problem) => return vec![problem],
        };
        let mut problems = Vec::new();
        for file in files {
            match read_text(&file).and_then(|text| parse_delivered(&file, &text)) {
                Ok(items) => items.into_iter().for_each(&mut *each),
                Err(problem) => problems.push(problem),
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn file_text(id: &str) -> String {
        format!(
            r#"{{"fileVersion":"1.0","configSnapshotId":"x","configurationItems":[
  {{"awsAccountId":"111111111111","awsRegion":"eu-west-1","resourceType":"AWS::EC2::VPC",
    "resourceId":"{id}","configurationItemCaptureTime":"2026-12-01T10:00:00Z","relationships":[]}}]}}"#
        )
    }

    #[test]
    fn reads_json_and_gzip_recursively_and_names_a_malformed_file_with_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("AWSLogs/111111111111/Config/eu-west-1");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(nested.join("a.json"), file_text("vpc-a")).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(file_text("vpc-b").as_bytes()).unwrap();
        std::fs::write(nested.join("b.json.gz"), gz.finish().unwrap()).unwrap();
        std::fs::write(
            nested.join("c.json"),
            "{\"configurationItems\": [\n  {\"awsAccountId\": 7}\n]}",
        )
        .unwrap();
        std::fs::write(nested.join("notes.txt"), "not an item file").unwrap();

        let mut ids = Vec::new();
        let problems = DeliveredFiles::new(dir.path()).items(&mut |i| ids.push(i.resource_id));
        assert_eq!(ids, ["vpc-a", "vpc-b"]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let text = problems[0].to_string();
        assert!(text.contains("c.json:2:"), "{text}");
        assert!(text.contains("invalid type"), "{text}");
    }

    #[test]
    fn a_missing_folder_is_one_problem_naming_it() {
        let problems = DeliveredFiles::new("/nonexistent/custos").items(&mut |_| {});
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .to_string()
                .starts_with("/nonexistent/custos: cannot read")
        );
    }

    #[test]
    fn a_corrupt_gzip_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.json.gz"), b"not gzip").unwrap();
        let problems = DeliveredFiles::new(dir.path()).items(&mut |_| {});
        assert!(problems[0].message.contains("gzip"), "{problems:?}");
    }
}
