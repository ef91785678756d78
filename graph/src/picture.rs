//! A resource's neighbourhood as a small inline SVG: what it depends on to its left, what
//! depends on it to its right, one column per step (up to two). A layered layout of our own:
//! deterministic, no script, no fonts or files fetched.

use std::collections::HashSet;
use std::fmt::Write as _;

use petgraph::graph::NodeIndex;

use crate::export::xml_escape;
use crate::model::{InfraGraph, Resource};

/// At most this many resources are drawn in a column; the rest are counted in a last box.
pub const PER_COLUMN: usize = 8;
const BOX_W: i64 = 180;
const BOX_H: i64 = 38;
const GAP_X: i64 = 50;
const GAP_Y: i64 = 10;
const MARGIN: i64 = 10;

/// One drawn resource: its column (negative: dependencies, positive: dependents) and the index
/// of the resource it hangs from in the column nearer the middle.
#[derive(Debug, Clone)]
struct Placed {
    resource: Resource,
    column: i64,
    parent: Option<usize>,
}

/// The neighbourhood of `center` up to `depth` steps each way (1 or 2 make readable pictures).
#[derive(Debug, Clone)]
pub struct Neighbourhood {
    placed: Vec<Placed>,
    /// Per column, how many resources were not drawn.
    hidden: Vec<(i64, usize)>,
}

impl Neighbourhood {
    pub fn of(graph: &InfraGraph, center: NodeIndex, depth: usize) -> Self {
        let mut placed = vec![Placed {
            resource: graph.resource(center),
            column: 0,
            parent: None,
        }];
        let mut hidden = Vec::new();
        let mut seen: HashSet<NodeIndex> = HashSet::from([center]);
        for side in [-1_i64, 1] {
            let mut frontier = vec![(center, 0_usize)];
            for step in 1..=depth {
                let column = side * i64::try_from(step).expect("small depth");
                let mut next: Vec<(NodeIndex, usize)> = Vec::new();
                let mut more = 0;
                for &(node, at) in &frontier {
                    let mut around: Vec<NodeIndex> = if side < 0 {
                        graph.dependencies(node).map(|(n, _)| n).collect()
                    } else {
                        graph.dependents(node).map(|(n, _)| n).collect()
                    };
                    around.sort_by_key(|n| graph.resource(*n));
                    for n in around {
                        if !seen.insert(n) {
                            continue;
                        }
                        if next.len() < PER_COLUMN {
                            placed.push(Placed {
                                resource: graph.resource(n),
                                column,
                                parent: Some(at),
                            });
                            next.push((n, placed.len() - 1));
                        } else {
                            more += 1;
                        }
                    }
                }
                if more > 0 {
                    hidden.push((column, more));
                }
                frontier = next;
            }
        }
        Self { placed, hidden }
    }

    /// How many resources are drawn, the centre included.
    pub fn drawn(&self) -> usize {
        self.placed.len()
    }

    /// The drawn resources, the centre first.
    pub fn resources(&self) -> impl Iterator<Item = &Resource> {
        self.placed.iter().map(|p| &p.resource)
    }

    /// The picture, as an `<svg>` element to inline in HTML.
    pub fn svg(&self) -> String {
        let min_col = self.placed.iter().map(|p| p.column).min().unwrap_or(0);
        let max_col = self.placed.iter().map(|p| p.column).max().unwrap_or(0);
        let rows_in = |col: i64| {
            let drawn = self.placed.iter().filter(|p| p.column == col).count();
            let more = usize::from(self.hidden.iter().any(|(c, _)| *c == col));
            i64::try_from(drawn + more).expect("small columns")
        };
        let tallest = (min_col..=max_col).map(rows_in).max().unwrap_or(1);
        let width = (max_col - min_col + 1) * (BOX_W + GAP_X) - GAP_X + 2 * MARGIN;
        let height = tallest * (BOX_H + GAP_Y) - GAP_Y + 2 * MARGIN;
        let x_of = |col: i64| MARGIN + (col - min_col) * (BOX_W + GAP_X);
        // Each column is centred vertically.
        let mut positions = Vec::with_capacity(self.placed.len());
        let mut next_row = std::collections::BTreeMap::<i64, i64>::new();
        for p in &self.placed {
            let row = next_row.entry(p.column).or_default();
            let top = MARGIN + (tallest - rows_in(p.column)) * (BOX_H + GAP_Y) / 2;
            positions.push((x_of(p.column), top + *row * (BOX_H + GAP_Y)));
            *row += 1;
        }
        let mut svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="neighbourhood" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{}">"#,
            xml_escape(&format!(
                "neighbourhood of {}: {} resources",
                self.placed[0].resource.resource_id,
                self.placed.len()
            ))
        );
        svg.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker></defs>"##);
        // Arrows point from the dependent to what it depends on.
        for (i, p) in self.placed.iter().enumerate() {
            let Some(parent) = p.parent else { continue };
            let ((x, y), (px, py)) = (positions[i], positions[parent]);
            let (x1, x2) = if p.column > 0 {
                (x, px + BOX_W)
            } else {
                (x + BOX_W, px)
            };
            let _ = write!(
                svg,
                r##"<line x1="{x1}" y1="{}" x2="{x2}" y2="{}" stroke="#57606a" marker-end="url(#arrow)"/>"##,
                y + BOX_H / 2,
                py + BOX_H / 2
            );
        }
        for (i, p) in self.placed.iter().enumerate() {
            let (x, y) = positions[i];
            let r = &p.resource;
            let class = match (i, r.recorded) {
                (0, _) => "centre",
                (_, false) => "unrecorded",
                _ => "node",
            };
            let short_type = r.resource_type.rsplit("::").next().unwrap_or_default();
            let _ = write!(
                svg,
                r##"<g class="{class}"><title>{}</title><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="5" fill="{}" stroke="#57606a"{}/><text x="{}" y="{}" font-size="10" fill="#57606a">{}</text><text x="{}" y="{}" font-size="12">{}</text></g>"##,
                xml_escape(&format!(
                    "{} {} ({} {})",
                    r.resource_type, r.resource_id, r.account, r.region
                )),
                if i == 0 { "#f8d0cc" } else { "#f6f8fa" },
                if r.recorded {
                    ""
                } else {
                    r#" stroke-dasharray="4 3""#
                },
                x + 6,
                y + 14,
                xml_escape(short_type),
                x + 6,
                y + 30,
                xml_escape(&truncate(r.label(), 26)),
            );
        }
        for (column, more) in &self.hidden {
            let x = x_of(*column);
            let row = i64::try_from(self.placed.iter().filter(|p| p.column == *column).count())
                .expect("small columns");
            let top = MARGIN + (tallest - rows_in(*column)) * (BOX_H + GAP_Y) / 2;
            let _ = write!(
                svg,
                r##"<text class="more" x="{}" y="{}" font-size="12" fill="#57606a">+{more} more</text>"##,
                x + 6,
                top + row * (BOX_H + GAP_Y) + 22
            );
        }
        svg.push_str("</svg>");
        svg
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut cut: String = s.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}
