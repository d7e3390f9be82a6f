//! What a value in a kubeadm or kubelet configuration document must be, so
//! a patch kubeadm would refuse is a plan-time error instead of a failed
//! `kubeadm init` on a node.
//!
//! Two sources, both kubeadm 1.35's: the strict JSON decoding of the Go
//! types (a string where an int32 goes fails, as does `1y` for a duration),
//! and `kubeadm config validate`'s value rules (validation.go: absolute
//! paths, pull policies, image repositories, certificate SANs, feature
//! gates). The real kubeadm judges every rule in `kubeadm_rules_tests`.

use std::net::IpAddr;

use yaml_rust2::Yaml as Yaml12;

/// A rule for one field's value. `null` always passes: in a patch it
/// removes the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Go `bool`.
    Bool,
    /// Go `int32`/`int64`: a YAML integer, not a quoted number.
    Int,
    /// Go `float64`: any YAML number.
    Float,
    /// Go `string`.
    Str,
    /// `metav1.Duration`: a Go duration string such as `90s` or `1h30m`.
    Duration,
    /// `[]string`.
    StrList,
    /// `map[string]string`.
    StrMap,
    /// `map[string]bool`.
    BoolMap,
    /// `map[string][]string`.
    StrListMap,
    /// Any list (its items are not checked here).
    List,
    /// Any mapping (its fields are not checked here).
    Object,
    /// An absolute path (kubeadm's `ValidateAbsolutePath`).
    AbsolutePath,
    /// JoinConfiguration `caCertPath`: absolute and ending in `.crt`.
    CaCertPath,
    /// `Always`, `IfNotPresent` or `Never`.
    PullPolicy,
    /// A registry and path that make an image reference with `/name:tag`.
    ImageRepository,
    /// Certificate SANs: IP addresses, DNS names or `*.` wildcard names.
    CertSans,
    /// kubeadm's own feature gates (not the components'), by version.
    FeatureGates,
    /// The CRI endpoint: a `unix://` URL.
    CriSocket,
    /// Preflight check names; `all` stands alone.
    IgnorePreflightErrors,
}

/// Why a value breaks its rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    pub summary: &'static str,
    pub detail: String,
}

fn broken(summary: &'static str, detail: impl Into<String>) -> Result<(), Broken> {
    Err(Broken { summary, detail: detail.into() })
}

fn wrong_type(expected: &str, value: &Yaml12) -> Result<(), Broken> {
    broken("Wrong value type", format!("must be {expected}, not {}.", describe(value)))
}

fn describe(value: &Yaml12) -> &'static str {
    match value {
        Yaml12::String(_) => "a string (quoted numbers and booleans are strings)",
        Yaml12::Integer(_) => "an integer",
        Yaml12::Real(_) => "a number",
        Yaml12::Boolean(_) => "a boolean",
        Yaml12::Array(_) => "a list",
        Yaml12::Hash(_) => "a mapping",
        Yaml12::Null | Yaml12::BadValue | Yaml12::Alias(_) => "a value kubeadm cannot read",
    }
}

impl Rule {
    /// Checks `value`; `kubernetes_minor` is the cluster's minor version,
    /// when known, for the rules that depend on it.
    pub fn check(self, value: &Yaml12, kubernetes_minor: Option<u32>) -> Result<(), Broken> {
        if value.is_null() {
            return Ok(());
        }
        match self {
            Rule::Bool => expect(value.as_bool().is_some(), "true or false", value),
            Rule::Int => expect(value.as_i64().is_some(), "an integer", value),
            Rule::Float => expect(matches!(value, Yaml12::Integer(_) | Yaml12::Real(_)), "a number", value),
            Rule::Str => expect(value.as_str().is_some(), "a string", value),
            Rule::Duration => check_duration(value),
            Rule::StrList => each_item(value, "a list of strings", |item| item.as_str().is_some()),
            Rule::StrMap => each_value(value, "a mapping of strings", |v| v.as_str().is_some()),
            Rule::BoolMap => each_value(value, "a mapping of booleans", |v| v.as_bool().is_some()),
            Rule::StrListMap => each_value(value, "a mapping of string lists", |v| {
                v.as_vec().is_some_and(|items| items.iter().all(|i| i.as_str().is_some()))
            }),
            Rule::List => expect(value.as_vec().is_some(), "a list", value),
            Rule::Object => expect(value.as_hash().is_some(), "a mapping", value),
            Rule::AbsolutePath => with_str(value, check_absolute_path),
            Rule::CaCertPath => with_str(value, check_ca_cert_path),
            Rule::PullPolicy => with_str(value, check_pull_policy),
            Rule::ImageRepository => with_str(value, check_image_repository),
            Rule::CertSans => check_cert_sans(value),
            Rule::FeatureGates => check_feature_gates(value, kubernetes_minor),
            Rule::CriSocket => with_str(value, check_cri_socket),
            Rule::IgnorePreflightErrors => check_ignore_preflight_errors(value),
        }
    }
}

