//! End-to-end checks of rendered documents against real consumers: the
//! target OS's cloud-init validator (`cloud-init schema -c FILE` of Debian
//! 13's cloud-init 25.1, run in the trixie chroot scripts/peers makes, found
//! through `HOMELAB_CLOUD_INIT_ROOT`) and PyYAML (`python3-yaml`, what
//! cloud-init parses with).
//!
//! When a tool is missing the test prints a skip message, unless the `CI`
//! environment variable is set, in which case it fails: CI must provide
//! them (scripts/peers builds the chroot; `apt-get install python3-yaml`).

use super::merge::merge_documents;
use super::render::{build_document, render};
use super::spec::{CertificateRenewal, CloudInitSpec, WriteFile};
use super::ssh_key::tests::{ED25519, ED25519_B};
use super::validate::parse_base;
use crate::yaml::{self, Mapping, Yaml};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;

/// Fails the test unless `program probe...` runs (the tests that call
/// this are `#[ignore]`d with that reason).
fn require(program: &str, probe: &[&str]) {
    let ok = Command::new(program).args(probe).output().is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "this test needs `{program} {}` to run (apt-get install -y python3-yaml); scripts/test runs it",
        probe.join(" ")
    );
}

fn minimal() -> CloudInitSpec {
    let mut spec = CloudInitSpec::new("node1", "1.35");
    spec.user.ssh_authorized_keys.push(ED25519.to_owned());
    spec
}

fn gzip_b64(text: &str) -> String {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(text.as_bytes()).expect("gzip");
    BASE64.encode(encoder.finish().expect("gzip"))
}

fn full() -> CloudInitSpec {
    let mut spec = CloudInitSpec::new("cp1", "1.35.2");
    spec.certificate_renewal = Some(CertificateRenewal { days_before: 30 });
    spec.fqdn = Some("cp1.lab.example".into());
    spec.timezone = "Europe/Berlin".into();
    spec.locale = Some("en_US.UTF-8".into());
    spec.kernel_modules = vec!["nf_conntrack".into(), "ip_vs".into()];
    spec.sysctls.insert("fs.inotify.max_user_instances".into(), "8192".into());
    spec.sysctls.insert("net.ipv4.tcp_rmem".into(), "4096 87380 6291456".into());
    spec.user.name = "ops".into();
    spec.user.ssh_authorized_keys = vec![ED25519.into()];
    spec.user.github_keys = vec![ED25519_B.into()];
    spec.user.groups = vec!["sudo".into(), "adm".into()];
    spec.hosts.insert("10.0.0.10".into(), vec!["cp1".into(), "cp1.lab.example".into()]);
    spec.hosts.insert("10.0.0.9".into(), vec!["api".into()]);
    spec.hosts.insert("fd00::10".into(), vec!["cp1-v6".into()]);
    spec.packages = vec!["htop".into(), "nfs-common".into(), "open-iscsi".into()];
    spec.write_files = vec![
        WriteFile {
            permissions: Some("0755".into()),
            ..WriteFile::new(
                "/usr/local/bin/hello",
                "#!/bin/sh\n# a comment: with colon\n  indented \"quoted\" 'single' \\backslash\n\ttabbed\n\necho \"$1\" | sed 's/: /=/'\n\n",
            )
        },
        WriteFile { encoding: Some("b64".into()), ..WriteFile::new("/etc/b64.txt", BASE64.encode("yes\nno\n")) },
        WriteFile { encoding: Some("gz+b64".into()), ..WriteFile::new("/etc/gz.txt", gzip_b64("compressed\n")) },
        WriteFile {
            owner: Some("ops:ops".into()),
            permissions: Some("0600".into()),
            defer: true,
            ..WriteFile::new("/home/ops/.kube/README", "- not a list\n? not a key\n")
        },
        WriteFile { append: true, ..WriteFile::new("/etc/hosts", "10.0.0.99 extra\n") },
        WriteFile::new("/etc/single-line", "no: trailing newline"),
    ];
    spec.runcmd = vec![
        "echo 'done: yes' > /var/log/prep.log".into(),
        "test -f /etc/gz.txt && grep -q compressed /etc/gz.txt".into(),
        "0".into(),
    ];
    spec.base = Some(
        "#cloud-config\n\
         # A user's template.\n\
         bootcmd:\n  - [sh, -c, 'echo early > /run/early']\n\
         ntp:\n  enabled: yes\n  servers: [10.0.0.1]\n\
         runcmd:\n  - [sh, -c, echo base]\n  - echo base-2\n\
         packages:\n  - jq\n\
         write_files:\n  - path: /etc/motd\n    content: |\n      Welcome\n    permissions: '0644'\n\
         final_message: \"cloud-init finished after $UPTIME seconds\"\n\
         timezone: Europe/Berlin\n\
         package_upgrade: false\n\
         growpart:\n  mode: auto\n  devices: ['/']\n"
            .into(),
    );
    spec
}

