//! Shared helpers for the repository checks in `tests/`: paths, external
//! tools (skipped locally, required under CI), a small HCL block scanner
//! and `.dockerignore`-style glob matching (what Atlantis uses for
//! `autoplan.when_modified`).
//!
//! Standard library only: the tests bring their own YAML/JSON parsers.

// Test infrastructure: a panic here fails a test run and never reaches a
// user's plugin; the workspace lints keep it out of the provider itself.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// The repository root (the parent of this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(".."))
}

/// Reads a file relative to the repository root, with the path in the panic.
pub fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// The rest of the first line of `text` (the file `file`) that starts with
/// `prefix`, trimmed: a pin such as `ARG ATLANTIS_VERSION=` or
/// `ATLANTIS_VERSION=`. Panics naming the file when no line does, so a pin
/// that moved fails loudly.
pub fn value_after(text: &str, prefix: &str, file: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("{file}: no line starts with {prefix:?}"))
}

/// True when running under CI (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").map(|v| !v.is_empty() && v != "0" && v != "false").unwrap_or(false)
}

/// Locates an external tool for a test. `env` names an environment variable
/// holding its path; otherwise `path_name` is looked up in `PATH` (when
/// given). Missing: the test fails, saying what to set. Tests that need a
/// tool are `#[ignore]`d with the reason, so a bare `cargo test` lists
/// them as ignored and scripts/test runs them (`--include-ignored`).
pub fn require_tool(what: &str, env: &str, path_name: Option<&str>) -> PathBuf {
    let found = match std::env::var_os(env).filter(|v| !v.is_empty()) {
        Some(value) => Some(PathBuf::from(value)),
        None => path_name.and_then(find_in_path),
    };
    match found {
        Some(path) if path.is_file() => path,
        Some(path) => missing(what, &format!("{env}={} is not a file", path.display())),
        None => {
            let hint = path_name.map(|n| format!(" (or put `{n}` on PATH)")).unwrap_or_default();
            missing(what, &format!("set {env}{hint}"))
        }
    }
}

fn missing(what: &str, hint: &str) -> ! {
    panic!("this test needs {what}: {hint}; scripts/test builds and sets it")
}

/// Finds an executable in `PATH`.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}

/// Runs a command and returns (success, stdout, stderr).
pub fn run(command: &mut Command) -> (bool, String, String) {
    let output = command.output().unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"));
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A Terraform command with a clean, offline, quiet environment: no user CLI
/// configuration, no checkpoint calls, no colour.
pub fn terraform_command(terraform: &Path, dir: &Path, cli_config: &Path) -> Command {
    let mut command = Command::new(terraform);
    command
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env("TF_INPUT", "0")
        .env_remove("TF_LOG")
        .env_remove("TF_DATA_DIR")
        .env_remove("TF_WORKSPACE");
    command
}

/// Every file under `dir` (relative to `dir`, `/`-separated), skipping VCS
/// metadata, build output and Terraform caches.
pub fn walk_files(dir: &Path) -> Vec<String> {
    fn visit(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if matches!(name.as_str(), ".git" | "target" | ".terraform" | "node_modules") {
                    continue;
                }
                visit(base, &path, out);
            } else if let Ok(rel) = path.strip_prefix(base) {
                out.push(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
            }
        }
    }
    let mut out = Vec::new();
    visit(dir, dir, &mut out);
    out.sort();
    out
}

/// Joins `relative` onto `base` (both `/`-separated, relative to the repo
/// root) and resolves `.` and `..`. `None` when the result leaves the root.
pub fn normalize_join(base: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in Path::new(base).join(relative).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

/// `.dockerignore`-style glob match on `/`-separated paths: `**` matches any
/// number of whole segments (including none), `*` any run of characters
/// within a segment, `?` one character.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let path: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match_segments(&pattern, &path)
}

fn match_segments(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| match_segments(rest, &path[skip..])),
        Some((first, rest)) => match path.split_first() {
            Some((segment, path_rest)) => {
                match_segment(first.as_bytes(), segment.as_bytes()) && match_segments(rest, path_rest)
            }
            None => false,
        },
    }
}

fn match_segment(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| match_segment(rest, &text[skip..])),
        Some((b'?', rest)) => !text.is_empty() && match_segment(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && match_segment(rest, &text[1..]),
    }
}

/// A block of an HCL file: `kind "label" ... { body }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HclBlock {
    /// Block type, e.g. `variable`.
    pub kind: String,
    /// Quoted labels, unquoted.
    pub labels: Vec<String>,
    /// Text between the braces.
    pub body: String,
}

