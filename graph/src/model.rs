//! The graph itself: one node per resource, keyed by (account, region, type, id), and one edge
//! per relationship, pointing from the dependent to what it depends on.
//!
//! Building keeps the latest item of each resource (by capture time) and drops resources whose
//! latest item records a deletion. A relationship names its other end by type and id only, so
//! the end is looked for in the item's own account and region first, then in its account, then
//! anywhere (an item in another account or region resolves it when it is the only one with that
//! type and id). An end no item describes becomes a node marked not recorded, in the item's
//! account and region.

use std::collections::{BTreeMap, HashMap};

use petgraph::Direction::{Incoming, Outgoing};
use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::item::Item;
use crate::source::{ItemSource, SourceProblem};
use crate::vocabulary::{Direction, direction};

/// An interned string: accounts, regions, types and relationship names repeat millions of times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

#[derive(Debug, Default)]
struct Interner {
    names: Vec<Box<str>>,
    ids: HashMap<Box<str>, Sym>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> Sym {
        if let Some(sym) = self.ids.get(s) {
            return *sym;
        }
        let sym = Sym(u32::try_from(self.names.len()).expect("fewer than 4 billion names"));
        self.names.push(s.into());
        self.ids.insert(s.into(), sym);
        sym
    }

    fn get(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    fn name(&self, sym: Sym) -> &str {
        &self.names[sym.0 as usize]
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    account: Sym,
    region: Sym,
    resource_type: Sym,
    id: Box<str>,
    name: Option<Box<str>>,
    arn: Option<Box<str>>,
    /// False for a relationship's end that no item describes.
    recorded: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Edge {
    relationship: Sym,
    /// Known: the edge points from the dependent to its dependency. Unknown: from the item that
    /// carries the relationship to the resource it names.
    known: bool,
}

/// A resource as the outside sees it: plain strings, ready to print or serialise.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub account: String,
    pub region: String,
    pub resource_type: String,
    pub resource_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// False when only a relationship names it: no item for it was read.
    pub recorded: bool,
}

impl Resource {
    /// A short label: the name when there is one, else the id.
    pub fn label(&self) -> &str {
        self.resource_name.as_deref().unwrap_or(&self.resource_id)
    }

    /// `account|region|type|id`: unique in the graph, used as the id in exports.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.account, self.region, self.resource_type, self.resource_id
        )
    }
}

/// What building saw: counts for the reader to judge the graph by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub items_read: usize,
    /// Resources whose latest item records a deletion, left out.
    pub deleted: usize,
    pub resources: usize,
    /// Relationship ends no item describes (nodes marked not recorded).
    pub unrecorded: usize,
    pub edges: usize,
    /// Relationship names not in the vocabulary, with how many times each was seen: kept as
    /// edges of unknown direction, not followed by impact queries.
    pub unknown_relationships: BTreeMap<String, usize>,
}

/// The infrastructure graph.
#[derive(Debug, Default)]
pub struct InfraGraph {
    graph: petgraph::Graph<Node, Edge>,
    symbols: Interner,
    /// Nodes by resource id: the first with that id, the rest chained through `same_id`.
    by_id: HashMap<Box<str>, NodeIndex>,
    same_id: Vec<Option<NodeIndex>>,
    by_arn: HashMap<Box<str>, NodeIndex>,
    /// The vocabulary's answer per relationship name, by symbol.
    directions: Vec<Option<Direction>>,
    stats: Stats,
}

/// Why a resource asked for was not found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FindError {
    #[error("no resource `{0}` in the graph (give a resource id, an ARN or a name)")]
    NotFound(String),
    #[error(
        "`{query}` names {} resources; give the ARN or the key of one: {}",
        candidates.len(),
        candidates.join(", ")
    )]
    Ambiguous {
        query: String,
        candidates: Vec<String>,
    },
}

/// A relationship waiting for every item to be read before its other end is looked for.
#[derive(Debug)]
struct Pending {
    resource_type: Sym,
    id: Box<str>,
    name: Option<Box<str>>,
    relationship: Sym,
}

/// The latest item read so far of one resource, kept compact.
#[derive(Debug)]
struct Staged {
    node: Node,
    time: i64,
    deleted: bool,
    relationships: Box<[Pending]>,
}

/// Takes items one at a time, keeping the latest of each resource, then builds the graph.
#[derive(Debug, Default)]
pub struct Builder {
    symbols: Interner,
    staged: Vec<Staged>,
    /// Staged resources by id: the first with that id, the rest chained through `same_id`.
    by_id: HashMap<Box<str>, u32>,
    same_id: Vec<Option<u32>>,
    items_read: usize,
}

