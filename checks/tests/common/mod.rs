//! YAML helpers shared by the test binaries (each includes this module and
//! may use only part of it).
#![allow(dead_code)]

use yaml_rust2::{Yaml, YamlLoader};

/// All documents of a YAML file relative to the repository root.
pub fn yaml_docs(relative: &str) -> Vec<Yaml> {
    let text = repo_checks::read(relative);
    YamlLoader::load_from_str(&text).unwrap_or_else(|err| panic!("{relative} is not valid YAML: {err}"))
}

/// The single document of a YAML file.
pub fn yaml_doc(relative: &str) -> Yaml {
    let mut docs = yaml_docs(relative);
    assert_eq!(docs.len(), 1, "{relative} must hold exactly one YAML document");
    docs.remove(0)
}

/// A string at a dotted path (`spec.source.repoURL`), if present.
pub fn str_at<'a>(doc: &'a Yaml, path: &str) -> Option<&'a str> {
    at(doc, path).as_str()
}

/// The node at a dotted path (`BadValue` when missing).
pub fn at<'a>(doc: &'a Yaml, path: &str) -> &'a Yaml {
    path.split('.').fold(doc, |node, key| &node[key])
}

/// Keys of a mapping as strings (non-string keys as their debug form).
pub fn keys(node: &Yaml) -> Vec<String> {
    node.as_hash()
        .map(|hash| hash.keys().map(|k| k.as_str().map(str::to_string).unwrap_or_else(|| format!("{k:?}"))).collect())
        .unwrap_or_default()
}

/// A YAML scalar rendered as text (strings as-is, numbers and booleans
/// formatted), for version comparisons.
pub fn scalar_text(node: &Yaml) -> Option<String> {
    match node {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Every `(path, node)` in a YAML tree, depth first.
pub fn walk<'a>(node: &'a Yaml, path: &str, out: &mut Vec<(String, &'a Yaml)>) {
    out.push((path.to_string(), node));
    match node {
        Yaml::Hash(hash) => {
            for (key, value) in hash {
                let key = key.as_str().map(str::to_string).unwrap_or_else(|| format!("{key:?}"));
                walk(value, &format!("{path}.{key}"), out);
            }
        }
        Yaml::Array(items) => {
            for (index, value) in items.iter().enumerate() {
                walk(value, &format!("{path}[{index}]"), out);
            }
        }
        _ => {}
    }
}

/// A fenced code block of a Markdown file: its info string (`sh`, `env`)
/// and its lines, with the fence's own indentation removed (blocks inside
/// list items are indented).
#[derive(Debug, Clone)]
pub struct Fenced {
    pub info: String,
    pub lines: Vec<String>,
}

impl Fenced {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// Every fenced code block of a Markdown document, in order.
pub fn fenced_blocks(markdown: &str) -> Vec<Fenced> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, Fenced)> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some((indent, Fenced { info: info.trim().to_string(), lines: Vec::new() }));
                }
            }
            Some((fence_indent, mut block)) => {
                if trimmed.starts_with("```") {
                    blocks.push(block);
                } else {
                    let cut = indent.min(fence_indent);
                    block.lines.push(line[cut..].to_string());
                    open = Some((fence_indent, block));
                }
            }
        }
    }
    assert!(open.is_none(), "a fenced code block is not closed");
    blocks
}

/// Shell commands of a block: lines ending in `\` joined with the next.
pub fn shell_commands(block: &Fenced) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in &block.lines {
        match line.trim_end().strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                if !current.trim().is_empty() {
                    commands.push(current.trim().to_string());
                }
                current.clear();
            }
        }
    }
    if !current.trim().is_empty() {
        commands.push(current.trim().to_string());
    }
    commands
}

/// The `NAME=value` lines of an env-file block (`docker run --env-file`
/// format): blank lines and `#` comments skipped, everything else as is.
pub fn env_file_lines(block: &Fenced) -> Vec<String> {
    block
        .lines
        .iter()
        .filter(|line| {
            let line = line.trim_start();
            !line.is_empty() && !line.starts_with('#')
        })
        .cloned()
        .collect()
}

/// The variable a `NAME=value` line sets.
pub fn env_name(line: &str) -> String {
    line.trim_start().split('=').next().unwrap_or_default().trim().to_string()
}

/// The environment phase 1 gives the Atlantis container, as
/// docs/setup.md writes it: every name of its env-file blocks (```env)
/// and every `-e NAME=...` of the `docker run -d` that starts the server.
pub fn phase_one_environment() -> std::collections::BTreeSet<String> {
    let blocks = fenced_blocks(&repo_checks::read("docs/setup.md"));
    let mut names = std::collections::BTreeSet::new();
    let env_blocks: Vec<&Fenced> = blocks.iter().filter(|b| b.info == "env").collect();
    assert!(!env_blocks.is_empty(), "docs/setup.md must show phase 1's env file as a ```env block");
    for block in env_blocks {
        names.extend(env_file_lines(block).iter().map(|line| env_name(line)));
    }
    let server: Vec<String> = blocks
        .iter()
        .filter(|b| b.info == "sh")
        .flat_map(shell_commands)
        .filter(|c| c.starts_with("docker run -d") && c.contains(" server"))
        .collect();
    assert_eq!(server.len(), 1, "docs/setup.md starts the phase-1 server with one `docker run -d ... server`");
    let words: Vec<&str> = server[0].split_whitespace().collect();
    for pair in words.windows(2) {
        if pair[0] == "-e" || pair[0] == "--env" {
            names.insert(env_name(pair[1]));
        }
    }
    names
}
