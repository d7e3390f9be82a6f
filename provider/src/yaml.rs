//! Ordered YAML document model, a deterministic emitter, and a parser
//! wrapper that reads YAML the way cloud-init does.
//!
//! The emitter is the crate's only one: `cloudinit` writes user-data with
//! it, and `kubeadm` its v1beta4 configuration files, the kube-vip manifest
//! and the admin kubeconfig (Go's YAML reader in kubeadm and kubectl has
//! the same YAML 1.1 pitfalls as PyYAML).
//!
//! cloud-init loads user-data with PyYAML's safe loader, i.e. YAML 1.1
//! resolution: `yes`/`on` are booleans, `0644` is octal 420, `1:30` is 90.
//! yaml-rust2 only tokenises here; scalar resolution, tags, anchors and merge
//! keys (`<<`) are done in this module with PyYAML's rules, so a value in the
//! user's `base` keeps the type cloud-init would have given it.
//!
//! The emitter writes block style only, two-space indentation, and quotes
//! every string that either YAML 1.1 (PyYAML) or YAML 1.2 (yaml-rust2 and
//! most other tools) could read as anything but a string. Output depends on
//! nothing but the tree, so equal trees give byte-identical text.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use indexmap::IndexMap;
use std::collections::HashMap;
use std::fmt::Write as _;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

/// An insertion-ordered YAML mapping with string keys (cloud-config has no
/// other kind of key).
pub type Mapping = IndexMap<String, Yaml>;

/// One YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer that fits in i64.
    Int(i64),
    /// A float (emitted so that both YAML 1.1 and 1.2 read a float).
    Float(f64),
    /// A string.
    Str(String),
    /// `!!binary` data (cloud-init accepts it for write_files content).
    Binary(Vec<u8>),
    /// A block sequence.
    Seq(Vec<Yaml>),
    /// A block mapping.
    Map(Mapping),
}

impl Yaml {
    /// A string node.
    pub fn str(value: impl Into<String>) -> Self {
        Self::Str(value.into())
    }

    /// A sequence of string nodes.
    pub fn str_seq<I, S>(items: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::Seq(items.into_iter().map(|s| Self::Str(s.into())).collect())
    }

    /// Human-readable kind, for error messages ("a list", "a string", ...).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Int(_) => "an integer",
            Self::Float(_) => "a float",
            Self::Str(_) => "a string",
            Self::Binary(_) => "binary data",
            Self::Seq(_) => "a list",
            Self::Map(_) => "a mapping",
        }
    }

    /// The string value, if this is a string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Emitter
// ---------------------------------------------------------------------------

/// The first line of every cloud-config document.
pub const CLOUD_CONFIG_HEADER: &str = "#cloud-config";

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
        Yaml::Map(m) if !m.is_empty() => {
            if in_seq {
                out.push(' ');
                emit_map(out, m, indent + 2, true);
            } else {
                out.push('\n');
                emit_map(out, m, indent + 2, false);
            }
        }
        Yaml::Seq(s) if !s.is_empty() => {
            if in_seq {
                out.push(' ');
                emit_seq(out, s, indent + 2, true);
            } else {
                out.push('\n');
                emit_seq(out, s, indent + 2, false);
            }
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
enum StrStyle {
    Plain,
    DoubleQuoted,
    Literal,
}

fn str_style(s: &str) -> StrStyle {
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

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

/// Why a text could not be read into a [`Yaml`] tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    /// The text is not well-formed YAML.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Parser message.
        message: String,
    },
    /// Well-formed YAML using something this model cannot represent
    /// faithfully (non-string keys, unknown tags, duplicate keys, ...).
    #[error("at {path}: {message}")]
    Unsupported {
        /// Path of the node, e.g. `write_files[0].content`, or `(top level)`.
        path: String,
        /// What and why.
        message: String,
    },
}

/// Upper bound on nodes after alias expansion ("billion laughs" guard).
const MAX_NODES: usize = 100_000;
/// Upper bound on nesting, so recursive merge/emit cannot overflow the stack.
const MAX_DEPTH: usize = 64;
/// PyYAML only accepts implicit (simple) keys shorter than this.
const MAX_KEY_LEN: usize = 1024;

