//! The user's kubeadm configuration patches: checked at plan time against
//! what kubeadm 1.35's strict decoding and `kubeadm config validate` accept
//! (field names, value types, and the value rules of its validation), then
//! deep-merged into the documents `config` renders: mappings merge key by
//! key, lists and scalars replace, and `null` removes a key.
//!
//! Patches are read with yaml-rust2 (YAML 1.2), checked in that form, and
//! converted by `from_yaml12` before they are merged.

use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml as Yaml12, YamlLoader};

use super::field_rules::Rule;
use super::kubelet_fields::KUBELET_FIELDS;
use crate::yaml::{self, Yaml};

/// The kubeadm configuration API the patches are merged into.
pub const KUBEADM_API_VERSION: &str = "kubeadm.k8s.io/v1beta4";
pub const KUBELET_API_VERSION: &str = "kubelet.config.k8s.io/v1beta1";

/// The user's patches (YAML or JSON text), one per document kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigPatches {
    pub init_configuration: Option<String>,
    pub cluster_configuration: Option<String>,
    pub join_configuration: Option<String>,
    pub kubelet_configuration: Option<String>,
    pub upgrade_configuration: Option<String>,
}

/// A patch that cannot be applied, for a plan-time error on its attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchProblem {
    /// The patch attribute: `init_configuration`, `cluster_configuration`,
    /// `join_configuration`, `kubelet_configuration` or
    /// `upgrade_configuration`.
    pub field: &'static str,
    pub summary: String,
    pub detail: String,
}

impl std::fmt::Display for PatchProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.field, self.summary, self.detail)
    }
}

/// Checks every patch; an empty list means all can be applied.
/// `kubernetes_minor` selects the feature gates kubeadm knows (`None`: the
/// version is not known yet, so gate names are not checked).
pub fn validate_patches(p: &ConfigPatches, kubernetes_minor: Option<u32>) -> Vec<PatchProblem> {
    let mut problems = Vec::new();
    for (shape, text) in [
        (&INIT, &p.init_configuration),
        (&CLUSTER, &p.cluster_configuration),
        (&JOIN, &p.join_configuration),
        (&KUBELET, &p.kubelet_configuration),
        (&UPGRADE, &p.upgrade_configuration),
    ] {
        if let Some(text) = text {
            if let Err(mut found) = parse_patch(shape, text, kubernetes_minor) {
                problems.append(&mut found);
            }
        }
    }
    problems
}

/// The kube-controller-manager flags (name, value) the cluster patch sets
/// in `controllerManager.extraArgs`, in order; none when it does not parse.
pub fn controller_manager_args(p: &ConfigPatches) -> Vec<(String, String)> {
    let docs = p.cluster_configuration.as_deref().and_then(|text| YamlLoader::load_from_str(text).ok());
    let args = docs.as_ref().and_then(|d| d.first()).and_then(|doc| doc["controllerManager"]["extraArgs"].as_vec());
    args.into_iter()
        .flatten()
        .filter_map(|arg| Some((arg["name"].as_str()?.to_owned(), arg["value"].as_str()?.to_owned())))
        .collect()
}

/// `doc` with the user's patch for its kind merged in.
pub(super) fn apply(
    mut doc: Yaml,
    shape: &Shape,
    patch: Option<&String>,
    kubernetes_minor: Option<u32>,
) -> Result<Yaml, Vec<PatchProblem>> {
    if let Some(text) = patch {
        let patch = parse_patch(shape, text, kubernetes_minor)?;
        merge(&mut doc, &from_yaml12(&patch));
    }
    Ok(doc)
}

