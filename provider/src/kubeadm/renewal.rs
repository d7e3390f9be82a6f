//! Certificate renewal in an apply: one control plane at a time, each
//! behind a health gate before the next, so an HA cluster keeps its API
//! server and etcd quorum throughout.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use super::api::ApiClient;
use super::certificates::{self, format_expiry};
use super::error::KubeadmError;
use super::lifecycle::{Ctx, Progress};
use super::node::{NodeFile, NodeSession};
use crate::node_scripts::RENEW_CERTIFICATES;

/// How long a restarted control plane may take to pass the health gate.
const HEALTH_WAIT: Duration = Duration::from_secs(180);
/// One TLS handshake or API request of the gate.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// The renewal script on the node, run as root, in the provider's own
/// directory ([`super::node::STATE_DIR`]).
const SCRIPT_PATH: &str = "/etc/kubernetes/terraform/renew-certificates";

impl Ctx<'_> {
    /// Renews the certificates of the control planes in `names`, in order,
    /// stopping at the first failure; each one's new expiry goes into
    /// `progress.certificates`. `before` is each one's expiry in state.
    pub async fn renew_certificates(
        &self,
        names: &[String],
        before: &BTreeMap<String, OffsetDateTime>,
        progress: &mut Progress,
    ) -> Vec<KubeadmError> {
        for name in names {
            let renewed = async {
                let session = self.connect(name, false).await?;
                progress.host_keys.insert(name.clone(), session.host_key());
                let result = self.renew_one(&session, before.get(name).copied()).await;
                session.close().await;
                result
            };
            match renewed.await {
                Ok(expiry) => {
                    tracing::info!(node = %name, expires = %format_expiry(expiry), "certificates renewed");
                    progress.certificates.insert(name.clone(), expiry);
                }
                Err(e) => return vec![e],
            }
        }
        Vec::new()
    }

    async fn renew_one(
        &self,
        session: &NodeSession,
        before: Option<OffsetDateTime>,
    ) -> Result<OffsetDateTime, KubeadmError> {
        let script = [NodeFile::new(SCRIPT_PATH, RENEW_CERTIFICATES, 0o700)];
        session
            .run_bundle(
                "renewing the certificates (kubeadm certs renew all, static pods restarted)",
                &script,
                SCRIPT_PATH,
                &[],
                &[],
                Some(self.step_timeout),
            )
            .await?;
        self.wait_healthy(session, before).await
    }

    /// Polls [`Self::healthy`] until it passes or [`HEALTH_WAIT`] is over.
    async fn wait_healthy(
        &self,
        session: &NodeSession,
        before: Option<OffsetDateTime>,
    ) -> Result<OffsetDateTime, KubeadmError> {
        let node = session.name.clone();
        self.wait_until(
            HEALTH_WAIT,
            || self.healthy(session, before),
            |last| KubeadmError::Unhealthy { node, waited: HEALTH_WAIT, last: Box::new(last) },
        )
        .await
    }

    /// One round of the gate: the node's API server serves a certificate
    /// newer than `before` and is ready, etcd lists every control plane as
    /// a started voting member, and the Node is Ready. The new expiry.
    async fn healthy(
        &self,
        session: &NodeSession,
        before: Option<OffsetDateTime>,
    ) -> Result<OffsetDateTime, KubeadmError> {
        let name = &session.name;
        let address =
            &self.cluster.nodes.get(name).ok_or_else(|| KubeadmError::UnknownNode { node: name.clone() })?.spec.address;
        let ca = &self.secrets.ca.cert_pem;
        let expiry = certificates::serving_certificate_expiry(address, ca, CHECK_TIMEOUT)
            .await
            .map_err(|source| KubeadmError::CertificateExpiry { node: name.clone(), source })?;
        if let Some(before) = before.filter(|b| expiry <= *b) {
            return Err(KubeadmError::NotRenewed {
                node: name.clone(),
                before: format_expiry(before),
                after: format_expiry(expiry),
            });
        }
        let own = format!("https://{}", certificates::api_server_address(address));
        ApiClient::new(&own, ca, &self.secrets.admin, CHECK_TIMEOUT)?.ready().await?;
        self.etcd_all_voting(session).await?;
        match self.api.node(name).await? {
            Some(node) if node.ready => Ok(expiry),
            _ => Err(KubeadmError::Api {
                what: format!("GET node {name}"),
                status: None,
                reason: "the Node is not Ready".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_script_lives_in_the_providers_directory() {
        assert!(super::SCRIPT_PATH.starts_with(&format!("{}/", super::super::node::STATE_DIR)));
    }
}
