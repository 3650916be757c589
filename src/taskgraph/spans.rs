//! Where each YAML node sits in the source: a light node tree built from `saphyr-parser` events,
//! with byte offsets (saphyr counts characters; we convert) and 1-based line/column.

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError};

/// Converts saphyr's character indices to byte offsets in O(1) per lookup.
pub(crate) struct CharIndex {
    /// `bytes[i]` = byte offset of char `i`; empty when the text is ASCII (identity).
    bytes: Vec<u32>,
    len: usize,
}

impl CharIndex {
    pub(crate) fn new(src: &str) -> CharIndex {
        if src.is_ascii() {
            return CharIndex {
                bytes: Vec::new(),
                len: src.len(),
            };
        }
        let mut bytes: Vec<u32> = src.char_indices().map(|(b, _)| b as u32).collect();
        bytes.push(src.len() as u32);
        CharIndex {
            bytes,
            len: src.len(),
        }
    }

    /// Byte offset of char index `i` (clamped to the end of the text).
    pub(crate) fn byte(&self, i: usize) -> usize {
        if self.bytes.is_empty() {
            i.min(self.len)
        } else {
            self.bytes.get(i).map_or(self.len, |&b| b as usize)
        }
    }
}

/// A position: byte offset plus 1-based line and column (column in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pos {
    pub byte: usize,
    pub line: usize,
    pub col: usize,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Scalar {
        value: String,
        style: ScalarStyle,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    /// `*name`: the anchor id it refers to.
    Alias(usize),
}

/// One node with its source extent. For block collections `end` is where the parser noticed
/// the end (possibly after trailing comments); use [`Node::content_end`] for the last byte of
/// real content.
#[derive(Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    pub start: Pos,
    pub end: usize,
    /// `[`/`{` collection.
    pub flow: bool,
    /// Anchor id (`&a`), 0 for none.
    pub anchor: usize,
    /// Tag as `handle` + `suffix` (`tag:yaml.org,2002:str`, `!foo`).
    pub tag: Option<String>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node@{}:{}", self.start.line, self.start.col)
    }
}

impl Node {
    /// Has an anchor or a tag, or is an alias: edits refuse to touch such nodes.
    pub(crate) fn decorated(&self) -> bool {
        self.anchor != 0 || self.tag.is_some() || matches!(self.kind, Kind::Alias(_))
    }

    pub(crate) fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub(crate) fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn scalar(&self) -> Option<(&str, ScalarStyle)> {
        match &self.kind {
            Kind::Scalar { value, style } => Some((value, *style)),
            _ => None,
        }
    }

    /// `key:` with no value written (an implicit null).
    pub(crate) fn is_empty_plain(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, style: ScalarStyle::Plain } if value.is_empty())
    }

    /// The key node and value node of `key` in a mapping (first match).
    pub(crate) fn entry(&self, key: &str) -> Option<&(Node, Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.scalar().is_some_and(|(s, _)| s == key))
    }

    /// The value node of `key` in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// Byte offset just after the last character of this node's own content.
    pub(crate) fn content_end(&self) -> usize {
        if self.flow {
            return self.end;
        }
        match &self.kind {
            Kind::Seq(items) => items.last().map_or(self.end, Node::content_end),
            Kind::Map(entries) => entries.last().map_or(self.end, |(k, v)| {
                if v.is_empty_plain() {
                    // `key:` with nothing after: the parser places the empty value at the
                    // next token, which may be lines further down.
                    k.content_end()
                } else {
                    v.content_end()
                }
            }),
            _ => self.end,
        }
    }

    /// A short span for labels: the whole node for scalars and flow collections, the first
    /// line for block collections.
    pub(crate) fn label_range(&self, src: &str) -> (usize, usize) {
        let start = self.start.byte.min(src.len());
        let mut end = match self.kind {
            Kind::Scalar { .. } | Kind::Alias(_) => self.end,
            _ if self.flow => self.end,
            _ => self.content_end(),
        }
        .clamp(start, src.len());
        if !matches!(self.kind, Kind::Scalar { .. }) || end - start > 200 {
            if let Some(nl) = src.get(start..end).and_then(|t| t.find('\n')) {
                end = start + nl;
            }
        }
        (start, end.max(start))
    }
}

/// A syntax error with its position.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

fn pos(ci: &CharIndex, m: &Marker) -> Pos {
    Pos {
        byte: ci.byte(m.index()),
        line: m.line(),
        col: m.col() + 1,
    }
}

