//! ec2-instance-baseline end to end: instances in an account, the rule run on items recorded
//! from their live state, the remediation Lambda's handler run in-process with the input the SSM
//! document's step would send, and Config's verdict read back before and after.
//!
//! Config's remediation executions and SSM Automation never run on the emulator, so the harness
//! plays both: it builds the step's input from `rule.toml`'s parameter mapping (the instance id
//! alone); the function reads the stored rule's parameters itself. AWS refusals the emulator does not make (a group of another VPC) are
//! covered with mocked EC2 responses in the rule crate.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{InstanceType, ResourceType, Tag, TagSpecification};
use config_rule_sdk::RuleMeta;
use config_rule_sdk::aws::AwsScope;
use config_rule_sdk::notify::Notifier;
use config_rule_sdk::runtime::Mode;
use ec2_instance_baseline::remediation::BaselineRemediation;
use ec2_instance_baseline::remediation::lambda::{self, Invoked, Response};
use ec2_instance_baseline::{Ec2InstanceBaseline, RULE_TOML};
use serde_json::{Value, json};
use workspace_tests::config_service::{ConfigService, DeployedRule, function_arn};
use workspace_tests::emulator::{Account, Emulator, REGION};
use workspace_tests::{recorder, unique_name};

const REQUIRED_TAGS: &str = r#"{"Owner":"unassigned","CostCenter":"0000"}"#;

/// A VPC with one subnet, a web group and the administrator group.
struct Network {
    subnet: String,
    web_group: String,
    admin_group: String,
}

async fn network(ec2: &aws_sdk_ec2::Client) -> Network {
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.42.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_owned();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.42.1.0/24")
        .send()
        .await
        .unwrap();
    let group = |name: &'static str| {
        let vpc_id = vpc_id.clone();
        async move {
            ec2.create_security_group()
                .group_name(name)
                .description(name)
                .vpc_id(vpc_id)
                .send()
                .await
                .unwrap()
                .group_id()
                .unwrap()
                .to_owned()
        }
    };
    Network {
        subnet: subnet
            .subnet()
            .and_then(|s| s.subnet_id())
            .unwrap()
            .to_owned(),
        web_group: group("web").await,
        admin_group: group("admins").await,
    }
}

