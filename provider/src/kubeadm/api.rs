//! The few Kubernetes API calls the resource makes, over HTTPS through the
//! control plane endpoint (the kube-vip address), trusting only the
//! cluster CA and authenticating with the admin client certificate.
//! Refresh costs one request (`GET /api/v1/nodes`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value as Json, json};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error_chain::error_chain;

use super::config;
use super::error::KubeadmError;
use super::pki::CertPair;

/// The field manager of the provider's server-side applies.
const FIELD_MANAGER: &str = "terraform-provider-kubeadm";

/// What refresh needs to know about one Node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub name: String,
    pub ready: bool,
    pub kubelet_version: String,
    pub internal_ip: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub unschedulable: bool,
    /// `containerd://1.7.24`, as the kubelet reports its runtime.
    pub container_runtime: String,
}

/// What one eviction request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eviction {
    /// Accepted: the pod is being deleted.
    Evicted,
    /// The pod was gone already.
    Gone,
    /// 429: a PodDisruptionBudget allows no disruption now (the message says which).
    Refused(String),
}

/// A client for one cluster.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    /// How long a request whose connection fails is retried.
    retry_window: Duration,
}

impl ApiClient {
    /// A client for `server` (`https://host:port`) trusting `ca_pem` and
    /// presenting `admin`.
    pub fn new(server: &str, ca_pem: &str, admin: &CertPair, timeout: Duration) -> Result<Self, KubeadmError> {
        let tls = |what: &'static str| {
            move |e: reqwest::Error| KubeadmError::ClientTls { client: "API", what, source: Box::new(e) }
        };
        let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).map_err(tls("CA"))?;
        let identity = reqwest::Identity::from_pem(format!("{}\n{}", admin.cert_pem, admin.key_pem).as_bytes())
            .map_err(tls("client certificate"))?;
        let http = reqwest::Client::builder()
            .tls_certs_only([ca])
            .identity(identity)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .no_proxy()
            .build()
            .map_err(tls("client"))?;
        Ok(Self { http, base: server.trim_end_matches('/').to_string(), retry_window: Duration::ZERO })
    }

    /// Retries requests whose connection fails for up to `window`: the VIP
    /// moves after kube-vip's manifest swap and when the node holding it
    /// goes, and kube-vip needs its lease time to move it. Only transport
    /// failures are retried (the request did not reach an API server), so
    /// an answer is never sent twice.
    pub fn retrying_for(mut self, window: Duration) -> Self {
        self.retry_window = window;
        self
    }

    /// Sends `request`, retrying connection failures within the retry window.
    async fn send_retrying(
        &self,
        request: reqwest::RequestBuilder,
        window: Duration,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let deadline = tokio::time::Instant::now() + window;
        let mut pause = Duration::from_millis(200);
        loop {
            // Every body here is a string, so a request always clones.
            let Some(attempt) = request.try_clone() else { return request.send().await };
            match attempt.send().await {
                Err(e) if e.is_connect() && tokio::time::Instant::now() + pause < deadline => {
                    tracing::debug!(error = %error_chain(&e), ?pause, "API server unreachable; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                other => return other,
            }
        }
    }

    async fn send(&self, what: &str, request: reqwest::RequestBuilder) -> Result<Json, KubeadmError> {
        self.send_within(what, request, self.retry_window).await
    }

    async fn send_within(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
        window: Duration,
    ) -> Result<Json, KubeadmError> {
        let err = |status: Option<u16>, reason: String| KubeadmError::Api { what: what.to_string(), status, reason };
        let response = self.send_retrying(request, window).await.map_err(|e| err(None, error_chain(&e)))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| err(Some(status.as_u16()), e.to_string()))?;
        if !status.is_success() {
            let message = serde_json::from_str::<Json>(&body)
                .ok()
                .and_then(|j| j.get("message").and_then(Json::as_str).map(str::to_string))
                .unwrap_or(body);
            return Err(err(Some(status.as_u16()), format!("{status}: {message}")));
        }
        Ok(serde_json::from_str(&body).unwrap_or(Json::String(body)))
    }

    /// `GET /readyz`: Ok when the API server says it is ready.
    pub async fn ready(&self) -> Result<(), KubeadmError> {
        // No retries: wait_ready polls this itself, against its own deadline.
        self.send_within("GET /readyz", self.http.get(format!("{}/readyz", self.base)), Duration::ZERO)
            .await
            .map(|_| ())
    }

    /// Polls `/readyz` until it answers or `wait` passes.
    pub async fn wait_ready(
        &self,
        wait: Duration,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<(), KubeadmError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let last = match self.ready().await {
                Ok(()) => return Ok(()),
                Err(e) => e.to_string(),
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(KubeadmError::ApiNotReady {
                    endpoint: self.base.trim_start_matches("https://").to_string(),
                    waited: wait,
                    last_error: last,
                });
            }
            tokio::select! {
                () = cancel.cancelled() => return Err(KubeadmError::Cancelled),
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    }

    /// Every Node, by name.
    pub async fn nodes(&self) -> Result<BTreeMap<String, NodeInfo>, KubeadmError> {
        let list = self.send("GET /api/v1/nodes", self.http.get(format!("{}/api/v1/nodes", self.base))).await?;
        let items = list.get("items").and_then(Json::as_array).cloned().unwrap_or_default();
        Ok(items.iter().filter_map(parse_node).map(|n| (n.name.clone(), n)).collect())
    }

    /// Merge-patches a Node's labels (`None` deletes a label), taints and
    /// schedulability.
    pub async fn patch_node(&self, name: &str, patch: Json) -> Result<(), KubeadmError> {
        let what = format!("PATCH /api/v1/nodes/{name}");
        let request = self
            .http
            .patch(format!("{}/api/v1/nodes/{name}", self.base))
            .header("Content-Type", "application/merge-patch+json")
            .body(patch.to_string());
        self.send(&what, request).await.map(|_| ())
    }

    /// Creates or renews bootstrap token `token` (`ID.SECRET`) as kubeadm
    /// stores it: Secret `bootstrap-token-ID` in kube-system, valid until
    /// `expires`, for authentication and signing, in kubeadm's default node
    /// group. A server-side apply, so one request creates or updates it.
    pub async fn apply_bootstrap_token(&self, token: &str, expires: OffsetDateTime) -> Result<(), KubeadmError> {
        let (id, secret) = token.split_once('.').unwrap_or((token, ""));
        let expiration = expires.replace_nanosecond(0).unwrap_or(expires).format(&Rfc3339).map_err(|e| {
            KubeadmError::Api { what: "bootstrap token expiry".into(), status: None, reason: e.to_string() }
        })?;
        let b64 = |s: &str| BASE64.encode(s);
        let body = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": format!("bootstrap-token-{id}"), "namespace": "kube-system"},
            "type": "bootstrap.kubernetes.io/token",
            "data": {
                "token-id": b64(id),
                "token-secret": b64(secret),
                "expiration": b64(&expiration),
                "usage-bootstrap-authentication": b64("true"),
                "usage-bootstrap-signing": b64("true"),
                "auth-extra-groups": b64(config::TOKEN_GROUP),
                "description": b64("kubeadm_cluster join token (renewed before each join)"),
            },
        });
        let url = format!(
            "{}/api/v1/namespaces/kube-system/secrets/bootstrap-token-{id}?fieldManager={FIELD_MANAGER}&force=true",
            self.base
        );
        let request =
            self.http.patch(url).header("Content-Type", "application/apply-patch+yaml").body(body.to_string());
        // The secret stays out of the message: `what` names the Secret only.
        self.send(&format!("apply Secret kube-system/bootstrap-token-{id}"), request).await.map(|_| ())
    }

    /// When the certificates `kubeadm init phase upload-certs` uploaded go:
    /// kubeadm makes the `kubeadm-certs` Secret owned by a bootstrap token
    /// with a 2 h lifetime, and the garbage collector deletes the Secret with
    /// that token. `None` when there is no such Secret (never uploaded, or
    /// expired) or it has no such owner.
    pub async fn uploaded_certificates_expiry(&self) -> Result<Option<OffsetDateTime>, KubeadmError> {
        let Some(certs) = self.kube_system_secret("kubeadm-certs").await? else { return Ok(None) };
        let owner = certs
            .pointer("/metadata/ownerReferences")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("name").and_then(Json::as_str))
            .find(|name| name.starts_with("bootstrap-token-"));
        let Some(owner) = owner else { return Ok(None) };
        let Some(token) = self.kube_system_secret(owner).await? else { return Ok(None) };
        let expiration = token
            .pointer("/data/expiration")
            .and_then(Json::as_str)
            .and_then(|b64| BASE64.decode(b64).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| OffsetDateTime::parse(&text, &Rfc3339).ok());
        Ok(expiration)
    }

    /// Secret `name` in kube-system, `None` when there is none. Only its
    /// metadata and the token expiry are read; nothing of it is logged.
    async fn kube_system_secret(&self, name: &str) -> Result<Option<Json>, KubeadmError> {
        self.get_if_exists(
            &format!("Secret kube-system/{name}"),
            &format!("/api/v1/namespaces/kube-system/secrets/{name}"),
        )
        .await
    }

    /// `GET path`; `None` when the object does not exist (404).
    async fn get_if_exists(&self, what: &str, path: &str) -> Result<Option<Json>, KubeadmError> {
        match self.send(&format!("GET {what}"), self.http.get(format!("{}{path}", self.base))).await {
            Ok(object) => Ok(Some(object)),
            Err(KubeadmError::Api { status: Some(404), .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Marks a Node unschedulable.
    pub async fn cordon(&self, name: &str) -> Result<(), KubeadmError> {
        self.patch_node(name, json!({"spec": {"unschedulable": true}})).await
    }

    /// The Node object as the API server holds it (labels, taints and the
    /// resourceVersion a conditional patch needs).
    pub async fn node_object(&self, name: &str) -> Result<Json, KubeadmError> {
        self.send(&format!("GET /api/v1/nodes/{name}"), self.http.get(format!("{}/api/v1/nodes/{name}", self.base)))
            .await
    }

    /// Node `name`, `None` when there is none.
    pub async fn node(&self, name: &str) -> Result<Option<NodeInfo>, KubeadmError> {
        let node = self.get_if_exists(&format!("/api/v1/nodes/{name}"), &format!("/api/v1/nodes/{name}")).await?;
        Ok(node.as_ref().and_then(parse_node))
    }

    /// Every Pod bound to node `name`.
    pub async fn pods_on(&self, name: &str) -> Result<Vec<Json>, KubeadmError> {
        let url = format!("{}/api/v1/pods?fieldSelector=spec.nodeName%3D{name}", self.base);
        let pods = self.send(&format!("GET pods on {name}"), self.http.get(url)).await?;
        Ok(pods.get("items").and_then(Json::as_array).cloned().unwrap_or_default())
    }

    /// Asks the Eviction API to evict a Pod, which honours its
    /// PodDisruptionBudgets.
    pub async fn evict(&self, namespace: &str, name: &str) -> Result<Eviction, KubeadmError> {
        let body =
            json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}});
        let request = self
            .http
            .post(format!("{}/api/v1/namespaces/{namespace}/pods/{name}/eviction", self.base))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        match self.send(&format!("evict {namespace}/{name}"), request).await {
            Ok(_) => Ok(Eviction::Evicted),
            Err(KubeadmError::Api { status: Some(404), .. }) => Ok(Eviction::Gone),
            Err(KubeadmError::Api { status: Some(429), reason, .. }) => Ok(Eviction::Refused(reason)),
            Err(e) => Err(e),
        }
    }

    /// Pod `namespace/name`, `None` when there is none.
    pub async fn pod(&self, namespace: &str, name: &str) -> Result<Option<Json>, KubeadmError> {
        let path = format!("/api/v1/namespaces/{namespace}/pods/{name}");
        self.get_if_exists(&format!("pod {namespace}/{name}"), &path).await
    }

    /// The `kubernetesVersion` of the ClusterConfiguration kubeadm keeps in
    /// the `kubeadm-config` ConfigMap (`v1.35.4`): what `kubeadm upgrade
    /// apply` last moved the cluster to. `None` when there is none.
    pub async fn cluster_version(&self) -> Result<Option<String>, KubeadmError> {
        let path = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config";
        let map = self.get_if_exists("ConfigMap kube-system/kubeadm-config", path).await?;
        let text = map.as_ref().and_then(|m| m.pointer("/data/ClusterConfiguration")).and_then(Json::as_str);
        Ok(text.and_then(|t| {
            t.lines().find_map(|l| l.strip_prefix("kubernetesVersion:")).map(|v| v.trim().trim_matches('"').to_owned())
        }))
    }

    /// The uid of Pod `namespace/name`, `None` once it is gone.
    pub async fn pod_uid(&self, namespace: &str, name: &str) -> Result<Option<String>, KubeadmError> {
        let pod = self.pod(namespace, name).await?;
        Ok(pod.as_ref().and_then(|p| p.pointer("/metadata/uid")).and_then(Json::as_str).map(str::to_owned))
    }

    /// Deletes a Node; a missing one is fine.
    pub async fn delete_node(&self, name: &str) -> Result<(), KubeadmError> {
        let what = format!("DELETE /api/v1/nodes/{name}");
        match self.send(&what, self.http.delete(format!("{}/api/v1/nodes/{name}", self.base))).await {
            Err(KubeadmError::Api { status: Some(404), .. }) => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

fn parse_node(item: &Json) -> Option<NodeInfo> {
    let at = |pointer: &str| item.pointer(pointer);
    let name = at("/metadata/name")?.as_str()?.to_string();
    let field = |entry: &Json, key: &str| entry.get(key).and_then(Json::as_str).map(str::to_string);
    let ready = at("/status/conditions").and_then(Json::as_array).is_some_and(|c| {
        c.iter().any(|c| field(c, "type").as_deref() == Some("Ready") && field(c, "status").as_deref() == Some("True"))
    });
    let internal_ip = at("/status/addresses")
        .and_then(Json::as_array)
        .and_then(|a| a.iter().find(|a| field(a, "type").as_deref() == Some("InternalIP")))
        .and_then(|a| field(a, "address"));
    let strings = |pointer: &str| -> BTreeMap<String, String> {
        at(pointer)
            .and_then(Json::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
            .unwrap_or_default()
    };
    let text = |pointer: &str| at(pointer).and_then(Json::as_str).unwrap_or_default().to_string();
    Some(NodeInfo {
        name,
        ready,
        kubelet_version: text("/status/nodeInfo/kubeletVersion"),
        internal_ip,
        labels: strings("/metadata/labels"),
        annotations: strings("/metadata/annotations"),
        unschedulable: at("/spec/unschedulable").and_then(Json::as_bool).unwrap_or(false),
        container_runtime: text("/status/nodeInfo/containerRuntimeVersion"),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// An HTTPS server on `port` that starts listening after `delay` and
    /// answers one request with an empty NodeList. Returns the CA to trust.
    fn late_server(port: u16, delay: Duration) -> String {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, &ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap().signed_by(&leaf_key, &issuer).unwrap();
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(
                    vec![leaf.der().clone()],
                    rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
                )
                .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
            let (tcp, _) = listener.accept().await.unwrap();
            let mut tls = acceptor.accept(tcp).await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut tls, &mut buf).await;
            let body = r#"{"kind":"NodeList","items":[]}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            tokio::io::AsyncWriteExt::write_all(&mut tls, reply.as_bytes()).await.unwrap();
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
        });
        ca_cert.pem()
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn a_vip_that_answers_late_is_retried_within_the_window_only() {
        let admin = crate::kubeadm::pki::generate(time::OffsetDateTime::now_utc()).unwrap().admin;
        let port = free_port();
        let ca = late_server(port, Duration::from_millis(1500));
        let url = format!("https://127.0.0.1:{port}");
        let single_shot = ApiClient::new(&url, &ca, &admin, Duration::from_secs(5)).unwrap();
        let err = single_shot.nodes().await.expect_err("nothing listens yet");
        assert!(matches!(err, KubeadmError::Api { status: None, .. }), "a transport error has no status: {err}");
        let retrying = single_shot.retrying_for(Duration::from_secs(10));
        assert!(retrying.nodes().await.unwrap().is_empty());
    }

    #[test]
    fn node_list_items_parse_like_the_api_serves_them() {
        let item = json!({
            "metadata": {"name": "cp-1", "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": true},
            "status": {
                "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                "addresses": [{"type": "Hostname", "address": "cp-1"}, {"type": "InternalIP", "address": "10.0.0.1"}],
                "nodeInfo": {"kubeletVersion": "v1.35.0"}
            }
        });
        let node = parse_node(&item).unwrap();
        assert!(node.ready && node.unschedulable);
        assert_eq!(node.internal_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(node.kubelet_version, "v1.35.0");
        let not_ready =
            json!({"metadata": {"name": "wk-1"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert!(!parse_node(&not_ready).unwrap().ready);
    }
}
