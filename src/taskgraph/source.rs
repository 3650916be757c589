//! The task file's text as the source code of diagnostics, with a line index: rendering a
//! snippet costs the lines shown, not a scan of the file from its start (miette's own `str`
//! source does that for every report, which made 20,000 findings in a 1 MB file take minutes).

use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// Named text plus the byte offset where each line starts (LF, CRLF and lone CR end lines).
#[derive(Clone, Debug)]
pub(crate) struct Source {
    name: Arc<str>,
    text: Arc<str>,
    lines: Arc<Vec<usize>>,
}

impl Source {
    pub(crate) fn new(name: &str, text: Arc<str>) -> Source {
        let b = text.as_bytes();
        let mut lines = vec![0];
        for (i, &c) in b.iter().enumerate() {
            let ends = c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n'));
            if ends {
                lines.push(i + 1);
            }
        }
        Source {
            name: Arc::from(name),
            text,
            lines: Arc::new(lines),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// 1-based line and column (in characters) of byte `offset` (clamped to the text and to a
    /// character boundary).
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut at = offset.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let line = self.line_of(at);
        let start = self.lines[line].min(at);
        let col = self.text.get(start..at).map_or(0, |t| t.chars().count());
        (line + 1, col + 1)
    }

    /// 0-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.lines
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }
}

impl SourceCode for Source {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let len = self.text.len();
        let off = span.offset().min(len);
        let end = (span.offset() + span.len()).min(len).max(off);
        // A window of whole lines around the span (one spare line each side), handed to
        // miette's own reader, whose answer is shifted back into file coordinates.
        let first = self.line_of(off).saturating_sub(context_lines_before + 1);
        let last = self.line_of(end) + context_lines_after + 1;
        let ws = self.lines[first];
        let we = self.lines.get(last + 1).copied().unwrap_or(len);
        let window: &'a str = self.text.get(ws..we).unwrap_or("");
        let inner = window.read_span(
            &SourceSpan::from((off - ws, end - off)),
            context_lines_before,
            context_lines_after,
        )?;
        let data: &'a [u8] = inner.data();
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            data,
            SourceSpan::from((inner.span().offset() + ws, inner.span().len())),
            inner.line() + first,
            inner.column(),
            inner.line_count() + first,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our windowed reader answers like miette's reader over the whole text.
    #[test]
    fn same_answers_as_miette_over_the_whole_text() {
        let texts = [
            "a: 1\nb: 2\nc: [x\nd: 4\n",
            "a: 1\r\nb: 2\r\nc: 3\r\n",
            "one\rtwo\rthree\r",
            "x",
            "",
            "é✅: 1\nkey: \"val\"\n\n\nlast",
        ];
        for t in texts {
            let src = Source::new("f.yml", Arc::from(t));
            for off in 0..=t.len() {
                if !t.is_char_boundary(off) {
                    continue;
                }
                for l in [0, 1, 3] {
                    if off + l > t.len() {
                        continue;
                    }
                    for ctx in [0, 1, 2] {
                        let span = SourceSpan::from((off, l));
                        let theirs = t.read_span(&span, ctx, ctx).unwrap();
                        let ours = src.read_span(&span, ctx, ctx).unwrap();
                        let key = |c: &dyn SpanContents| {
                            (
                                c.data().to_vec(),
                                c.span().offset(),
                                c.span().len(),
                                c.line(),
                                c.column(),
                            )
                        };
                        assert_eq!(
                            key(ours.as_ref()),
                            key(theirs.as_ref()),
                            "{t:?} at {off}+{l}, context {ctx}"
                        );
                        assert_eq!(ours.name(), Some("f.yml"));
                    }
                }
            }
        }
    }
}
