//! The graph end to end: items in, impact, exports and pictures out.

use chrono::DateTime;

use crate::export::{self, Format};
use crate::impact::impact;
use crate::item::{Item, Relationship};
use crate::model::{FindError, InfraGraph};
use crate::picture::Neighbourhood;
use crate::synthetic::Estate;

const A: &str = "111111111111";
const B: &str = "222222222222";
const R: &str = "eu-west-1";

fn at(
    account: &str,
    region: &str,
    rtype: &str,
    id: &str,
    secs: i64,
    rels: &[(&str, &str, &str)],
) -> Item {
    Item {
        aws_account_id: account.to_owned(),
        aws_region: region.to_owned(),
        resource_type: rtype.to_owned(),
        resource_id: id.to_owned(),
        resource_name: None,
        arn: Some(format!("arn:aws:test:{region}:{account}:{id}")),
        configuration_item_capture_time: DateTime::from_timestamp(secs, 0).unwrap(),
        configuration_item_status: Some("OK".to_owned()),
        relationships: rels
            .iter()
            .map(|(t, i, n)| Relationship {
                resource_type: (*t).to_owned(),
                resource_id: Some((*i).to_owned()),
                resource_name: None,
                relationship_name: (*n).to_owned(),
            })
            .collect(),
    }
}

fn item(rtype: &str, id: &str, rels: &[(&str, &str, &str)]) -> Item {
    at(A, R, rtype, id, 100, rels)
}

/// sg-admin <- i-1 (instance in it) <- vol? no: volume attached makes the instance depend on it.
fn estate() -> Vec<Item> {
    vec![
        item(
            "AWS::EC2::VPC",
            "vpc-1",
            &[("AWS::EC2::Subnet", "subnet-1", "Contains Subnet")],
        ),
        item(
            "AWS::EC2::Subnet",
            "subnet-1",
            &[("AWS::EC2::VPC", "vpc-1", "Is contained in Vpc")],
        ),
        item(
            "AWS::EC2::SecurityGroup",
            "sg-admin",
            &[
                ("AWS::EC2::VPC", "vpc-1", "Is contained in Vpc"),
                ("AWS::EC2::Instance", "i-1", "Is associated with Instance"),
            ],
        ),
        item(
            "AWS::EC2::Instance",
            "i-1",
            &[
                (
                    "AWS::EC2::SecurityGroup",
                    "sg-admin",
                    "Is associated with SecurityGroup",
                ),
                ("AWS::EC2::Subnet", "subnet-1", "Is contained in Subnet"),
                ("AWS::EC2::Volume", "vol-1", "Is attached to Volume"),
            ],
        ),
        item(
            "AWS::EC2::Volume",
            "vol-1",
            &[("AWS::EC2::Instance", "i-1", "Is attached to Instance")],
        ),
        item(
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "lb-1",
            &[
                (
                    "AWS::EC2::SecurityGroup",
                    "sg-admin",
                    "Is associated with SecurityGroup",
                ),
                ("AWS::EC2::VPC", "vpc-1", "Is peered with Vpc"),
            ],
        ),
    ]
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "tests build the items inline"
)]
fn graph(items: Vec<Item>) -> InfraGraph {
    let (g, problems) = InfraGraph::load(&items);
    assert!(problems.is_empty());
    g
}

fn ids(g: &InfraGraph, query: &str, depth: Option<usize>) -> Vec<(usize, String)> {
    let start = g.find(query).unwrap();
    impact(g, start, depth)
        .dependents
        .into_iter()
        .map(|d| (d.depth, d.resource.resource_id))
        .collect()
}

#[test]
fn impact_lists_every_dependent_by_depth_with_its_path() {
    let g = graph(estate());
    assert_eq!(
        ids(&g, "vpc-1", None),
        [
            (1, "sg-admin".to_owned()),
            (1, "subnet-1".to_owned()),
            (2, "i-1".to_owned()),
            (2, "lb-1".to_owned()),
        ]
    );
    let start = g.find("vpc-1").unwrap();
    let i1 = impact(&g, start, None)
        .dependents
        .into_iter()
        .find(|d| d.resource.resource_id == "i-1")
        .unwrap();
    // Breadth-first: a shortest path, through either parent (both are depth 1).
    assert!(
        ["vpc-1 <- sg-admin <- i-1", "vpc-1 <- subnet-1 <- i-1"].contains(&i1.path_text().as_str()),
        "{}",
        i1.path_text()
    );
    assert_eq!(i1.path.len(), 3);
    assert_eq!(i1.path[0].relationship, None);
    assert!(i1.path[2].relationship.is_some());
}

