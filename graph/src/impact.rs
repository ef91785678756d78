//! What depends on a resource, transitively: a breadth-first walk against the dependency
//! edges, so each dependent is reached by a shortest path and a cycle is walked once.

use std::collections::{HashMap, HashSet};

use petgraph::graph::NodeIndex;
use serde::Serialize;

use crate::model::{InfraGraph, Resource};

/// One step of a path: a resource, and the relationship that links it to the step before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    #[serde(flatten)]
    pub resource: Resource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationship: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependent {
    pub depth: usize,
    #[serde(flatten)]
    pub resource: Resource,
    /// From the resource asked about to this dependent; each step depends on the one before.
    pub path: Vec<Step>,
}

impl Dependent {
    /// `sg-1 <- eni-2 <- i-3`: each resource depends on the one to its left.
    pub fn path_text(&self) -> String {
        self.path
            .iter()
            .map(|s| s.resource.label())
            .collect::<Vec<_>>()
            .join(" <- ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    pub resource: Resource,
    /// The depth asked for; `None`: no limit.
    pub max_depth: Option<usize>,
    /// Sorted by depth, then name, then key.
    pub dependents: Vec<Dependent>,
}

/// The node indices of `start`'s dependents up to `max_depth`, each with its parent and depth,
/// in breadth-first order.
fn walk(
    graph: &InfraGraph,
    start: NodeIndex,
    max_depth: Option<usize>,
) -> Vec<(NodeIndex, NodeIndex, petgraph::graph::EdgeIndex, usize)> {
    let mut seen: HashSet<NodeIndex> = HashSet::from([start]);
    let mut order = Vec::new();
    let mut frontier = vec![start];
    let mut depth = 0;
    while !frontier.is_empty() && max_depth.is_none_or(|m| depth < m) {
        depth += 1;
        let mut next = Vec::new();
        for &node in &frontier {
            for (dependent, edge) in graph.dependents(node) {
                if seen.insert(dependent) {
                    order.push((dependent, node, edge, depth));
                    next.push(dependent);
                }
            }
        }
        frontier = next;
    }
    order
}

/// Everything that depends on `start`, up to `max_depth` steps away (`None`: no limit).
pub fn impact(graph: &InfraGraph, start: NodeIndex, max_depth: Option<usize>) -> Impact {
    let order = walk(graph, start, max_depth);
    let parent: HashMap<NodeIndex, (NodeIndex, petgraph::graph::EdgeIndex)> = order
        .iter()
        .map(|&(node, parent, edge, _)| (node, (parent, edge)))
        .collect();
    let mut dependents: Vec<Dependent> = order
        .iter()
        .map(|&(node, _, _, depth)| {
            let mut path = Vec::with_capacity(depth + 1);
            let mut at = node;
            while let Some(&(up, edge)) = parent.get(&at) {
                path.push(Step {
                    resource: graph.resource(at),
                    relationship: Some(graph.edge(edge).0.to_owned()),
                });
                at = up;
            }
            path.push(Step {
                resource: graph.resource(start),
                relationship: None,
            });
            path.reverse();
            Dependent {
                depth,
                resource: graph.resource(node),
                path,
            }
        })
        .collect();
    dependents.sort_by(|a, b| {
        (a.depth, a.resource.label(), &a.resource).cmp(&(b.depth, b.resource.label(), &b.resource))
    });
    Impact {
        resource: graph.resource(start),
        max_depth,
        dependents,
    }
}

/// How many resources depend on `start` (no paths built): for budgets and summaries.
pub fn count(graph: &InfraGraph, start: NodeIndex, max_depth: Option<usize>) -> usize {
    walk(graph, start, max_depth).len()
}
