//! Plain-text rendering of the help document model, wrapped at 80 columns.

use super::{Block, Section, Span, WIDTH};

pub(super) fn spans_text(spans: &[Span]) -> String {
    spans
        .iter()
        .map(|s| match s {
            Span::Plain(t) | Span::Bold(t) => t.clone(),
            Span::Ital(t) => format!("<{t}>"),
        })
        .collect()
}

/// Greedy word wrap of `text`, each line indented by `indent`, at most `WIDTH` columns where
/// words allow.
pub(super) fn wrap(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent + line.len() + 1 + word.len() > WIDTH {
            out.push_str(&format!("{pad}{line}\n"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{pad}{line}\n"));
    }
    out
}

pub(super) fn render_plain(sections: &[Section]) -> String {
    let mut out = String::new();
    for (i, s) in sections.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(s.title);
        out.push('\n');
        for (j, b) in s.blocks.iter().enumerate() {
            let spaced = j > 0 && !matches!(b, Block::Item(..));
            if spaced {
                out.push('\n');
            }
            out.push_str(&plain_block(b));
        }
    }
    out
}

pub(super) fn plain_block(b: &Block) -> String {
    match b {
        Block::Para(spans) => wrap(&spans_text(spans), 4),
        Block::Item(tag, body) => {
            format!("    {}\n{}", spans_text(tag), wrap(&spans_text(body), 8))
        }
        Block::Lines(lines) => lines
            .iter()
            .map(|l| format!("    {}\n", spans_text(l)))
            .collect(),
        Block::Sub(title) => format!("  {title}\n"),
    }
}
