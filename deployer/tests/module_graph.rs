//! The deployer's modules import one way: no two top-level modules of `deployer/src` reach each
//! other through `crate::` paths. A cycle makes the pipeline impossible to read in order (and
//! crept in before), so a new one fails here with the path that closes it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, unit-test files left out (they may reach anywhere).
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy();
            if !(name.ends_with("_tests") || name == "tests") {
                out.push(path);
            }
        }
    }
}

/// The top-level module a file of `src` belongs to (`aws/s3.rs` -> `aws`); None for the crate
/// roots.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next()?.as_os_str().to_string_lossy();
    let module = first.trim_end_matches(".rs").to_owned();
    (module != "lib" && module != "main").then_some(module)
}

/// The top-level modules named by `crate::NAME` or in a `crate::{...}` group in `text`,
/// comments left out.
fn imports(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let leading_name = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            found.insert(leading_name(rest));
            continue;
        };
        // The group's items at depth 0: `{a, b::{c, d}, e}` names a, b and e.
        let mut depth = 0;
        let mut item_start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    found.insert(leading_name(&group[item_start..i]));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    found.insert(leading_name(&group[item_start..i]));
                    item_start = i + 1;
                }
                _ => {}
            }
        }
    }
    found.remove("");
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(&src, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(&src, file) else {
            continue;
        };
        let targets = imports(&fs::read_to_string(file).unwrap());
        let entry = edges.entry(from.clone()).or_default();
        entry.extend(
            targets
                .into_iter()
                .filter(|to| *to != from && modules.contains(to)),
        );
    }
    edges
}

/// A path `start -> ... -> start` through `edges`, if there is one.
fn cycle_through(start: &str, edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn walk(
        at: &str,
        start: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in edges.get(at).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(next, start, edges, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    walk(start, start, edges, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn the_deployers_modules_import_one_way() {
    let edges = graph();
    assert!(
        edges.len() > 20 && edges.values().map(BTreeSet::len).sum::<usize>() > 40,
        "the module graph was not read: {edges:?}"
    );
    let cycles: Vec<String> = edges
        .keys()
        .filter_map(|module| cycle_through(module, &edges))
        .map(|path| path.join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn a_cycle_is_found_and_named() {
    let edges = BTreeMap::from([
        ("plan".to_owned(), BTreeSet::from(["digest".to_owned()])),
        ("digest".to_owned(), BTreeSet::from(["observed".to_owned()])),
        ("observed".to_owned(), BTreeSet::from(["plan".to_owned()])),
    ]);
    assert_eq!(
        cycle_through("plan", &edges),
        Some(vec![
            "plan".to_owned(),
            "digest".to_owned(),
            "observed".to_owned(),
            "plan".to_owned()
        ])
    );
    let imports = imports(
        "use crate::{\n    settings::{Settings, RuleSettings},\n    names,\n};\nlet x = crate::plan::f(); // crate::audit",
    );
    assert_eq!(
        imports,
        BTreeSet::from(["names".into(), "plan".into(), "settings".into()])
    );
}