/// Deep merge: mappings key by key, anything else replaces, `null` removes.
pub(super) fn merge(base: &mut Yaml, patch: &Yaml) {
    let (Yaml::Map(base), Yaml::Map(patch)) = (base, patch) else { return };
    for (key, value) in patch {
        if *value == Yaml::Null {
            // shift_remove keeps the order of the remaining keys.
            base.shift_remove(key);
            continue;
        }
        match base.get_mut(key) {
            Some(existing @ Yaml::Map(_)) if matches!(value, Yaml::Map(_)) => merge(existing, value),
            Some(existing) => *existing = value.clone(),
            None => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// What a document (or a nested mapping) may contain.
pub(super) struct Shape {
    pub(super) kind: &'static str,
    /// The patch attribute the document's patch comes from.
    attr: &'static str,
    /// Known keys. `None`: the keys of `rules` are the whole list
    /// (KubeletConfiguration, whose fields all have a type rule).
    pub(super) fields: Option<&'static [&'static str]>,
    /// Keys the provider sets, with where their value comes from.
    owned: &'static [(&'static str, &'static str)],
    /// v1beta3 keys that moved, with where to.
    moved: &'static [(&'static str, &'static str)],
    /// Keys that are v1beta4 `[]Arg` lists.
    arg_lists: &'static [&'static str],
    /// What a key's value must be: its JSON type, or a kubeadm value rule.
    rules: &'static [(&'static str, Rule)],
    children: &'static [(&'static str, &'static Shape)],
}

impl Shape {
    const fn nested(fields: &'static [&'static str]) -> Shape {
        Shape {
            kind: "",
            attr: "",
            fields: Some(fields),
            owned: &[],
            moved: &[],
            arg_lists: &[],
            rules: &[],
            children: &[],
        }
    }

    fn knows(&self, key: &str) -> bool {
        match self.fields {
            Some(fields) => fields.contains(&key),
            None => self.rules.iter().any(|(k, _)| *k == key),
        }
    }
}

const COMPONENT_FIELDS: &[&str] = &["extraArgs", "extraVolumes", "extraEnvs"];
const COMPONENT_RULES: &[(&str, Rule)] = &[("extraVolumes", Rule::List), ("extraEnvs", Rule::List)];

static NODE_REGISTRATION: Shape = Shape {
    owned: &[("name", "the node's key in `nodes`")],
    arg_lists: &["kubeletExtraArgs"],
    rules: &[
        ("criSocket", Rule::CriSocket),
        ("taints", Rule::List),
        ("ignorePreflightErrors", Rule::IgnorePreflightErrors),
        ("imagePullPolicy", Rule::PullPolicy),
        ("imagePullSerial", Rule::Bool),
    ],
    ..Shape::nested(&[
        "name",
        "criSocket",
        "taints",
        "kubeletExtraArgs",
        "ignorePreflightErrors",
        "imagePullPolicy",
        "imagePullSerial",
    ])
};
static COMPONENT: Shape =
    Shape { arg_lists: &["extraArgs"], rules: COMPONENT_RULES, ..Shape::nested(COMPONENT_FIELDS) };
