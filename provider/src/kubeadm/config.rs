//! kubeadm v1beta4 configuration files and the kube-vip manifest.

use yaml_rust2::Yaml;

/// Renders one YAML document in block style.
///
/// yaml-rust2's emitter leaves strings plain that YAML 1.1 parsers (Go's,
/// which kubeadm and kubectl use) read as numbers or timestamps, such as
/// `1_000` or `2024-01-01`; here a string is plain only when it cannot be
/// anything but a string, and double-quoted otherwise.
pub(crate) fn emit_yaml(doc: &Yaml) -> String {
    let mut out = String::new();
    match doc {
        Yaml::Hash(h) if !h.is_empty() => emit_hash(&mut out, h, 0),
        Yaml::Array(a) if !a.is_empty() => emit_array(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn emit_hash(out: &mut String, h: &yaml_rust2::yaml::Hash, indent: usize) {
    for (k, v) in h {
        push_indent(out, indent);
        out.push_str(&scalar(k));
        out.push(':');
        emit_value(out, v, indent, indent + 2);
    }
}

fn emit_array(out: &mut String, a: &[Yaml], indent: usize) {
    for item in a {
        push_indent(out, indent);
        out.push('-');
        match item {
            Yaml::Hash(h) if !h.is_empty() => {
                // The first entry goes on the dash's line.
                let mut nested = String::new();
                emit_hash(&mut nested, h, indent + 2);
                out.push(' ');
                out.push_str(&nested[indent + 2..]);
            }
            Yaml::Array(inner) if !inner.is_empty() => {
                let mut nested = String::new();
                emit_array(&mut nested, inner, indent + 2);
                out.push(' ');
                out.push_str(&nested[indent + 2..]);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

/// A mapping value: scalars and empty collections inline, mappings indented
/// below, sequences at the key's indentation (as kubectl writes them).
fn emit_value(out: &mut String, v: &Yaml, key_indent: usize, child_indent: usize) {
    match v {
        Yaml::Hash(h) if !h.is_empty() => {
            out.push('\n');
            emit_hash(out, h, child_indent);
        }
        Yaml::Array(a) if !a.is_empty() => {
            out.push('\n');
            emit_array(out, a, key_indent);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn push_indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn scalar(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => quote(s),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Real(r) => r.clone(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Hash(_) => "{}".to_owned(),
        Yaml::Array(_) => "[]".to_owned(),
        Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => "null".to_owned(),
    }
}

/// Words YAML 1.1 or 1.2 read as booleans or null when plain.
const RESERVED: &[&str] = &["y", "yes", "n", "no", "true", "false", "on", "off", "null"];

/// `s` plain when it starts with a letter or '/', has only `[A-Za-z0-9._/:-]`,
/// does not end in ':' and is no reserved word; else double-quoted with
/// every control and line-breaking character escaped.
fn quote(s: &str) -> String {
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | ':' | '-'))
        && !s.ends_with(':')
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // NEL, LS and PS are line breaks to YAML 1.1; BOM and other
            // controls must be escaped in any quoted scalar.
            c if c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
