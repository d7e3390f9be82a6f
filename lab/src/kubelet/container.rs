//! What a static pod's container becomes as a process here: the binary its
//! command names (or, without a command, the one its image is named after,
//! as the image's entrypoint would run it), its environment (values, and
//! `fieldRef: spec.nodeName`), and, when the pod sees files elsewhere than
//! the host does, a private mount namespace with those files bound in:
//! hostPath volumes mounted at another path, and `hostAliases` added to
//! its `/etc/hosts`. kube-vip needs both: it reads `/etc/kubernetes/admin.conf`
//! (the host's `super-admin.conf` during `kubeadm init`) and dials the API
//! server as `kubernetes`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::Yaml;

/// The process for a pod's first container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// The binary that runs.
    pub program: PathBuf,
    /// The binary's name, then its arguments.
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Host path bound at the pod's path.
    pub binds: Vec<(String, String)>,
    /// `/etc/hosts` lines the pod adds (`IP NAME...`).
    pub host_aliases: Vec<String>,
}

/// The process of `manifest`'s first container on node `node_name`, or why
/// it cannot run.
/// The binary is the image tag's version of it (`versions/v1.35.4/NAME`)
/// when the lab has that version, else the host's (`bin/NAME`): an upgrade
/// that rewrites a manifest to a new tag restarts the pod on the new binary.
pub fn process_of(manifest: &Yaml, bin: &Path, versions: &Path, node_name: &str) -> Result<Process, String> {
    let spec = &manifest["spec"];
    let container = &spec["containers"][0];
    let strings = |value: &Yaml| -> Vec<String> {
        value.as_vec().map(|v| v.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
    };
    let image = container["image"].as_str().unwrap_or_default();
    let mut argv = strings(&container["command"]);
    if argv.is_empty() {
        argv.push(image_binary(image).ok_or("its container has neither a command nor an image")?);
    }
    let name = base_name(&argv[0]);
    let tagged = image_tag(image).map(|tag| versions.join(tag).join(&name)).filter(|p| p.is_file());
    let program = tagged.unwrap_or_else(|| bin.join(&name));
    if !program.is_file() {
        return Err(format!("no binary {name} in the lab"));
    }
    argv[0] = name;
    argv.extend(strings(&container["args"]));
    Ok(Process {
        program,
        argv,
        env: env_of(container, node_name),
        binds: binds_of(spec, container),
        host_aliases: spec["hostAliases"]
            .as_vec()
            .into_iter()
            .flatten()
            .filter_map(|alias| Some(format!("{} {}", alias["ip"].as_str()?, strings(&alias["hostnames"]).join(" "))))
            .collect(),
    })
}

/// `registry/path/NAME:tag` → `NAME`.
fn image_binary(image: &str) -> Option<String> {
    let name = image.rsplit('/').next()?.split(['@', ':']).next()?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// `registry/path/NAME:TAG` → `TAG` (not a digest).
fn image_tag(image: &str) -> Option<&str> {
    let last = image.rsplit('/').next()?;
    last.split('@').next()?.split_once(':').map(|(_, tag)| tag)
}

fn base_name(command: &str) -> String {
    Path::new(command).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
}

fn env_of(container: &Yaml, node_name: &str) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for var in container["env"].as_vec().into_iter().flatten() {
        let Some(name) = var["name"].as_str() else { continue };
        if let Some(value) = var["value"].as_str() {
            env.push((name.to_owned(), value.to_owned()));
        } else if var["valueFrom"]["fieldRef"]["fieldPath"].as_str() == Some("spec.nodeName") {
            env.push((name.to_owned(), node_name.to_owned()));
        }
    }
    env
}

/// hostPath volumes the container mounts at a path other than their own.
fn binds_of(spec: &Yaml, container: &Yaml) -> Vec<(String, String)> {
    let host_path = |volume: &str| {
        spec["volumes"].as_vec().into_iter().flatten().find(|v| v["name"].as_str() == Some(volume))?["hostPath"]["path"]
            .as_str()
            .map(str::to_owned)
    };
    container["volumeMounts"]
        .as_vec()
        .into_iter()
        .flatten()
        .filter_map(|mount| {
            let source = host_path(mount["name"].as_str()?)?;
            let target = mount["mountPath"].as_str()?.to_owned();
            (source != target).then_some((source, target))
        })
        .collect()
}

/// The command that runs `process`; `scratch` holds its hosts file.
pub fn command(process: &Process, scratch: &Path) -> Result<Command, String> {
    let program = &process.program;
    let mut binds: Vec<(PathBuf, String)> =
        process.binds.iter().map(|(source, target)| (PathBuf::from(source), target.clone())).collect();
    if !process.host_aliases.is_empty() {
        let hosts = scratch.join("hosts");
        let mut text = fs::read_to_string("/etc/hosts").unwrap_or_default();
        for line in &process.host_aliases {
            text.push_str(&format!("{line}\n"));
        }
        fs::write(&hosts, text).map_err(|e| format!("{}: {e}", hosts.display()))?;
        binds.push((hosts, "/etc/hosts".to_owned()));
    }
    let mut command = if binds.is_empty() {
        Command::new(program)
    } else {
        // A private mount namespace, so the binds are the pod's alone.
        let script: String = binds
            .iter()
            .map(|(source, target)| format!("mount --bind '{}' '{target}' && ", source.display()))
            .chain(std::iter::once("exec \"$0\" \"$@\"".to_owned()))
            .collect();
        let mut wrapped = Command::new("unshare");
        wrapped.args(["--mount", "--propagation", "private", "/bin/sh", "-c", &script]).arg(program);
        wrapped
    };
    command.args(&process.argv[1..]).envs(process.env.iter().map(|(k, v)| (k, v)));
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBE_VIP: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: kube-vip, namespace: kube-system}
spec:
  containers:
    - name: kube-vip
      image: ghcr.io/kube-vip/kube-vip:v0.9.2
      args: [manager]
      env:
        - {name: vip_arp, value: "true"}
        - name: vip_nodename
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
      volumeMounts:
        - {name: kubeconfig, mountPath: /etc/kubernetes/admin.conf}
  hostAliases:
    - {ip: 127.0.0.1, hostnames: [kubernetes]}
  hostNetwork: true
  volumes:
    - {name: kubeconfig, hostPath: {path: /etc/kubernetes/super-admin.conf}}
"#;

    #[test]
    fn a_container_without_a_command_runs_its_image_binary_with_its_pod_view() {
        let bin = tempfile::tempdir().expect("bin");
        let versions = tempfile::tempdir().expect("versions");
        let manifest = yaml_rust2::YamlLoader::load_from_str(KUBE_VIP).expect("yaml").remove(0);
        assert_eq!(
            process_of(&manifest, bin.path(), versions.path(), "cp-1"),
            Err("no binary kube-vip in the lab".into())
        );
        fs::write(bin.path().join("kube-vip"), "").expect("binary");
        let process = process_of(&manifest, bin.path(), versions.path(), "cp-1").expect("process");
        assert_eq!(process.program, bin.path().join("kube-vip"));
        assert_eq!(process.argv, ["kube-vip", "manager"]);
        assert_eq!(process.env, [("vip_arp".into(), "true".into()), ("vip_nodename".into(), "cp-1".into())]);
        assert_eq!(process.binds, [("/etc/kubernetes/super-admin.conf".into(), "/etc/kubernetes/admin.conf".into())]);
        assert_eq!(process.host_aliases, ["127.0.0.1 kubernetes"]);
        let scratch = tempfile::tempdir().expect("scratch");
        let command = command(&process, scratch.path()).expect("command");
        assert_eq!(command.get_program(), "unshare");
        assert!(fs::read_to_string(scratch.path().join("hosts")).expect("hosts").ends_with("127.0.0.1 kubernetes\n"));
    }

    #[test]
    fn an_image_tag_the_lab_has_picks_that_versions_binary() {
        let bin = tempfile::tempdir().expect("bin");
        let versions = tempfile::tempdir().expect("versions");
        let manifest = |tag: &str| {
            let text = format!(
                "spec:\n  containers:\n    - image: registry.k8s.io/kube-apiserver:{tag}\n      command: [kube-apiserver, --v=2]\n"
            );
            yaml_rust2::YamlLoader::load_from_str(&text).expect("yaml").remove(0)
        };
        fs::write(bin.path().join("kube-apiserver"), "").expect("host binary");
        fs::create_dir_all(versions.path().join("v1.35.4")).expect("version dir");
        fs::write(versions.path().join("v1.35.4/kube-apiserver"), "").expect("versioned binary");
        let at = |tag: &str| process_of(&manifest(tag), bin.path(), versions.path(), "cp-1").expect("process").program;
        assert_eq!(at("v1.35.4"), versions.path().join("v1.35.4/kube-apiserver"));
        assert_eq!(at("v1.34.4"), bin.path().join("kube-apiserver"));
        assert_eq!(image_tag("registry.k8s.io/etcd:3.6.5-0"), Some("3.6.5-0"));
        assert_eq!(image_tag("localhost:5000/kube-vip"), None);
    }
}
