//! Local lab: N test hosts, each a network namespace with its own address and
//! a real OpenSSH `sshd`, plus per-host state read by the `node-sim` tools,
//! and a simulated HTTPS Kubernetes API server at a VIP ([`apiserver`]).
//!
//! Only loopback and namespaces/links created here are ever used: addresses
//! come from 10.213.X.0/24 on a bridge this lab creates; the VIP is
//! 10.213.X.200 on that bridge (root namespace), reachable from the hosts.

// Test infrastructure: a panic here fails a test run and never reaches a
// user's plugin; the workspace lints keep it out of the provider itself.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

pub mod apiserver;
pub mod cluster;
pub mod etcd_sim;
pub mod kubelet;
pub mod pki;
pub mod real;
pub mod vip;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Paths that each host sees as its own (bind-mounted per host).
pub const PRIVATE_PATHS: [(&str, &str); 5] = [
    ("etc-kubernetes", "/etc/kubernetes"),
    // The host's apt sources and pins, which an upgrade rewrites (never
    // this machine's).
    ("etc-apt", "/etc/apt"),
    ("var-lib-kubelet", "/var/lib/kubelet"),
    ("var-lib-etcd", "/var/lib/etcd"),
    ("var-lib-lab-node", "/var/lib/lab-node"),
];

/// Tool names installed as symlinks to `node-sim`.
pub const TOOLS: [&str; 5] = ["kubeadm", "kubectl", "cloud-init", "systemctl", "containerd"];
/// What `node-sim` still stands in for on a real-Kubernetes host: the VM's
/// cloud-init, its init system, its package manager (which links the
/// host's kubeadm, kubelet and kubectl to another version's binaries) and
/// its container runtime's CLI. (No crictl: a Debian 13 node built by our
/// cloud-init has none.)
pub const REAL_HOST_TOOLS: [&str; 5] = ["cloud-init", "systemctl", "containerd", "apt-get", "apt-mark"];
/// The packages pkgs.k8s.io ships, held on a node (as our cloud-init holds them).
pub const KUBERNETES_PACKAGES: [&str; 3] = ["kubelet", "kubeadm", "kubectl"];

/// One host as written to `lab.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostInfo {
    /// `cp-N` or `wk-N`.
    pub name: String,
    /// `control-plane` or `worker`.
    pub role: String,
    pub address: String,
    pub ssh_port: u16,
    pub user: String,
    /// OpenSSH one-line form (`ssh-ed25519 AAAA... name`).
    pub host_public_key: String,
    /// The lab's private key (same for all hosts).
    pub private_key: PathBuf,
    pub netns: String,
    pub sshd_pid: u32,
}

/// The whole lab as written to `DIR/lab.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabInfo {
    pub prefix: String,
    pub dir: PathBuf,
    pub bridge: String,
    pub gateway: String,
    /// API server VIP (an extra address on the bridge).
    pub vip: String,
    /// `VIP:6443`.
    pub api_server: String,
    pub apiserver_pid: u32,
    /// Real kubeadm, etcd and API servers (`up --real`), not node-sim's.
    #[serde(default)]
    pub real: bool,
    /// The real binaries' Kubernetes version (`1.35.4`), in real mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// The real kube-vip holds the VIP (`up --real`, unless
    /// `--vip-forwarder`); there is no forwarder then (`apiserver_pid` is 0).
    #[serde(default)]
    pub kube_vip: bool,
    pub private_key: PathBuf,
    pub hosts: Vec<HostInfo>,
}

/// Per-host simulator state in `/var/lib/lab-node/state.json` (as the host
/// sees it); the lab writes defaults and fault knobs into it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostState {
    /// `done`, `error`, or `running`.
    pub cloud_init: String,
    /// Unix seconds until which `running` lasts; then it reads `done`.
    #[serde(default)]
    pub cloud_init_running_until: u64,
    pub services: BTreeMap<String, bool>,
    pub kubeadm_version: String,
    /// "tool sub" names whose next invocation exits 1 once.
    #[serde(default)]
    pub fail_once: Vec<String>,
    /// Extra sleep inside slow steps, milliseconds.
    #[serde(default)]
    pub slow_ms: u64,
    /// "tool sub" names that print part of their output then kill the session.
    #[serde(default)]
    pub drop_in: Vec<String>,
    /// The host's link is down (`fault H sshd down`): its Node reads NotReady.
    #[serde(default)]
    pub host_down: bool,
    /// Packages on hold (`apt-mark hold`).
    #[serde(default)]
    pub held: Vec<String>,
    /// How often each service was started or restarted (the kubelet
    /// stand-in reads its version again when its count moves).
    #[serde(default)]
    pub starts: BTreeMap<String, u64>,
}