fn small_variant() -> CloudInitSpec {
    let mut spec = minimal();
    spec.kubernetes_version = "1.31".into();
    spec.user.sudo = None;
    spec.user.groups = vec![];
    spec.user.shell = "/bin/sh".into();
    spec.container_runtime.systemd_cgroup = false;
    spec.base = Some("#cloud-config\n".into());
    spec
}

/// Kubernetes 1.36 on Docker's containerd 2.x.
fn docker_variant() -> CloudInitSpec {
    let mut spec = minimal();
    spec.kubernetes_version = "1.36.3".into();
    spec.container_runtime.source = "docker".into();
    spec
}

fn specs() -> Vec<(&'static str, CloudInitSpec)> {
    let specs =
        vec![("minimal", minimal()), ("full", full()), ("small", small_variant()), ("docker", docker_variant())];
    // For eyeballing: CLOUDINIT_DUMP_DIR=/tmp/out cargo test cloudinit::
    if let Some(dir) = std::env::var_os("CLOUDINIT_DUMP_DIR") {
        for (name, spec) in &specs {
            let rendered = render(spec).expect("renders");
            std::fs::write(Path::new(&dir).join(format!("{name}.yaml")), rendered.document).expect("dump");
        }
    }
    specs
}

/// The tree `render` should have emitted, rebuilt independently of the text.
fn expected_tree(spec: &CloudInitSpec) -> Mapping {
    let generated = build_document(spec).expect("builds");
    match &spec.base {
        Some(base) => merge_documents(generated, parse_base(base).expect("base")).expect("merges"),
        None => generated,
    }
}

