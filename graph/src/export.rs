//! The graph written for other tools: GraphML (yEd, Gephi, NetworkX, Neo4j's APOC import),
//! Cypher statements (Neo4j's `cypher-shell`) and DOT (Graphviz). Every value is escaped for its
//! format; node ids are the resource keys (`account|region|type|id`).

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::model::InfraGraph;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    GraphMl,
    Cypher,
    Dot,
}

/// XML text and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all are replaced, not dropped silently.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A Cypher string literal, single-quoted.
pub fn cypher_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A DOT quoted string.
pub fn dot_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' | '\r' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Writes `graph` in `format`.
pub fn write(graph: &InfraGraph, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::GraphMl => graphml(graph, out),
        Format::Cypher => cypher(graph, out),
        Format::Dot => dot(graph, out),
    }
}

const NODE_KEYS: [&str; 7] = [
    "account",
    "region",
    "resourceType",
    "resourceId",
    "resourceName",
    "arn",
    "recorded",
];

fn graphml(graph: &InfraGraph, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<graphml xmlns="http://graphml.graphdrawing.org/xmlns">"#
    )?;
    for key in NODE_KEYS {
        writeln!(
            out,
            r#"  <key id="{key}" for="node" attr.name="{key}" attr.type="string"/>"#
        )?;
    }
    writeln!(
        out,
        r#"  <key id="relationship" for="edge" attr.name="relationship" attr.type="string"/>"#
    )?;
    writeln!(
        out,
        r#"  <key id="dependency" for="edge" attr.name="dependency" attr.type="string"/>"#
    )?;
    writeln!(
        out,
        r#"  <graph id="infrastructure" edgedefault="directed">"#
    )?;
    for ix in graph.nodes() {
        let r = graph.resource(ix);
        writeln!(out, r#"    <node id="{}">"#, xml_escape(&r.key()))?;
        let values = [
            Some(r.account.as_str()),
            Some(r.region.as_str()),
            Some(r.resource_type.as_str()),
            Some(r.resource_id.as_str()),
            r.resource_name.as_deref(),
            r.arn.as_deref(),
            Some(if r.recorded { "true" } else { "false" }),
        ];
        for (key, value) in NODE_KEYS.iter().zip(values) {
            if let Some(value) = value {
                writeln!(
                    out,
                    r#"      <data key="{key}">{}</data>"#,
                    xml_escape(value)
                )?;
            }
        }
        writeln!(out, "    </node>")?;
    }
    for (from, to, edge) in graph.edges() {
        let (name, known) = graph.edge(edge);
        writeln!(
            out,
            r#"    <edge source="{}" target="{}"><data key="relationship">{}</data><data key="dependency">{}</data></edge>"#,
            xml_escape(&graph.resource(from).key()),
            xml_escape(&graph.resource(to).key()),
            xml_escape(name),
            if known {
                "source depends on target"
            } else {
                "unknown"
            },
        )?;
    }
    writeln!(out, "  </graph>")?;
    writeln!(out, "</graphml>")
}

/// `MERGE` on the key, so loading twice does not duplicate; one statement a line.
fn cypher(graph: &InfraGraph, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "CREATE INDEX custos_resource_key IF NOT EXISTS FOR (r:Resource) ON (r.key);"
    )?;
    for ix in graph.nodes() {
        let r = graph.resource(ix);
        let mut props = format!(
            "r.account = {}, r.region = {}, r.resourceType = {}, r.resourceId = {}, r.recorded = {}",
            cypher_string(&r.account),
            cypher_string(&r.region),
            cypher_string(&r.resource_type),
            cypher_string(&r.resource_id),
            r.recorded
        );
        if let Some(name) = &r.resource_name {
            let _ = write!(props, ", r.resourceName = {}", cypher_string(name));
        }
        if let Some(arn) = &r.arn {
            let _ = write!(props, ", r.arn = {}", cypher_string(arn));
        }
        writeln!(
            out,
            "MERGE (r:Resource {{key: {}}}) SET {props};",
            cypher_string(&r.key())
        )?;
    }
    for (from, to, edge) in graph.edges() {
        let (name, known) = graph.edge(edge);
        writeln!(
            out,
            "MATCH (a:Resource {{key: {}}}), (b:Resource {{key: {}}}) MERGE (a)-[:{} {{relationship: {}}}]->(b);",
            cypher_string(&graph.resource(from).key()),
            cypher_string(&graph.resource(to).key()),
            if known { "DEPENDS_ON" } else { "RELATED_TO" },
            cypher_string(name),
        )?;
    }
    Ok(())
}

fn dot(graph: &InfraGraph, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "digraph infrastructure {{")?;
    writeln!(out, "  rankdir=LR;")?;
    writeln!(out, "  node [shape=box];")?;
    for ix in graph.nodes() {
        let r = graph.resource(ix);
        let label = format!(
            "{}\n{}\n{} {}",
            r.resource_type,
            r.label(),
            r.account,
            r.region
        );
        let style = if r.recorded { "" } else { ", style=dashed" };
        writeln!(
            out,
            "  {} [label={}{style}];",
            dot_string(&r.key()),
            dot_string(&label)
        )?;
    }
    for (from, to, edge) in graph.edges() {
        let (name, known) = graph.edge(edge);
        let style = if known { "" } else { ", style=dotted" };
        writeln!(
            out,
            "  {} -> {} [label={}{style}];",
            dot_string(&graph.resource(from).key()),
            dot_string(&graph.resource(to).key()),
            dot_string(name)
        )?;
    }
    writeln!(out, "}}")
}