fn expect(ok: bool, expected: &str, value: &Yaml12) -> Result<(), Broken> {
    if ok { Ok(()) } else { wrong_type(expected, value) }
}

fn with_str(value: &Yaml12, rule: fn(&str) -> Result<(), Broken>) -> Result<(), Broken> {
    match value.as_str() {
        Some(text) => rule(text),
        None => wrong_type("a string", value),
    }
}

fn each_item(value: &Yaml12, expected: &str, ok: impl Fn(&Yaml12) -> bool) -> Result<(), Broken> {
    expect(value.as_vec().is_some_and(|items| items.iter().all(ok)), expected, value)
}

fn each_value(value: &Yaml12, expected: &str, ok: impl Fn(&Yaml12) -> bool) -> Result<(), Broken> {
    let fits = value.as_hash().is_some_and(|h| h.iter().all(|(k, v)| k.as_str().is_some() && (v.is_null() || ok(v))));
    expect(fits, expected, value)
}

fn check_duration(value: &Yaml12) -> Result<(), Broken> {
    match value.as_str() {
        Some(text) if is_go_duration(text) => Ok(()),
        Some(text) => broken(
            "Invalid duration",
            format!(
                "{text:?} is not a Go duration: a number and a unit (ns, us, ms, s, m, h) per part, e.g. \"90s\" or \"8760h\"."
            ),
        ),
        None => wrong_type("a duration string such as \"90s\"", value),
    }
}

/// Go's `time.ParseDuration`: an optional sign, then one or more
/// `NUMBER UNIT` parts (the number may have a fraction), or a bare `0`.
pub fn is_go_duration(text: &str) -> bool {
    go_duration_seconds(text).is_some()
}

/// A Go `time.Duration` string (`8760h`, `1h30m`, `1.5h`, `300ms`) in
/// seconds; `None` when Go would refuse it.
pub fn go_duration_seconds(text: &str) -> Option<f64> {
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, text.strip_prefix('+').unwrap_or(text)),
    };
    if body == "0" {
        return Some(0.0);
    }
    let mut rest = body;
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        // "ms" before "m", "ns"/"us" before "s": the list is ordered so.
        let units = [
            ("ns", 1e-9),
            ("us", 1e-6),
            ("µs", 1e-6),
            ("μs", 1e-6),
            ("ms", 1e-3),
            ("s", 1.0),
            ("m", 60.0),
            ("h", 3600.0),
        ];
        let (unit, scale) = units.into_iter().find(|(u, _)| after.starts_with(u))?;
        let value: f64 =
            if number.starts_with('.') { format!("0{number}").parse().ok()? } else { number.parse().ok()? };
        total += value * scale;
        rest = after.get(unit.len()..)?;
    }
    Some(sign * total)
}

fn check_absolute_path(path: &str) -> Result<(), Broken> {
    if path.starts_with('/') {
        Ok(())
    } else {
        broken("Path is not absolute", format!("{path:?} must be an absolute path."))
    }
}

fn check_ca_cert_path(path: &str) -> Result<(), Broken> {
    if path.starts_with('/') && path.ends_with(".crt") {
        Ok(())
    } else {
        broken("Invalid CA certificate path", format!("{path:?} must be an absolute path ending in \".crt\"."))
    }
}

fn check_pull_policy(policy: &str) -> Result<(), Broken> {
    if ["Always", "IfNotPresent", "Never"].contains(&policy) {
        Ok(())
    } else {
        broken("Invalid pull policy", format!("{policy:?} must be Always, IfNotPresent or Never."))
    }
}

/// The repository part of the distribution reference grammar kubeadm
/// matches `REPOSITORY/name:tag` against: an optional registry host (with
/// a port) and lowercase path components joined by `.`, `_`, `__` or `-`.
fn check_image_repository(repository: &str) -> Result<(), Broken> {
    let mut parts = repository.split('/');
    let first = parts.next().unwrap_or_default();
    if (is_registry_host(first) || is_path_component(first)) && parts.all(is_path_component) {
        Ok(())
    } else {
        broken(
            "Invalid image repository",
            format!(
                "{repository:?} must be a registry and path such as \"registry.k8s.io\" or \"registry.lan:5000/k8s\" (lowercase path)."
            ),
        )
    }
}

