//! Deep merge of the user's `base` document into the generated one.
//!
//! Rules, applied recursively:
//! - mapping + mapping: merged key by key; the generated keys keep their
//!   order, keys only in `base` follow in `base`'s order;
//! - list + list: the generated items, then `base`'s;
//! - scalar + scalar: `base` wins, except for [`OWNED_KEYS`], where a
//!   different value is an error pointing at the attribute to use;
//! - anything else (list vs mapping, scalar vs list, ...): an error naming
//!   the path.

use super::attributes as attr;
use super::error::CloudInitError;
use crate::yaml::{Mapping, Yaml, push_path_key};

/// A top-level scalar key whose value an attribute decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnedKey {
    /// The cloud-config key.
    pub key: &'static str,
    /// The resource attribute that sets it.
    pub attribute: &'static str,
}

/// Top-level keys the resource owns. `base` may repeat them with the same
/// value, but not change them. (When the generated document does not set
/// one, e.g. `manage_etc_hosts` without `hosts` or `locale` unset, `base`
/// may set it freely.)
pub const OWNED_KEYS: &[OwnedKey] = &[
    OwnedKey { key: "hostname", attribute: attr::HOSTNAME },
    OwnedKey { key: "fqdn", attribute: attr::FQDN },
    OwnedKey { key: "timezone", attribute: attr::TIMEZONE },
    OwnedKey { key: "locale", attribute: attr::LOCALE },
    OwnedKey { key: "manage_etc_hosts", attribute: attr::HOSTS },
];

/// Merges `base` into `generated` (see the module docs).
///
/// # Errors
/// [`CloudInitError::OwnedKeyConflict`] or [`CloudInitError::MergeTypeMismatch`].
pub fn merge_documents(generated: Mapping, base: Mapping) -> Result<Mapping, CloudInitError> {
    let mut merged = generated;
    merge_into(&mut merged, base, "", true)?;
    Ok(merged)
}

fn merge_into(target: &mut Mapping, base: Mapping, path: &str, top_level: bool) -> Result<(), CloudInitError> {
    for (key, base_value) in base {
        let mut child_path = path.to_owned();
        push_path_key(&mut child_path, &key);
        let Some(existing) = target.get_mut(&key) else {
            target.insert(key, base_value);
            continue;
        };
        match (existing, base_value) {
            (Yaml::Map(ours), Yaml::Map(theirs)) => merge_into(ours, theirs, &child_path, false)?,
            (Yaml::Seq(ours), Yaml::Seq(theirs)) => ours.extend(theirs),
            (ours @ (Yaml::Map(_) | Yaml::Seq(_)), theirs) | (ours, theirs @ (Yaml::Map(_) | Yaml::Seq(_))) => {
                return Err(CloudInitError::MergeTypeMismatch {
                    path: child_path,
                    generated: ours.kind().to_owned(),
                    base: theirs.kind().to_owned(),
                });
            }
            (ours, theirs) => {
                if *ours == theirs {
                    continue;
                }
                let owner = OWNED_KEYS.iter().find(|o| top_level && o.key == key);
                if let Some(owner) = owner {
                    return Err(CloudInitError::OwnedKeyConflict {
                        path: child_path,
                        attribute: owner.attribute.to_owned(),
                    });
                }
                *ours = theirs;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    fn doc(text: &str) -> Mapping {
        match parse(text).expect("parses") {
            Some(Yaml::Map(m)) => m,
            other => panic!("not a mapping: {other:?}"),
        }
    }

    #[test]
    fn maps_merge_lists_append_scalars_override() {
        let generated =
            doc("hostname: n1\npackage_update: true\nruncmd: [a, b]\napt:\n  conf: x\n  sources: {k8s: 1}\n");
        let base = doc(
            "extra: 1\nruncmd: [c]\npackage_update: false\napt:\n  sources: {docker: 2}\n  proxy: p\nhostname: n1\nzzz: last\n",
        );
        let merged = merge_documents(generated, base).expect("merges");
        let expected = doc("hostname: n1\npackage_update: false\nruncmd: [a, b, c]\n\
             apt:\n  conf: x\n  sources: {k8s: 1, docker: 2}\n  proxy: p\nextra: 1\nzzz: last\n");
        assert_eq!(merged, expected);
        // Order: generated keys first, then base-only keys in base's order.
        assert_eq!(merged.keys().collect::<Vec<_>>(), ["hostname", "package_update", "runcmd", "apt", "extra", "zzz"]);
    }

    #[test]
    fn owned_keys_cannot_change() {
        let generated = doc("hostname: n1\ntimezone: Etc/UTC\n");
        let err = merge_documents(generated.clone(), doc("timezone: Europe/Berlin\n")).expect_err("owned");
        assert_eq!(err, CloudInitError::OwnedKeyConflict { path: "timezone".into(), attribute: "timezone".into() });
        assert!(err.to_string().contains("use the `timezone` attribute"), "{err}");
        // Same value is fine; owned only at the top level.
        merge_documents(generated.clone(), doc("timezone: Etc/UTC\nx:\n  timezone: other\n")).expect("same value");
        let generated = doc("manage_etc_hosts: false\n");
        let err = merge_documents(generated, doc("manage_etc_hosts: true\n")).expect_err("owned");
        assert!(matches!(err, CloudInitError::OwnedKeyConflict { ref attribute, .. } if attribute == "hosts"));
    }

    #[test]
    fn type_mismatch_names_the_path() {
        let generated = doc("runcmd: [a]\napt:\n  sources: {a: 1}\n");
        let err = merge_documents(generated.clone(), doc("runcmd: echo hi\n")).expect_err("mismatch");
        assert_eq!(
            err,
            CloudInitError::MergeTypeMismatch {
                path: "runcmd".into(),
                generated: "a list".into(),
                base: "a string".into()
            }
        );
        let err = merge_documents(generated, doc("apt:\n  sources: [x]\n")).expect_err("mismatch");
        assert!(matches!(err, CloudInitError::MergeTypeMismatch { ref path, .. } if path == "apt.sources"), "{err:?}");
    }
}
