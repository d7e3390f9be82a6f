//! What a `kubernetes_version` change asks for, by kubeadm's rules: any
//! patch upgrade within a minor, one minor at a time, never down.
//!
//! kubeadm refuses to skip a minor (`kubeadm upgrade apply` checks the
//! version skew policy: the control plane moves one minor per upgrade, and
//! kubelets may lag but never lead), and it has no downgrade.

use super::config::parse_version;

/// A `kubernetes_version` change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionChange {
    /// The same release.
    Same,
    /// A newer patch of the same minor.
    Patch,
    /// The next minor (any patch of it).
    Minor,
}

/// Why a `kubernetes_version` change cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionChangeError {
    /// One of the versions is not `1.MINOR.PATCH`.
    #[error("{0:?} is not an exact release such as \"1.35.0\"")]
    Unparsable(String),
    /// Older than what the cluster runs.
    #[error("{to} is older than {from}, which the cluster runs: kubeadm cannot downgrade a cluster")]
    Downgrade {
        /// The cluster's version.
        from: String,
        /// The requested one.
        to: String,
    },
    /// More than one minor ahead.
    #[error(
        "{to} is more than one minor ahead of {from}: kubeadm upgrades the control plane one minor at a time (the Kubernetes version skew policy); upgrade to 1.{next}.x first"
    )]
    SkipsMinor {
        /// The cluster's version.
        from: String,
        /// The requested one.
        to: String,
        /// The minor to go to first.
        next: u32,
    },
    /// Another major version.
    #[error("{to} is not a Kubernetes 1.x release")]
    Major {
        /// The requested one.
        to: String,
    },
}

impl VersionChange {
    /// The change from `from` (what the cluster runs) to `to`.
    pub fn between(from: &str, to: &str) -> Result<Self, VersionChangeError> {
        let parse = |v: &str| parse_version(v).ok_or_else(|| VersionChangeError::Unparsable(v.to_owned()));
        let (old, new) = (parse(from)?, parse(to)?);
        if new.0 != 1 || old.0 != 1 {
            return Err(VersionChangeError::Major { to: to.to_owned() });
        }
        let (from, to) = (from.to_owned(), to.to_owned());
        match (new.1.cmp(&old.1), new.2.cmp(&old.2)) {
            (std::cmp::Ordering::Less, _) | (std::cmp::Ordering::Equal, std::cmp::Ordering::Less) => {
                Err(VersionChangeError::Downgrade { from, to })
            }
            (std::cmp::Ordering::Equal, std::cmp::Ordering::Equal) => Ok(VersionChange::Same),
            (std::cmp::Ordering::Equal, std::cmp::Ordering::Greater) => Ok(VersionChange::Patch),
            (std::cmp::Ordering::Greater, _) if new.1 == old.1 + 1 => Ok(VersionChange::Minor),
            (std::cmp::Ordering::Greater, _) => Err(VersionChangeError::SkipsMinor { from, to, next: old.1 + 1 }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_in_any_size_minors_one_at_a_time_never_down() {
        assert_eq!(VersionChange::between("1.34.4", "1.34.4"), Ok(VersionChange::Same));
        assert_eq!(VersionChange::between("1.34.1", "1.34.9"), Ok(VersionChange::Patch));
        assert_eq!(VersionChange::between("1.34.4", "1.35.0"), Ok(VersionChange::Minor));
        assert_eq!(VersionChange::between("1.34.9", "1.35.2"), Ok(VersionChange::Minor));
        let skip = VersionChange::between("1.33.2", "1.35.0").expect_err("a skipped minor");
        assert!(skip.to_string().contains("upgrade to 1.34.x first") && skip.to_string().contains("skew"), "{skip}");
        assert!(matches!(VersionChange::between("1.35.1", "1.35.0"), Err(VersionChangeError::Downgrade { .. })));
        assert!(matches!(VersionChange::between("1.35.0", "1.34.9"), Err(VersionChangeError::Downgrade { .. })));
        assert!(matches!(VersionChange::between("1.35.0", "2.0.0"), Err(VersionChangeError::Major { .. })));
        assert!(matches!(VersionChange::between("1.35", "1.35.1"), Err(VersionChangeError::Unparsable(_))));
    }
}
