#!/usr/bin/env python3
"""bench/bench.py: measuring harness behind scripts/bench (stdlib only).

Compares our Rust provider with HashiCorp's Go null provider 2.1.2 on the
same machine, in the same run:

 (a) plugin start -> go-plugin handshake line on stdout, and peak RSS
     (VmHWM from /proc/PID/status read right after the handshake line),
     N runs each, interleaved, after one unmeasured warm-up each. Both get
     TF_PLUGIN_MAGIC_COOKIE, PLUGIN_PROTOCOL_VERSIONS (6 ours, 5 null) and
     PLUGIN_CLIENT_CERT (a self-signed PEM made once with openssl), so both
     do AutoMTLS exactly as under Terraform. The process is killed after.
 (b) `terraform plan` and `terraform apply -auto-approve` wall time with
     the given CLI (scripts/bench: OpenTofu 1.12 by default) on COUNT resources (cloudinit_config with hostname
     node-N, kubernetes_version 1.35 and one SSH key, vs null_resource with
     triggers = { i = count.index }),
     each repetition in a fresh temp dir, providers installed from a
     filesystem mirror, default -parallelism; ratio ours/null. Also the
     apply's CPU split into terraform vs provider processes, and the size of
     the resulting terraform.tfstate (terraform 1.0 rewrites the whole state
     after every resource, so a big per-resource state costs terraform CPU).

Run it through scripts/bench, which builds the provider and finds terraform
and the null provider; `bench/bench.py --help` lists the knobs.
"""

import argparse
import dataclasses
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPRorcDhkzdXt4p6daKcX0R5awYGoVdOJNEO/RX5ANqY bench@example"
MAGIC_COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"


@dataclasses.dataclass
class Side:
    label: str  # row name in the tables
    binary: str  # plugin executable
    proto: int  # PLUGIN_PROTOCOL_VERSIONS
    address: str  # HOST/NAMESPACE/TYPE
    version: str
    installed_name: str  # file name inside the unpacked mirror
    local_name: str  # key in required_providers
    resources_hcl: str  # the COUNT resources


def ours_side(binary, version, count, stand_in=False):
    if stand_in:
        # Harness self-test without our binary: the null provider posing as
        # terraform.local/homelab/cloudinit (same code paths in the harness).
        return Side(
            label="stand-in (null as cloudinit)",
            binary=binary, proto=5,
            address="terraform.local/homelab/cloudinit", version=version,
            installed_name="terraform-provider-cloudinit_v%s" % version,
            local_name="cloudinit",
            resources_hcl=(
                'resource "null_resource" "n" {\n'
                "  provider = cloudinit\n"
                "  count    = %d\n"
                "  triggers = { i = count.index }\n"
                "}\n" % count
            ),
        )
    return Side(
        label="cloudinit %s (Rust)" % version,
        binary=binary, proto=6,
        address="terraform.local/homelab/cloudinit", version=version,
        installed_name="terraform-provider-cloudinit_v%s" % version,
        local_name="cloudinit",
        # cloudinit_config refuses a node nobody can log in to, so each
        # resource gets one (throwaway, public) SSH key.
        resources_hcl=(
            'resource "cloudinit_config" "n" {\n'
            "  count              = %d\n"
            '  hostname           = "node-${count.index}"\n'
            '  kubernetes_version = "1.35"\n'
            "  user {\n"
            '    ssh_authorized_keys = ["%s"]\n'
            "  }\n"
            "}\n" % (count, BENCH_SSH_KEY)
        ),
    )


def null_side(binary, count):
    return Side(
        label="null 2.1.2 (Go)",
        binary=binary, proto=5,
        address="registry.terraform.io/hashicorp/null", version="2.1.2",
        installed_name="terraform-provider-null_v2.1.2_x4",
        local_name="null",
        resources_hcl=(
            'resource "null_resource" "n" {\n'
            "  count    = %d\n"
            "  triggers = { i = count.index }\n"
            "}\n" % count
        ),
    )


def null_payload_side(binary, count):
    """Control: null_resource carrying, per resource, a string as long as
    one rendered cloud-config (filled in once ours has been applied), so the
    comparison also holds at equal state size."""
    side = null_side(binary, count)
    side.label = "null 2.1.2 + same payload"
    return side


