//! Removing whole `key: value` lines from tasks (`TaskFile::remove_task_keys`), verified by
//! re-reading like the scalar edits.

use miette::{miette, Report};
use saphyr_parser::ScalarStyle;
use serde_yaml::Value;

use super::{bad_offset, target_node, EditTarget};
use crate::taskgraph::TaskFile;

impl TaskFile {
    /// The source with the given `(task id, key)` entries removed, each as its whole line
    /// (`key: value` on one line of a block mapping, a trailing comment with it); entries the
    /// task does not have are skipped. Verified by re-reading like [`TaskFile::apply_edits`].
    pub fn remove_task_keys(&self, entries: &[(&str, &str)]) -> Result<String, Report> {
        let src = self.source.as_str();
        let mut expected: Value = serde_yaml::from_str(src.strip_prefix('\u{feff}').unwrap_or(src))
            .map_err(|err| miette!("{}: cannot verify edits: {err}", self.path))?;
        let mut cuts = Vec::new();
        for &(id, key) in entries {
            let map = target_node(self, &EditTarget::Task(id.to_string()))?;
            let Some((k, v)) = map.entry(key) else {
                continue;
            };
            let refuse = || {
                miette!(
                    "{}: task {id}: cannot remove the line of `{key}`",
                    self.path
                )
            };
            let one_line = v.scalar().is_some_and(|(_, style)| {
                !matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
            });
            if map.flow || v.decorated() || !one_line {
                return Err(refuse());
            }
            let before = src.get(..k.start.byte).ok_or_else(|| bad_offset(self))?;
            let line_start = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
            let from = k.end.max(v.end);
            let rest = src.get(from..).ok_or_else(|| bad_offset(self))?;
            let line_end = rest.find(['\n', '\r']).map_or(src.len(), |i| from + i);
            let tail = src.get(from..line_end).unwrap_or("").trim_start();
            if !before[line_start..].chars().all(|c| c == ' ' || c == '\t')
                || src
                    .get(k.start.byte..line_end)
                    .is_none_or(|l| l.contains(['\n', '\r']))
                || !(tail.is_empty() || tail.starts_with('#'))
            {
                return Err(refuse());
            }
            let nl = if src[line_end..].starts_with("\r\n") {
                2
            } else {
                usize::from(line_end < src.len())
            };
            cuts.push((line_start, line_end + nl));
            if let Some(m) = self
                .index_of(id)
                .and_then(|i| expected.get_mut("tasks").and_then(|t| t.get_mut(i)))
                .and_then(Value::as_mapping_mut)
            {
                m.remove(key);
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        let mut out = String::with_capacity(src.len());
        let mut at = 0;
        for (start, end) in cuts {
            out.push_str(src.get(at..start).ok_or_else(|| bad_offset(self))?);
            at = end;
        }
        out.push_str(src.get(at..).ok_or_else(|| bad_offset(self))?);
        let got: Value = serde_yaml::from_str(out.strip_prefix('\u{feff}').unwrap_or(&out))
            .map_err(|err| {
                miette!(
                    "{}: internal error: the edited file would not parse ({err})",
                    self.path
                )
            })?;
        if got != expected {
            return Err(miette!(
                "{}: internal error: removing keys would change more than them; nothing written",
                self.path
            ));
        }
        Ok(out)
    }
}
