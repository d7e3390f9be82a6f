//! Shared harness for acceptance tests that drive the real `terraform` CLI.
//!
//! The binary comes from `TF_ACC_TERRAFORM` (scripts/test sets it to each
//! CLI of its matrix: OpenTofu 1.12 and 1.11, Terraform 1.5.7, ...). Without it a test is skipped locally and fails
//! under CI, so CI can never pass by running nothing.
#![allow(dead_code)]

pub mod atlantis;
pub mod example;
pub mod forge;
pub mod lab;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};

/// The provider version the mirror serves.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A file of this repository, by its path from the root.
pub fn repo_file(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What a test that needs something from scripts/peers says when it is
/// missing. Such tests are `#[ignore]`d with the reason, so a plain
/// `cargo test` lists them as ignored; scripts/test runs them
/// (`--include-ignored`) and they fail here, never pass silently.
pub fn required<T>(found: Option<T>, what: &str) -> T {
    found.unwrap_or_else(|| panic!("this test needs {what}; run it through scripts/test, which builds and sets it"))
}

/// The terraform (or tofu) binary the acceptance tests drive.
pub fn terraform_binary() -> PathBuf {
    required(std::env::var_os("TF_ACC_TERRAFORM").map(PathBuf::from), "TF_ACC_TERRAFORM (a terraform or tofu binary)")
}

/// Which CLI `TF_ACC_TERRAFORM` is: OpenTofu or Terraform, and its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cli {
    /// OpenTofu (else Terraform).
    pub opentofu: bool,
    /// (major, minor, patch).
    pub version: (u64, u64, u64),
}

impl Cli {
    /// Asks the binary (`version`), once per test process.
    pub fn detect(binary: &Path) -> Self {
        static CLI: OnceLock<Cli> = OnceLock::new();
        *CLI.get_or_init(|| {
            let output =
                Command::new(binary).arg("version").env_remove("TF_CLI_CONFIG_FILE").output().expect("version");
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            let first = text.lines().find(|l| l.contains(" v")).unwrap_or_default().to_string();
            let number = first.split(" v").nth(1).unwrap_or_default();
            let mut parts = number.split(['.', '-']).map(|p| p.parse::<u64>().unwrap_or(0));
            let mut next = || parts.next().unwrap_or(0);
            Cli { opentofu: first.starts_with("OpenTofu"), version: (next(), next(), next()) }
        })
    }

    /// The version as `X.Y.Z`.
    pub fn version_text(&self) -> String {
        let (major, minor, patch) = self.version;
        format!("{major}.{minor}.{patch}")
    }

    /// Whether this CLI speaks tfplugin6.10 and asks for resource identity
    /// schemas (Terraform 1.12+, OpenTofu 1.12+).
    pub fn calls_identity_rpcs(&self) -> bool {
        self.version >= (1, 12, 0)
    }
}

/// A filesystem mirror holding both provider binaries, built once per test
/// process in the unpacked layout `HOST/NAMESPACE/TYPE/VERSION/OS_ARCH/`.
pub fn mirror() -> &'static Path {
    static MIRROR: OnceLock<tempfile::TempDir> = OnceLock::new();
    MIRROR
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("mirror dir");
            for (kind, binary) in [
                ("cloudinit", env!("CARGO_BIN_EXE_terraform-provider-cloudinit")),
                ("kubeadm", env!("CARGO_BIN_EXE_terraform-provider-kubeadm")),
            ] {
                let target = dir.path().join(format!("terraform.local/homelab/{kind}/{VERSION}/linux_amd64"));
                std::fs::create_dir_all(&target).expect("mirror layout");
                // A link, not a copy: the mirror outlives the test process
                // (a static is never dropped), and a copy of each debug
                // binary per test process filled CI's disk.
                std::os::unix::fs::symlink(binary, target.join(format!("terraform-provider-{kind}_v{VERSION}")))
                    .expect("link provider into the mirror");
            }
            dir
        })
        .path()
}

/// One Terraform working directory with its own CLI configuration.
pub struct Workspace {
    pub terraform: PathBuf,
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

/// `required_providers` for the cloudinit provider from the local mirror.
pub fn cloudinit_required_providers() -> String {
    format!(
        r#"terraform {{
  required_providers {{
    cloudinit = {{
      source  = "terraform.local/homelab/cloudinit"
      version = "{VERSION}"
    }}
  }}
}}
"#
    )
}

