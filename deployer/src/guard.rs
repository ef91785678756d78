//! The deletion guard: a plan that deletes anything says so first, and `apply` deletes only
//! when told to (`--allow-delete`, or a saved plan that lists the deletions), and deletes many
//! (more than a share of the managed stack instances, or whole stack sets and packs) only with
//! `--allow-mass-delete`. Pure.

use serde::Serialize;

use crate::observed::Observed;
use crate::plan::Change;

/// What a plan deletes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Deletions {
    /// Stack instances deleted (repairs, which create them again, are not counted).
    pub instances: usize,
    /// Stack instances of the deployment's stack sets before the run.
    pub managed: usize,
    /// Whole stack sets deleted.
    pub stack_sets: Vec<String>,
    /// Organisation packs deleted, as `name in region`.
    pub org_packs: Vec<String>,
}

impl Deletions {
    pub fn of(changes: &[Change], observed: &Observed) -> Self {
        let mut out = Self {
            managed: observed
                .stack_sets
                .values()
                .map(|s| s.instances.len())
                .sum(),
            ..Self::default()
        };
        for change in changes {
            match change {
                Change::DeleteInstances(c) => out.instances += c.instances.len(),
                Change::DeleteStackSet { name } => out.stack_sets.push(name.clone()),
                Change::DeleteOrganizationPack { name, region } => {
                    out.org_packs.push(format!("{name} in {region}"));
                }
                _ => {}
            }
        }
        out
    }

    pub fn any(&self) -> bool {
        self.instances > 0 || !self.stack_sets.is_empty() || !self.org_packs.is_empty()
    }

    /// The share of the managed stack instances deleted, in percent (rounded up).
    pub fn percentage(&self) -> usize {
        if self.managed == 0 {
            return if self.instances == 0 { 0 } else { 100 };
        }
        (self.instances * 100).div_ceil(self.managed)
    }

    /// The line a plan that deletes starts with.
    pub fn warning(&self) -> Option<String> {
        if !self.any() {
            return None;
        }
        let mut parts = Vec::new();
        if self.instances > 0 {
            parts.push(format!(
                "{} of {} stack instances ({}%)",
                self.instances,
                self.managed,
                self.percentage()
            ));
        }
        if !self.stack_sets.is_empty() {
            parts.push(format!("the stack sets {}", self.stack_sets.join(", ")));
        }
        if !self.org_packs.is_empty() {
            parts.push(format!(
                "the organization packs {}",
                self.org_packs.join(", ")
            ));
        }
        Some(format!("THIS PLAN DELETES {}", parts.join(", ")))
    }
}

/// How much deleting this run is allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allowed {
    /// `--allow-delete`, or a saved plan that lists the deletions.
    pub delete: bool,
    /// `--allow-mass-delete`.
    pub mass_delete: bool,
}

/// From `deployer.toml`: above these, deleting needs `--allow-mass-delete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Percentage of the managed stack instances.
    pub percentage: u32,
    /// Whole stack sets (and organisation packs).
    pub stack_sets: u32,
}

/// Why the run must not go ahead, if it must not.
pub fn refusal(deletions: &Deletions, allowed: Allowed, limits: Thresholds) -> Option<String> {
    let warning = deletions.warning()?;
    if !allowed.delete {
        return Some(format!(
            "{}: refused without --allow-delete (or a saved plan that lists these deletions)",
            warning.to_lowercase()
        ));
    }
    let mut mass = Vec::new();
    let share = u32::try_from(deletions.percentage()).unwrap_or(u32::MAX);
    if share > limits.percentage {
        mass.push(format!(
            "{} of {} managed stack instances is {share}%, more than mass-delete-percentage = {}",
            deletions.instances, deletions.managed, limits.percentage
        ));
    }
    let whole = deletions.stack_sets.len() + deletions.org_packs.len();
    if u32::try_from(whole).unwrap_or(u32::MAX) > limits.stack_sets {
        mass.push(format!(
            "{whole} whole stack sets or packs is more than mass-delete-stack-sets = {}",
            limits.stack_sets
        ));
    }
    if !mass.is_empty() && !allowed.mass_delete {
        return Some(format!(
            "{}: refused without --allow-mass-delete ({})",
            warning.to_lowercase(),
            mass.join("; ")
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Thresholds = Thresholds {
        percentage: 10,
        stack_sets: 0,
    };

    fn deleting(instances: usize, managed: usize, sets: &[&str]) -> Deletions {
        Deletions {
            instances,
            managed,
            stack_sets: sets.iter().map(|s| (*s).to_owned()).collect(),
            org_packs: Vec::new(),
        }
    }

    const DELETE: Allowed = Allowed {
        delete: true,
        mass_delete: false,
    };

    #[test]
    fn nothing_deleted_needs_no_flag() {
        assert_eq!(
            refusal(&deleting(0, 24, &[]), Allowed::default(), LIMITS),
            None
        );
    }

    #[test]
    fn any_deletion_needs_allow_delete() {
        let d = deleting(2, 24, &[]);
        assert_eq!(
            refusal(&d, Allowed::default(), LIMITS).unwrap(),
            "this plan deletes 2 of 24 stack instances (9%): refused without --allow-delete (or \
             a saved plan that lists these deletions)"
        );
        assert_eq!(
            refusal(&d, DELETE, LIMITS),
            None,
            "9% is not a mass deletion"
        );
    }

    #[test]
    fn three_of_twelve_accounts_is_a_mass_deletion() {
        // Two stack sets (base and a rule) in twelve accounts; three accounts dropped.
        let d = deleting(6, 24, &[]);
        assert_eq!(
            refusal(&d, DELETE, LIMITS).unwrap(),
            "this plan deletes 6 of 24 stack instances (25%): refused without \
             --allow-mass-delete (6 of 24 managed stack instances is 25%, more than \
             mass-delete-percentage = 10)"
        );
        let both = Allowed {
            delete: true,
            mass_delete: true,
        };
        assert_eq!(refusal(&d, both, LIMITS), None);
        let looser = Thresholds {
            percentage: 30,
            stack_sets: 0,
        };
        assert_eq!(refusal(&d, DELETE, looser), None);
    }

    #[test]
    fn a_whole_stack_set_is_a_mass_deletion() {
        let d = deleting(2, 24, &["custos-rule-b"]);
        let refused = refusal(&d, DELETE, LIMITS).unwrap();
        assert!(
            refused
                .ends_with("(1 whole stack sets or packs is more than mass-delete-stack-sets = 0)"),
            "{refused}"
        );
    }

    #[test]
    fn the_warning_names_what_goes() {
        let d = deleting(2, 4, &["custos-rule-b"]);
        assert_eq!(
            d.warning().unwrap(),
            "THIS PLAN DELETES 2 of 4 stack instances (50%), the stack sets custos-rule-b"
        );
        assert_eq!(deleting(0, 4, &[]).warning(), None);
    }
}