fn is_registry_host(host: &str) -> bool {
    let (name, port) = host.split_once(':').map_or((host, None), |(n, p)| (n, Some(p)));
    let name_ok = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    name_ok && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_path_component(component: &str) -> bool {
    let mut seen_alnum = false;
    let mut separator = String::new();
    for c in component.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            let separator_ok =
                matches!(separator.as_str(), "" | "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
            if !separator_ok {
                return false;
            }
            separator.clear();
            seen_alnum = true;
        } else if matches!(c, '.' | '_' | '-') && seen_alnum {
            separator.push(c);
        } else {
            return false;
        }
    }
    seen_alnum && separator.is_empty()
}

fn check_cert_sans(value: &Yaml12) -> Result<(), Broken> {
    let Some(items) = value.as_vec() else { return wrong_type("a list of names and addresses", value) };
    for item in items {
        let Some(name) = item.as_str() else { return wrong_type("a list of strings", value) };
        if !is_cert_san(name) {
            return broken(
                "Invalid certificate SAN",
                format!("{name:?} is not an IP address, a lowercase DNS name or a \"*.\" wildcard DNS name."),
            );
        }
    }
    Ok(())
}

/// What kubeadm's `ValidateCertSANs` accepts.
pub fn is_cert_san(name: &str) -> bool {
    name.parse::<IpAddr>().is_ok() || is_dns_subdomain(name) || name.strip_prefix("*.").is_some_and(is_dns_subdomain)
}

/// A lowercase RFC 1123 subdomain, as Kubernetes requires of names.
pub fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// kubeadm's own feature gates per minor version (cmd/kubeadm/app/features
/// of that release). Minors not listed are not checked.
fn feature_gates(minor: u32) -> Option<&'static [&'static str]> {
    match minor {
        34 => Some(&[
            "PublicKeysECDSA",
            "RootlessControlPlane",
            "WaitForAllControlPlaneComponents",
            "ControlPlaneKubeletLocalMode",
            "NodeLocalCRISocket",
        ]),
        35 => Some(&["PublicKeysECDSA", "RootlessControlPlane", "ControlPlaneKubeletLocalMode", "NodeLocalCRISocket"]),
        _ => None,
    }
}

fn check_feature_gates(value: &Yaml12, kubernetes_minor: Option<u32>) -> Result<(), Broken> {
    each_value(value, "a mapping of feature names to true or false", |v| v.as_bool().is_some())?;
    let (Some(minor), Some(gates)) = (kubernetes_minor, value.as_hash()) else { return Ok(()) };
    let Some(known) = feature_gates(minor) else { return Ok(()) };
    for name in gates.keys().filter_map(Yaml12::as_str) {
        if !known.contains(&name) {
            return broken(
                "Unknown kubeadm feature gate",
                format!(
                    "{name:?} is not a feature gate of kubeadm 1.{minor} ({}). Component feature gates go in the components' extraArgs (feature-gates).",
                    known.join(", ")
                ),
            );
        }
    }
    Ok(())
}

fn check_cri_socket(socket: &str) -> Result<(), Broken> {
    match socket.strip_prefix("unix://") {
        Some(path) if path.starts_with('/') => Ok(()),
        _ => broken(
            "Invalid CRI socket",
            format!(
                "{socket:?} must be a unix:// URL such as \"unix:///var/run/containerd/containerd.sock\" (kubeadm prefixes anything else with unix://, which breaks other schemes)."
            ),
        ),
    }
}

