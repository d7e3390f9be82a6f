//! The emitter: block style, two-space indentation, every ambiguous
//! string quoted (see the module above).

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{CLOUD_CONFIG_HEADER, Mapping, Yaml};

/// Emits `#cloud-config` followed by `root` as a block mapping.
#[must_use]
pub fn emit_cloud_config(root: &Mapping) -> String {
    let mut out = String::with_capacity(4096);
    out.push_str(CLOUD_CONFIG_HEADER);
    out.push('\n');
    if root.is_empty() {
        out.push_str("{}\n");
    } else {
        emit_map(&mut out, root, 0, false);
    }
    out
}

/// Emits any node as a YAML document body (no header, no `---`).
#[must_use]
pub fn emit(node: &Yaml) -> String {
    let mut out = String::new();
    match node {
        Yaml::Map(m) if !m.is_empty() => emit_map(&mut out, m, 0, false),
        Yaml::Seq(s) if !s.is_empty() => emit_seq(&mut out, s, 0, false),
        // A root scalar: emit as if it followed an indicator, minus the space.
        other => {
            emit_after_indicator(&mut out, other, 0, false);
            out.remove(0);
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// `first_inline`: the cursor already sits after `- ` on the first line.
fn emit_map(out: &mut String, map: &Mapping, indent: usize, first_inline: bool) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !first_inline {
            pad(out, indent);
        }
        if plain_ok(key) {
            out.push_str(key);
        } else {
            push_double_quoted(out, key);
        }
        out.push(':');
        emit_after_indicator(out, value, indent, false);
    }
}

fn emit_seq(out: &mut String, seq: &[Yaml], indent: usize, first_inline: bool) {
    for (i, item) in seq.iter().enumerate() {
        if i > 0 || !first_inline {
            pad(out, indent);
        }
        out.push('-');
        emit_after_indicator(out, item, indent, true);
    }
}

/// Writes a node that follows `key:` (at column `indent`) or `-` (at column
/// `indent`). Nested block content goes to `indent + 2`.
fn emit_after_indicator(out: &mut String, node: &Yaml, indent: usize, in_seq: bool) {
    match node {
        // After `-` the block starts on the same line; after `key:`, below.
        Yaml::Map(m) if !m.is_empty() => {
            out.push(if in_seq { ' ' } else { '\n' });
            emit_map(out, m, indent + 2, in_seq);
        }
        Yaml::Seq(s) if !s.is_empty() => {
            out.push(if in_seq { ' ' } else { '\n' });
            emit_seq(out, s, indent + 2, in_seq);
        }
        Yaml::Map(_) => out.push_str(" {}\n"),
        Yaml::Seq(_) => out.push_str(" []\n"),
        Yaml::Null => out.push_str(" null\n"),
        Yaml::Bool(b) => out.push_str(if *b { " true\n" } else { " false\n" }),
        Yaml::Int(i) => {
            let _ = writeln!(out, " {i}");
        }
        Yaml::Float(f) => {
            out.push(' ');
            out.push_str(&format_float(*f));
            out.push('\n');
        }
        Yaml::Binary(bytes) => {
            if bytes.is_empty() {
                out.push_str(" !!binary \"\"\n");
            } else {
                out.push_str(" !!binary |\n");
                let encoded = BASE64.encode(bytes);
                // 76 columns like MIME; base64 is ASCII so byte slicing is safe.
                for chunk in encoded.as_bytes().chunks(76) {
                    pad(out, indent + 2);
                    out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
                    out.push('\n');
                }
            }
        }
        Yaml::Str(s) => match str_style(s) {
            StrStyle::Plain => {
                out.push(' ');
                out.push_str(s);
                out.push('\n');
            }
            StrStyle::DoubleQuoted => {
                out.push(' ');
                push_double_quoted(out, s);
                out.push('\n');
            }
            StrStyle::Literal => push_literal(out, s, indent + 2),
        },
    }
}

/// Floats always carry a `.` (PyYAML needs it) and never an exponent
/// (PyYAML needs a signed one, YAML 1.2 tools do not).
fn format_float(f: f64) -> String {
    if f.is_nan() {
        ".nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf".to_owned() } else { "-.inf".to_owned() }
    } else {
        // Display is the shortest round-tripping decimal, without exponent.
        let s = f.to_string();
        if s.contains('.') { s } else { format!("{s}.0") }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StrStyle {
    Plain,
    DoubleQuoted,
    Literal,
}

pub(super) fn str_style(s: &str) -> StrStyle {
    if s.contains('\n') {
        if literal_ok(s) { StrStyle::Literal } else { StrStyle::DoubleQuoted }
    } else if plain_ok(s) {
        StrStyle::Plain
    } else {
        StrStyle::DoubleQuoted
    }
}

/// Words some YAML reader takes for a boolean or null (YAML 1.1 also lists
/// `y`/`n`; PyYAML does not, other tools do).
const AMBIGUOUS_WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];

/// Whether `s` can be written as a plain scalar and read back as the same
/// string by every YAML reader. Deliberately narrow: a string must start
/// with a letter, `/` or `_` (so it can never be a number, date, null, merge
/// key or indicator) and use only characters that are inert in block context.
fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '/' || first == '_') {
        return false;
    }
    if s.ends_with(' ') || s.ends_with(':') || s.contains(": ") {
        return false;
    }
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || " _-./:=+,~@()%^".contains(c)) {
        return false;
    }
    !AMBIGUOUS_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

/// Characters PyYAML's reader accepts raw in a document (its `NON_PRINTABLE`
/// complement), minus the YAML 1.1 line breaks and the BOM.
fn is_printable(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// Literal block style is used for multi-line text unless it holds a
/// character that must be escaped, or a whitespace-only line (readers
/// disagree on those around indentation detection).
fn literal_ok(s: &str) -> bool {
    if s.trim_end_matches('\n').is_empty() {
        return false;
    }
    if !s.chars().all(|c| c == '\n' || c == '\t' || is_printable(c)) {
        return false;
    }
    !s.split('\n').any(|line| !line.is_empty() && line.trim_matches([' ', '\t']).is_empty())
}

fn push_literal(out: &mut String, s: &str, content_indent: usize) {
    out.push_str(" |");
    // An explicit indentation indicator when the first line starts with
    // whitespace or is empty, since readers would otherwise guess the
    // indentation from it.
    if s.starts_with([' ', '\t', '\n']) {
        out.push('2');
    }
    let body = if !s.ends_with('\n') {
        out.push('-');
        s
    } else {
        if s.ends_with("\n\n") {
            out.push('+');
        }
        &s[..s.len() - 1]
    };
    out.push('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            pad(out, content_indent);
            out.push_str(line);
        }
        out.push('\n');
    }
}

fn push_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if is_printable(c) => out.push(c),
            c => {
                let code = u32::from(c);
                let _ = if code <= 0xFF {
                    write!(out, "\\x{code:02X}")
                } else if code <= 0xFFFF {
                    write!(out, "\\u{code:04X}")
                } else {
                    write!(out, "\\U{code:08X}")
                };
            }
        }
    }
    out.push('"');
}