impl Default for HostState {
    fn default() -> Self {
        let mut services = BTreeMap::new();
        services.insert("containerd".to_string(), true);
        services.insert("kubelet".to_string(), false);
        HostState {
            cloud_init: "done".into(),
            cloud_init_running_until: 0,
            services,
            kubeadm_version: "v1.35.0".into(),
            fail_once: Vec::new(),
            slow_ms: 0,
            drop_in: Vec::new(),
            host_down: false,
            held: Vec::new(),
            starts: BTreeMap::new(),
        }
    }
}

pub type Result<T> = std::result::Result<T, String>;

/// A real lab host's own bin directory, in lab directory `dir`.
pub fn host_bin_of(dir: &Path, host: &str) -> PathBuf {
    dir.join("hosts").join(host).join("bin")
}

/// `vX.Y.Z/NAME` for every Kubernetes version of a real lab in `dir`.
pub fn versions_of(dir: &Path) -> PathBuf {
    dir.join("versions")
}

fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Best effort: teardown must go on past errors.
fn run_quiet(cmd: &mut Command) {
    let _ = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status();
}

/// A lab rooted at a directory; names derive from the directory's hash so
/// parallel labs do not collide.
#[derive(Debug, Clone)]
pub struct Lab {
    pub dir: PathBuf,
    pub prefix: String,
    /// Third octet of 10.213.X.0/24.
    pub subnet: u8,
    /// Simulated `kubeadm init` / `join` durations, ms (set as session env).
    pub init_ms: u64,
    pub join_ms: u64,
    /// Real Kubernetes on the hosts (`up --real`), with these binaries.
    pub real: Option<real::RealPeers>,
}

