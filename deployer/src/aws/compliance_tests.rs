//! The aggregator path against AWS's documented responses: the emulator's aggregators return
//! the caller's account only, so an organisation-wide answer is mocked here.

use aws_sdk_config::Client;
use aws_sdk_config::operation::describe_aggregate_compliance_by_config_rules::DescribeAggregateComplianceByConfigRulesOutput;
use aws_sdk_config::operation::describe_configuration_aggregators::{
    DescribeConfigurationAggregatorsError, DescribeConfigurationAggregatorsOutput,
};
use aws_sdk_config::operation::get_aggregate_compliance_details_by_config_rule::GetAggregateComplianceDetailsByConfigRuleOutput;
use aws_sdk_config::types::error::NoSuchConfigurationAggregatorException;
use aws_sdk_config::types::{
    AggregateComplianceByConfigRule, AggregateEvaluationResult, Compliance as ConfigCompliance,
    ConfigurationAggregator, EvaluationResultQualifier,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;

use super::*;

const RULE: &str = "s3-bucket-encryption";

fn summary(account: &str, region: &str, kind: ComplianceType) -> AggregateComplianceByConfigRule {
    AggregateComplianceByConfigRule::builder()
        .config_rule_name(RULE)
        .account_id(account)
        .aws_region(region)
        .compliance(ConfigCompliance::builder().compliance_type(kind).build())
        .build()
}

fn evaluation(
    account: &str,
    region: &str,
    bucket: &str,
    kind: ComplianceType,
    annotation: &str,
) -> AggregateEvaluationResult {
    AggregateEvaluationResult::builder()
        .account_id(account)
        .aws_region(region)
        .compliance_type(kind)
        .annotation(annotation)
        .evaluation_result_identifier(
            EvaluationResultIdentifier::builder()
                .evaluation_result_qualifier(
                    EvaluationResultQualifier::builder()
                        .config_rule_name(RULE)
                        .resource_type("AWS::S3::Bucket")
                        .resource_id(bucket)
                        .build(),
                )
                .build(),
        )
        .build()
}

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "one scenario: the documented pages of both aggregate calls, then what they add up to"
)]
async fn an_aggregator_gives_every_account_and_region_it_collects_with_paging() {
    let listing = mock!(Client::describe_aggregate_compliance_by_config_rules)
        .sequence()
        .output(|| {
            DescribeAggregateComplianceByConfigRulesOutput::builder()
                .aggregate_compliance_by_config_rules(summary(
                    "222222222222",
                    "eu-west-1",
                    ComplianceType::NonCompliant,
                ))
                .next_token("page-2")
                .build()
        })
        .output(|| {
            DescribeAggregateComplianceByConfigRulesOutput::builder()
                .aggregate_compliance_by_config_rules(summary(
                    "333333333333",
                    "us-east-1",
                    ComplianceType::Compliant,
                ))
                // Not a rule asked for: not read.
                .aggregate_compliance_by_config_rules(
                    AggregateComplianceByConfigRule::builder()
                        .config_rule_name("someone-elses-rule")
                        .account_id("333333333333")
                        .aws_region("us-east-1")
                        .build(),
                )
                .build()
        })
        .build();
    let dev = mock!(Client::get_aggregate_compliance_details_by_config_rule)
        .match_requests(|r| r.account_id() == Some("222222222222"))
        .sequence()
        .output(|| {
            GetAggregateComplianceDetailsByConfigRuleOutput::builder()
                .aggregate_evaluation_results(evaluation(
                    "222222222222",
                    "eu-west-1",
                    "logs",
                    ComplianceType::NonCompliant,
                    "bucket has no default encryption",
                ))
                .next_token("more")
                .build()
        })
        .output(|| {
            GetAggregateComplianceDetailsByConfigRuleOutput::builder()
                .aggregate_evaluation_results(evaluation(
                    "222222222222",
                    "eu-west-1",
                    "data",
                    ComplianceType::Compliant,
                    "default encryption AES256",
                ))
                .build()
        })
        .build();
    let prod = mock!(Client::get_aggregate_compliance_details_by_config_rule)
        .match_requests(|r| {
            r.account_id() == Some("333333333333") && r.aws_region() == Some("us-east-1")
        })
        .then_output(|| {
            GetAggregateComplianceDetailsByConfigRuleOutput::builder()
                .aggregate_evaluation_results(evaluation(
                    "333333333333",
                    "us-east-1",
                    "site",
                    ComplianceType::Compliant,
                    "default encryption AES256",
                ))
                .build()
        });
    let described = mock!(Client::describe_configuration_aggregators).then_output(|| {
        DescribeConfigurationAggregatorsOutput::builder()
            .configuration_aggregators(
                ConfigurationAggregator::builder()
                    .configuration_aggregator_name("org")
                    .build(),
            )
            .build()
    });
    let client = mock_client!(
        aws_sdk_config,
        RuleMode::MatchAny,
        [&described, &listing, &dev, &prod]
    );
    let rules = BTreeSet::from([RULE.to_owned()]);
    let readings = aggregate_readings(&client, "org", &rules).await.unwrap();

    let seen: Vec<String> = readings
        .iter()
        .flat_map(|r| {
            r.results.iter().map(move |x| {
                format!(
                    "{}/{} {} {:?}",
                    r.account, r.region, x.resource_id, x.compliance
                )
            })
        })
        .collect();
    assert_eq!(
        seen,
        [
            "222222222222/eu-west-1 data Compliant",
            "222222222222/eu-west-1 logs NonCompliant",
            "333333333333/us-east-1 site Compliant",
        ]
    );
    assert_eq!(readings.len(), 2);
    assert_eq!(
        readings[0].results[1].annotation.as_deref(),
        Some("bucket has no default encryption")
    );
    assert_eq!(listing.num_calls(), 2);
    assert_eq!(dev.num_calls(), 2);
    assert_eq!(prod.num_calls(), 1);
}