impl Builder {
    pub fn add(&mut self, item: Item) {
        self.items_read += 1;
        let account = self.symbols.intern(&item.aws_account_id);
        let region = self.symbols.intern(&item.aws_region);
        let resource_type = self.symbols.intern(&item.resource_type);
        let time = item.configuration_item_capture_time.timestamp_millis();
        let relationships: Box<[Pending]> = item
            .relationships
            .iter()
            .filter_map(|r| {
                Some(Pending {
                    resource_type: self.symbols.intern(&r.resource_type),
                    id: r.target_id()?.into(),
                    name: r.resource_name.as_deref().map(Into::into),
                    relationship: self.symbols.intern(&r.relationship_name),
                })
            })
            .collect();
        let deleted = item.is_deleted();
        let node = Node {
            account,
            region,
            resource_type,
            id: item.resource_id.into(),
            name: item.resource_name.map(Into::into),
            arn: item.arn.map(Into::into),
            recorded: true,
        };
        let existing = std::iter::successors(self.by_id.get(&node.id).copied(), |ix| {
            self.same_id[*ix as usize]
        })
        .find(|ix| {
            let n = &self.staged[*ix as usize].node;
            n.account == account && n.region == region && n.resource_type == resource_type
        });
        let staged = Staged {
            node,
            time,
            deleted,
            relationships,
        };
        match existing {
            Some(ix) if self.staged[ix as usize].time <= time => self.staged[ix as usize] = staged,
            Some(_) => {}
            None => {
                let ix = u32::try_from(self.staged.len()).expect("fewer than 4 billion items");
                let previous = self.by_id.insert(staged.node.id.clone(), ix);
                self.same_id.push(previous);
                self.staged.push(staged);
            }
        }
    }

    /// The graph of the latest items read: resources whose latest item records a deletion are
    /// left out.
    pub fn finish(self) -> InfraGraph {
        let mut g = InfraGraph {
            symbols: self.symbols,
            ..InfraGraph::default()
        };
        g.stats.items_read = self.items_read;
        drop(self.by_id);
        drop(self.same_id);
        let mut live = Vec::with_capacity(self.staged.len());
        for staged in self.staged {
            if staged.deleted {
                g.stats.deleted += 1;
                continue;
            }
            let ix = g.add_node(staged.node);
            live.push((ix, staged.relationships));
        }
        g.stats.resources = live.len();
        for (source, relationships) in live {
            for rel in relationships {
                let target = g.resolve(source, rel.resource_type, &rel.id);
                if let Some(name) = rel.name
                    && g.graph[target].name.is_none()
                    && !g.graph[target].recorded
                {
                    g.graph[target].name = Some(name);
                }
                g.relate(source, target, rel.relationship);
            }
        }
        g.stats.edges = g.graph.edge_count();
        g
    }
}

impl InfraGraph {
    /// Builds the graph from every item of `source`; returns it with the problems the source met.
    pub fn load(source: &dyn ItemSource) -> (Self, Vec<SourceProblem>) {
        let mut builder = Builder::default();
        let problems = source.items(&mut |item| builder.add(item));
        (builder.finish(), problems)
    }

    fn add_node(&mut self, node: Node) -> NodeIndex {
        let id = node.id.clone();
        let arn = node.arn.clone();
        let ix = self.graph.add_node(node);
        let previous = self.by_id.insert(id, ix);
        self.same_id.push(previous);
        if let Some(arn) = arn {
            self.by_arn.insert(arn, ix);
        }
        ix
    }

