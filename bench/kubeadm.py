"""kubeadm_cluster on the local lab: create wall time against its lower bound,
SSH sessions and wall time of a no-change plan, peak provider memory.

The lab simulates `kubeadm init` as INIT_MS and every join as JOIN_MS. The
lower bound of a create is init + the control-plane joins in series + the
slowest worker join: INIT_MS + (control planes - 1) * JOIN_MS + JOIN_MS.
"Create" is the provider's ApplyResourceChange RPC (from its debug log);
the whole `terraform apply` is reported beside it.

With --real the lab runs real kubeadm, etcd and control plane (`up --real`);
the lower bound is then what kubeadm itself took, from the provider's
"remote step finished" log lines: `kubeadm init`, plus the larger of the
control-plane joins in series and the slowest worker join (the provider runs
workers beside the control planes). The lab's peak memory (every process in
its namespaces) is reported too.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime

PROVIDER_EXE = "terraform-provider-kubeadm"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def rpc_seconds(log_path, rpc):
    """Duration of the last `rpc` from the provider's 'rpc started/finished' lines."""
    started = finished = None
    with open(log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            if f"rpc={rpc}" not in line or not line[:4].isdigit() or ("rpc started" not in line and "rpc finished" not in line):
                continue
            stamp = datetime.fromisoformat(line[:23])
            if "rpc started" in line:
                started = stamp
            elif "rpc finished" in line and started is not None:
                finished = stamp
    if started is None or finished is None:
        raise RuntimeError(f"no {rpc} span in {log_path}")
    return (finished - started).total_seconds()


class PeakRss(threading.Thread):
    """Polls every provider process's VmHWM while the apply runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak_kib = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/status", encoding="utf-8") as status:
                        text = status.read()
                except OSError:
                    continue
                if f"Name:\t{PROVIDER_EXE[:15]}" not in text:
                    continue
                for line in text.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))
            time.sleep(0.05)


STEP_FIELDS = re.compile(r'(node|elapsed_ms)=([^ "]+)|step="([^"]*)"')


def kubeadm_steps(log_path):
    """[(node, step, seconds)] of the provider's remote steps that run kubeadm.

    hclog writes the fields of a line in any order."""
    steps = []
    with open(log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            if "remote step finished" not in line:
                continue
            fields = {}
            for key, value, step in STEP_FIELDS.findall(line):
                fields[key or "step"] = value or step
            if fields.get("step", "").startswith(("kubeadm ", "uploading the control plane certificates")):
                steps.append((fields.get("node", "?"), fields["step"], int(fields["elapsed_ms"]) / 1000))
    if not steps:
        raise RuntimeError(f"no kubeadm steps in {log_path}")
    return steps


def kubeadm_bound(steps):
    """What kubeadm itself took on the create's critical path: init and the
    certificate uploads, then the larger of the control-plane joins (one at a
    time) and the slowest worker join (beside them)."""
    serial = sum(s for _, step, s in steps if step in ("kubeadm init", "uploading the control plane certificates"))
    cps = sum(s for node, step, s in steps if step == "kubeadm join" and node.startswith("cp-"))
    workers = max((s for node, step, s in steps if step == "kubeadm join" and node.startswith("wk-")), default=0)
    return serial + max(cps, workers)


class LabRss(threading.Thread):
    """Polls the summed RSS of every process in the lab's namespaces."""

    def __init__(self, prefix):
        super().__init__(daemon=True)
        self.prefix = prefix
        self.peak_kib = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            total = 0
            namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
            for ns in (n for n in namespaces if n.startswith(f"lab-{self.prefix}-")):
                pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
                for pid in pids:
                    try:
                        with open(f"/proc/{pid}/status", encoding="utf-8") as status:
                            total += next((int(l.split()[1]) for l in status if l.startswith("VmRSS:")), 0)
                    except OSError:
                        continue
            self.peak_kib = max(self.peak_kib, total)
            time.sleep(0.5)


def sessions(lab, lab_dir):
    return sum(json.loads(sh([lab, "--dir", lab_dir, "sessions"]).stdout).values())


def one_run(args, cps, workers, work):
    lab_dir = os.path.join(work, "hosts")
    tf_dir = os.path.join(work, "terraform")
    shutil.copytree(args.example, tf_dir)
    env = dict(os.environ, TF_CLI_CONFIG_FILE=args.tfrc, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_INPUT="0")
    tf = [args.terraform, f"-chdir={tf_dir}"]
    mode = ["--real"] if args.real else ["--init-ms", str(args.init_ms), "--join-ms", str(args.join_ms)]
    sh([args.lab, "--dir", lab_dir, "up", "--control-planes", str(cps), "--workers", str(workers), *mode,
        "--out", os.path.join(work, "lab.json")])
    with open(os.path.join(work, "lab.json"), encoding="utf-8") as info:
        lab_rss = LabRss(json.load(info)["prefix"])
    try:
        with open(os.path.join(tf_dir, "terraform.tfvars"), "w", encoding="utf-8") as tfvars:
            tfvars.write(f'lab_file = "{os.path.join(work, "lab.json")}"\n')
        sh(tf + ["init", "-no-color"], env=env)
        log = os.path.join(work, "apply.log")
        apply_env = dict(env, TF_LOG_PROVIDER="debug", TF_LOG_PATH=log)
        rss = PeakRss()
        rss.start()
        lab_rss.start()
        begin = time.monotonic()
        sh(tf + ["apply", "-auto-approve", "-no-color"], env=apply_env)
        apply_s = time.monotonic() - begin
        rss.stop.set()
        rss.join()
        lab_rss.stop.set()
        lab_rss.join()
        create_s = rpc_seconds(log, "ApplyResourceChange")
        kubeadm_s = kubeadm_bound(kubeadm_steps(log)) if args.real else None
        before = sessions(args.lab, lab_dir)
        plan_times = []
        for _ in range(3):
            begin = time.monotonic()
            result = subprocess.run(tf + ["plan", "-detailed-exitcode", "-no-color"], env=env,
                                    capture_output=True, text=True)
            plan_times.append(time.monotonic() - begin)
            if result.returncode != 0:
                raise RuntimeError(f"no-change plan exited {result.returncode}:\n{result.stdout}{result.stderr}")
        opened = sessions(args.lab, lab_dir) - before
        return {"create_s": create_s, "apply_s": apply_s, "peak_rss_kib": rss.peak_kib,
                "kubeadm_s": kubeadm_s, "lab_peak_rss_kib": lab_rss.peak_kib,
                "noop_plan_s": statistics.median(plan_times), "noop_plan_ssh_sessions": opened}
    finally:
        subprocess.run([args.lab, "--dir", lab_dir, "down"], capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lab", required=True, help="homelab-lab binary")
    ap.add_argument("--terraform", required=True, help="terraform binary")
    ap.add_argument("--tfrc", required=True, help="CLI config with a filesystem mirror holding the provider")
    ap.add_argument("--example", required=True, help="examples/lab")
    ap.add_argument("--sizes", default="3+3,3+30", help="control planes+workers, comma separated (3+3,3+30)")
    ap.add_argument("--reps", type=int, default=3, help="runs per size, median reported (3)")
    ap.add_argument("--init-ms", type=int, default=3000)
    ap.add_argument("--join-ms", type=int, default=2000)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--real", action="store_true", help="real kubeadm on the lab (up --real); bound from kubeadm's own step times")
    args = ap.parse_args()

    results = {}
    for size in args.sizes.split(","):
        cps, workers = (int(n) for n in size.split("+"))
        runs = []
        for rep in range(args.reps):
            with tempfile.TemporaryDirectory(prefix="bench-kubeadm.") as work:
                run = one_run(args, cps, workers, work)
            run["bound_s"] = run["kubeadm_s"] if args.real else \
                (args.init_ms + (cps - 1) * args.join_ms + (args.join_ms if workers else 0)) / 1000
            print(f"  {size} run {rep + 1}: create {run['create_s']:.2f} s (bound {run['bound_s']:.2f} s), "
                  f"apply {run['apply_s']:.2f} s, lab peak RSS {run['lab_peak_rss_kib'] / 1024:.0f} MiB, "
                  f"no-op plan {run['noop_plan_s']:.2f} s / {run['noop_plan_ssh_sessions']} SSH sessions, "
                  f"peak RSS {run['peak_rss_kib'] / 1024:.1f} MiB", file=sys.stderr)
            runs.append(run)
        med = {key: statistics.median(r[key] for r in runs) for key in runs[0] if runs[0][key] is not None}
        bound = med["bound_s"]
        med["max_noop_plan_ssh_sessions"] = max(r["noop_plan_ssh_sessions"] for r in runs)
        med["max_peak_rss_kib"] = max(r["peak_rss_kib"] for r in runs)
        results[size] = {"bound_s": bound, "median": med, "runs": runs}

    steps = "real kubeadm 1.35 (bound: its own step times)" if args.real else \
        f"init {args.init_ms} ms, join {args.join_ms} ms"
    print(f"\nkubeadm_cluster on the lab: {steps}, median of {args.reps}, {os.cpu_count()} CPUs")
    header = ("size", "bound", "create", "x bound", "apply", "no-op plan", "SSH", "peak RSS", "lab peak RSS")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for size, r in results.items():
        m = r["median"]
        print(f"| {size} | {r['bound_s']:.2f} s | {m['create_s']:.2f} s | {m['create_s'] / r['bound_s']:.2f} "
              f"| {m['apply_s']:.2f} s | {m['noop_plan_s']:.2f} s | {m['max_noop_plan_ssh_sessions']} "
              f"| {m['max_peak_rss_kib'] / 1024:.1f} MiB | {m['lab_peak_rss_kib'] / 1024:.0f} MiB |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
