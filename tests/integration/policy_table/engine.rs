//! The IAM policy engine (`tests/policy-engine`, `@cloud-copilot/iam-simulate` under node): one
//! process per batch, JSON requests on stdin, decisions on stdout.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::deployer::repo;

/// One request: who does what to which resource, under which policies and context.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) id: String,
    /// An ARN, a service principal (`config.amazonaws.com`), or `anonymous`.
    pub(crate) principal: String,
    pub(crate) action: String,
    pub(crate) resource: String,
    pub(crate) resource_account: String,
    pub(crate) identity_policies: Vec<Value>,
    pub(crate) resource_policy: Option<Value>,
    pub(crate) context: BTreeMap<String, Value>,
}

impl Request {
    fn json(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "principal": self.principal,
            "action": self.action,
            "resource": self.resource,
            "resourceAccount": self.resource_account,
            "identityPolicies": self.identity_policies,
            "resourcePolicy": self.resource_policy,
            "context": self.context,
        })
    }
}

/// The engine's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// `Allowed`, `ImplicitlyDenied` or `ExplicitlyDenied`.
    pub(crate) decision: String,
    /// The engine's explanation: which statements allowed or denied, and for an implicit
    /// denial what of each statement about the action did not match.
    pub(crate) why: Vec<String>,
}

impl Decision {
    pub(crate) fn allowed(&self) -> bool {
        self.decision == "Allowed"
    }
}

/// What the engine said: a decision per request id, and the resource types per action asked.
#[derive(Debug, Default)]
pub(crate) struct Answers {
    pub(crate) decisions: BTreeMap<String, Decision>,
    /// Action -> resource types AWS authorises it on (empty: `*` only).
    pub(crate) resource_types: BTreeMap<String, Vec<String>>,
}

/// Runs the engine on `requests`, and asks which resource types each of `actions` has.
pub(crate) fn evaluate(requests: &[Request], actions: &[String]) -> Answers {
    let dir = repo().join("tests/policy-engine");
    assert!(
        dir.join("node_modules/@cloud-copilot/iam-simulate")
            .is_dir(),
        "the IAM policy engine is not installed: run `npm ci --ignore-scripts --prefix tests/policy-engine`"
    );
    let requests: Vec<Value> = requests.iter().map(Request::json).collect();
    let input = serde_json::json!({ "requests": requests, "actions": actions });
    let mut child = Command::new("node")
        .arg(dir.join("evaluate.mjs"))
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (the policy engine needs node 20 or later)");
    child
        .stdin
        .take()
        .expect("the engine's stdin")
        .write_all(input.to_string().as_bytes())
        .expect("the requests reach the engine");
    let out = child.wait_with_output().expect("the engine finishes");
    assert!(
        out.status.success(),
        "the policy engine failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).expect("the engine answers JSON");
    let mut answers = Answers::default();
    for d in answer["decisions"].as_array().expect("decisions") {
        let id = d["id"].as_str().unwrap_or_default().to_owned();
        assert!(
            d["error"].is_null(),
            "the engine refused request {id}: {}",
            d["error"]
        );
        let why = d["why"]
            .as_array()
            .map(|w| {
                w.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        answers.decisions.insert(
            id,
            Decision {
                decision: d["decision"].as_str().unwrap_or_default().to_owned(),
                why,
            },
        );
    }
    for (action, info) in answer["actions"].as_object().expect("actions") {
        assert!(info["error"].is_null(), "{action}: {}", info["error"]);
        let types = info["resourceTypes"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        answers.resource_types.insert(action.clone(), types);
    }
    answers
}
