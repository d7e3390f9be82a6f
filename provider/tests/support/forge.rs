//! A local Gitea (`HOMELAB_PEER_GITEA`, built by scripts/peers) for the
//! pull-request flow: SQLite, loopback only, no SSH, no mail, no
//! registration, webhooks allowed to loopback only. One instance per test,
//! in its own temporary directory, killed on drop.
//!
//! The API is driven with `curl` and the repository with `git`, the two
//! tools a user would use too; no client library stands in for Gitea.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::text;

/// Paths of the Gitea peer: its binary and static files.
pub fn gitea_peer() -> (PathBuf, PathBuf) {
    (peer("HOMELAB_PEER_GITEA"), peer("HOMELAB_PEER_GITEA_STATIC"))
}

/// A peer binary or directory from `peers.env`.
pub fn peer(var: &str) -> PathBuf {
    super::required(
        std::env::var_os(var).map(PathBuf::from).filter(|path| path.exists()),
        &format!("{var} (an existing path)"),
    )
}

/// A free loopback port (bound, then released for the server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

/// Waits up to 60 s for `url` to answer 2xx, while `child` (the server
/// called `what`) runs; panics with `log()` if it exits or never answers.
pub fn wait_until_healthy(child: &mut Child, what: &str, url: &str, log: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let probe = Command::new("curl").args(["-fs", "-o", "/dev/null", url]).status();
        if probe.is_ok_and(|s| s.success()) {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}):\n{}", log());
        }
        assert!(Instant::now() < deadline, "{what} did not answer {url} in 60 s:\n{}", log());
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A Gitea account and its API token (scope `all`).
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub token: String,
}

/// Gitea's binary, its app.ini and its work directory.
struct Install {
    binary: PathBuf,
    config: PathBuf,
    dir: tempfile::TempDir,
}

/// One running Gitea.
pub struct Gitea {
    pub port: u16,
    install: Install,
    child: Child,
}

impl Drop for Gitea {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// app.ini for a loopback-only, single-process Gitea in `work`.
fn app_ini(work: &Path, port: u16, static_root: &Path) -> String {
    let w = work.display();
    format!(
        "APP_NAME = homelab-test\nRUN_MODE = prod\nRUN_USER = {user}\nWORK_PATH = {w}\n\
         I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true\n\n\
         [server]\nPROTOCOL = http\nHTTP_ADDR = 127.0.0.1\nHTTP_PORT = {port}\n\
         ROOT_URL = http://127.0.0.1:{port}/\nDISABLE_SSH = true\nOFFLINE_MODE = true\n\
         STATIC_ROOT_PATH = {static_root}\nAPP_DATA_PATH = {w}/data\nLFS_START_SERVER = false\n\n\
         [database]\nDB_TYPE = sqlite3\nPATH = {w}/data/gitea.db\n\n\
         [repository]\nROOT = {w}/repositories\n\n\
         [security]\nINSTALL_LOCK = true\nSECRET_KEY = homelab-test-secret-key\n\
         ALLOWED_HOST_LIST = loopback\n\n\
         [service]\nDISABLE_REGISTRATION = true\nREQUIRE_SIGNIN_VIEW = true\n\n\
         [mailer]\nENABLED = false\n\n[cron.update_checker]\nENABLED = false\n\n\
         [indexer]\nISSUE_INDEXER_TYPE = db\nREPO_INDEXER_ENABLED = false\n\n\
         [log]\nMODE = file\nLEVEL = Info\nROOT_PATH = {w}/log\n",
        user = whoami(),
        static_root = static_root.display(),
    )
}

/// What Gitea in `dir` wrote: its output and its log file.
fn gitea_log(dir: &Path) -> String {
    let mut all = std::fs::read_to_string(dir.join("gitea.out")).unwrap_or_default();
    all.push_str(&std::fs::read_to_string(dir.join("log/gitea.log")).unwrap_or_default());
    all
}

fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Install {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args([
                "--config",
                &self.config.display().to_string(),
                "--work-path",
                &self.dir.path().display().to_string(),
            ])
            .args(args)
            .env("HOME", self.dir.path())
            .stdin(Stdio::null());
        command
    }

