//! Rendering shared by the commands: `outln!` into a String, plurals, and generated documents
//! (man page, completion scripts, long help) printed through the sink (crate::workflow::report).

/// `writeln!` into a String (writing to a String cannot fail).
macro_rules! outln {
    ($o:ident, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o, $($arg)*);
    }};
}
pub(crate) use outln;
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A generated document (the man page, a completion script, the long help), printed as it is
/// through the sink: even with `-q`, and as text with `--json` too (it has no JSON form).
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct Document {
    /// The document's text.
    text: String,
}

impl std::fmt::Display for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The document is the answer asked for.
impl crate::workflow::report::Report for Document {
    fn essential(&self) -> bool {
        true
    }
}

/// Prints `text`, the document `command` produces (see [`Document`]).
pub(crate) fn print_document(command: &str, text: String) {
    let plain = crate::workflow::context::Output {
        json: false,
        quiet: false,
        color: false,
        color_err: false,
    };
    crate::workflow::report::emit(&plain, command, &Document { text });
}
