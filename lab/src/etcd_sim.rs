//! The simulated lab's etcd client port: `127.0.0.1:2379` inside a
//! control plane's namespaces, speaking the part of etcd's JSON gateway the
//! provider uses (`/v3/cluster/member/list` and `/remove`) over TLS with
//! client certificates of the etcd CA the node holds
//! (`/etc/kubernetes/pki/etcd/ca.{crt,key}`), on the members recorded in
//! `cluster.json`. Like a real etcd it answers only while the host is a
//! member; otherwise the connection closes (a real node refuses it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde_json::{Value, json};

use crate::cluster::{self, Cluster};
use crate::pki;

const CA_CERT: &str = "/etc/kubernetes/pki/etcd/ca.crt";
const CA_KEY: &str = "/etc/kubernetes/pki/etcd/ca.key";

/// Serves forever for host `host` of the lab at `dir`.
pub fn serve(dir: &Path, host: &str) -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:2379").map_err(|e| format!("bind 127.0.0.1:2379: {e}"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cached: Option<(String, Arc<ServerConfig>)> = None;
    for stream in listener.incoming().flatten() {
        let is_member =
            cluster::read_clusters(dir).clusters.iter().any(|c| c.etcd_members.iter().any(|m| m.name == host));
        let (Ok(ca), Ok(key)) = (std::fs::read_to_string(CA_CERT), std::fs::read_to_string(CA_KEY)) else { continue };
        if !is_member {
            continue;
        }
        if cached.as_ref().is_none_or(|(pem, _)| *pem != ca) {
            match server_config(&provider, &ca, &key) {
                Ok(config) => cached = Some((ca.clone(), config)),
                Err(e) => {
                    eprintln!("etcd-sim: {e}");
                    continue;
                }
            }
        }
        if let Some((_, config)) = &cached {
            let (config, dir, host) = (Arc::clone(config), dir.to_path_buf(), host.to_owned());
            std::thread::spawn(move || {
                if let Err(e) = handle(stream, config, &dir, &host) {
                    eprintln!("etcd-sim: {e}");
                }
            });
        }
    }
    Ok(())
}

fn server_config(provider: &Arc<CryptoProvider>, ca: &str, key: &str) -> Result<Arc<ServerConfig>, String> {
    let sans = ["127.0.0.1".to_owned(), "localhost".to_owned()];
    pki::tls_server_config(provider, ca, key, &sans, pki::ClientCerts::Required)
}

fn handle(stream: TcpStream, config: Arc<ServerConfig>, dir: &Path, host: &str) -> Result<(), String> {
    let connection = ServerConnection::new(config).map_err(|e| e.to_string())?;
    let mut tls = BufReader::new(StreamOwned::new(connection, stream));
    let mut request_line = String::new();
    tls.read_line(&mut request_line).map_err(|e| e.to_string())?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        tls.read_line(&mut line).map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    tls.read_exact(&mut body).map_err(|e| e.to_string())?;
    let path = request_line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, reply) = route(dir, host, &path, &request);
    let text = reply.to_string();
    let response = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        if status == 200 { "OK" } else { "Error" },
        text.len()
    );
    let stream = tls.get_mut();
    stream.write_all(response.as_bytes()).map_err(|e| e.to_string())?;
    stream.conn.send_close_notify();
    stream.flush().map_err(|e| e.to_string())
}

fn route(dir: &Path, host: &str, path: &str, request: &Value) -> (u16, Value) {
    let result = cluster::with_clusters(dir, |file| -> Result<(u16, Value), String> {
        let Some(c) = file.clusters.iter_mut().find(|c| c.etcd_members.iter().any(|m| m.name == host)) else {
            return Ok((503, json!({"error": "etcdserver: not a member", "code": 14})));
        };
        Ok(match path {
            "/v3/cluster/member/list" => (200, list(c, host)),
            "/v3/cluster/member/remove" => remove(c, host, request),
            _ => (404, json!({"error": format!("{path} is not simulated"), "code": 5})),
        })
    });
    result.unwrap_or_else(|e| (500, json!({"error": e, "code": 13})))
}

fn header(c: &Cluster, host: &str) -> Value {
    let cluster_id = cluster::id_from(&format!("etcd-cluster:{}", c.ca_hash));
    let me = c.etcd_members.iter().find(|m| m.name == host).map_or(0, |m| m.id);
    json!({"cluster_id": cluster_id.to_string(), "member_id": me.to_string(), "raft_term": (2 + c.etcd_members.len()).to_string()})
}

/// uint64 fields as strings, as etcd's gateway writes them.
fn list(c: &Cluster, host: &str) -> Value {
    let members: Vec<Value> = c
        .etcd_members
        .iter()
        .map(|m| {
            json!({"ID": m.id.to_string(), "name": m.name,
                "peerURLs": [format!("https://{}:2380", m.address)],
                "clientURLs": [format!("https://{}:2379", m.address)]})
        })
        .collect();
    json!({"header": header(c, host), "members": members})
}

fn remove(c: &mut Cluster, host: &str, request: &Value) -> (u16, Value) {
    let id = request["ID"].as_str().and_then(|s| s.parse::<u64>().ok()).or_else(|| request["ID"].as_u64());
    let Some(position) = id.and_then(|id| c.etcd_members.iter().position(|m| m.id == id)) else {
        return (404, json!({"error": "etcdserver: member not found", "code": 5}));
    };
    c.etcd_members.remove(position);
    (200, json!({"header": header(c, host), "members": list(c, host)["members"]}))
}
