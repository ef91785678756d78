//! What a rule concludes about one resource.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The compliance values `PutEvaluations` accepts from a custom rule.
///
/// `INSUFFICIENT_DATA` is deliberately absent: AWS Config rejects it from custom rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compliance {
    Compliant,
    NonCompliant,
    NotApplicable,
}

impl Compliance {
    /// The wire name, as Config prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "COMPLIANT",
            Self::NonCompliant => "NON_COMPLIANT",
            Self::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

impl fmt::Display for Compliance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An evaluation annotation: at most [`Annotation::MAX_CHARS`] characters, cut on a char boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Annotation(String);

impl Annotation {
    /// The longest annotation `PutEvaluations` accepts.
    pub const MAX_CHARS: usize = 256;

    /// Builds an annotation, cutting it to 256 characters (ending in `…` when cut).
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        if text.char_indices().nth(Self::MAX_CHARS).is_none() {
            return Self(text);
        }
        let keep: String = text.chars().take(Self::MAX_CHARS - 1).collect();
        Self(keep + "…")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Annotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A rule's conclusion about one resource: compliance and, usually, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub compliance: Compliance,
    pub annotation: Option<Annotation>,
}

impl Verdict {
    pub fn compliant() -> Self {
        Self {
            compliance: Compliance::Compliant,
            annotation: None,
        }
    }

    pub fn non_compliant(why: impl Into<String>) -> Self {
        Self {
            compliance: Compliance::NonCompliant,
            annotation: Some(Annotation::new(why)),
        }
    }

    pub fn not_applicable(why: impl Into<String>) -> Self {
        Self {
            compliance: Compliance::NotApplicable,
            annotation: Some(Annotation::new(why)),
        }
    }

    /// Adds or replaces the annotation.
    #[must_use]
    pub fn because(mut self, why: impl Into<String>) -> Self {
        self.annotation = Some(Annotation::new(why));
        self
    }

    /// Puts `note` in front of the annotation, keeping what the rule said.
    #[must_use]
    pub fn with_prefix(mut self, note: &str) -> Self {
        let text = match &self.annotation {
            Some(existing) => format!("{note}; {existing}"),
            None => note.to_owned(),
        };
        self.annotation = Some(Annotation::new(text));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_annotations_are_kept_whole() {
        assert_eq!(
            Annotation::new("bucket has no encryption").as_str(),
            "bucket has no encryption"
        );
    }

    #[test]
    fn long_annotations_are_cut_to_256_characters_with_an_ellipsis() {
        let cut = Annotation::new("é".repeat(300));
        assert_eq!(cut.as_str().chars().count(), 256);
        assert!(cut.as_str().ends_with('…'));
    }

    #[test]
    fn exactly_256_characters_are_not_cut() {
        let text = "x".repeat(256);
        assert_eq!(Annotation::new(text.clone()).as_str(), text);
    }

    #[test]
    fn compliance_uses_the_wire_names() {
        assert_eq!(
            serde_json::to_string(&Compliance::NonCompliant).unwrap(),
            "\"NON_COMPLIANT\""
        );
        assert_eq!(Compliance::NotApplicable.to_string(), "NOT_APPLICABLE");
    }

    proptest! {
        #[test]
        fn annotation_is_never_longer_than_256_chars_and_is_a_prefix(text in "\\PC{0,600}") {
            let cut = Annotation::new(text.clone());
            let chars = cut.as_str().chars().count();
            prop_assert!(chars <= 256);
            if text.chars().count() <= 256 {
                prop_assert_eq!(cut.as_str(), text.as_str());
            } else {
                let kept = cut.as_str().trim_end_matches('…');
                prop_assert!(text.starts_with(kept));
            }
        }
    }
}
