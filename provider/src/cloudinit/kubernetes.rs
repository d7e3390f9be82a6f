//! Kubernetes version handling: parsing, the pkgs.k8s.io repository of a
//! minor, the apt pin of a patch, and kubeadm's pause image per minor.

use super::error::CloudInitError;
use std::fmt;

/// The packages installed from pkgs.k8s.io (and held).
pub const KUBERNETES_PACKAGES: [&str; 3] = ["kubelet", "kubeadm", "kubectl"];

/// Packages that only exist in pkgs.k8s.io, so they cannot go into
/// cloud-init's `packages` (installed before the repository is added).
pub const PKGS_K8S_IO_ONLY: [&str; 5] = ["kubelet", "kubeadm", "kubectl", "cri-tools", "kubernetes-cni"];

/// Oldest minor pkgs.k8s.io publishes a repository for.
pub const MIN_MINOR: u32 = 24;

/// Where the armored release key is stored after `gpg --dearmor`.
pub const KEYRING_PATH: &str = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg";

/// One row of [`PAUSE_IMAGES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PauseImage {
    /// Kubernetes minor (the `35` of `1.35`).
    pub minor: u32,
    /// The image kubeadm of that minor pulls and expects the runtime to use.
    pub image: &'static str,
}

/// kubeadm's pause image per minor: `PauseVersion` in
/// `cmd/kubeadm/app/constants/constants.go` of each release branch (the
/// image `kubeadm config images list` prints). A runtime using a different
/// sandbox image makes kubeadm warn and pull a second image.
///
/// | minor | image                          |
/// |-------|--------------------------------|
/// | 1.31  | registry.k8s.io/pause:3.10     |
/// | 1.32  | registry.k8s.io/pause:3.10     |
/// | 1.33  | registry.k8s.io/pause:3.10     |
/// | 1.34  | registry.k8s.io/pause:3.10.1   |
/// | 1.35  | registry.k8s.io/pause:3.10.1   |
/// | 1.36  | registry.k8s.io/pause:3.10.2   |
///
/// To support a new minor, add its row here (and a test); until then users
/// set `container_runtime.sandbox_image` themselves.
pub const PAUSE_IMAGES: &[PauseImage] = &[
    PauseImage { minor: 31, image: "registry.k8s.io/pause:3.10" },
    PauseImage { minor: 32, image: "registry.k8s.io/pause:3.10" },
    PauseImage { minor: 33, image: "registry.k8s.io/pause:3.10" },
    PauseImage { minor: 34, image: "registry.k8s.io/pause:3.10.1" },
    PauseImage { minor: 35, image: "registry.k8s.io/pause:3.10.1" },
    PauseImage { minor: 36, image: "registry.k8s.io/pause:3.10.2" },
];

/// A parsed `kubernetes_version`: `1.<minor>` or `1.<minor>.<patch>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubernetesVersion {
    /// The minor version.
    pub minor: u32,
    /// The patch version, when pinned.
    pub patch: Option<u32>,
}

impl KubernetesVersion {
    /// Parses `1.<minor>` or `1.<minor>.<patch>` (no `v`, no leading zeros,
    /// no wildcards).
    ///
    /// # Errors
    /// [`CloudInitError::InvalidKubernetesVersion`] saying which rule failed.
    pub fn parse(value: &str) -> Result<Self, CloudInitError> {
        let err = |reason: &str| CloudInitError::InvalidKubernetesVersion {
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        if value.starts_with(['v', 'V']) {
            return Err(err("drop the leading \"v\""));
        }
        let parts: Vec<&str> = value.split('.').collect();
        let (&[major, minor] | &[major, minor, _]) = parts.as_slice() else {
            return Err(err("expected two or three dot-separated numbers"));
        };
        let number = |part: &str| -> Result<u32, CloudInitError> {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(&format!("{part:?} is not a number")));
            }
            // "1.035" would name a repository that does not exist.
            if part.len() > 1 && part.starts_with('0') {
                return Err(err(&format!("{part:?} has a leading zero")));
            }
            part.parse().map_err(|_| err(&format!("{part:?} is too large")))
        };
        if number(major)? != 1 {
            return Err(err("only Kubernetes 1.x exists"));
        }
        let minor = number(minor)?;
        if minor < MIN_MINOR {
            return Err(err(&format!("pkgs.k8s.io has no repository before 1.{MIN_MINOR}")));
        }
        let patch = match parts.get(2) {
            Some(p) => Some(number(p)?),
            None => None,
        };
        Ok(Self { minor, patch })
    }

    /// `1.<minor>`.
    #[must_use]
    pub fn minor_version(&self) -> String {
        format!("1.{}", self.minor)
    }

    /// The apt repository of the minor, e.g. `https://pkgs.k8s.io/core:/stable:/v1.35/deb/`.
    #[must_use]
    pub fn apt_repository_url(&self) -> String {
        format!("https://pkgs.k8s.io/core:/stable:/v1.{}/deb/", self.minor)
    }

    /// The repository's signing key.
    #[must_use]
    pub fn release_key_url(&self) -> String {
        format!("{}Release.key", self.apt_repository_url())
    }

    /// The one-line apt source, signed by [`KEYRING_PATH`]. The repository
    /// is flat, hence the suite `/` and no component.
    #[must_use]
    pub fn apt_source_line(&self) -> String {
        format!("deb [signed-by={KEYRING_PATH}] {} /\n", self.apt_repository_url())
    }

    /// apt `Pin: version` value for a pinned patch, e.g. `1.35.2-*`: the
    /// glob matches whatever package revision pkgs.k8s.io built.
    #[must_use]
    pub fn apt_pin_version(&self) -> Option<String> {
        self.patch.map(|p| format!("1.{}.{p}-*", self.minor))
    }

    /// The apt preferences file pinning [`KUBERNETES_PACKAGES`] to the patch
    /// (priority above 1000 so apt also picks it over a newer patch).
    #[must_use]
    pub fn apt_preferences(&self) -> Option<String> {
        self.apt_pin_version()
            .map(|pin| format!("Package: {}\nPin: version {pin}\nPin-Priority: 1001\n", KUBERNETES_PACKAGES.join(" ")))
    }

    /// kubeadm's pause image for this minor, from [`PAUSE_IMAGES`].
    #[must_use]
    pub fn default_pause_image(&self) -> Option<&'static str> {
        PAUSE_IMAGES.iter().find(|row| row.minor == self.minor).map(|row| row.image)
    }

    /// `explicit` when given, else [`Self::default_pause_image`].
    ///
    /// # Errors
    /// [`CloudInitError::UnknownPauseImage`] when neither exists.
    pub fn sandbox_image(&self, explicit: Option<&str>) -> Result<String, CloudInitError> {
        if let Some(image) = explicit {
            return Ok(image.to_owned());
        }
        self.default_pause_image().map(str::to_owned).ok_or_else(|| CloudInitError::UnknownPauseImage {
            minor: self.minor_version(),
            known: PAUSE_IMAGES.iter().map(|r| format!("1.{}", r.minor)).collect::<Vec<_>>().join(", "),
        })
    }
}

