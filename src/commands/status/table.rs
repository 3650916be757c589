//! The task table of `status`: cells with their colour, the columns and which go first when
//! the table is wider than the terminal, and fitting text to the terminal's width.

use crate::taskgraph::Status;
use crate::workflow::context::Output;

use crate::workflow::render::outln;

/// The ANSI colour of a status (empty: none).
pub(crate) fn status_color(s: Status) -> &'static str {
    match s {
        Status::Completed => "32",
        Status::InProgress => "33",
        Status::Failed => "31",
        Status::Ready => "36",
        Status::Blocked | Status::Skipped => "90",
        Status::Pending => "",
    }
}

/// One cell of the task table: its plain text and its ANSI colour (empty: none).
#[derive(Clone, Default)]
pub(crate) struct Cell {
    pub(crate) text: String,
    pub(crate) color: &'static str,
}

impl Cell {
    pub(crate) fn new(text: impl Into<String>, color: &'static str) -> Cell {
        Cell {
            text: text.into(),
            color,
        }
    }
}

/// The table's columns, in display order.
pub(crate) const C_ID: usize = 0;
pub(crate) const C_AGENT: usize = 1;
pub(crate) const C_STATUS: usize = 2;
pub(crate) const C_BRANCH: usize = 3;
pub(crate) const C_WHERE: usize = 4;
pub(crate) const C_CHANGES: usize = 5;
pub(crate) const C_AHEAD: usize = 6;
pub(crate) const N_COLS: usize = 7;
/// Which columns go first when the table is wider than the terminal.
const DROP_ORDER: [usize; 4] = [C_AHEAD, C_AGENT, C_BRANCH, C_CHANGES];

/// The terminal's width: the TTY's (ioctl TIOCGWINSZ on stdout), else `$COLUMNS`, else none
/// (piped output is never cut).
pub(crate) fn terminal_width() -> Option<usize> {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd as _;
        let fd = std::io::stdout().as_raw_fd();
        // SAFETY: isatty and ioctl(TIOCGWINSZ) only read the descriptor and fill `ws`.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        if unsafe { libc::isatty(fd) } == 1
            && unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0
            && ws.ws_col > 0
        {
            return Some(usize::from(ws.ws_col));
        }
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
}

/// `s` cut to `width` characters, ending in `…` when cut.
pub(crate) fn fit_end(s: &str, width: Option<usize>) -> String {
    match width {
        Some(w) if s.chars().count() > w => {
            let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
            t.push('…');
            t
        }
        _ => s.to_string(),
    }
}

/// `s` cut to `width` characters from the left, starting with `…` when cut (for paths: the
/// end names the task).
fn fit_start(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    let keep = width.saturating_sub(1);
    let mut t = String::from("…");
    t.extend(s.chars().skip(n - keep));
    t
}

/// The shortest way to write the absolute path `p` seen from `cwd`: relative (with `..`),
/// absolute, or under `~`.
pub(crate) fn short_path(
    p: &camino::Utf8Path,
    cwd: &camino::Utf8Path,
    home: Option<&str>,
) -> String {
    let mut best = p.to_string();
    let mut consider = |c: String| {
        if !c.is_empty() && c.chars().count() < best.chars().count() {
            best = c;
        }
    };
    if p.is_absolute() && cwd.is_absolute() {
        let pc: Vec<_> = p.components().collect();
        let cc: Vec<_> = cwd.components().collect();
        let common = pc.iter().zip(&cc).take_while(|(a, b)| a == b).count();
        let mut parts: Vec<&str> = vec![".."; cc.len() - common];
        parts.extend(pc[common..].iter().map(|c| c.as_str()));
        consider(if parts.is_empty() {
            ".".to_string()
        } else {
            parts.join("/")
        });
    }
    if let Some(home) = home.filter(|h| h.len() > 1 && h.starts_with('/')) {
        if let Ok(rest) = p.strip_prefix(home) {
            consider(if rest.as_str().is_empty() {
                "~".to_string()
            } else {
                format!("~/{rest}")
            });
        }
    }
    best
}

