//! The kube-vip static pod the provider writes on every control plane:
//! ARP mode, the control-plane VIP with leader election.

use std::net::IpAddr;

use super::config::{BIND_PORT, list, map, s};
use crate::yaml::{self, Yaml};

/// kube-vip in ARP mode, as a static pod on the control planes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeVip {
    pub address: String,
    pub interface: String,
    pub image: String,
}

/// The kube-vip static pod: ARP mode, control-plane VIP with leader
/// election, using the kubeconfig at `kubeconfig_path` on the host
/// (super-admin.conf on the init node during init, since admin.conf has no
/// rights until kubeadm has bound its group; admin.conf otherwise).
pub fn manifest(vip: &KubeVip, kubeconfig_path: &str) -> String {
    let host_bits = match vip.address.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) => "128",
        _ => "32",
    };
    let env = |name: &str, value: &str| map(vec![("name", s(name)), ("value", s(value))]);
    let node_name = map(vec![
        ("name", s("vip_nodename")),
        ("valueFrom", map(vec![("fieldRef", map(vec![("fieldPath", s("spec.nodeName"))]))])),
    ]);
    let container = map(vec![
        ("name", s("kube-vip")),
        ("image", s(&vip.image)),
        ("imagePullPolicy", s("IfNotPresent")),
        ("args", list(vec![s("manager")])),
        (
            "env",
            list(vec![
                env("vip_arp", "true"),
                env("port", &BIND_PORT.to_string()),
                node_name,
                env("vip_interface", &vip.interface),
                // vip_subnet is the current name; releases before it read vip_cidr.
                env("vip_subnet", host_bits),
                env("vip_cidr", host_bits),
                env("cp_enable", "true"),
                env("cp_namespace", "kube-system"),
                env("vip_leaderelection", "true"),
                env("vip_leasename", "plndr-cp-lock"),
                env("vip_leaseduration", "5"),
                env("vip_renewdeadline", "3"),
                env("vip_retryperiod", "1"),
                env("address", &vip.address),
            ]),
        ),
        (
            "securityContext",
            map(vec![(
                "capabilities",
                map(vec![("add", list(vec![s("NET_ADMIN"), s("NET_RAW")])), ("drop", list(vec![s("ALL")]))]),
            )]),
        ),
        (
            "volumeMounts",
            list(vec![map(vec![("name", s("kubeconfig")), ("mountPath", s("/etc/kubernetes/admin.conf"))])]),
        ),
    ]);
    let pod = map(vec![
        ("apiVersion", s("v1")),
        ("kind", s("Pod")),
        ("metadata", map(vec![("name", s("kube-vip")), ("namespace", s("kube-system"))])),
        (
            "spec",
            map(vec![
                ("containers", list(vec![container])),
                // The kubeconfig names the API server by the endpoint; kube-vip
                // must reach the local one before the VIP exists.
                (
                    "hostAliases",
                    list(vec![map(vec![("ip", s("127.0.0.1")), ("hostnames", list(vec![s("kubernetes")]))])]),
                ),
                ("hostNetwork", Yaml::Bool(true)),
                (
                    "volumes",
                    list(vec![map(vec![
                        ("name", s("kubeconfig")),
                        ("hostPath", map(vec![("path", s(kubeconfig_path))])),
                    ])]),
                ),
            ]),
        ),
    ]);
    yaml::emit(&pod)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use yaml_rust2::{Yaml as Yaml12, YamlLoader};

    use super::*;

    fn docs(text: &str) -> Vec<Yaml12> {
        YamlLoader::load_from_str(text).unwrap_or_else(|err| panic!("{err}\n{text}"))
    }

    #[test]
    fn kube_vip_manifest_is_an_arp_control_plane_pod() {
        let vip = KubeVip {
            address: "192.168.100.200".into(),
            interface: "eth0".into(),
            image: "ghcr.io/kube-vip/kube-vip:v1.0.1".into(),
        };
        let text = manifest(&vip, "/etc/kubernetes/super-admin.conf");
        assert_eq!(manifest(&vip, "/etc/kubernetes/super-admin.conf"), text);
        let d = docs(&text);
        let pod = &d[0];
        assert_eq!(pod["kind"].as_str(), Some("Pod"));
        assert_eq!(pod["metadata"]["namespace"].as_str(), Some("kube-system"));
        let spec = &pod["spec"];
        assert_eq!(spec["hostNetwork"].as_bool(), Some(true));
        assert_eq!(spec["hostAliases"][0]["ip"].as_str(), Some("127.0.0.1"));
        assert_eq!(spec["hostAliases"][0]["hostnames"][0].as_str(), Some("kubernetes"));
        assert_eq!(spec["volumes"][0]["hostPath"]["path"].as_str(), Some("/etc/kubernetes/super-admin.conf"));
        let c = &spec["containers"][0];
        assert_eq!(c["image"].as_str(), Some(vip.image.as_str()));
        assert_eq!(c["volumeMounts"][0]["mountPath"].as_str(), Some("/etc/kubernetes/admin.conf"));
        let caps: Vec<_> =
            c["securityContext"]["capabilities"]["add"].as_vec().expect("caps").iter().map(|v| v.as_str()).collect();
        assert_eq!(caps, [Some("NET_ADMIN"), Some("NET_RAW")]);
        let env: BTreeMap<&str, &str> = c["env"]
            .as_vec()
            .expect("env")
            .iter()
            .filter_map(|e| Some((e["name"].as_str()?, e["value"].as_str()?)))
            .collect();
        for (name, value) in [
            ("vip_arp", "true"),
            ("port", "6443"),
            ("vip_interface", "eth0"),
            ("vip_cidr", "32"),
            ("vip_subnet", "32"),
            ("cp_enable", "true"),
            ("vip_leaderelection", "true"),
            ("vip_leaseduration", "5"),
            ("vip_renewdeadline", "3"),
            ("vip_retryperiod", "1"),
            ("address", "192.168.100.200"),
        ] {
            assert_eq!(env.get(name), Some(&value), "{name}");
        }
        // Env values are strings to Kubernetes: numbers and booleans quoted.
        assert!(text.contains("value: \"6443\"") && text.contains("value: \"true\""), "{text}");
        let v6 = KubeVip { address: "fd00::200".into(), ..vip };
        assert!(manifest(&v6, "/etc/kubernetes/admin.conf").contains("value: \"128\""));
    }
}
