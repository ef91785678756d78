//! ec2-instance-baseline end to end, as the deployer deploys it: `apply` puts the rule and its
//! remediation configuration in a member account; instances there are judged on items recorded
//! from their live state, remediated by the remediation Lambda's handler (run in-process) with
//! the input Config passes from the deployed remediation configuration, and Config's verdict is
//! read back before and after. An automatic remediation runs when the instance is reported; a
//! manual one only once it is started by hand (`StartRemediationExecution`).
//!
//! Config's remediation executions and SSM Automation never run on the emulator, and its
//! CloudFormation records the remediation configuration and the shipped document without creating
//! them: the harness puts the configuration into Config from the deployed template, reads it back
//! from Config, and sends the handler the payload the deployed document's step makes of Config's
//! input (the instance id alone). The handler reads every setting from the Config rule its
//! deployed function names in its environment. AWS refusals the emulator does not make (a group
//! of another VPC) are covered with mocked EC2 responses in the rule crate.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{InstanceType, ResourceType, Tag, TagSpecification};
use config_rule_sdk::AwsScope;
use config_rule_sdk::RuleMeta;
use config_rule_sdk::host::Mode;
use config_rule_sdk::notify::Notifier;
use ec2_instance_baseline::RULE_TOML;
use ec2_instance_baseline::remediation::BaselineRemediation;
use ec2_instance_baseline::remediation::lambda::{self, Invoked, Response};
use serde_json::{Value, json};
use workspace_tests::config_service::remediation::{DeployedRemediation, Execution};
use workspace_tests::config_service::{ConfigService, DeployedRule};
use workspace_tests::emulator::{Account, Emulator, REGION};
use workspace_tests::org::ACCESS_ROLE;
use workspace_tests::ssm::LambdaInvocation;
use workspace_tests::{cloudformation, eventbridge, recorder, ssm};

use crate::deployer::{deployer_for, workloads_settings};
use crate::faults::small_organisation;

/// The deployer's settings: the rule with the account's administrator group and `remediation`.
fn settings(admin_group: &str, remediation: &str) -> String {
    workloads_settings(&format!(
        r#"
[rules.ec2-instance-baseline]
parameters = {{ requiredTags = {{ Owner = "unassigned", CostCenter = "0000" }}, adminSecurityGroupId = "{admin_group}" }}
remediation = "{remediation}"
"#
    ))
}

/// A member account of a new organisation, with its network.
async fn member() -> (workspace_tests::org::Organization, Account, Network) {
    let emulator = Emulator::from_env();
    let (org, _, members) = small_organisation(&emulator, 1).await;
    let account = Account {
        id: members[0].clone(),
        config: org.assume_role(&members[0], ACCESS_ROLE).await.unwrap(),
    };
    let net = network(&aws_sdk_ec2::Client::new(&account.config)).await;
    (org, account, net)
}

/// Applies the rule with `remediation` to the organisation, then creates in Config what the
/// emulator's CloudFormation only records (the remediation configuration).
async fn deploy(
    org: &workspace_tests::org::Organization,
    account: &Account,
    net: &Network,
    remediation: &str,
) {
    let deployer = deployer_for(&Emulator::from_env(), org).await;
    deployer.write_settings(&settings(&net.admin_group, remediation));
    let applied = deployer.apply();
    assert_eq!(applied["status"], "succeeded", "{applied:#}");
    let provisioned =
        cloudformation::provision_remediations(&account.config, "StackSet-custos-rule-")
            .await
            .unwrap();
    assert_eq!(provisioned, ["ec2-instance-baseline"]);
}

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
    remediation: DeployedRemediation,
    /// The shipped document's content, as its stack deployed it.
    document: Value,
    /// The function the deployed document's step invokes.
    function: String,
    /// The Config rule that function acts for (its deployed environment).
    config_rule: String,
}

