//! The remote work of create, update and delete, in the order kubeadm needs:
//! init on one control plane, the other control planes one at a time, the
//! workers in parallel. Every step first looks at what the node already
//! holds, so an apply cut off anywhere is finished by the next one without
//! a second `kubeadm init` or a re-join of a joined node.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::future::join_all;
use tokio_util::sync::CancellationToken;

use super::api::{ApiClient, NodeInfo};
use super::changes::{Changes, Removal};
use super::config::{self, NodeSpec, Role};
use super::drain;
use super::error::KubeadmError;
use super::etcd::EtcdClient;
use super::kube_vip;
use super::model::Cluster;
use super::node::{KUBE_VIP_MANIFEST, MARKER, Marker, NodeFile, NodeSession, Probe, STATE_DIR, host_key_policy};
use super::node_metadata::{self, Dropped};
use super::pki::{self, ClusterSecrets};

/// How long one SSH connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How often the API server is asked again while waiting.
const POLL: Duration = Duration::from_millis(100);
/// Bootstrap tokens made for later joins live this long.
/// How long apply-time API calls retry a VIP that does not answer:
/// kube-vip's lease (5 s) and renew deadline (3 s), with room to spare.
const VIP_MOVE_WINDOW: Duration = Duration::from_secs(30);
/// The label kubeadm's mark-control-plane phase sets, its last step of a
/// control-plane join.
const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";
const JOIN_TOKEN_TTL: time::Duration = time::Duration::hours(2);
/// The certificates are uploaded again before a control-plane join when
/// less than this is left of their 2 hours: a join takes minutes, and one
/// that finds them gone fails in its download-certs phase.
const UPLOADED_CERTS_MARGIN: time::Duration = time::Duration::minutes(30);

/// Whether the certificates must be uploaded again before a control-plane
/// join at `now`, given when the uploaded ones go (`None`: there are none).
fn must_upload_certificates(expiry: Option<time::OffsetDateTime>, now: time::OffsetDateTime) -> bool {
    expiry.is_none_or(|at| at - now < UPLOADED_CERTS_MARGIN)
}

/// Per-node result of an apply, for state.
#[derive(Debug, Default)]
pub struct Progress {
    /// Host keys seen, by node.
    pub host_keys: BTreeMap<String, String>,
    /// Nodes as the API server last listed them.
    pub api_nodes: BTreeMap<String, NodeInfo>,
    /// Nodes removed from the cluster by this apply.
    pub removed: BTreeSet<String>,
    /// Problems that did not stop the apply (a removed node that no longer answers).
    pub warnings: Vec<KubeadmError>,
    /// New certificate expiries of the control planes renewed by this apply.
    pub certificates: BTreeMap<String, time::OffsetDateTime>,
}

/// What an earlier attempt left on the init node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EarlierInit {
    /// `kubeadm init` finished: go on with the joins.
    Finished,
    /// Nothing (or an interrupted init, reset): run `kubeadm init`.
    None,
}

/// The init node's marker as a file to place.
fn marker_file(marker: &Marker) -> Result<NodeFile, KubeadmError> {
    serde_json::to_string(marker).map(|text| NodeFile::new(MARKER, text, 0o600)).map_err(KubeadmError::Record)
}

/// Everything the steps share.
pub struct Ctx<'a> {
    pub cluster: &'a Cluster,
    pub secrets: &'a ClusterSecrets,
    pub ca_hash: String,
    pub api: ApiClient,
    pub cancel: CancellationToken,
    /// Host keys recorded in state.
    pub recorded_keys: BTreeMap<String, String>,
    /// Bound on one remote kubeadm step.
    pub step_timeout: Duration,
}

// By hand: the secrets must never reach a log.
impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").field("endpoint", &self.cluster.spec.control_plane_endpoint).finish_non_exhaustive()
    }
}

