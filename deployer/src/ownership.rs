//! Which deployment owns an object. A `custos-*` name proves nothing: a stack set is this
//! deployment's when it carries the tag `custos:managed=<deployment id>`, an organisation pack
//! when it was put with the input parameter `CustosDeployment=<deployment id>` (packs take no
//! tags). Anything else is listed once as not managed by this deployment, and never updated or
//! deleted. Pure.

use serde::{Deserialize, Serialize};

/// The tag value an earlier Custos (before deployment ids) wrote on its stack sets.
pub const LEGACY_MARKER: &str = "true";

/// Who owns an object named like a Custos one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// This deployment (or an earlier Custos's, taken over with `--adopt`).
    This,
    /// An earlier Custos, before deployment ids: adoptable with `--adopt`.
    Earlier,
    /// Someone else: another deployment (its id), or nobody Custos knows (`None`).
    Other(Option<String>),
}

/// What a run claims as its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub deployment_id: String,
    /// Take over what an earlier Custos made (`--adopt`).
    pub adopt: bool,
}

impl Claim {
    /// The owner of a stack set whose `custos:managed` tag is `marker`.
    pub fn stack_set(&self, marker: Option<&str>) -> Owner {
        match marker {
            Some(id) if id == self.deployment_id => Owner::This,
            Some(LEGACY_MARKER) if self.adopt => Owner::This,
            Some(LEGACY_MARKER) => Owner::Earlier,
            other => Owner::Other(other.map(str::to_owned)),
        }
    }

    /// The owner of an organisation pack put with `template_hash` (`CustosTemplateHash`) and
    /// `deployment` (`CustosDeployment`): an earlier Custos put the hash alone.
    pub fn org_pack(&self, template_hash: Option<&str>, deployment: Option<&str>) -> Owner {
        match (template_hash, deployment) {
            (_, Some(id)) if id == self.deployment_id => Owner::This,
            (_, Some(other)) => Owner::Other(Some(other.to_owned())),
            (Some(_), None) if self.adopt => Owner::This,
            (Some(_), None) => Owner::Earlier,
            (None, None) => Owner::Other(None),
        }
    }
}

/// A Custos-named object this deployment does not own: reported, never touched.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Foreign {
    /// `stack set` or `organization conformance pack`.
    pub kind: String,
    pub name: String,
    /// Where an organisation pack is (stack sets: the administering region, not named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The owner's mark it carries (`custos:managed` or `CustosDeployment`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// Made by an earlier Custos: `--adopt` takes it over.
    pub adoptable: bool,
}

impl Foreign {
    pub fn new(kind: &str, name: &str, region: Option<&str>, owner: &Owner) -> Option<Self> {
        let (marker, adoptable) = match owner {
            Owner::This => return None,
            Owner::Earlier => (Some(LEGACY_MARKER.to_owned()), true),
            Owner::Other(marker) => (marker.clone(), false),
        };
        Some(Self {
            kind: kind.to_owned(),
            name: name.to_owned(),
            region: region.map(str::to_owned),
            marker,
            adoptable,
        })
    }

    /// Why it is not this deployment's.
    pub fn why(&self) -> String {
        match (&self.marker, self.adoptable) {
            (_, true) => format!(
                "made by an earlier Custos (custos:managed={LEGACY_MARKER}); `--adopt` takes it \
                 over"
            ),
            (Some(id), false) => format!("it belongs to deployment {id}"),
            (None, false) => "it carries no Custos owner".to_owned(),
        }
    }

    /// `stack set custos-x`, `organization conformance pack custos-y in eu-west-1`.
    pub fn what(&self) -> String {
        let place = self
            .region
            .as_ref()
            .map(|r| format!(" in {r}"))
            .unwrap_or_default();
        format!("{} {}{place}", self.kind, self.name)
    }

    /// One line for people.
    pub fn line(&self) -> String {
        format!(
            "{}: not managed by this deployment, left alone ({})",
            self.what(),
            self.why()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(adopt: bool) -> Claim {
        Claim {
            deployment_id: "prod".into(),
            adopt,
        }
    }

    #[test]
    fn a_stack_set_is_ours_only_with_our_id() {
        let c = claim(false);
        assert_eq!(c.stack_set(Some("prod")), Owner::This);
        assert_eq!(c.stack_set(Some("true")), Owner::Earlier);
        assert_eq!(c.stack_set(Some("test")), Owner::Other(Some("test".into())));
        assert_eq!(c.stack_set(None), Owner::Other(None));
        // Adoption takes over an earlier Custos's sets, never another deployment's.
        let adopt = claim(true);
        assert_eq!(adopt.stack_set(Some("true")), Owner::This);
        assert_eq!(
            adopt.stack_set(Some("test")),
            Owner::Other(Some("test".into()))
        );
        assert_eq!(adopt.stack_set(None), Owner::Other(None));
    }

    #[test]
    fn a_pack_is_ours_only_with_our_deployment_parameter() {
        let c = claim(false);
        assert_eq!(c.org_pack(Some("h"), Some("prod")), Owner::This);
        assert_eq!(c.org_pack(Some("h"), None), Owner::Earlier);
        assert_eq!(c.org_pack(None, None), Owner::Other(None));
        assert_eq!(
            claim(true).org_pack(Some("h"), Some("test")),
            Owner::Other(Some("test".into()))
        );
        assert_eq!(claim(true).org_pack(Some("h"), None), Owner::This);
    }

    #[test]
    fn each_foreign_object_says_why_it_is_left_alone() {
        let earlier = Foreign::new("stack set", "custos-base", None, &Owner::Earlier).unwrap();
        assert_eq!(
            earlier.line(),
            "stack set custos-base: not managed by this deployment, left alone (made by an \
             earlier Custos (custos:managed=true); `--adopt` takes it over)"
        );
        let other = Foreign::new(
            "organization conformance pack",
            "custos-x",
            Some("eu-west-1"),
            &Owner::Other(None),
        )
        .unwrap();
        assert_eq!(
            other.line(),
            "organization conformance pack custos-x in eu-west-1: not managed by this \
             deployment, left alone (it carries no Custos owner)"
        );
        assert_eq!(Foreign::new("stack set", "x", None, &Owner::This), None);
    }
}
