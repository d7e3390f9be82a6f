//! `apt-get` and `apt-mark` for pkgs.k8s.io's packages on a real-Kubernetes
//! lab host: installing `kubeadm=1.35.4-*` links the host's `kubeadm` to
//! the lab's v1.35.4 binary. What a real apt would refuse is refused: a
//! version the configured repository does not carry (pkgs.k8s.io has one
//! repository per minor, named in the host's `/etc/apt` source), an
//! unknown version, and a held package without
//! `--allow-change-held-packages`.

#[allow(clippy::wildcard_imports)]
use super::*;

const SOURCE: &str = "/etc/apt/sources.list.d/kubernetes.list";

/// `apt-get update | install [-y] [-q] [--allow-downgrades] PKG=VERSION...`.
pub(crate) fn apt_get(st: &HostState, args: &[String]) -> R {
    let verb = args.iter().find(|a| !a.starts_with('-')).map(String::as_str).unwrap_or("");
    match verb {
        "update" => {
            println!("Reading package lists... Done");
            Ok(())
        }
        "install" => {
            let allow_held = args.iter().any(|a| a == "--allow-change-held-packages");
            let requests: Vec<(&str, &str)> = args
                .iter()
                .skip_while(|a| a.as_str() != "install")
                .skip(1)
                .filter(|a| !a.starts_with('-'))
                .map(|a| a.split_once('=').unwrap_or((a.as_str(), "")))
                .collect();
            for (package, version) in &requests {
                install(st, package, version, allow_held)?;
            }
            Ok(())
        }
        other => fail(100, format!("E: Invalid operation {other}")),
    }
}

fn install(st: &HostState, package: &str, version: &str, allow_held: bool) -> R {
    if !homelab_lab::KUBERNETES_PACKAGES.contains(&package) {
        return fail(100, format!("E: Unable to locate package {package} (the lab has only pkgs.k8s.io's)"));
    }
    // `1.35.4-*` (a revision glob) or `1.35.4-1.1`.
    let release = version.split('-').next().unwrap_or_default();
    let minor = release.rsplit_once('.').map_or("", |(minor, _)| minor);
    let source = fs::read_to_string(SOURCE).unwrap_or_default();
    let lab_dir = PathBuf::from(std::env::var("LAB_DIR").unwrap_or_default());
    let binary = homelab_lab::versions_of(&lab_dir).join(format!("v{release}")).join(package);
    if release.is_empty() || !source.contains(&format!("/core:/stable:/v{minor}/deb/")) || !binary.is_file() {
        return fail(100, format!("E: Version '{version}' for '{package}' was not found"));
    }
    if st.held.iter().any(|h| h == package) && !allow_held {
        return fail(100, "E: Held packages were changed and -y was used without --allow-change-held-packages.");
    }
    let host = std::env::var("LAB_HOST").unwrap_or_default();
    let link = homelab_lab::host_bin_of(&lab_dir, &host).join(package);
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(&binary, &link).or_else(|e| fail(100, format!("{}: {e}", link.display())))?;
    println!("Setting up {package} ({release}-1.1) ...");
    Ok(())
}

/// `apt-mark hold | unhold | showhold PKG...`.
pub(crate) fn apt_mark(st: &mut HostState, args: &[String]) -> R {
    let (verb, packages) = args.split_first().map_or(("", &[][..]), |(v, rest)| (v.as_str(), rest));
    match verb {
        "hold" => {
            for p in packages {
                if !st.held.contains(p) {
                    st.held.push(p.clone());
                }
                println!("{p} set on hold.");
            }
        }
        "unhold" => {
            for p in packages {
                st.held.retain(|h| h != p);
                println!("Canceled hold on {p}.");
            }
        }
        "showhold" => {
            for p in &st.held {
                println!("{p}");
            }
            return Ok(());
        }
        other => return fail(100, format!("E: Invalid operation {other}")),
    }
    save_state(st)
}