impl HclBlock {
    /// Names of the attributes (`name = ...`) directly inside this block.
    pub fn attributes(&self) -> Vec<String> {
        items(&self.body)
            .into_iter()
            .filter_map(|item| if let Item::Attribute(name, _) = item { Some(name) } else { None })
            .collect()
    }

    /// Raw expression text of a direct attribute.
    pub fn attribute(&self, name: &str) -> Option<String> {
        items(&self.body).into_iter().find_map(|item| match item {
            Item::Attribute(n, value) if n == name => Some(value),
            _ => None,
        })
    }

    /// Blocks directly inside this block.
    pub fn blocks(&self) -> Vec<HclBlock> {
        items(&self.body)
            .into_iter()
            .filter_map(|item| if let Item::Block(block) = item { Some(block) } else { None })
            .collect()
    }
}

/// Top-level blocks of an HCL document.
pub fn hcl_blocks(source: &str) -> Vec<HclBlock> {
    items(source)
        .into_iter()
        .filter_map(|item| if let Item::Block(block) = item { Some(block) } else { None })
        .collect()
}

enum Item {
    Attribute(String, String),
    Block(HclBlock),
}

/// Replaces the inside of strings (interpolations included), heredocs and
/// comments with spaces (same byte length, newlines kept), so braces and `=`
/// can be found by position.
fn mask(source: &str) -> Vec<u8> {
    #[derive(Clone, Copy)]
    enum State {
        Code,
        Str,
        Interp(usize),
    }
    let bytes = source.as_bytes();
    let mut out = bytes.to_vec();
    let blank = |out: &mut Vec<u8>, at: usize| {
        if at < out.len() && out[at] != b'\n' {
            out[at] = b' ';
        }
    };
    let mut stack = vec![State::Code];
    let mut i = 0;
    while i < bytes.len() {
        let state = stack.last().copied().unwrap_or(State::Code);
        let c = bytes[i];
        let inside = !matches!(state, State::Code);
        match state {
            State::Str => {
                blank(&mut out, i);
                if c == b'\\' {
                    blank(&mut out, i + 1);
                    i += 2;
                    continue;
                }
                if c == b'"' {
                    stack.pop();
                    // Keep the closing quote of a top-level string.
                    if matches!(stack.last(), Some(State::Code)) {
                        out[i] = b'"';
                    }
                } else if (c == b'$' || c == b'%') && bytes.get(i + 1) == Some(&b'{') {
                    blank(&mut out, i + 1);
                    stack.push(State::Interp(0));
                    i += 1;
                }
                i += 1;
            }
            State::Code | State::Interp(_) => {
                if inside {
                    blank(&mut out, i);
                }
                if c == b'"' {
                    stack.push(State::Str);
                    i += 1;
                } else if c == b'#' || (c == b'/' && bytes.get(i + 1) == Some(&b'/')) {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        blank(&mut out, i);
                        i += 1;
                    }
                } else if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
                    while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                        blank(&mut out, i);
                        i += 1;
                    }
                    blank(&mut out, i);
                    blank(&mut out, i + 1);
                    i += 2;
                } else if c == b'<' && bytes.get(i + 1) == Some(&b'<') && heredoc_marker(source, i).is_some() {
                    let (marker, body_start) = heredoc_marker(source, i).unwrap_or_default();
                    let mut k = body_start;
                    while k < bytes.len() {
                        let line_end = source[k..].find('\n').map(|n| k + n).unwrap_or(bytes.len());
                        let done = source[k..line_end].trim() == marker;
                        for at in k..line_end {
                            blank(&mut out, at);
                        }
                        k = line_end + 1;
                        if done {
                            break;
                        }
                    }
                    i = k.min(bytes.len());
                } else {
                    if let State::Interp(depth) = state {
                        let next = match c {
                            b'{' => Some(depth + 1),
                            b'}' if depth == 0 => None,
                            b'}' => Some(depth - 1),
                            _ => Some(depth),
                        };
                        stack.pop();
                        if let Some(depth) = next {
                            stack.push(State::Interp(depth));
                        }
                    }
                    i += 1;
                }
            }
        }
    }
    out
}

/// For `<<EOT` / `<<-EOT` at `at`: the marker and where the body starts.
fn heredoc_marker(source: &str, at: usize) -> Option<(&str, usize)> {
    let bytes = source.as_bytes();
    let mut j = at + 2;
    if bytes.get(j) == Some(&b'-') {
        j += 1;
    }
    let start = j;
    while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
        j += 1;
    }
    (j > start && bytes.get(j) == Some(&b'\n')).then(|| (&source[start..j], j + 1))
}