impl Workspace {
    /// A workspace with `main.tf`.
    pub fn new(main_tf: &str) -> Self {
        let terraform = terraform_binary();
        let dir = tempfile::tempdir().expect("workspace dir");
        let cli_config = dir.path().join("terraform.rc");
        // Only the mirrors: a test must never reach a registry. The peers'
        // (scripts/peers) serves hashicorp/helm, which examples/lab requires.
        let peers = std::env::var("HOMELAB_PEER_MIRROR").map(|path| {
            format!(
                "  filesystem_mirror {{\n    path    = \"{path}\"\n    include = [\"registry.terraform.io/*/*\", \"registry.opentofu.org/*/*\"]\n  }}\n"
            )
        });
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"terraform.local/*/*\"]\n  }}\n{}}}\n",
                mirror().display(),
                peers.unwrap_or_default()
            ),
        )
        .expect("cli config");
        let workspace = Self {
            terraform,
            env: vec![
                ("TF_CLI_CONFIG_FILE".into(), cli_config.display().to_string()),
                ("TF_IN_AUTOMATION".into(), "1".into()),
                ("CHECKPOINT_DISABLE".into(), "1".into()),
                ("TF_INPUT".into(), "0".into()),
            ],
            dir,
        };
        workspace.write("main.tf", main_tf);
        workspace
    }

    /// Writes a file into the workspace.
    pub fn write(&self, name: &str, content: &str) {
        std::fs::write(self.dir.path().join(name), content).expect("write file");
    }

    /// Reads a file from the workspace.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).expect("read file")
    }

    /// The terraform command for `args` with the workspace's environment,
    /// not started (to run it in the background or signal it).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.terraform);
        command.args(args).current_dir(self.dir.path()).env_remove("TF_LOG").env_remove("TF_LOG_PROVIDER");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    /// Runs terraform with `args` plus extra environment.
    pub fn run_with_env(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let mut command = self.command(args);
        for (key, value) in extra_env {
            command.env(key, value);
        }
        command.output().expect("run terraform")
    }

    /// Runs terraform with `args`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(args, &[])
    }

    /// Runs terraform and panics with its output unless it exits 0.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "terraform {args:?} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `terraform init` from the mirror.
    pub fn init(&self) {
        self.ok(&["init", "-no-color", "-input=false"]);
    }

    /// `terraform output -json NAME` parsed.
    pub fn output_json(&self, name: &str) -> serde_json::Value {
        let text = self.ok(&["output", "-json", name]);
        serde_json::from_str(&text).expect("output json")
    }

    /// `terraform show -json` of the state.
    pub fn state_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["show", "-json"])).expect("state json")
    }
}

/// Combined stdout and stderr of a run.
pub fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// A tiny HTTP server on loopback standing in for `https://github.com`.
#[derive(Clone)]
pub struct KeyServer {
    pub base_url: String,
    responses: Arc<Mutex<HashMap<String, (u16, String)>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl KeyServer {
    /// Starts the server on 127.0.0.1 with an ephemeral port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind key server");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let server = Self { base_url, responses: Arc::default(), hits: Arc::default() };
        let handler = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request_line = String::new();
                let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                // Drain the headers.
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                    line.clear();
                }
                let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
                *handler.hits.lock().expect("hits").entry(path.clone()).or_default() += 1;
                let (status, body) = handler
                    .responses
                    .lock()
                    .expect("responses")
                    .get(&path)
                    .cloned()
                    .unwrap_or((404, "Not Found".into()));
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        server
    }

    /// Serves `body` with `status` at `path`.
    pub fn respond(&self, path: &str, status: u16, body: &str) {
        self.responses.lock().expect("responses").insert(path.to_string(), (status, body.to_string()));
    }

    /// How often `path` was requested.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().expect("hits").get(path).copied().unwrap_or(0)
    }
}

/// A valid ed25519 public key for fixtures.
pub const KEY_A: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPRorcDhkzdXt4p6daKcX0R5awYGoVdOJNEO/RX5ANqY octocat@example";
/// Another valid ed25519 public key.
pub const KEY_B: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbnvKoNREl8zsm5Y0qa2Ib0RGiFtJMrxrla1LI8pxMC octocat-new@example";

/// Runs the target OS's `cloud-init schema` (Debian 13's cloud-init 25.1,
/// in scripts/peers' chroot at `HOMELAB_CLOUD_INIT_ROOT`) on `document`.
pub fn cloud_init_schema(document: &str) -> (bool, String) {
    let root = required(
        std::env::var_os("HOMELAB_CLOUD_INIT_ROOT")
            .map(PathBuf::from)
            .filter(|r| r.join("usr/bin/cloud-init").exists()),
        "HOMELAB_CLOUD_INIT_ROOT (Debian 13's cloud-init in a chroot)",
    );
    let file = tempfile::Builder::new().suffix(".yaml").tempfile_in(root.join("tmp")).expect("temp file in the chroot");
    std::fs::write(file.path(), document).expect("write user-data");
    let inside = Path::new("/tmp").join(file.path().file_name().expect("temp name"));
    let output = Command::new("chroot")
        .arg(&root)
        .args(["cloud-init", "schema", "-c"])
        .arg(inside)
        .output()
        .expect("run chroot");
    (output.status.success(), text(&output))
}
