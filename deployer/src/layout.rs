//! Tables that fit the screen: columns wrap between words, never inside one, and a table too
//! wide for the screen is printed as one block per row instead.

use comfy_table::{Cell, ColumnConstraint, ContentArrangement, Table, Width, presets};

/// Width when stdout is not a terminal and `COLUMNS` is not set: a readable line in a log.
const DEFAULT_WIDTH: u16 = 100;
/// A column never asks for more than this to keep a word whole (ARNs, long ids): longer words
/// are the only ones ever split.
const LONGEST_WHOLE_WORD: usize = 64;

/// How wide the output may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Screen {
    /// `None`: as wide as the content (`--wide`).
    pub width: Option<u16>,
}

impl Screen {
    /// The terminal's width on a terminal; else `COLUMNS`; else 100. `wide` lifts the limit.
    pub fn detect(wide: bool) -> Self {
        if wide {
            return Self { width: None };
        }
        let terminal = Table::new().width();
        #[expect(
            clippy::disallowed_methods,
            reason = "the front end's edge: the width the user's shell reports"
        )]
        let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
        Self {
            width: Some(terminal.or(columns).unwrap_or(DEFAULT_WIDTH)),
        }
    }

    pub const fn fixed(width: u16) -> Self {
        Self { width: Some(width) }
    }

    pub const fn unlimited() -> Self {
        Self { width: None }
    }

    /// True when a table of `header` and `rows` fits as columns without splitting a word.
    pub fn fits(self, header: &[&str], rows: &[Vec<String>]) -> bool {
        self.width
            .is_none_or(|w| usize::from(w) >= narrowest(header, rows))
    }
}

/// A table for `screen`: columns when they fit, one block per row when they do not.
pub fn table(header: &[&str], rows: Vec<Vec<String>>, screen: Screen) -> String {
    if screen.fits(header, &rows) {
        columns(header, rows, screen)
    } else {
        blocks(header, &rows, screen)
    }
}

/// The narrowest the table can be with every word whole: each column as wide as its longest
/// word (or the cap), plus borders and padding.
fn narrowest(header: &[&str], rows: &[Vec<String>]) -> usize {
    let borders = 3 * header.len() + 1;
    longest_words(header, rows).iter().sum::<usize>() + borders
}

fn longest_words(header: &[&str], rows: &[Vec<String>]) -> Vec<usize> {
    (0..header.len())
        .map(|i| {
            std::iter::once(header[i])
                .chain(rows.iter().filter_map(|r| r.get(i).map(String::as_str)))
                .flat_map(str::split_whitespace)
                .map(|w| w.chars().count())
                .max()
                .unwrap_or(0)
                .min(LONGEST_WHOLE_WORD)
        })
        .collect()
}

fn columns(header: &[&str], rows: Vec<Vec<String>>, screen: Screen) -> String {
    let longest = longest_words(header, &rows);
    let mut t = Table::new();
    t.set_header(header.to_vec());
    match screen.width {
        Some(width) => {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(width)
                .set_constraints(
                    longest
                        .iter()
                        .map(|&w| ColumnConstraint::LowerBoundary(with_padding(w))),
                );
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t.add_rows(rows);
    t.to_string()
}

/// A column width for `content` characters: comfy-table's widths include the cell's padding,
/// one space on each side.
fn with_padding(content: usize) -> Width {
    Width::Fixed(u16::try_from(content + 2).unwrap_or(u16::MAX))
}

/// One block per row: `Field  value` lines, values wrapped between words.
fn blocks(header: &[&str], rows: &[Vec<String>], screen: Screen) -> String {
    let label_width = header.iter().map(|h| h.chars().count()).max().unwrap_or(0);
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut t = Table::new();
        t.load_style(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Dynamic);
        if let Some(width) = screen.width {
            t.set_width(width);
        }
        for (label, value) in header.iter().zip(row) {
            if !value.is_empty() {
                t.add_row([Cell::new(label), Cell::new(value)]);
            }
        }
        // After the rows: constraints apply to the columns that exist.
        t.set_constraints([
            ColumnConstraint::Absolute(with_padding(label_width)),
            ColumnConstraint::LowerBoundary(with_padding(1)),
        ]);
        out.push(t.to_string());
    }
    out.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Vec<String>> {
        vec![
            vec![
                "111111111111 (dev)".into(),
                "s3-bucket-encryption".into(),
                "the bucket has no default encryption; expected AES256 (SSE-S3) or aws:kms with one of the listed keys".into(),
            ],
            vec![
                "222222222222 (prod)".into(),
                "ec2-instance-baseline".into(),
                "missing tags Owner, CostCenter".into(),
            ],
        ]
    }

    const HEADER: [&str; 3] = ["Account", "Rule", "Annotation"];

    fn widest_line(text: &str) -> usize {
        text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
    }

    /// Every word of the input appears whole in the output.
    fn words_whole(text: &str, rows: &[Vec<String>]) {
        let printed: std::collections::BTreeSet<&str> = text
            .split(|c: char| c.is_whitespace() || c == '|' || c == '│')
            .collect();
        for word in rows.iter().flatten().flat_map(|c| c.split_whitespace()) {
            assert!(printed.contains(word), "{word:?} was split:\n{text}");
        }
    }

    #[test]
    fn a_table_that_fits_is_columns_within_the_width_with_words_whole() {
        let text = table(&HEADER, rows(), Screen::fixed(80));
        assert!(widest_line(&text) <= 80, "{text}");
        assert!(
            text.lines().nth(1).unwrap().contains("Annotation"),
            "{text}"
        );
        words_whole(&text, &rows());
    }

    #[test]
    fn a_table_too_wide_for_the_screen_becomes_one_block_per_row() {
        let text = table(&HEADER, rows(), Screen::fixed(40));
        assert!(widest_line(&text) <= 40, "{text}");
        assert!(text.contains("Rule"), "{text}");
        assert_eq!(text.matches("Account").count(), 2, "{text}");
        words_whole(&text, &rows());
    }

    #[test]
    fn wide_output_keeps_each_row_on_one_line() {
        let text = table(&HEADER, rows(), Screen::unlimited());
        // Header, two rows and four border lines.
        assert_eq!(text.lines().count(), 7, "{text}");
    }
}
