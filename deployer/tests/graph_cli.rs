//! `deployer graph` as a user runs it: delivered files in a folder, exit codes, JSON shape.

use std::path::Path;
use std::process::{Command, Output};

fn deployer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deployer"))
        .args(args)
        .output()
        .expect("deployer runs")
}

fn relationship(rtype: &str, id: &str, name: &str) -> serde_json::Value {
    serde_json::json!({"resourceType": rtype, "resourceId": id, "resourceName": null, "name": name})
}

fn item(rtype: &str, id: &str, rels: &[serde_json::Value]) -> serde_json::Value {
    serde_json::json!({
        "configurationItemVersion": "1.3", "configurationItemCaptureTime": "2026-12-01T10:00:00.000Z",
        "awsAccountId": "111111111111", "awsRegion": "eu-west-1", "configurationItemStatus": "OK",
        "resourceType": rtype, "resourceId": id, "ARN": format!("arn:aws:test:eu-west-1:111111111111:{id}"),
        "configuration": {}, "supplementaryConfiguration": {}, "tags": {}, "relationships": rels
    })
}

/// A folder as Config delivers it: the admin group, an instance in it, an interface of the
/// instance (which depends on it), and a malformed file beside them when asked.
fn delivered(dir: &Path, malformed: bool) {
    let sub = dir.join("AWSLogs/111111111111/Config/eu-west-1/2026/12/1/ConfigSnapshot");
    std::fs::create_dir_all(&sub).unwrap();
    let items = vec![
        item("AWS::EC2::SecurityGroup", "sg-admin", &[]),
        item(
            "AWS::EC2::Instance",
            "i-1",
            &[
                relationship(
                    "AWS::EC2::SecurityGroup",
                    "sg-admin",
                    "Is associated with SecurityGroup",
                ),
                relationship(
                    "AWS::EC2::NetworkInterface",
                    "eni-1",
                    "Contains NetworkInterface",
                ),
            ],
        ),
        item("AWS::EC2::NetworkInterface", "eni-1", &[]),
    ];
    let file = serde_json::json!({"fileVersion": "1.0", "configSnapshotId": "s", "configurationItems": items});
    std::fs::write(sub.join("snapshot.json"), file.to_string()).unwrap();
    if malformed {
        std::fs::write(
            sub.join("broken.json"),
            "{\"configurationItems\": [\n  {]\n}",
        )
        .unwrap();
    }
}

#[test]
fn impact_prints_json_with_depth_and_path() {
    let dir = tempfile::tempdir().unwrap();
    delivered(dir.path(), false);
    let from = dir.path().to_str().unwrap();
    let out = deployer(&[
        "--output", "json", "graph", "impact", "sg-admin", "--from", from,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["resource"]["resourceId"], "sg-admin");
    let dependents = json["dependents"].as_array().unwrap();
    let found: Vec<(u64, &str)> = dependents
        .iter()
        .map(|d| {
            (
                d["depth"].as_u64().unwrap(),
                d["resourceId"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(found, [(1, "i-1"), (2, "eni-1")]);
    let path: Vec<&str> = dependents[1]["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["resourceId"].as_str().unwrap())
        .collect();
    assert_eq!(path, ["sg-admin", "i-1", "eni-1"]);
    assert_eq!(
        dependents[1]["path"][2]["relationship"],
        "Contains NetworkInterface"
    );

    let out = deployer(&[
        "graph", "impact", "sg-admin", "--depth", "1", "--from", from,
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("1 dependent within depth 1"), "{text}");
    assert!(text.contains("sg-admin <- i-1"), "{text}");
    assert!(!text.contains("eni-1"), "{text}");
}

#[test]
fn an_unknown_resource_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    delivered(dir.path(), false);
    let out = deployer(&[
        "graph",
        "impact",
        "sg-nope",
        "--from",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no resource `sg-nope`"), "{err}");
}

#[test]
fn a_malformed_file_is_named_and_the_rest_answers() {
    let dir = tempfile::tempdir().unwrap();
    delivered(dir.path(), true);
    let out = deployer(&[
        "graph",
        "impact",
        "i-1",
        "--from",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("broken.json:2:"), "{err}");
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("i-1 <- eni-1")
    );
}

#[test]
fn an_empty_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = deployer(&[
        "graph",
        "export",
        "--format",
        "dot",
        "--from",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("holds no AWS Config")
    );
}

#[test]
fn export_writes_each_format() {
    let dir = tempfile::tempdir().unwrap();
    delivered(dir.path(), false);
    let from = dir.path().to_str().unwrap();
    let file = dir.path().join("graph.graphml");
    let out = deployer(&[
        "graph",
        "export",
        "--format",
        "graphml",
        "--from",
        from,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = std::fs::read_to_string(&file).unwrap();
    assert_eq!(xml.matches("<node ").count(), 3);
    assert_eq!(xml.matches("<edge ").count(), 2);
    let cypher = deployer(&["graph", "export", "--format", "cypher", "--from", from]);
    assert_eq!(
        String::from_utf8(cypher.stdout)
            .unwrap()
            .matches(":DEPENDS_ON")
            .count(),
        2
    );
    let dot = deployer(&["graph", "export", "--format", "dot", "--from", from]);
    assert!(
        String::from_utf8(dot.stdout)
            .unwrap()
            .starts_with("digraph")
    );
}
