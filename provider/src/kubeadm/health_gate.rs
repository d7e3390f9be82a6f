//! The health gate between two nodes of a rolling step (certificate
//! renewal, upgrade): a check polled until it passes or its time is up, and
//! the etcd part every control-plane gate shares.

use std::future::Future;
use std::time::Duration;

use time::OffsetDateTime;

use super::backoff::Backoff;
use super::error::KubeadmError;
use super::etcd::EtcdClient;
use super::lifecycle::Ctx;
use super::node::NodeSession;
use super::pki;

/// Between two rounds of a gate (each is a few API requests): a kubelet
/// that just restarted reports in within a second or two, so the rounds
/// start close together and spread out during a longer wait.
const FIRST_POLL: Duration = Duration::from_millis(50);
const LAST_POLL: Duration = Duration::from_millis(500);

impl Ctx<'_> {
    /// Polls `check` until it passes, or until `wait` is over (then the
    /// last failure, wrapped by `timed_out`).
    pub(super) async fn wait_until<T, F, Fut>(
        &self,
        wait: Duration,
        mut check: F,
        timed_out: impl FnOnce(KubeadmError) -> KubeadmError,
    ) -> Result<T, KubeadmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, KubeadmError>>,
    {
        let deadline = tokio::time::Instant::now() + wait;
        let mut backoff = Backoff::new(FIRST_POLL, LAST_POLL);
        loop {
            let last = match check().await {
                Ok(passed) => return Ok(passed),
                Err(e) => e,
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(timed_out(last));
            }
            tokio::select! {
                () = self.cancel.cancelled() => return Err(KubeadmError::Cancelled),
                () = tokio::time::sleep(backoff.pause()) => {}
            }
        }
    }

    /// etcd, asked through this node, lists every control plane of the
    /// configuration as a started member, none of them a learner.
    pub(super) async fn etcd_all_voting(&self, session: &NodeSession) -> Result<(), KubeadmError> {
        let client = pki::issue_etcd_client(&self.secrets.etcd_ca, OffsetDateTime::now_utc())?;
        let members = EtcdClient::new(session, &self.secrets.etcd_ca.cert_pem, &client)?.members().await?;
        let missing: Vec<&str> = self
            .cluster
            .control_planes()
            .filter(|cp| !members.iter().any(|m| m.name == cp.spec.name && !m.is_learner))
            .map(|cp| cp.spec.name.as_str())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(KubeadmError::Etcd {
            node: session.name.clone(),
            what: "member list".into(),
            reason: format!("not (yet) started voting members: {}", missing.join(", ")),
        })
    }
}
