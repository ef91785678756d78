//! Organisation-wide conformance packs: what is wanted, what is deployed, and why a deployed
//! pack must be put again. Pure; the calls are in `aws::org_packs`.
//!
//! Config never returns an organisation pack's template, so the deployer passes the template's
//! SHA-256 as the input parameter `CustosTemplateHash` (which the template declares) and compares
//! that instead: an unchanged pack is never put again.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The input parameter that carries the template's fingerprint.
pub const TEMPLATE_HASH_PARAMETER: &str = "CustosTemplateHash";
/// The input parameter that says which deployment owns the pack (packs take no tags).
pub const DEPLOYMENT_PARAMETER: &str = "CustosDeployment";
/// `ExcludedAccounts` holds at most this many accounts.
pub const MAX_EXCLUDED_ACCOUNTS: usize = 1000;

/// An organisation conformance pack as the deployer wants it, in each of `regions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPackSpec {
    /// `custos-NAME`, or `custos-NAME-N` for a part of a split pack.
    pub name: String,
    pub body: String,
    pub template_hash: String,
    /// Every account of the organisation that the settings do not target (or that this run
    /// skips): an organisation pack reaches all the others, and accounts that join later.
    pub excluded_accounts: BTreeSet<String>,
    pub regions: BTreeSet<String>,
    /// The deployment that owns it (`CustosDeployment`).
    #[serde(default)]
    pub deployment: String,
}

/// An organisation conformance pack as `DescribeOrganizationConformancePacks` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedOrgPack {
    /// The `CustosTemplateHash` it was put with; none for a pack put by other means.
    pub template_hash: Option<String>,
    pub excluded_accounts: BTreeSet<String>,
    /// The `CustosDeployment` it was put with; none for a pack an earlier Custos put.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
}

/// The fingerprint of a template body.
pub fn template_hash(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

/// Why `found` must be put again to become `spec`; nothing when it is current.
pub fn update_reasons(spec: &OrgPackSpec, found: &ObservedOrgPack) -> Vec<String> {
    let mut reasons = Vec::new();
    if found.template_hash.as_deref() != Some(spec.template_hash.as_str()) {
        reasons.push("template changed".to_owned());
    }
    if found.deployment.as_deref() != Some(spec.deployment.as_str()) {
        reasons.push(format!("adopted by deployment {}", spec.deployment));
    }
    let added: Vec<&String> = spec
        .excluded_accounts
        .difference(&found.excluded_accounts)
        .collect();
    let removed: Vec<&String> = found
        .excluded_accounts
        .difference(&spec.excluded_accounts)
        .collect();
    if !removed.is_empty() {
        reasons.push(format!("now reaches {}", accounts(&removed)));
    }
    if !added.is_empty() {
        reasons.push(format!("now excludes {}", accounts(&added)));
    }
    reasons
}

/// `111111111111, 222222222222 and 3 more`: a reason stays one line at any scale.
fn accounts(list: &[&String]) -> String {
    const SHOWN: usize = 3;
    let shown: Vec<&str> = list.iter().take(SHOWN).map(|a| a.as_str()).collect();
    let more = list.len().saturating_sub(SHOWN);
    let noun = if list.len() == 1 {
        "account"
    } else {
        "accounts"
    };
    if more == 0 {
        format!("{noun} {}", shown.join(", "))
    } else {
        format!("{noun} {} and {more} more", shown.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(excluded: &[&str]) -> OrgPackSpec {
        OrgPackSpec {
            name: "custos-baseline".into(),
            body: "Resources: {}".into(),
            template_hash: template_hash("Resources: {}"),
            excluded_accounts: excluded.iter().map(|a| (*a).to_owned()).collect(),
            regions: BTreeSet::from(["eu-west-1".to_owned()]),
            deployment: "111111111111".into(),
        }
    }

    fn found(hash: Option<&str>, excluded: &[&str]) -> ObservedOrgPack {
        ObservedOrgPack {
            template_hash: hash.map(str::to_owned),
            excluded_accounts: excluded.iter().map(|a| (*a).to_owned()).collect(),
            deployment: Some("111111111111".into()),
        }
    }

    #[test]
    fn a_pack_put_with_the_same_template_and_exclusions_is_current() {
        let s = spec(&["111111111111"]);
        let f = found(Some(&s.template_hash), &["111111111111"]);
        assert_eq!(update_reasons(&s, &f), Vec::<String>::new());
    }

    #[test]
    fn a_changed_template_or_a_pack_without_the_fingerprint_is_put_again() {
        let s = spec(&[]);
        assert_eq!(
            update_reasons(&s, &found(Some("0ld"), &[])),
            ["template changed"]
        );
        assert_eq!(update_reasons(&s, &found(None, &[])), ["template changed"]);
    }

    #[test]
    fn exclusion_changes_name_the_accounts_and_stay_short() {
        let s = spec(&[
            "111111111111",
            "222222222222",
            "333333333333",
            "444444444444",
        ]);
        let f = found(Some(&s.template_hash), &["999999999999"]);
        assert_eq!(
            update_reasons(&s, &f),
            [
                "now reaches account 999999999999",
                "now excludes accounts 111111111111, 222222222222, 333333333333 and 1 more",
            ]
        );
    }

    #[test]
    fn the_fingerprint_is_the_bodys_sha256() {
        assert_eq!(
            template_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