def payload_hcl(count, length):
    line = "x" * 47  # 48 bytes a line with its newline, like a YAML document
    lines = max(1, length // 48)
    return (
        "locals {\n"
        '  payload = join("\\n", [for i in range(%d) : "%s"])\n'
        "}\n"
        'resource "null_resource" "n" {\n'
        "  count    = %d\n"
        '  triggers = { doc = "${local.payload}-${count.index}" }\n'
        "}\n" % (lines, line, count)
    )


def rendered_length(state_path):
    with open(state_path) as f:
        state = json.load(f)
    for resource in state.get("resources", []):
        for instance in resource.get("instances", []):
            rendered = instance.get("attributes", {}).get("rendered")
            if rendered:
                return len(rendered)
    return 0


# ---------------------------------------------------------------- (a) ----

def read_status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError("%s not in /proc/%d/status" % (key, pid))


def handshake_once(side, cert_pem, tmpdir, timeout=30.0):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "TMPDIR": tmpdir,  # go-plugin/our unix sockets land here, removed after
        "TF_PLUGIN_MAGIC_COOKIE": MAGIC_COOKIE,
        "PLUGIN_PROTOCOL_VERSIONS": str(side.proto),
        "PLUGIN_CLIENT_CERT": cert_pem,
    }
    t0 = time.perf_counter()
    p = subprocess.Popen(
        [side.binary], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, env=env, cwd=tmpdir,
    )
    try:
        def on_alarm(signum, frame):  # no handshake in time
            raise TimeoutError

        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            line = p.stdout.readline()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        elapsed = time.perf_counter() - t0
        hwm = read_status_kib(p.pid, "VmHWM")
    except TimeoutError:
        raise RuntimeError("%s: no handshake line within %ss" % (side.binary, timeout))
    finally:
        p.kill()
        p.wait()
        p.stdout.close()
    fields = line.decode(errors="replace").strip().split("|")
    if len(fields) < 5 or fields[0] != "1":
        raise RuntimeError("%s: not a go-plugin handshake line: %r" % (side.binary, line[:200]))
    if fields[1] != str(side.proto):
        raise RuntimeError("%s: negotiated protocol %s, want %s" % (side.binary, fields[1], side.proto))
    if len(fields) < 6 or not fields[5]:
        raise RuntimeError("%s: handshake has no server certificate (no AutoMTLS): %r"
                           % (side.binary, line[:200]))
    return elapsed, hwm, fields


def make_client_cert(workdir):
    key, cert = os.path.join(workdir, "client.key"), os.path.join(workdir, "client.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "30", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", key, "-out", cert],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    with open(cert) as f:
        return f.read()


def bench_handshake(sides, runs, workdir):
    cert = make_client_cert(workdir)
    results = {s.label: {"t": [], "hwm": [], "hs": None} for s in sides}
    for s in sides:  # warm-up: page cache, not measured
        d = tempfile.mkdtemp(dir=workdir)
        _, _, fields = handshake_once(s, cert, d)
        results[s.label]["hs"] = fields
        shutil.rmtree(d, ignore_errors=True)
    for _ in range(runs):
        for s in sides:  # interleaved, so drift hits both alike
            d = tempfile.mkdtemp(dir=workdir)
            t, hwm, _ = handshake_once(s, cert, d)
            shutil.rmtree(d, ignore_errors=True)
            results[s.label]["t"].append(t)
            results[s.label]["hwm"].append(hwm)
    return results


# ---------------------------------------------------------------- (b) ----

def tf_workdir(side, workdir):
    root = tempfile.mkdtemp(prefix="tf-", dir=workdir)
    mirror = os.path.join(root, "mirror")
    plat = "linux_amd64" if platform.machine() in ("x86_64", "amd64") else "linux_arm64"
    dest_dir = os.path.join(mirror, side.address, side.version, plat)
    os.makedirs(dest_dir)
    shutil.copy2(side.binary, os.path.join(dest_dir, side.installed_name))
    tfrc = os.path.join(root, "cli.tfrc")
    with open(tfrc, "w") as f:
        f.write(
            "provider_installation {\n"
            "  filesystem_mirror {\n"
            '    path    = "%s"\n'
            '    include = ["%s"]\n'
            "  }\n"
            "}\n" % (mirror, side.address)
        )
    cfg = os.path.join(root, "cfg")
    os.makedirs(cfg)
    with open(os.path.join(cfg, "main.tf"), "w") as f:
        f.write(
            "terraform {\n"
            "  required_providers {\n"
            "    %s = {\n"
            '      source  = "%s"\n'
            '      version = "%s"\n'
            "    }\n"
            "  }\n"
            "}\n\n%s" % (side.local_name, side.address, side.version, side.resources_hcl)
        )
    return root, cfg, tfrc


CLK_TCK = os.sysconf("SC_CLK_TCK")