#[tokio::test]
async fn a_missing_aggregator_is_named() {
    // AWS answers DescribeConfigurationAggregators for an unknown name with this error.
    let described = mock!(Client::describe_configuration_aggregators).then_error(|| {
        DescribeConfigurationAggregatorsError::NoSuchConfigurationAggregatorException(
            NoSuchConfigurationAggregatorException::builder()
                .message("The configuration aggregator does not exist.")
                .meta(
                    ErrorMetadata::builder()
                        .code("NoSuchConfigurationAggregatorException")
                        .build(),
                )
                .build(),
        )
    });
    let listing = mock!(Client::describe_aggregate_compliance_by_config_rules)
        .then_output(|| DescribeAggregateComplianceByConfigRulesOutput::builder().build());
    let client = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&described, &listing]);
    let rules = BTreeSet::from([RULE.to_owned()]);
    let error = aggregate_readings(&client, "nope", &rules)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, AggregateError::NoSuchAggregator { name } if name == "nope"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("no configuration aggregator `nope`")
    );
    assert_eq!(
        listing.num_calls(),
        0,
        "nothing read past the missing aggregator"
    );
}

#[test]
fn a_pack_rule_is_found_by_the_name_its_conformance_pack_gave_it() {
    let present = BTreeSet::from([
        "s3-bucket-encryption".to_owned(),
        "s3-bucket-versioning-enabled-conformance-pack-k3ty1ygx".to_owned(),
        "s3-bucket-versioning-enabled-extra".to_owned(),
    ]);
    assert_eq!(
        deployed_name("s3-bucket-encryption", &present),
        Some("s3-bucket-encryption")
    );
    assert_eq!(
        deployed_name("s3-bucket-versioning-enabled", &present),
        Some("s3-bucket-versioning-enabled-conformance-pack-k3ty1ygx")
    );
    assert_eq!(deployed_name("restricted-ssh", &present), None);
}