fn scan_err(ci: &CharIndex, e: &ScanError) -> SyntaxError {
    SyntaxError {
        pos: pos(ci, e.marker()),
        message: e.info().to_string(),
    }
}

enum Open {
    Seq(Node, Vec<Node>),
    Map(Node, Vec<(Node, Node)>, Option<Node>),
}

/// Deeper nesting is refused (serde_yaml's limit too); keeps every recursion over the tree
/// shallow.
const MAX_DEPTH: usize = 128;

fn tag_string(tag: Option<std::borrow::Cow<'_, saphyr_parser::Tag>>) -> Option<String> {
    tag.map(|t| format!("{}{}", t.handle, t.suffix))
}

/// Parse the single document of `src` into a node tree. `Ok(None)` for an empty stream.
pub(crate) fn parse_tree(src: &str, ci: &CharIndex) -> Result<Option<Node>, SyntaxError> {
    let mut parser = Parser::new_from_str(src);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Node> = None;
    let mut docs = 0;
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(|e| scan_err(ci, &e))?;
        let start = pos(ci, &span.start);
        let end = ci.byte(span.end.index()).max(start.byte);
        let leaf = |kind, anchor, tag, end| Node {
            kind,
            start,
            end,
            flow: false,
            anchor,
            tag,
        };
        let done: Option<Node> = match ev {
            Event::DocumentStart(_) => {
                docs += 1;
                if docs > 1 {
                    return Err(SyntaxError {
                        pos: start,
                        message: "more than one YAML document (`---`) in the file".into(),
                    });
                }
                None
            }
            Event::DocumentEnd | Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
            Event::Alias(id) => Some(leaf(Kind::Alias(id), 0, None, end)),
            Event::Scalar(value, style, anchor, tag) => {
                let end = scalar_end(src, style, start.byte, end);
                Some(leaf(
                    Kind::Scalar {
                        value: value.into_owned(),
                        style,
                    },
                    anchor,
                    tag_string(tag),
                    end,
                ))
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag)
                if stack.len() >= MAX_DEPTH =>
            {
                let _ = (anchor, tag);
                return Err(SyntaxError {
                    pos: start,
                    message: format!("nesting deeper than {MAX_DEPTH} levels"),
                });
            }
            Event::SequenceStart(anchor, tag) => {
                let mut n = leaf(Kind::Seq(Vec::new()), anchor, tag_string(tag), end);
                n.flow = src.as_bytes().get(start.byte) == Some(&b'[');
                stack.push(Open::Seq(n, Vec::new()));
                None
            }
            Event::MappingStart(anchor, tag) => {
                let mut n = leaf(Kind::Map(Vec::new()), anchor, tag_string(tag), end);
                n.flow = src.as_bytes().get(start.byte) == Some(&b'{');
                stack.push(Open::Map(n, Vec::new(), None));
                None
            }
            Event::SequenceEnd => Some(close(stack.pop(), true, start, end)?),
            Event::MappingEnd => Some(close(stack.pop(), false, start, end)?),
        };
        let Some(node) = done else { continue };
        match stack.last_mut() {
            Some(open) => attach(src, open, node),
            None => root = Some(node),
        }
    }
    Ok(root)
}

/// The end of a scalar's text: saphyr's span of a quoted scalar runs on over trailing blanks
/// and comments; a block scalar's span covers its content and the following indentation.
fn scalar_end(src: &str, style: ScalarStyle, start: usize, end: usize) -> usize {
    match style {
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
            quoted_end(src, start).unwrap_or(end)
        }
        ScalarStyle::Literal | ScalarStyle::Folded => trim_end(src, start, end),
        ScalarStyle::Plain => end,
    }
}

/// The finished node of the collection just popped off the stack, which must be a sequence
/// (`seq`) or a mapping.
fn close(open: Option<Open>, seq: bool, start: Pos, end: usize) -> Result<Node, SyntaxError> {
    match open {
        Some(Open::Seq(mut n, items)) if seq => {
            n.kind = Kind::Seq(items);
            n.end = end.max(n.start.byte);
            Ok(n)
        }
        Some(Open::Map(mut n, entries, _)) if !seq => {
            n.kind = Kind::Map(entries);
            n.end = end.max(n.start.byte);
            Ok(n)
        }
        _ => Err(SyntaxError {
            pos: start,
            message: if seq {
                "unbalanced sequence"
            } else {
                "unbalanced mapping"
            }
            .into(),
        }),
    }
}