static API_SERVER: Shape = Shape {
    owned: &[("certSANs", "the endpoint's host plus api_server_cert_sans")],
    moved: &[("timeoutForControlPlane", "InitConfiguration timeouts.controlPlaneComponentHealthCheck")],
    arg_lists: &["extraArgs"],
    rules: COMPONENT_RULES,
    ..Shape::nested(&["extraArgs", "extraVolumes", "extraEnvs", "certSANs"])
};
static LOCAL_ETCD: Shape = Shape {
    arg_lists: &["extraArgs"],
    rules: &[
        ("imageRepository", Rule::ImageRepository),
        ("imageTag", Rule::Str),
        ("dataDir", Rule::AbsolutePath),
        ("extraEnvs", Rule::List),
        ("serverCertSANs", Rule::CertSans),
        ("peerCertSANs", Rule::CertSans),
    ],
    ..Shape::nested(&[
        "imageRepository",
        "imageTag",
        "dataDir",
        "extraArgs",
        "extraEnvs",
        "serverCertSANs",
        "peerCertSANs",
    ])
};
static ETCD: Shape = Shape {
    owned: &[("external", "stacked etcd, with the etcd CA the provider generates")],
    children: &[("local", &LOCAL_ETCD)],
    ..Shape::nested(&["local", "external"])
};
static DNS: Shape = Shape {
    rules: &[("imageRepository", Rule::ImageRepository), ("imageTag", Rule::Str), ("disabled", Rule::Bool)],
    ..Shape::nested(&["imageRepository", "imageTag", "disabled"])
};
static PROXY: Shape = Shape { rules: &[("disabled", Rule::Bool)], ..Shape::nested(&["disabled"]) };
/// v1beta4 `Timeouts`, shared by init and join.
static TIMEOUTS: Shape = Shape {
    rules: &[
        ("controlPlaneComponentHealthCheck", Rule::Duration),
        ("kubeletHealthCheck", Rule::Duration),
        ("kubernetesAPICall", Rule::Duration),
        ("etcdAPICall", Rule::Duration),
        ("tlsBootstrap", Rule::Duration),
        ("discovery", Rule::Duration),
        ("upgradeManifests", Rule::Duration),
    ],
    ..Shape::nested(&[
        "controlPlaneComponentHealthCheck",
        "kubeletHealthCheck",
        "kubernetesAPICall",
        "etcdAPICall",
        "tlsBootstrap",
        "discovery",
        "upgradeManifests",
    ])
};
static PATCHES: Shape = Shape { rules: &[("directory", Rule::AbsolutePath)], ..Shape::nested(&["directory"]) };

const DOCUMENT_OWNED: [(&str, &str); 2] =
    [("apiVersion", "the document the patch is merged into"), ("kind", "the document the patch is merged into")];
const RUN_RULES: &[(&str, Rule)] = &[("skipPhases", Rule::StrList)];
static RUN_CHILDREN: [(&str, &Shape); 3] =
    [("nodeRegistration", &NODE_REGISTRATION), ("timeouts", &TIMEOUTS), ("patches", &PATCHES)];

pub(super) static INIT: Shape = Shape {
    kind: "InitConfiguration",
    attr: "init_configuration",
    fields: Some(&[
        "apiVersion",
        "kind",
        "bootstrapTokens",
        "nodeRegistration",
        "localAPIEndpoint",
        "certificateKey",
        "skipPhases",
        "patches",
        "timeouts",
        "dryRun",
    ]),
    owned: &[
        DOCUMENT_OWNED[0],
        DOCUMENT_OWNED[1],
        ("bootstrapTokens", "the provider's bootstrap token"),
        ("certificateKey", "the provider's certificate key"),
        ("localAPIEndpoint", "the node's address"),
        ("dryRun", "a dry run would leave the node unconfigured"),
    ],
    moved: &[],
    arg_lists: &[],
    rules: RUN_RULES,
    children: &RUN_CHILDREN,
};
pub(super) static CLUSTER: Shape = Shape {
    kind: "ClusterConfiguration",
    attr: "cluster_configuration",
    fields: Some(&[
        "apiVersion",
        "kind",
        "etcd",
        "networking",
        "kubernetesVersion",
        "controlPlaneEndpoint",
        "apiServer",
        "controllerManager",
        "scheduler",
        "dns",
        "proxy",
        "certificatesDir",
        "imageRepository",
        "featureGates",
        "clusterName",
        "encryptionAlgorithm",
        "certificateValidityPeriod",
        "caCertificateValidityPeriod",
    ]),
    owned: &[
        DOCUMENT_OWNED[0],
        DOCUMENT_OWNED[1],
        ("controlPlaneEndpoint", "control_plane_endpoint"),
        ("kubernetesVersion", "kubernetes_version"),
        ("clusterName", "cluster_name"),
        ("networking", "pod_subnet, service_subnet and dns_domain"),
        ("encryptionAlgorithm", "ECDSA-P256, matching the CA keys the provider generates"),
        ("certificatesDir", "/etc/kubernetes/pki, where the provider places the CAs"),
    ],
    moved: &[],
    arg_lists: &[],
    rules: &[
        ("imageRepository", Rule::ImageRepository),
        ("featureGates", Rule::FeatureGates),
        ("certificateValidityPeriod", Rule::Duration),
        ("caCertificateValidityPeriod", Rule::Duration),
    ],
    children: &[
        ("apiServer", &API_SERVER),
        ("controllerManager", &COMPONENT),
        ("scheduler", &COMPONENT),
        ("etcd", &ETCD),
        ("dns", &DNS),
        ("proxy", &PROXY),
    ],
};
pub(super) static JOIN: Shape = Shape {
    kind: "JoinConfiguration",
    attr: "join_configuration",
    fields: Some(&[
        "apiVersion",
        "kind",
        "dryRun",
        "nodeRegistration",
        "caCertPath",
        "discovery",
        "controlPlane",
        "skipPhases",
        "patches",
        "timeouts",
    ]),
    owned: &[
        DOCUMENT_OWNED[0],
        DOCUMENT_OWNED[1],
        ("discovery", "the bootstrap token and the CA hash"),
        ("controlPlane", "the node's role and address"),
        ("dryRun", "a dry run would leave the node unconfigured"),
    ],
    moved: &[],
    arg_lists: &[],
    rules: &[("skipPhases", Rule::StrList), ("caCertPath", Rule::CaCertPath)],
    children: &RUN_CHILDREN,
};
pub(super) static KUBELET: Shape = Shape {
    kind: "KubeletConfiguration",
    attr: "kubelet_configuration",
    fields: None,
    owned: &[DOCUMENT_OWNED[0], DOCUMENT_OWNED[1]],
    moved: &[],
    arg_lists: &[],
    rules: KUBELET_FIELDS,
    children: &[],
};

