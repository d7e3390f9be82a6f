//! etcd's own cluster API, on a control plane: member list (learners and
//! peer URLs included), remove and promote.
//!
//! It goes through an SSH tunnel to the node's loopback client port
//! (kubeadm's etcd listens on 127.0.0.1:2379 and the node address), over
//! TLS that trusts only the etcd CA and presents a client certificate the
//! provider issues from that CA, and speaks etcd's JSON gateway
//! (`/v3/cluster/member/*`, HTTP/1.1). Nothing on the node is needed
//! beyond sshd: no etcdctl, no `kubectl exec` (which needs the kubelet's
//! streaming API).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::TlsConnector;

use super::error::KubeadmError;
use super::node::NodeSession;
use super::pki::CertPair;

/// kubeadm's etcd client port.
const CLIENT_PORT: u16 = 2379;
/// The peer port, in the peer URL kubeadm gives each member.
const PEER_PORT: u16 = 2380;

/// One etcd member, as the cluster API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    /// Empty for a member that was added but has not started yet.
    pub name: String,
    pub peer_urls: Vec<String>,
    pub is_learner: bool,
}

impl Member {
    /// Whether this is the member of the node `name` at `address`: by name,
    /// or by peer URL (a learner kubeadm added whose etcd never started has
    /// no name yet, and kubeadm reuses a member with the node's peer URL).
    pub fn belongs_to(&self, name: &str, address: &str) -> bool {
        self.name == name || self.peer_urls.iter().any(|u| *u == peer_url(address))
    }
}

/// kubeadm's peer URL for a control plane at `address`.
pub fn peer_url(address: &str) -> String {
    if address.contains(':') {
        format!("https://[{address}]:{PEER_PORT}")
    } else {
        format!("https://{address}:{PEER_PORT}")
    }
}

/// etcd's cluster API through one control plane's SSH session.
pub struct EtcdClient<'a> {
    session: &'a NodeSession,
    tls: TlsConnector,
}

impl std::fmt::Debug for EtcdClient<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdClient").field("node", &self.session.name).finish_non_exhaustive()
    }
}

impl<'a> EtcdClient<'a> {
    /// A client through `session` trusting `etcd_ca_pem`, presenting `client`.
    pub fn new(session: &'a NodeSession, etcd_ca_pem: &str, client: &CertPair) -> Result<Self, KubeadmError> {
        let bad = |what: &'static str, source: Box<dyn std::error::Error + Send + Sync>| KubeadmError::ClientTls {
            client: "etcd",
            what,
            source,
        };
        let roots = super::pki::roots_from_pem(etcd_ca_pem).map_err(|e| bad("CA", e.into()))?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(client.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| bad("client certificate", e.into()))?;
        let key = PrivateKeyDer::from_pem_slice(client.key_pem.as_bytes()).map_err(|e| bad("client key", e.into()))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("protocol", e.into()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| bad("client certificate", e.into()))?;
        Ok(EtcdClient { session, tls: TlsConnector::from(Arc::new(config)) })
    }

    /// Every member, learners and unstarted ones included.
    pub async fn members(&self) -> Result<Vec<Member>, KubeadmError> {
        let reply = self.call("member list", "/v3/cluster/member/list", &json!({"linearizable": true})).await?;
        let members = reply.get("members").and_then(Json::as_array).cloned().unwrap_or_default();
        members.iter().map(|m| self.member(m)).collect()
    }

    /// Removes member `id`.
    pub async fn remove(&self, id: u64) -> Result<(), KubeadmError> {
        self.call("member remove", "/v3/cluster/member/remove", &json!({"ID": id.to_string()})).await.map(|_| ())
    }

    fn member(&self, m: &Json) -> Result<Member, KubeadmError> {
        // uint64 fields are JSON strings in etcd's gateway (proto3 mapping).
        let id = m.get("ID").and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_u64()));
        let id = id.ok_or_else(|| self.error("member list", format!("a member without an ID: {m}")))?;
        let text = |key: &str| m.get(key).and_then(Json::as_str).unwrap_or_default().to_owned();
        let peer_urls = m
            .get("peerURLs")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str().map(str::to_owned))
            .collect();
        Ok(Member {
            id,
            name: text("name"),
            peer_urls,
            is_learner: m.get("isLearner").and_then(Json::as_bool) == Some(true),
        })
    }

    fn error(&self, what: &str, reason: String) -> KubeadmError {
        KubeadmError::Etcd { node: self.session.name.clone(), what: what.to_owned(), reason }
    }

    /// One POST to the gateway; the JSON reply of a 200.
    async fn call(&self, what: &str, path: &str, body: &Json) -> Result<Json, KubeadmError> {
        let stream = self.session.forward_to_loopback(CLIENT_PORT).await?;
        let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
        let mut tls = self.tls.connect(name, stream).await.map_err(|e| self.error(what, format!("TLS: {e}")))?;
        let body = body.to_string();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{CLIENT_PORT}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        tls.write_all(request.as_bytes()).await.map_err(|e| self.error(what, e.to_string()))?;
        let mut response = Vec::new();
        // etcd may close without TLS close_notify after `Connection: close`.
        if let Err(e) = tls.read_to_end(&mut response).await {
            if response.is_empty() {
                return Err(self.error(what, e.to_string()));
            }
        }
        let (status, payload) = parse_response(&response).map_err(|e| self.error(what, e))?;
        if status != 200 {
            return Err(self.error(what, format!("HTTP {status}: {}", String::from_utf8_lossy(&payload))));
        }
        serde_json::from_slice(&payload).map_err(|e| self.error(what, format!("unreadable reply: {e}")))
    }
}

/// Status code and body of an HTTP/1.1 response (Content-Length, chunked,
/// or up to the end).
fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no HTTP header in the reply")?;
    let (head, rest) = raw.split_at(split);
    let body = rest.get(4..).unwrap_or_default();
    let head = String::from_utf8_lossy(head);
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line: {:?}", head.lines().next()))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    Ok((status, if chunked { dechunk(body)? } else { body.to_vec() }))
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").ok_or("truncated chunk")?;
        let (size_line, rest) = body.split_at(line_end);
        let size_text = String::from_utf8_lossy(size_line);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        let rest = rest.get(2..).unwrap_or_default();
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(rest.get(..size).ok_or("truncated chunk")?);
        body = rest.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_belong_by_name_or_peer_url() {
        let unstarted = Member { id: 1, name: String::new(), peer_urls: vec![peer_url("10.0.0.12")], is_learner: true };
        assert!(unstarted.belongs_to("cp-2", "10.0.0.12"));
        assert!(!unstarted.belongs_to("cp-3", "10.0.0.13"));
        let named = Member { id: 2, name: "cp-3".into(), peer_urls: vec![peer_url("10.0.0.99")], is_learner: false };
        assert!(named.belongs_to("cp-3", "10.0.0.13"));
        assert_eq!(peer_url("fd00::3"), "https://[fd00::3]:2380");
    }

    #[test]
    fn responses_with_length_or_chunks() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(parse_response(plain).unwrap(), (200, b"{}".to_vec()));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap(), (200, b"{\"a\":1}".to_vec()));
        assert_eq!(parse_response(b"garbage"), Err("no HTTP header in the reply".to_owned()));
        let bad_status = parse_response(b"HTTP/1.1 OK\r\n\r\n").expect_err("no status code");
        assert!(bad_status.starts_with("bad status line"), "{bad_status}");
        let bad_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert!(parse_response(bad_chunk).expect_err("bad chunk").starts_with("bad chunk size"));
    }
}
