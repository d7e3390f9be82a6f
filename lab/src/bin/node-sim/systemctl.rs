//! `systemctl` for the kubelet service (the stand-in's static pods stop
//! with it) and the other units a node has, and `containerd config dump`.

#[allow(clippy::wildcard_imports)]
use super::*;

/// systemctl: exit 3 for inactive (is-active), 5 for unknown units.
pub(crate) fn systemctl(st: &mut HostState, args: &[String]) -> R {
    let verb = args.first().map(String::as_str).unwrap_or("");
    let units: Vec<String> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|u| u.trim_end_matches(".service").to_string())
        .collect();
    match verb {
        "is-active" => {
            let mut all = true;
            for u in &units {
                let on = st.services.get(u).copied().unwrap_or(false);
                println!("{}", if on { "active" } else { "inactive" });
                all &= on;
            }
            if all { Ok(()) } else { fail(3, "") }
        }
        "start" | "restart" | "enable" | "stop" | "disable" => {
            for u in &units {
                if !st.services.contains_key(u) {
                    return fail(5, format!("Failed to {verb} {u}.service: Unit {u}.service not found."));
                }
                // `enable` alone does not start; `enable --now` does.
                let now = args.iter().any(|a| a == "--now");
                match verb {
                    "start" | "restart" => {
                        st.services.insert(u.clone(), true);
                        *st.starts.entry(u.clone()).or_default() += 1;
                    }
                    "enable" if now => {
                        st.services.insert(u.clone(), true);
                        *st.starts.entry(u.clone()).or_default() += 1;
                    }
                    "stop" => {
                        st.services.insert(u.clone(), false);
                    }
                    "disable" if now => {
                        st.services.insert(u.clone(), false);
                    }
                    _ => {}
                }
            }
            save_state(st)?;
            if units.iter().any(|u| u == "kubelet") && st.services.get("kubelet") == Some(&false) {
                wait_for_static_pods_stopped();
            }
            Ok(())
        }
        "daemon-reload" => Ok(()),
        _ => fail(1, format!("Unknown command verb '{verb}'.")),
    }
}

/// On a real-Kubernetes lab host: returns once the kubelet stand-in has
/// stopped its static pods (it writes how many run to [`PODS_RUNNING`]),
/// so a `kubeadm reset` that stops the kubelet finds their ports free
/// afterwards, as it does on a node whose runtime removed the containers.
pub(crate) fn wait_for_static_pods_stopped() {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        match fs::read_to_string(PODS_RUNNING) {
            Ok(n) if n.trim() != "0" => std::thread::sleep(Duration::from_millis(50)),
            // Simulated lab (no stand-in) or nothing runs.
            _ => return,
        }
    }
}

/// `containerd config dump`: the merged configuration, as containerd 1.7
/// (Debian 13's) prints it for the config.toml our cloud-init writes.
pub(crate) fn containerd(_st: &HostState, args: &[String]) -> R {
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["config", "dump"] => {
            println!(
                "version = 2\n\n[plugins]\n\n  [plugins.\"io.containerd.grpc.v1.cri\"]\n    sandbox_image = \"registry.k8s.io/pause:3.10.1\"\n\n    [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n      SystemdCgroup = true"
            );
            Ok(())
        }
        _ => fail(1, "containerd: only `config dump` is simulated"),
    }
}

// ---------------------------------------------------------------- cluster state