/// What `kubeadm upgrade apply` and `upgrade node` share in v1beta4.
const UPGRADE_RUN_RULES: &[(&str, Rule)] = &[
    ("certificateRenewal", Rule::Bool),
    ("etcdUpgrade", Rule::Bool),
    ("ignorePreflightErrors", Rule::IgnorePreflightErrors),
    ("skipPhases", Rule::StrList),
    ("imagePullPolicy", Rule::PullPolicy),
    ("imagePullSerial", Rule::Bool),
];
const UPGRADE_OWNED: [(&str, &str); 2] =
    [("kubernetesVersion", "kubernetes_version"), ("dryRun", "a dry run would leave the node on its old version")];
static UPGRADE_APPLY: Shape = Shape {
    owned: &[
        UPGRADE_OWNED[0],
        UPGRADE_OWNED[1],
        ("forceUpgrade", "the provider's checks of the version change (it runs kubeadm non-interactively)"),
    ],
    rules: &[
        ("certificateRenewal", Rule::Bool),
        ("etcdUpgrade", Rule::Bool),
        ("ignorePreflightErrors", Rule::IgnorePreflightErrors),
        ("skipPhases", Rule::StrList),
        ("imagePullPolicy", Rule::PullPolicy),
        ("imagePullSerial", Rule::Bool),
        ("allowExperimentalUpgrades", Rule::Bool),
        ("allowRCUpgrades", Rule::Bool),
        ("printConfig", Rule::Bool),
    ],
    children: &[("patches", &PATCHES)],
    ..Shape::nested(&[
        "kubernetesVersion",
        "allowExperimentalUpgrades",
        "allowRCUpgrades",
        "certificateRenewal",
        "dryRun",
        "etcdUpgrade",
        "forceUpgrade",
        "ignorePreflightErrors",
        "patches",
        "printConfig",
        "skipPhases",
        "imagePullPolicy",
        "imagePullSerial",
    ])
};
static UPGRADE_NODE: Shape = Shape {
    owned: &[UPGRADE_OWNED[1]],
    rules: UPGRADE_RUN_RULES,
    children: &[("patches", &PATCHES)],
    ..Shape::nested(&[
        "certificateRenewal",
        "dryRun",
        "etcdUpgrade",
        "ignorePreflightErrors",
        "skipPhases",
        "patches",
        "imagePullPolicy",
        "imagePullSerial",
    ])
};
static UPGRADE_PLAN: Shape = Shape {
    owned: &[UPGRADE_OWNED[0], UPGRADE_OWNED[1]],
    rules: &[
        ("allowExperimentalUpgrades", Rule::Bool),
        ("allowRCUpgrades", Rule::Bool),
        ("ignorePreflightErrors", Rule::IgnorePreflightErrors),
        ("printConfig", Rule::Bool),
    ],
    ..Shape::nested(&[
        "kubernetesVersion",
        "allowExperimentalUpgrades",
        "allowRCUpgrades",
        "dryRun",
        "ignorePreflightErrors",
        "printConfig",
    ])
};
pub(super) static UPGRADE: Shape = Shape {
    kind: "UpgradeConfiguration",
    attr: "upgrade_configuration",
    fields: Some(&["apiVersion", "kind", "apply", "node", "plan", "diff", "timeouts"]),
    owned: &[DOCUMENT_OWNED[0], DOCUMENT_OWNED[1], ("diff", "the provider never runs kubeadm upgrade diff")],
    moved: &[],
    arg_lists: &[],
    rules: &[],
    children: &[("apply", &UPGRADE_APPLY), ("node", &UPGRADE_NODE), ("plan", &UPGRADE_PLAN), ("timeouts", &TIMEOUTS)],
};

