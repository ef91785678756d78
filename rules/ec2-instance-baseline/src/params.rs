//! The rule's parameters, checked once when they are decoded, so neither the rule nor the
//! remediation ever works with a value AWS would refuse.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// `requiredTags`: tag key -> the default value the remediation writes when the tag is missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "BTreeMap<String, String>")]
pub struct RequiredTags(BTreeMap<String, String>);

/// EC2's limits on tags (characters, not bytes).
const MAX_KEY_CHARS: usize = 128;
const MAX_VALUE_CHARS: usize = 256;

impl RequiredTags {
    /// Keys and their defaults, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

impl TryFrom<BTreeMap<String, String>> for RequiredTags {
    type Error = String;

    fn try_from(tags: BTreeMap<String, String>) -> Result<Self, String> {
        for (key, default) in &tags {
            if key.trim().is_empty() {
                return Err("a tag key is empty".into());
            }
            if key.chars().count() > MAX_KEY_CHARS {
                return Err(format!(
                    "tag key `{key}` is longer than {MAX_KEY_CHARS} characters"
                ));
            }
            if key.to_ascii_lowercase().starts_with("aws:") {
                return Err(format!("tag key `{key}` uses the reserved prefix aws:"));
            }
            // The remediation writes these tags: it must never grant an exemption or a
            // quarantine (custos:exempt, custos:quarantine) by doing so.
            if key.to_ascii_lowercase().starts_with("custos:") {
                return Err(format!(
                    "tag key `{key}` uses the prefix custos:, which Custos keeps for exemptions and quarantine"
                ));
            }
            // An empty default would be written and still count as missing: a remediation loop.
            if default.trim().is_empty() {
                return Err(format!("tag `{key}` has an empty default value"));
            }
            if default.chars().count() > MAX_VALUE_CHARS {
                return Err(format!(
                    "the default of tag `{key}` is longer than {MAX_VALUE_CHARS} characters"
                ));
            }
        }
        Ok(Self(tags))
    }
}

/// A security group id: `sg-` and 8 or 17 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct SecurityGroupId(String);

impl SecurityGroupId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SecurityGroupId {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let text = text.trim().to_owned();
        let valid = text.strip_prefix("sg-").is_some_and(|hex| {
            matches!(hex.len(), 8 | 17)
                && hex
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        });
        if valid {
            Ok(Self(text))
        } else {
            Err(format!(
                "`{text}` is not a security group id (sg- and 8 or 17 hex digits; a group name will not do)"
            ))
        }
    }
}

impl fmt::Display for SecurityGroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `quarantineTag`: the tag that marks an instance under incident response, as `KEY` (any
/// value) or `KEY=VALUE`. The remediation never touches an instance that carries it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct QuarantineTag {
    pub key: String,
    /// `None`: the key alone marks the instance, whatever its value.
    pub value: Option<String>,
}

impl QuarantineTag {
    /// Whether `tags` carry the quarantine tag.
    pub fn marks(&self, tags: &BTreeMap<String, String>) -> bool {
        tags.get(&self.key)
            .is_some_and(|v| self.value.as_ref().is_none_or(|want| want == v))
    }
}

impl TryFrom<String> for QuarantineTag {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let (key, value) = match text.split_once('=') {
            Some((key, value)) => (key.trim(), Some(value.trim().to_owned())),
            None => (text.trim(), None),
        };
        if key.is_empty() {
            return Err(format!("`{text}` names no tag key (KEY or KEY=VALUE)"));
        }
        if key.chars().count() > MAX_KEY_CHARS {
            return Err(format!(
                "tag key `{key}` is longer than {MAX_KEY_CHARS} characters"
            ));
        }
        Ok(Self {
            key: key.to_owned(),
            value,
        })
    }
}

impl fmt::Display for QuarantineTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{}={value}", self.key),
            None => f.write_str(&self.key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Result<RequiredTags, String> {
        RequiredTags::try_from(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[test]
    fn tag_keys_aws_refuses_are_refused_here() {
        assert_eq!(
            tags(&[("aws:createdBy", "x")]).unwrap_err(),
            "tag key `aws:createdBy` uses the reserved prefix aws:"
        );
        assert_eq!(tags(&[(" ", "x")]).unwrap_err(), "a tag key is empty");
        assert!(tags(&[(&"k".repeat(129), "x")]).is_err());
        assert!(tags(&[(&"k".repeat(128), "x")]).is_ok());
    }

    #[test]
    fn custos_tag_keys_are_refused_so_the_remediation_cannot_write_an_exemption() {
        for key in ["custos:exempt", "Custos:Quarantine"] {
            let err = tags(&[(key, "ec2-instance-baseline; until=2099-12-31")]).unwrap_err();
            assert!(err.contains("prefix custos:"), "{err}");
        }
    }

    #[test]
    fn a_quarantine_tag_is_a_key_or_a_key_and_value() {
        let any: QuarantineTag = "custos:quarantine".to_owned().try_into().unwrap();
        let exact: QuarantineTag = "ir-status = isolated".to_owned().try_into().unwrap();
        let tagged = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        assert!(any.marks(&tagged("custos:quarantine", "")));
        assert!(!any.marks(&tagged("Owner", "x")));
        assert!(exact.marks(&tagged("ir-status", "isolated")));
        assert!(!exact.marks(&tagged("ir-status", "released")));
        assert_eq!(exact.to_string(), "ir-status=isolated");
        assert!(QuarantineTag::try_from(" =x".to_owned()).is_err());
    }

    #[test]
    fn an_empty_default_is_refused_because_it_could_never_satisfy_the_rule() {
        assert_eq!(
            tags(&[("Owner", "")]).unwrap_err(),
            "tag `Owner` has an empty default value"
        );
    }

    #[test]
    fn security_group_ids_have_the_ec2_shape() {
        for good in ["sg-0123456789abcdef0", "sg-12ab34cd", " sg-12ab34cd "] {
            assert!(SecurityGroupId::try_from(good.to_owned()).is_ok(), "{good}");
        }
        for bad in [
            "admins",
            "sg-",
            "sg-123",
            "sg-0123456789ABCDEF0",
            "sgr-12ab34cd",
        ] {
            assert!(SecurityGroupId::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }
}