#[test]
fn rendered_documents_are_stable_and_parse_back() {
    for (name, spec) in specs() {
        let first = render(&spec).unwrap_or_else(|e| panic!("{name}: {e}"));
        let second = render(&spec.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(first.document.as_bytes(), second.document.as_bytes(), "{name}: not byte-stable");
        assert_eq!(first.sha256, second.sha256);
        assert!(first.document.starts_with("#cloud-config\n"), "{name}");
        let parsed = yaml::parse(&first.document).expect("parses").expect("document");
        assert_eq!(parsed, Yaml::Map(expected_tree(&spec)), "{name}: round trip differs");
        // Emitting the parsed tree again is a fixpoint.
        let Yaml::Map(map) = parsed else { panic!() };
        assert_eq!(yaml::emit_cloud_config(&map), first.document, "{name}");
    }
}

#[test]
fn full_document_carries_every_feature() {
    let rendered = render(&full()).expect("renders");
    let doc = &rendered.document;
    for needle in [
        "\nfqdn: cp1.lab.example\n",
        "\nmanage_etc_hosts: false\n",
        "\ntimezone: Europe/Berlin\n",
        "\nlocale: en_US.UTF-8\n",
        "      127.0.1.1 cp1.lab.example cp1\n",
        "      10.0.0.9 api\n",
        "      Pin: version 1.35.2-*\n",
        "    content: |+\n      #!/bin/sh\n",
        "    encoding: gz+b64\n",
        "    append: true\n",
        "  - \"0\"\n",
        "\nntp:\n  enabled: true\n",
        "\ngrowpart:\n  mode: auto\n",
    ] {
        assert!(doc.contains(needle), "missing {needle:?} in:\n{doc}");
    }
    // Generated keys first, base-only keys after, in base's order.
    let keys: Vec<String> = match yaml::parse(doc).expect("parses") {
        Some(Yaml::Map(m)) => m.keys().cloned().collect(),
        other => panic!("{other:?}"),
    };
    let tail: Vec<&str> = keys.iter().skip_while(|k| *k != "runcmd").skip(1).map(String::as_str).collect();
    assert_eq!(tail, ["bootcmd", "ntp", "final_message", "package_upgrade", "growpart"]);
}

#[ignore = "needs the Debian 13 cloud-init chroot (scripts/peers); scripts/test runs it"]
#[test]
fn cloud_init_schema_accepts_rendered_documents() {
    let cloud_init = TargetCloudInit::find();
    let documents: Vec<(String, String)> = specs()
        .into_iter()
        .map(|(name, spec)| (name.to_string(), render(&spec).unwrap_or_else(|e| panic!("{name}: {e}")).document))
        .collect();
    for ((name, document), (ok, output)) in documents.iter().zip(cloud_init.schema_all(&documents)) {
        assert!(ok, "{name}: cloud-init schema failed:\n{output}\n---\n{document}");
        assert!(output.contains("Valid schema"), "{name}: {output}");
    }
}

#[ignore = "needs the Debian 13 cloud-init chroot (scripts/peers); scripts/test runs it"]
#[test]
fn a_wrongly_typed_key_in_base_fails_the_plan_and_cloud_init_alike() {
    // The plan-time check has teeth, and cloud-init agrees with it.
    let mut spec = minimal();
    spec.base = Some("#cloud-config\npackage_upgrade: \"yes\"\n".into());
    let errors = super::validate::validate_all(&spec);
    assert!(
        errors.iter().any(|e| e.to_string() == "base: at package_upgrade: must be a boolean, found a string"),
        "{errors:?}"
    );
    let cloud_init = TargetCloudInit::find();
    let (ok, output) = cloud_init.schema("#cloud-config\npackage_upgrade: \"yes\"\n");
    assert!(!ok, "expected a schema error:\n{output}");
    assert!(output.contains("package_upgrade"), "{output}");
}

/// Debian 13's cloud-init, in the chroot at `HOMELAB_CLOUD_INIT_ROOT`.
pub struct TargetCloudInit {
    root: std::path::PathBuf,
}

impl TargetCloudInit {
    /// The chroot; the test fails when it is missing (the tests that use
    /// it are `#[ignore]`d with that reason).
    pub fn find() -> Self {
        let root = std::env::var_os("HOMELAB_CLOUD_INIT_ROOT").map(std::path::PathBuf::from);
        match root {
            Some(root) if root.join("usr/bin/cloud-init").exists() => Self { root },
            other => panic!(
                "this test needs HOMELAB_CLOUD_INIT_ROOT ({other:?}), a chroot with Debian 13's cloud-init; scripts/test builds and sets it"
            ),
        }
    }

    /// `cloud-init schema -c` on one document: (valid, output).
    /// The chroot's root directory (a Debian 13 base system).
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    pub fn schema(&self, document: &str) -> (bool, String) {
        let dir =
            tempfile::Builder::new().prefix("schema-").tempdir_in(self.root.join("tmp")).expect("tempdir in chroot");
        std::fs::write(dir.path().join("user-data"), document).expect("write user-data");
        let inside = Path::new("/tmp").join(dir.path().file_name().expect("name")).join("user-data");
        let output = Command::new("chroot")
            .arg(&self.root)
            .args(["cloud-init", "schema", "-c"])
            .arg(&inside)
            .output()
            .expect("run chroot");
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), text)
    }

    /// [`Self::schema`] on many documents, two at a time (one per core).
    pub fn schema_all(&self, documents: &[(String, String)]) -> Vec<(bool, String)> {
        let mut results = Vec::new();
        for pair in documents.chunks(2) {
            std::thread::scope(|scope| {
                let handles: Vec<_> = pair.iter().map(|(_, doc)| scope.spawn(move || self.schema(doc))).collect();
                results.extend(handles.into_iter().map(|h| h.join().expect("cloud-init thread")));
            });
        }
        results
    }
}