impl<'a> Ctx<'a> {
    /// Context for `cluster` with `secrets`.
    pub fn new(
        cluster: &'a Cluster,
        secrets: &'a ClusterSecrets,
        recorded_keys: BTreeMap<String, String>,
        step_timeout: Duration,
        cancel: CancellationToken,
    ) -> Result<Self, KubeadmError> {
        let ca_hash = pki::ca_cert_hash(&secrets.ca.cert_pem)?;
        let api = ApiClient::new(&cluster.server_url(), &secrets.ca.cert_pem, &secrets.admin, Duration::from_secs(10))?
            .retrying_for(VIP_MOVE_WINDOW);
        Ok(Self { cluster, secrets, ca_hash, api, cancel, recorded_keys, step_timeout })
    }

    fn secret_strings(&self) -> Vec<String> {
        vec![
            self.secrets.bootstrap_token.clone(),
            self.secrets.certificate_key.clone(),
            self.secrets.bootstrap_token.split('.').nth(1).unwrap_or_default().to_string(),
        ]
    }

    /// The configuration of node `name`.
    pub(super) fn spec(&self, name: &str) -> Result<&NodeSpec, KubeadmError> {
        self.cluster.nodes.get(name).map(|n| &n.spec).ok_or_else(|| KubeadmError::UnknownNode { node: name.to_owned() })
    }

    pub(super) async fn connect(&self, name: &str, replaced: bool) -> Result<NodeSession, KubeadmError> {
        self.connect_to(name, &self.spec(name)?.address, replaced).await
    }

    async fn connect_to(&self, name: &str, address: &str, replaced: bool) -> Result<NodeSession, KubeadmError> {
        let policy = host_key_policy(self.cluster, name, self.recorded_keys.get(name).map(String::as_str), replaced);
        let secrets = self.secret_strings();
        NodeSession::connect(self.cluster, name, address, policy, CONNECT_TIMEOUT, &secrets, &self.cancel).await
    }

    fn kube_vip_manifest(&self, kubeconfig: &str) -> Option<String> {
        self.cluster.kube_vip.as_ref().map(|vip| kube_vip::manifest(vip, kubeconfig))
    }