/// A parsed patch in the emitter's model. A key that is not a string (only
/// possible below fields the checks do not descend into) becomes its text,
/// as kubeadm's YAML-to-JSON decoding makes it; a value yaml-rust2 could not
/// resolve (`!!int x`) becomes null.
pub(super) fn from_yaml12(v: &Yaml12) -> Yaml {
    match v {
        Yaml12::String(s) => Yaml::str(s),
        Yaml12::Integer(i) => Yaml::Int(*i),
        Yaml12::Real(_) => v.as_f64().map_or(Yaml::Null, Yaml::Float),
        Yaml12::Boolean(b) => Yaml::Bool(*b),
        Yaml12::Array(items) => Yaml::Seq(items.iter().map(from_yaml12).collect()),
        Yaml12::Hash(h) => Yaml::Map(
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml12::String(s) => s.clone(),
                        other => yaml::emit(&from_yaml12(other)).trim_end().to_owned(),
                    };
                    (key, from_yaml12(v))
                })
                .collect(),
        ),
        Yaml12::Null | Yaml12::BadValue | Yaml12::Alias(_) => Yaml::Null,
    }
}

/// Parses a patch and checks it against `doc`'s shape.
fn parse_patch(doc: &Shape, text: &str, kubernetes_minor: Option<u32>) -> Result<Yaml12, Vec<PatchProblem>> {
    let problem = |summary: &str, detail: String| PatchProblem { field: doc.attr, summary: summary.to_owned(), detail };
    let docs = YamlLoader::load_from_str(text)
        .map_err(|err| vec![problem("Invalid YAML", format!("The {} patch does not parse: {err}", doc.kind))])?;
    let patch = match docs.as_slice() {
        [] => return Ok(Yaml12::Hash(Hash::new())),
        [Yaml12::Null] => return Ok(Yaml12::Hash(Hash::new())),
        [one @ Yaml12::Hash(_)] => one.clone(),
        [_] => {
            return Err(vec![problem(
                "Patch is not a mapping",
                format!("The {} patch must be a YAML or JSON object of fields to merge.", doc.kind),
            )]);
        }
        _ => {
            return Err(vec![problem(
                "More than one document",
                format!("The {} patch must be a single document, without `---` separators.", doc.kind),
            )]);
        }
    };
    let mut walk = Walk { doc, kubernetes_minor, problems: Vec::new() };
    walk.check(doc, "", &patch);
    if walk.problems.is_empty() { Ok(patch) } else { Err(walk.problems) }
}

