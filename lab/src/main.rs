//! `homelab-lab up [--hosts N] [--init-ms MS] [--join-ms MS] [--dir DIR] | status | down | fault HOST KNOB VALUE`
use std::path::PathBuf;
use std::process::ExitCode;

use homelab_lab::Lab;

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("homelab-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<(), String> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut dir = PathBuf::from(std::env::var("LAB_DIR").unwrap_or_else(|_| "/tmp/homelab-lab".into()));
    let mut hosts = 3usize;
    let (mut init_ms, mut join_ms) = (0u64, 0u64);
    let mut rest = Vec::new();
    let mut it = args.drain(..);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dir" => dir = it.next().ok_or("--dir needs a value")?.into(),
            "--hosts" => {
                hosts = it.next().ok_or("--hosts needs a value")?.parse().map_err(|_| "--hosts wants a number")?
            }
            "--init-ms" | "--join-ms" => {
                let v = it
                    .next()
                    .ok_or("--init-ms/--join-ms need a value")?
                    .parse()
                    .map_err(|_| "--init-ms/--join-ms want milliseconds")?;
                if a == "--init-ms" { init_ms = v } else { join_ms = v }
            }
            _ => rest.push(a),
        }
    }
    let mut lab = Lab::new(&dir)?;
    lab.init_ms = init_ms;
    lab.join_ms = join_ms;
    match rest.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["up"] => {
            // node-sim is built next to this binary; LAB_NODE_SIM overrides.
            let sim = match std::env::var_os("LAB_NODE_SIM") {
                Some(p) => PathBuf::from(p),
                None => std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("node-sim"),
            };
            let info = lab.up(hosts, &sim)?;
            println!("{}", serde_json::to_string_pretty(&info).map_err(|e| e.to_string())?);
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
        ["fault", host, knob, value] => lab.fault(host, knob, value),
        _ => Err("usage: homelab-lab [--dir DIR] up [--hosts N] [--init-ms MS] [--join-ms MS] | status | down | fault HOST KNOB VALUE".into()),
    }
}