    /// Connects to `names` in parallel, waits for cloud-init, checks
    /// preconditions and reads what each node holds; returns the sessions
    /// with their probes, and every node's error.
    async fn prepare(
        &self,
        names: &[String],
        replaced: &BTreeSet<String>,
    ) -> (BTreeMap<String, (NodeSession, Probe)>, Vec<KubeadmError>) {
        let version = &self.cluster.spec.kubernetes_version;
        let results = join_all(names.iter().map(|name| async move {
            let session = self.connect(name, replaced.contains(name)).await?;
            match session.prepare(version, self.step_timeout).await {
                Ok(probe) => Ok((session, probe)),
                Err(e) => {
                    session.close().await;
                    Err(e)
                }
            }
        }))
        .await;
        let mut sessions = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, result) in names.iter().zip(results) {
            match result {
                Ok((session, probe)) => {
                    sessions.insert(name.clone(), (session, probe));
                }
                Err(e) => errors.push(e),
            }
        }
        (sessions, errors)
    }

    /// `kubeadm init` on the init node, unless this cluster's init already
    /// happened there. Refuses a node that holds another cluster. One round
    /// trip: marker, CA files, kube-vip and the config go up with the
    /// command; the kube-vip switch and the "initialised" marker go into
    /// place only when init succeeded.
    async fn init(&self, session: &NodeSession, probe: &Probe) -> Result<(), KubeadmError> {
        match self.earlier_init(session, probe).await? {
            EarlierInit::Finished => Ok(()),
            EarlierInit::None => self.run_init(session).await,
        }
    }

    /// What an earlier attempt left on the init node: a finished init
    /// (recorded in the marker now if only that was missing), or nothing
    /// (an interrupted init is reset first). Another cluster's is an error.
    async fn earlier_init(&self, session: &NodeSession, probe: &Probe) -> Result<EarlierInit, KubeadmError> {
        let ours = |m: &Marker| m.secrets.ca == self.secrets.ca;
        let kubeconfigs = probe.admin_conf || probe.kubelet_conf;
        match &probe.marker {
            Some(m) if ours(m) && m.initialized && probe.admin_conf => {
                tracing::info!(node = %session.name, "kubeadm init already done; resuming");
                Ok(EarlierInit::Finished)
            }
            // Cut off around `kubeadm init`: when the API answers with our CA
            // and lists the init node, init did finish (only the marker was
            // not updated); otherwise nothing can have joined yet, so start over.
            Some(m) if ours(m) && kubeconfigs => {
                if self.api.nodes().await.is_ok_and(|nodes| nodes.contains_key(&session.name)) {
                    tracing::info!(node = %session.name, "kubeadm init had finished; recording it");
                    self.record_init(session, m).await?;
                    return Ok(EarlierInit::Finished);
                }
                tracing::info!(node = %session.name, "resetting an interrupted kubeadm init");
                session.reset().await?;
                Ok(EarlierInit::None)
            }
            Some(m) if ours(m) => Ok(EarlierInit::None),
            Some(m) => Err(KubeadmError::ForeignCluster {
                node: session.name.clone(),
                reason: format!(
                    "it was initialised for cluster {:?} at {} by an earlier apply with other certificates. Run `terraform plan` again: a plan for a new cluster adopts that attempt's certificates when the init node answers. To start over instead, run `kubeadm reset -f` on the node.",
                    m.cluster_name, m.endpoint
                ),
            }),
            None if kubeconfigs => Err(KubeadmError::ForeignCluster {
                node: session.name.clone(),
                reason: "it already belongs to a Kubernetes cluster this resource did not create (/etc/kubernetes holds kubeconfigs). Adopt that cluster with `terraform import`, or run `kubeadm reset -f` on the node first.".to_string(),
            }),
            None => Ok(EarlierInit::None),
        }
    }

    /// Marks the init node's marker initialised (and puts kube-vip on
    /// `admin.conf`), for an init that finished before the marker said so.
    async fn record_init(&self, session: &NodeSession, marker: &Marker) -> Result<(), KubeadmError> {
        let mut marker = marker.clone();
        marker.initialized = true;
        let mut files = vec![marker_file(&marker)?];
        if let Some(manifest) = self.kube_vip_manifest("/etc/kubernetes/admin.conf") {
            files.push(NodeFile::new(KUBE_VIP_MANIFEST, manifest, 0o600));
        }
        session.run_bundle("recording kubeadm init", &files, "", &[], &[], None).await.map(|_| ())
    }

    /// `kubeadm init` in one round trip: the marker (not initialised yet),
    /// the CAs and service-account key, kube-vip on `super-admin.conf` and
    /// the init configuration go up first; only when init succeeds the
    /// marker says so and kube-vip moves to `admin.conf`.
    async fn run_init(&self, session: &NodeSession) -> Result<(), KubeadmError> {
        let mut marker = Marker {
            endpoint: self.cluster.spec.control_plane_endpoint.clone(),
            cluster_name: self.cluster.spec.cluster_name.clone(),
            secrets: self.secrets.clone(),
            initialized: false,
        };
        let node = self.spec(&session.name)?;
        let init_config = config::init_config(
            &self.cluster.spec,
            node,
            &self.secrets.bootstrap_token,
            &self.secrets.certificate_key,
        )?;
        let config_path = format!("{STATE_DIR}/init.yaml");
        let mut before = vec![marker_file(&marker)?];
        before.extend(
            pki::init_node_files(self.secrets)
                .into_iter()
                .map(|(path, content, mode)| NodeFile::new(path, content, mode)),
        );
        // kubeadm >= 1.29: admin.conf has no rights until init binds them,
        // so kube-vip needs super-admin.conf to win its lease during init.
        if let Some(manifest) = self.kube_vip_manifest("/etc/kubernetes/super-admin.conf") {
            before.push(NodeFile::new(KUBE_VIP_MANIFEST, manifest, 0o600));
        }
        before.push(NodeFile::new(&config_path, init_config, 0o600));
        marker.initialized = true;
        let mut after = vec![marker_file(&marker)?];
        if let Some(manifest) = self.kube_vip_manifest("/etc/kubernetes/admin.conf") {
            after.push(NodeFile::new(KUBE_VIP_MANIFEST, manifest, 0o600));
        }
        let command = format!("kubeadm init --config {config_path} --upload-certs");
        session.run_bundle("kubeadm init", &before, &command, &after, &[&config_path], Some(self.step_timeout)).await?;
        Ok(())
    }

    /// Joins `session`'s node unless it already is a member. A node the API
    /// lists but whose disk is empty, or a `replaced` one (a new VM), loses
    /// its stale Node and etcd member first (the member also when the Node is
    /// gone already); a half-joined node is reset first. One round trip for
    /// the join itself (config up, join, kube-vip after it).
    async fn join(
        &self,
        session: &NodeSession,
        probe: &Probe,
        api_nodes: &BTreeMap<String, NodeInfo>,
        etcd_via: Option<&NodeSession>,
        replaced: bool,
    ) -> Result<bool, KubeadmError> {
        if self.cancel.is_cancelled() {
            return Err(KubeadmError::Cancelled);
        }
        let node = self.spec(&session.name)?;
        let registered = api_nodes.get(&node.name);
        if registered.is_some_and(|api| Self::join_finished(node, probe, api)) {
            // Joined, but the apply stopped before the kube-vip manifest went in.
            if let (Role::ControlPlane, false, Some(manifest)) =
                (node.role, probe.kube_vip_manifest, self.kube_vip_manifest("/etc/kubernetes/admin.conf"))
            {
                let files = [NodeFile::new(KUBE_VIP_MANIFEST, manifest, 0o600)];
                session.run_bundle("writing the kube-vip manifest", &files, "true", &[], &[], None).await?;
            }
            return Ok(false);
        }
        let leftovers = probe.kubelet_conf || probe.admin_conf;
        if leftovers {
            session.reset().await?;
        }
        let registered = registered.is_some();
        // A control plane cut off mid-join may have left a member behind,
        // maybe a learner that never started.
        if (registered || replaced || leftovers) && node.role == Role::ControlPlane {
            if let Some(cp) = etcd_via {
                self.remove_etcd_member(cp, &node.name, &node.address).await?;
            }
        }
        if registered {
            self.api.delete_node(&node.name).await?;
        }
        self.fresh_join_credentials(node, etcd_via).await?;
        let certificate_key = (node.role == Role::ControlPlane).then_some(self.secrets.certificate_key.as_str());
        let join_config = config::join_config(
            &self.cluster.spec,
            node,
            &self.secrets.bootstrap_token,
            &self.ca_hash,
            certificate_key,
        )?;
        let config_path = format!("{STATE_DIR}/join.yaml");
        // After the join: kubeadm's preflight wants an empty manifests dir.
        let after: Vec<NodeFile> = match node.role {
            Role::ControlPlane => self
                .kube_vip_manifest("/etc/kubernetes/admin.conf")
                .map(|m| NodeFile::new(KUBE_VIP_MANIFEST, m, 0o600))
                .into_iter()
                .collect(),
            Role::Worker => Vec::new(),
        };
        let before = [NodeFile::new(&config_path, join_config, 0o600)];
        let command = format!("kubeadm join --config {config_path}");
        session.run_bundle("kubeadm join", &before, &command, &after, &[&config_path], Some(self.step_timeout)).await?;
        Ok(true)
    }

    /// Waits until the API server lists every node in `names`.
    async fn wait_registered(
        &self,
        names: &BTreeSet<String>,
        wait: Duration,
    ) -> Result<BTreeMap<String, NodeInfo>, KubeadmError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let nodes = self.api.nodes().await?;
            let missing: Vec<&str> = names.iter().filter(|n| !nodes.contains_key(*n)).map(String::as_str).collect();
            if missing.is_empty() {
                return Ok(nodes);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(KubeadmError::NodesMissing { missing: missing.join(", "), waited: wait });
            }
            tokio::select! {
                () = self.cancel.cancelled() => return Err(KubeadmError::Cancelled),
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Gives Node `name` its configured labels and taints and takes
    /// `dropped` off, through the API; nobody else's labels or taints change.
    async fn label(&self, name: &str, dropped: &Dropped) -> Result<(), KubeadmError> {
        const ATTEMPTS: usize = 5;
        let spec = self.spec(name)?;
        for attempt in 1..=ATTEMPTS {
            let node = self.api.node_object(name).await?;
            let Some(patch) = node_metadata::patch(&node, spec, dropped) else { return Ok(()) };
            match self.api.patch_node(name, patch).await {
                // Changed since we read it (a controller, kubectl): read again.
                Err(KubeadmError::Api { status: Some(409), .. }) if attempt < ATTEMPTS => {}
                other => return other,
            }
        }
        Ok(())
    }

    /// Whether `node`, registered as `api`, finished its join. A worker has
    /// once it is registered with a kubelet.conf. A control plane registers
    /// and writes kubelet.conf early in kubeadm 1.35's join (before its etcd
    /// member is promoted and before mark-control-plane), so it also needs
    /// the control-plane label, which mark-control-plane sets last.
    fn join_finished(node: &NodeSpec, probe: &Probe, api: &NodeInfo) -> bool {
        probe.kubelet_conf
            && match node.role {
                Role::Worker => true,
                Role::ControlPlane => probe.admin_conf && api.labels.contains_key(CONTROL_PLANE_LABEL),
            }
    }

    /// Joins the control planes in `cps` one at a time and, at the same
    /// time, the `workers` in parallel (workers need only the first control
    /// plane). Returns every error; the control plane series stops at the
    /// first failure.
    async fn join_all(
        &self,
        sessions: &BTreeMap<String, (NodeSession, Probe)>,
        cps: &[String],
        workers: &[String],
        api_nodes: &BTreeMap<String, NodeInfo>,
        etcd_via: Option<&NodeSession>,
        replaced: &BTreeSet<String>,
    ) -> Vec<KubeadmError> {
        let control_planes = async {
            for name in cps {
                let (session, probe) = &sessions[name];
                if let Err(e) = self.join(session, probe, api_nodes, etcd_via, replaced.contains(name)).await {
                    return Some(e);
                }
            }
            None
        };
        let workers = join_all(workers.iter().map(|name| {
            let (session, probe) = &sessions[name];
            self.join(session, probe, api_nodes, etcd_via, replaced.contains(name))
        }));
        let (cp_error, worker_results) = tokio::join!(control_planes, workers);
        cp_error.into_iter().chain(worker_results.into_iter().filter_map(Result::err)).collect()
    }

    /// Create: the init node is prepared and initialised while the other
    /// nodes are prepared (cloud-init, preconditions) in parallel; then the
    /// joins, the wait for every node, labels. A node that fails its checks
    /// fails the create after init: the next apply resumes from there.
    pub async fn create(&self, progress: &mut Progress) -> Vec<KubeadmError> {
        let cluster = self.cluster;
        let init_name = [cluster.init_node.clone()];
        let (mut sessions, errors) = self.prepare(&init_name, &BTreeSet::new()).await;
        record_host_keys(&sessions, progress);
        if !errors.is_empty() {
            close_all(sessions).await;
            return errors;
        }
        let others: Vec<String> = cluster.nodes.keys().filter(|n| **n != cluster.init_node).cloned().collect();
        let Some((init, init_probe)) = sessions.get(&cluster.init_node) else {
            close_all(sessions).await;
            return vec![KubeadmError::UnknownNode { node: cluster.init_node.clone() }];
        };
        let none_replaced = BTreeSet::new();
        let (bootstrapped, (others, mut errors)) =
            tokio::join!(self.bootstrap(init, init_probe), self.prepare(&others, &none_replaced));
        record_host_keys(&others, progress);
        sessions.extend(others);
        let api_nodes = match bootstrapped {
            Ok(nodes) => nodes,
            Err(e) => {
                errors.insert(0, e);
                BTreeMap::new()
            }
        };
        if errors.is_empty() {
            errors = self.join_rest(&sessions, &api_nodes, progress).await;
        }
        close_all(sessions).await;
        errors
    }

    /// Init, then the API through the VIP; returns the Nodes.
    async fn bootstrap(&self, init: &NodeSession, probe: &Probe) -> Result<BTreeMap<String, NodeInfo>, KubeadmError> {
        self.init(init, probe).await?;
        self.api.wait_ready(self.step_timeout, &self.cancel).await?;
        self.api.nodes().await
    }

    /// Right before a join: the bootstrap token created or renewed for 2 h,
    /// and for a control plane the certificates uploaded again under the
    /// certificate key (through control plane `via`) unless more than 30
    /// minutes of the uploaded ones are left.
    ///
    /// The token goes through the API: `kubeadm token create` refuses an ID
    /// that exists, and the cluster's token ID is fixed.
    async fn fresh_join_credentials(&self, node: &NodeSpec, via: Option<&NodeSession>) -> Result<(), KubeadmError> {
        let now = time::OffsetDateTime::now_utc();
        self.api.apply_bootstrap_token(&self.secrets.bootstrap_token, now + JOIN_TOKEN_TTL).await?;
        let Some(via) = via.filter(|_| node.role == Role::ControlPlane) else { return Ok(()) };
        let expiry = self.api.uploaded_certificates_expiry().await?;
        if !must_upload_certificates(expiry, now) {
            tracing::debug!(node = %node.name, ?expiry, "uploaded certificates still valid");
            return Ok(());
        }
        tracing::info!(node = %node.name, via = %via.name, ?expiry, "uploading the control-plane certificates");
        let upload =
            config::upload_certs_config(&self.cluster.spec, self.spec(&via.name)?, &self.secrets.certificate_key)?;
        via.upload_certificates(&upload).await
    }

    async fn join_rest(
        &self,
        sessions: &BTreeMap<String, (NodeSession, Probe)>,
        api_nodes: &BTreeMap<String, NodeInfo>,
        progress: &mut Progress,
    ) -> Vec<KubeadmError> {
        let cluster = self.cluster;
        let cps: Vec<String> =
            cluster.control_planes().map(|n| n.spec.name.clone()).filter(|n| *n != cluster.init_node).collect();
        let workers: Vec<String> = cluster.workers().map(|n| n.spec.name.clone()).collect();
        let init = &sessions[&cluster.init_node].0;
        let errors = self.join_all(sessions, &cps, &workers, api_nodes, Some(init), &BTreeSet::new()).await;
        if !errors.is_empty() {
            return errors;
        }
        self.finish(&cluster.nodes.keys().cloned().collect(), &[], progress).await
    }

    /// Waits for `names` to register, applies labels and taints, records the node list.
    async fn finish(
        &self,
        names: &BTreeSet<String>,
        relabel: &[(String, Dropped)],
        progress: &mut Progress,
    ) -> Vec<KubeadmError> {
        match self.wait_registered(names, self.step_timeout).await {
            Ok(nodes) => progress.api_nodes = nodes,
            Err(e) => return vec![e],
        }
        let mut errors = Vec::new();
        let relabels = relabel.iter().map(|(n, d)| (n.clone(), d.clone()));
        let fresh = names
            .iter()
            .filter(|n| self.spec(n).is_ok_and(|node| !node.labels.is_empty() || node.taints.is_some()))
            .map(|n| (n.clone(), Dropped::default()));
        let todo: BTreeMap<String, Dropped> = fresh.chain(relabels).collect();
        for (name, dropped) in &todo {
            if let Err(e) = self.label(name, dropped).await {
                errors.push(e);
            }
        }
        if let Ok(nodes) = self.api.nodes().await {
            progress.api_nodes = nodes;
        }
        errors
    }

    /// Update: upgrade the nodes a `kubernetes_version` change moves, join
    /// new, replaced and departed nodes, then remove the nodes
    /// gone from the configuration, then kube-vip and labels, then renew
    /// the certificates that are due, one control plane at a time. Each
    /// stage runs only when the one before it succeeded.
    pub async fn update(&self, changes: &Changes, progress: &mut Progress) -> Vec<KubeadmError> {
        let membership = !changes.join.is_empty() || !changes.remove.is_empty();
        let api_nodes = match self.api.nodes().await {
            Ok(n) => n,
            // Renewing expired certificates must not need the API server:
            // with the etcd certificates expired, it has no storage.
            Err(e) if membership => return vec![e],
            Err(e) => {
                tracing::warn!(error = %e, "API server not answering; going on with the renewal");
                BTreeMap::new()
            }
        };
        progress.api_nodes = api_nodes.clone();
        if let Some(upgrade) = &changes.upgrade {
            // A plan refuses an upgrade beside joins and removals.
            let errors = self.upgrade(upgrade, progress).await;
            if !errors.is_empty() {
                return errors;
            }
        }
        let helper = if !membership {
            None
        } else {
            match self.helper(changes, progress).await {
                Ok(session) => Some(session),
                Err(errors) => return errors,
            }
        };
        let mut errors = match &helper {
            Some(session) if !changes.join.is_empty() => {
                self.join_changed(changes, &api_nodes, session, progress).await
            }
            _ => Vec::new(),
        };
        if errors.is_empty() {
            errors.extend(self.remove_all(&changes.remove, helper.as_ref(), progress).await);
        }
        if errors.is_empty() && changes.kube_vip {
            errors.extend(self.rewrite_kube_vip().await);
        }
        if let Some(h) = helper {
            h.close().await;
        }
        if !errors.is_empty() {
            return errors;
        }
        let errors = if changes.join.is_empty() && changes.relabel.is_empty() {
            Vec::new()
        } else {
            self.finish(&changes.join, &changes.relabel, progress).await
        };
        if !errors.is_empty() || changes.renew.is_empty() {
            return errors;
        }
        self.renew_certificates(&changes.renew, &changes.expiries, progress).await
    }

    /// A control plane that stays and answers, to run the cluster-side
    /// steps of joins and removals; every connection error when none does.
    async fn helper(&self, changes: &Changes, progress: &mut Progress) -> Result<NodeSession, Vec<KubeadmError>> {
        let removing: BTreeSet<&str> = changes.remove.iter().map(|r| r.name.as_str()).collect();
        let mut errors = Vec::new();
        for name in &changes.prior_control_planes {
            // Nodes to (re)join are no help, except when adopting an
            // imported cluster: every node is "to join" then, and the
            // members among them are skipped by the join itself.
            let rejoining = changes.join.contains(name) && !changes.adopting;
            if removing.contains(name.as_str()) || rejoining || !self.cluster.nodes.contains_key(name) {
                continue;
            }
            match self.connect(name, false).await {
                Ok(s) => {
                    progress.host_keys.insert(name.clone(), s.host_key());
                    return Ok(s);
                }
                Err(e) => errors.push(e),
            }
        }
        errors.insert(
            0,
            KubeadmError::Api {
                what: "choosing a control plane".into(),
                status: None,
                reason: "no existing control plane answers over SSH; joins and removals need one".into(),
            },
        );
        Err(errors)
    }

    /// Prepares and joins the nodes in `changes.join`: control planes one
    /// at a time, then the workers in parallel.
    async fn join_changed(
        &self,
        changes: &Changes,
        api_nodes: &BTreeMap<String, NodeInfo>,
        helper: &NodeSession,
        progress: &mut Progress,
    ) -> Vec<KubeadmError> {
        let names: Vec<String> = changes.join.iter().cloned().collect();
        let (sessions, mut errors) = self.prepare(&names, &changes.replaced).await;
        record_host_keys(&sessions, progress);
        let of_role = |role: Role| -> Vec<String> {
            names
                .iter()
                .filter(|n| sessions.contains_key(*n) && self.spec(n).is_ok_and(|s| s.role == role))
                .cloned()
                .collect()
        };
        let (cps, workers) = (of_role(Role::ControlPlane), of_role(Role::Worker));
        errors.extend(self.join_all(&sessions, &cps, &workers, api_nodes, Some(helper), &changes.replaced).await);
        close_all(sessions).await;
        errors
    }

    /// Removes the nodes in order, stopping at the first that fails.
    async fn remove_all(
        &self,
        removals: &[Removal],
        helper: Option<&NodeSession>,
        progress: &mut Progress,
    ) -> Vec<KubeadmError> {
        for removal in removals {
            match self.remove(removal, helper, progress).await {
                Ok(unreachable) => {
                    progress.removed.insert(removal.name.clone());
                    progress.warnings.extend(unreachable);
                }
                Err(e) => return vec![e],
            }
        }
        Vec::new()
    }

    /// Writes the kube-vip manifest on every control plane again (or
    /// removes it when `kube_vip` is gone from the configuration).
    async fn rewrite_kube_vip(&self) -> Vec<KubeadmError> {
        let mut errors = Vec::new();
        for cp in self.cluster.control_planes() {
            let result = async {
                let session = self.connect(&cp.spec.name, false).await?;
                let written = match self.kube_vip_manifest("/etc/kubernetes/admin.conf") {
                    Some(m) => {
                        let file = [NodeFile::new(KUBE_VIP_MANIFEST, m, 0o600)];
                        session.run_bundle("writing the kube-vip manifest", &file, "", &[], &[], None).await.map(|_| ())
                    }
                    None => session.remove_file(KUBE_VIP_MANIFEST).await,
                };
                session.close().await;
                written
            }
            .await;
            if let Err(e) = result {
                errors.push(e);
            }
        }
        errors
    }

    /// Removes one node: cordon, drain, `kubeadm reset` when it answers (on a
    /// control plane that also drops its etcd member), the etcd member
    /// through another control plane when it does not, then its Node.
    async fn remove(
        &self,
        removal: &Removal,
        helper: Option<&NodeSession>,
        progress: &mut Progress,
    ) -> Result<Option<KubeadmError>, KubeadmError> {
        let name = removal.name.as_str();
        let in_api = progress.api_nodes.contains_key(name);
        if in_api {
            drain::cordon_and_drain(&self.api, name, &self.cluster.drain, &self.cancel).await?;
        }
        // The VM may be gone already: then only the cluster-side records go,
        // and the unreachable node is reported as a warning.
        let unreachable = match self.connect_to(name, &removal.address, false).await {
            Ok(session) => {
                let reset = session.reset().await;
                session.close().await;
                reset?;
                None
            }
            Err(e) if e.is_unreachable() => Some(e),
            Err(e) => return Err(e),
        };
        if removal.role == Role::ControlPlane {
            if let Some(cp) = helper {
                self.remove_etcd_member(cp, name, &removal.address).await?;
            }
        }
        if in_api {
            self.api.delete_node(name).await?;
        }
        Ok(unreachable)
    }

    /// Removes the etcd members of node `name` at `address` through control
    /// plane `via`, found by name or by peer URL (a learner that never
    /// started has no name); true when there was one.
    async fn remove_etcd_member(&self, via: &NodeSession, name: &str, address: &str) -> Result<bool, KubeadmError> {
        let client = pki::issue_etcd_client(&self.secrets.etcd_ca, time::OffsetDateTime::now_utc())?;
        let etcd = EtcdClient::new(via, &self.secrets.etcd_ca.cert_pem, &client)?;
        let mut removed = false;
        for member in etcd.members().await?.iter().filter(|m| m.belongs_to(name, address)) {
            tracing::info!(node = name, member = member.id, learner = member.is_learner, "removing etcd member");
            etcd.remove(member.id).await?;
            removed = true;
        }
        Ok(removed)
    }

    /// `kubeadm reset` on every node in parallel; the caller decides how
    /// bad an unreachable node is (its VM may already be gone).
    pub async fn reset_all(&self, names: &[String]) -> Vec<KubeadmError> {
        let results = join_all(names.iter().map(|name| async move {
            let session = self.connect(name, false).await?;
            let r = session.reset().await;
            session.close().await;
            r
        }))
        .await;
        results.into_iter().filter_map(Result::err).collect()
    }
}

fn record_host_keys(sessions: &BTreeMap<String, (NodeSession, Probe)>, progress: &mut Progress) {
    for (name, (session, _)) in sessions {
        progress.host_keys.insert(name.clone(), session.host_key());
    }
}

async fn close_all(sessions: BTreeMap<String, (NodeSession, Probe)>) {
    join_all(sessions.into_values().map(|(session, _)| session.close())).await;
}

#[cfg(test)]
mod tests {
    use time::{Duration, OffsetDateTime};

    use super::must_upload_certificates;

    #[test]
    fn certificates_are_uploaded_again_when_less_than_half_an_hour_is_left() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        assert!(must_upload_certificates(None, now), "none uploaded, or deleted at expiry");
        assert!(!must_upload_certificates(Some(now + Duration::minutes(119)), now), "just uploaded");
        assert!(!must_upload_certificates(Some(now + Duration::minutes(31)), now));
        assert!(must_upload_certificates(Some(now + Duration::minutes(29)), now));
        assert!(must_upload_certificates(Some(now - Duration::minutes(1)), now), "expired, not yet collected");
    }
}