/// Rebuilds a tree from the JSON the PyYAML helper prints (floats and bytes
/// come tagged, so nothing is lost to JSON's number handling).
fn from_pyyaml_json(value: &serde_json::Value) -> Yaml {
    use serde_json::Value;
    match value {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Bool(*b),
        Value::Number(n) => Yaml::Int(n.as_i64().expect("PyYAML ints fit in i64 here")),
        Value::String(s) => Yaml::Str(s.clone()),
        Value::Array(items) => Yaml::Seq(items.iter().map(from_pyyaml_json).collect()),
        Value::Object(map) => {
            if let (1, Some(Value::String(repr))) = (map.len(), map.get("__float__")) {
                return Yaml::Float(match repr.as_str() {
                    "inf" => f64::INFINITY,
                    "-inf" => f64::NEG_INFINITY,
                    other => other.parse().expect("python float repr"),
                });
            }
            if let (1, Some(Value::String(b64))) = (map.len(), map.get("__binary__")) {
                return Yaml::Binary(BASE64.decode(b64).expect("base64"));
            }
            Yaml::Map(map.iter().map(|(k, v)| (k.clone(), from_pyyaml_json(v))).collect())
        }
    }
}

const PYYAML_TO_JSON: &str = r#"import base64, json, sys, yaml
def plain(o):
    if isinstance(o, bytes):
        return {'__binary__': base64.b64encode(o).decode()}
    if isinstance(o, float):
        return {'__float__': repr(o)}
    if isinstance(o, dict):
        return {k: plain(v) for k, v in o.items()}
    if isinstance(o, list):
        return [plain(v) for v in o]
    return o
with open(sys.argv[1], encoding='utf-8') as f:
    data = yaml.safe_load(f)
print(json.dumps(plain(data)))
"#;

/// What PyYAML's `safe_load` makes of `text`, as a tree.
fn pyyaml_load(text: &str) -> Yaml {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("doc.yaml");
    std::fs::write(&path, text).expect("write");
    let output = Command::new("python3").arg("-c").arg(PYYAML_TO_JSON).arg(&path).output().expect("run python3");
    assert!(output.status.success(), "PyYAML failed: {}\n---\n{text}", String::from_utf8_lossy(&output.stderr));
    from_pyyaml_json(&serde_json::from_slice(&output.stdout).expect("json"))
}

#[ignore = "needs python3 with PyYAML; scripts/test runs it"]
#[test]
fn pyyaml_reads_rendered_documents_as_the_same_tree() {
    require("python3", &["-c", "import yaml"]);
    for (name, spec) in specs() {
        let rendered = render(&spec).expect("renders");
        assert_eq!(pyyaml_load(&rendered.document), Yaml::Map(expected_tree(&spec)), "{name}");
    }
}