def provider_cpu_ticks(exe_name):
    """{pid: utime+stime ticks} of live processes running a binary called
    `exe_name` (terraform 1.0 re-executes itself under panicwrap, so the
    provider is a grandchild; matching the executable is simpler)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.path.basename(os.readlink("/proc/%s/exe" % entry)) != exe_name:
                continue
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        out[int(entry)] = int(fields[11]) + int(fields[12])  # utime + stime
    return out


def run_tf(terraform, args, cfg, tfrc, logpath, provider_exe):
    """Runs terraform; returns (wall s, output, total CPU s, provider CPU s).
    Total CPU is terraform plus its providers (rusage of reaped children);
    provider CPU is sampled from /proc every 20 ms, so it can miss the last
    20 ms of each provider process: a slight underestimate. Runs are
    sequential, so no other process runs that binary meanwhile."""
    env = dict(os.environ)
    for k in ("TF_PLUGIN_CACHE_DIR", "TF_CLI_ARGS", "TF_LOG", "TF_LOG_PATH"):
        env.pop(k, None)
    env.update(TF_CLI_CONFIG_FILE=tfrc, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    provider_ticks = {}
    t0 = time.perf_counter()
    with open(logpath, "w") as log:
        p = subprocess.Popen([terraform] + args, cwd=cfg, env=env, stdin=subprocess.DEVNULL,
                             stdout=log, stderr=subprocess.STDOUT)
        while p.poll() is None:
            for pid, ticks in provider_cpu_ticks(provider_exe).items():
                provider_ticks[pid] = max(ticks, provider_ticks.get(pid, 0))
            time.sleep(0.02)
        rc = p.returncode
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    total_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    provider_cpu = sum(provider_ticks.values()) / CLK_TCK
    if rc != 0:
        with open(logpath) as f:
            tail = f.read()[-3000:]
        raise RuntimeError("terraform %s failed (rc=%d) in %s:\n%s" % (" ".join(args), rc, cfg, tail))
    with open(logpath) as f:
        return elapsed, f.read(), total_cpu, provider_cpu


def bench_terraform(terraform, sides, reps, count, workdir, keep):
    keys = ("init", "plan", "apply", "apply_cpu", "apply_provider_cpu", "state_kib")
    res = {s.label: {k: [] for k in keys} for s in sides}
    payload = 0
    for _ in range(reps):
        for s in sides:
            if s.label.endswith("same payload"):
                if not payload:
                    raise RuntimeError("the payload control needs a rendered document from our run first")
                s.resources_hcl = payload_hcl(count, payload)
            root, cfg, tfrc = tf_workdir(s, workdir)
            t, _, _, _ = run_tf(terraform, ["init", "-input=false", "-no-color"], cfg, tfrc,
                                os.path.join(root, "init.log"), s.installed_name)
            res[s.label]["init"].append(t)
            t, out, _, _ = run_tf(terraform, ["plan", "-input=false", "-no-color"], cfg, tfrc,
                                  os.path.join(root, "plan.log"), s.installed_name)
            if "Plan: %d to add" % count not in out:
                raise RuntimeError("plan in %s did not plan %d creates" % (cfg, count))
            res[s.label]["plan"].append(t)
            t, out, cpu, pcpu = run_tf(terraform, ["apply", "-input=false", "-no-color", "-auto-approve"],
                                       cfg, tfrc, os.path.join(root, "apply.log"), s.installed_name)
            if "Resources: %d added" % count not in out:
                raise RuntimeError("apply in %s did not add %d resources" % (cfg, count))
            res[s.label]["apply"].append(t)
            res[s.label]["apply_cpu"].append(cpu)
            res[s.label]["apply_provider_cpu"].append(pcpu)
            res[s.label]["state_kib"].append(os.path.getsize(os.path.join(cfg, "terraform.tfstate")) / 1024)
            if s.proto == 6 and not payload:
                payload = rendered_length(os.path.join(cfg, "terraform.tfstate"))
            if not keep:
                shutil.rmtree(root, ignore_errors=True)
    return res


# ------------------------------------------------------------- output ----

def fmt_ms(s):
    return "%.1f ms" % (s * 1000)


def fmt_s(s):
    return "%.2f s" % s


def fmt_mib(kib):
    return "%.1f MiB" % (kib / 1024)


def ratio(a, b):
    return "%.2fx" % (a / b) if b else "n/a"


def print_table(headers, rows):
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths)))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


def machine_info(terraform):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    tfv = subprocess.run([terraform, "version"], capture_output=True, text=True).stdout.splitlines()
    return "%s, %d cores, %s %s; %s" % (cpu, os.cpu_count() or 0, platform.system(),
                                        platform.release(), tfv[0] if tfv else "terraform ?")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", required=True, help="terraform-provider-cloudinit binary")
    ap.add_argument("--ours-version", required=True, help="its version (Cargo metadata)")
    ap.add_argument("--null", required=True, help="terraform-provider-null_v2.1.2_x4 binary")
    ap.add_argument("--terraform", required=True, help="terraform or tofu binary")
    ap.add_argument("--runs", type=int, default=20, help="handshake runs per provider (20)")
    ap.add_argument("--count", type=int, default=500, help="resources per config (500)")
    ap.add_argument("--reps", type=int, default=3, help="terraform plan+apply repetitions, median reported (3)")
    ap.add_argument("--skip-handshake", action="store_true")
    ap.add_argument("--skip-terraform", action="store_true")
    ap.add_argument("--stand-in", action="store_true",
                    help="use --ours as a protocol-5 null provider posing as cloudinit (harness self-test)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs (prints where)")
    a = ap.parse_args()

    ours = ours_side(os.path.abspath(a.ours), a.ours_version, a.count, a.stand_in)
    null = null_side(os.path.abspath(a.null), a.count)
    sides = [ours, null]
    workdir = tempfile.mkdtemp(prefix="homelab-bench-")
    try:
        print("machine: %s" % machine_info(a.terraform))
        for s in sides:
            print("%-28s %s (%.1f MiB)" % (s.label + ":", s.binary, os.path.getsize(s.binary) / 2**20))
        if not a.skip_handshake:
            r = bench_handshake(sides, a.runs, workdir)
            print("\n(a) plugin start -> handshake line, N=%d each (interleaved, 1 warm-up); "
                  "peak RSS = VmHWM at handshake" % a.runs)
            rows = []
            for s in sides:
                t, h = r[s.label]["t"], r[s.label]["hwm"]
                hs = r[s.label]["hs"]
                rows.append([s.label, "%s/%s" % (hs[1], hs[2]), fmt_ms(statistics.median(t)), fmt_ms(max(t)),
                             fmt_mib(statistics.median(h)), fmt_mib(max(h))])
            to, tn = r[ours.label]["t"], r[null.label]["t"]
            ho, hn = r[ours.label]["hwm"], r[null.label]["hwm"]
            rows.append(["ratio ours/null", "", ratio(statistics.median(to), statistics.median(tn)),
                         ratio(max(to), max(tn)), ratio(statistics.median(ho), statistics.median(hn)),
                         ratio(max(ho), max(hn))])
            print_table(["provider", "proto/net", "start median", "start max", "VmHWM median", "VmHWM max"], rows)
        if not a.skip_terraform:
            control = null_payload_side(os.path.abspath(a.null), a.count)
            tf_sides = sides + ([] if a.stand_in else [control])
            r = bench_terraform(a.terraform, tf_sides, a.reps, a.count, workdir, a.keep)
            agg = "median of %d" % a.reps if a.reps > 1 else "1 run"
            print("\n(b) terraform (version above), %d resources, default -parallelism (10), fresh dir per run, "
                  "providers from a filesystem mirror; wall time, %s" % (a.count, agg))
            rows = []
            med = lambda label, k: statistics.median(r[label][k])  # noqa: E731
            for s in tf_sides:
                rows.append([s.label] + [fmt_s(med(s.label, k)) for k in ("init", "plan", "apply")] + [
                    fmt_s(med(s.label, "apply_cpu") - med(s.label, "apply_provider_cpu")),
                    fmt_s(med(s.label, "apply_provider_cpu")),
                    "%.0f KiB" % med(s.label, "state_kib")])
            rows.append(["ratio ours/null"] + [
                ratio(med(ours.label, k), med(null.label, k)) for k in ("init", "plan", "apply")] + [
                ratio(med(ours.label, "apply_cpu") - med(ours.label, "apply_provider_cpu"),
                      med(null.label, "apply_cpu") - med(null.label, "apply_provider_cpu")),
                ratio(med(ours.label, "apply_provider_cpu"), med(null.label, "apply_provider_cpu")),
                ratio(med(ours.label, "state_kib"), med(null.label, "state_kib"))])
            if not a.stand_in:
                rows.append(["ratio ours/(null + same payload)"] + [
                    ratio(med(ours.label, k), med(control.label, k)) for k in ("init", "plan", "apply")] + [
                    "", "", ratio(med(ours.label, "state_kib"), med(control.label, "state_kib"))])
            print_table(["provider", "init", "plan", "apply",
                         "apply CPU: terraform", "provider", "tfstate"], rows)
            if a.reps > 1:
                print("max: " + "; ".join(
                    "%s plan %s apply %s" % (s.label, fmt_s(max(r[s.label]["plan"])), fmt_s(max(r[s.label]["apply"])))
                    for s in tf_sides))
    finally:
        if a.keep:
            print("\nkept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        sys.exit("bench: %s" % e)
