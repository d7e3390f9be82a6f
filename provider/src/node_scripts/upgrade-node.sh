#!/bin/sh
# Upgrades this node to Kubernetes $1 (e.g. 1.35.4) with kubeadm, as root
# (run by terraform-provider-kubeadm over SSH, with the node drained):
#   $2 = apply: the first control plane (kubeadm upgrade plan as a check,
#        then kubeadm upgrade apply); node: every other node (kubeadm
#        upgrade node).
# Every step is skipped once done, so running it again after an interrupted
# run finishes the job without redoing anything:
#   1. the pkgs.k8s.io apt source names the target's minor (one repository
#      per minor; the signing key is the same for all of them) and the patch
#      pin, when there is one, the target's patch;
#   2. kubeadm at the target, held again;
#   3. kubeadm upgrade (its configuration is $state/upgrade.yaml);
#   4. kubelet and kubectl at the target, held again, and the kubelet
#      restarted (kubeadm does not restart it).
set -eu
version=$1
mode=$2
state=/etc/kubernetes/terraform
mkdir -p "$state"
if [ "${KUBEADM_UPGRADE_DETACHED:-}" != 1 ]; then
  # Its own session: a dropped SSH connection cannot stop it halfway.
  KUBEADM_UPGRADE_DETACHED=1 setsid -w "$0" "$@" >"$state/upgrade.log" 2>&1 </dev/null && rc=0 || rc=$?
  cat "$state/upgrade.log"
  exit "$rc"
fi
exec 9>"$state/upgrade.lock"
flock 9
started=$(date +%s%N)
minor=${version%.*}
source=/etc/apt/sources.list.d/kubernetes.list
pin=/etc/apt/preferences.d/kubernetes.pref
if [ -f "$source" ]; then
  sed -i -E "s#(pkgs\.k8s\.io/core:/stable:/)v1\.[0-9]+/#\1v$minor/#" "$source"
fi
if [ -f "$pin" ]; then
  sed -i -E "s#^Pin: version .*#Pin: version $version-*#" "$pin"
fi

# install_at_target PACKAGE...: each at the target version, held again afterwards.
updated=""
install_at_target() {
  if [ -z "$updated" ]; then
    apt-get update -q
    updated=1
  fi
  apt-mark unhold "$@" >/dev/null
  pinned=""
  for p in "$@"; do pinned="$pinned $p=$version-*"; done
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades $pinned
  apt-mark hold "$@" >/dev/null
}

if [ "$(kubeadm version -o short)" != "v$version" ]; then
  echo "installing kubeadm $version"
  install_at_target kubeadm
fi
case "$mode" in
apply)
  kubeadm upgrade plan --config "$state/upgrade.yaml"
  kubeadm upgrade apply --yes --config "$state/upgrade.yaml"
  ;;
node)
  kubeadm upgrade node --config "$state/upgrade.yaml"
  ;;
*)
  echo "unknown mode $mode" >&2
  exit 2
  ;;
esac
if [ "$(kubelet --version)" != "Kubernetes v$version" ] ||
  [ "$(kubectl version --client -o yaml | sed -n 's/^ *gitVersion: //p')" != "v$version" ]; then
  echo "installing kubelet and kubectl $version"
  install_at_target kubelet kubectl
fi
systemctl daemon-reload
systemctl restart kubelet
echo "upgraded to $version in $((($(date +%s%N) - started) / 1000000)) ms"