impl Lab {
    pub fn new(dir: &Path) -> Result<Lab> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let dir = dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))?;
        let hash = Sha256::digest(dir.as_os_str().as_encoded_bytes());
        let prefix: String = hash[..3].iter().map(|b| format!("{b:02x}")).collect();
        // 1..=250 keeps clear of .0 and .255 style oddities. `up` starts
        // from this one and records the one it claimed in `DIR/subnet`.
        let recorded = fs::read_to_string(dir.join(SUBNET_FILE)).ok().and_then(|s| s.trim().parse::<u8>().ok());
        let subnet = recorded.filter(|s| (1..=250).contains(s)).unwrap_or(hash[3] % 250 + 1);
        Ok(Lab { dir, prefix, subnet, init_ms: 0, join_ms: 0, real: None })
    }

    /// Claims a free 10.213.X.0/24 for this lab, starting from the current
    /// (hash-derived) one: 250 subnets for arbitrary directories collide
    /// often (10 parallel labs: ~17%), so a subnet is taken only when no
    /// interface on this machine uses it and a claim file
    /// (`/run/homelab-lab/subnet-X`, created exclusively) says it is ours.
    /// A claim whose lab no longer records that subnet is stale (a lab dir
    /// removed without `down`) and is taken over.
    fn claim_subnet(&mut self) -> Result<()> {
        let claims = claims_dir();
        fs::create_dir_all(&claims).map_err(|e| format!("{}: {e}", claims.display()))?;
        let in_use = run(Command::new("ip").args(["-o", "-4", "addr", "show"])).unwrap_or_default();
        let me = self.dir.as_os_str().as_encoded_bytes();
        for k in 0..250u16 {
            let subnet = ((u16::from(self.subnet) - 1 + k) % 250 + 1) as u8;
            if in_use.contains(&format!(" 10.213.{subnet}.")) {
                continue;
            }
            let claim = claims.join(format!("subnet-{subnet}"));
            for _ in 0..2 {
                match fs::OpenOptions::new().write(true).create_new(true).open(&claim) {
                    Ok(mut f) => {
                        io::Write::write_all(&mut f, me).map_err(|e| e.to_string())?;
                        self.subnet = subnet;
                        return fs::write(self.dir.join(SUBNET_FILE), subnet.to_string()).map_err(|e| e.to_string());
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        let owner = PathBuf::from(std::ffi::OsString::from(
                            String::from_utf8_lossy(&fs::read(&claim).unwrap_or_default()).into_owned(),
                        ));
                        let owner_subnet = fs::read_to_string(owner.join(SUBNET_FILE)).ok();
                        if owner_subnet.is_some_and(|s| s.trim() == subnet.to_string()) {
                            break; // taken
                        }
                        // Stale: retry once after removing it.
                        let _ = fs::remove_file(&claim);
                    }
                    Err(e) => return Err(format!("{}: {e}", claim.display())),
                }
            }
        }
        Err("no free subnet in 10.213.1-250.0/24".into())
    }

    /// Gives up this lab's subnet claim (only when the claim is ours).
    fn release_subnet(&self) {
        let claim = claims_dir().join(format!("subnet-{}", self.subnet));
        if fs::read(&claim).is_ok_and(|owner| owner == self.dir.as_os_str().as_encoded_bytes()) {
            let _ = fs::remove_file(&claim);
        }
        let _ = fs::remove_file(self.dir.join(SUBNET_FILE));
    }

    pub fn bridge(&self) -> String {
        format!("lb{}", self.prefix)
    }
    pub fn netns(&self, host: &str) -> String {
        format!("lab-{}-{host}", self.prefix)
    }
    pub fn gateway(&self) -> String {
        format!("10.213.{}.254", self.subnet)
    }
    pub fn vip(&self) -> String {
        format!("10.213.{}.200", self.subnet)
    }
    /// Host names and roles: control planes `cp-1..N`, then workers `wk-1..M`.
    pub fn host_names(control_planes: usize, workers: usize) -> Vec<(String, &'static str)> {
        (1..=control_planes)
            .map(|i| (format!("cp-{i}"), "control-plane"))
            .chain((1..=workers).map(|i| (format!("wk-{i}"), "worker")))
            .collect()
    }
    /// The directory first on a host's PATH: its own in a real lab (its
    /// packages move one host at a time), the lab's shared one otherwise.
    pub fn host_bin(&self, host: &str) -> PathBuf {
        let own = host_bin_of(&self.dir, host);
        if own.is_dir() { own } else { self.dir.join("bin") }
    }

    /// Every Kubernetes version's binaries (real labs).
    pub fn versions_dir(&self) -> PathBuf {
        versions_of(&self.dir)
    }

    /// node-sim's tools and the real binaries, linked into `bin`.
    fn fill_real_bin(&self, real: &real::RealPeers, bin: &Path, sim: &Path) -> Result<()> {
        for tool in REAL_HOST_TOOLS {
            std::os::unix::fs::symlink(sim, bin.join(tool)).map_err(|e| e.to_string())?;
        }
        real.install(bin, &self.versions_dir())
    }

    /// A real lab host's own bin directory, filled like the shared one
    /// (`shared`); the shared one in a simulated lab.
    fn host_bin_for(&self, host: &str, shared: &Path) -> Result<PathBuf> {
        let Some(real) = &self.real else { return Ok(shared.to_path_buf()) };
        let bin = host_bin_of(&self.dir, host);
        fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
        let sim = fs::read_link(shared.join(REAL_HOST_TOOLS[0])).map_err(|e| format!("node-sim link: {e}"))?;
        self.fill_real_bin(real, &bin, &sim)?;
        Ok(bin)
    }

    /// A booted node's state: in a real lab with the Kubernetes packages
    /// held, as our cloud-init leaves them.
    fn fresh_state(&self) -> HostState {
        let mut state = HostState::default();
        if self.real.is_some() {
            state.held = KUBERNETES_PACKAGES.iter().map(|p| (*p).to_owned()).collect();
        }
        state
    }

    /// A real lab host's pkgs.k8s.io source and patch pin for the version
    /// it starts at, the files our cloud-init writes.
    fn seed_apt(&self, host: &str) -> Result<()> {
        let Some(real) = &self.real else { return Ok(()) };
        let version = real.version.trim_start_matches('v');
        let minor = version.rsplit_once('.').map_or(version, |(minor, _)| minor);
        let apt = self.host_dir(host).join("etc-apt");
        let write = |path: &str, text: String| {
            let file = apt.join(path);
            fs::create_dir_all(file.parent().unwrap_or(&apt)).map_err(|e| e.to_string())?;
            fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))
        };
        write(
            "sources.list.d/kubernetes.list",
            format!(
                "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v{minor}/deb/ /\n"
            ),
        )?;
        write(
            "preferences.d/kubernetes.pref",
            format!("Package: {}\nPin: version {version}-*\nPin-Priority: 1001\n", KUBERNETES_PACKAGES.join(" ")),
        )
    }

    pub fn host_dir(&self, host: &str) -> PathBuf {
        self.dir.join("hosts").join(host)
    }
    pub fn state_path(&self, host: &str) -> PathBuf {
        self.host_dir(host).join("var-lib-lab-node/state.json")
    }
    pub fn info_path(&self) -> PathBuf {
        self.dir.join("lab.json")
    }

    pub fn read_info(&self) -> Result<LabInfo> {
        let text = fs::read_to_string(self.info_path()).map_err(|e| format!("lab.json: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("lab.json: {e}"))
    }

    /// Creates `control_planes + workers` hosts and the API server process
    /// (`lab_exe apiserver`); tears down any previous lab in the same directory first.
    pub fn up(&mut self, control_planes: usize, workers: usize, node_sim: &Path, lab_exe: &Path) -> Result<LabInfo> {
        if self.dir.starts_with("/root") {
            return Err("the lab directory must not be under /root (each host mounts its own /root)".into());
        }
        let n = control_planes + workers;
        if n == 0 || n > MAX_HOSTS {
            return Err(format!("control planes + workers must be 1..={MAX_HOSTS}"));
        }
        self.down();
        fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
        self.claim_subnet()?;
        let this: &Lab = self;
        this.up_claimed(control_planes, workers, node_sim, lab_exe)
    }

    fn up_claimed(&self, control_planes: usize, workers: usize, node_sim: &Path, lab_exe: &Path) -> Result<LabInfo> {
        let n = control_planes + workers;
        let key = self.dir.join("id_ed25519");
        run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", "lab", "-f"]).arg(&key))?;
        fs::copy(key.with_extension("pub"), self.dir.join("authorized_keys")).map_err(|e| e.to_string())?;

        let bin = self.dir.join("bin");
        fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
        let sim = node_sim.canonicalize().map_err(|e| format!("{}: {e}", node_sim.display()))?;
        match &self.real {
            None => {
                for tool in TOOLS {
                    std::os::unix::fs::symlink(&sim, bin.join(tool)).map_err(|e| e.to_string())?;
                }
            }
            Some(real) => {
                real.install_versions(&self.versions_dir())?;
                self.fill_real_bin(real, &bin, &sim)?;
            }
        }

        // sshd's privilege separation directory and the mount points; the
        // latter stay empty in the root namespace.
        for p in ["/run/sshd"].into_iter().chain(PRIVATE_PATHS.iter().map(|(_, p)| *p)) {
            fs::create_dir_all(p).map_err(|e| format!("{p}: {e}"))?;
        }

        let br = self.bridge();
        run(Command::new("ip").args(["link", "add", &br, "type", "bridge"]))?;
        run(Command::new("ip").args(["addr", "add", &format!("{}/24", self.gateway()), "dev", &br]))?;
        // With the real kube-vip the VIP is its to hold, on a control plane.
        let kube_vip = self.real.as_ref().is_some_and(|r| r.kube_vip.is_some());
        if !kube_vip {
            run(Command::new("ip").args(["addr", "add", &format!("{}/32", self.vip()), "dev", &br]))?;
        }
        run(Command::new("ip").args(["link", "set", &br, "up"]))?;

        // Hosts in parallel: each is a handful of `ip` calls, ssh-keygen and a spawn.
        let names = Self::host_names(control_planes, workers);
        let mut results: Vec<Option<Result<HostInfo>>> = (0..n).map(|_| None).collect();
        let threads = 8.min(n);
        std::thread::scope(|sc| {
            let chunks: Vec<_> = results.chunks_mut(n.div_ceil(threads)).enumerate().collect();
            let per = n.div_ceil(threads);
            for (c, chunk) in chunks {
                let (names, bin, key) = (&names, &bin, &key);
                sc.spawn(move || {
                    for (j, slot) in chunk.iter_mut().enumerate() {
                        let i = c * per + j;
                        *slot = Some(self.host_up(i, &names[i].0, names[i].1, bin, key));
                    }
                });
            }
        });
        let mut hosts = Vec::new();
        for r in results {
            hosts.push(r.ok_or("host thread did not run")??);
        }
        let vip = self.vip();
        let apiserver_pid = if kube_vip { 0 } else { self.spawn_vip_server(lab_exe, &hosts)? };
        let info = LabInfo {
            prefix: self.prefix.clone(),
            dir: self.dir.clone(),
            bridge: br,
            gateway: self.gateway(),
            api_server: format!("{vip}:{}", apiserver::PORT),
            vip,
            apiserver_pid,
            real: self.real.is_some(),
            kube_vip,
            kubernetes_version: self.real.as_ref().map(|r| r.version.trim_start_matches('v').to_owned()),
            private_key: key,
            hosts,
        };
        self.write_info(&info)?;
        // Wait until every sshd listens, so callers can ssh right away.
        for h in &info.hosts {
            wait_port(&h.address, h.ssh_port, Duration::from_secs(10))
                .map_err(|e| format!("host {}: sshd not listening: {e}", h.name))?;
        }
        Ok(info)
    }

    /// SSH connections each host's sshd accepted so far ("Accepted publickey" log lines).
    pub fn sessions(&self) -> Result<BTreeMap<String, usize>> {
        let info = self.read_info()?;
        Ok(info
            .hosts
            .iter()
            .map(|h| {
                let log = fs::read_to_string(self.host_dir(&h.name).join("sshd.log")).unwrap_or_default();
                (h.name.clone(), log.lines().filter(|l| l.contains("Accepted publickey")).count())
            })
            .collect())
    }

    fn write_info(&self, info: &LabInfo) -> Result<()> {
        let text = serde_json::to_string_pretty(info).map_err(|e| e.to_string())?;
        fs::write(self.info_path(), text).map_err(|e| e.to_string())
    }

    fn host_up(&self, i: usize, name: &str, role: &str, bin: &Path, key: &Path) -> Result<HostInfo> {
        let name = name.to_string();
        let ns = self.netns(&name);
        let hdir = self.host_dir(&name);
        for (sub, _) in PRIVATE_PATHS {
            fs::create_dir_all(hdir.join(sub)).map_err(|e| e.to_string())?;
        }
        self.write_state(&name, &self.fresh_state())?;
        let bin = &self.host_bin_for(&name, bin)?;
        self.seed_apt(&name)?;
        let address = format!("10.213.{}.{}", self.subnet, 10 + i);
        // Interface names are limited to 15 bytes.
        let veth_root = format!("v{}{}", self.prefix, i);
        run(Command::new("ip").args(["netns", "add", &ns]))?;
        run(Command::new("ip").args(["link", "add", &veth_root, "type", "veth", "peer", "name", "eth0", "netns", &ns]))?;
        run(Command::new("ip").args(["link", "set", &veth_root, "master", &self.bridge(), "up"]))?;
        let in_ns = |args: &[&str]| run(Command::new("ip").args(["netns", "exec", &ns, "ip"]).args(args));
        in_ns(&["link", "set", "lo", "up"])?;
        in_ns(&["addr", "add", &format!("{address}/24"), "dev", "eth0"])?;
        in_ns(&["link", "set", "eth0", "up"])?;

        let host_key = hdir.join("ssh_host_ed25519_key");
        run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", &name, "-f"]).arg(&host_key))?;
        let host_public_key =
            fs::read_to_string(host_key.with_extension("pub")).map_err(|e| e.to_string())?.trim().to_string();
        let pid_file = hdir.join("sshd.pid");
        let path = format!("{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", bin.display());
        let cfg = format!(
            "Port 22\nListenAddress {address}\nHostKey {hk}\nPidFile {pid}\n\
             AuthorizedKeysFile {ak}\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             StrictModes no\nUsePAM no\nUseDNS no\nMaxStartups 100\n\
             SetEnv PATH={path} LAB_DIR={dir} LAB_HOST={name} LAB_INIT_MS={ims} LAB_JOIN_MS={jms}\n",
            ims = self.init_ms,
            jms = self.join_ms,
            hk = host_key.display(),
            pid = pid_file.display(),
            ak = self.dir.join("authorized_keys").display(),
            dir = self.dir.display(),
        );
        fs::write(hdir.join("sshd_config"), cfg).map_err(|e| e.to_string())?;
        let sshd_pid = self.spawn_sshd(&name, &address, &ns, false)?;
        Ok(HostInfo {
            name,
            role: role.to_string(),
            address,
            ssh_port: 22,
            user: "root".into(),
            host_public_key,
            private_key: key.to_path_buf(),
            netns: ns,
            sshd_pid,
        })
    }

    /// Starts host `name`'s sshd (config in `DIR/hosts/H/sshd_config`) in
    /// its network namespace, with its own UTS and mount namespace and the
    /// private directories bind-mounted; the log goes to `sshd.log`
    /// (appended to when `append`, so `sessions` keeps counting). Returns its pid.
    fn spawn_sshd(&self, name: &str, address: &str, ns: &str, append: bool) -> Result<u32> {
        let hdir = self.host_dir(name);
        // Own UTS namespace: `hostname` on the host prints its lab name.
        let mut script = format!("hostname '{name}' && ");
        for (sub, target) in PRIVATE_PATHS {
            script.push_str(&format!("mount --bind '{}' '{target}' && ", hdir.join(sub).display()));
        }
        match &self.real {
            Some(real) => {
                script.push_str(&real.host_setup(name, address, &hdir, &self.host_bin(name), &self.versions_dir()))
            }
            // node-sim's etcd: the client port of a control plane's member.
            None => {
                let exe = std::env::current_exe().map_err(|e| e.to_string())?;
                script.push_str(&format!(
                    "{{ setsid '{}' --dir '{}' etcd-sim --host '{name}' >>'{}' 2>&1 </dev/null & }} && ",
                    exe.display(),
                    self.dir.display(),
                    hdir.join("etcd-sim.log").display()
                ));
            }
        }
        // Root's home of a fresh VM, not this machine's: sshd runs commands
        // through root's login shell, and bash reads ~/.bashrc for them; a
        // developer's (pyenv, cargo) costs ~0.2 s of CPU per SSH session,
        // which is not what a node costs and swamps the timings. Mounted
        // last, after everything read from the lab directory.
        let home = hdir.join("root-home");
        fs::create_dir_all(&home).map_err(|e| format!("{}: {e}", home.display()))?;
        script.push_str(&format!("mount --bind '{}' /root && ", home.display()));
        script.push_str(&format!("exec /usr/sbin/sshd -D -e -f '{}'", hdir.join("sshd_config").display()));
        let log = fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(hdir.join("sshd.log"))
            .map_err(|e| e.to_string())?;
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawn sshd for {name}: {e}"))?;
        // `ip netns exec` and `unshare` exec (no fork), and `sh` execs sshd,
        // so this is sshd's pid.
        Ok(child.id())
    }

    /// Simulates a replaced VM on `host` (same name and address): every
    /// process on it (sshd, sessions) is killed, its link comes up, its
    /// private directories are emptied (/etc/kubernetes, /var/lib/kubelet, /root;
    /// /var/lib/lab-node back to a freshly booted node: cloud-init done,
    /// containerd running, kubelet stopped), it gets a new SSH host key and
    /// a new sshd. `lab.json` (and the `--out` file `up` wrote) get the new
    /// `host_public_key` and `sshd_pid`. Cluster records (its Node object,
    /// its etcd member) stay, as they do when a real VM is replaced.
    /// Returns the host's new entry.
    pub fn replace(&self, host: &str) -> Result<HostInfo> {
        let mut info = self.read_info()?;
        let h = info.hosts.iter_mut().find(|h| h.name == host).ok_or_else(|| format!("no host {host}"))?;
        kill_netns_processes(&h.netns, Duration::from_secs(5));
        run(Command::new("ip").args(["netns", "exec", &h.netns, "ip", "link", "set", "eth0", "up"]))?;
        let hdir = self.host_dir(host);
        // Root's home goes too: a new VM's is empty.
        for sub in PRIVATE_PATHS.iter().map(|(sub, _)| *sub).chain(["root-home"]) {
            let d = hdir.join(sub);
            if !d.exists() {
                continue;
            }
            for entry in fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
                let p = entry.map_err(|e| e.to_string())?.path();
                let removed = if p.is_dir() && !p.is_symlink() { fs::remove_dir_all(&p) } else { fs::remove_file(&p) };
                removed.map_err(|e| format!("{}: {e}", p.display()))?;
            }
        }
        self.write_state(host, &self.fresh_state())?;
        self.seed_apt(host)?;
        let host_key = hdir.join("ssh_host_ed25519_key");
        for p in [host_key.clone(), host_key.with_extension("pub")] {
            let _ = fs::remove_file(p);
        }
        run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", host, "-f"]).arg(&host_key))?;
        h.host_public_key =
            fs::read_to_string(host_key.with_extension("pub")).map_err(|e| e.to_string())?.trim().to_string();
        h.sshd_pid = self.spawn_sshd(host, &h.address.clone(), &h.netns, true)?;
        let entry = h.clone();
        self.write_info(&info)?;
        if let Some(out) = self.out_file() {
            let text = serde_json::to_string_pretty(&info).map_err(|e| e.to_string())?;
            fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?;
        }
        wait_port(&entry.address, entry.ssh_port, Duration::from_secs(10))
            .map_err(|e| format!("host {host}: new sshd not listening: {e}"))?;
        Ok(entry)
    }

    /// Records where `up --out FILE` wrote the lab JSON, so [`Lab::replace`]
    /// updates that copy too.
    pub fn record_out_file(&self, out: &Path) -> Result<()> {
        let out = match out.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => parent.canonicalize().map_err(|e| format!("{}: {e}", parent.display()))?,
            None => std::env::current_dir().map_err(|e| e.to_string())?,
        }
        .join(out.file_name().ok_or_else(|| format!("{}: not a file name", out.display()))?);
        fs::write(self.dir.join(OUT_FILE), out.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())
    }

    /// The `--out` file `up` wrote, if it recorded one.
    pub fn out_file(&self) -> Option<PathBuf> {
        let bytes = fs::read(self.dir.join(OUT_FILE)).ok()?;
        Some(PathBuf::from(String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Runs `argv` on `host` without SSH: in its network, mount and UTS
    /// namespaces (entered through its sshd's pid), with a session's
    /// environment (the lab tools first on PATH, `LAB_DIR`, `LAB_HOST`).
    /// Output is inherited; returns the exit code.
    pub fn exec(&self, host: &str, argv: &[String]) -> Result<i32> {
        let info = self.read_info()?;
        let h = info.hosts.iter().find(|h| h.name == host).ok_or_else(|| format!("no host {host}"))?;
        if argv.is_empty() {
            return Err("exec needs a command".into());
        }
        let path =
            format!("{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", self.host_bin(host).display());
        let status = Command::new("nsenter")
            .args(["--target", &h.sshd_pid.to_string(), "--net", "--mount", "--uts", "--"])
            .args(argv)
            .env("PATH", path)
            .env("LAB_DIR", &self.dir)
            .env("LAB_HOST", host)
            .status()
            .map_err(|e| format!("nsenter: {e}"))?;
        Ok(status.code().unwrap_or(1))
    }

    pub fn read_state(&self, host: &str) -> Result<HostState> {
        let text = fs::read_to_string(self.state_path(host)).map_err(|e| format!("host {host}: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("host {host}: state.json: {e}"))
    }

    pub fn write_state(&self, host: &str, st: &HostState) -> Result<()> {
        let text = serde_json::to_string_pretty(st).map_err(|e| e.to_string())?;
        fs::write(self.state_path(host), text).map_err(|e| e.to_string())
    }

    /// Sets a fault knob on a host. Knobs: `cloud-init` (`done`|`error`|
    /// `running:SECS`), `fail-once` (`"tool sub"`), `slow-ms` (N), `drop-in`
    /// (`"tool sub"`), `sshd` (`down`|`up`: link of the host down/up), `kubelet`
    /// (`running`|`stopped`).
    pub fn fault(&self, host: &str, knob: &str, value: &str) -> Result<()> {
        let info = self.read_info()?;
        let h = info.hosts.iter().find(|h| h.name == host).ok_or_else(|| format!("no host {host}"))?;
        if knob == "sshd" {
            // Link down inside the namespace: connections time out, like a host that never answers.
            let state = if value == "down" { "down" } else { "up" };
            run(Command::new("ip").args(["netns", "exec", &h.netns, "ip", "link", "set", "eth0", state]))?;
            let mut st = self.read_state(host)?;
            st.host_down = state == "down";
            return self.write_state(host, &st);
        }
        let mut st = self.read_state(host)?;
        match knob {
            "cloud-init" => {
                if let Some(secs) = value.strip_prefix("running:") {
                    let secs: u64 = secs.parse().map_err(|_| format!("bad seconds: {secs}"))?;
                    st.cloud_init = "running".into();
                    st.cloud_init_running_until = now_secs() + secs;
                } else if value == "done" || value == "error" {
                    st.cloud_init = value.into();
                } else {
                    return Err(format!("cloud-init: want done|error|running:SECS, got {value}"));
                }
            }
            // `none` clears the knob.
            "fail-once" if value == "none" => st.fail_once.clear(),
            "fail-once" => st.fail_once.push(value.into()),
            "slow-ms" => st.slow_ms = value.parse().map_err(|_| format!("bad ms: {value}"))?,
            "drop-in" if value == "none" => st.drop_in.clear(),
            "drop-in" => st.drop_in.push(value.into()),
            "kubelet" => match value {
                "running" | "up" => {
                    st.services.insert("kubelet".into(), true);
                }
                "stopped" | "down" => {
                    st.services.insert("kubelet".into(), false);
                }
                _ => return Err(format!("kubelet: want running|stopped, got {value}")),
            },
            _ => return Err(format!("unknown knob {knob}")),
        }
        self.write_state(host, &st)
    }

    /// Short human status: each host, whether its sshd listens; the API server.
    pub fn status(&self) -> Result<String> {
        let info = self.read_info()?;
        let api = wait_port(&info.vip, apiserver::PORT, Duration::from_millis(300)).is_ok();
        let mut out = format!(
            "api_server {} pid={} alive={} listening={}\n",
            info.api_server,
            info.apiserver_pid,
            pid_is_apiserver(info.apiserver_pid, &self.dir),
            if api { "yes" } else { "no" }
        );
        for h in &info.hosts {
            let up = wait_port(&h.address, h.ssh_port, Duration::from_millis(300)).is_ok();
            out.push_str(&format!(
                "{} {}:{} netns={} sshd={}\n",
                h.name,
                h.address,
                h.ssh_port,
                h.netns,
                if up { "up" } else { "down" }
            ));
        }
        Ok(out)
    }

    /// The lab's API server process on the VIP: the simulated API server,
    /// or in real mode the TCP forwarder to the control planes (see [`vip`]).
    fn spawn_vip_server(&self, lab_exe: &Path, hosts: &[HostInfo]) -> Result<u32> {
        let vip = self.vip();
        let log = fs::File::create(self.dir.join("apiserver.log")).map_err(|e| e.to_string())?;
        let mut vip_server = Command::new(lab_exe);
        vip_server.arg("--dir").arg(&self.dir).args(["apiserver", "--vip", &vip]);
        if self.real.is_some() {
            let cps = hosts.iter().filter(|h| h.role == "control-plane");
            let backends: Vec<String> = cps.map(|h| format!("{}:{}", h.address, apiserver::PORT)).collect();
            vip_server.args(["--forward", &backends.join(",")]);
        }
        let child = vip_server
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("spawn apiserver: {e}"))?;
        fs::write(self.dir.join("apiserver.pid"), child.id().to_string()).map_err(|e| e.to_string())?;
        Ok(child.id())
    }

    /// Stops everything this lab started; idempotent and works without
    /// `lab.json` (after a crash) because all names derive from the prefix.
    pub fn down(&self) {
        let pid = fs::read_to_string(self.dir.join("apiserver.pid")).ok().and_then(|p| p.trim().parse::<u32>().ok());
        if let Some(pid) = pid.filter(|p| *p != 0 && pid_is_apiserver(*p, &self.dir)) {
            run_quiet(Command::new("kill").args(["-9", &pid.to_string()]));
            let start = Instant::now();
            while pid_is_apiserver(pid, &self.dir) && start.elapsed() < Duration::from_secs(2) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let marker = format!("lab-{}-", self.prefix);
        let list = run(Command::new("ip").args(["netns", "list"])).unwrap_or_default();
        for line in list.lines() {
            let Some(ns) = line.split_whitespace().next() else { continue };
            if !ns.starts_with(&marker) {
                continue;
            }
            // Kill whatever still runs in it (sshd and its sessions).
            kill_netns_processes(ns, Duration::ZERO);
            run_quiet(Command::new("ip").args(["netns", "del", ns]));
        }
        // Deleting the netns removes the veth peers; the bridge is ours to remove.
        run_quiet(Command::new("ip").args(["link", "del", &self.bridge()]));
        self.release_subnet();
        for sub in [
            "hosts",
            "bin",
            "lab.json",
            "cluster.json",
            "cluster.lock",
            "events.log",
            "apiserver.pid",
            "apiserver.log",
            "id_ed25519",
            "id_ed25519.pub",
            "authorized_keys",
            OUT_FILE,
        ] {
            let p = self.dir.join(sub);
            if p.is_dir() {
                let _ = fs::remove_dir_all(&p);
            } else {
                let _ = fs::remove_file(&p);
            }
        }
    }
}

/// The subnet `up` claimed, in the lab directory.
const SUBNET_FILE: &str = "subnet";
/// Where `up --out FILE` wrote the lab JSON (the path), in the lab directory.
const OUT_FILE: &str = "out-file";

/// Kills every process in network namespace `ns`; waits up to `wait` until none is left.
fn kill_netns_processes(ns: &str, wait: Duration) {
    let start = Instant::now();
    loop {
        let pids = run(Command::new("ip").args(["netns", "pids", ns])).unwrap_or_default();
        if pids.trim().is_empty() {
            return;
        }
        for pid in pids.split_whitespace() {
            run_quiet(Command::new("kill").args(["-9", pid]));
        }
        if start.elapsed() >= wait {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Where subnet claims live (machine-wide; `LAB_CLAIMS_DIR` overrides).
fn claims_dir() -> PathBuf {
    std::env::var_os("LAB_CLAIMS_DIR").map_or_else(|| PathBuf::from("/run/homelab-lab"), PathBuf::from)
}

/// Maximum hosts: addresses .10 up to .199 (.200 is the VIP).
pub const MAX_HOSTS: usize = 190;

/// Whether `pid` is this lab's API server (guards against a reused pid).
fn pid_is_apiserver(pid: u32, dir: &Path) -> bool {
    let Ok(cmd) = fs::read(format!("/proc/{pid}/cmdline")) else { return false };
    // A zombie has an empty cmdline; it is gone for our purposes.
    let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
    args.contains(&b"apiserver".as_slice()) && args.contains(&dir.as_os_str().as_encoded_bytes())
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn wait_port(addr: &str, port: u16, timeout: Duration) -> io::Result<()> {
    let sa: SocketAddr =
        format!("{addr}:{port}").parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{e}")))?;
    let start = Instant::now();
    loop {
        match TcpStream::connect_timeout(&sa, Duration::from_millis(200)) {
            Ok(_) => return Ok(()),
            Err(e) if start.elapsed() >= timeout => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}
