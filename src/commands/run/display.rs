//! Where `run`'s events go. `--json`: one JSON object per line on stdout. On a terminal: a
//! live display with one line per running agent (id, attempt, elapsed time, the last line of
//! its log) and each event printed above it. Otherwise: one line per event on stderr (nothing
//! with `-q`). The summary at the end is [`Sink::summary`].

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::events::{Event, Summary};
use crate::workflow::context::Output;

/// One running agent's line on the live display.
struct Line {
    bar: ProgressBar,
    attempt: u32,
    began: Instant,
    log: Utf8PathBuf,
}

/// The live display of a terminal.
struct Live {
    multi: MultiProgress,
    lines: BTreeMap<String, Line>,
    /// The summary line, above the agents' lines.
    head: ProgressBar,
}

/// The destination of events.
pub struct Sink {
    json: bool,
    quiet: bool,
    live: Option<Live>,
    /// The counts of the summary line (set with [`Sink::plan`]).
    tally: Option<super::tally::Tally>,
}

impl Sink {
    pub fn new(out: &Output) -> Sink {
        let live = (!out.json && !out.quiet && std::io::stderr().is_terminal()).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let head = multi.add(ProgressBar::new_spinner());
            head.set_style(
                ProgressStyle::with_template("{wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            Live {
                multi,
                lines: BTreeMap::new(),
                head,
            }
        });
        Sink {
            json: out.json,
            quiet: out.quiet,
            live,
            tally: None,
        }
    }

    /// The graph run began with, its selection and `-j`: for the summary line.
    pub fn plan(&mut self, tally: super::tally::Tally) {
        self.tally = Some(tally);
    }

    /// Reports `e`.
    pub fn event(&mut self, e: &Event) {
        if let Some(t) = &mut self.tally {
            t.on(e);
        }
        if self.json {
            let doc = crate::workflow::report::envelope("run", e);
            crate::output::print_str(&format!("{doc}\n"));
            return;
        }
        let Some(live) = &mut self.live else {
            if !self.quiet {
                crate::output::eprint(format_args!("{}\n", e.line()));
            }
            return;
        };
        let _ = live.multi.println(e.line());
        match e {
            Event::Started {
                id, attempt, log, ..
            } => live.add(id, *attempt, log),
            Event::Finished { id, .. } | Event::AttemptFailed { id, .. } => live.remove(id),
            _ => {}
        }
    }

    /// Redraws the running agents' lines (elapsed time, last log line).
    pub fn tick(&mut self) {
        if let Some(live) = &mut self.live {
            if let Some(t) = &self.tally {
                live.head.set_message(t.line());
            }
            for (id, l) in &live.lines {
                let secs = l.began.elapsed().as_secs();
                let last = last_line(&l.log);
                l.bar.set_message(format!(
                    "{id}  attempt {}  {}:{:02}  {last}",
                    l.attempt,
                    secs / 60,
                    secs % 60
                ));
            }
        }
    }

    /// Ends the live display and prints the summary (`--json`: its object; text: on stdout
    /// unless `-q`).
    pub fn summary(&mut self, s: &Summary) {
        if let Some(live) = self.live.take() {
            for (_, l) in live.lines {
                l.bar.finish_and_clear();
            }
            live.head.finish_and_clear();
            let _ = live.multi.clear();
        }
        if self.json {
            let mut doc = crate::workflow::report::envelope("run", s);
            if let Some(o) = doc.as_object_mut() {
                o.insert("event".into(), "summary".into());
            }
            crate::output::print_str(&format!("{doc}\n"));
        } else if !self.quiet {
            crate::output::print_str(&super::summary_text(s));
        }
    }
}

impl Live {
    fn add(&mut self, id: &str, attempt: u32, log: &str) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar.set_message(format!("{id}  attempt {attempt}"));
        self.lines.insert(
            id.to_string(),
            Line {
                bar,
                attempt,
                began: Instant::now(),
                log: log.into(),
            },
        );
    }

    fn remove(&mut self, id: &str) {
        if let Some(l) = self.lines.remove(id) {
            l.bar.finish_and_clear();
            self.multi.remove(&l.bar);
        }
    }
}

/// The last non-empty line of the log at `path` (read from its last 4 KiB), shortened.
fn last_line(path: &Utf8Path) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(4096)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    crate::taskgraph::display::truncate(crate::taskgraph::display::safe(line), 60).into_owned()
}
