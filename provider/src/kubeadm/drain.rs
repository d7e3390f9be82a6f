//! Draining a node before it leaves the cluster, the way `kubectl drain
//! --ignore-daemonsets` does: pods are evicted through the Eviction API so
//! that PodDisruptionBudgets are honoured, an eviction a budget refuses
//! (HTTP 429) is retried until `drain.timeout`, and the drain returns only
//! once the evicted pods are gone. Pods an eviction would lose for good
//! (no controller recreates them, or their emptyDir data goes with them)
//! are refused unless `drain` allows it, and that is checked before the
//! node is cordoned, so a refused drain changes nothing.

use std::time::Duration;

use serde_json::Value as Json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::api::{ApiClient, Eviction};
use super::backoff::Backoff;
use super::error::KubeadmError;
use super::model::DrainSettings;

/// kubectl drain retries a refused eviction every 5 s; start faster, since
/// a budget often frees up within a second of a replacement turning Ready.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const LAST_RETRY: Duration = Duration::from_secs(5);
/// How often evicted pods are looked for while waiting for them to go: a
/// pod with nothing to flush is gone within a few hundred milliseconds.
const GONE_FIRST_POLL: Duration = Duration::from_millis(50);
const GONE_LAST_POLL: Duration = Duration::from_secs(1);

/// One pod, by identity: a pod recreated under the same name is another pod.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PodRef {
    namespace: String,
    name: String,
    uid: String,
}

