//! go-dqlite's YAML node store: reading and writing the format (see [`YamlNodeStore`]).

use std::path::{Path, PathBuf};

use crate::cluster::{NodeInfo, NodeStore, Role};
use crate::error::Result;
use crate::store::{read_store_file, store_error, write_atomically};

/// A node store in go-dqlite's YAML format: the `cluster.yaml` that go-dqlite's `app`
/// package keeps in every node's data directory, and the file its
/// `dqlite -s file://NAME.yaml` shell reads.
///
/// go-dqlite writes a block sequence with one mapping per node:
///
/// ```text
/// - ID: 3297041220608546238
///   Address: 127.0.0.1:9001
///   Role: 0
/// ```
///
/// (go-dqlite 1.11 writes the keys in the order `Address`, `ID`, `Role`; 2.0 and later in
/// the order above, which is what this store writes, quoting addresses as go's YAML
/// encoder does.) Roles are numbers: 0 voter, 1 standby, 2 spare; a node whose role is
/// unknown is written as a voter, go-dqlite's zero value. An empty store is `[]`.
///
/// The reader takes that shape as any YAML tool may have rewritten it: keys in any order
/// and case, plain, single- or double-quoted scalars, comments, a `---` line, and role
/// names (`voter`, `standby`, `spare`) as well as numbers; a missing `ID` reads as 0 and
/// a missing `Role` as unknown. Other YAML (anchors, tags, flow mappings, block scalars)
/// is refused with the line it is on, never guessed at.
///
/// Every [`get`](NodeStore::get) reads the file again, so changes made by go-dqlite (its
/// `app` package rewrites `cluster.yaml` as membership changes) are seen; a missing file
/// is an empty store. [`set`](NodeStore::set) replaces the file atomically (a temporary
/// file, synced, renamed over it, then the directory synced), with mode 0600 as go-dqlite
/// does.
#[derive(Debug, Clone)]
pub struct YamlNodeStore {
    path: PathBuf,
}