impl fmt::Display for KubernetesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "1.{}.{p}", self.minor),
            None => write!(f, "1.{}", self.minor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minor_and_patch() {
        assert_eq!(KubernetesVersion::parse("1.35").expect("ok"), KubernetesVersion { minor: 35, patch: None });
        assert_eq!(KubernetesVersion::parse("1.35.2").expect("ok"), KubernetesVersion { minor: 35, patch: Some(2) });
        assert_eq!(KubernetesVersion::parse("1.35.0").expect("ok").to_string(), "1.35.0");
        assert_eq!(KubernetesVersion::parse("1.100").expect("ok").minor, 100);
    }

    #[test]
    fn rejects_other_spellings() {
        for bad in [
            "v1.35",
            "1.35.x",
            "1",
            "1.",
            "1.35.",
            "2.0",
            "1.35.2.1",
            "1.035",
            "1.35.02",
            " 1.35",
            "1.35-rc.1",
            "",
            "1.23",
            "1.99999999999",
        ] {
            let err = KubernetesVersion::parse(bad).expect_err(bad);
            assert!(matches!(err, CloudInitError::InvalidKubernetesVersion { .. }), "{bad}: {err:?}");
            assert!(err.to_string().starts_with("kubernetes_version:"), "{err}");
        }
        let err = KubernetesVersion::parse("v1.35").expect_err("v");
        assert!(err.to_string().contains("leading \"v\""), "{err}");
    }

    #[test]
    fn repository_and_pin() {
        let v = KubernetesVersion::parse("1.35.2").expect("ok");
        assert_eq!(v.apt_repository_url(), "https://pkgs.k8s.io/core:/stable:/v1.35/deb/");
        assert_eq!(v.release_key_url(), "https://pkgs.k8s.io/core:/stable:/v1.35/deb/Release.key");
        assert_eq!(
            v.apt_source_line(),
            "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.35/deb/ /\n"
        );
        assert_eq!(v.apt_pin_version().as_deref(), Some("1.35.2-*"));
        assert_eq!(
            v.apt_preferences().as_deref(),
            Some("Package: kubelet kubeadm kubectl\nPin: version 1.35.2-*\nPin-Priority: 1001\n")
        );
        assert_eq!(KubernetesVersion::parse("1.35").expect("ok").apt_preferences(), None);
    }

    #[test]
    fn pause_image_table() {
        let image = |v: &str| KubernetesVersion::parse(v).expect("ok").default_pause_image();
        assert_eq!(image("1.31"), Some("registry.k8s.io/pause:3.10"));
        assert_eq!(image("1.32.4"), Some("registry.k8s.io/pause:3.10"));
        assert_eq!(image("1.33"), Some("registry.k8s.io/pause:3.10"));
        assert_eq!(image("1.34"), Some("registry.k8s.io/pause:3.10.1"));
        assert_eq!(image("1.35.2"), Some("registry.k8s.io/pause:3.10.1"));
        assert_eq!(image("1.36.3"), Some("registry.k8s.io/pause:3.10.2"));
        assert_eq!(image("1.30"), None);
        // Sorted and unique, so the table reads as a table.
        assert!(PAUSE_IMAGES.windows(2).all(|w| w[0].minor < w[1].minor));
    }

    #[test]
    fn unknown_minor_needs_explicit_sandbox_image() {
        let v = KubernetesVersion::parse("1.99").expect("ok");
        let err = v.sandbox_image(None).expect_err("unknown");
        assert!(matches!(err, CloudInitError::UnknownPauseImage { ref minor, .. } if minor == "1.99"));
        assert!(err.to_string().contains("set container_runtime.sandbox_image"), "{err}");
        assert_eq!(v.sandbox_image(Some("example.org/pause:9")).expect("explicit"), "example.org/pause:9");
        let v = KubernetesVersion::parse("1.35").expect("ok");
        assert_eq!(v.sandbox_image(Some("mirror/pause:3.10.1")).expect("explicit wins"), "mirror/pause:3.10.1");
    }
}