impl Loop {
    /// The rule and its remediation configuration, as Config holds them in the account.
    async fn new(account: Account) -> Self {
        let meta = RuleMeta::from_toml(RULE_TOML).unwrap();
        let config = ConfigService::new(&account);
        let rule = config.deployed_rule(&meta.name).await.unwrap();
        let remediation = config
            .remediation(&meta.name)
            .await
            .unwrap()
            .expect("the deployed remediation configuration");
        let document = cloudformation::deployed_document(
            &account.config,
            "StackSet-custos-rule-",
            &remediation.document,
        )
        .await
        .unwrap()
        .expect("the deployed document");
        // The step names the same function whatever the instance.
        let function = ssm::lambda_invocation(&document, &remediation.input(""))
            .unwrap()
            .function_name;
        let config_rule = ssm::function_config_rule(&account.config, &function)
            .await
            .unwrap();
        Self {
            account,
            config,
            rule,
            meta,
            remediation,
            document,
            function,
            config_rule,
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
                    &ec2_instance_baseline::entry(),
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

    /// The invocation the deployed document's one step, `aws:invokeLambdaFunction`, makes of
    /// the input Config passed, as SSM would fill it.
    fn step(&self, execution: &Execution) -> LambdaInvocation {
        assert_eq!(
            Some(&execution.document),
            self.meta.remediation.as_ref().unwrap().document.as_ref(),
            "Config runs the shipped document"
        );
        ssm::lambda_invocation(&self.document, &execution.input).unwrap()
    }

    /// Runs the document's step as SSM would: the remediation Lambda's handler, in-process,
    /// with the payload the deployed document's step makes.
    async fn run(&self, execution: &Execution, notifier: Option<&Notifier>) -> Response {
        let step = self.step(execution);
        assert_eq!(step.function_name, self.function, "the deployed function");
        self.invoke(step.payload, notifier).await.unwrap()
    }

    /// Invokes the deployed remediation function's handler in-process with any payload, as
    /// anyone allowed to invoke it could; it acts for the Config rule its environment names.
    async fn invoke(
        &self,
        payload: Value,
        notifier: Option<&Notifier>,
    ) -> Result<Response, config_rule_sdk::RuleError> {
        let scope = AwsScope::new(self.account.config.clone(), Some(self.account.id.clone()));
        let invoked = Invoked {
            account: &self.account.id,
            region: REGION,
            now: workspace_tests::now(),
            config_rule: &self.config_rule,
        };
        lambda::handle(
            &BaselineRemediation::new(),
            &self.meta,
            &scope,
            payload,
            invoked,
            notifier,
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drifted_instance_is_reported_remediated_and_then_reported_compliant() {
    let (org, account, net) = member().await;
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let good = launch(
        &ec2,
        &net,
        &[("Owner", "alice"), ("CostCenter", "4410")],
        &[&net.web_group, &net.admin_group],
    )
    .await;
    let drifted = launch(&ec2, &net, &[("Owner", "bob")], &[&net.web_group]).await;
    deploy(&org, &account, &net, "automatic").await;
    // The deployed notification topic, which the remediation function publishes its records to.
    let topic = eventbridge::compliance_notification(&account.config, "ec2-instance-baseline")
        .await
        .unwrap()
        .topic_arn;
    let notifier = Notifier::new(aws_sdk_sns::Client::new(&account.config), &topic);
    let run = Loop::new(account).await;
    assert!(run.remediation.automatic, "{:?}", run.remediation);
    assert_eq!(run.remediation.maximum_attempts, Some(3));

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

    // Automatic: Config starts the document on the NON_COMPLIANT result by itself.
    let execution = run
        .remediation
        .on_non_compliant(&drifted)
        .expect("an automatic remediation starts");
    assert_eq!(execution.input["InstanceId"], drifted);
    // The step sends the instance id alone; the function reads the rest from its rule.
    assert_eq!(
        run.step(&execution).payload,
        json!({ "InstanceId": &drifted })
    );
    assert_eq!(run.config_rule, run.rule.name);
    let response = run.run(&execution, Some(&notifier)).await;

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
    let again = run.run(&execution, Some(&notifier)).await;
    assert_eq!(again.outcome, "already-compliant");
    assert_eq!(live(&ec2, &drifted).await, (tags, groups));
    assert_eq!(published_messages(&topic).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exempt_instance_is_not_applicable_and_the_remediation_leaves_it_alone() {
    let (org, account, net) = member().await;
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
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
    deploy(&org, &account, &net, "manual").await;
    let run = Loop::new(account).await;

    let reported = run.evaluate(&[&exempt]).await;
    // Manual: nothing runs until someone starts the remediation.
    assert_eq!(run.remediation.on_non_compliant(&exempt), None);
    let execution = run
        .config
        .start_remediation(&run.remediation, "AWS::EC2::Instance", &exempt)
        .await
        .unwrap();
    let response = run.run(&execution, None).await;

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
    // are the deployed Config rule's, and an instance the rule finds COMPLIANT is not touched.
    let (org, account, net) = member().await;
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let good = launch(
        &ec2,
        &net,
        &[("Owner", "alice"), ("CostCenter", "4410")],
        &[&net.admin_group],
    )
    .await;
    deploy(&org, &account, &net, "automatic").await;
    let run = Loop::new(account).await;
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
    let (org, account, net) = member().await;
    let ec2 = aws_sdk_ec2::Client::new(&account.config);
    let isolated = launch(
        &ec2,
        &net,
        &[("custos:quarantine", "IR-4711")],
        &[&net.web_group],
    )
    .await;
    deploy(&org, &account, &net, "automatic").await;
    let run = Loop::new(account).await;

    let reported = run.evaluate(&[&isolated]).await;
    // Automatic: Config starts the deployed document on the NON_COMPLIANT result.
    let execution = run
        .remediation
        .on_non_compliant(&isolated)
        .expect("an automatic remediation starts");
    let response = run.run(&execution, None).await;

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
