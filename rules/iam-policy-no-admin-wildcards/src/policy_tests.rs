use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use serde_json::json;

use super::*;

/// A document URL-encoded the way IAM and Config encode it.
fn encoded(document: &Value) -> Value {
    Value::String(utf8_percent_encode(&document.to_string(), NON_ALPHANUMERIC).to_string())
}

fn forbidden(list: &[&str]) -> Vec<Pattern> {
    list.iter().map(|f| Pattern::new(f)).collect()
}

/// The findings of a decoded document, as annotation text.
fn findings(document: &Value, forbidden_list: &[&str]) -> Vec<String> {
    Document::from_json(document)
        .unwrap()
        .findings(&forbidden(forbidden_list))
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn unreadable(document: &Value) -> String {
    Document::from_json(document).unwrap_err().to_string()
}

#[test]
fn a_document_as_config_records_it_is_decoded() {
    // Taken from a Config change notification for an AWS::IAM::Policy.
    let recorded = json!(
        "%7B%0A%09%22Version%22%3A%20%222012-10-17%22%2C%0A%09%22Statement%22%3A%20%5B%0A%09%09%7B%0A%09%09%09%22Sid%22%3A%20%22VisualEditor0%22%2C%0A%09%09%09%22Effect%22%3A%20%22Allow%22%2C%0A%09%09%09%22Action%22%3A%20%22lambda%3A%2A%22%2C%0A%09%09%09%22Resource%22%3A%20%22%2A%22%0A%09%09%7D%0A%09%5D%0A%7D"
    );
    let document = decode(&recorded).unwrap();
    assert_eq!(document.statements.len(), 1);
    let statement = &document.statements[0];
    assert_eq!(statement.name, "statement \"VisualEditor0\"");
    assert_eq!(statement.effect, Effect::Allow);
    assert_eq!(
        statement.actions,
        Scope::Listed(vec![Pattern::new("lambda:*")])
    );
    assert_eq!(statement.resources, Scope::Listed(vec!["*".to_owned()]));
}

#[test]
fn a_plus_sign_stays_a_plus_sign() {
    // IAM encodes `+` as %2B and a space as %20; a bare `+` can only be a `+`.
    let text = r#"{"Statement":{"Sid":"a+b","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a+b%20c/*"}}"#;
    let document = decode(&json!(text.replace(' ', "%20"))).unwrap();
    assert_eq!(document.statements[0].name, "statement \"a+b\"");
    assert_eq!(
        document.statements[0].resources,
        Scope::Listed(vec!["arn:aws:s3:::a+b c/*".to_owned()])
    );
}

#[test]
fn a_decoded_object_is_read_as_it_is() {
    let document = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    assert_eq!(
        decode(&document).unwrap(),
        Document::from_json(&document).unwrap()
    );
}

#[test]
fn statement_may_be_one_object_or_a_list() {
    let one = json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"});
    let as_object = Document::from_json(&json!({"Statement": one})).unwrap();
    let as_list = Document::from_json(&json!({"Statement": [one]})).unwrap();
    assert_eq!(as_object, as_list);
}

#[test]
fn action_and_resource_may_be_a_string_or_a_list() {
    let string =
        json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}});
    let list =
        json!({"Statement": {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]}});
    assert_eq!(
        Document::from_json(&string).unwrap(),
        Document::from_json(&list).unwrap()
    );
}

#[test]
fn statements_are_named_by_sid_or_by_number() {
    let document = Document::from_json(&json!({"Statement": [
        {"Sid": "ReadLogs", "Effect": "Allow", "Action": "logs:Get*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Sid": "", "Effect": "Deny", "Action": "*", "Resource": "*"},
    ]}))
    .unwrap();
    let names: Vec<&str> = document
        .statements
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["statement \"ReadLogs\"", "statement #2", "statement #3"]
    );
}

