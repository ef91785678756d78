//! The apply lock: one `apply` or `destroy` of a deployment at a time. It is an item of a
//! DynamoDB table in the administering account, written with a conditional put (which AWS
//! guarantees atomic, unlike a read then a write), holding who took it, on which host, since
//! when, and until when its lease runs: a run that dies holds it only until then, and
//! `deployer unlock ID` removes it by its id. A DynamoDB table name belongs to its account, so
//! nobody outside can claim it first (an S3 bucket name could be). This module is the pure
//! part; the calls are in `aws::lock`.

use chrono::{DateTime, Utc};

/// A lock as the table holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRecord {
    /// Names the lock, for `deployer unlock`.
    pub lock_id: String,
    pub deployment: String,
    /// Who took it: the caller's ARN.
    pub holder: String,
    pub host: String,
    pub since: DateTime<Utc>,
    /// When the lease runs out (renewed while the run goes on).
    pub expires: DateTime<Utc>,
}

impl LockRecord {
    /// Why a run cannot take the lock `self` holds, at `now`.
    pub fn held_message(&self, now: DateTime<Utc>) -> String {
        let left = (self.expires - now).num_minutes().max(0);
        format!(
            "deployment {} is locked by {} on host {} since {} (lock {}, lease for {left} more \
             minutes): another apply or destroy is running; if it is not, `deployer unlock {}` \
             removes the lock",
            self.deployment,
            self.holder,
            self.host,
            self.since.format("%Y-%m-%d %H:%M:%S UTC"),
            self.lock_id,
            self.lock_id
        )
    }
}

/// The key of a deployment's lock item.
pub fn lock_key(deployment: &str) -> String {
    format!("lock#{deployment}")
}

/// The key of a deployment's operation journal: the id of the last StackSets operation started
/// on each stack set, written before the operation is started.
pub fn journal_key(deployment: &str) -> String {
    format!("journal#{deployment}")
}

/// The journal attribute of a stack set.
pub fn journal_attribute(stack_set: &str) -> String {
    format!("op:{stack_set}")
}

/// The host the deployer runs on, for people reading who holds a lock.
pub fn host_name() -> String {
    let from_file = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|text| text.trim().to_owned())
        .filter(|name| !name.is_empty());
    #[expect(
        clippy::disallowed_methods,
        reason = "the edge: where no hostname file exists, the shell's name for the host"
    )]
    let from_env = || {
        std::env::var("HOSTNAME")
            .or_else(|_| std::env::var("COMPUTERNAME"))
            .ok()
    };
    from_file
        .or_else(from_env)
        .unwrap_or_else(|| "an unknown host".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_names_its_holder_host_and_age() {
        let since = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let record = LockRecord {
            lock_id: "0f3c".into(),
            deployment: "prod".into(),
            holder: "arn:aws:iam::111111111111:user/ana".into(),
            host: "build-7".into(),
            since,
            expires: since + chrono::Duration::minutes(15),
        };
        assert_eq!(
            record.held_message(since + chrono::Duration::minutes(5)),
            "deployment prod is locked by arn:aws:iam::111111111111:user/ana on host build-7 \
             since 2026-12-01 10:00:00 UTC (lock 0f3c, lease for 10 more minutes): another apply \
             or destroy is running; if it is not, `deployer unlock 0f3c` removes the lock"
        );
    }

    #[test]
    fn keys_keep_deployments_apart() {
        assert_eq!(lock_key("prod"), "lock#prod");
        assert_ne!(lock_key("prod"), journal_key("prod"));
        assert_eq!(journal_attribute("custos-base"), "op:custos-base");
    }
}