/// The items (attributes and blocks) at the top level of `source`.
fn items(source: &str) -> Vec<Item> {
    let masked = mask(source);
    let mut items = Vec::new();
    let mut i = 0;
    let len = masked.len();
    while i < len {
        // Start of a logical line at depth 0.
        while i < len && (masked[i] as char).is_whitespace() {
            i += 1;
        }
        if i >= len {
            break;
        }
        let line_start = i;
        // Scan to '=' (attribute), '{' (block) or end of line.
        let mut j = i;
        while j < len && masked[j] != b'\n' && masked[j] != b'{' && masked[j] != b'=' {
            j += 1;
        }
        if j >= len {
            break;
        }
        let header = source[line_start..j].trim();
        match masked[j] {
            b'=' if masked.get(j + 1) != Some(&b'=') => {
                let end = expression_end(&masked, j + 1);
                items.push(Item::Attribute(header.to_string(), source[j + 1..end].trim().to_string()));
                i = end;
            }
            b'{' => {
                let close = matching_brace(&masked, j);
                let mut words = header.split_whitespace();
                let kind = words.next().unwrap_or_default().to_string();
                let labels = header_labels(header);
                let body = source[j + 1..close.min(len)].to_string();
                if !kind.is_empty() {
                    items.push(Item::Block(HclBlock { kind, labels, body }));
                }
                i = close + 1;
            }
            _ => i = j + 1,
        }
    }
    items
}

fn header_labels(header: &str) -> Vec<String> {
    let mut labels = Vec::new();
    let mut rest = header;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        labels.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    labels
}

/// Index of the `}` matching the `{` at `open` (or the end).
fn matching_brace(masked: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (at, &c) in masked.iter().enumerate().skip(open) {
        match c {
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return at;
                }
            }
            _ => {}
        }
    }
    masked.len()
}

/// End of an attribute's expression: the first newline outside brackets.
fn expression_end(masked: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    for (at, &c) in masked.iter().enumerate().skip(start) {
        match c {
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            b'\n' if depth == 0 => return at,
            _ => {}
        }
    }
    masked.len()
}

/// The string value of an attribute expression like `"1.14.9"`.
pub fn string_literal(expression: &str) -> Option<String> {
    let trimmed = expression.trim();
    let inner = trimmed.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('"') && !inner.contains("${")).then(|| inner.to_string())
}

/// Secrets that must never be pasted into documentation, found in `text`:
/// PEM private key blocks, kubeadm bootstrap-token-shaped strings
/// (`[a-z0-9]{6}\.[a-z0-9]{16}`) and bare 64-hex strings (kubeadm's
/// certificate key; a `sha256:` digest such as `ca_cert_hash` is public and
/// allowed). Each finding names its line.
pub fn secret_findings(text: &str) -> Vec<String> {
    let mut findings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.contains("PRIVATE KEY-----") {
            findings.push(format!("line {number}: a PEM private key block"));
        }
        if let Some(token) = bootstrap_token_in(line) {
            findings.push(format!("line {number}: a bootstrap-token-shaped string {token:?}"));
        }
        if let Some(hex) = bare_hex64_in(line) {
            findings.push(format!("line {number}: a 64-hex string (certificate key?) {hex:?}"));
        }
    }
    findings
}

/// The first match of `[a-z0-9]{6}\.[a-z0-9]{16}` in `line`.
fn bootstrap_token_in(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    let ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    (6..bytes.len()).find_map(|dot| {
        (bytes[dot] == b'.'
            && bytes.len() >= dot + 17
            && bytes[dot - 6..dot].iter().all(|&b| ok(b))
            && bytes[dot + 1..dot + 17].iter().all(|&b| ok(b)))
        .then(|| &line[dot - 6..dot + 17])
    })
}

/// The first maximal run of exactly 64 hex digits not written as a
/// `sha256:` digest.
fn bare_hex64_in(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        if !bytes[start].is_ascii_hexdigit() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < bytes.len() && bytes[end].is_ascii_hexdigit() {
            end += 1;
        }
        let digest = line[..start].ends_with("sha256:");
        if end - start == 64 && !digest {
            return Some(&line[start..end]);
        }
        start = end;
    }
    None
}