#[test]
fn documents_outside_the_grammar_are_unreadable_and_say_why() {
    let allow = |extra: Value| {
        let mut statement = json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"});
        statement
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        statement
    };
    assert_eq!(
        unreadable(&json!({"Version": "2012-10-17"})),
        "it has no Statement"
    );
    assert_eq!(
        unreadable(&json!({"Statement": "Allow everything"})),
        "Statement is a string, not an object or a list"
    );
    assert_eq!(
        unreadable(&json!({"Statement": [allow(json!({})), 7]})),
        "statement #2 is a number, not an object"
    );
    assert_eq!(
        unreadable(&json!({"Statement": allow(json!({"NotAction": "iam:*"}))})),
        "statement #1 has both Action and NotAction"
    );
    assert_eq!(
        unreadable(&json!({"Statement": {"Effect": "Allow", "Resource": "*"}})),
        "statement #1 has neither Action nor NotAction"
    );
    assert_eq!(
        unreadable(&json!({"Statement": {"Effect": "Allow", "Action": "*"}})),
        "statement #1 has neither Resource nor NotResource"
    );
    assert_eq!(
        unreadable(&json!({"Statement": allow(json!({"Effect": "allow"}))})),
        "statement #1 has Effect \"allow\", neither \"Allow\" nor \"Deny\""
    );
    assert_eq!(
        unreadable(&json!({"Statement": allow(json!({"Action": ["s3:GetObject", 3]}))})),
        "statement #1 has Action a number, not strings"
    );
    assert_eq!(
        unreadable(&json!({"Statement": allow(json!({"Sid": 1}))})),
        "statement #1 has a Sid that is a number"
    );
    assert_eq!(
        unreadable(&json!(["not", "a", "policy"])),
        "the document is a list, not an object"
    );
}

#[test]
fn text_that_is_not_an_encoded_document_is_unreadable() {
    let err = |text: &str| decode(&json!(text)).unwrap_err().to_string();
    assert!(
        err("%7B%22Statement%22%3A").starts_with("it is not JSON ("),
        "{}",
        err("%7B")
    );
    assert_eq!(err("%FF%FE"), "it is not URL-encoded UTF-8 text");
    assert!(err("Allow everything").starts_with("it is not JSON"));
    assert_eq!(
        decode(&json!(42)).unwrap_err().to_string(),
        "it is a number, not URL-encoded JSON text"
    );
}

#[test]
fn star_on_star_is_reported() {
    let document = json!({"Statement": {"Sid": "AllowAll", "Effect": "Allow", "Action": "*", "Resource": "*"}});
    assert_eq!(
        findings(&document, &[]),
        ["statement \"AllowAll\" allows * on *"]
    );
    let service_star = json!({"Statement": {"Effect": "Allow", "Action": ["s3:GetObject", "*:*"], "Resource": ["arn:aws:s3:::b", "*"]}});
    assert_eq!(findings(&service_star, &[]), ["statement #1 allows * on *"]);
}

#[test]
fn a_condition_does_not_make_star_on_star_safe() {
    let document = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}});
    assert_eq!(findings(&document, &[]), ["statement #1 allows * on *"]);
}