/// One patch's check: walks it along its document's shape.
struct Walk<'a> {
    doc: &'a Shape,
    kubernetes_minor: Option<u32>,
    problems: Vec<PatchProblem>,
}

impl Walk<'_> {
    fn add(&mut self, summary: &str, detail: String) {
        self.problems.push(PatchProblem { field: self.doc.attr, summary: summary.to_owned(), detail });
    }

    fn check(&mut self, shape: &Shape, prefix: &str, value: &Yaml12) {
        let kind = self.doc.kind;
        let Yaml12::Hash(h) = value else {
            let what = prefix.trim_end_matches('.');
            self.add("Not a mapping", format!("{what:?} in {kind} must be a mapping."));
            return;
        };
        for (key, value) in h {
            match key.as_str() {
                Some(key) => self.check_field(shape, &format!("{prefix}{key}"), key, value),
                None => self.add("Invalid field name", format!("Field names in the {kind} patch must be strings.")),
            }
        }
    }

    fn check_field(&mut self, shape: &Shape, path: &str, key: &str, value: &Yaml12) {
        let kind = self.doc.kind;
        let api = if self.doc.fields.is_some() { KUBEADM_API_VERSION } else { KUBELET_API_VERSION };
        if let Some((_, source)) = shape.owned.iter().find(|(k, _)| *k == key) {
            let detail = format!("{path:?} in {kind} is set by the provider from {source}; remove it from the patch.");
            self.add("Field managed by the provider", detail);
        } else if let Some((_, to)) = shape.moved.iter().find(|(k, _)| *k == key) {
            self.add("Field moved in v1beta4", format!("{path:?} is a v1beta3 field of {kind}; in {api} it is {to}."));
        } else if !shape.knows(key) {
            let summary = if self.doc.fields.is_some() { "Unknown kubeadm field" } else { "Unknown kubelet field" };
            self.add(summary, format!("unknown field {path:?} in {kind} ({api})"));
        } else if shape.arg_lists.contains(&key) {
            if let Some(detail) = check_args(path, value) {
                self.add("Invalid extra arguments", detail);
            }
        } else if let Some((_, rule)) = shape.rules.iter().find(|(k, _)| *k == key) {
            if let Err(broken) = rule.check(value, self.kubernetes_minor) {
                self.add(broken.summary, format!("{path:?} in {kind}: {}", broken.detail));
            }
        } else if let Some((_, child)) = shape.children.iter().find(|(k, _)| *k == key) {
            if !value.is_null() {
                self.check(child, &format!("{path}."), value);
            }
        }
    }
}

