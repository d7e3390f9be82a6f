//! A real OpenSSH `sshd` on 127.0.0.1 with a throwaway host key and
//! authorized_keys, for tests (and later the lab). Everything lives in a temp
//! dir; the daemon is killed on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";

/// Fails the test when sshd cannot run here. The tests that call this are
/// `#[ignore]`d with that reason, so a bare `cargo test` lists them.
pub fn require_sshd() {
    assert!(
        Path::new(SSHD).exists() && which("ssh-keygen"),
        "this test needs {SSHD} and ssh-keygen (apt-get install -y openssh-server); scripts/test runs it"
    );
}

fn which(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A key pair generated with `ssh-keygen`.
#[derive(Debug, Clone)]
pub struct KeyPair {
    pub private_path: PathBuf,
    pub private_pem: String,
    /// `type base64` (no comment).
    pub public: String,
}

/// Generates an unencrypted ed25519 key pair at `path` (and `path.pub`).
pub fn keygen(path: &Path) -> KeyPair {
    keygen_with_passphrase(path, "")
}

/// Generates an ed25519 key pair at `path`, encrypted with `passphrase` unless empty.
pub fn keygen_with_passphrase(path: &Path, passphrase: &str) -> KeyPair {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", passphrase, "-C", "test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen failed");
    let private_pem = std::fs::read_to_string(path).expect("read private key");
    let pub_line = std::fs::read_to_string(path.with_extension("pub")).expect("read public key");
    let public = pub_line.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    KeyPair { private_path: path.to_owned(), private_pem, public }
}

/// A free TCP port on 127.0.0.1 (racy but fine for tests: the kernel does not
/// hand the same ephemeral port out again immediately).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// The name of the user tests log in as (the current user).
pub fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A running sshd.
#[derive(Debug)]
pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub host_key: KeyPair,
    /// A client key already in authorized_keys.
    pub client_key: KeyPair,
    pub user: String,
    child: Child,
}

impl Sshd {
    /// Starts sshd with one authorized client key and waits until it listens.
    pub fn start() -> Sshd {
        let dir = tempfile::tempdir().expect("tempdir");
        let host_key = keygen(&dir.path().join("host_ed25519"));
        let client_key = keygen(&dir.path().join("client_ed25519"));
        let authorized = dir.path().join("authorized_keys");
        std::fs::write(&authorized, format!("{}\n", client_key.public)).expect("write authorized_keys");
        // sshd insists on its privilege-separation directory existing.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = free_port();
        let config = dir.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nAuthorizedKeysFile {ak}\n\
                 StrictModes no\nUsePAM no\nPidFile none\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
                 AllowTcpForwarding yes\nLogLevel ERROR\n",
                hk = host_key.private_path.display(),
                ak = authorized.display(),
            ),
        )
        .expect("write sshd_config");
        // The log goes to a file: the readiness probe below makes sshd log a
        // closed connection, which would only be noise in test output.
        let log = std::fs::File::create(dir.path().join("sshd.log")).expect("create sshd.log");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn sshd");
        let sshd = Sshd { dir, port, host_key, client_key, user: current_user(), child };
        sshd.wait_listening();
        sshd
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("sshd did not listen on 127.0.0.1:{} within 5 s; log:\n{}", self.port, self.log());
    }

    /// What sshd wrote to stderr so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Generates another key pair in this sshd's temp dir (not authorized).
    pub fn extra_key(&self, name: &str) -> KeyPair {
        keygen(&self.dir.path().join(name))
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real `ssh-agent` on a socket in a temp dir, killed on drop.
#[derive(Debug)]
pub struct Agent {
    _dir: tempfile::TempDir,
    pub socket: PathBuf,
    child: Child,
}

impl Agent {
    pub fn start() -> Agent {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ssh-agent");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "ssh-agent socket did not appear");
            std::thread::sleep(Duration::from_millis(20));
        }
        Agent { _dir: dir, socket, child }
    }

    pub fn add(&self, key: &KeyPair) {
        let status = Command::new("ssh-add")
            .arg("-q")
            .arg(&key.private_path)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stdin(Stdio::null())
            .status()
            .expect("run ssh-add");
        assert!(status.success(), "ssh-add failed");
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
