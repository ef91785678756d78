use proptest::prelude::*;

use super::*;

fn p(text: &str) -> Pattern {
    Pattern::new(text)
}

#[test]
fn stars_and_question_marks_match_as_in_iam() {
    assert!(p("*").matches("iam:CreateUser"));
    assert!(p("iam:*").matches("iam:CreateUser"));
    assert!(p("iam:Create*").matches("iam:CreateUser"));
    assert!(p("iam:Create*").matches("iam:Create"));
    assert!(p("s3:Get?bject").matches("s3:GetObject"));
    assert!(p("*:*").matches("ec2:RunInstances"));
    assert!(!p("iam:Create*").matches("iam:DeleteUser"));
    assert!(!p("s3:Get?bject").matches("s3:Getbject"));
    assert!(!p("iam:*").matches("iam"));
    assert!(!p("iam:CreateUser").matches("iam:CreateUsers"));
}

#[test]
fn action_names_are_compared_ignoring_case() {
    assert!(p("IAM:createuser").matches("iam:CreateUser"));
    assert!(p("iam:CreateUser").matches("IAM:CREATEUSER"));
    assert!(p("S3:Get*").matches("s3:getobject"));
}

#[test]
fn backtracking_finds_a_match_after_a_false_start() {
    assert!(p("*User*Policy").matches("iam:PutUserUserPolicy"));
    assert!(p("a*b*c").matches("abcbc"));
    assert!(!p("a*b*c").matches("abcb"));
}

#[test]
fn literal_patterns_are_told_apart_from_wildcards() {
    assert!(p("iam:PassRole").is_literal());
    assert!(!p("iam:Pass*").is_literal());
    assert!(!p("iam:PassRol?").is_literal());
}

#[test]
fn action_names_have_a_service_and_an_action() {
    assert!(is_action_name("iam:CreateUser"));
    assert!(is_action_name("ssm-incidents:CreateReplicationSet"));
    assert!(!is_action_name("iam"));
    assert!(!is_action_name("iam:"));
    assert!(!is_action_name(":CreateUser"));
    assert!(!is_action_name("iam:Create User"));
    assert!(!is_action_name("iam:a:b"));
}

#[test]
fn overlapping_patterns_share_an_action() {
    // A wildcard in the policy reaches a concrete forbidden action, and the other way round.
    assert!(p("iam:*").overlaps(&p("iam:CreateUser")));
    assert!(p("iam:PassRole").overlaps(&p("iam:*")));
    // Two wildcards: iam:CreateUser is named by both.
    assert!(p("iam:Create*").overlaps(&p("iam:*User")));
    assert!(p("*").overlaps(&p("cloudtrail:StopLogging")));
    assert!(p("s3:Get?bject").overlaps(&p("S3:GETOBJECT")));
}

#[test]
fn disjoint_patterns_share_no_action() {
    assert!(!p("s3:*").overlaps(&p("iam:*")));
    assert!(!p("iam:Get*").overlaps(&p("iam:Create*")));
    assert!(!p("iam:Create?").overlaps(&p("iam:CreateUser")));
    // Not an action name: IAM would never call it, so it reaches nothing.
    assert!(!p("iam*").overlaps(&p("iam")));
    assert!(!p("*").overlaps(&p("iam:Create User")));
}

#[test]
fn overlap_of_two_wildcards_needs_one_action_named_by_both() {
    // Each alone names actions, but no action ends in `User` and starts with `iam:Delete`
    // while also ending in `Group`.
    assert!(!p("iam:*User").overlaps(&p("iam:*Group")));
    assert!(p("iam:*User*").overlaps(&p("iam:*Group*")));
    assert!(!p("iam:??").overlaps(&p("iam:???")));
    assert!(p("iam:??*").overlaps(&p("iam:???")));
}

#[test]
fn the_search_returns_evidence() {
    assert_eq!(
        find_action(&[&p("iam:Create*"), &p("*User")], &[]),
        Search::Found("iam:createuser".into())
    );
    assert_eq!(
        find_action(&[&p("iam:*")], &[&p("iam:Get*"), &p("iam:List*")]),
        Search::Found("iam:a".into())
    );
}

#[test]
fn a_union_of_patterns_can_cover_what_no_single_one_does() {
    assert_eq!(
        find_action(&[&p("iam:*")], &[&p("iam:a*")]),
        Search::Found("iam:b".into())
    );
    let every_first_letter: Vec<Pattern> = NAME_CHARS
        .chars()
        .map(|c| p(&format!("iam:{c}*")))
        .collect();
    let refs: Vec<&Pattern> = every_first_letter.iter().collect();
    assert_eq!(find_action(&[&p("iam:*")], &refs), Search::NoAction);
}

#[test]
fn every_action_is_named_by_a_star_or_star_colon_star_only() {
    for all in ["*", "**", "*:*", "*?:*", "?*:*?"] {
        assert_eq!(find_action(&[], &[&p(all)]), Search::NoAction, "{all}");
    }
    for not_all in ["iam:*", "*:Get*", "?:*", "*:?"] {
        assert!(
            matches!(find_action(&[], &[&p(not_all)]), Search::Found(_)),
            "{not_all}"
        );
    }
}

#[test]
fn a_search_past_the_limit_is_undecided_rather_than_wrong() {
    // "The 16th character from the end is an `a`": its automaton has 2^16 reachable state
    // sets. Minus itself, nothing is left, but proving that takes more than the limit allows.
    let pattern = p(&format!("*a{}", "?".repeat(15)));
    assert_eq!(find_action(&[&pattern], &[&pattern]), Search::Undecided);
    // The same pattern alone has a short answer, found well within the limit.
    assert!(matches!(find_action(&[&p("*a???")], &[]), Search::Found(_)));
}