/// `1.12.6` (or `1.12.6-dev`) as `[1, 12, 6]`, for comparing versions;
/// panics on a part that is not a number.
pub fn version_numbers(version: &str) -> Vec<u32> {
    let release = version.split('-').next().unwrap_or_default();
    release
        .split('.')
        .map(|part| part.parse().unwrap_or_else(|_| panic!("{version:?} is not a version like 1.5.0")))
        .collect()
}

/// Runs the target OS's validator, `cloud-init schema -c` of Debian 13's
/// cloud-init 25.1 in the trixie chroot at `HOMELAB_CLOUD_INIT_ROOT`
/// (scripts/peers builds it), on `document`: `(valid, output)`. `None`
/// (with a message) when the chroot is missing locally; a panic under CI.
pub fn target_cloud_init_schema(document: &str) -> (bool, String) {
    let root = match std::env::var_os("HOMELAB_CLOUD_INIT_ROOT").map(PathBuf::from) {
        Some(root) if root.join("usr/bin/cloud-init").exists() => root,
        other => {
            let hint = format!("HOMELAB_CLOUD_INIT_ROOT={other:?} has no cloud-init; run scripts/peers");
            missing("cloud-init 25.1 (trixie chroot)", &hint);
        }
    };
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("repo-checks-{}-{n}.yaml", std::process::id());
    let outside = root.join("tmp").join(&name);
    std::fs::write(&outside, document).expect("write user-data into the chroot");
    let (ok, stdout, stderr) =
        run(Command::new("chroot").arg(&root).args(["cloud-init", "schema", "-c"]).arg(Path::new("/tmp").join(&name)));
    let _ = std::fs::remove_file(&outside);
    (ok, format!("{stdout}{stderr}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_follows_dockerignore_rules() {
        assert!(glob_match("**/*.tf*", "main.tf"));
        assert!(glob_match("**/*.tf*", "modules/vm/main.tf"));
        assert!(glob_match("**/*.tf*", "terraform.tfvars.example"));
        assert!(!glob_match("**/*.tf*", "README.md"));
        assert!(glob_match("templates/**", "templates/user-data.yaml.tftpl"));
        assert!(!glob_match("templates/*", "templates/a/b"));
        assert!(glob_match("a?c", "abc"));
        assert_eq!(normalize_join("terraform", "../templates/**").as_deref(), Some("templates/**"));
        assert_eq!(normalize_join("terraform", "../../x"), None);
    }

    #[test]
    fn hcl_scanner_finds_blocks_attributes_and_ignores_strings() {
        let src = r#"
# comment with { brace
variable "nodes" {
  description = "has { and } and \" inside"
  type = map(object({
    role = string
  }))
  default = { a = "${jsonencode({ x = "}" })}" }
  validation {
    condition     = length(var.nodes) > 0
    error_message = "x"
  }
}

locals {
  doc = <<-EOT
    variable "fake" {
    EOT
}
output "x" {
  value = 1
}
"#;
        let blocks = hcl_blocks(src);
        let kinds: Vec<_> = blocks.iter().map(|b| (b.kind.as_str(), b.labels.clone())).collect();
        assert_eq!(
            kinds,
            vec![("variable", vec!["nodes".to_string()]), ("locals", vec![]), ("output", vec!["x".to_string()])]
        );
        assert_eq!(blocks[0].attributes(), vec!["description", "type", "default"]);
        assert_eq!(blocks[0].blocks().len(), 1);
        assert_eq!(blocks[0].blocks()[0].kind, "validation");
        assert_eq!(string_literal("\"1.14.9\"").as_deref(), Some("1.14.9"));
        assert_eq!(string_literal(">= 1.0"), None);
    }

    #[test]
    fn secret_scanner_finds_keys_tokens_and_certificate_keys() {
        let key = ["-----BEGIN OPENSSH ", "PRIVATE KEY-----"].concat();
        assert_eq!(secret_findings(&key).len(), 1);
        let token = ["abcdef", ".", "0123456789abcdef"].concat();
        assert_eq!(secret_findings(&format!("kubeadm join --token {token} x")).len(), 1);
        let hex = "0123456789abcdef".repeat(4);
        assert_eq!(secret_findings(&format!("certificateKey: {hex}")).len(), 1);
        // Public values pass: a sha256 digest, a longer hex run, host names.
        assert!(secret_findings(&format!("ca_cert_hash = \"sha256:{hex}\"")).is_empty());
        assert!(secret_findings(&format!("{hex}00")).is_empty());
        assert!(secret_findings("node-role.kubernetes.io/worker kubernetes.default.svc.cluster.local").is_empty());
        assert!(secret_findings("-----BEGIN CERTIFICATE-----").is_empty());
    }
}
