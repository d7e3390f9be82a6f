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