/// v1beta4 `[]Arg`: a list of `{name, value}` with string values. A map is
/// the v1beta3 shape, which kubeadm now rejects.
fn check_args(path: &str, value: &Yaml12) -> Option<String> {
    match value {
        Yaml12::Hash(_) => Some(format!(
            "{path:?} is a map, the v1beta3 shape; v1beta4 takes a list of {{name, value}}, \
             e.g. [{{name: v, value: \"2\"}}]."
        )),
        Yaml12::Array(items) => items.iter().find_map(|item| {
            let ok = item.as_hash().is_some_and(|h| {
                h.len() == 2 && item["name"].as_str().is_some_and(|n| !n.is_empty()) && item["value"].as_str().is_some()
            });
            (!ok).then(|| {
                format!(
                    "Each item of {path:?} must be {{name, value}} with string values (quote numbers and booleans)."
                )
            })
        }),
        Yaml12::Null => None,
        _ => Some(format!("{path:?} must be a list of {{name, value}}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::{list, map, s};
    use super::*;

    fn docs(text: &str) -> Vec<Yaml12> {
        YamlLoader::load_from_str(text).unwrap_or_else(|err| panic!("{err}\n{text}"))
    }

    #[test]
    fn lists_replace_and_key_order_is_kept() {
        let mut base = map(vec![("a", list(vec![s("x"), s("y")])), ("b", map(vec![("c", s("1")), ("d", s("2"))]))]);
        let patch = from_yaml12(&docs("b: {c: '9'}\na: [z]\ne: new\n").remove(0));
        merge(&mut base, &patch);
        assert_eq!(yaml::emit(&base), "a:\n  - z\nb:\n  c: \"9\"\n  d: \"2\"\ne: new\n");
        // null removes a key and leaves the others where they were.
        merge(&mut base, &from_yaml12(&docs("a: null\n").remove(0)));
        assert_eq!(yaml::emit(&base), "b:\n  c: \"9\"\n  d: \"2\"\ne: new\n");
    }

    #[test]
    fn keys_that_are_not_strings_become_their_text() {
        // Such keys can only sit below fields the checks do not enter; they
        // are written as their text, as kubeadm reads them.
        let converted = from_yaml12(&docs("a: {1: x, true: y, ~: z, 1.5: w}\nb: !!int nope\n").remove(0));
        assert_eq!(yaml::emit(&converted), "a:\n  \"1\": x\n  \"true\": \"y\"\n  \"null\": z\n  \"1.5\": w\nb: null\n");
    }

    #[test]
    fn owned_unknown_and_v1beta3_fields_are_named() {
        let cases: &[(&str, ConfigPatches, &str)] = &[
            (
                "init_configuration",
                ConfigPatches { init_configuration: Some("bootstrapTokens: []".into()), ..Default::default() },
                "\"bootstrapTokens\"",
            ),
            (
                "init_configuration",
                ConfigPatches {
                    init_configuration: Some("nodeRegistration: {name: other}".into()),
                    ..Default::default()
                },
                "\"nodeRegistration.name\"",
            ),
            (
                "init_configuration",
                ConfigPatches {
                    init_configuration: Some("localAPIEndpoint: {bindPort: 7443}".into()),
                    ..Default::default()
                },
                "\"localAPIEndpoint\"",
            ),
            (
                "init_configuration",
                ConfigPatches { init_configuration: Some("certificateKey: x".into()), ..Default::default() },
                "\"certificateKey\"",
            ),
            (
                "cluster_configuration",
                ConfigPatches { cluster_configuration: Some("controlPlaneEndpoint: x:1".into()), ..Default::default() },
                "\"controlPlaneEndpoint\"",
            ),
            (
                "cluster_configuration",
                ConfigPatches {
                    cluster_configuration: Some("kubernetesVersion: v1.34.0".into()),
                    ..Default::default()
                },
                "\"kubernetesVersion\"",
            ),
            (
                "cluster_configuration",
                ConfigPatches { cluster_configuration: Some("clusterName: x".into()), ..Default::default() },
                "\"clusterName\"",
            ),
            (
                "cluster_configuration",
                ConfigPatches {
                    cluster_configuration: Some("networking: {podSubnet: 10.0.0.0/8}".into()),
                    ..Default::default()
                },
                "\"networking\"",
            ),
            (
                "cluster_configuration",
                ConfigPatches {
                    cluster_configuration: Some("encryptionAlgorithm: RSA-2048".into()),
                    ..Default::default()
                },
                "\"encryptionAlgorithm\"",
            ),
            (
                "cluster_configuration",
                ConfigPatches {
                    cluster_configuration: Some("apiVersion: kubeadm.k8s.io/v1beta3".into()),
                    ..Default::default()
                },
                "\"apiVersion\"",
            ),
            (
                "cluster_configuration",
                ConfigPatches { cluster_configuration: Some("kind: InitConfiguration".into()), ..Default::default() },
                "\"kind\"",
            ),
            (
                "join_configuration",
                ConfigPatches { join_configuration: Some("discovery: {}".into()), ..Default::default() },
                "\"discovery\"",
            ),
            (
                "join_configuration",
                ConfigPatches { join_configuration: Some("controlPlane: {}".into()), ..Default::default() },
                "\"controlPlane\"",
            ),
            (
                "kubelet_configuration",
                ConfigPatches { kubelet_configuration: Some("kind: Foo".into()), ..Default::default() },
                "\"kind\"",
            ),
        ];
        for (field, patches, named) in cases {
            let problems = validate_patches(patches, Some(35));
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].field, *field);
            assert_eq!(problems[0].summary, "Field managed by the provider");
            assert!(problems[0].detail.contains(named), "{}", problems[0].detail);
        }

        let p =
            ConfigPatches { cluster_configuration: Some("foo: 1\napiServer: {bar: 2}".into()), ..Default::default() };
        let problems = validate_patches(&p, Some(35));
        let details: Vec<_> = problems.iter().map(|p| p.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                "unknown field \"foo\" in ClusterConfiguration (kubeadm.k8s.io/v1beta4)",
                "unknown field \"apiServer.bar\" in ClusterConfiguration (kubeadm.k8s.io/v1beta4)",
            ]
        );
        assert!(problems.iter().all(|p| p.field == "cluster_configuration"));
        let p = ConfigPatches { join_configuration: Some("upgrade: {}".into()), ..Default::default() };
        assert_eq!(
            validate_patches(&p, Some(35))[0].detail,
            "unknown field \"upgrade\" in JoinConfiguration (kubeadm.k8s.io/v1beta4)"
        );

        // v1beta3 shapes.
        let v1beta3 = [
            (
                "cluster_configuration",
                "apiServer:\n  extraArgs:\n    audit-log-path: /x\n",
                "\"apiServer.extraArgs\" is a map",
            ),
            ("cluster_configuration", "scheduler: {extraArgs: {v: '2'}}", "\"scheduler.extraArgs\" is a map"),
            ("cluster_configuration", "etcd: {local: {extraArgs: {v: '2'}}}", "\"etcd.local.extraArgs\" is a map"),
            (
                "cluster_configuration",
                "apiServer: {timeoutForControlPlane: 4m}",
                "\"apiServer.timeoutForControlPlane\" is a v1beta3 field",
            ),
            (
                "init_configuration",
                "nodeRegistration: {kubeletExtraArgs: {max-pods: '200'}}",
                "\"nodeRegistration.kubeletExtraArgs\" is a map",
            ),
            ("join_configuration", "nodeRegistration: {kubeletExtraArgs: [{name: v, value: 2}]}", "quote numbers"),
        ];
        for (field, text, expected) in v1beta3 {
            let mut p = ConfigPatches::default();
            let slot = match field {
                "cluster_configuration" => &mut p.cluster_configuration,
                "init_configuration" => &mut p.init_configuration,
                _ => &mut p.join_configuration,
            };
            *slot = Some(text.into());
            let problems = validate_patches(&p, Some(35));
            assert_eq!(problems.len(), 1, "{text}: {problems:?}");
            assert_eq!(problems[0].field, field);
            assert!(problems[0].detail.contains(expected), "{}", problems[0].detail);
        }
    }

    #[test]
    fn malformed_patches() {
        for (text, summary) in [
            ("a: [", "Invalid YAML"),
            ("- a\n- b\n", "Patch is not a mapping"),
            ("a: 1\n---\nb: 2\n", "More than one document"),
            ("apiServer: text", "Not a mapping"),
            ("1: x", "Invalid field name"),
        ] {
            let p = ConfigPatches { cluster_configuration: Some(text.into()), ..Default::default() };
            let problems = validate_patches(&p, Some(35));
            assert_eq!(problems.len(), 1, "{text}");
            assert_eq!(problems[0].summary, summary, "{text}");
        }
        // Empty patches are no patches.
        let p = ConfigPatches {
            kubelet_configuration: Some("  \n".into()),
            join_configuration: Some("{}".into()),
            ..Default::default()
        };
        assert!(validate_patches(&p, Some(35)).is_empty());
    }
}