/// Parses a single YAML document with PyYAML safe-loader semantics.
/// Returns `None` for a stream without a document (empty or only comments).
///
/// # Errors
/// [`YamlError::Syntax`] for malformed text, [`YamlError::Unsupported`] for
/// duplicate keys, non-string keys, unknown tags, several documents,
/// out-of-range integers, and documents beyond the size/depth limits.
pub fn parse(text: &str) -> Result<Option<Yaml>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder::default();
    let mut documents = 0usize;
    loop {
        let (event, _mark) = parser.next_token().map_err(|e| YamlError::Syntax {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_owned(),
        })?;
        match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(
                        builder.unsupported("the text holds more than one YAML document (`---`); cloud-init reads one")
                    );
                }
            }
            Event::Alias(id) => {
                let node = builder
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| builder.unsupported("an alias refers to an anchor that is not complete yet"))?;
                builder.count(count_nodes(&node))?;
                builder.push(Node::Value(node))?;
            }
            Event::Scalar(value, style, anchor, tag) => {
                builder.count(1)?;
                let node =
                    resolve_scalar(&value, style, tag.as_ref()).map_err(|message| builder.unsupported(&message))?;
                if anchor > 0 {
                    if let Node::Value(v) = &node {
                        builder.anchors.insert(anchor, v.clone());
                    }
                }
                builder.push(node)?;
            }
            Event::SequenceStart(anchor, tag) => {
                builder.count(1)?;
                check_collection_tag(tag.as_ref(), "tag:yaml.org,2002:seq")
                    .map_err(|message| builder.unsupported(&message))?;
                builder.open(Frame::Seq { anchor, items: Vec::new() })?;
            }
            Event::MappingStart(anchor, tag) => {
                builder.count(1)?;
                check_collection_tag(tag.as_ref(), "tag:yaml.org,2002:map")
                    .map_err(|message| builder.unsupported(&message))?;
                builder.open(Frame::Map(MapFrame { anchor, ..MapFrame::default() }))?;
            }
            Event::SequenceEnd | Event::MappingEnd => builder.close()?,
        }
    }
    Ok(builder.root)
}

/// A resolved scalar, or the YAML 1.1 merge key `<<` (only meaningful as a key).
#[derive(Debug)]
enum Node {
    Value(Yaml),
    Merge,
}

impl Node {
    fn into_value(self) -> Yaml {
        match self {
            Self::Value(v) => v,
            // `<<` outside a key position is just text.
            Self::Merge => Yaml::str("<<"),
        }
    }
}

#[derive(Debug)]
enum PendingKey {
    Key(String),
    Merge,
}

#[derive(Debug, Default)]
struct MapFrame {
    anchor: usize,
    /// Explicit entries in document order.
    entries: Mapping,
    /// Entries contributed by `<<`, already in PyYAML's flattening order.
    merged: Vec<(String, Yaml)>,
    pending: Option<PendingKey>,
}

#[derive(Debug)]
enum Frame {
    Seq { anchor: usize, items: Vec<Yaml> },
    Map(MapFrame),
}

#[derive(Debug, Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Yaml>,
    root: Option<Yaml>,
    nodes: usize,
}

impl Builder {
    fn path(&self) -> String {
        let mut path = String::new();
        for frame in &self.stack {
            match frame {
                Frame::Seq { items, .. } => {
                    let _ = write!(path, "[{}]", items.len());
                }
                Frame::Map(m) => match &m.pending {
                    Some(PendingKey::Key(k)) => push_path_key(&mut path, k),
                    Some(PendingKey::Merge) => push_path_key(&mut path, "<<"),
                    None => {}
                },
            }
        }
        if path.is_empty() { "(top level)".to_owned() } else { path }
    }

    fn unsupported(&self, message: &str) -> YamlError {
        YamlError::Unsupported { path: self.path(), message: message.to_owned() }
    }

