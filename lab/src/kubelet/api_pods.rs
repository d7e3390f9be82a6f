//! The pods the API server binds to this node (Deployments', DaemonSets',
//! bare pods): with no container runtime here they cannot run, so the
//! stand-in reports each one Running and Ready, and confirms a deletion
//! (what a kubelet does once the containers stopped) as soon as the pod is
//! marked for deletion. That is enough for the real controllers to see
//! healthy pods: the disruption controller counts them against their
//! PodDisruptionBudgets, and the Eviction API refuses (429) what a budget
//! does not allow, as on a real cluster.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::kubeconfig::Client;

/// How often the node's pods are listed.
const EVERY: Duration = Duration::from_secs(1);

/// The pods of one node this stand-in has reported.
#[derive(Debug, Default)]
pub struct ApiPods {
    /// uids reported Running.
    reported: BTreeSet<String>,
    last_sync: Option<Instant>,
}

impl ApiPods {
    /// One round: report new pods Running, confirm deletions.
    pub fn sync(&mut self, client: &Client, node: &str, address: &str) -> Result<(), String> {
        if self.last_sync.is_some_and(|at| at.elapsed() < EVERY) {
            return Ok(());
        }
        self.last_sync = Some(Instant::now());
        let list = client.expect("GET", &format!("/api/v1/pods?fieldSelector=spec.nodeName%3D{node}"), None, &[])?;
        let pods = list.body["items"].as_array().cloned().unwrap_or_default();
        let mut seen = BTreeSet::new();
        for pod in pods.iter().filter(|p| p["metadata"]["annotations"].get("kubernetes.io/config.mirror").is_none()) {
            let meta = &pod["metadata"];
            let (Some(ns), Some(name), Some(uid)) =
                (meta["namespace"].as_str(), meta["name"].as_str(), meta["uid"].as_str())
            else {
                continue;
            };
            seen.insert(uid.to_owned());
            if meta.get("deletionTimestamp").is_some() {
                confirm_deletion(client, ns, name, uid)?;
            } else if !self.reported.contains(uid) && !finished(pod) {
                let path = format!("/api/v1/namespaces/{ns}/pods/{name}/status");
                client.expect(
                    "PATCH",
                    &path,
                    Some(("application/merge-patch+json", &running(pod, address)?)),
                    &[404],
                )?;
                self.reported.insert(uid.to_owned());
            }
        }
        self.reported.retain(|uid| seen.contains(uid));
        Ok(())
    }
}

fn finished(pod: &Value) -> bool {
    matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
}

/// The final delete a kubelet sends once a pod's containers are gone; the
/// uid precondition keeps it from deleting a new pod of the same name.
fn confirm_deletion(client: &Client, ns: &str, name: &str, uid: &str) -> Result<(), String> {
    let options =
        json!({"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0, "preconditions": {"uid": uid}});
    let path = format!("/api/v1/namespaces/{ns}/pods/{name}");
    client.expect("DELETE", &path, Some(("application/json", &options)), &[404, 409]).map(|_| ())
}

/// A status of `pod` as if all its containers had started.
fn running(pod: &Value, address: &str) -> Result<Value, String> {
    let now = OffsetDateTime::now_utc();
    let stamp = now.replace_nanosecond(0).unwrap_or(now).format(&Rfc3339).map_err(|e| e.to_string())?;
    let condition = |kind: &str| json!({"type": kind, "status": "True", "lastTransitionTime": stamp});
    let containers: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": true, "started": true,
                "restartCount": 0, "state": {"running": {"startedAt": stamp}}})
        })
        .collect();
    let mut status = json!({
        "phase": "Running", "hostIP": address, "startTime": stamp,
        "conditions": [condition("PodScheduled"), condition("Initialized"), condition("ContainersReady"), condition("Ready")],
        "containerStatuses": containers,
    });
    // No pod network here: only a host-network pod has an address.
    if pod["spec"]["hostNetwork"] == true {
        status["podIP"] = json!(address);
    }
    Ok(json!({"status": status}))
}