#[ignore = "needs python3 with PyYAML; scripts/test runs it"]
#[test]
fn pyyaml_reads_tricky_scalars_as_emitted() {
    require("python3", &["-c", "import yaml"]);
    let tricky = [
        "",
        " ",
        "yes",
        "No",
        "ON",
        "off",
        "y",
        "n",
        "~",
        "null",
        "Null",
        "0644",
        "0o644",
        "0x1F",
        "0b11",
        "1_000",
        "1:30",
        "190:20:30.15",
        "1.5",
        "1.5e3",
        "1e3",
        ".5",
        ".inf",
        "-.Inf",
        ".NaN",
        "2001-12-14",
        "2001-12-14 21:59:43.10 -5",
        "=",
        "<<",
        "- x",
        "? x",
        "x: y",
        "x #y",
        "#x",
        "@x",
        "`x",
        "!x",
        "&x",
        "*x",
        "%x",
        "|x",
        ">x",
        "[x]",
        "{x}",
        "'x'",
        "\"x\"",
        "x:",
        "trailing ",
        "a\tb",
        "a\rb",
        "a\u{85}b",
        "a\u{2028}b",
        "\u{feff}bom",
        "ünïcödé 🦀",
        "\u{7f}\u{1b}",
        "line\n",
        "line",
        "two\nlines",
        "\n",
        "\n\nx",
        "x\n\n",
        "x\n\n\n",
        "  indented\nnext\n",
        "\tTab\n",
        "a\n \nb",
        "a\n\tb\n",
        "trailing \nspaces  \n",
        "--- not a doc\n... nor this\n",
        "#!/bin/sh\necho hi\n",
    ];
    let mut map = Mapping::new();
    for (i, s) in tricky.iter().enumerate() {
        map.insert(format!("k{i}"), Yaml::str(*s));
        // The same strings as keys, and inside a list of mappings.
        if !s.contains('\n') {
            map.insert((*s).to_owned(), Yaml::Int(i64::try_from(i).expect("small")));
        }
    }
    let list: Vec<Yaml> = tricky.iter().map(|s| Yaml::Map(Mapping::from([("v".to_owned(), Yaml::str(*s))]))).collect();
    map.insert("list".into(), Yaml::Seq(list));
    map.insert(
        "typed".into(),
        Yaml::Seq(vec![
            Yaml::Bool(true),
            Yaml::Int(-42),
            Yaml::Int(i64::MAX),
            Yaml::Float(0.1),
            Yaml::Float(-2.0),
            Yaml::Float(1e300),
            Yaml::Float(f64::INFINITY),
            Yaml::Null,
            Yaml::Binary(vec![0, 159, 146, 150, 255]),
        ]),
    );
    let text = yaml::emit_cloud_config(&map);
    assert_eq!(pyyaml_load(&text), Yaml::Map(map.clone()), "PyYAML disagrees:\n{text}");
    assert_eq!(yaml::parse(&text).expect("parses"), Some(Yaml::Map(map)), "own parser disagrees");
}

#[ignore = "needs python3 with PyYAML; scripts/test runs it"]
#[test]
fn parser_resolves_base_like_pyyaml() {
    // The same user input, read by our parser and by PyYAML, must agree, or
    // merging would change what cloud-init sees.
    require("python3", &["-c", "import yaml"]);
    let base = "#cloud-config\n\
        a: yes\nb: Off\nc: 0644\nd: 0x1F\ne: 0b101\nf: 1:30\ng: 1_000\nh: 1.5\ni: 1.5e3\nj: 1.0e+3\n\
        k: .5\nm: ~\nn:\np: '0644'\nq: !!str 12\nr: !!int \"0x10\"\ns: 09\nt: y\nu: 190:20:30.15\nv: +12\nw: 1.\n\
        x: !!binary aGVsbG8=\ny: 'it''s'\nz: \"tab\\there\"\n\
        anchors:\n  base: &b {x: 1, y: 2}\n  other: &o {y: 20, z: 30}\n  one: {<<: *b, y: 3}\n  many: {<<: [*b, *o], w: 0}\n\
        folded: >\n  one\n  two\n\n  three\n\
        literal: |\n  keep\n   this\n";
    let ours = yaml::parse(base).expect("parses").expect("document");
    assert_eq!(ours, pyyaml_load(base));
}

#[ignore = "needs python3 with PyYAML; scripts/test runs it"]
#[test]
fn pyyaml_agrees_on_random_trees() {
    // Hundreds of generated trees (fixed seed) in one document, read back by
    // PyYAML: the emitter's quoting must hold for YAML 1.1, not just 1.2.
    use proptest::strategy::{Strategy as _, ValueTree as _};
    require("python3", &["-c", "import yaml"]);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = yaml::tests::proptests::arb_yaml();
    let items: Vec<Yaml> = (0..400).map(|_| strategy.new_tree(&mut runner).expect("generates").current()).collect();
    let doc = Mapping::from([("items".to_owned(), Yaml::Seq(items.clone()))]);
    let Yaml::Map(mut loaded) = pyyaml_load(&yaml::emit_cloud_config(&doc)) else { panic!("not a mapping") };
    let Some(Yaml::Seq(loaded)) = loaded.shift_remove("items") else { panic!("no items") };
    assert_eq!(loaded.len(), items.len());
    for (item, theirs) in items.iter().zip(&loaded) {
        // Item by item, so a failure shows the one tree that differs.
        assert_eq!(theirs, item, "PyYAML disagrees on:\n{}", yaml::emit(item));
    }
}
