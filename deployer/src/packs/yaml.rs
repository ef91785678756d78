//! A YAML (or JSON) document as a tree whose every node knows its line and column, with
//! CloudFormation short tags (`!Ref`, `!Sub`, ...) kept on the node they mark. Built from
//! yaml-rust2's event parser, which reports a position for every event.

use std::collections::BTreeMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Where a node starts: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Mark {
    pub line: usize,
    pub col: usize,
}

impl Mark {
    fn of(marker: Marker) -> Self {
        Self {
            line: marker.line(),
            col: marker.col() + 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar's text; `quoted` scalars are always strings.
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    /// Keys in document order.
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    /// A local tag without its `!` (`Ref`, `Sub`, `GetAtt`, ...).
    pub tag: Option<String>,
    pub mark: Mark,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }
}

/// A parse error at a place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub mark: Mark,
    pub message: String,
}

#[derive(Default)]
struct Builder {
    /// Open collections: the node being filled and, for maps, a key waiting for its value.
    stack: Vec<(Node, Option<Node>)>,
    anchors: BTreeMap<usize, Node>,
    /// Anchor ids of the open collections, to record them when they close.
    open_anchors: Vec<usize>,
    root: Option<Node>,
    error: Option<ParseError>,
}

fn local_tag(tag: Option<Tag>) -> Option<String> {
    tag.map(|t| {
        if t.handle == "!" {
            t.suffix
        } else {
            format!("{}{}", t.handle, t.suffix)
        }
    })
}

impl Builder {
    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some((parent, pending_key)) => {
                // A block collection's start event is marked after its first key: the
                // collection starts where its first child does.
                parent.mark = parent.mark.min(node.mark);
                match &mut parent.value {
                    Value::Seq(items) => items.push(node),
                    Value::Map(entries) => match pending_key.take() {
                        None => *pending_key = Some(node),
                        Some(key) => entries.push((key, node)),
                    },
                    Value::Scalar { .. } => {}
                }
            }
        }
    }
}

impl Builder {
    fn open(&mut self, value: Value, anchor: usize, tag: Option<Tag>, mark: Mark) {
        self.open_anchors.push(anchor);
        self.stack.push((
            Node {
                value,
                tag: local_tag(tag),
                mark,
            },
            None,
        ));
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, marker: Marker) {
        let mark = Mark::of(marker);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let node = Node {
                    value: Value::Scalar {
                        text,
                        quoted: style != TScalarStyle::Plain,
                    },
                    tag: local_tag(tag),
                    mark,
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_value(node);
            }
            Event::SequenceStart(anchor, tag) => {
                self.open(Value::Seq(Vec::new()), anchor, tag, mark);
            }
            Event::MappingStart(anchor, tag) => {
                self.open(Value::Map(Vec::new()), anchor, tag, mark);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, _)) = self.stack.pop() {
                    let anchor = self.open_anchors.pop().unwrap_or(0);
                    if anchor > 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push_value(node);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => self.push_value(node),
                None => {
                    self.error.get_or_insert(ParseError {
                        mark,
                        message: "alias to an unknown anchor".into(),
                    });
                }
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// Parses the first document of `text`.
pub fn parse(text: &str) -> Result<Node, ParseError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| ParseError {
        mark: Mark::of(*e.marker()),
        message: e.info().to_owned(),
    })?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    builder.root.ok_or(ParseError {
        mark: Mark { line: 1, col: 1 },
        message: "the file holds no YAML document".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_carry_lines_and_short_tags() {
        let doc = parse(
            "Resources:\n  Rule:\n    Type: AWS::Config::ConfigRule\n    Properties:\n      ConfigRuleName: !Sub '${AWS::StackName}-x'\n      List: [!Ref A, b]\n",
        )
        .unwrap();
        let rule = doc.get("Resources").unwrap().get("Rule").unwrap();
        assert_eq!(rule.mark.line, 3);
        let name = rule
            .get("Properties")
            .unwrap()
            .get("ConfigRuleName")
            .unwrap();
        assert_eq!(name.tag.as_deref(), Some("Sub"));
        assert_eq!(name.as_str(), Some("${AWS::StackName}-x"));
        // The value's position, after its tag.
        assert_eq!(name.mark, Mark { line: 5, col: 28 });
        let list = rule.get("Properties").unwrap().get("List").unwrap();
        assert_eq!(list.as_seq().unwrap()[0].tag.as_deref(), Some("Ref"));
    }

    #[test]
    fn json_parses_too_and_errors_have_a_line() {
        let doc = parse("{\"Resources\": {\"A\": {\"Type\": \"x\"}}}").unwrap();
        assert_eq!(
            doc.get("Resources")
                .unwrap()
                .get("A")
                .unwrap()
                .get("Type")
                .unwrap()
                .as_str(),
            Some("x")
        );
        let error = parse("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(error.mark.line >= 2, "{error:?}");
    }

    #[test]
    fn aliases_copy_their_anchor() {
        let doc = parse("a: &x {k: v}\nb: *x\n").unwrap();
        assert_eq!(doc.get("b").unwrap().get("k").unwrap().as_str(), Some("v"));
    }
}