    /// Runs a `gitea` admin command; panics with its output on failure.
    fn cli(&self, args: &[&str]) -> String {
        let output = self.command(args).output().expect("run gitea");
        assert!(output.status.success(), "gitea {args:?} failed:\n{}", text(&output));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Gitea {
    /// Initialises the database and starts `gitea web`.
    pub fn start() -> Self {
        let (binary, static_root) = gitea_peer();
        let dir = tempfile::tempdir().expect("gitea dir");
        let port = free_port();
        let config = dir.path().join("app.ini");
        std::fs::write(&config, app_ini(dir.path(), port, &static_root)).expect("app.ini");
        let install = Install { binary, config, dir };
        install.cli(&["migrate"]);
        let log = std::fs::File::create(install.dir.path().join("gitea.out")).expect("gitea log");
        let child = install
            .command(&["web"])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start gitea web");
        let mut gitea = Self { port, install, child };
        gitea.wait_healthy();
        gitea
    }

    fn wait_healthy(&mut self) {
        let url = format!("{}/api/healthz", self.url());
        let dir = self.install.dir.path().to_path_buf();
        wait_until_healthy(&mut self.child, "gitea web", &url, || gitea_log(&dir));
    }

    /// Gitea's own output and log files.
    pub fn log(&self) -> String {
        gitea_log(self.install.dir.path())
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates an account (an administrator when `admin`) and an API token.
    pub fn create_user(&self, name: &str, admin: bool) -> User {
        let email = format!("{name}@homelab.test");
        let password = format!("{name}-Passw0rd!");
        let mut args = vec![
            "admin",
            "user",
            "create",
            "--username",
            name,
            "--email",
            &email,
            "--password",
            &password,
            "--must-change-password=false",
        ];
        if admin {
            args.push("--admin");
        }
        self.install.cli(&args);
        let token = self.install.cli(&[
            "admin",
            "user",
            "generate-access-token",
            "--username",
            name,
            "--token-name",
            "test",
            "--scopes",
            "all",
            "--raw",
        ]);
        User { name: name.to_owned(), token }
    }

    /// One API call as `user`: `METHOD /api/v1PATH` with a JSON body; the
    /// response JSON (null for an empty body). Panics on an HTTP error.
    pub fn api(&self, user: &User, method: &str, path: &str, body: Option<&serde_json::Value>) -> serde_json::Value {
        let url = format!("{}/api/v1{path}", self.url());
        let auth = format!("Authorization: token {}", user.token);
        let mut args = vec!["-sS", "--fail-with-body", "-X", method, "-H", &auth, "-H", "Accept: application/json"];
        let data;
        if let Some(body) = body {
            data = body.to_string();
            args.extend(["-H", "Content-Type: application/json", "--data-binary", &data]);
        }
        args.push(&url);
        let output = Command::new("curl").args(&args).output().expect("run curl");
        let out = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{method} {path} as {}: {}\n{out}", user.name, text(&output));
        if out.trim().is_empty() { serde_json::Value::Null } else { serde_json::from_str(&out).expect("API JSON") }
    }

    /// Waits until Gitea lists `branch` of `repo`: it records a push in a
    /// background queue, and a pull request from a branch it has not
    /// recorded yet is a 404.
    pub fn wait_for_branch(&self, user: &User, repo: &str, branch: &str) {
        let url = format!("{}/api/v1/repos/{repo}/branches/{branch}", self.url());
        let auth = format!("Authorization: token {}", user.token);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let status = Command::new("curl")
                .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", &auth, &url])
                .output()
                .expect("run curl");
            let code = String::from_utf8_lossy(&status.stdout).into_owned();
            if code == "200" {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "Gitea did not record branch {branch} within 60 s: {code}");
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    }

    /// `url` of a repository with `user`'s credentials, for git.
    pub fn git_url(&self, user: &User, repo: &str) -> String {
        format!("http://{}:{}@127.0.0.1:{}/{repo}.git", user.name, user.token, self.port)
    }
}

/// Runs git in `dir` as the author `user`; panics with its output on failure.
pub fn git(dir: &Path, user: &User, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", &format!("user.name={}", user.name), "-c", &format!("user.email={}@homelab.test", user.name)])
        .args(["-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("run git");
    assert!(output.status.success(), "git {args:?} failed:\n{}", text(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}
