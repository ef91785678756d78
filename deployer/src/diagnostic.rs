//! Problems located in a source file: `file:line:column: message`, with the line and a caret.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A position in a file, 1-based, as editors count.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text`; columns count characters.
    pub fn of(file: &Path, text: &str, offset: usize) -> Self {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        Self {
            file: file.to_path_buf(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One problem, with the source line it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: Location,
    pub message: String,
    /// The source line and the caret under the span, ready to print.
    pub excerpt: String,
}

impl Diagnostic {
    pub fn new(file: &Path, text: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let location = Location::of(file, text, span.start);
        let excerpt = excerpt(text, &location, &span);
        Self {
            location,
            message: message.into(),
            excerpt,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)?;
        if !self.excerpt.is_empty() {
            write!(f, "\n{}", self.excerpt)?;
        }
        Ok(())
    }
}

/// Every problem found in one file, in source order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

fn excerpt(text: &str, location: &Location, span: &Range<usize>) -> String {
    let Some(source_line) = text.lines().nth(location.line - 1) else {
        return String::new();
    };
    let number = location.line.to_string();
    let pad = " ".repeat(number.len());
    let start = location.column - 1;
    let span_chars = text
        .get(span.clone())
        .map_or(1, |s| s.lines().next().unwrap_or("").chars().count());
    let width = span_chars.clamp(1, source_line.chars().count().saturating_sub(start).max(1));
    format!(
        "{pad} |\n{number} | {source_line}\n{pad} | {}{}",
        " ".repeat(start),
        "^".repeat(width)
    )
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_an_offset_by_line_and_character_column() {
        let text = "a = 1\nnamé = \"x\"\n";
        let offset = text.find("\"x\"").unwrap();
        let location = Location::of(Path::new("f.toml"), text, offset);
        assert_eq!((location.line, location.column), (2, 8));
    }

    #[test]
    fn prints_the_line_with_a_caret_under_the_span() {
        let text = "[rules.nope]\nenabled = true\n";
        let d = Diagnostic::new(Path::new("d.toml"), text, 7..11, "unknown rule `nope`");
        assert_eq!(
            d.to_string(),
            "d.toml:1:8: unknown rule `nope`\n  |\n1 | [rules.nope]\n  |        ^^^^"
        );
    }
}
