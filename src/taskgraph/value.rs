//! Node tree → `serde_yaml::Value`, resolving plain scalars the way serde_yaml 0.9 does
//! (YAML 1.2 core schema: `null`/`~`/empty, `true`/`false`, ints incl. `0x`/`0o`/`0b`, floats,
//! otherwise strings), expanding aliases and refusing duplicate keys. Parsing once with
//! saphyr instead of twice keeps loading fast.

use std::collections::HashMap;

use saphyr_parser::ScalarStyle;
use serde_yaml::value::{Tag, TaggedValue};
use serde_yaml::{Mapping, Number, Value};

use super::spans::{Kind, Node, Pos};

/// Aliases may not expand to more nodes than this in total (a "billion laughs" guard).
const MAX_EXPANSION: usize = 100_000;
/// Nor to more bytes of scalar text than this in total (one big anchored scalar referenced
/// many times costs memory in bytes, not nodes).
const MAX_EXPANSION_BYTES: usize = 4 << 20;

/// A document that parses as YAML but cannot be a value.
#[derive(Debug)]
pub(crate) struct ValueError {
    pub pos: Pos,
    pub message: String,
    /// Another place worth pointing at (the first of two duplicate keys).
    pub other: Option<Pos>,
}

/// A converted node: its value, node count and bytes of scalar text.
type Sized = (Value, usize, usize);

struct Conv {
    anchors: HashMap<usize, Sized>,
    expanded: usize,
    expanded_bytes: usize,
}

pub(crate) fn to_value(root: &Node) -> Result<Value, ValueError> {
    let mut c = Conv {
        anchors: HashMap::new(),
        expanded: 0,
        expanded_bytes: 0,
    };
    c.node(root).map(|(v, _, _)| v)
}

fn err(pos: Pos, message: String) -> ValueError {
    ValueError {
        pos,
        message,
        other: None,
    }
}

impl Conv {
    /// The value, its node count and its bytes of scalar text.
    fn node(&mut self, n: &Node) -> Result<Sized, ValueError> {
        let (v, size, bytes) = match &n.kind {
            Kind::Alias(id) => {
                let (size, bytes) = self
                    .anchors
                    .get(id)
                    .map(|(_, s, b)| (*s, *b))
                    .ok_or_else(|| err(n.start, "unknown alias".into()))?;
                // Check before cloning: the clone is what costs memory.
                self.expanded += size;
                self.expanded_bytes += bytes;
                if self.expanded > MAX_EXPANSION || self.expanded_bytes > MAX_EXPANSION_BYTES {
                    return Err(err(
                        n.start,
                        format!(
                            "aliases expand to too large a document (more than {} nodes or {} MB); \
                             write the values out or use fewer aliases",
                            MAX_EXPANSION,
                            MAX_EXPANSION_BYTES >> 20
                        ),
                    ));
                }
                let v = self.anchors.get(id).map(|(v, _, _)| v.clone());
                return Ok((v.unwrap_or(Value::Null), size, bytes));
            }
            Kind::Scalar { value, style } => (scalar(n, value, *style)?, 1, value.len()),
            Kind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                let (mut size, mut bytes) = (1, 0);
                for i in items {
                    let (v, s, b) = self.node(i)?;
                    size += s;
                    bytes += b;
                    out.push(v);
                }
                (tagged(n, Value::Sequence(out)), size, bytes)
            }
            Kind::Map(entries) => {
                let mut out = Mapping::with_capacity(entries.len());
                let (mut size, mut bytes) = (1, 0);
                for (i, (k, v)) in entries.iter().enumerate() {
                    let (kv, ks, kb) = self.node(k)?;
                    let (vv, vs, vb) = self.node(v)?;
                    size += ks + vs;
                    bytes += kb + vb;
                    if out.contains_key(&kv) {
                        let other = entries[..i]
                            .iter()
                            .find(|(k2, _)| k2.scalar().is_some() && k2.scalar() == k.scalar())
                            .map(|(k2, _)| k2.start);
                        let shown = match &kv {
                            Value::String(s) => s.clone(),
                            other => serde_yaml::to_string(other)
                                .unwrap_or_default()
                                .trim()
                                .to_string(),
                        };
                        return Err(ValueError {
                            pos: k.start,
                            message: format!("duplicate key `{shown}` in the same mapping"),
                            other,
                        });
                    }
                    out.insert(kv, vv);
                }
                (tagged(n, Value::Mapping(out)), size, bytes)
            }
        };
        if n.anchor != 0 {
            self.anchors.insert(n.anchor, (v.clone(), size, bytes));
        }
        Ok((v, size, bytes))
    }
}

const CORE: &str = "tag:yaml.org,2002:";

/// Wrap a collection in its tag unless the tag is a core one (`!!seq`, `!!map`).
fn tagged(n: &Node, v: Value) -> Value {
    match &n.tag {
        Some(t) if !t.starts_with(CORE) && t != "!" => Value::Tagged(Box::new(TaggedValue {
            tag: Tag::new(t.as_str()),
            value: v,
        })),
        _ => v,
    }
}