impl PodRef {
    fn label(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// What a drain does with one pod.
#[derive(Debug, PartialEq, Eq)]
enum Disposition {
    /// DaemonSet and static (mirror) pods stay, as with `--ignore-daemonsets`.
    Stay,
    Evict(PodRef),
    /// Not allowed by the settings; the text says why and what allows it.
    Refuse(String),
}

fn disposition(pod: &Json, settings: &DrainSettings) -> Disposition {
    let meta = &pod["metadata"];
    let controller = meta["ownerReferences"]
        .as_array()
        .and_then(|refs| refs.iter().find(|r| r["controller"] == true))
        .and_then(|r| r["kind"].as_str());
    if controller == Some("DaemonSet") || meta["annotations"].get("kubernetes.io/config.mirror").is_some() {
        return Disposition::Stay;
    }
    let text = |key: &str| meta[key].as_str().unwrap_or_default().to_owned();
    let pod_ref = PodRef { namespace: text("namespace"), name: text("name"), uid: text("uid") };
    // A finished pod loses nothing by going (kubectl skips both checks too).
    let finished = matches!(pod.pointer("/status/phase").and_then(Json::as_str), Some("Succeeded" | "Failed"));
    if !finished && controller.is_none() && !settings.force {
        return Disposition::Refuse(format!(
            "{} (no controller: it would not be recreated; drain.force = true deletes it)",
            pod_ref.label()
        ));
    }
    let empty_dir = pod
        .pointer("/spec/volumes")
        .and_then(Json::as_array)
        .is_some_and(|v| v.iter().any(|v| v.get("emptyDir").is_some()));
    if !finished && empty_dir && !settings.delete_emptydir_data {
        return Disposition::Refuse(format!(
            "{} (emptyDir data would be lost; drain.delete_emptydir_data = true evicts it)",
            pod_ref.label()
        ));
    }
    Disposition::Evict(pod_ref)
}

/// The pods a drain of `node` evicts now; an error naming every refused
/// pod when there is one.
async fn evictable(api: &ApiClient, node: &str, settings: &DrainSettings) -> Result<Vec<PodRef>, KubeadmError> {
    let mut evict = Vec::new();
    let mut refused = Vec::new();
    for pod in api.pods_on(node).await? {
        match disposition(&pod, settings) {
            Disposition::Stay => {}
            Disposition::Evict(p) => evict.push(p),
            Disposition::Refuse(why) => refused.push(why),
        }
    }
    if refused.is_empty() {
        Ok(evict)
    } else {
        Err(KubeadmError::DrainRefused { node: node.to_owned(), pods: refused })
    }
}

/// Cordons `node` and drains it; returns how many pods were evicted.
pub async fn cordon_and_drain(
    api: &ApiClient,
    node: &str,
    settings: &DrainSettings,
    cancel: &CancellationToken,
) -> Result<usize, KubeadmError> {
    let started = Instant::now();
    evictable(api, node, settings).await?;
    api.cordon(node).await?;
    // Again: pods may have landed between the check and the cordon.
    let pods = evictable(api, node, settings).await?;
    let deadline = started + settings.timeout;
    let evicted = evict_all(api, node, pods, deadline, settings.timeout, cancel).await?;
    let count = evicted.len();
    wait_gone(api, node, evicted, deadline, settings.timeout, cancel).await?;
    tracing::info!(node, evicted = count, elapsed = ?started.elapsed(), "drained");
    Ok(count)
}

/// Evicts `pods`, retrying those a PodDisruptionBudget refuses with backoff
/// until `deadline`; returns the pods evicted (to wait for).
async fn evict_all(
    api: &ApiClient,
    node: &str,
    mut pending: Vec<PodRef>,
    deadline: Instant,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<Vec<PodRef>, KubeadmError> {
    let mut evicted = Vec::new();
    let mut backoff = Backoff::new(FIRST_RETRY, LAST_RETRY);
    let mut pause = backoff.pause();
    loop {
        let mut refused = Vec::new();
        for pod in std::mem::take(&mut pending) {
            match api.evict(&pod.namespace, &pod.name).await? {
                Eviction::Evicted => evicted.push(pod),
                Eviction::Gone => {}
                Eviction::Refused(why) => refused.push((pod, why)),
            }
        }
        if refused.is_empty() {
            return Ok(evicted);
        }
        if Instant::now() + pause > deadline {
            let pods = refused.iter().map(|(p, why)| format!("{} ({why})", p.label())).collect();
            return Err(KubeadmError::DrainTimeout { node: node.to_owned(), waited: timeout, pods });
        }
        tracing::info!(node, refused = refused.len(), ?pause, "eviction refused by a disruption budget; retrying");
        pending = refused.into_iter().map(|(p, _)| p).collect();
        sleep_or_cancel(pause, cancel).await?;
        pause = backoff.pause();
    }
}

/// Waits until every evicted pod is gone (or replaced by a new pod of the
/// same name). A node that is not Ready has no kubelet to confirm that its
/// pods stopped, and they stay Terminating until the Node is deleted: as
/// `kubectl drain --skip-wait-for-delete-timeout`, that wait is skipped.
async fn wait_gone(
    api: &ApiClient,
    node: &str,
    mut pods: Vec<PodRef>,
    deadline: Instant,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<(), KubeadmError> {
    let mut backoff = Backoff::new(GONE_FIRST_POLL, GONE_LAST_POLL);
    while !pods.is_empty() {
        let mut left = Vec::new();
        for pod in pods {
            if api.pod_uid(&pod.namespace, &pod.name).await?.as_deref() == Some(pod.uid.as_str()) {
                left.push(pod);
            }
        }
        pods = left;
        if pods.is_empty() {
            break;
        }
        if !api.node(node).await?.is_some_and(|n| n.ready) {
            tracing::warn!(node, pods = pods.len(), "node not Ready: not waiting for its evicted pods to stop");
            break;
        }
        let pause = backoff.pause();
        if Instant::now() + pause > deadline {
            let pods = pods.iter().map(|p| format!("{} (evicted, still terminating)", p.label())).collect();
            return Err(KubeadmError::DrainTimeout { node: node.to_owned(), waited: timeout, pods });
        }
        sleep_or_cancel(pause, cancel).await?;
    }
    Ok(())
}

async fn sleep_or_cancel(pause: Duration, cancel: &CancellationToken) -> Result<(), KubeadmError> {
    tokio::select! {
        () = cancel.cancelled() => Err(KubeadmError::Cancelled),
        () = tokio::time::sleep(pause) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const STRICT: DrainSettings =
        DrainSettings { timeout: Duration::from_secs(60), force: false, delete_emptydir_data: false };

    fn pod(owner: Option<&str>, volumes: Json, phase: &str) -> Json {
        let owners = owner.map_or(json!([]), |kind| json!([{"kind": kind, "name": "x", "controller": true}]));
        json!({
            "metadata": {"namespace": "default", "name": "p", "uid": "u1", "ownerReferences": owners},
            "spec": {"volumes": volumes},
            "status": {"phase": phase},
        })
    }

    fn evicted() -> Disposition {
        Disposition::Evict(PodRef { namespace: "default".into(), name: "p".into(), uid: "u1".into() })
    }

    #[test]
    fn daemonset_and_static_pods_stay() {
        assert_eq!(disposition(&pod(Some("DaemonSet"), json!([]), "Running"), &STRICT), Disposition::Stay);
        let mut mirror = pod(None, json!([]), "Running");
        mirror["metadata"]["annotations"] = json!({"kubernetes.io/config.mirror": "abc"});
        assert_eq!(disposition(&mirror, &STRICT), Disposition::Stay);
    }

    #[test]
    fn a_pod_no_controller_owns_needs_force() {
        let bare = pod(None, json!([]), "Running");
        let Disposition::Refuse(why) = disposition(&bare, &STRICT) else { panic!("refused") };
        assert!(why.starts_with("default/p (no controller") && why.contains("drain.force = true"), "{why}");
        // An owner that is not its controller does not recreate it either.
        let mut owned = bare.clone();
        owned["metadata"]["ownerReferences"] = json!([{"kind": "ReplicaSet", "name": "x"}]);
        assert!(matches!(disposition(&owned, &STRICT), Disposition::Refuse(_)));
        assert_eq!(disposition(&bare, &DrainSettings { force: true, ..STRICT }), evicted());
        assert_eq!(disposition(&pod(None, json!([]), "Succeeded"), &STRICT), evicted(), "finished: nothing lost");
    }

    #[test]
    fn emptydir_data_needs_delete_emptydir_data() {
        let cache = pod(Some("ReplicaSet"), json!([{"name": "cache", "emptyDir": {}}]), "Running");
        let Disposition::Refuse(why) = disposition(&cache, &STRICT) else { panic!("refused") };
        assert!(why.contains("emptyDir") && why.contains("drain.delete_emptydir_data = true"), "{why}");
        assert_eq!(disposition(&cache, &DrainSettings { delete_emptydir_data: true, ..STRICT }), evicted());
        let config_map = pod(Some("ReplicaSet"), json!([{"name": "c", "configMap": {"name": "c"}}]), "Running");
        assert_eq!(disposition(&config_map, &STRICT), evicted());
    }
}