/// Lays the table out in `width` columns: drops whole columns (DROP_ORDER), then cuts the
/// worktree column from the left, then cuts any line still too long. Returns the text.
pub(crate) fn layout(out: &Output, table: &[[Cell; N_COLS]], width: Option<usize>) -> String {
    let mut widths = [0usize; N_COLS];
    for row in table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.text.chars().count());
        }
    }
    let mut shown: Vec<bool> = widths.iter().map(|&w| w > 0).collect();
    let total = |shown: &[bool], widths: &[usize; N_COLS]| -> usize {
        let cols: Vec<usize> = (0..N_COLS).filter(|&i| shown[i]).collect();
        2 + cols.iter().map(|&i| widths[i]).sum::<usize>() + 2 * cols.len().saturating_sub(1)
    };
    let mut where_cap = None;
    if let Some(limit) = width {
        for col in DROP_ORDER {
            if total(&shown, &widths) <= limit {
                break;
            }
            shown[col] = false;
        }
        let over = total(&shown, &widths).saturating_sub(limit);
        if over > 0 && shown[C_WHERE] {
            // Keep at least a few characters of the worktree column.
            let cap = widths[C_WHERE].saturating_sub(over).max(8);
            if cap < widths[C_WHERE] {
                widths[C_WHERE] = cap;
                where_cap = Some(cap);
            }
        }
    }
    let last = (0..N_COLS).rev().find(|&i| shown[i]).unwrap_or(0);
    let mut o = String::new();
    for row in table {
        let mut plain = String::from(" ");
        let mut painted = String::from(" ");
        for (i, cell) in row.iter().enumerate() {
            if !shown[i] {
                continue;
            }
            let text = match where_cap {
                Some(cap) if i == C_WHERE => fit_start(&cell.text, cap),
                _ => cell.text.clone(),
            };
            let pad = if i == last {
                String::new()
            } else {
                " ".repeat(widths[i].saturating_sub(text.chars().count()))
            };
            plain.push(' ');
            plain.push(' ');
            painted.push(' ');
            painted.push(' ');
            plain.push_str(&text);
            if cell.color.is_empty() || text.is_empty() {
                painted.push_str(&text);
            } else {
                painted.push_str(&out.paint(cell.color, &text));
            }
            plain.push_str(&pad);
            painted.push_str(&pad);
        }
        // `plain` starts with one space too many: the first cell is preceded by two spaces.
        let plain = plain[1..].trim_end().to_string();
        let painted = painted[1..].trim_end().to_string();
        match width {
            Some(w) if plain.chars().count() > w => outln!(o, "{}", fit_end(&plain, width)),
            _ => outln!(o, "{painted}"),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use camino::Utf8Path;

    #[test]
    fn short_path_picks_the_shortest_form() {
        let cwd = Utf8Path::new("/home/u/src/repo/sub");
        let p = Utf8Path::new("/home/u/src/worktrees/p/a-01");
        assert_eq!(short_path(p, cwd, None), "../../worktrees/p/a-01");
        // A tie goes to the relative path; from deeper down, ~ is shorter.
        assert_eq!(
            short_path(p, cwd, Some("/home/u")),
            "../../worktrees/p/a-01"
        );
        let deep = Utf8Path::new("/home/u/src/repo/a/b/c");
        assert_eq!(
            short_path(p, deep, Some("/home/u")),
            "~/src/worktrees/p/a-01"
        );
        assert_eq!(
            short_path(
                Utf8Path::new("/home/u/src/repo/sub/x"),
                cwd,
                Some("/home/u")
            ),
            "x"
        );
        assert_eq!(short_path(Utf8Path::new("/w"), cwd, None), "/w");
    }

    #[test]
    fn fitting_cuts_with_an_ellipsis() {
        assert_eq!(fit_end("abcdef", Some(4)), "abc…");
        assert_eq!(fit_end("abcdef", None), "abcdef");
        assert_eq!(fit_end("abc", Some(3)), "abc");
        assert_eq!(fit_start("abcdef", 4), "…def");
        assert_eq!(fit_start("ab", 0), "…");
    }
}
