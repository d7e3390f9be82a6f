//! A real `atlantis server` (`HOMELAB_PEER_ATLANTIS`, built by scripts/peers)
//! wired to a local Gitea, set up the way this repository tells a user to
//! run it: the server-side `atlantis/repos.yaml` (the workflow, the apply
//! and import requirements), `--tf-download=false` with the CLI of the test
//! matrix on PATH, tflint on PATH, and our providers installed from a
//! filesystem mirror through the CLI configuration `atlantis/terraformrc`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use super::forge::{Gitea, User, free_port, peer, wait_until_healthy};
use super::{Cli, mirror, repo_file};

/// What the server is pointed at.
pub struct Setup<'a> {
    pub gitea: &'a Gitea,
    /// The account Atlantis comments as.
    pub bot: &'a User,
    pub webhook_secret: &'a str,
    /// `HOST/OWNER/NAME` as Atlantis names the repository (the host
    /// without its port).
    pub repo_id: &'a str,
    /// The CLI of the test matrix (`TF_ACC_TERRAFORM`).
    pub terraform: &'a Path,
}

/// One running `atlantis server`, killed on drop.
pub struct Atlantis {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Drop for Atlantis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `text` with `from` replaced by `to`; panics when `from` is not there, so
/// a change to the committed file cannot silently bypass the test.
fn replaced(text: &str, from: &str, to: &str, what: &str) -> String {
    assert!(text.contains(from), "{what} no longer holds {from:?}: update the pull-request flow test");
    text.replace(from, to)
}

/// atlantis/repos.yaml for the test's repository.
pub fn server_repo_config(repo_id: &str) -> String {
    replaced(
        &repo_file("atlantis/repos.yaml"),
        "id: github.com/your-user/homelab-k8s",
        &format!("id: {repo_id}"),
        "atlantis/repos.yaml",
    )
}

/// atlantis/terraformrc with the image's paths replaced by the test's: our
/// providers from the test mirror (the image's layout), and, since no
/// registry can be reached here, the others from the peers' mirror instead
/// of `direct`.
fn cli_config(plugin_cache: &Path) -> String {
    let peers = std::env::var("HOMELAB_PEER_MIRROR").expect("HOMELAB_PEER_MIRROR (scripts/peers)");
    let text = repo_file("atlantis/terraformrc");
    let text =
        replaced(&text, "/usr/local/share/terraform/plugins", &mirror().display().to_string(), "atlantis/terraformrc");
    let text = replaced(
        &text,
        "  direct {\n    exclude = [\"terraform.local/*/*\"]\n  }",
        &format!(
            "  filesystem_mirror {{\n    path    = \"{peers}\"\n    include = [\"registry.terraform.io/*/*\", \"registry.opentofu.org/*/*\"]\n  }}"
        ),
        "atlantis/terraformrc",
    );
    replaced(
        &text,
        "/home/atlantis/.terraform.d/plugin-cache",
        &plugin_cache.display().to_string(),
        "atlantis/terraformrc",
    )
}

/// The CLI as Atlantis finds it with downloads off: `tofu`/`terraform` and
/// `tofuX.Y.Z`/`terraformX.Y.Z` on PATH, beside tflint.
fn bin_dir(dir: &Path, terraform: &Path, cli: Cli) -> (PathBuf, String) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let name = if cli.opentofu { "tofu" } else { "terraform" };
    let version = cli.version_text();
    for link in [name.to_owned(), format!("{name}{version}")] {
        std::os::unix::fs::symlink(terraform, bin.join(link)).expect("link the CLI");
    }
    let tflint = std::env::var("HOMELAB_PEER_TFLINT").expect("HOMELAB_PEER_TFLINT (scripts/peers)");
    std::os::unix::fs::symlink(tflint, bin.join("tflint")).expect("link tflint");
    (bin, version)
}

impl Atlantis {
    /// Starts the server and waits for `/healthz`.
    pub fn start(setup: &Setup) -> Self {
        let binary = peer("HOMELAB_PEER_ATLANTIS");
        let dir = tempfile::tempdir().expect("atlantis dir");
        let port = free_port();
        let cli = Cli::detect(setup.terraform);
        let (bin, version) = bin_dir(dir.path(), setup.terraform, cli);
        let repos = dir.path().join("repos.yaml");
        std::fs::write(&repos, server_repo_config(setup.repo_id)).expect("repos.yaml");
        let plugin_cache = dir.path().join("plugin-cache");
        std::fs::create_dir_all(&plugin_cache).expect("plugin cache");
        let rc = dir.path().join("terraformrc");
        std::fs::write(&rc, cli_config(&plugin_cache)).expect("terraformrc");
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        let log = std::fs::File::create(dir.path().join("atlantis.log")).expect("atlantis log");
        let distribution = if cli.opentofu { "opentofu" } else { "terraform" };
        let child = Command::new(binary)
            .arg("server")
            .args(["--port", &port.to_string(), "--atlantis-url", &format!("http://127.0.0.1:{port}")])
            .args(["--data-dir", &dir.path().join("data").display().to_string()])
            .args(["--gitea-base-url", &setup.gitea.url(), "--gitea-user", &setup.bot.name])
            .args(["--gitea-token", &setup.bot.token, "--gitea-webhook-secret", setup.webhook_secret])
            .args(["--repo-allowlist", setup.repo_id, "--repo-config", &repos.display().to_string()])
            .args(["--tf-download=false", "--default-tf-distribution", distribution, "--default-tf-version", &version])
            // Debug logs carry every comment Atlantis posts: the secret scan
            // reads them too.
            .args(["--log-level", "debug"])
            .env("PATH", path)
            .env("HOME", dir.path())
            .env("TF_CLI_CONFIG_FILE", &rc)
            .env("TF_IN_AUTOMATION", "true")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_CLI_ARGS")
            .env_remove("TF_PLUGIN_CACHE_DIR")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start atlantis server");
        let mut atlantis = Self { port, dir, child };
        atlantis.wait_healthy();
        atlantis
    }

    fn wait_healthy(&mut self) {
        let url = format!("{}/healthz", self.url());
        let log = self.dir.path().join("atlantis.log");
        wait_until_healthy(&mut self.child, "atlantis server", &url, || {
            std::fs::read_to_string(&log).unwrap_or_default()
        });
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Everything the server logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("atlantis.log")).unwrap_or_default()
    }

    /// The locks Atlantis holds (`GET /api/locks`): `(pull number, path)`.
    pub fn locks(&self) -> Vec<(u64, String)> {
        let output = Command::new("curl").args(["-fsS", &format!("{}/api/locks", self.url())]).output().expect("curl");
        assert!(output.status.success(), "GET /api/locks: {}", super::text(&output));
        let body: serde_json::Value = serde_json::from_slice(&output.stdout).expect("locks JSON");
        body["Locks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| {
                // PullID is a JSON string (`json:",string"` in Atlantis).
                let pull = l["PullID"].as_str().and_then(|n| n.parse().ok()).or_else(|| l["PullID"].as_u64());
                (pull.expect("PullID"), l["ProjectRepoPath"].as_str().unwrap_or("").to_owned())
            })
            .collect()
    }
}