#[test]
fn star_on_some_resources_is_not_admin_but_reaches_forbidden_actions() {
    let document =
        json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::logs/*"}});
    assert!(findings(&document, &[]).is_empty());
    assert_eq!(
        findings(&document, &["iam:*", "cloudtrail:StopLogging"]),
        ["statement #1 allows * (forbidden: iam:*, cloudtrail:StopLogging)"]
    );
}

#[test]
fn deny_statements_grant_nothing() {
    let document = json!({"Statement": [
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
    ]});
    assert!(findings(&document, &["iam:*"]).is_empty());
}

#[test]
fn a_wildcard_in_the_policy_reaches_a_concrete_forbidden_action() {
    let document = json!({"Statement": {"Sid": "Ops", "Effect": "Allow", "Action": ["s3:*", "iam:*"], "Resource": "*"}});
    assert_eq!(
        findings(&document, &["iam:CreateUser", "cloudtrail:StopLogging"]),
        ["statement \"Ops\" allows iam:* (forbidden: iam:CreateUser)"]
    );
}

#[test]
fn a_forbidden_wildcard_reaches_a_concrete_action_in_the_policy() {
    let document = json!({"Statement": {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}});
    assert_eq!(
        findings(&document, &["iam:*"]),
        ["statement #1 allows iam:PassRole (forbidden: iam:*)"]
    );
}

#[test]
fn two_wildcards_overlap_only_when_an_action_matches_both() {
    let document = json!({"Statement": {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}});
    assert_eq!(
        findings(&document, &["iam:Create*", "iam:*Policy"]),
        [
            "statement #1 allows iam:Get* (forbidden: iam:*Policy), iam:List* (forbidden: iam:*Policy)"
        ]
    );
    assert!(findings(&document, &["iam:Create*", "iam:Delete*"]).is_empty());
}

#[test]
fn an_allowed_action_equal_to_a_forbidden_one_is_named_once() {
    let document = json!({"Statement": {"Effect": "Allow", "Action": "CloudTrail:StopLogging", "Resource": "*"}});
    assert_eq!(
        findings(&document, &["cloudtrail:StopLogging"]),
        ["statement #1 allows CloudTrail:StopLogging (forbidden)"]
    );
}

#[test]
fn not_action_on_every_resource_is_admin_like() {
    let document = json!({"Statement": {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}});
    assert_eq!(
        findings(&document, &[]),
        ["statement #1 allows * except iam:*, organizations:* on *"]
    );
}

#[test]
fn not_action_grants_forbidden_actions_it_does_not_exclude() {
    let document = json!({"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::data/*"}});
    assert_eq!(
        findings(&document, &["iam:CreateUser", "cloudtrail:StopLogging"]),
        ["statement #1 allows * except iam:* (forbidden: cloudtrail:StopLogging)"]
    );
    // A forbidden wildcard only partly excluded is still granted in part.
    let partly = json!({"Statement": {"Effect": "Allow", "NotAction": "iam:Create*", "Resource": "arn:aws:s3:::data/*"}});
    assert_eq!(
        findings(&partly, &["iam:*"]),
        ["statement #1 allows * except iam:Create* (forbidden: iam:*)"]
    );
}

#[test]
fn not_action_excluding_every_action_grants_nothing() {
    let document = json!({"Statement": {"Effect": "Allow", "NotAction": "*", "Resource": "*"}});
    assert!(findings(&document, &["iam:*"]).is_empty());
}

#[test]
fn not_resource_is_every_resource_but_a_few() {
    let document = json!({"Statement": {"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::audit/*"}});
    assert_eq!(
        findings(&document, &[]),
        ["statement #1 allows * on * except arn:aws:s3:::audit/*"]
    );
    let nothing = json!({"Statement": {"Effect": "Allow", "Action": "*", "NotResource": "*"}});
    assert!(findings(&nothing, &["iam:*"]).is_empty());
}

#[test]
fn empty_lists_grant_nothing() {
    let no_actions = json!({"Statement": {"Effect": "Allow", "Action": [], "Resource": "*"}});
    let no_resources = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": []}});
    assert!(findings(&no_actions, &["iam:*"]).is_empty());
    assert!(findings(&no_resources, &["iam:*"]).is_empty());
    assert!(findings(&json!({"Statement": []}), &["iam:*"]).is_empty());
}

#[test]
fn every_offending_statement_is_reported_in_order() {
    let document = json!({"Statement": [
        {"Sid": "A", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
        {"Sid": "B", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Sid": "C", "Effect": "Allow", "Action": "*", "Resource": "*"},
    ]});
    let document = Document::from_json(&document).unwrap();
    let found = document.findings(&forbidden(&["iam:*"]));
    let names: Vec<&str> = found.iter().map(|f| f.statement.as_str()).collect();
    assert_eq!(names, ["statement \"A\"", "statement \"C\""]);
    assert!(!found[0].is_everything());
    assert!(found[1].is_everything());
}

/// Statements built from a few action patterns, for the properties below.
fn statement() -> impl Strategy<Value = Value> {
    let action = prop_oneof![
        Just("*".to_owned()),
        "(iam|s3|ec2):[A-Za-z*?]{0,6}",
        "[a-z]{2,4}:[A-Z][a-z]{1,5}",
    ];
    (
        prop_oneof![Just("Allow"), Just("Deny")],
        any::<bool>(),
        proptest::collection::vec(action, 0..4),
        prop_oneof![Just("*"), Just("arn:aws:s3:::b/*")],
        proptest::option::of("[A-Za-z0-9]{1,8}"),
    )
        .prop_map(|(effect, not_action, actions, resource, sid)| {
            let mut statement = json!({"Effect": effect, "Resource": resource});
            let key = if not_action { "NotAction" } else { "Action" };
            statement[key] = json!(actions);
            if let Some(sid) = sid {
                statement["Sid"] = json!(sid);
            }
            statement
        })
}

fn document() -> impl Strategy<Value = Value> {
    proptest::collection::vec(statement(), 0..4)
        .prop_map(|s| json!({"Version": "2012-10-17", "Statement": s}))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn decoding_arbitrary_text_never_panics(text in "(%[0-9A-Fa-f]{0,2}|[ -~]|\\PC){0,80}") {
        let _ = decode(&Value::String(text));
    }

    #[test]
    fn an_encoded_document_decodes_to_what_was_encoded(document in document()) {
        prop_assert_eq!(decode(&encoded(&document)).unwrap(), Document::from_json(&document).unwrap());
    }

    #[test]
    fn a_concrete_forbidden_action_is_reported_exactly_when_an_allow_matches_it(
        document in document(),
        action in prop_oneof![
            Just("iam:CreateUser".to_owned()),
            Just("s3:GetObject".to_owned()),
            Just("ec2:RunInstances".to_owned()),
        ],
    ) {
        let parsed = Document::from_json(&document).unwrap();
        for statement in parsed.statements {
            // The oracle: IAM's reading of one statement, with plain matching.
            let on_some_resource = match &statement.resources {
                Scope::Listed(r) => !r.is_empty(),
                Scope::AllExcept(r) => !r.iter().any(|r| r == "*"),
            };
            let granted = statement.effect == Effect::Allow
                && on_some_resource
                && match &statement.actions {
                    Scope::Listed(a) => a.iter().any(|p| p.matches(&action)),
                    Scope::AllExcept(a) => !a.iter().any(|p| p.matches(&action)),
                };
            let alone = Document { statements: vec![statement] };
            let reported = alone.findings(&forbidden(&[&action])).iter().any(|f| match &f.grant {
                Grant::Forbidden(reached) => reached.iter().any(|r| r.forbidden.contains(&action)),
                // An admin finding stands for every action it does not except.
                Grant::Everything { except_actions, .. } => {
                    !except_actions.iter().any(|e| Pattern::new(e).matches(&action))
                }
            });
            prop_assert_eq!(granted, reported, "{} in {}", alone.statements[0].name, document);
        }
    }
}

#[test]
fn arn_wildcards_that_cover_every_resource_are_every_resource() {
    for every in [
        "arn:*",
        "arn:aws:*",
        "arn:*:*",
        "arn:aws:*:*:*:*",
        "arn:*:*:*:*:*",
        "arn:aws:*:*",
        "arn:aws-cn:*",
        "arn:aws:?*:*",
        "arn:???:*",
        "*:*",
    ] {
        assert!(is_every_resource(every), "{every}");
        let document = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": every}});
        assert_eq!(
            findings(&document, &[]),
            [format!("statement #1 allows * on {every}")],
            "{every}"
        );
    }
}

#[test]
fn narrower_arn_patterns_are_some_resources() {
    for some in [
        "arn:aws:s3:::bucket/*",
        "arn:aws:s3:::*",
        "arn:aws:iam::*:*",
        "arn:aws:*:us-east-1:*:*",
        "arn:aws:*:*:123456789012:*",
        "arn:aws:*:?*:*:*",
        "arn:aws:*:*:*:*:*",
        "arn:aws:*:*:*:*/*",
        "arn:aws:*::*",
        "arn:aws:*:",
        "ARN:*",
        "arn:aws:*a*",
    ] {
        assert!(!is_every_resource(some), "{some}");
        let document = json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": some}});
        assert_eq!(findings(&document, &[]), Vec::<String>::new(), "{some}");
    }
}

#[test]
fn not_resource_arn_star_leaves_no_resource() {
    let document = json!({"Statement": {"Effect": "Allow", "Action": "*", "NotResource": "arn:*"}});
    assert_eq!(findings(&document, &[]), Vec::<String>::new());
}