    /// Every node with resource id `id`.
    fn with_id(&self, id: &str) -> impl Iterator<Item = NodeIndex> + '_ {
        std::iter::successors(self.by_id.get(id).copied(), |ix| self.same_id[ix.index()])
    }

    /// The node a relationship of `source` names, made (not recorded) when no item describes it.
    fn resolve(&mut self, source: NodeIndex, rtype: Sym, id: &str) -> NodeIndex {
        let (account, region) = (self.graph[source].account, self.graph[source].region);
        if let Some(ix) = self.by_arn.get(id) {
            return *ix;
        }
        let candidates: Vec<NodeIndex> = self
            .with_id(id)
            .filter(|ix| self.graph[*ix].resource_type == rtype)
            .collect();
        let here = candidates
            .iter()
            .find(|ix| self.graph[**ix].account == account && self.graph[**ix].region == region);
        if let Some(ix) = here {
            return *ix;
        }
        let recorded: Vec<NodeIndex> = candidates
            .iter()
            .copied()
            .filter(|ix| self.graph[*ix].recorded)
            .collect();
        let same_account: Vec<NodeIndex> = recorded
            .iter()
            .copied()
            .filter(|ix| self.graph[*ix].account == account)
            .collect();
        match (same_account.as_slice(), recorded.as_slice()) {
            ([one], _) | ([], [one]) => return *one,
            _ => {}
        }
        self.stats.unrecorded += 1;
        self.add_node(Node {
            account,
            region,
            resource_type: rtype,
            id: id.into(),
            name: None,
            arn: None,
            recorded: false,
        })
    }

    fn relate(&mut self, source: NodeIndex, target: NodeIndex, relationship: Sym) {
        let (from, to, known) = match self.direction(relationship) {
            Direction::SourceDependsOnTarget => (source, target, true),
            Direction::TargetDependsOnSource => (target, source, true),
            Direction::Unknown => {
                let name = self.symbols.name(relationship).to_owned();
                *self.stats.unknown_relationships.entry(name).or_default() += 1;
                (source, target, false)
            }
        };
        // Both ends usually state the relationship, each under its own name: one edge.
        let duplicate = self.graph.edges_connecting(from, to).any(|e| {
            e.weight().known == known && (known || e.weight().relationship == relationship)
        });
        if !duplicate {
            self.graph.add_edge(
                from,
                to,
                Edge {
                    relationship,
                    known,
                },
            );
        }
    }

    /// The vocabulary's direction of a relationship name, looked up once per name.
    fn direction(&mut self, relationship: Sym) -> Direction {
        let slot = relationship.0 as usize;
        if self.directions.len() <= slot {
            self.directions.resize(slot + 1, None);
        }
        *self.directions[slot].get_or_insert_with(|| direction(self.symbols.name(relationship)))
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// The resource at `ix`, as plain strings.
    pub fn resource(&self, ix: NodeIndex) -> Resource {
        let n = &self.graph[ix];
        Resource {
            account: self.symbols.name(n.account).to_owned(),
            region: self.symbols.name(n.region).to_owned(),
            resource_type: self.symbols.name(n.resource_type).to_owned(),
            resource_id: n.id.to_string(),
            resource_name: n.name.as_deref().map(str::to_owned),
            arn: n.arn.as_deref().map(str::to_owned),
            recorded: n.recorded,
        }
    }

    /// The relationship name on `edge`, and whether its direction is known.
    pub fn edge(&self, edge: EdgeIndex) -> (&str, bool) {
        let e = &self.graph[edge];
        (self.symbols.name(e.relationship), e.known)
    }

    pub fn nodes(&self) -> impl Iterator<Item = NodeIndex> + '_ {
        self.graph.node_indices()
    }

    /// Every edge: (from, to, edge). Known edges point from the dependent to its dependency.
    pub fn edges(&self) -> impl Iterator<Item = (NodeIndex, NodeIndex, EdgeIndex)> + '_ {
        self.graph
            .edge_references()
            .map(|e| (e.source(), e.target(), e.id()))
    }

    /// The resources that depend directly on `ix` (through known edges), with the edge.
    pub fn dependents(&self, ix: NodeIndex) -> impl Iterator<Item = (NodeIndex, EdgeIndex)> + '_ {
        self.graph
            .edges_directed(ix, Incoming)
            .filter(|e| e.weight().known)
            .map(|e| (e.source(), e.id()))
    }

    /// The resources `ix` depends on directly (through known edges), with the edge.
    pub fn dependencies(&self, ix: NodeIndex) -> impl Iterator<Item = (NodeIndex, EdgeIndex)> + '_ {
        self.graph
            .edges_directed(ix, Outgoing)
            .filter(|e| e.weight().known)
            .map(|e| (e.target(), e.id()))
    }

    /// The node of exactly this resource.
    pub fn lookup(
        &self,
        account: &str,
        region: &str,
        resource_type: &str,
        id: &str,
    ) -> Option<NodeIndex> {
        let (account, region, rtype) = (
            self.symbols.get(account)?,
            self.symbols.get(region)?,
            self.symbols.get(resource_type)?,
        );
        self.with_id(id).find(|ix| {
            let n = &self.graph[*ix];
            n.account == account && n.region == region && n.resource_type == rtype
        })
    }

    /// The resource a person names: an ARN, a key (`account|region|type|id`), a resource id or
    /// a resource name. Recorded resources are preferred to ends only relationships name.
    pub fn find(&self, query: &str) -> Result<NodeIndex, FindError> {
        if let Some(ix) = self.by_arn.get(query) {
            return Ok(*ix);
        }
        let parts: Vec<&str> = query.split('|').collect();
        if let [account, region, rtype, id] = parts.as_slice()
            && let Some(ix) = self.lookup(account, region, rtype, id)
        {
            return Ok(ix);
        }
        let mut matches: Vec<NodeIndex> = self.with_id(query).collect();
        if matches.is_empty() {
            matches = self
                .graph
                .node_indices()
                .filter(|ix| self.graph[*ix].name.as_deref() == Some(query))
                .collect();
        }
        if matches.iter().any(|ix| self.graph[*ix].recorded) {
            matches.retain(|ix| self.graph[*ix].recorded);
        }
        match matches.as_slice() {
            [] => Err(FindError::NotFound(query.to_owned())),
            [one] => Ok(*one),
            many => {
                let mut candidates: Vec<String> = many
                    .iter()
                    .map(|ix| {
                        let r = self.resource(*ix);
                        r.arn.clone().unwrap_or_else(|| r.key())
                    })
                    .collect();
                candidates.sort();
                Err(FindError::Ambiguous {
                    query: query.to_owned(),
                    candidates,
                })
            }
        }
    }
}
