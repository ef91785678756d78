//! Least privilege and trust, proven with an IAM policy engine: the emulator evaluates no policy,
//! so what a rendered policy allows is asked of `@cloud-copilot/iam-simulate`
//! (`tests/policy-engine`). The templates are the ones `deployer render` writes and the
//! parameters the ones `deployer plan --out` saves (the exact code keys it uploads, who may write
//! them); every access path Custos depends on must be Allowed and every one that must be
//! impossible Denied, for the reason the engine gives. The table prints with each row.
//!
//! The last row drives the deployer (plan, apply, destroy, doctor) through a recording proxy in
//! front of the emulator, and checks that the policies `deployer doctor --print-policies`
//! documents allow every call it made, as the principal that made it.

mod calls;
mod cfn;
mod engine;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use config_rule_sdk::RuleMeta;
use deployer::plan::{Change, SavedPlan};
use serde_json::{Value, json};
use workspace_tests::emulator::Emulator;
use workspace_tests::faults::{FaultProxy, Faults};
use workspace_tests::org::{ACCESS_ROLE, Organization};

use crate::deployer::{Deployer, deployer_for, repo};
use cfn::Stack;
use engine::Request;

const REGION: &str = "us-east-1";
const OTHER_REGION: &str = "eu-west-1";
/// An account outside the organisation.
const STRANGER: &str = "999999999999";
const OTHER_ORG: &str = "o-zzzzzzzzzz";

/// Every Custos rule, central distribution, remediation on (automatic where a rule has one).
fn central_settings() -> String {
    format!(
        r#"
[organization]
role-name = "{ACCESS_ROLE}"
regions = ["{REGION}"]
target-ous = ["Workloads"]
include-management-account = true

[artifacts]
distribution = "central"

[remediation]
enabled = true

[notifications]
emails = ["cloud-security@example.com"]

[rules.s3-bucket-encryption]
parameters = {{ sseAlgorithm = "AES256", inlineRemediation = true }}

[rules.ec2-instance-baseline]
parameters = {{ adminSecurityGroupId = "sg-0123456789abcdef0" }}
remediation = "automatic"

[rules.vpc-creation-approved]

[rules.ec2-cost-context]
parameters = {{ maxSpendUsd = 500 }}

[rules.iam-access-key-behaviour]
parameters = {{ deactivateSuspiciousKeys = true }}

[rules.iam-policy-no-admin-wildcards]
"#
    )
}

/// What a case must come to; a denial names a fragment the engine's explanation must hold.
#[derive(Debug, Clone)]
enum Expect {
    Allowed,
    Denied(&'static str),
}

struct Case {
    what: String,
    request: Request,
    expect: Expect,
}

struct Row {
    path: &'static str,
    must: &'static str,
    cases: Vec<Case>,
}

/// Who asks: a principal of an account, with the context AWS sets for it.
#[derive(Clone)]
struct Principal {
    arn: String,
    account: String,
    org: Option<String>,
    policies: Vec<Value>,
}

impl Principal {
    fn role(account: &str, name: &str, org: Option<&str>, policies: Vec<Value>) -> Self {
        Self {
            arn: format!("arn:aws:iam::{account}:role/{name}"),
            account: account.to_owned(),
            org: org.map(str::to_owned),
            policies,
        }
    }

    fn asks(
        &self,
        action: &str,
        resource: &str,
        owner: &str,
        resource_policy: Option<&Value>,
    ) -> Request {
        let mut context = BTreeMap::from([
            ("aws:PrincipalArn".to_owned(), json!(self.arn)),
            ("aws:PrincipalAccount".to_owned(), json!(self.account)),
            ("aws:PrincipalType".to_owned(), json!("AssumedRole")),
            ("aws:ResourceAccount".to_owned(), json!(owner)),
            ("aws:SecureTransport".to_owned(), json!("true")),
        ]);
        if let Some(org) = &self.org {
            context.insert("aws:PrincipalOrgID".to_owned(), json!(org));
        }
        // Custos roles use KMS only as SNS does for them, publishing to the encrypted topic.
        if action.starts_with("kms:")
            && let Some(region) = resource.split(':').nth(3)
        {
            context.insert(
                "kms:ViaService".to_owned(),
                json!(format!("sns.{region}.amazonaws.com")),
            );
        }
        Request {
            id: String::new(),
            principal: self.arn.clone(),
            action: action.to_owned(),
            resource: resource.to_owned(),
            resource_account: owner.to_owned(),
            identity_policies: self.policies.clone(),
            resource_policy: resource_policy.cloned(),
            context,
        }
    }
}

/// A request by an AWS service on behalf of `source` (its `aws:SourceArn`) in `source_account`.
fn service_asks(
    service: &str,
    source_account: &str,
    source: &str,
    action: &str,
    resource: &str,
    owner: &str,
    resource_policy: Option<&Value>,
) -> Request {
    Request {
        id: String::new(),
        principal: service.to_owned(),
        action: action.to_owned(),
        resource: resource.to_owned(),
        resource_account: owner.to_owned(),
        identity_policies: Vec::new(),
        resource_policy: resource_policy.cloned(),
        context: BTreeMap::from([
            ("aws:SourceAccount".to_owned(), json!(source_account)),
            ("aws:SourceArn".to_owned(), json!(source)),
            ("aws:PrincipalServiceName".to_owned(), json!(service)),
            ("aws:SecureTransport".to_owned(), json!("true")),
        ]),
    }
}

fn anonymous_asks(action: &str, resource: &str, owner: &str, resource_policy: &Value) -> Request {
    Request {
        id: String::new(),
        principal: "anonymous".to_owned(),
        action: action.to_owned(),
        resource: resource.to_owned(),
        resource_account: owner.to_owned(),
        identity_policies: Vec::new(),
        resource_policy: Some(resource_policy.clone()),
        context: BTreeMap::from([("aws:SecureTransport".to_owned(), json!("true"))]),
    }
}

/// The AWS managed AdministratorAccess policy: what StackSets execution roles, and an account
/// administrator, hold.
fn administrator_access() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
}

fn case(what: impl Into<String>, request: Request, expect: Expect) -> Case {
    Case {
        what: what.into(),
        request,
        expect,
    }
}

/// The rendered templates (`deployer render`) and the saved plan (`deployer plan --out`) of
/// one organisation, central distribution, every rule.
struct Rendered {
    templates: BTreeMap<String, String>,
    plan: SavedPlan,
    /// Stack set -> the parameters the plan gives it (`plan --output json`).
    parameters: BTreeMap<String, BTreeMap<String, String>>,
}

impl Rendered {
    fn body(&self, file: &str) -> &str {
        self.templates
            .get(file)
            .unwrap_or_else(|| panic!("deployer render wrote no {file}"))
    }

    fn parameters(&self, stack_set: &str) -> &BTreeMap<String, String> {
        self.parameters
            .get(stack_set)
            .unwrap_or_else(|| panic!("the plan holds no stack set {stack_set}"))
    }
}