/// Add a finished node to the open collection: an item, a key, or the value of the pending key.
fn attach(src: &str, open: &mut Open, node: Node) {
    match open {
        Open::Seq(_, items) => items.push(node),
        Open::Map(_, entries, pending) => match pending.take() {
            Some(k) => {
                let mut node = node;
                if matches!(
                    node.kind,
                    Kind::Scalar {
                        style: ScalarStyle::Literal | ScalarStyle::Folded,
                        ..
                    }
                ) {
                    // Start block scalars at their `|`/`>` indicator, not at the content.
                    if let Some(p) = block_indicator(src, &k, node.start.byte) {
                        node.start = p;
                    }
                }
                entries.push((k, node))
            }
            None => *pending = Some(node),
        },
    }
}

/// The end of a quoted scalar starting at byte `start` (just after its closing quote).
fn quoted_end(src: &str, start: usize) -> Option<usize> {
    let b = src.as_bytes();
    let q = *b.get(start)?;
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if q == b'"' => i += 2,
            c if c == q => {
                if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                } else {
                    return Some(i + 1);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// `end` moved back over trailing whitespace, not before `start`.
pub(crate) fn trim_end(src: &str, start: usize, end: usize) -> usize {
    let b = src.as_bytes();
    let mut e = end.min(b.len());
    while e > start && matches!(b[e - 1], b' ' | b'\t' | b'\n' | b'\r') {
        e -= 1;
    }
    e
}

/// The `|`/`>` of a block scalar value: first non-blank after the `:` that follows the key.
fn block_indicator(src: &str, key: &Node, content: usize) -> Option<Pos> {
    let between = src.get(key.end..content)?;
    let colon = between.find(':')?;
    let rest = &between[colon + 1..];
    let off = rest.find(|c: char| c != ' ' && c != '\t')?;
    let at = key.end + colon + 1 + off;
    if !matches!(src.as_bytes().get(at), Some(b'|' | b'>')) {
        return None;
    }
    let line_start = src.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    Some(Pos {
        byte: at,
        line: key.start.line + src.get(key.end..at)?.matches('\n').count(),
        col: src.get(line_start..at)?.chars().count() + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(src: &str) -> Node {
        parse_tree(src, &CharIndex::new(src)).unwrap().unwrap()
    }

    fn text<'a>(src: &'a str, n: &Node) -> &'a str {
        &src[n.start.byte..n.end]
    }

    #[test]
    fn scalar_spans_include_quotes_and_use_bytes() {
        let src = "a: \"é✅\"\nb: 'x''y'\nc: plain\n";
        let t = tree(src);
        assert_eq!(text(src, t.get("a").unwrap()), "\"é✅\"");
        assert_eq!(text(src, t.get("b").unwrap()), "'x''y'");
        assert_eq!(text(src, t.get("c").unwrap()), "plain");
        let src2 = "a: \"x\\\"y\"  # c\nb: 'it''s' # d\nc: |  # e\n  text\n\n  more\n\nd: 1\n";
        let t2 = tree(src2);
        assert_eq!(text(src2, t2.get("a").unwrap()), "\"x\\\"y\"");
        assert_eq!(text(src2, t2.get("b").unwrap()), "'it''s'");
        let c = t2.get("c").unwrap();
        assert_eq!(text(src2, c), "|  # e\n  text\n\n  more");
        assert_eq!((c.start.line, c.start.col), (3, 4));
        let c = t.get("c").unwrap();
        assert_eq!((c.start.line, c.start.col), (3, 4));
    }

    #[test]
    fn block_content_end() {
        let src = "t:\n  - id: x\n    d: |\n      hello\n\n    # comment\n  - id: y\n";
        let t = tree(src);
        let first = &t.get("t").unwrap().as_seq().unwrap()[0];
        let end = first.content_end();
        assert!(
            src[..end].trim_end().ends_with("hello"),
            "{:?}",
            &src[..end]
        );
    }

    #[test]
    fn flow_collections_are_marked() {
        let src = "a: [x, \"y\"]\nb:\n- z\n";
        let t = tree(src);
        assert!(t.get("a").unwrap().flow);
        assert_eq!(text(src, t.get("a").unwrap()), "[x, \"y\"]");
        assert!(!t.get("b").unwrap().flow);
    }
}