#[test]
fn depth_limits_the_walk() {
    let g = graph(estate());
    assert_eq!(
        ids(&g, "vpc-1", Some(1)),
        [(1, "sg-admin".to_owned()), (1, "subnet-1".to_owned()),]
    );
    assert_eq!(ids(&g, "vpc-1", Some(0)), []);
}

#[test]
fn the_volume_impacts_its_instance_and_nothing_depends_on_a_leaf() {
    let g = graph(estate());
    assert_eq!(ids(&g, "vol-1", None), [(1, "i-1".to_owned())]);
    assert_eq!(ids(&g, "lb-1", None), []);
}

#[test]
fn a_relationship_stated_from_both_ends_is_one_edge_and_unknown_names_are_counted() {
    let g = graph(estate());
    // vpc-subnet, sg-vpc, sg-i, i-subnet, i-vol, lb-sg, lb-vpc (unknown).
    assert_eq!(g.edge_count(), 7);
    assert_eq!(
        g.stats().unknown_relationships.get("Is peered with Vpc"),
        Some(&1)
    );
    // The unknown edge is not followed: the VPC does not impact... only through known edges.
    assert!(
        !ids(&g, "vpc-1", None)
            .iter()
            .any(|(d, id)| *d == 1 && id == "lb-1")
    );
}

#[test]
fn a_cycle_is_walked_once() {
    let g = graph(vec![
        item(
            "AWS::EC2::Subnet",
            "a",
            &[("AWS::EC2::Subnet", "b", "Is contained in Subnet")],
        ),
        item(
            "AWS::EC2::Subnet",
            "b",
            &[("AWS::EC2::Subnet", "c", "Is contained in Subnet")],
        ),
        item(
            "AWS::EC2::Subnet",
            "c",
            &[("AWS::EC2::Subnet", "a", "Is contained in Subnet")],
        ),
    ]);
    assert_eq!(
        ids(&g, "a", None),
        [(1, "c".to_owned()), (2, "b".to_owned())]
    );
}

#[test]
fn the_latest_item_wins_and_a_deleted_resource_is_gone() {
    let mut old = item(
        "AWS::EC2::Instance",
        "i-1",
        &[(
            "AWS::EC2::SecurityGroup",
            "sg-old",
            "Is associated with SecurityGroup",
        )],
    );
    old.configuration_item_capture_time = DateTime::from_timestamp(50, 0).unwrap();
    let newer = item(
        "AWS::EC2::Instance",
        "i-1",
        &[(
            "AWS::EC2::SecurityGroup",
            "sg-new",
            "Is associated with SecurityGroup",
        )],
    );
    let mut deleted = item("AWS::EC2::Volume", "vol-9", &[]);
    deleted.configuration_item_status = Some("ResourceDeleted".to_owned());
    let mut earlier = item("AWS::EC2::Volume", "vol-9", &[]);
    earlier.configuration_item_capture_time = DateTime::from_timestamp(10, 0).unwrap();
    // Read in any order: the newer item is read first here.
    let g = graph(vec![newer, old, earlier, deleted]);
    assert_eq!(ids(&g, "sg-new", None), [(1, "i-1".to_owned())]);
    assert!(matches!(g.find("sg-old"), Err(FindError::NotFound(_))));
    assert!(matches!(g.find("vol-9"), Err(FindError::NotFound(_))));
    assert_eq!(g.stats().items_read, 4);
    assert_eq!(g.stats().deleted, 1);
}

#[test]
fn ends_resolve_across_accounts_only_when_an_item_describes_them() {
    let g = graph(vec![
        // A role in account B, named by a function in account A.
        at(B, "global", "AWS::IAM::Role", "role-shared", 1, &[]),
        at(
            A,
            R,
            "AWS::Lambda::Function",
            "fn-1",
            1,
            &[
                ("AWS::IAM::Role", "role-shared", "Is associated with Role"),
                ("AWS::IAM::Role", "role-missing", "Is associated with Role"),
            ],
        ),
    ]);
    let shared = g.find("role-shared").unwrap();
    assert_eq!(g.resource(shared).account, B);
    assert_eq!(ids(&g, "role-shared", None), [(1, "fn-1".to_owned())]);
    // No item for it: a node of its own, in the function's account, marked not recorded.
    let missing = g.resource(g.find("role-missing").unwrap());
    assert_eq!((missing.account.as_str(), missing.recorded), (A, false));
    assert_eq!(g.stats().unrecorded, 1);
}

#[test]
fn the_same_id_in_two_accounts_asks_for_the_arn() {
    let g = graph(vec![
        at(A, R, "AWS::S3::Bucket", "logs", 1, &[]),
        at(B, R, "AWS::S3::Bucket", "logs", 1, &[]),
    ]);
    let Err(FindError::Ambiguous { candidates, .. }) = g.find("logs") else {
        panic!("expected ambiguity");
    };
    assert_eq!(candidates.len(), 2);
    let by_arn = g.find(&candidates[1]).unwrap();
    assert_eq!(g.resource(by_arn).account, B);
    let by_key = g.find(&format!("{A}|{R}|AWS::S3::Bucket|logs")).unwrap();
    assert_eq!(g.resource(by_key).account, A);
}

