//! The parts of a kubeconfig the kubelet stand-in reads: the server, the CA,
//! and either a bearer token (bootstrap-kubelet.conf) or a client
//! certificate, embedded or by path (kubelet.conf before and after
//! kubeadm's kubelet-finalize phase).

use std::fs;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use yaml_rust2::{Yaml, YamlLoader};

/// How the kubelet authenticates.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A bootstrap token.
    Token(String),
    /// Client certificate and key, PEM.
    Certificate { cert_pem: String, key_pem: String },
}

/// One kubeconfig's current context, resolved.
#[derive(Debug, Clone)]
pub struct Kubeconfig {
    pub server: String,
    pub ca_pem: String,
    pub credential: Credential,
}

impl Kubeconfig {
    /// Reads `path`; `None` when it does not exist yet.
    pub fn read(path: &Path) -> Result<Option<Self>, String> {
        let Ok(text) = fs::read_to_string(path) else { return Ok(None) };
        let docs = YamlLoader::load_from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc = docs.first().ok_or_else(|| format!("{}: empty", path.display()))?;
        let field = |section: &str, key: &str| -> Option<String> {
            doc[section].as_vec()?.first()?[section.trim_end_matches('s')][key].as_str().map(str::to_owned)
        };
        let server = field("clusters", "server").ok_or_else(|| format!("{}: no server", path.display()))?;
        let ca_pem = match field("clusters", "certificate-authority-data") {
            Some(data) => decode(&data)?,
            None => read_file(&field("clusters", "certificate-authority").unwrap_or_default())?,
        };
        let credential = if let Some(token) = field("users", "token") {
            Credential::Token(token)
        } else {
            let pem = |data: &str, file: &str| match field("users", data) {
                Some(d) => decode(&d),
                None => read_file(&field("users", file).unwrap_or_default()),
            };
            Credential::Certificate {
                cert_pem: pem("client-certificate-data", "client-certificate")?,
                key_pem: pem("client-key-data", "client-key")?,
            }
        };
        Ok(Some(Kubeconfig { server, ca_pem, credential }))
    }

    /// A blocking HTTPS client trusting only the cluster CA.
    pub fn client(&self) -> Result<Client, String> {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).map_err(|e| format!("CA: {e}"))?;
        let mut builder = reqwest::blocking::Client::builder()
            .tls_certs_only([ca])
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            .no_proxy();
        let mut token = None;
        match &self.credential {
            Credential::Token(t) => token = Some(t.clone()),
            Credential::Certificate { cert_pem, key_pem } => {
                let identity = reqwest::Identity::from_pem(format!("{cert_pem}\n{key_pem}").as_bytes())
                    .map_err(|e| format!("client certificate: {e}"))?;
                builder = builder.identity(identity);
            }
        }
        let http = builder.build().map_err(|e| e.to_string())?;
        Ok(Client { http, base: self.server.trim_end_matches('/').to_owned(), token })
    }
}

fn decode(data: &str) -> Result<String, String> {
    let bytes = BASE64.decode(data.trim()).map_err(|e| format!("base64: {e}"))?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

fn read_file(path: &str) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

/// A response: status code and JSON body (Null when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
}

/// A minimal Kubernetes API client.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::blocking::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    /// Sends `method path` with an optional JSON body of `content_type`.
    pub fn call(&self, method: &str, path: &str, body: Option<(&str, &serde_json::Value)>) -> Result<Reply, String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some((content_type, body)) = body {
            request = request.header("Content-Type", content_type).body(body.to_string());
        }
        let response = request.send().map_err(|e| format!("{path}: {e}"))?;
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        Ok(Reply { status, body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null) })
    }

    /// `call`, failing on any status outside 2xx except those in `fine`.
    pub fn expect(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, &serde_json::Value)>,
        fine: &[u16],
    ) -> Result<Reply, String> {
        let reply = self.call(method, path, body)?;
        if (200..300).contains(&reply.status) || fine.contains(&reply.status) {
            Ok(reply)
        } else {
            Err(format!("{method} {path}: {} {}", reply.status, reply.body["message"].as_str().unwrap_or("")))
        }
    }
}

/// Writes a kubeconfig for `server` whose user is the client certificate
/// file `cert_path` (cert and key in one PEM, as the kubelet writes it).
pub fn write_cert_kubeconfig(path: &Path, server: &str, ca_pem: &str, cert_path: &Path) -> Result<(), String> {
    let ca = BASE64.encode(ca_pem);
    let cert = cert_path.display();
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: default-cluster\n\
         contexts:\n- context:\n    cluster: default-cluster\n    namespace: default\n    user: default-auth\n  name: default-context\n\
         current-context: default-context\npreferences: {{}}\nusers:\n- name: default-auth\n  user:\n    client-certificate: {cert}\n    client-key: {cert}\n"
    );
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads a YAML file's first document.
pub fn read_yaml(path: &Path) -> Option<Yaml> {
    let text = fs::read_to_string(path).ok()?;
    YamlLoader::load_from_str(&text).ok()?.into_iter().next()
}
