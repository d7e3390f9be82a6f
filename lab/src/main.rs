//! `homelab-lab [--dir DIR] up --control-planes N --workers M [--init-ms MS] [--join-ms MS] [--out FILE]`
//! `| status | down | sessions | fault HOST KNOB VALUE | fault HOST replace | replace HOST | exec HOST CMD...`
//! `| apiserver --vip IP` (the latter is started by `up`).
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use homelab_lab::Lab;

const USAGE: &str = "usage: homelab-lab [--dir DIR] up --control-planes N --workers M [--real [--vip-forwarder] [--kubernetes-version 1.34.4]] [--init-ms MS] [--join-ms MS] [--out FILE]\n       homelab-lab [--dir DIR] status | down | sessions | fault HOST KNOB VALUE\n       homelab-lab [--dir DIR] replace HOST | fault HOST replace   (a replaced VM: new host key, empty disk)\n       homelab-lab [--dir DIR] exec HOST CMD [ARGS...]             (on the host, without SSH)";

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("homelab-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn num<T: std::str::FromStr>(it: &mut impl Iterator<Item = String>, name: &str) -> Result<T, String> {
    it.next().ok_or(format!("{name} needs a value"))?.parse().map_err(|_| format!("{name} wants a number"))
}

fn real_main() -> Result<(), String> {
    let mut dir = PathBuf::from(std::env::var("LAB_DIR").unwrap_or_else(|_| "/tmp/homelab-lab".into()));
    let (mut cps, mut workers, mut hosts) = (None, None, None);
    let (mut init_ms, mut join_ms) = (0u64, 0u64);
    let (mut out, mut vip) = (None::<PathBuf>, None::<String>);
    let (mut real, mut forward, mut vip_forwarder) = (false, None::<String>, false);
    let mut kubernetes_version = None::<String>;
    let mut rest = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            // Everything after `exec` belongs to the command run on the host.
            "exec" => {
                rest.push(a);
                rest.extend(it.by_ref());
                break;
            }
            "--dir" => dir = it.next().ok_or("--dir needs a value")?.into(),
            "--out" => out = Some(it.next().ok_or("--out needs a value")?.into()),
            "--vip" => vip = Some(it.next().ok_or("--vip needs a value")?),
            "--forward" => forward = Some(it.next().ok_or("--forward needs a value")?),
            "--real" => real = true,
            "--kubernetes-version" => kubernetes_version = Some(it.next().ok_or("--kubernetes-version needs a value")?),
            "--vip-forwarder" => vip_forwarder = true,
            "--control-planes" => cps = Some(num::<usize>(&mut it, &a)?),
            "--workers" => workers = Some(num::<usize>(&mut it, &a)?),
            // Old form: N hosts, all workers.
            "--hosts" => hosts = Some(num::<usize>(&mut it, &a)?),
            "--init-ms" => init_ms = num(&mut it, &a)?,
            "--join-ms" => join_ms = num(&mut it, &a)?,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => rest.push(a),
        }
    }
    let mut lab = Lab::new(&dir)?;
    lab.init_ms = init_ms;
    lab.join_ms = join_ms;
    // A real lab stays real: `replace` starts the new VM's kubelet stand-in.
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    if let Some(info) = lab.read_info().ok().filter(|info| info.real && rest.first().map(String::as_str) != Some("up"))
    {
        let peers = homelab_lab::real::RealPeers::from_env(&exe.with_file_name("lab-kubelet"))?;
        lab.real = Some(match &info.kubernetes_version {
            Some(version) => peers.starting_at(version)?,
            None => peers,
        });
    }
    match rest.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["up"] => {
            let (cps, workers) = match (cps, workers, hosts) {
                (None, None, Some(h)) => (0, h),
                (None, None, None) => (1, 2),
                (c, w, None) => (c.unwrap_or(0), w.unwrap_or(0)),
                _ => return Err("--hosts cannot be combined with --control-planes/--workers".into()),
            };
            // node-sim is built next to this binary; LAB_NODE_SIM overrides.
            let sim = match std::env::var_os("LAB_NODE_SIM") {
                Some(p) => PathBuf::from(p),
                None => exe.with_file_name("node-sim"),
            };
            if real {
                // The real kube-vip holds the VIP, unless the forwarder is asked for.
                let mut peers = homelab_lab::real::RealPeers::from_env(&exe.with_file_name("lab-kubelet"))?;
                if let Some(version) = &kubernetes_version {
                    peers = peers.starting_at(version)?;
                }
                lab.real = Some(if vip_forwarder { peers } else { peers.with_kube_vip()? });
            } else if vip_forwarder || kubernetes_version.is_some() {
                return Err("--vip-forwarder and --kubernetes-version need --real (the simulator serves the VIP itself and has one version)".into());
            }
            let start = Instant::now();
            let info = lab.up(cps, workers, &sim, &exe)?;
            let json = serde_json::to_string_pretty(&info).map_err(|e| e.to_string())?;
            if let Some(out) = out {
                std::fs::write(&out, &json).map_err(|e| format!("{}: {e}", out.display()))?;
                lab.record_out_file(&out)?;
            }
            println!("{json}");
            eprintln!(
                "homelab-lab: up {} hosts ({cps} control planes, {workers} workers) in {:.2}s; API server at https://{}",
                info.hosts.len(),
                start.elapsed().as_secs_f64(),
                info.api_server
            );
            Ok(())
        }
        ["status"] => {
            print!("{}", lab.status()?);
            Ok(())
        }
        ["down"] => {
            lab.down();
            Ok(())
        }
        ["sessions"] => {
            let s = lab.sessions()?;
            println!("{}", serde_json::to_string_pretty(&s).map_err(|e| e.to_string())?);
            Ok(())
        }
        ["fault", host, knob, value] => lab.fault(host, knob, value),
        ["fault", host, "replace"] | ["replace", host] => {
            let start = Instant::now();
            let entry = lab.replace(host)?;
            println!("{}", serde_json::to_string_pretty(&entry).map_err(|e| e.to_string())?);
            let out = lab.out_file().map(|p| format!(" and {}", p.display())).unwrap_or_default();
            eprintln!(
                "homelab-lab: replaced {host} in {:.2}s (new host key, empty disk); updated {}{out}",
                start.elapsed().as_secs_f64(),
                lab.info_path().display()
            );
            Ok(())
        }
        ["exec", host, argv @ ..] => {
            let argv = argv.strip_prefix(&["--"]).unwrap_or(argv);
            let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
            let code = lab.exec(host, &argv)?;
            std::process::exit(code)
        }
        ["etcd-sim", "--host", host] => homelab_lab::etcd_sim::serve(&lab.dir, host),
        ["apiserver"] => {
            let vip = vip.unwrap_or_else(|| lab.vip());
            match forward {
                Some(backends) => {
                    let backends: Vec<String> = backends.split(',').map(str::to_owned).collect();
                    homelab_lab::vip::forward(&vip, homelab_lab::apiserver::PORT, &backends)
                }
                None => homelab_lab::apiserver::serve(&lab.dir, &vip),
            }
        }
        _ => Err(USAGE.into()),
    }
}
