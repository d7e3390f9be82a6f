//! The v1beta4 configuration files the simulated kubeadm reads, decoded
//! strictly: unknown fields are errors, as they are to the real kubeadm.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(crate) const INIT_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "bootstrapTokens",
    "nodeRegistration",
    "localAPIEndpoint",
    "certificateKey",
    "skipPhases",
    "patches",
    "dryRun",
    "timeouts",
];
pub(crate) const CLUSTER_FIELDS: &[&str] = &[
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
    "upgrade",
];
pub(crate) const JOIN_FIELDS: &[&str] = &[
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
];

/// Parses a kubeadm config file into (kind, document), rejecting what the
/// real v1beta4 strict decoder rejects.
pub(crate) fn parse_config(path: &str, allowed: &[&str]) -> Result<Vec<(String, Yaml)>, Fail> {
    let text = fs::read_to_string(path).or_else(|e| fail(1, format!("unable to read config from \"{path}\" : {e}")))?;
    let docs = YamlLoader::load_from_str(&text).or_else(|e| fail(1, format!("error converting YAML to JSON: {e}")))?;
    let mut out = Vec::new();
    for d in docs {
        let kind = d["kind"].as_str().unwrap_or("").to_string();
        let api = d["apiVersion"].as_str().unwrap_or("").to_string();
        let fields: &[&str] = match (api.as_str(), kind.as_str()) {
            ("kubeadm.k8s.io/v1beta4", "InitConfiguration") => INIT_FIELDS,
            ("kubeadm.k8s.io/v1beta4", "ClusterConfiguration") => CLUSTER_FIELDS,
            ("kubeadm.k8s.io/v1beta4", "JoinConfiguration") => JOIN_FIELDS,
            ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration")
            | ("kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration") => {
                continue;
            }
            _ => {
                return fail(
                    1,
                    format!(
                        "no kind \"{kind}\" is registered for version \"{api}\" in scheme \"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31\""
                    ),
                );
            }
        };
        if !allowed.contains(&kind.as_str()) {
            return fail(1, format!("kind {kind} is not valid for this command"));
        }
        let strict = |f: &str| {
            fail(
                1,
                format!(
                    "error unmarshaling configuration schema.GroupVersionKind{{Group:\"kubeadm.k8s.io\", Version:\"v1beta4\", Kind:\"{kind}\"}}: strict decoding error: unknown field \"{f}\""
                ),
            )
        };
        if let Some(h) = d.as_hash() {
            for k in h.keys() {
                let k = k.as_str().unwrap_or("");
                if !fields.contains(&k) {
                    return strict(k);
                }
            }
        }
        // v1beta3 shapes that moved in v1beta4.
        if !d["apiServer"]["timeoutForControlPlane"].is_badvalue() {
            return strict("apiServer.timeoutForControlPlane");
        }
        for comp in ["apiServer", "controllerManager", "scheduler"] {
            if d[comp]["extraArgs"].as_hash().is_some() {
                return fail(
                    1,
                    format!(
                        "error unmarshaling configuration schema.GroupVersionKind{{Group:\"kubeadm.k8s.io\", Version:\"v1beta4\", Kind:\"{kind}\"}}: json: cannot unmarshal object into Go struct field ControlPlaneComponent.{comp}.extraArgs of type []v1beta4.Arg"
                    ),
                );
            }
        }
        if d["nodeRegistration"]["kubeletExtraArgs"].as_hash().is_some() {
            return fail(
                1,
                format!(
                    "error unmarshaling configuration schema.GroupVersionKind{{Group:\"kubeadm.k8s.io\", Version:\"v1beta4\", Kind:\"{kind}\"}}: json: cannot unmarshal object into Go struct field NodeRegistrationOptions.nodeRegistration.kubeletExtraArgs of type []v1beta4.Arg"
                ),
            );
        }
        out.push((kind, d));
    }
    Ok(out)
}

/// v1beta4 `[{name, value}]` list (kubeletExtraArgs, extraArgs): the value of `name`.
pub(crate) fn arg_value(list: &Yaml, name: &str) -> Option<String> {
    list.as_vec()?
        .iter()
        .find(|a| a["name"].as_str() == Some(name))
        .and_then(|a| a["value"].as_str())
        .map(str::to_string)
}