/// The deployer with the rules users get (`rules/`), `--output json`: exit code and stdout.
fn run(deployer: &Deployer, args: &[&str]) -> (i32, Value) {
    let out = std::process::Command::new(&deployer.binary)
        .arg("--config")
        .arg(deployer.dir.path().join("deployer.toml"))
        .arg("--rules-dir")
        .arg(repo().join("rules"))
        .args(["--output", "json"])
        .args(args)
        .env_clear()
        .envs(deployer.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("the deployer runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

/// `deployer render --out DIR`: file name -> template.
fn render(deployer: &Deployer) -> BTreeMap<String, String> {
    let out = deployer.dir.path().join("rendered");
    let status = std::process::Command::new(&deployer.binary)
        .arg("--config")
        .arg(deployer.dir.path().join("deployer.toml"))
        .arg("--rules-dir")
        .arg(repo().join("rules"))
        .args(["render", "--out", out.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success(), "deployer render failed");
    let mut templates = BTreeMap::new();
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        templates.insert(name, std::fs::read_to_string(&path).unwrap());
    }
    templates
}

fn render_and_plan(deployer: &Deployer) -> Rendered {
    deployer.write_settings(&central_settings());
    // Stand-ins for the binaries of the rules the other tests leave out.
    for binary in [
        "ec2-cost-context",
        "iam-access-key-behaviour",
        "iam-policy-no-admin-wildcards",
    ] {
        std::fs::write(
            deployer.dir.path().join("bin").join(binary),
            format!("#!/bin/sh\necho {binary}\n"),
        )
        .unwrap();
    }
    let templates = render(deployer);
    let saved = deployer.dir.path().join("plan.json");
    let (code, json) = run(
        deployer,
        &[
            "plan",
            "--org",
            "--bootstrap-dir",
            deployer.dir.path().join("bin").to_str().unwrap(),
            "--out",
            saved.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "a first plan has changes pending: {json:#}");
    let plan: SavedPlan = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    // The plan deploys what render writes: each stack set's template is a rendered file.
    let mut parameters = BTreeMap::new();
    for (name, stack_set) in json["stack_sets"]
        .as_object()
        .expect("the plan lists stack sets")
    {
        let file = stack_set["template"].as_str().unwrap();
        let body = templates
            .get(file)
            .unwrap_or_else(|| panic!("{name}: deployer render wrote no {file}"));
        assert_eq!(
            stack_set["template_sha256"].as_str().unwrap(),
            deployer::digest::of(body),
            "{name} deploys {file} as render writes it"
        );
        assert_eq!(
            plan.digests.templates[&format!("stack set {name}")],
            deployer::digest::of(body),
            "the saved plan approves {name} with {file} as render writes it"
        );
        parameters.insert(
            name.clone(),
            serde_json::from_value(stack_set["parameters"].clone()).unwrap(),
        );
    }
    Rendered {
        templates,
        plan,
        parameters,
    }
}

/// Rules' names as `deployer render` wrote their templates.
fn rule_names(rendered: &Rendered) -> Vec<String> {
    rendered
        .templates
        .keys()
        .filter_map(|f| {
            f.strip_prefix("rule-")?
                .strip_suffix(".yaml")
                .map(str::to_owned)
        })
        .collect()
}

/// A rule's stack in `account`, with the plan's parameters and the inline remediation on (the
/// widest the role gets).
fn rule_stack(rendered: &Rendered, rule: &str, account: &str, region: &str) -> Stack {
    let body = rendered.body(&format!("rule-{rule}.yaml"));
    Stack::new(
        body,
        &format!("StackSet-custos-rule-{rule}-0f1e2d3c"),
        account,
        region,
        rendered.parameters(&format!("custos-rule-{rule}")),
        &[("InlineRemediationOn", true)],
    )
}

/// The central artifact bucket as a member of the organisation sees it, with the principals
/// rows 1-3 ask as.
struct CentralBucket {
    management: String,
    policy: Value,
    bucket: String,
    key: String,
    object: String,
    service_managed: Principal,
    self_managed: Principal,
    outsider: Principal,
    developer: Principal,
    local_admin: Principal,
}

impl CentralBucket {
    fn new(rendered: &Rendered, org: &Organization, member: &str) -> Self {
        let management = &org.management_account_id;
        let artifacts = Stack::new(
            rendered.body("artifacts.yaml"),
            "StackSet-custos-artifacts-0f1e2d3c",
            management,
            REGION,
            rendered.parameters("custos-artifacts"),
            &[],
        );
        let policy = artifacts.policy_document("AWS::S3::BucketPolicy");
        let bucket = artifacts.arn("ArtifactBucket");
        // The exact key the deployer uploads for a rule, which the rule's stack set deploys.
        let (key, binary) = rendered
            .plan
            .changes
            .iter()
            .find_map(|c| match c {
                Change::UploadArtifact(o) if o.account == *management && o.region == REGION => {
                    Some((o.key.clone(), o.binary.clone()))
                }
                _ => None,
            })
            .expect("the plan uploads rule code to the central bucket");
        let code_key = &rendered.parameters(&format!("custos-rule-{binary}"))["CodeKey"];
        assert_eq!(&key, code_key, "the rule stack deploys the uploaded key");
        let object = format!("{bucket}/{key}");
        let admin = || vec![administrator_access()];
        let org_id = Some(org.id.as_str());
        let service_managed = Principal::role(
            member,
            "stacksets-exec-6c5c3b2f0b1d4a7e9f8a1b2c3d4e5f60",
            org_id,
            admin(),
        );
        let self_managed = Principal::role(
            member,
            "AWSCloudFormationStackSetExecutionRole",
            org_id,
            admin(),
        );
        let outsider = Principal::role(
            STRANGER,
            "stacksets-exec-6c5c3b2f0b1d4a7e9f8a1b2c3d4e5f60",
            Some(OTHER_ORG),
            admin(),
        );
        let developer = Principal::role(member, "developer", org_id, admin());
        let local_admin = Principal::role(management, "Admin", org_id, admin());
        Self {
            management: management.clone(),
            policy,
            bucket,
            key,
            object,
            service_managed,
            self_managed,
            outsider,
            developer,
            local_admin,
        }
    }
}

/// Row 1: StackSets execution roles read the code.
fn reading_row(b: &CentralBucket) -> Row {
    let read = "s3:GetObject";
    Row {
        path: "member StackSets execution role reads the exact artifact key the deployer uploads (central distribution)",
        must: "Allowed",
        cases: vec![
            case(
                format!("service-managed stacksets-exec-* role reads {}", b.key),
                b.service_managed
                    .asks(read, &b.object, &b.management, Some(&b.policy)),
                Expect::Allowed,
            ),
            case(
                "self-managed AWSCloudFormationStackSetExecutionRole reads it",
                b.self_managed
                    .asks(read, &b.object, &b.management, Some(&b.policy)),
                Expect::Allowed,
            ),
        ],
    }
}

/// Row 2: nobody else reads it.
fn outsiders_row(b: &CentralBucket) -> Row {
    let read = "s3:GetObject";
    Row {
        path: "a principal outside the organisation; an anonymous caller; a member role that is not a StackSets role",
        must: "Denied",
        cases: vec![
            case(
                "a stacksets-exec-* role of another organisation",
                b.outsider
                    .asks(read, &b.object, &b.management, Some(&b.policy)),
                Expect::Denied("aws:PrincipalOrgID"),
            ),
            case(
                "an anonymous caller",
                anonymous_asks(read, &b.object, &b.management, &b.policy),
                Expect::Denied("aws:PrincipalOrgID"),
            ),
            case(
                "a member account's administrator role",
                b.developer
                    .asks(read, &b.object, &b.management, Some(&b.policy)),
                Expect::Denied("aws:PrincipalArn"),
            ),
            case(
                "a StackSets role, outside the code prefix",
                b.service_managed.asks(
                    read,
                    &format!("{}/rules/x.zip", b.bucket),
                    &b.management,
                    Some(&b.policy),
                ),
                Expect::Denied("resource does not match"),
            ),
        ],
    }
}

/// Row 3: only the deployer writes it.
fn writers_row(b: &CentralBucket, deployer: &Principal) -> Row {
    Row {
        path: "anyone but the deployer's role writes or deletes an artifact",
        must: "Denied",
        cases: vec![
            case(
                "the deployer's own principal uploads (the one allowed)",
                deployer.asks("s3:PutObject", &b.object, &b.management, Some(&b.policy)),
                Expect::Allowed,
            ),
            case(
                "an administrator of the bucket's own account uploads",
                b.local_admin
                    .asks("s3:PutObject", &b.object, &b.management, Some(&b.policy)),
                Expect::Denied("OnlyTheDeployerWritesRuleCode denies"),
            ),
            case(
                "an administrator of the bucket's own account deletes a version",
                b.local_admin.asks(
                    "s3:DeleteObjectVersion",
                    &b.object,
                    &b.management,
                    Some(&b.policy),
                ),
                Expect::Denied("OnlyTheDeployerWritesRuleCode denies"),
            ),
            case(
                "a member StackSets role overwrites the code",
                b.service_managed
                    .asks("s3:PutObject", &b.object, &b.management, Some(&b.policy)),
                Expect::Denied("OnlyTheDeployerWritesRuleCode denies"),
            ),
            case(
                "a principal outside the organisation deletes it",
                b.outsider
                    .asks("s3:DeleteObject", &b.object, &b.management, Some(&b.policy)),
                Expect::Denied("OnlyTheDeployerWritesRuleCode denies"),
            ),
            case(
                "an anonymous caller uploads",
                anonymous_asks("s3:PutObject", &b.object, &b.management, &b.policy),
                Expect::Denied("OnlyTheDeployerWritesRuleCode denies"),
            ),
        ],
    }
}

/// Row 4: AWS Config invokes a rule's function.
fn config_row(rendered: &Rendered, member: &str) -> Row {
    let mut cases = Vec::new();
    for rule in rule_names(rendered) {
        let stack = rule_stack(rendered, &rule, member, REGION);
        let policy = stack.function_policy("Function");
        let function = stack.arn("Function");
        let own_rule = stack.arn("ConfigRule");
        let invoke = |account: &str, source: &str| {
            service_asks(
                "config.amazonaws.com",
                account,
                source,
                "lambda:InvokeFunction",
                &function,
                member,
                Some(&policy),
            )
        };
        cases.push(case(
            format!("{rule}: its own Config rule"),
            invoke(member, &own_rule),
            Expect::Allowed,
        ));
        cases.push(case(
            format!("{rule}: a Config rule of another account"),
            invoke(
                STRANGER,
                &format!("arn:aws:config:{REGION}:{STRANGER}:config-rule/config-rule-9z8y7x"),
            ),
            Expect::Denied("aws:SourceAccount"),
        ));
        cases.push(case(
            format!(
                "{rule}: another Config rule of the same account and region (a limit of AWS: Config \
                 checks the permission before it creates the rule, whose ARN holds an id it generates)"
            ),
            invoke(
                member,
                &format!("arn:aws:config:{REGION}:{member}:config-rule/config-rule-9z8y7x"),
            ),
            Expect::Allowed,
        ));
        cases.push(case(
            format!("{rule}: a Config rule of the same account in another region"),
            invoke(
                member,
                &format!("arn:aws:config:{OTHER_REGION}:{member}:config-rule/config-rule-9z8y7x"),
            ),
            Expect::Denied("aws:SourceArn"),
        ));
    }
    Row {
        path: "config.amazonaws.com invokes a rule function for its own account and its own rule (aws:SourceAccount, aws:SourceArn)",
        must: "Allowed; other account or other rule: Denied",
        cases,
    }
}

/// Row 5: who publishes to the notification topic.
fn topic_row(rendered: &Rendered, member: &str, org: &Organization) -> Row {
    let base = Stack::new(
        rendered.body("base.yaml"),
        "StackSet-custos-base-0f1e2d3c",
        member,
        REGION,
        &BTreeMap::new(),
        &[],
    );
    let policy = base.policy_document("AWS::SNS::TopicPolicy");
    let topic = base.arn("NotificationTopic");
    let vpc = rule_stack(rendered, "vpc-creation-approved", member, REGION);
    let own_rule = vpc.arn("ComplianceNotification");
    let publish = |account: &str, source: &str, service: &str| {
        service_asks(
            service,
            account,
            source,
            "sns:Publish",
            &topic,
            member,
            Some(&policy),
        )
    };
    // A rule function's role, as the rule stack makes it, publishing a remediation record.
    let s3 = rule_stack(rendered, "s3-bucket-encryption", member, REGION);
    let function_role = Principal {
        arn: s3.arn("FunctionRole"),
        account: member.to_owned(),
        org: Some(org.id.clone()),
        policies: s3.role_policies("FunctionRole"),
    };
    let local_admin = Principal::role(member, "Admin", Some(&org.id), vec![administrator_access()]);
    Row {
        path: "EventBridge of the same account publishes to the notification topic",
        must: "Allowed; anything else: Denied",
        cases: vec![
            case(
                "EventBridge, a Custos rule's compliance changes",
                publish(member, &own_rule, "events.amazonaws.com"),
                Expect::Allowed,
            ),
            case(
                "a Custos rule function's role (remediation record)",
                function_role.asks("sns:Publish", &topic, member, Some(&policy)),
                Expect::Allowed,
            ),
            case(
                "EventBridge of another account",
                publish(
                    STRANGER,
                    &format!(
                        "arn:aws:events:{REGION}:{STRANGER}:rule/custos-vpc-creation-approved"
                    ),
                    "events.amazonaws.com",
                ),
                Expect::Denied("aws:SourceAccount"),
            ),
            case(
                "EventBridge, a rule that is not Custos's",
                publish(
                    member,
                    &format!("arn:aws:events:{REGION}:{member}:rule/someone-elses"),
                    "events.amazonaws.com",
                ),
                Expect::Denied("aws:SourceArn"),
            ),
            case(
                "another service of the same account",
                publish(
                    member,
                    &format!("arn:aws:s3:::bucket-of-{member}"),
                    "s3.amazonaws.com",
                ),
                Expect::Denied("OnlyCustosPublishes denies"),
            ),
            case(
                "an administrator of the same account",
                local_admin.asks("sns:Publish", &topic, member, Some(&policy)),
                Expect::Denied("OnlyCustosPublishes denies"),
            ),
            case(
                "an anonymous caller",
                anonymous_asks("sns:Publish", &topic, member, &policy),
                Expect::Denied("OnlyCustosPublishes denies"),
            ),
        ],
    }
}

/// The base stack of `member`, which holds the notification topic and its key.
fn base_stack(rendered: &Rendered, member: &str) -> Stack {
    Stack::new(
        rendered.body("base.yaml"),
        "StackSet-custos-base-0f1e2d3c",
        member,
        REGION,
        &BTreeMap::new(),
        &[],
    )
}

/// The base stack's topic is encrypted with its key, whose rotation is on.
fn assert_topic_under_key(base: &Stack) {
    assert_eq!(
        base.property("NotificationTopic", &["KmsMasterKeyId"]),
        json!(base.physical_name_of("NotificationKey")),
        "the topic is encrypted with this key"
    );
    assert_eq!(
        base.property("NotificationKey", &["EnableKeyRotation"]),
        json!("true")
    );
}

/// Row 5b: who uses the notification topic's key.
fn key_row(rendered: &Rendered, member: &str, org: &Organization) -> Row {
    let base = base_stack(rendered, member);
    let policy = base.property("NotificationKey", &["KeyPolicy"]);
    let key = base.arn("NotificationKey");
    assert_topic_under_key(&base);
    let vpc = rule_stack(rendered, "vpc-creation-approved", member, REGION);
    let own_rule = vpc.arn("ComplianceNotification");
    let events = |account: &str, source: &str, action: &str| {
        service_asks(
            "events.amazonaws.com",
            account,
            source,
            action,
            &key,
            member,
            Some(&policy),
        )
    };
    let s3 = rule_stack(rendered, "s3-bucket-encryption", member, REGION);
    let function_role = Principal {
        arn: s3.arn("FunctionRole"),
        account: member.to_owned(),
        org: Some(org.id.clone()),
        policies: s3.role_policies("FunctionRole"),
    };
    let ec2 = rule_stack(rendered, "ec2-instance-baseline", member, REGION);
    let remediation_role = Principal {
        arn: ec2.arn("RemediationFunctionRole"),
        account: member.to_owned(),
        org: Some(org.id.clone()),
        policies: ec2.role_policies("RemediationFunctionRole"),
    };
    let mut direct = function_role.asks("kms:Decrypt", &key, member, Some(&policy));
    direct.context.remove("kms:ViaService");
    let local_admin = Principal::role(member, "Admin", Some(&org.id), vec![administrator_access()]);
    let outsider = Principal::role(
        STRANGER,
        "Admin",
        Some(OTHER_ORG),
        vec![administrator_access()],
    );
    let stranger_rule =
        format!("arn:aws:events:{REGION}:{STRANGER}:rule/custos-vpc-creation-approved");
    let mut cases = Vec::new();
    for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
        cases.extend([
            case(
                format!("EventBridge of the same account: {action}"),
                events(member, &own_rule, action),
                Expect::Allowed,
            ),
            case(
                format!("a Custos rule function's role, publishing a record through SNS: {action}"),
                function_role.asks(action, &key, member, Some(&policy)),
                Expect::Allowed,
            ),
            case(
                format!("a Custos remediation function's role, through SNS: {action}"),
                remediation_role.asks(action, &key, member, Some(&policy)),
                Expect::Allowed,
            ),
            case(
                format!("EventBridge of another account: {action}"),
                events(STRANGER, &stranger_rule, action),
                Expect::Denied("aws:SourceAccount"),
            ),
            case(
                format!("an administrator of another account: {action}"),
                outsider.asks(action, &key, member, Some(&policy)),
                Expect::Denied("does not apply"),
            ),
            case(
                format!("an anonymous caller: {action}"),
                anonymous_asks(action, &key, member, &policy),
                Expect::Denied("does not apply"),
            ),
            case(
                format!("an administrator of the same account, not a Custos role: {action}"),
                local_admin.asks(action, &key, member, Some(&policy)),
                Expect::Denied("aws:PrincipalArn"),
            ),
        ]);
    }
    cases.push(case(
        "a Custos rule function's role calling KMS itself, not through SNS",
        direct,
        Expect::Denied("kms:ViaService"),
    ));
    cases.push(case(
        "an administrator of the same account administers the key",
        local_admin.asks("kms:PutKeyPolicy", &key, member, Some(&policy)),
        Expect::Allowed,
    ));
    Row {
        path: "EventBridge of the same account and the Custos roles use the notification topic's key",
        must: "Allowed; another account, anonymous, other roles: Denied",
        cases,
    }
}

/// The actions an SSM document's steps call: `aws:invokeLambdaFunction` -> lambda:InvokeFunction,
/// `aws:executeAwsApi` -> its Service:Api.
fn document_actions(stack: &Stack) -> Vec<String> {
    let steps = stack.property("RemediationDocument", &["Content", "mainSteps"]);
    steps
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .filter_map(|s| match s["action"].as_str()? {
                    "aws:invokeLambdaFunction" => Some("lambda:InvokeFunction".to_owned()),
                    "aws:executeAwsApi" => Some(format!(
                        "{}:{}",
                        s["inputs"]["Service"].as_str()?,
                        s["inputs"]["Api"].as_str()?
                    )),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn rule_meta(rule: &str) -> RuleMeta {
    let text = std::fs::read_to_string(repo().join(format!("rules/{rule}/rule.toml"))).unwrap();
    RuleMeta::from_toml(&text).unwrap()
}

/// A resource a statement's ARN pattern covers, and the same of another account.
fn sample(pattern: &str, member: &str) -> (String, String) {
    let inside = if pattern.contains(":log-group:") {
        // Log events go to a stream of the group.
        pattern.replace(":*", ":log-stream:2026/12/03/[$LATEST]0a1b2c3d")
    } else {
        pattern.replace('*', "sample-0123")
    };
    let outside = inside.replace(member, STRANGER);
    (inside, outside)
}

/// SSM Automation of the rule's own account and region, and no other, assumes its role.
fn automation_trust_cases(stack: &Stack, rule: &str, member: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let role_arn = stack.arn("RemediationRole");
    let trust = stack.trust_policy("RemediationRole");
    let execution = |account: &str, region: &str| {
        format!(
            "arn:aws:ssm:{region}:{account}:automation-execution/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
        )
    };
    let assume = |account: &str, region: &str| {
        service_asks(
            "ssm.amazonaws.com",
            account,
            &execution(account, region),
            "sts:AssumeRole",
            &role_arn,
            member,
            Some(&trust),
        )
    };
    cases.push(case(
        format!("{rule}: SSM Automation of the account assumes the role"),
        assume(member, REGION),
        Expect::Allowed,
    ));
    cases.push(case(
        format!("{rule}: SSM Automation of another account"),
        assume(STRANGER, REGION),
        Expect::Denied("aws:SourceAccount"),
    ));
    cases.push(case(
        format!("{rule}: SSM Automation of another region"),
        assume(member, OTHER_REGION),
        Expect::Denied("aws:SourceArn"),
    ));
    cases
}

/// What the rule's remediation document's steps call, and on what: the shipped document's steps,
/// or (an AWS-owned document) what rule.toml declares they call. Whether the document is shipped.
fn automation_steps(stack: &Stack, rule: &str, member: &str) -> (bool, Vec<(String, String)>) {
    let meta = rule_meta(rule);
    let shipped = stack
        .resources_of_type("AWS::SSM::Document")
        .iter()
        .any(|d| d == "RemediationDocument");
    // What the document's steps call: the shipped document's steps, or (an AWS-owned
    // document) what rule.toml declares its steps call.
    let steps = if shipped {
        document_actions(stack)
            .into_iter()
            .map(|a| (a, stack.arn("RemediationFunction")))
            .collect()
    } else {
        meta.permissions
            .remediation
            .iter()
            .filter(|a| *a != "sns:Publish")
            .map(|a| {
                let pattern = meta
                    .permissions
                    .resources_of(a.as_str())
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "*".into());
                let resource = pattern
                    .replace("${AWS::Partition}", "aws")
                    .replace("${AWS::Region}", REGION)
                    .replace("${AWS::AccountId}", member);
                (a.to_string(), sample(&resource, member).0)
            })
            .collect()
    };
    (shipped, steps)
}

/// Row 6: the SSM Automation role of each rule with a Config remediation.
fn automation_row(rendered: &Rendered, member: &str, org: &Organization) -> Row {
    let mut cases = Vec::new();
    for rule in rule_names(rendered) {
        let stack = rule_stack(rendered, &rule, member, REGION);
        if stack
            .resources_of_type("AWS::IAM::Role")
            .iter()
            .all(|r| r != "RemediationRole")
        {
            continue;
        }
        cases.extend(automation_trust_cases(&stack, &rule, member));

        let role = Principal {
            arn: stack.arn("RemediationRole"),
            account: member.to_owned(),
            org: Some(org.id.clone()),
            policies: stack.role_policies("RemediationRole"),
        };
        let (shipped, steps) = automation_steps(&stack, &rule, member);
        assert!(!steps.is_empty(), "{rule}: its remediation calls nothing");
        for (action, resource) in &steps {
            cases.push(case(
                format!("{rule}: {action} as its document's step does"),
                role.asks(action, resource, member, None),
                Expect::Allowed,
            ));
        }
        let (action, resource) = &steps[0];
        if resource.starts_with("arn:aws:s3:::") {
            cases.push(case(
                format!("{rule}: {action} on a bucket of another account"),
                role.asks(action, resource, STRANGER, None),
                Expect::Denied("aws:ResourceAccount"),
            ));
        }
        for other in [
            "s3:PutBucketPolicy",
            "s3:DeleteBucket",
            "iam:CreateAccessKey",
            "ec2:TerminateInstances",
        ] {
            let target = match other.split(':').next() {
                Some("s3") => "arn:aws:s3:::sample-bucket".to_owned(),
                Some("iam") => format!("arn:aws:iam::{member}:user/sample"),
                _ => format!("arn:aws:ec2:{REGION}:{member}:instance/i-0123456789abcdef0"),
            };
            cases.push(case(
                format!("{rule}: {other}, which no step calls"),
                role.asks(other, &target, member, None),
                Expect::Denied("no statement is about"),
            ));
        }
        if shipped {
            let elsewhere = format!("arn:aws:lambda:{REGION}:{member}:function:someone-elses");
            cases.push(case(
                format!("{rule}: lambda:InvokeFunction on another function"),
                role.asks("lambda:InvokeFunction", &elsewhere, member, None),
                Expect::Denied("resource does not match"),
            ));
        }
    }
    Row {
        path: "the SSM automation role does what its document's steps call, on the rule's resource types",
        must: "Allowed; any other action: Denied",
        cases,
    }
}

/// Writes no Custos rule declares: each must be denied to every rule's roles.
const UNDECLARED_WRITES: [(&str, &str); 6] = [
    ("iam:CreateAccessKey", "iam::{account}:user/sample"),
    ("iam:AttachUserPolicy", "iam::{account}:user/sample"),
    ("s3:PutBucketPolicy", "s3:::sample-bucket"),
    (
        "ec2:TerminateInstances",
        "ec2:{region}:{account}:instance/i-0123456789abcdef0",
    ),
    (
        "lambda:UpdateFunctionCode",
        "lambda:{region}:{account}:function:sample",
    ),
    (
        "config:DeleteConfigRule",
        "config:{region}:{account}:config-rule/config-rule-0a1b2c",
    ),
];

/// Row 7: each rule function's role does what rule.toml declares, and no undeclared write.
fn function_row(rendered: &Rendered, member: &str, org: &Organization) -> Row {
    let mut cases = Vec::new();
    // KMS needs the key's policy too: the roles' KMS grants are for the topic's key.
    let key_policy = base_stack(rendered, member).property("NotificationKey", &["KeyPolicy"]);
    for rule in rule_names(rendered) {
        let stack = rule_stack(rendered, &rule, member, REGION);
        let meta = rule_meta(&rule);
        for logical in stack.resources_of_type("AWS::IAM::Role") {
            if logical == "RemediationRole" {
                continue;
            }
            let role = Principal {
                arn: stack.arn(&logical),
                account: member.to_owned(),
                org: Some(org.id.clone()),
                policies: stack.role_policies(&logical),
            };
            // Every action of every statement, on a resource each of its patterns covers; and
            // where a statement is kept to the account, not on another account's.
            let mut granted = BTreeSet::new();
            for policy in &role.policies {
                for statement in policy["Statement"].as_array().unwrap() {
                    for action in as_list(&statement["Action"]) {
                        granted.insert(action.clone());
                        for pattern in as_list(&statement["Resource"]) {
                            if pattern == "*" {
                                cases.push(case(
                                    format!("{rule} {logical}: {action}"),
                                    role.asks(&action, "*", member, None),
                                    Expect::Allowed,
                                ));
                                continue;
                            }
                            let (inside, outside) = sample(&pattern, member);
                            let resource_policy = action.starts_with("kms:").then_some(&key_policy);
                            cases.push(case(
                                format!("{rule} {logical}: {action} on {inside}"),
                                role.asks(&action, &inside, member, resource_policy),
                                Expect::Allowed,
                            ));
                            cases.push(case(
                                format!("{rule} {logical}: {action} in another account"),
                                role.asks(&action, &outside, STRANGER, resource_policy),
                                Expect::Denied("does not apply"),
                            ));
                        }
                    }
                }
            }
            // What rule.toml declares for this function is what it got.
            let function = logical.trim_end_matches("Role");
            let permissions = &meta.permissions;
            let mut declared: BTreeSet<String> = BTreeSet::new();
            if stack.property(function, &["FunctionName"]) == json!(rule) {
                declared.extend(permissions.rule.iter().map(ToString::to_string));
                let remediates_inline =
                    meta.remediation.is_none() || meta.parameters.contains_key("inlineRemediation");
                if remediates_inline {
                    declared.extend(permissions.remediation.iter().map(ToString::to_string));
                }
                declared.extend(
                    config_rule_sdk::manifest::Permissions::SDK_ACTIONS
                        .iter()
                        .map(|a| (*a).to_owned()),
                );
            } else {
                declared.extend(permissions.remediation.iter().map(ToString::to_string));
            }
            for action in &declared {
                assert!(
                    granted.contains(action),
                    "{rule} {logical}: {action} is declared but not granted ({granted:?})"
                );
            }
            for (action, arn) in UNDECLARED_WRITES {
                if declared.contains(action) {
                    continue;
                }
                let resource = format!(
                    "arn:aws:{}",
                    arn.replace("{account}", member).replace("{region}", REGION)
                );
                cases.push(case(
                    format!("{rule} {logical}: {action} (undeclared)"),
                    role.asks(action, &resource, member, None),
                    Expect::Denied("no statement is about"),
                ));
            }
        }
    }
    Row {
        path: "each rule function's role does what rule.toml declares",
        must: "Allowed; undeclared write actions: Denied",
        cases,
    }
}

/// Row 8: who invokes the remediation function (its own policy, RemediationInvokePermission,
/// names the Automation role; identity policies are asked too).
fn remediation_function_row(rendered: &Rendered, member: &str, org: &Organization) -> Row {
    let stack = rule_stack(rendered, "ec2-instance-baseline", member, REGION);
    let function = stack.arn("RemediationFunction");
    let policy = stack.function_policy("RemediationFunction");
    let automation = Principal {
        arn: stack.arn("RemediationRole"),
        account: member.to_owned(),
        org: Some(org.id.clone()),
        policies: stack.role_policies("RemediationRole"),
    };
    let other_automation = Principal {
        arn: automation.arn.replace(member, STRANGER),
        account: STRANGER.to_owned(),
        org: Some(OTHER_ORG.to_owned()),
        policies: automation
            .policies
            .iter()
            .map(|p| serde_json::from_str(&p.to_string().replace(member, STRANGER)).unwrap())
            .collect(),
    };
    let member_admin_elsewhere = Principal::role(
        &other_member(member),
        "Admin",
        Some(&org.id),
        vec![administrator_access()],
    );
    let function_role = Principal {
        arn: stack.arn("FunctionRole"),
        account: member.to_owned(),
        org: Some(org.id.clone()),
        policies: stack.role_policies("FunctionRole"),
    };
    let local_admin = Principal::role(member, "Admin", Some(&org.id), vec![administrator_access()]);
    let developer = Principal::role(
        member,
        "developer",
        Some(&org.id),
        vec![
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}]}),
        ],
    );
    let invoke = "lambda:InvokeFunction";
    Row {
        path: "the remediation function is invoked by its own account's automation role",
        must: "Allowed; anyone else: Denied",
        cases: vec![
            case(
                "the rule's RemediationRole (SSM Automation)",
                automation.asks(invoke, &function, member, Some(&policy)),
                Expect::Allowed,
            ),
            case(
                "the rule's RemediationRole by the function's own policy alone (its identity grant left out)",
                Principal {
                    policies: Vec::new(),
                    ..automation.clone()
                }
                .asks(invoke, &function, member, Some(&policy)),
                Expect::Allowed,
            ),
            case(
                "the same role name in another account",
                other_automation.asks(invoke, &function, member, Some(&policy)),
                Expect::Denied("another account"),
            ),
            case(
                "an administrator of another account of the organisation",
                member_admin_elsewhere.asks(invoke, &function, member, Some(&policy)),
                Expect::Denied("another account"),
            ),
            case(
                "the rule's own function role",
                function_role.asks(invoke, &function, member, Some(&policy)),
                Expect::Denied("principal NoMatch"),
            ),
            case(
                "a role of the account whose own policy grants lambda:* (a limit of AWS: a function \
                 policy cannot deny)",
                local_admin.asks(invoke, &function, member, Some(&policy)),
                Expect::Allowed,
            ),
            case(
                "a role of the account without a grant for it",
                developer.asks(invoke, &function, member, Some(&policy)),
                Expect::Denied("principal NoMatch"),
            ),
            case(
                "AWS Config",
                service_asks(
                    "config.amazonaws.com",
                    member,
                    &stack.arn("ConfigRule"),
                    invoke,
                    &function,
                    member,
                    Some(&policy),
                ),
                Expect::Denied("principal NoMatch"),
            ),
        ],
    }
}

fn other_member(member: &str) -> String {
    // Another twelve-digit account, of the same organisation for the test's purpose.
    let mut digits: Vec<char> = member.chars().collect();
    digits[11] = if digits[11] == '1' { '2' } else { '1' };
    digits.into_iter().collect()
}

fn as_list(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Every `Resource: "*"` grant of the rendered templates and the documented policies, as
/// (where, action).
fn wildcard_grants(
    rendered: &Rendered,
    member: &str,
    documented: &[(&str, &Value)],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut policies: Vec<(String, Value)> = documented
        .iter()
        .map(|(w, p)| ((*w).to_owned(), (*p).clone()))
        .collect();
    for rule in rule_names(rendered) {
        let stack = rule_stack(rendered, &rule, member, REGION);
        for role in stack.resources_of_type("AWS::IAM::Role") {
            for p in stack.role_policies(&role) {
                policies.push((format!("rule-{rule} {role}"), p));
            }
        }
    }
    for (where_, policy) in policies {
        for s in policy["Statement"].as_array().unwrap() {
            if s["Effect"] == "Allow" && as_list(&s["Resource"]) == ["*"] {
                for action in as_list(&s["Action"]) {
                    out.push((where_.clone(), action));
                }
            }
        }
    }
    out
}

/// The documented minimum policies, as `deployer doctor --print-policies` prints them.
fn documented_policies(deployer: &Deployer) -> (Value, Value) {
    let (code, json) = run(deployer, &["doctor", "--print-policies"]);
    assert_eq!(code, 0, "{json:#}");
    (
        json["administering-account"].clone(),
        json["member-access-role"].clone(),
    )
}

/// The organisation of the call-log run: per-account artifacts, an OU and the management
/// account, a Lambda remediation, an organisation-wide pack; `approval` changes between applies.
fn call_log_settings(approval: &str) -> String {
    format!(
        r#"
[organization]
role-name = "{ACCESS_ROLE}"
regions = ["{REGION}", "{OTHER_REGION}"]
target-ous = ["Workloads"]
include-management-account = true

[artifacts]
distribution = "per-account"

[rules.s3-bucket-encryption]
parameters = {{ sseAlgorithm = "AES256" }}

[rules.ec2-instance-baseline]
parameters = {{ adminSecurityGroupId = "sg-0123456789abcdef0" }}
remediation = "manual"

[rules.vpc-creation-approved]
parameters = {{ approvalTagKey = "{approval}" }}

[packs.baseline]
deployment = "organization"
rules = ["s3-bucket-encryption"]
"#
    )
}

/// What a run of doctor, plan, apply (twice) and destroy did, as the recording proxy saw it.
struct CallLog {
    org: Organization,
    /// The deployer's own access key.
    key: String,
    log: Vec<workspace_tests::faults::Exchange>,
    /// The operations the deployer's own call log counted (apply, apply, destroy).
    counted: BTreeSet<String>,
    /// What `deployer doctor --print-policies` documents: the administering account's, the
    /// member access role's.
    policies: (Value, Value),
}

async fn call_log(emulator: &Emulator) -> CallLog {
    let org = Organization::isolated(emulator).await.unwrap();
    let workloads = org.create_ou(&org.root_id, "Workloads").await.unwrap();
    for name in ["workload-0", "workload-1"] {
        let account = org.create_member(name).await.unwrap();
        org.move_account(&account.id, &workloads).await.unwrap();
    }
    org.enable_stacksets_trusted_access().await.unwrap();
    let mut deployer = deployer_for(emulator, &org).await;
    let proxy = FaultProxy::start(emulator.url(), 1, Faults::NONE).unwrap();
    for (k, v) in &mut deployer.env {
        if k == "AWS_ENDPOINT_URL" {
            proxy.url().clone_into(v);
        }
    }
    let key = deployer
        .env
        .iter()
        .find(|(k, _)| k == "AWS_ACCESS_KEY_ID")
        .map(|(_, v)| v.clone())
        .unwrap();
    deployer.write_settings(&call_log_settings("custos:approved"));
    let packs = deployer.dir.path().join("conformance-packs");
    std::fs::create_dir_all(&packs).unwrap();
    std::fs::write(packs.join("baseline.toml"), crate::org_packs::PACK).unwrap();
    let bin = deployer.dir.path().join("bin");
    let bin = bin.to_str().unwrap();
    let apply = ["apply", "--org", "--yes", "--bootstrap-dir", bin];

    let (code, doctor) = run(&deployer, &["doctor", "--org"]);
    assert!(code == 0 || code == 1, "{doctor:#}");
    let (code, plan) = run(&deployer, &["plan", "--org", "--bootstrap-dir", bin]);
    assert_eq!(code, 1, "{plan:#}");
    let (code, applied) = run(&deployer, &apply);
    assert_eq!(
        (code, &applied["status"]),
        (0, &json!("succeeded")),
        "{applied:#}"
    );
    // Deployed: doctor also compares each function's code with the zip the deployer built.
    let (code, checked) = run(&deployer, &["doctor", "--org"]);
    assert!(code == 0 || code == 1, "{checked:#}");
    // A changed parameter: the stack sets are updated.
    deployer.write_settings(&call_log_settings("approved-by"));
    let (code, updated) = run(&deployer, &apply);
    assert_eq!(
        (code, &updated["status"]),
        (0, &json!("succeeded")),
        "{updated:#}"
    );
    let (code, destroyed) = run(
        &deployer,
        &[
            "destroy",
            "--org",
            "--yes",
            "--allow-delete",
            "--allow-mass-delete",
        ],
    );
    assert_eq!(code, 0, "{destroyed:#}");

    let mut counted = BTreeSet::new();
    for run in [&applied, &updated, &destroyed] {
        for side in ["reads", "writes"] {
            for name in run["calls"][side].as_object().unwrap().keys() {
                counted.insert(name.rsplit(':').next().unwrap().to_owned());
            }
        }
    }
    CallLog {
        policies: documented_policies(&deployer),
        log: proxy.stats().log,
        org,
        key,
        counted,
    }
}

/// Row 9: every call of the run, as the principal that signed it, under the documented
/// policies; every operation the deployer counted was seen on the wire.
fn call_log_row(run: &CallLog) -> Row {
    let org = &run.org;
    let signers = calls::signers(&run.log, &run.key, &org.management_account_id);
    let mut needed = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for e in run.log.iter().filter(|e| e.answered()) {
        seen.insert(e.operation.clone());
        let signer = signers
            .get(&e.access_key)
            .unwrap_or_else(|| panic!("{}: signed by a key the run never got", e.name()));
        for need in calls::needed(e, &signer.account, &org.management_account_id, &org.id)
            .unwrap_or_else(|m| panic!("{m}"))
        {
            let key = (
                signer.member_role.clone(),
                need.action.clone(),
                need.resource.clone(),
            );
            needed.entry(key).or_insert((need, signer.account.clone()));
        }
    }
    for op in &run.counted {
        let wire = match op.as_str() {
            "HeadObject" => "HEAD",
            "PutObject" => "PUT",
            "ListObjectVersions" => "GET",
            "DeleteObjects" => "POST",
            other => other,
        };
        assert!(
            seen.contains(wire),
            "the deployer counted {op}, the proxy never saw it"
        );
    }

    let (administering, member) = &run.policies;
    let deployer_role = Principal::role(
        &org.management_account_id,
        "custos-deployer",
        Some(&org.id),
        vec![administering.clone()],
    );
    // The member access role's trust, as AWS Organizations creates it (the management account).
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", org.management_account_id)}, "Action": "sts:AssumeRole"}]});
    let mut cases = Vec::new();
    for ((role, _, _), (need, account)) in &needed {
        let (who, principal) = match role {
            None => ("deployer role", deployer_role.clone()),
            Some(_) => (
                "member access role",
                Principal::role(account, ACCESS_ROLE, Some(&org.id), vec![member.clone()]),
            ),
        };
        let resource_policy = (need.action == "sts:AssumeRole").then_some(&trust);
        cases.push(case(
            format!("{who}: {} -> {} {}", need.call, need.action, need.resource),
            principal.asks(&need.action, &need.resource, &need.account, resource_policy),
            Expect::Allowed,
        ));
    }
    assert!(
        cases.len() > 20,
        "the run made too few calls to prove anything: {}",
        cases.len()
    );
    Row {
        path: "the deployer's documented minimum policies (administering account, member access role) suffice for plan, apply, destroy, doctor",
        must: "Allowed for every call in the call log of an emulator run",
        cases,
    }
}

/// The table of paths (one line per row, printed), every case with the engine's reasons (kept
/// in a file), the cases that are not as they must be, and the `*` grants of actions AWS
/// authorises on something narrower.
struct Judged {
    summary: String,
    table: String,
    wrong: Vec<String>,
    wide: Vec<String>,
}

/// Asks the engine every case of `rows` and the resource types of every `*` grant's action.
fn judge(rows: &mut [Row], wildcards: &[(String, String)]) -> Judged {
    let answers = ask(rows, wildcards);

    let mut table =
        String::from("\n| path | must be | case | engine | why |\n|---|---|---|---|---|\n");
    let mut summary = String::from(
        "\n| path | must be | cases | Allowed | Denied | as it must be |\n|---|---|---|---|---|---|\n",
    );
    let mut wrong = Vec::new();
    for row in rows.iter() {
        let allowed = row
            .cases
            .iter()
            .filter(|c| answers.decisions[&c.request.id].allowed())
            .count();
        let wrong_before = wrong.len();
        let mut first = true;
        for case in &row.cases {
            let decision = &answers.decisions[&case.request.id];
            let why = decision.why.join("; ");
            let right = match &case.expect {
                Expect::Allowed => decision.allowed(),
                Expect::Denied(because) => {
                    !decision.allowed() && why.to_lowercase().contains(&because.to_lowercase())
                }
            };
            let expected = match &case.expect {
                Expect::Allowed => "Allowed".to_owned(),
                Expect::Denied(because) => format!("Denied ({because})"),
            };
            let (path, must) = if first {
                (row.path, row.must)
            } else {
                ("", "")
            };
            first = false;
            let mark = if right { "" } else { " **WRONG**" };
            let _ = writeln!(
                table,
                "| {path} | {must} | {} (must be {expected}) | {}{mark} | {} |",
                case.what, decision.decision, why
            );
            if !right {
                wrong.push(format!(
                    "{} / {}: must be {expected}, engine says {} ({why})",
                    row.path, case.what, decision.decision
                ));
            }
        }
        let _ = writeln!(
            summary,
            "| {} | {} | {} | {allowed} | {} | {} |",
            row.path,
            row.must,
            row.cases.len(),
            row.cases.len() - allowed,
            if wrong.len() == wrong_before {
                "yes"
            } else {
                "**NO**"
            }
        );
    }
    let wide = narrower_than_granted(wildcards, &answers);
    let _ = writeln!(
        table,
        "| every `Resource: \"*\"` grant ({} grants, {} actions) | only actions AWS authorises on nothing narrower | each action's resource types | {} | the engine's service data |",
        wildcards.len(),
        answers.resource_types.len(),
        if wide.is_empty() {
            "holds"
        } else {
            "**WRONG**"
        },
    );
    let _ = writeln!(
        summary,
        "| every `Resource: \"*\"` grant | only actions AWS authorises on nothing narrower | {} | | | {} |",
        wildcards.len(),
        if wide.is_empty() { "yes" } else { "**NO**" },
    );
    Judged {
        summary,
        table,
        wrong,
        wide,
    }
}

/// The engine's answer to every case of `rows` (each given its id) and the resource types of
/// every action granted on `*`.
fn ask(rows: &mut [Row], wildcards: &[(String, String)]) -> engine::Answers {
    let actions: Vec<String> = wildcards
        .iter()
        .map(|(_, a)| a.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut requests = Vec::new();
    for (r, row) in rows.iter_mut().enumerate() {
        for (c, case) in row.cases.iter_mut().enumerate() {
            case.request.id = format!("{r}.{c}");
            requests.push(case.request.clone());
        }
    }
    eprintln!(
        "policy table: {} requests to the policy engine",
        requests.len()
    );
    engine::evaluate(&requests, &actions)
}

/// The `*` grants of actions that AWS authorises on some narrower resource type.
fn narrower_than_granted(wildcards: &[(String, String)], answers: &engine::Answers) -> Vec<String> {
    wildcards
        .iter()
        .filter_map(|(where_, action)| {
            let types = &answers.resource_types[action];
            (!types.is_empty())
                .then(|| format!("{where_}: {action} on \"*\", but AWS authorises it on {types:?}"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_policy_table() {
    let emulator = Emulator::from_env();
    let org = Organization::isolated(&emulator).await.unwrap();
    let workloads = org.create_ou(&org.root_id, "Workloads").await.unwrap();
    let member = org.create_member("workload-0").await.unwrap();
    org.move_account(&member.id, &workloads).await.unwrap();
    org.enable_stacksets_trusted_access().await.unwrap();
    let deployer = deployer_for(&emulator, &org).await;
    eprintln!("policy table: rendering and planning");
    let rendered = render_and_plan(&deployer);
    let (administering, member_policy) = documented_policies(&deployer);

    // The deployer as it ran the plan: who the central bucket lets write.
    let writers =
        &rendered.parameters("custos-artifacts")[deployer::render::DEPLOYER_PRINCIPALS_PARAMETER];
    let deployer_arn = writers.split(',').next().unwrap().to_owned();
    let deployer_principal = Principal {
        arn: deployer_arn,
        account: org.management_account_id.clone(),
        org: Some(org.id.clone()),
        policies: vec![administering.clone()],
    };

    let central = CentralBucket::new(&rendered, &org, &member.id);
    let mut rows = vec![
        reading_row(&central),
        outsiders_row(&central),
        writers_row(&central, &deployer_principal),
    ];
    rows.push(config_row(&rendered, &member.id));
    rows.push(topic_row(&rendered, &member.id, &org));
    rows.push(key_row(&rendered, &member.id, &org));
    rows.push(automation_row(&rendered, &member.id, &org));
    rows.push(function_row(&rendered, &member.id, &org));
    rows.push(remediation_function_row(&rendered, &member.id, &org));
    eprintln!("policy table: plan, apply, destroy, doctor through the recording proxy");
    rows.push(call_log_row(&call_log(&emulator).await));

    // `Resource: "*"` only for actions AWS authorises on no narrower resource.
    let wildcards = wildcard_grants(
        &rendered,
        &member.id,
        &[
            ("administering account", &administering),
            ("member access role", &member_policy),
        ],
    );
    let Judged {
        summary,
        table,
        wrong,
        wide,
    } = judge(&mut rows, &wildcards);
    // Every case, with the engine's reasons, is kept beside the build for review.
    let cases_file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("policy-table.md");
    std::fs::write(&cases_file, &table).unwrap();
    println!("{summary}");
    println!(
        "every case, with the engine's reasons: {}",
        cases_file.display()
    );
    let cases: usize = rows.iter().map(|r| r.cases.len()).sum();
    println!(
        "policy table: {} rows, {cases} cases, {} wrong; {} \"*\" grants checked",
        rows.len(),
        wrong.len(),
        wildcards.len()
    );
    assert!(
        wrong.is_empty(),
        "rows that are not as they must be:\n{}",
        wrong.join("\n")
    );
    assert!(
        wide.is_empty(),
        "\"*\" where AWS allows a narrower resource:\n{}",
        wide.join("\n")
    );
}