async fn launch(
    ec2: &aws_sdk_ec2::Client,
    network: &Network,
    tags: &[(&str, &str)],
    groups: &[&str],
) -> String {
    let mut spec = TagSpecification::builder().resource_type(ResourceType::Instance);
    for (key, value) in tags {
        spec = spec.tags(Tag::builder().key(*key).value(*value).build());
    }
    let out = ec2
        .run_instances()
        .image_id("ami-12345678")
        .instance_type(InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .subnet_id(&network.subnet)
        .set_security_group_ids(Some(groups.iter().map(|g| (*g).to_owned()).collect()))
        .tag_specifications(spec.build())
        .send()
        .await
        .unwrap();
    out.instances()[0].instance_id().unwrap().to_owned()
}

/// The live tags and group ids of an instance, as `DescribeInstances` reports them.
async fn live(
    ec2: &aws_sdk_ec2::Client,
    instance_id: &str,
) -> (BTreeMap<String, String>, Vec<String>) {
    let out = ec2
        .describe_instances()
        .instance_ids(instance_id)
        .send()
        .await
        .unwrap();
    let instance = &out.reservations()[0].instances()[0];
    let tags = instance
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
        .collect();
    let groups = instance
        .security_groups()
        .iter()
        .map(|g| g.group_id().unwrap().to_owned())
        .collect();
    (tags, groups)
}

struct Loop {
    account: Account,
    config: ConfigService,
    rule: DeployedRule,
    meta: RuleMeta,
}

impl Loop {
    async fn new(account: Account, admin_group: &str) -> Self {
        let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
        let config = ConfigService::new(&account);
        let parameters = BTreeMap::from([
            ("requiredTags".to_owned(), REQUIRED_TAGS.to_owned()),
            ("adminSecurityGroupId".to_owned(), admin_group.to_owned()),
        ]);
        let rule = config
            .put_custom_lambda_rule(
                &meta.name,
                &function_arn(&account.id, &meta.name),
                &meta.resource_types,
                &parameters,
            )
            .await
            .unwrap();
        Self {
            account,
            config,
            rule,
            meta,
        }
    }

    /// Records each instance now, runs the rule on it as Config would, and returns what Config
    /// then reports for it: (compliance, annotation).
    async fn evaluate(&self, instances: &[&str]) -> BTreeMap<String, (String, String)> {
        for instance in instances {
            let item =
                recorder::ec2::ec2_instance(&self.account.config, &self.account.id, instance)
                    .await
                    .unwrap();
            self.config
                .run_change_rule(
                    &Ec2InstanceBaseline,
                    &self.meta,
                    &self.rule,
                    &item,
                    Mode::Put,
                )
                .await
                .unwrap();
        }
        let reported = self
            .config
            .compliance_by_resource(&self.meta.name)
            .await
            .unwrap();
        instances
            .iter()
            .map(|id| {
                let r = &reported[*id];
                (
                    (*id).to_owned(),
                    (
                        r.compliance.clone(),
                        r.annotation.clone().unwrap_or_default(),
                    ),
                )
            })
            .collect()
    }

    /// The input the SSM document's step sends the Lambda: each document parameter as
    /// rule.toml maps it, from the resource id or the stored rule's parameters. Parameters the
    /// rule does not set are left to the document's defaults (absent here).
    fn ssm_input(&self, instance_id: &str) -> Value {
        let stored: BTreeMap<String, String> =
            serde_json::from_str(&self.rule.input_parameters).unwrap();
        let remediation = self.meta.remediation.as_ref().unwrap();
        let mut input = serde_json::Map::new();
        for (name, source) in &remediation.parameters {
            let value = if source == "RESOURCE_ID" {
                Some(instance_id.to_owned())
            } else if let Some(parameter) = source.strip_prefix("param:") {
                stored.get(parameter).cloned()
            } else {
                Some(source.clone())
            };
            if let Some(value) = value {
                input.insert(name.clone(), Value::String(value));
            }
        }
        Value::Object(input)
    }

    /// Runs the remediation Lambda's handler in-process, as the SSM step invokes it.
    async fn remediate(&self, instance_id: &str, notifier: Option<&Notifier>) -> Response {
        self.invoke(self.ssm_input(instance_id), notifier)
            .await
            .unwrap()
    }

    /// Invokes the remediation Lambda's handler in-process with any input, as anyone allowed
    /// to invoke the function could; the settings come from the rule stored in Config.
    async fn invoke(
        &self,
        input: Value,
        notifier: Option<&Notifier>,
    ) -> Result<Response, config_rule_sdk::RuleError> {
        let scope = AwsScope::new(self.account.config.clone(), Some(self.account.id.clone()));
        let invoked = Invoked {
            account: &self.account.id,
            region: REGION,
            now: workspace_tests::now(),
            config_rule: &self.meta.name,
        };
        lambda::handle(
            &BaselineRemediation::new(),
            &self.meta,
            &scope,
            input,
            invoked,
            notifier,
        )
        .await
    }
}

#[tokio::test]
async fn a_drifted_instance_is_reported_remediated_and_then_reported_compliant() {
    let account = Emulator::from_env().new_account().await.unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let net = network(&ec2).await;
    let good = launch(
        &ec2,
        &net,
        &[("Owner", "alice"), ("CostCenter", "4410")],
        &[&net.web_group, &net.admin_group],
    )
    .await;
    let drifted = launch(&ec2, &net, &[("Owner", "bob")], &[&net.web_group]).await;
    let sns = aws_sdk_sns::Client::new(&account.config);
    let topic = sns
        .create_topic()
        .name(unique_name("custos-notifications"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let notifier = Notifier::new(sns, &topic);
    let run = Loop::new(account, &net.admin_group).await;

    let before = run.evaluate(&[&good, &drifted]).await;

    assert_eq!(before[&good].0, "COMPLIANT", "{before:?}");
    assert_eq!(before[&drifted].0, "NON_COMPLIANT");
    assert_eq!(
        before[&drifted].1,
        format!(
            "missing required tags CostCenter; not in administrator security group {} (in {})",
            net.admin_group, net.web_group
        )
    );

    let response = run.remediate(&drifted, Some(&notifier)).await;

    assert_eq!(response.outcome, "remediated");
    let (tags, groups) = live(&ec2, &drifted).await;
    assert_eq!(
        tags["Owner"], "bob",
        "an existing value is never overwritten"
    );
    assert_eq!(tags["CostCenter"], "0000", "a missing tag gets its default");
    assert_eq!(groups, vec![net.web_group.clone(), net.admin_group.clone()]);
    let record = response.record.expect("a remediation leaves a record");
    assert_eq!(record.after["securityGroups"], json!(groups));
    let published = published_messages(&topic).await;
    assert_eq!(
        published.len(),
        1,
        "one record, one notification: {published:?}"
    );
    assert!(
        published[0].contains(&drifted) && published[0].contains("tagged CostCenter=0000"),
        "{}",
        published[0]
    );

    let after = run.evaluate(&[&drifted]).await;
    assert_eq!(after[&drifted].0, "COMPLIANT", "{after:?}");

    // Config may start the remediation again from a stale result: nothing more happens.
    let again = run.remediate(&drifted, Some(&notifier)).await;
    assert_eq!(again.outcome, "already-compliant");
    assert_eq!(live(&ec2, &drifted).await, (tags, groups));
    assert_eq!(published_messages(&topic).await.len(), 1);
}

#[tokio::test]
async fn an_exempt_instance_is_not_applicable_and_the_remediation_leaves_it_alone() {
    let account = Emulator::from_env().new_account().await.unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let net = network(&ec2).await;
    let tag = format!(
        "ec2-instance-baseline; until={}; reason=vendor appliance; owner=net-team",
        workspace_tests::days_ahead(60)
    );
    let exempt = launch(
        &ec2,
        &net,
        &[("custos:exempt", tag.as_str())],
        &[&net.web_group],
    )
    .await;
    let run = Loop::new(account, &net.admin_group).await;

    let reported = run.evaluate(&[&exempt]).await;
    let response = run.remediate(&exempt, None).await;

    assert_eq!(reported[&exempt].0, "NOT_APPLICABLE");
    assert!(
        reported[&exempt].1.contains("vendor appliance"),
        "{reported:?}"
    );
    assert_eq!(response.outcome, "exempt");
    let (tags, groups) = live(&ec2, &exempt).await;
    assert_eq!(tags.len(), 1, "no tag was added: {tags:?}");
    assert_eq!(groups, vec![net.web_group]);
}

#[tokio::test]
async fn a_direct_invocation_cannot_steer_the_remediation() {
    // Anyone allowed to invoke the function names an instance and nothing more: the settings
    // are the Config rule's as stored, and an instance the rule finds COMPLIANT is not touched.
    let account = Emulator::from_env().new_account().await.unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let net = network(&ec2).await;
    let good = launch(
        &ec2,
        &net,
        &[("Owner", "alice"), ("CostCenter", "4410")],
        &[&net.admin_group],
    )
    .await;
    let run = Loop::new(account, &net.admin_group).await;
    let before = live(&ec2, &good).await;

    let steered = run
        .invoke(
            json!({"InstanceId": &good, "AdminSecurityGroupId": &net.web_group}),
            None,
        )
        .await
        .unwrap_err()
        .to_string();
    let named = run
        .invoke(json!({"InstanceId": &good}), None)
        .await
        .unwrap();

    println!("steered input: {steered}");
    println!("instance id alone: {} ({:?})", named.outcome, named.reason);
    assert!(
        steered.contains("AdminSecurityGroupId") && steered.contains("takes only InstanceId"),
        "{steered}"
    );
    assert_eq!(named.outcome, "already-compliant");
    assert!(
        named
            .reason
            .as_deref()
            .unwrap()
            .starts_with("the rule finds it COMPLIANT"),
        "{named:?}"
    );
    assert_eq!(live(&ec2, &good).await, before, "nothing was changed");
}

#[tokio::test]
async fn a_quarantined_instance_is_reported_but_the_remediation_leaves_it_alone() {
    let account = Emulator::from_env().new_account().await.unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let net = network(&ec2).await;
    let isolated = launch(
        &ec2,
        &net,
        &[("custos:quarantine", "IR-4711")],
        &[&net.web_group],
    )
    .await;
    let run = Loop::new(account, &net.admin_group).await;

    let reported = run.evaluate(&[&isolated]).await;
    let response = run.remediate(&isolated, None).await;

    println!("quarantined: {} ({:?})", response.outcome, response.reason);
    assert_eq!(reported[&isolated].0, "NON_COMPLIANT");
    assert_eq!(response.outcome, "quarantined");
    let (tags, groups) = live(&ec2, &isolated).await;
    assert_eq!(tags.len(), 1, "no tag was added: {tags:?}");
    assert_eq!(groups, vec![net.web_group], "the admin group was not added");
}

/// The messages the emulator delivered to `topic`.
async fn published_messages(topic: &str) -> Vec<String> {
    Emulator::from_env().sns_messages(topic).await.unwrap()
}
