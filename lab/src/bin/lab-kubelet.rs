//! The kubelet stand-in of the real-Kubernetes lab (see
//! `homelab_lab::kubelet`). Started by `homelab-lab up --real` in each
//! host's namespaces.
//!
//! Usage: lab-kubelet NAME ADDRESS BIN_DIR STATE_FILE LOG_DIR VERSION VERSIONS_DIR

use std::path::PathBuf;
use std::process::ExitCode;

use homelab_lab::kubelet::{Options, run};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, address, bin, state, logs, version, versions] = args.as_slice() else {
        eprintln!("usage: lab-kubelet NAME ADDRESS BIN_DIR STATE_FILE LOG_DIR VERSION VERSIONS_DIR");
        return ExitCode::from(2);
    };
    let opts = Options {
        name: name.clone(),
        address: address.clone(),
        bin: PathBuf::from(bin),
        state: PathBuf::from(state),
        logs: PathBuf::from(logs),
        version: version.clone(),
        versions: PathBuf::from(versions),
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lab-kubelet: {e}");
            ExitCode::FAILURE
        }
    }
}