fn check_ignore_preflight_errors(value: &Yaml12) -> Result<(), Broken> {
    each_item(value, "a list of preflight check names", |item| item.as_str().is_some())?;
    let names: Vec<String> =
        value.as_vec().into_iter().flatten().filter_map(Yaml12::as_str).map(str::to_lowercase).collect();
    if names.iter().any(|n| n == "all") && names.iter().any(|n| n != "all") {
        return broken(
            "Invalid preflight ignores",
            "\"all\" must stand alone: kubeadm init and join refuse it beside individual checks.",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Yaml12 {
        yaml_rust2::YamlLoader::load_from_str(text).expect("yaml").remove(0)
    }

    #[test]
    fn go_durations() {
        for ok in ["0", "90s", "1h30m", "1.5h", "300ms", "2us", "-1m", "8760h", "1h0m0s", ".5s"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "1", "1y", "1d", "h", "1.2.3s", "1 h", "+", "1hm", "5M"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
        assert_eq!(go_duration_seconds("8760h"), Some(8760.0 * 3600.0));
        assert_eq!(go_duration_seconds("1h30m"), Some(5400.0));
        assert_eq!(go_duration_seconds(".5s"), Some(0.5));
        assert_eq!(go_duration_seconds("-1m"), Some(-60.0));
    }

    #[test]
    fn image_repositories() {
        for ok in
            ["registry.k8s.io", "registry.lan:5000/k8s", "localhost/k8s", "k8s", "a.b/c_d/e__f/g--h", "10.0.0.1:5000"]
        {
            assert!(check_image_repository(ok).is_ok(), "{ok}");
        }
        for bad in ["Bad Repo", "", "registry.lan/UPPER", "a/", "/a", "reg:port/x", "a/-b", "a/b_", "a/b___c"] {
            let err = check_image_repository(bad).expect_err(bad);
            assert_eq!(err.summary, "Invalid image repository", "{bad}");
            assert!(err.detail.contains(&format!("{bad:?}")), "{bad}: {}", err.detail);
        }
    }

    #[test]
    fn cert_sans_and_names() {
        for ok in ["k8s.home.arpa", "192.168.1.1", "fd00::1", "*.home.arpa", "localhost"] {
            assert!(is_cert_san(ok), "{ok}");
        }
        for bad in ["bad name", "UPPER.example", "*", "*.", "a..b", "-a.b", "a.*.b"] {
            assert!(!is_cert_san(bad), "{bad}");
        }
    }

    /// A refusal of `rule` for `value`: its summary and detail.
    fn refusal(rule: Rule, value: &str) -> (&'static str, String) {
        let err = rule.check(&yaml(value), None).expect_err(value);
        (err.summary, err.detail)
    }

    #[test]
    fn types_follow_go_decoding() {
        assert!(Rule::Int.check(&yaml("50"), None).is_ok());
        assert_eq!(
            refusal(Rule::Int, "\"50\""),
            ("Wrong value type", "must be an integer, not a string (quoted numbers and booleans are strings).".into())
        );
        assert!(Rule::Float.check(&yaml("5"), None).is_ok());
        assert!(refusal(Rule::Bool, "\"true\"").1.contains("not a string"), "a quoted bool is a string");
        assert!(Rule::StrMap.check(&yaml("{a: b}"), None).is_ok());
        for (rule, value) in [(Rule::StrMap, "{a: 1}"), (Rule::StrList, "[a, 1]"), (Rule::Object, "[]")] {
            assert_eq!(refusal(rule, value).0, "Wrong value type", "{value}");
        }
        assert!(Rule::Str.check(&yaml("~"), None).is_ok(), "null removes the field");
    }

    #[test]
    fn feature_gates_by_version() {
        let gate = yaml("{WaitForAllControlPlaneComponents: true}");
        assert!(Rule::FeatureGates.check(&gate, Some(34)).is_ok());
        let err = Rule::FeatureGates.check(&gate, Some(35)).expect_err("gone in 1.35");
        assert!(err.detail.contains("kubeadm 1.35"), "{}", err.detail);
        assert!(Rule::FeatureGates.check(&gate, None).is_ok(), "unknown version: names unchecked");
        let err = Rule::FeatureGates.check(&yaml("{NodeLocalCRISocket: 'yes'}"), Some(35)).expect_err("not a bool");
        assert_eq!(err.summary, "Wrong value type", "{}", err.detail);
    }

    #[test]
    fn sockets_and_preflight() {
        assert!(check_cri_socket("unix:///run/containerd/containerd.sock").is_ok());
        for bad in ["/run/containerd/containerd.sock", "tcp://x:1", "unix://relative"] {
            assert_eq!(check_cri_socket(bad).expect_err(bad).summary, "Invalid CRI socket", "{bad}");
        }
        assert!(Rule::IgnorePreflightErrors.check(&yaml("[all]"), None).is_ok());
        assert!(Rule::IgnorePreflightErrors.check(&yaml("[ImagePull, Swap]"), None).is_ok());
        assert_eq!(refusal(Rule::IgnorePreflightErrors, "[All, Swap]").0, "Invalid preflight ignores");
    }
}
