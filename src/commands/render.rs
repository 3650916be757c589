//! Rendering shared by the commands: writing to stdout in one go, JSON text, plurals and the
//! one rendering of a `--dry-run` plan.

use serde_json::Value;

/// `writeln!` into a String (writing to a String cannot fail).
macro_rules! outln {
    ($o:ident, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o, $($arg)*);
    }};
}
pub(crate) use outln;
/// Writes to stdout in one go; a write error makes the command exit 128 (crate::output).
pub(crate) fn write_stdout(s: &str) {
    crate::output::print_str(s);
}
/// A JSON document as printed: pretty, with a final newline.
pub(crate) fn json_text(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
