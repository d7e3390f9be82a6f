#!/bin/sh
# Renews kubeadm's certificates on this control plane and restarts its static
# pods (installed by terraform-provider-kubeadm; the provider runs the same).
set -eu
state=/etc/kubernetes/terraform
manifests=/etc/kubernetes/manifests
aside=$state/restarting
mkdir -p "$aside"
if [ "${KUBEADM_RENEW_DETACHED:-}" != 1 ]; then
  KUBEADM_RENEW_DETACHED=1 setsid -w "$0" "$@" >"$state/renew.log" 2>&1 </dev/null && rc=0 || rc=$?
  cat "$state/renew.log"
  exit "$rc"
fi
exec 9>"$state/renew.lock"
flock 9
put_back() {
  for f in "$aside"/*.yaml; do
    if [ -e "$f" ]; then mv -f "$f" "$manifests/"; fi
  done
}
put_back
if [ -n "${RENEW_WHEN_LESS_THAN:-}" ] &&
  openssl x509 -checkend "$RENEW_WHEN_LESS_THAN" -noout -in /etc/kubernetes/pki/apiserver.crt >/dev/null; then
  echo "the API server certificate is valid for more than ${RENEW_WHEN_LESS_THAN}s: nothing to renew"
  exit 0
fi
kubeadm certs renew all
port_of() {
  case "$1" in
  etcd.yaml) echo 2379 ;;
  kube-apiserver.yaml) echo 6443 ;;
  kube-controller-manager.yaml) echo 10257 ;;
  kube-scheduler.yaml) echo 10259 ;;
  esac
}
# Waits until every port in $ports is "down" (closed) or "up" (listening), as
# the kernel's socket table says (state 0A is LISTEN).
wait_ports() {
  i=0
  while :; do
    left=""
    for p in $ports; do
      if grep -Eq ":$(printf '%04X' "$p") [0-9A-F]+:0000 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
        [ "$1" = up ] || left="$left $p"
      else
        [ "$1" = down ] || left="$left $p"
      fi
    done
    [ -z "$left" ] && return 0
    i=$((i + 1))
    if [ "$i" -ge 180 ]; then
      echo "ports$left not $1 after 180 s" >&2
      return 1
    fi
    sleep 1
  done
}
names=""
ports=""
for f in "$manifests"/*.yaml; do
  [ -e "$f" ] || continue
  n=$(basename "$f")
  names="$names $n"
  ports="$ports $(port_of "$n")"
done
trap put_back EXIT
for n in $names; do mv "$manifests/$n" "$aside/"; done
wait_ports down
put_back
trap - EXIT
wait_ports up
echo "restarted:$names"
