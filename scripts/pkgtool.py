#!/usr/bin/env python3
"""scripts/pkgtool.py: the file-format half of scripts/package.

Subcommands (all stdlib, no third-party modules):
  zip SRC DEST NAME      reproducible zip of one executable (fixed timestamp
                         from SOURCE_DATE_EPOCH or 1980-01-01, mode 0755), so
                         the same binary always gives the same zh: hash
  mirror DIR TYPE VERSION ZIP...
                         write TYPE's network-mirror metadata in DIR:
                         VERSION.json  {"archives": {"OS_ARCH": {"url", "hashes"}}}
                         index.json    {"versions": {...}} (every VERSION.json in DIR)
                         and terraform-provider-TYPE_VERSION_SHA256SUMS
  handshake CERT PROTO CMD...
                         start a plugin (CMD may be "qemu-aarch64 -L ... BIN")
                         the way Terraform does (magic cookie, protocol
                         version, client certificate for AutoMTLS), check the
                         first stdout line is a go-plugin handshake
                         "1|PROTO|unix|ADDR|grpc|CERT", print it, kill it
  serve ROOT CERT KEY PORTFILE
                         HTTPS static server for ROOT on 127.0.0.1 (JSON as
                         application/json, as the mirror protocol requires);
                         writes its port to PORTFILE; used by `package` to
                         check the mirror with `terraform providers lock
                         -net-mirror`. Runs until killed.

Why: Terraform's provider network mirror protocol is
  BASE/HOST/NAMESPACE/TYPE/index.json     -> {"versions": {"0.1.0": {}}}
  BASE/HOST/NAMESPACE/TYPE/0.1.0.json     -> {"archives": {"linux_amd64":
        {"url": "<relative to this JSON>", "hashes": ["zh:<sha256 hex of zip>"]}}}
and the archive names must be terraform-provider-TYPE_VERSION_OS_ARCH.zip,
which is also the "packed" layout of a filesystem mirror.
"""

import hashlib
import http.server
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import zipfile


def _epoch_datetime():
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))  # 1980-01-01
    epoch = max(epoch, 315532800)  # zip cannot store dates before 1980
    return time.gmtime(epoch)[:6]


def cmd_zip(src, dest, name):
    info = zipfile.ZipInfo(name, date_time=_epoch_datetime())
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # unix, so external_attr carries the mode
    info.external_attr = (0o100755 & 0xFFFF) << 16
    tmp = dest + ".tmp"
    with open(src, "rb") as f:
        data = f.read()
    with zipfile.ZipFile(tmp, "w") as z:
        z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    os.replace(tmp, dest)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def cmd_mirror(directory, ptype, version, zips):
    pat = re.compile(
        r"^terraform-provider-%s_%s_([a-z0-9]+_[a-z0-9]+)\.zip$"
        % (re.escape(ptype), re.escape(version))
    )
    archives = {}
    sums = []
    for z in sorted(zips):
        base = os.path.basename(z)
        m = pat.match(base)
        if not m:
            sys.exit("unexpected archive name %s" % base)
        if os.path.dirname(os.path.abspath(z)) != os.path.abspath(directory):
            sys.exit("%s must sit in %s (urls are relative)" % (z, directory))
        digest = sha256_file(z)
        archives[m.group(1)] = {"url": base, "hashes": ["zh:" + digest]}
        sums.append("%s  %s\n" % (digest, base))
    write_json(os.path.join(directory, version + ".json"), {"archives": archives})
    sums_path = os.path.join(
        directory, "terraform-provider-%s_%s_SHA256SUMS" % (ptype, version)
    )
    with open(sums_path, "w") as f:
        f.writelines(sums)
    # index.json lists every version that has a VERSION.json here, so older
    # releases left in dist/ stay installable.
    versions = {}
    for entry in os.listdir(directory):
        if entry.endswith(".json") and entry != "index.json":
            versions[entry[: -len(".json")]] = {}
    write_json(os.path.join(directory, "index.json"), {"versions": versions})


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = dict(
        http.server.SimpleHTTPRequestHandler.extensions_map,
        **{".json": "application/json", ".zip": "application/zip"},
    )

    def log_message(self, fmt, *args):  # keep terraform's output readable
        sys.stderr.write("mirror: " + (fmt % args) + "\n")


def cmd_serve(root, cert, key, portfile):
    os.chdir(root)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(httpd.server_address[1]))
    os.replace(portfile + ".tmp", portfile)
    httpd.serve_forever()


MAGIC_COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"


def cmd_handshake(cert, proto, command, timeout=60):
    with open(cert) as f:
        pem = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TMPDIR=tmp, TF_PLUGIN_MAGIC_COOKIE=MAGIC_COOKIE,
                   PLUGIN_PROTOCOL_VERSIONS=proto, PLUGIN_CLIENT_CERT=pem)
        t0 = time.monotonic()
        p = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, cwd=tmp)

        def on_alarm(signum, frame):
            p.kill()

        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(timeout)
        line = p.stdout.readline().decode(errors="replace").strip()
        signal.alarm(0)
        elapsed = time.monotonic() - t0
        p.kill()
        _, err = p.communicate()
    fields = line.split("|")
    ok = (len(fields) == 6 and fields[0] == "1" and fields[1] == proto
          and fields[2] == "unix" and fields[4] == "grpc" and fields[5] != "")
    if not ok:
        sys.exit("no valid handshake from %s: stdout %r, stderr %r"
                 % (" ".join(command), line[:200], err.decode(errors="replace")[-500:]))
    print("%s|%s|%s|%s|%s|<%d-char cert> after %.0f ms"
          % (fields[0], fields[1], fields[2], fields[3], fields[4], len(fields[5]), elapsed * 1000))


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0
    cmd, args = argv[1], argv[2:]
    if cmd == "zip" and len(args) == 3:
        cmd_zip(*args)
    elif cmd == "mirror" and len(args) >= 4:
        cmd_mirror(args[0], args[1], args[2], args[3:])
    elif cmd == "handshake" and len(args) >= 3:
        cmd_handshake(args[0], args[1], args[2:])
    elif cmd == "serve" and len(args) == 4:
        cmd_serve(*args)
    else:
        sys.exit("bad arguments; see --help")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