fn hostile() -> InfraGraph {
    graph(vec![
        item("AWS::EC2::SecurityGroup", "sg-<&\"'>", &[]),
        item(
            "AWS::EC2::Instance",
            "i-'quote'\\back\nline",
            &[(
                "AWS::EC2::SecurityGroup",
                "sg-<&\"'>",
                "Is associated with SecurityGroup",
            )],
        ),
    ])
}

fn export_text(g: &InfraGraph, format: Format) -> String {
    let mut out = Vec::new();
    export::write(g, format, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn graphml_parses_back_with_every_node_and_edge() {
    let g = hostile();
    let text = export_text(&g, Format::GraphMl);
    let doc = roxmltree::Document::parse(&text).unwrap();
    let nodes: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("node"))
        .collect();
    let edges: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("edge"))
        .collect();
    assert_eq!((nodes.len(), edges.len()), (2, 1));
    let ids: Vec<&str> = nodes
        .iter()
        .flat_map(roxmltree::Node::children)
        .filter(|c| c.attribute("key") == Some("resourceId"))
        .filter_map(|c| c.text())
        .collect();
    assert_eq!(ids, ["sg-<&\"'>", "i-'quote'\\back\nline"]);
    assert_eq!(
        edges[0].attribute("target"),
        Some(format!("{A}|{R}|AWS::EC2::SecurityGroup|sg-<&\"'>").as_str())
    );
}

#[test]
fn cypher_strings_are_escaped_and_every_statement_ends() {
    let g = hostile();
    let text = export_text(&g, Format::Cypher);
    assert!(
        text.contains(r"r.resourceId = 'i-\'quote\'\\back\nline'"),
        "{text}"
    );
    assert!(text.contains("-[:DEPENDS_ON {relationship: 'Is associated with SecurityGroup'}]->"));
    assert_eq!(text.lines().count(), 1 + 2 + 1);
    assert!(text.lines().all(|l| l.ends_with(';')));
    assert_eq!(export::cypher_string("a'b"), r"'a\'b'");
}

#[test]
fn dot_quotes_ids_and_labels() {
    let g = hostile();
    let text = export_text(&g, Format::Dot);
    assert!(text.starts_with("digraph infrastructure {"));
    assert!(
        text.contains(r#""111111111111|eu-west-1|AWS::EC2::SecurityGroup|sg-<&\"'>""#),
        "{text}"
    );
    assert!(text.contains(r"i-'quote'\\back\nline"), "{text}");
    assert!(text.trim_end().ends_with('}'));
    assert_eq!(text.matches(" -> ").count(), 1);
}

#[test]
fn the_picture_draws_both_sides_and_counts_what_does_not_fit() {
    let mut items = estate();
    for n in 0..12 {
        items.push(item(
            "AWS::EC2::Instance",
            &format!("i-extra-{n:02}"),
            &[(
                "AWS::EC2::SecurityGroup",
                "sg-admin",
                "Is associated with SecurityGroup",
            )],
        ));
    }
    items.push(item(
        "AWS::EC2::Instance",
        "i-<b>",
        &[(
            "AWS::EC2::SecurityGroup",
            "sg-admin",
            "Is associated with SecurityGroup",
        )],
    ));
    let g = graph(items);
    let n = Neighbourhood::of(&g, g.find("sg-admin").unwrap(), 2);
    let svg = n.svg();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let boxes = doc.descendants().filter(|e| e.has_tag_name("rect")).count();
    assert_eq!(boxes, n.drawn());
    // sg-admin, its VPC on the left, 8 of its 15 dependents on the right, then the 7 left.
    assert!(n.resources().any(|r| r.resource_id == "vpc-1"));
    assert!(svg.contains("+7 more"), "{svg}");
    assert!(!svg.contains("<b>"));
    assert!(!svg.contains("<script"));
}

#[test]
fn a_generated_estate_has_the_fan_out_it_claims() {
    let estate = Estate {
        accounts: 2,
        regions: 2,
        instances_per_region: 30,
    };
    let (g, _) = InfraGraph::load(&estate);
    let admin = g.find(&estate.admin_group(1, 1)).unwrap();
    let direct = impact(&g, admin, Some(1)).dependents;
    // Every instance and every network interface of the region is in the administrator group.
    assert_eq!(direct.len(), 60);
    assert_eq!(
        g.stats().unknown_relationships.get("Is peered with Vpc"),
        Some(&8)
    );
    assert_eq!(g.stats().unrecorded, 0);
}
