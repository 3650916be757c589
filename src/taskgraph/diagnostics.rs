//! The errors of loading a task file (too large, not UTF-8, not YAML, not a task graph) as
//! typed diagnostics: each type carries its code, help and labels in its
//! `#[derive(Diagnostic)]` attributes and the file as `#[source_code]`. `located` turns one
//! into a `Report`, applying the rule for lines too long to show as a snippet.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, Report, SourceCode, SourceSpan};

use super::source::Source;

/// `Display` (the message) and `Error` for diagnostic types holding a `message`.
macro_rules! message_display {
    ($($t:ty),* $(,)?) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.message)
            }
        }
        impl std::error::Error for $t {}
    )*};
}

/// A diagnostic type with a message, the file and one primary label: its doc comment, name,
/// code, help and label text.
macro_rules! one_label {
    ($(#[doc = $doc:literal])* $name:ident, $code:tt, $help:tt, $label:tt) => {
        $(#[doc = $doc])*
        #[derive(Debug, Diagnostic)]
        #[diagnostic(code($code), severity(Error), help($help))]
        pub(crate) struct $name {
            pub message: String,
            #[source_code]
            pub src: Source,
            #[label(primary, $label)]
            pub at: SourceSpan,
        }
    };
}

/// The file is larger than the loader accepts (checked before parsing; no snippet).
#[derive(Debug, Diagnostic)]
#[diagnostic(
    code("taskgraph::too-large"),
    help("split the graph or remove bulky text (descriptions belong in linked documents)")
)]
pub(crate) struct TooLarge {
    pub message: String,
}

one_label!(
    /// A byte that is not UTF-8.
    NotUtf8,
    "taskgraph::not-utf8",
    "save the file as UTF-8",
    "not UTF-8"
);

one_label!(
    /// An empty file (or one holding only comments).
    Empty,
    "taskgraph::empty",
    "a task graph has top-level `metadata:` and `tasks:` keys",
    "empty"
);

one_label!(
    /// A YAML syntax error found by the parser.
    Syntax,
    "taskgraph::syntax",
    "fix the YAML syntax at the marked position",
    "here"
);

/// YAML that parses but cannot be read as a value (a duplicate key, a bad alias), with the
/// earlier place involved when there is one.
#[derive(Debug, Diagnostic)]
#[diagnostic(
    code("taskgraph::syntax"),
    severity(Error),
    help("fix the YAML at the marked position")
)]
pub(crate) struct BadValue {
    pub message: String,
    #[source_code]
    pub src: Source,
    #[label(primary, "here")]
    pub at: SourceSpan,
    #[label("first here")]
    pub first: Option<SourceSpan>,
}

one_label!(
    /// The document is not a mapping.
    NotAMapping,
    "taskgraph::not-a-mapping",
    "a task graph has top-level `metadata:` and `tasks:` keys",
    "expected `metadata:` and `tasks:` keys here"
);

/// The task-graph schema was given instead of a task graph.
#[derive(Debug, Diagnostic)]
#[diagnostic(
    code("taskgraph::schema-file"),
    severity(Error),
    help(
        "pass a task graph file (e.g. `*.task-graph.yml` with top-level `metadata:` and `tasks:`)"
    )
)]
pub(crate) struct SchemaFile {
    pub message: String,
    #[source_code]
    pub src: Source,
    #[label(primary, "schema definition")]
    pub at: SourceSpan,
}

one_label!(
    /// A mapping without a top-level `tasks` key.
    MissingTasks,
    "taskgraph::missing-tasks",
    "add a top-level `tasks:` list of task mappings",
    "no `tasks:` key in this mapping"
);

one_label!(
    /// `tasks` is not a list.
    TasksNotAList,
    "taskgraph::tasks-not-a-list",
    "write `tasks:` followed by `- id: ...` entries",
    "not a list"
);

one_label!(
    /// The tasks cannot be located in the source (aliases in `tasks`).
    Unsupported,
    "taskgraph::unsupported",
    "write the task list out without YAML aliases",
    "here"
);

one_label!(
    /// A task that is not a mapping.
    TaskNotAMapping,
    "taskgraph::task-not-a-mapping",
    "write each task as `- id: ...` followed by its keys",
    "not a mapping"
);

message_display!(
    TooLarge,
    NotUtf8,
    Empty,
    Syntax,
    BadValue,
    NotAMapping,
    SchemaFile,
    MissingTasks,
    TasksNotAList,
    Unsupported,
    TaskNotAMapping,
);

/// A byte range as a span.
pub(crate) fn span((start, end): (usize, usize)) -> SourceSpan {
    (start, end.saturating_sub(start)).into()
}

/// The report of a typed diagnostic on `src`. When a labelled line is longer than
/// `SNIPPET_LINE_MAX` the snippet is left out and the message starts with `file:line:col` of
/// the first label instead (as `super::report` does for findings).
pub(crate) fn located<D: Diagnostic + Send + Sync + 'static>(d: D, src: &Source) -> Report {
    let first = d.labels().and_then(|mut l| l.next());
    let too_long = d.labels().is_some_and(|mut labels| {
        labels.any(|l| super::line_len(src.text(), l.offset()) > super::SNIPPET_LINE_MAX)
    });
    match first {
        Some(first) if too_long => {
            let (line, col) = src.line_col(first.offset());
            let name = src.name();
            let message = d.to_string();
            let rest = message
                .strip_prefix(name)
                .and_then(|m| m.strip_prefix(": "))
                .unwrap_or(&message);
            let message = format!("{name}:{line}:{col}: {rest}");
            Report::new(Unsnippeted {
                message,
                inner: Box::new(d),
            })
        }
        _ => Report::new(d),
    }
}

/// A diagnostic shown without its labels (so without a snippet) under another message.
struct Unsnippeted {
    message: String,
    inner: Box<dyn Diagnostic + Send + Sync>,
}

impl fmt::Debug for Unsnippeted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

message_display!(Unsnippeted);

impl Diagnostic for Unsnippeted {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.code()
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.inner.severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.help()
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.inner.source_code()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan};

    use super::*;

    const SNIPPET_LINE_MAX_FOR_TEST: usize = crate::taskgraph::SNIPPET_LINE_MAX;

    fn render(r: &Report) -> String {
        let mut out = String::new();
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .render_report(&mut out, r.as_ref())
            .unwrap();
        out
    }

    /// A typed diagnostic renders exactly like the same report built by hand, with a snippet
    /// and, on a line too long for one, with `file:line:col` instead.
    #[test]
    fn typed_renders_like_the_generic_report() {
        for text in ["a: [b\n", &format!("a: {}[\n", "x".repeat(500))] {
            let src = Source::new("f.yml", Arc::from(text));
            let at = text.len() - 2;
            let typed = located(
                BadValue {
                    message: "f.yml: invalid YAML: bad".into(),
                    src: src.clone(),
                    at: span((at, at)),
                    first: Some(span((0, 0))),
                },
                &src,
            );
            let generic = crate::taskgraph::report(
                src.clone(),
                "taskgraph::syntax",
                miette::Severity::Error,
                "f.yml: invalid YAML: bad",
                vec![
                    LabeledSpan::new_primary_with_span(Some("here".into()), at..at),
                    LabeledSpan::new_with_span(Some("first here".into()), 0..0),
                ],
                Some("fix the YAML at the marked position".into()),
            );
            assert_eq!(render(&typed), render(&generic));
            assert_eq!(typed.to_string(), generic.to_string());
            if text.len() > SNIPPET_LINE_MAX_FOR_TEST {
                assert!(typed.to_string().starts_with("f.yml:1:"), "{typed}");
            }
        }
    }
}