    fn count(&mut self, n: usize) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(
                self.unsupported(&format!("the document expands to more than {MAX_NODES} nodes (aliases included)"))
            );
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.unsupported(&format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn close(&mut self) -> Result<(), YamlError> {
        let (anchor, node) = match self.stack.pop() {
            Some(Frame::Seq { anchor, items }) => (anchor, Yaml::Seq(items)),
            Some(Frame::Map(m)) => {
                // PyYAML: merged pairs first, explicit pairs after; a later
                // pair overrides the value but keeps the first position.
                let mut map = Mapping::with_capacity(m.merged.len() + m.entries.len());
                for (k, v) in m.merged.into_iter().chain(m.entries) {
                    map.insert(k, v);
                }
                (m.anchor, Yaml::Map(map))
            }
            None => return Err(self.unsupported("unbalanced collection end")),
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        self.push(Node::Value(node))
    }

    fn push(&mut self, node: Node) -> Result<(), YamlError> {
        let path = self.path();
        match self.stack.last_mut() {
            None => self.root = Some(node.into_value()),
            Some(Frame::Seq { items, .. }) => items.push(node.into_value()),
            Some(Frame::Map(m)) => match m.pending.take() {
                None => {
                    m.pending = Some(match node {
                        Node::Merge => PendingKey::Merge,
                        Node::Value(Yaml::Str(key)) => {
                            if key.chars().count() >= MAX_KEY_LEN {
                                return Err(YamlError::Unsupported {
                                    path,
                                    message: format!("a key is {MAX_KEY_LEN} characters or longer"),
                                });
                            }
                            if m.entries.contains_key(&key) {
                                let mut p = if path == "(top level)" { String::new() } else { path };
                                push_path_key(&mut p, &key);
                                return Err(YamlError::Unsupported {
                                    path: p,
                                    message: "duplicate key (cloud-init would silently keep only the last one)"
                                        .to_owned(),
                                });
                            }
                            PendingKey::Key(key)
                        }
                        Node::Value(other) => {
                            return Err(YamlError::Unsupported {
                                path,
                                message: format!(
                                    "a mapping key is {} ({}); cloud-config keys are strings, quote it",
                                    other.kind(),
                                    emit(&other).trim_end()
                                ),
                            });
                        }
                    });
                }
                Some(PendingKey::Key(key)) => {
                    m.entries.insert(key, node.into_value());
                }
                Some(PendingKey::Merge) => {
                    let merge_err = || YamlError::Unsupported {
                        path: path.clone(),
                        message: "the merge key `<<` needs a mapping or a list of mappings".to_owned(),
                    };
                    match node.into_value() {
                        Yaml::Map(source) => m.merged.extend(source),
                        Yaml::Seq(sources) => {
                            // Earlier mappings in the list take precedence,
                            // so they are applied last.
                            let mut maps = Vec::with_capacity(sources.len());
                            for s in sources {
                                match s {
                                    Yaml::Map(map) => maps.push(map),
                                    _ => return Err(merge_err()),
                                }
                            }
                            for map in maps.into_iter().rev() {
                                m.merged.extend(map);
                            }
                        }
                        _ => return Err(merge_err()),
                    }
                }
            },
        }
        Ok(())
    }
}

/// Appends `.key`, or `["key"]` when the key is not a simple identifier.
pub(crate) fn push_path_key(path: &mut String, key: &str) {
    let simple = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if simple {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        let _ = write!(path, "[{key:?}]");
    }
}

fn count_nodes(node: &Yaml) -> usize {
    match node {
        Yaml::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Yaml::Map(map) => 1 + map.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

const CORE_PREFIX: &str = "tag:yaml.org,2002:";

fn full_tag(tag: &Tag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}

fn check_collection_tag(tag: Option<&Tag>, expected: &str) -> Result<(), String> {
    match tag.map(full_tag) {
        None => Ok(()),
        Some(t) if t == "!" || t == expected => Ok(()),
        Some(t) => Err(format!("unsupported tag `{}` (cloud-init's safe loader rejects it)", short_tag(&t))),
    }
}

fn short_tag(full: &str) -> String {
    match full.strip_prefix(CORE_PREFIX) {
        Some(rest) => format!("!!{rest}"),
        None => full.to_owned(),
    }
}

fn resolve_scalar(value: &str, style: TScalarStyle, tag: Option<&Tag>) -> Result<Node, String> {
    if let Some(tag) = tag {
        let full = full_tag(tag);
        let v = match full.strip_prefix(CORE_PREFIX) {
            _ if full == "!" => Yaml::str(value),
            Some("str") => Yaml::str(value),
            Some("null") => Yaml::Null,
            Some("bool") => match value.to_ascii_lowercase().as_str() {
                "yes" | "true" | "on" => Yaml::Bool(true),
                "no" | "false" | "off" => Yaml::Bool(false),
                _ => return Err(format!("{value:?} is not a !!bool")),
            },
            Some("int") => Yaml::Int(construct_int(value)?),
            Some("float") => Yaml::Float(construct_float(value)?),
            Some("binary") => {
                let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                Yaml::Binary(BASE64.decode(compact.as_bytes()).map_err(|e| format!("invalid !!binary data: {e}"))?)
            }
            // A date would reach cloud-init as a date object; no cloud-config
            // key takes one, so it is carried as its text.
            Some("timestamp") => Yaml::str(value),
            _ => {
                return Err(format!("unsupported tag `{}` (cloud-init's safe loader rejects it)", short_tag(&full)));
            }
        };
        return Ok(Node::Value(v));
    }
    if style != TScalarStyle::Plain {
        return Ok(Node::Value(Yaml::str(value)));
    }
    resolve_plain(value)
}

/// YAML 1.1 implicit resolution exactly as PyYAML's `Resolver` does it.
fn resolve_plain(value: &str) -> Result<Node, String> {
    let v = match value {
        "" | "~" | "null" | "Null" | "NULL" => Yaml::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Yaml::Bool(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Yaml::Bool(false),
        "<<" => return Ok(Node::Merge),
        _ if is_yaml11_float(value) => Yaml::Float(construct_float(value)?),
        _ if is_yaml11_int(value) => Yaml::Int(construct_int(value)?),
        // Timestamps (2001-12-14) fall through to strings on purpose; see
        // `resolve_scalar`.
        _ => Yaml::str(value),
    };
    Ok(Node::Value(v))
}

/// Minimal cursor for the hand-written regular expressions below.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Self { s: s.as_bytes(), i: 0 }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, f: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(c) if f(c) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    fn eat_byte(&mut self, b: u8) -> bool {
        self.eat(|c| c == b)
    }
    fn eat_while(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.eat(&f) {}
        self.i - start
    }
    fn done(&self) -> bool {
        self.i == self.s.len()
    }
    fn sign(&mut self) -> bool {
        self.eat(|c| c == b'-' || c == b'+')
    }
    /// `(?::[0-5]?[0-9])+`
    fn sexagesimal_groups(&mut self) -> bool {
        let mut groups = 0;
        while self.peek() == Some(b':') {
            self.i += 1;
            let two = matches!(self.s.get(self.i..self.i + 2), Some([a, b]) if (b'0'..=b'5').contains(a) && b.is_ascii_digit());
            if two {
                self.i += 2;
            } else if !self.eat(|c| c.is_ascii_digit()) {
                return false;
            }
            groups += 1;
        }
        groups > 0
    }
    /// `(?:[eE][-+][0-9]+)?` followed by the end.
    fn optional_exponent_then_end(&mut self) -> bool {
        if self.eat(|c| c == b'e' || c == b'E') && !(self.sign() && self.eat_while(|c| c.is_ascii_digit()) > 0) {
            return false;
        }
        self.done()
    }
}

fn digit_or_underscore(c: u8) -> bool {
    c.is_ascii_digit() || c == b'_'
}

/// PyYAML's float regex:
/// `[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?`
/// `| \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?`
/// `| [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*`
/// `| [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)`
fn is_yaml11_float(s: &str) -> bool {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    // Alternative 2 (no sign allowed).
    let mut c = Cursor::new(s);
    if c.eat_byte(b'.') {
        return c.eat(|b| b.is_ascii_digit())
            && {
                c.eat_while(digit_or_underscore);
                true
            }
            && c.optional_exponent_then_end();
    }
    // Alternatives 1 and 3 share the integer part.
    let mut c = Cursor::new(s);
    c.sign();
    if !c.eat(|b| b.is_ascii_digit()) {
        return false;
    }
    c.eat_while(digit_or_underscore);
    if c.eat_byte(b'.') {
        c.eat_while(digit_or_underscore);
        return c.optional_exponent_then_end();
    }
    if c.sexagesimal_groups() && c.eat_byte(b'.') {
        c.eat_while(digit_or_underscore);
        return c.done();
    }
    false
}

/// PyYAML's int regex:
/// `[-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*)`
/// `| [-+]?0x[0-9a-fA-F_]+ | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+`
fn is_yaml11_int(s: &str) -> bool {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let b = unsigned.as_bytes();
    match b {
        [b'0'] => true,
        [b'0', b'b', rest @ ..] => !rest.is_empty() && rest.iter().all(|&c| matches!(c, b'0' | b'1' | b'_')),
        [b'0', b'x', rest @ ..] => !rest.is_empty() && rest.iter().all(|&c| c.is_ascii_hexdigit() || c == b'_'),
        [b'0', rest @ ..] => rest.iter().all(|&c| matches!(c, b'0'..=b'7' | b'_')),
        [b'1'..=b'9', ..] => {
            let mut c = Cursor::new(unsigned);
            c.i = 1;
            c.eat_while(digit_or_underscore);
            c.done() || (c.sexagesimal_groups() && c.done())
        }
        _ => false,
    }
}

/// PyYAML's `construct_yaml_int`.
fn construct_int(value: &str) -> Result<i64, String> {
    let cleaned: String = value.chars().filter(|&c| c != '_').collect();
    let (negative, digits) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        _ => (false, cleaned.as_str()),
    };
    let bad = || format!("{value:?} is not an integer");
    let magnitude: u128 = if digits == "0" {
        0
    } else if let Some(bin) = digits.strip_prefix("0b") {
        u128::from_str_radix(bin, 2).map_err(|_| bad())?
    } else if let Some(hex) = digits.strip_prefix("0x") {
        u128::from_str_radix(hex, 16).map_err(|_| bad())?
    } else if digits.starts_with('0') {
        u128::from_str_radix(digits, 8).map_err(|_| bad())?
    } else if digits.contains(':') {
        // Least significant group first, like PyYAML.
        let (mut total, mut base): (u128, u128) = (0, 1);
        for part in digits.rsplit(':') {
            let part: u128 = part.parse().map_err(|_| bad())?;
            total = part.checked_mul(base).and_then(|p| p.checked_add(total)).ok_or_else(bad)?;
            base = base.checked_mul(60).ok_or_else(bad)?;
        }
        total
    } else {
        digits.parse().map_err(|_| bad())?
    };
    let signed = i128::try_from(magnitude).map_err(|_| bad())?;
    let signed = if negative { -signed } else { signed };
    i64::try_from(signed).map_err(|_| format!("integer {value} does not fit in 64 bits"))
}

/// PyYAML's `construct_yaml_float`.
fn construct_float(value: &str) -> Result<f64, String> {
    let cleaned: String = value.chars().filter(|&c| c != '_').collect::<String>().to_ascii_lowercase();
    let (sign, rest) = match cleaned.as_bytes().first() {
        Some(b'-') => (-1.0, &cleaned[1..]),
        Some(b'+') => (1.0, &cleaned[1..]),
        _ => (1.0, cleaned.as_str()),
    };
    let bad = || format!("{value:?} is not a float");
    if rest == ".inf" {
        return Ok(sign * f64::INFINITY);
    }
    if rest == ".nan" {
        return Ok(f64::NAN);
    }
    let parse_decimal = |text: &str| -> Result<f64, String> {
        // Python accepts "1." and ".5"; normalise so Rust does too.
        let (mantissa, exponent) = match text.split_once('e') {
            Some((m, e)) => (m, Some(e)),
            None => (text, None),
        };
        let mut normalised = String::new();
        if mantissa.starts_with('.') {
            normalised.push('0');
        }
        normalised.push_str(mantissa);
        if mantissa.ends_with('.') {
            normalised.push('0');
        }
        if let Some(e) = exponent {
            normalised.push('e');
            normalised.push_str(e);
        }
        normalised.parse::<f64>().map_err(|_| bad())
    };
    if rest.contains(':') {
        // Same summation order as PyYAML, so the result is bit-identical.
        let (mut total, mut base) = (0.0, 1.0);
        for part in rest.rsplit(':') {
            total += parse_decimal(part)? * base;
            base *= 60.0;
        }
        return Ok(sign * total);
    }
    Ok(sign * parse_decimal(rest)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: Vec<(&str, Yaml)>) -> Yaml {
        Yaml::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    fn parse_ok(text: &str) -> Yaml {
        parse(text).expect("parses").expect("has a document")
    }

    fn round_trip(node: &Yaml) {
        let text = emit(node);
        let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n---\n{text}"));
        assert_eq!(back.as_ref(), Some(node), "round trip differs:\n{text}");
    }

    #[test]
    fn plain_vs_quoted_strings() {
        for plain in [
            "debian",
            "/etc/hosts",
            "ALL=(ALL) NOPASSWD:ALL",
            "swapoff -a",
            "registry.k8s.io/pause:3.10",
            "https://x/y",
        ] {
            assert_eq!(str_style(plain), StrStyle::Plain, "{plain}");
        }
        for quoted in [
            "",
            "yes",
            "No",
            "ON",
            "y",
            "null",
            "~",
            "0644",
            "1.35",
            "10.0.0.1",
            "1:30",
            "2001-12-14",
            "-x",
            " lead",
            "trail ",
            "a: b",
            "a #b",
            "key:",
            "*ref",
            "&a",
            "!tag",
            "@x",
            "`x",
            "%x",
            "|",
            ">",
            "[a]",
            "{a}",
            "'a'",
            "\"a\"",
            "<<",
            "=",
            ".inf",
            "a\tb",
            "a\rb",
            "sed 's/x/y/'",
            "x | y",
        ] {
            assert_eq!(str_style(quoted), StrStyle::DoubleQuoted, "{quoted:?}");
        }
        assert_eq!(str_style("a\nb\n"), StrStyle::Literal);
        assert_eq!(str_style("a\n  \nb\n"), StrStyle::DoubleQuoted, "whitespace-only line");
        assert_eq!(str_style("a\r\nb\n"), StrStyle::DoubleQuoted);
        assert_eq!(str_style("\n\n"), StrStyle::DoubleQuoted);
    }

    #[test]
    fn emits_exact_block_layout() {
        let doc = map(vec![
            ("hostname", Yaml::str("node1")),
            ("list", Yaml::str_seq(["a", "b c"])),
            (
                "users",
                Yaml::Seq(vec![map(vec![
                    ("name", Yaml::str("debian")),
                    ("groups", Yaml::str_seq(["sudo"])),
                    ("lock_passwd", Yaml::Bool(true)),
                ])]),
            ),
            (
                "write_files",
                Yaml::Seq(vec![map(vec![
                    ("path", Yaml::str("/etc/x")),
                    ("content", Yaml::str("line1\n  indented\n")),
                    ("permissions", Yaml::str("0644")),
                ])]),
            ),
            ("nested", Yaml::Seq(vec![Yaml::str_seq(["x", "y"]), Yaml::Seq(vec![])])),
            ("empty", Yaml::Map(Mapping::new())),
            ("n", Yaml::Null),
            ("i", Yaml::Int(-3)),
            ("f", Yaml::Float(2.0)),
        ]);
        let expected = "\
hostname: node1
list:
  - a
  - b c
users:
  - name: debian
    groups:
      - sudo
    lock_passwd: true
write_files:
  - path: /etc/x
    content: |
      line1
        indented
    permissions: \"0644\"
nested:
  - - x
    - \"y\"
  - []
empty: {}
\"n\": null
i: -3
f: 2.0
";
        assert_eq!(emit(&doc), expected);
        round_trip(&doc);
    }

    #[test]
    fn literal_chomping_and_indentation_indicators() {
        let cases = [
            ("a\nb", " |-\n"),
            ("a\nb\n", " |\n"),
            ("a\nb\n\n", " |+\n"),
            ("  leading\nx\n", " |2\n"),
            ("\nstarts with newline\n", " |2\n"),
            ("\tcode\nx", " |2-\n"),
        ];
        for (text, header) in cases {
            let doc = map(vec![("k", Yaml::str(text))]);
            let out = emit(&doc);
            assert!(out.starts_with(&format!("k:{header}")), "{text:?} -> {out:?}");
            round_trip(&doc);
            // Also nested in a list of mappings, where indentation differs.
            round_trip(&map(vec![("l", Yaml::Seq(vec![doc.clone(), Yaml::str(text)]))]));
        }
    }

    #[test]
    fn escapes_round_trip() {
        let nasty =
            "quote\" back\\slash tab\t cr\r nul\0 bell\u{7} del\u{7f} c1\u{85} ls\u{2028} bom\u{feff} ü 🦀 \u{FFFE}";
        let doc = map(vec![("s", Yaml::str(nasty)), ("multi", Yaml::str(format!("{nasty}\nline2\n")))]);
        let out = emit(&doc);
        assert!(out.is_ascii() || out.contains('ü'), "printable unicode stays raw");
        assert!(!out.contains('\u{85}') && !out.contains('\u{2028}') && !out.contains('\r'));
        round_trip(&doc);
        // Keys that need quoting.
        round_trip(&map(vec![("a key: with colon", Yaml::Int(1)), ("yes", Yaml::Bool(false)), ("", Yaml::Null)]));
    }

    #[test]
    fn scalars_round_trip_typed() {
        let doc = map(vec![
            ("t", Yaml::Bool(true)),
            ("i", Yaml::Int(i64::MIN)),
            ("j", Yaml::Int(i64::MAX)),
            ("f", Yaml::Float(-0.5)),
            ("big", Yaml::Float(1e300)),
            ("tiny", Yaml::Float(1e-300)),
            ("inf", Yaml::Float(f64::NEG_INFINITY)),
            ("b", Yaml::Binary([0, 1, 2, 255].repeat(40))),
            ("e", Yaml::Binary(vec![])),
            ("s", Yaml::str("0644")),
        ]);
        round_trip(&doc);
    }

    #[test]
    fn resolves_like_pyyaml() {
        let doc = parse_ok(
            "a: yes\nb: Off\nc: 0644\nd: 0x1F\ne: 0b101\nf: 1:30\ng: 1_000\nh: 1.5\ni: 1.5e3\nj: 1.0e+3\n\
             k: .5\nl: -.inf\nm: ~\nn:\no: 2001-12-14\np: '0644'\nq: !!str 12\nr: !!int \"0x10\"\ns: 09\n\
             t: y\nu: 190:20:30.15\nv: +12\nw: 1.\n",
        );
        let Yaml::Map(m) = doc else { panic!("not a map") };
        let get = |k: &str| m.get(k).cloned().unwrap_or_else(|| panic!("missing {k}"));
        assert_eq!(get("a"), Yaml::Bool(true));
        assert_eq!(get("b"), Yaml::Bool(false));
        assert_eq!(get("c"), Yaml::Int(0o644));
        assert_eq!(get("d"), Yaml::Int(31));
        assert_eq!(get("e"), Yaml::Int(5));
        assert_eq!(get("f"), Yaml::Int(90));
        assert_eq!(get("g"), Yaml::Int(1000));
        assert_eq!(get("h"), Yaml::Float(1.5));
        assert_eq!(get("i"), Yaml::str("1.5e3"), "PyYAML needs a signed exponent");
        assert_eq!(get("j"), Yaml::Float(1000.0));
        assert_eq!(get("k"), Yaml::Float(0.5));
        assert_eq!(get("l"), Yaml::Float(f64::NEG_INFINITY));
        assert_eq!(get("m"), Yaml::Null);
        assert_eq!(get("n"), Yaml::Null);
        assert_eq!(get("o"), Yaml::str("2001-12-14"));
        assert_eq!(get("p"), Yaml::str("0644"));
        assert_eq!(get("q"), Yaml::str("12"));
        assert_eq!(get("r"), Yaml::Int(16));
        assert_eq!(get("s"), Yaml::str("09"), "not octal, not decimal in YAML 1.1");
        assert_eq!(get("t"), Yaml::str("y"));
        assert_eq!(get("u"), Yaml::Float(685_230.15));
        assert_eq!(get("v"), Yaml::Int(12));
        assert_eq!(get("w"), Yaml::Float(1.0));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let doc = parse_ok(
            "base: &b {x: 1, y: 2}\nother: &o {y: 20, z: 30}\n\
             one:\n  <<: *b\n  y: 3\n\
             many:\n  <<: [*b, *o]\n  w: 0\n\
             list: &l [a, b]\ncopy: *l\n",
        );
        let expected = parse_ok(
            "base: {x: 1, y: 2}\nother: {y: 20, z: 30}\n\
             one: {x: 1, y: 3}\n\
             many: {y: 2, z: 30, x: 1, w: 0}\n\
             list: [a, b]\ncopy: [a, b]\n",
        );
        assert_eq!(doc, expected);
        let Yaml::Map(m) = &doc else { panic!() };
        let Some(Yaml::Map(many)) = m.get("many") else { panic!() };
        // Python dict order: first insertion wins the position.
        assert_eq!(many.keys().collect::<Vec<_>>(), ["y", "z", "x", "w"]);
        // A quoted "<<" is an ordinary key.
        let quoted = parse_ok("'<<': {a: 1}\n");
        assert_eq!(quoted, map(vec![("<<", map(vec![("a", Yaml::Int(1))]))]));
    }

    #[test]
    fn rejects_what_cannot_be_carried_over() {
        let unsupported = |text: &str| match parse(text) {
            Err(YamlError::Unsupported { path, message }) => (path, message),
            other => panic!("{text:?}: expected Unsupported, got {other:?}"),
        };
        let (path, msg) = unsupported("a:\n  b: 1\n  b: 2\n");
        assert_eq!(path, "a.b");
        assert!(msg.contains("duplicate"), "{msg}");
        let (path, msg) = unsupported("runcmd:\n  - {1: x}\n");
        assert_eq!(path, "runcmd[0]");
        assert!(msg.contains("an integer"), "{msg}");
        let (_, msg) = unsupported("on: push\n");
        assert!(msg.contains("a boolean"), "{msg}");
        let (path, msg) = unsupported("x: !custom foo\n");
        assert_eq!(path, "x");
        assert!(msg.contains("!custom"), "{msg}");
        let (_, msg) = unsupported("a: 1\n---\nb: 2\n");
        assert!(msg.contains("more than one"), "{msg}");
        let (_, msg) = unsupported("n: 99999999999999999999\n");
        assert!(msg.contains("64 bits"), "{msg}");
        let (_, msg) = unsupported(
            "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
        );
        assert!(msg.contains("nodes"), "{msg}");
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let (_, msg) = unsupported(&deep);
        assert!(msg.contains("nesting"), "{msg}");
        match parse("a: [1, 2\n") {
            Err(YamlError::Syntax { line, .. }) => assert!(line >= 1),
            other => panic!("expected syntax error, got {other:?}"),
        }
    }

    #[test]
    fn empty_stream_is_no_document() {
        assert_eq!(parse("").expect("ok"), None);
        assert_eq!(parse("#cloud-config\n# only comments\n").expect("ok"), None);
    }

    #[test]
    fn emitted_text_reads_back_identically_with_yaml_rust2_loader() {
        // An independent YAML 1.2 reader agrees on strings, lists and maps.
        use yaml_rust2::{Yaml as Y2, YamlLoader};
        let doc = map(vec![
            ("a", Yaml::str("yes")),
            ("b", Yaml::str("0644")),
            ("c", Yaml::str("multi\nline\n")),
            ("d", Yaml::str_seq(["x: y", "#z", "  pad"])),
        ]);
        let text = emit(&doc);
        let loaded = YamlLoader::load_from_str(&text).expect("loads");
        let root = &loaded[0];
        assert_eq!(root["a"], Y2::String("yes".into()));
        assert_eq!(root["b"], Y2::String("0644".into()));
        assert_eq!(root["c"], Y2::String("multi\nline\n".into()));
        assert_eq!(root["d"][0], Y2::String("x: y".into()));
        assert_eq!(root["d"][1], Y2::String("#z".into()));
        assert_eq!(root["d"][2], Y2::String("  pad".into()));
    }
}

#[cfg(test)]
pub(crate) mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// Arbitrary trees, weighted towards YAML-significant characters.
    pub(crate) fn arb_yaml() -> impl Strategy<Value = Yaml> {
        let leaf = prop_oneof![
            Just(Yaml::Null),
            any::<bool>().prop_map(Yaml::Bool),
            any::<i64>().prop_map(Yaml::Int),
            any::<f64>().prop_filter("NaN never equals itself", |f| !f.is_nan()).prop_map(Yaml::Float),
            any::<String>().prop_map(Yaml::Str),
            // Characters that matter to YAML, so the interesting cases are frequent.
            "[a-zA-Z0-9 :#'\"|>&*!%@`,\\[\\]{}?=<~.+\n\t\r-]{0,24}".prop_map(Yaml::Str),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(Yaml::Binary),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Yaml::Seq),
                prop::collection::vec(("[a-z_ :#-]{0,8}|\\PC{0,8}", inner), 0..5)
                    .prop_map(|entries| Yaml::Map(entries.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn emit_then_parse_is_identity(node in arb_yaml()) {
            let text = emit(&node);
            let back = parse(&text);
            prop_assert_eq!(back, Ok(Some(node)), "text:\n{}", text);
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,64}|[ \n\t:#&*!|>'\"%@`,\\[\\]{}?=<~.-]{0,64}") {
            let _ = parse(&text);
        }
    }
}
