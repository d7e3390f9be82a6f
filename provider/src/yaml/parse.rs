//! The reader: yaml-rust2's events, resolved with PyYAML's YAML 1.1 rules
//! (see the module above).

use std::collections::HashMap;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

use super::{Mapping, Yaml, emit};

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