fn scalar(n: &Node, text: &str, style: ScalarStyle) -> Result<Value, ValueError> {
    let Some(tag) = n.tag.as_deref() else {
        return Ok(match style {
            ScalarStyle::Plain => resolve_plain(text),
            _ => Value::String(text.to_string()),
        });
    };
    let bad = |what: &str| err(n.start, format!("`{text}` is not a valid {what}"));
    Ok(match tag.strip_prefix(CORE) {
        Some("str") => Value::String(text.to_string()),
        Some("null") => match resolve_plain(text) {
            Value::Null => Value::Null,
            _ => return Err(bad("null")),
        },
        Some("bool") => match resolve_plain(text) {
            v @ Value::Bool(_) => v,
            _ => return Err(bad("boolean")),
        },
        Some("int") => match resolve_plain(text) {
            v @ Value::Number(_) if !text.contains(['.', 'e', 'E']) => v,
            _ => return Err(bad("integer")),
        },
        Some("float") => match resolve_plain(text) {
            Value::Number(x) => Value::Number(x.as_f64().map_or(x, Number::from)),
            _ => return Err(bad("float")),
        },
        Some(_) => resolve_plain(text),
        None if tag == "!" => Value::String(text.to_string()),
        None => Value::Tagged(Box::new(TaggedValue {
            tag: Tag::new(tag),
            value: match style {
                ScalarStyle::Plain => resolve_plain(text),
                _ => Value::String(text.to_string()),
            },
        })),
    })
}

/// serde_yaml 0.9's resolution of an untagged plain scalar.
pub(crate) fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(n) = parse_int(s, false).and_then(|i| u64::try_from(i).ok()) {
        return Value::Number(n.into());
    }
    if let Some(n) = parse_int(s, true).and_then(|i| i64::try_from(i).ok()) {
        return Value::Number(n.into());
    }
    if !digits_but_not_number(s) {
        if let Some(f) = parse_f64(s) {
            return Value::Number(f.into());
        }
    }
    Value::String(s.to_string())
}

/// Leading zero(s) followed by digits is a string in YAML 1.2.
fn digits_but_not_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    s.len() > 1 && s.starts_with('0') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

/// Unsigned (`negative = false`: optional `+`) or negative (`-` prefix) integers in decimal,
/// `0x`, `0o` or `0b`.
fn parse_int(s: &str, negative: bool) -> Option<i128> {
    let (sign, body) = if negative {
        (-1, s.strip_prefix('-')?)
    } else {
        (1, s.strip_prefix('+').unwrap_or(s))
    };
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = body.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(n) = i128::from_str_radix(rest, radix) {
                return Some(sign * n);
            }
        }
    }
    if body.starts_with(['+', '-']) || digits_but_not_number(s) {
        return None;
    }
    body.parse::<i128>().ok().map(|n| sign * n)
}

fn parse_f64(s: &str) -> Option<f64> {
    let unpositive = match s.strip_prefix('+') {
        Some(u) if u.starts_with(['+', '-']) => return None,
        Some(u) => u,
        None => s,
    };
    match unpositive {
        ".inf" | ".Inf" | ".INF" => return Some(f64::INFINITY),
        _ => {}
    }
    match s {
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    unpositive.parse::<f64>().ok().filter(|f| f.is_finite())
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::super::spans::{parse_tree, CharIndex};
    use super::*;

    fn ours(src: &str) -> Result<Value, ValueError> {
        let ci = CharIndex::new(src);
        to_value(&parse_tree(src, &ci).unwrap().unwrap())
    }

    #[test]
    fn matches_serde_yaml_on_fixtures() {
        for (p, s) in fixtures::graphs() {
            let theirs: Value = serde_yaml::from_str(&s).unwrap();
            assert!(ours(&s).unwrap() == theirs, "{p}");
        }
    }

    #[test]
    fn matches_serde_yaml_on_scalars() {
        let src = "a: [~, null, '', true, False, 'true', 1, +2, -3, 0x1F, -0o17, 0b11, 007, -007, 1.5, 1e3, \
                   .inf, -.INF, 1_000, 2026-01-01, 12:30, 18446744073709551615, \
                   -9223372036854775808, !!str 5, !!int '7', !custom x, \"q\", yes, no, .5, +.5, 0x, -x]\n\
                   b: &x {k: v}\nc: *x\n";
        let theirs: Value = serde_yaml::from_str(src).unwrap();
        let mine = ours(src).unwrap();
        assert_eq!(
            serde_yaml::to_string(&mine).unwrap(),
            serde_yaml::to_string(&theirs).unwrap()
        );
        // NaN is never equal to itself; compare its spelling.
        let n = ours("[.nan]").unwrap();
        assert_eq!(
            serde_yaml::to_string(&n).unwrap(),
            serde_yaml::to_string(&serde_yaml::from_str::<Value>("[.nan]").unwrap()).unwrap()
        );
    }

    #[test]
    fn duplicate_keys_and_alias_bombs() {
        let e = ours("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(
            (e.pos.line, e.pos.col, e.message.as_str()),
            (3, 1, "duplicate key `a` in the same mapping")
        );
        assert_eq!(e.other.map(|p| p.line), Some(1));
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n", p = i - 1));
        }
        assert!(ours(&bomb).unwrap_err().message.contains("too large"));
        // One big scalar referenced many times: bounded by bytes, not nodes.
        let big = format!(
            "a: &b \"{}\"\nc: [{}]\n",
            "x".repeat(1_000_000),
            vec!["*b"; 2000].join(",")
        );
        let e = ours(&big).unwrap_err();
        assert!(e.message.contains("too large"), "{}", e.message);
        assert_eq!(e.pos.line, 2);
        // A few aliases of a small anchor are fine.
        assert!(ours("a: &x {k: v}\nb: [*x, *x, *x]\n").is_ok());
    }
}