impl YamlNodeStore {
    /// A store backed by `path` (created on the first [`set`](NodeStore::set)).
    pub fn new(path: impl AsRef<Path>) -> Self {
        YamlNodeStore {
            path: path.as_ref().to_path_buf(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl NodeStore for YamlNodeStore {
    fn get(&self) -> Result<Vec<NodeInfo>> {
        let Some(text) = read_store_file(&self.path)? else {
            return Ok(Vec::new());
        };
        parse(&text).map_err(|e| store_error(&self.path, &e))
    }

    fn set(&self, nodes: Vec<NodeInfo>) -> Result<()> {
        let text = encode(&nodes).map_err(|e| store_error(&self.path, &e))?;
        write_atomically(&self.path, text.as_bytes())
    }
}

/// The YAML go-dqlite writes for `nodes` (byte for byte, for every address it can hold).
fn encode(nodes: &[NodeInfo]) -> Result<String, String> {
    if nodes.is_empty() {
        return Ok("[]\n".into());
    }
    let mut out = String::new();
    for node in nodes {
        let address = scalar(&node.address)?;
        // go-dqlite has no "unknown role": its zero value, voter, is written.
        let role = node.role.map_or(0, Role::code);
        out.push_str(&format!(
            "- ID: {}\n  Address: {address}\n  Role: {role}\n",
            node.id
        ));
    }
    Ok(out)
}

/// `text` as go's YAML encoder writes a string: plain when it reads back as the same
/// string, double-quoted when plain would read as another type (a number, a boolean,
/// null), single-quoted when it cannot be plain (it starts with `[` or `@`, holds `: `...).
fn scalar(text: &str) -> Result<String, String> {
    if let Some(bad) = text.chars().find(|&c| !printable(c)) {
        return Err(format!(
            "address {text:?} holds the character {bad:?}, which no node address contains"
        ));
    }
    if resolves_to_other_type(text) || base60_float(text) {
        Ok(format!(
            "\"{}\"",
            text.replace('\\', "\\\\").replace('"', "\\\"")
        ))
    } else if plain_allowed(text) {
        Ok(text.to_owned())
    } else {
        Ok(format!("'{}'", text.replace('\'', "''")))
    }
}

/// Characters YAML writes without escapes (what libyaml calls printable, less line ends).
fn printable(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && c != '\u{feff}'
}

/// Whether YAML's emitter may write `text` as a plain scalar in block context.
fn plain_allowed(text: &str) -> bool {
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if text.starts_with("---") || text.starts_with("...") {
        return false;
    }
    if text.starts_with(' ') || text.ends_with(' ') {
        return false;
    }
    let blank_after = |i: usize| bytes.get(i + 1).is_none_or(|&b| b == b' ');
    if b"#,[]{}&*!|>'\"%@`\\".contains(&first) || (matches!(first, b'?' | b'-') && blank_after(0)) {
        return false;
    }
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b':' => !blank_after(i),
        b'#' => i == 0 || bytes.get(i - 1) != Some(&b' '),
        _ => true,
    })
}

/// Whether a plain scalar `text` reads as something other than a string in YAML 1.1 as
/// go's YAML package resolves it: null, a boolean, an integer, a float or a timestamp.
fn resolves_to_other_type(text: &str) -> bool {
    const WORDS: [&str; 35] = [
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "-.inf",
    ];
    if WORDS.contains(&text) || matches!(text, "+.Inf" | "+.INF" | "-.Inf" | "-.INF") {
        return true;
    }
    match text.as_bytes().first() {
        Some(b'.') => float_literal(text),
        Some(b'0'..=b'9' | b'+' | b'-') => {
            let plain = text.replace('_', "");
            timestamp(text) || integer_literal(&plain) || float_literal(&plain)
        }
        _ => false,
    }
}

/// An integer as Go's `strconv.ParseInt(s, 0, 64)` (or `ParseUint`) reads it: an optional
/// sign, then decimal, `0x` hex, `0o`/leading-zero octal or `0b` binary digits.
fn integer_literal(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (radix, digits) = match digits.get(..2) {
        Some("0x" | "0X") => (16, digits.get(2..).unwrap_or_default()),
        Some("0o" | "0O") => (8, digits.get(2..).unwrap_or_default()),
        Some("0b" | "0B") => (2, digits.get(2..).unwrap_or_default()),
        _ if digits.len() > 1 && digits.starts_with('0') => (8, digits.get(1..).unwrap_or("")),
        _ => (10, digits),
    };
    !digits.is_empty() && u64::from_str_radix(digits, radix).is_ok()
}

/// YAML 1.1's float form, `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn float_literal(text: &str) -> bool {
    let rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (rest.get(..at).unwrap_or(""), rest.get(at + 1..)),
        None => (rest, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => digits(fraction),
        Some((whole, fraction)) => digits(whole) && (fraction.is_empty() || digits(fraction)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// YAML 1.1's sexagesimal float (`1:20`, `-3:25:45.5`), which go's YAML encoder quotes.
fn base60_float(text: &str) -> bool {
    let rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (body, fraction) = rest.split_once('.').unwrap_or((rest, ""));
    let mut parts = body.split(':');
    let head = parts.next().unwrap_or("");
    let head_ok = head.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && head.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    let mut sixties = 0;
    let sixties_ok = parts.all(|p| {
        sixties += 1;
        matches!(p.as_bytes(), [b'0'..=b'9'] | [b'0'..=b'5', b'0'..=b'9'])
    });
    head_ok
        && sixties > 0
        && sixties_ok
        && fraction.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

/// A date (`2001-12-14`) or date and time, which YAML reads as a timestamp.
fn timestamp(text: &str) -> bool {
    let (date, time) = match text.find(['T', 't', ' ']) {
        Some(at) => (text.get(..at).unwrap_or(""), text.get(at + 1..)),
        None => (text, None),
    };
    let mut fields = date.split('-');
    let number = |f: Option<&str>, max: usize| {
        f.is_some_and(|f| (1..=max).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()))
    };
    let date_ok = fields
        .next()
        .is_some_and(|y| y.len() == 4 && number(Some(y), 4))
        && number(fields.next(), 2)
        && number(fields.next(), 2)
        && fields.next().is_none();
    date_ok
        && time.is_none_or(|t| {
            let mut hms = t.split(':');
            number(hms.next(), 2) && number(hms.next(), 2) && hms.next().is_some()
        })
}

/// One line of the file that holds something.
struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

/// The nodes in go-dqlite YAML `text`.
fn parse(text: &str) -> Result<Vec<NodeInfo>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let content = raw.trim_start_matches(' ');
        if content.starts_with('\t') {
            return Err(format!("line {number}: a tab in the indentation"));
        }
        let content = content.trim_end();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let marker = |m: &str| raw == m || raw.strip_prefix(m).is_some_and(|r| r.starts_with(' '));
        if lines.is_empty() && marker("---") {
            let rest = raw.get(3..).unwrap_or("").trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                lines.push(Line {
                    number,
                    indent: 4,
                    text: rest,
                });
            }
            continue;
        }
        if marker("...") || marker("---") {
            break; // the end of the first document: go-dqlite reads no further
        }
        lines.push(Line {
            number,
            indent: raw.len() - raw.trim_start_matches(' ').len(),
            text: content,
        });
    }
    let Some(first) = lines.first() else {
        return Ok(Vec::new());
    };
    if !is_entry_start(first.text) {
        return match (lines.len(), strip_comment(first.text)) {
            (1, "[]" | "~" | "null" | "Null" | "NULL") => Ok(Vec::new()),
            _ => Err(format!(
                "line {}: expected a list of nodes (\"- ID: ...\" entries)",
                first.number
            )),
        };
    }
    parse_entries(&lines, first.indent)
}

/// Whether a line opens a sequence entry (`-` then a space or nothing).
fn is_entry_start(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// The block sequence at `indent`: one node per entry.
fn parse_entries(lines: &[Line<'_>], indent: usize) -> Result<Vec<NodeInfo>, String> {
    let mut nodes = Vec::new();
    let mut rest = lines;
    while let Some((line, after)) = rest.split_first() {
        if line.indent != indent || !is_entry_start(line.text) {
            return Err(format!(
                "line {}: expected \"- \" at column {} to start the next node",
                line.number,
                indent + 1
            ));
        }
        let mut entry = Entry::default();
        let inline = line.text.get(1..).unwrap_or("");
        let inline_text = inline.trim_start();
        let mut key_indent = None;
        if !inline_text.is_empty() {
            key_indent = Some(indent + 1 + inline.len() - inline_text.len());
            entry.add(inline_text, line.number)?;
        }
        rest = after;
        while let Some((key_line, after)) = rest.split_first() {
            if key_line.indent <= indent {
                break;
            }
            if *key_indent.get_or_insert(key_line.indent) != key_line.indent {
                return Err(format!(
                    "line {}: the keys of one node must be indented alike",
                    key_line.number
                ));
            }
            entry.add(key_line.text, key_line.number)?;
            rest = after;
        }
        nodes.push(entry.finish(line.number)?);
    }
    Ok(nodes)
}

/// The fields of one entry as they are read.
#[derive(Default)]
struct Entry {
    id: Option<u64>,
    address: Option<String>,
    role: Option<Option<Role>>,
    keys: usize,
}

impl Entry {
    /// Reads one `Key: value` line.
    fn add(&mut self, text: &str, line: usize) -> Result<(), String> {
        let (key, rest) = read_scalar(text, true).map_err(|e| format!("line {line}: {e}"))?;
        let value = rest
            .strip_prefix(':')
            .filter(|v| v.is_empty() || v.starts_with(' '))
            .ok_or_else(|| format!("line {line}: expected \"Key: value\""))?;
        let (value, tail) =
            read_scalar(value.trim_start(), false).map_err(|e| format!("line {line}: {e}"))?;
        if !strip_comment(tail).is_empty() {
            return Err(format!("line {line}: unexpected text after the value"));
        }
        self.keys += 1;
        let name = key.text.to_ascii_lowercase();
        let duplicate = match name.as_str() {
            "id" => self.id.replace(parse_id(&value, line)?).is_some(),
            "address" => {
                let address = (!value.is_null() && !value.text.is_empty())
                    .then(|| value.text.clone())
                    .ok_or_else(|| format!("line {line}: empty Address"))?;
                self.address.replace(address).is_some()
            }
            "role" => self.role.replace(parse_role(&value, line)?).is_some(),
            _ => false, // go-dqlite ignores keys it does not know
        };
        if duplicate {
            return Err(format!("line {line}: {} given twice", key.text));
        }
        Ok(())
    }

    fn finish(self, line: usize) -> Result<NodeInfo, String> {
        if self.keys == 0 {
            return Err(format!("line {line}: a node entry with no fields"));
        }
        let address = self
            .address
            .ok_or_else(|| format!("line {line}: the node has no Address"))?;
        Ok(NodeInfo {
            id: self.id.unwrap_or(0),
            address,
            role: self.role.flatten(),
        })
    }
}

fn parse_id(value: &Scalar, line: usize) -> Result<u64, String> {
    if value.is_null() {
        return Ok(0);
    }
    let text = value.text.trim();
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|_| format!("line {line}: ID {text:?} is not a number 0 to 2^64-1"))
}

fn parse_role(value: &Scalar, line: usize) -> Result<Option<Role>, String> {
    if value.is_null() {
        return Ok(None);
    }
    let text = value
        .text
        .trim()
        .to_ascii_lowercase()
        .replace(['-', '_'], "");
    match text.as_str() {
        "0" | "voter" => Ok(Some(Role::Voter)),
        "1" | "standby" => Ok(Some(Role::Standby)),
        "2" | "spare" => Ok(Some(Role::Spare)),
        _ => Err(format!(
            "line {line}: Role {:?} is not 0 (voter), 1 (standby) or 2 (spare)",
            value.text
        )),
    }
}

/// A scalar as read: its text, and whether it was written plain (unquoted).
struct Scalar {
    text: String,
    plain: bool,
}

impl Scalar {
    /// A quoted scalar: its text as written, never null.
    fn quoted(text: String) -> Scalar {
        Scalar { text, plain: false }
    }

    /// YAML's null: an empty or `~`/`null` plain scalar.
    fn is_null(&self) -> bool {
        self.plain && matches!(self.text.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }
}

/// `text` without a trailing ` # comment`.
fn strip_comment(text: &str) -> &str {
    let cut = text
        .match_indices(" #")
        .next()
        .map_or(text.len(), |(at, _)| at);
    let text = text.get(..cut).unwrap_or(text);
    if text.starts_with('#') {
        ""
    } else {
        text.trim_end()
    }
}

/// Reads one scalar at the start of `text`; returns it and what follows. A key ends at
/// `: ` (or a final `:`); a value runs to the end of the line or a comment.
fn read_scalar(text: &str, key: bool) -> Result<(Scalar, &str), String> {
    match text.as_bytes().first() {
        Some(b'\'') => read_single_quoted(text),
        Some(b'"') => read_double_quoted(text),
        Some(b'&' | b'*' | b'!' | b'|' | b'>' | b'{' | b'[' | b'%' | b'@' | b'`') => Err(format!(
            "{text:?}: anchors, aliases, tags, block scalars and flow collections are not \
                 part of go-dqlite's node store format"
        )),
        _ if key => {
            let end = text
                .match_indices(':')
                .find(|&(at, _)| matches!(text.as_bytes().get(at + 1), None | Some(b' ')))
                .map_or(text.len(), |(at, _)| at);
            let (key, rest) = text.split_at(end);
            Ok((
                Scalar {
                    text: key.trim_end().to_owned(),
                    plain: true,
                },
                rest,
            ))
        }
        _ => {
            let value = strip_comment(text);
            if value.contains(": ") || value.ends_with(':') {
                return Err(format!(
                    "{value:?}: a value cannot hold \": \" unless quoted"
                ));
            }
            Ok((
                Scalar {
                    text: value.to_owned(),
                    plain: true,
                },
                "",
            ))
        }
    }
}

fn read_single_quoted(text: &str) -> Result<(Scalar, &str), String> {
    let mut out = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((at, c)) = chars.next() {
        if c == '\'' {
            if text.get(at + 1..).is_some_and(|r| r.starts_with('\'')) {
                out.push('\'');
                chars.next();
                continue;
            }
            let rest = text.get(at + 1..).unwrap_or("");
            return Ok((Scalar::quoted(out), rest));
        }
        out.push(c);
    }
    Err("a single-quoted scalar is not closed on its line".into())
}

fn read_double_quoted(text: &str) -> Result<(Scalar, &str), String> {
    let mut out = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                let rest = text.get(at + 1..).unwrap_or("");
                return Ok((Scalar::quoted(out), rest));
            }
            '\\' => {
                let (_, escape) = chars.next().ok_or("a lone \\ at the end of the line")?;
                let simple = match escape {
                    '0' => Some('\0'),
                    'a' => Some('\u{7}'),
                    'b' => Some('\u{8}'),
                    't' | '\t' => Some('\t'),
                    'n' => Some('\n'),
                    'v' => Some('\u{b}'),
                    'f' => Some('\u{c}'),
                    'r' => Some('\r'),
                    'e' => Some('\u{1b}'),
                    ' ' => Some(' '),
                    '"' => Some('"'),
                    '/' => Some('/'),
                    '\\' => Some('\\'),
                    'N' => Some('\u{85}'),
                    '_' => Some('\u{a0}'),
                    'L' => Some('\u{2028}'),
                    'P' => Some('\u{2029}'),
                    _ => None,
                };
                if let Some(c) = simple {
                    out.push(c);
                    continue;
                }
                let width = match escape {
                    'x' => 2,
                    'u' => 4,
                    'U' => 8,
                    other => return Err(format!("unknown escape \\{other}")),
                };
                let hex: String = chars.by_ref().take(width).map(|(_, c)| c).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == width)
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("bad escape \\{escape}{hex}"))?;
                out.push(code);
            }
            c => out.push(c),
        }
    }
    Err("a double-quoted scalar is not closed on its line".into())
}

#[cfg(test)]
mod tests;