/// A pattern as a regular expression: the independent oracle for [`Pattern::matches`].
fn regex_of(pattern: &str) -> regex_lite::Regex {
    let mut source = String::from("(?is)^");
    for c in pattern.chars() {
        match c {
            '*' => source.push_str(".*"),
            '?' => source.push('.'),
            c => source.push_str(&regex_lite::escape(&c.to_string())),
        }
    }
    source.push('$');
    regex_lite::Regex::new(&source).expect("escaped patterns compile")
}

/// Every action name over `chars` up to `max_len` characters, shortest first.
fn action_names(chars: &[char], max_len: usize) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut frontier = vec![String::new()];
    for _ in 0..max_len {
        frontier = frontier
            .iter()
            .flat_map(|s| chars.iter().map(move |c| format!("{s}{c}")))
            .collect();
        all.extend(frontier.iter().cloned());
    }
    all.into_iter().filter(|s| is_action_name(s)).collect()
}

/// Patterns over a small alphabet, so that random patterns often share actions.
fn small_pattern() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ab:*?A]{0,7}").unwrap()
}

/// An action and a pattern made from it by wildcarding parts, or an unrelated pattern.
fn action_and_pattern() -> impl Strategy<Value = (String, String)> {
    let action =
        proptest::string::string_regex("[a-zA-Z0-9.+()\\[\\]^$|{}\\\\-]{1,6}:[a-zA-Z0-9.+]{1,8}")
            .unwrap();
    (action, proptest::collection::vec(0u8..6, 16), "[ -~]{0,10}").prop_map(
        |(action, edits, unrelated)| {
            if edits[0] == 0 {
                return (action, unrelated);
            }
            let mut pattern = String::new();
            for (c, edit) in action.chars().zip(edits.iter().cycle().skip(1)) {
                match edit {
                    0 => pattern.push('?'),
                    1 => pattern.push('*'),
                    2 => pattern.push(c.to_ascii_uppercase()),
                    3 => {} // Dropped: the pattern often stops matching.
                    _ => pattern.push(c),
                }
            }
            (action, pattern)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn matching_agrees_with_the_regex_translation((action, pattern) in action_and_pattern()) {
        prop_assert_eq!(
            p(&pattern).matches(&action),
            regex_of(&pattern).is_match(&action),
            "pattern {:?} on {:?}", pattern, action
        );
    }

    #[test]
    fn matching_arbitrary_text_agrees_with_the_regex_translation(
        pattern in "[ -~]{0,12}", action in "[ -~]{0,12}"
    ) {
        prop_assert_eq!(p(&pattern).matches(&action), regex_of(&pattern).is_match(&action));
    }

    #[test]
    fn a_found_action_is_a_real_answer(
        all_of in proptest::collection::vec(small_pattern(), 0..3),
        none_of in proptest::collection::vec(small_pattern(), 0..3),
    ) {
        let all: Vec<Pattern> = all_of.iter().map(|t| p(t)).collect();
        let none: Vec<Pattern> = none_of.iter().map(|t| p(t)).collect();
        let all_refs: Vec<&Pattern> = all.iter().collect();
        let none_refs: Vec<&Pattern> = none.iter().collect();
        if let Search::Found(action) = find_action(&all_refs, &none_refs) {
            prop_assert!(is_action_name(&action), "{action}");
            prop_assert!(all.iter().all(|p| p.matches(&action)), "{action}");
            prop_assert!(!none.iter().any(|p| p.matches(&action)), "{action}");
        }
    }

    #[test]
    fn when_an_answer_exists_the_search_finds_one(
        all_of in proptest::collection::vec(small_pattern(), 0..3),
        none_of in proptest::collection::vec(small_pattern(), 0..3),
    ) {
        let all: Vec<Pattern> = all_of.iter().map(|t| p(t)).collect();
        let none: Vec<Pattern> = none_of.iter().map(|t| p(t)).collect();
        let brute = action_names(&['a', 'b', ':'], 6).into_iter().find(|action| {
            all.iter().all(|p| p.matches(action)) && !none.iter().any(|p| p.matches(action))
        });
        let all_refs: Vec<&Pattern> = all.iter().collect();
        let none_refs: Vec<&Pattern> = none.iter().collect();
        if let Some(action) = brute {
            prop_assert!(
                find_action(&all_refs, &none_refs) != Search::NoAction,
                "{action} answers {all_of:?} minus {none_of:?}"
            );
        }
    }

    #[test]
    fn overlap_is_symmetric_and_agrees_with_the_search(a in small_pattern(), b in small_pattern()) {
        let (a, b) = (p(&a), p(&b));
        prop_assert_eq!(a.overlaps(&b), b.overlaps(&a));
        prop_assert_eq!(a.overlaps(&b), find_action(&[&a, &b], &[]) != Search::NoAction);
    }

    #[test]
    fn a_pattern_overlaps_an_action_name_exactly_when_it_matches_it(
        pattern in small_pattern(), action in "[abAB]{1,3}:[abAB]{1,3}"
    ) {
        let pattern = p(&pattern);
        let searched = find_action(&[&pattern, &p(&action)], &[]) != Search::NoAction;
        prop_assert_eq!(searched, pattern.matches(&action));
    }
}
