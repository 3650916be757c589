//! The agent presets of `run --agent NAME`: one table entry per coding-agent CLI saying how to
//! run it without a person in a task worktree (program, arguments, the environment it needs),
//! how to resume its session on a retry, how to read what an attempt cost from its output, and
//! the hand-off line `start` prints. `--agent` with any other value is a shell command.
//!
//! Each entry was checked against the CLI's documentation (found with the search tool) at the
//! version named in `checked`:
//!
//! | preset   | checked against            | permission given                                       |
//! |----------|----------------------------|--------------------------------------------------------|
//! | claude   | Claude Code 2.0 (headless) | `--permission-mode acceptEdits` + `git add`/`git commit` |
//! | codex    | Codex CLI 0.46 (`exec`)    | `--sandbox workspace-write` + the git dir writable     |
//! | gemini   | Gemini CLI 0.9 (headless)  | `--approval-mode auto_edit` + `git add`/`git commit`     |
//! | aider    | aider 0.86                 | `--yes-always` (aider commits its own edits); its history files beside the log |
//! | opencode | opencode 1.0 (`run`)       | edits allowed, `git add`/`git commit` allowed, other shell commands refused |
//!
//! None of them gets a flag that turns sandboxing or permission checks off
//! (`--dangerously-skip-permissions`, `--yolo`, `danger-full-access`).

use serde_json::Value;

/// How an attempt's standard output is read for its session, tokens and cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// One JSON object: `session_id`, `total_cost_usd`, `usage.{input,output}_tokens` (claude).
    ClaudeJson,
    /// JSON lines: `thread.started` `thread_id`, `turn.completed` `usage` (codex).
    CodexJsonl,
    /// One JSON object: `session_id`, `stats.models.*.tokens.{prompt,candidates}` (gemini).
    GeminiJson,
    /// JSON lines with `sessionID`; `step_finish` parts carry `cost` and `tokens` (opencode).
    OpencodeJsonl,
    /// Text; `Tokens: 1.2k sent, 310 received. Cost: $0.01 message, …` lines (aider).
    AiderText,
}

/// One coding-agent CLI.
#[derive(Debug)]
pub struct Preset {
    /// The name given to `--agent` / `parallel.agent`.
    pub name: &'static str,
    /// The program, looked up on PATH.
    pub program: &'static str,
    /// A first attempt's arguments: `{prompt}` is the prompt, `{gitdir}` the repository's common
    /// git directory, `{history}` a file of the task's beside its log (for a CLI that keeps its
    /// conversation in a file: not in the worktree); every other word is given as it is (no
    /// shell ever sees them).
    pub args: &'static [&'static str],
    /// A retry's arguments resuming the session (`{session}`), the failure as `{prompt}`;
    /// empty: the CLI cannot resume one session by id, the retry starts afresh.
    pub resume: &'static [&'static str],
    /// Variables set for the agent.
    pub env: &'static [(&'static str, &'static str)],
    pub output: Output,
    /// The default prompt (`parallel.prompt` overrides): `{id}`, `{name}`, `{brief}` (the
    /// brief's text), `{brief_file}`, `{branch}`, `{worktree}`, `{product}`.
    pub prompt: &'static str,
    /// The hand-off line `start` prints (`{worktree}`, `{id}`, … shell-quoted), `{handoff}`
    /// being the text of `handoff` as one word.
    pub launch: &'static str,
    /// What to say to the agent in a new interactive session (`{id}` replaced).
    pub handoff: &'static str,
    /// The CLI version the entry was checked against.
    pub checked: &'static str,
    /// Where the CLI keeps its sessions and settings, relative to $HOME: writable in the
    /// sandbox when they exist (besides `{history}` files, which are always).
    pub state: &'static [&'static str],
}

/// The prompt of the protocol: the orchestrator command, then the brief.
const PROTOCOL_PROMPT: &str = "/orchestrator Execute task {id}\n\n{brief}";
/// The prompt of the agents without the protocol's commands.
const PLAIN_PROMPT: &str = "Execute task {id} ({name}) in this git worktree: change only the \
    paths listed below, and commit your work on the current branch with git when it is done.\n\n{brief}";

/// Every preset.
pub static PRESETS: &[Preset] = &[
    Preset {
        name: "claude",
        program: "claude",
        args: &[
            "--output-format",
            "json",
            "--permission-mode",
            "acceptEdits",
            "--allowedTools",
            "Bash(git add:*),Bash(git commit:*),Bash(git status:*),Bash(git diff:*)",
            "-p",
            "{prompt}",
        ],
        resume: &[
            "--resume",
            "{session}",
            "--output-format",
            "json",
            "--permission-mode",
            "acceptEdits",
            "--allowedTools",
            "Bash(git add:*),Bash(git commit:*),Bash(git status:*),Bash(git diff:*)",
            "-p",
            "{prompt}",
        ],
        env: &[],
        output: Output::ClaudeJson,
        prompt: PROTOCOL_PROMPT,
        launch: "cd {worktree} && claude {handoff}",
        handoff: "/orchestrator Execute task {id}",
        checked: "Claude Code 2.0",
        state: &[".claude", ".claude.json"],
    },
    Preset {
        name: "codex",
        program: "codex",
        args: &[
            "exec",
            "--json",
            "--sandbox",
            "workspace-write",
            "--add-dir",
            "{gitdir}",
            "{prompt}",
        ],
        resume: &[
            "exec",
            "--json",
            "--sandbox",
            "workspace-write",
            "--add-dir",
            "{gitdir}",
            "resume",
            "{session}",
            "{prompt}",
        ],
        env: &[],
        output: Output::CodexJsonl,
        prompt: PLAIN_PROMPT,
        launch: "cd {worktree} && codex {handoff}",
        handoff: "Execute task {id}",
        checked: "Codex CLI 0.46",
        state: &[".codex"],
    },
    Preset {
        name: "gemini",
        program: "gemini",
        args: &[
            "--output-format",
            "json",
            "--approval-mode",
            "auto_edit",
            "--allowed-tools",
            "run_shell_command(git add),run_shell_command(git commit)",
            "-p",
            "{prompt}",
        ],
        resume: &[
            "--resume",
            "{session}",
            "--output-format",
            "json",
            "--approval-mode",
            "auto_edit",
            "--allowed-tools",
            "run_shell_command(git add),run_shell_command(git commit)",
            "-p",
            "{prompt}",
        ],
        env: &[],
        output: Output::GeminiJson,
        prompt: PLAIN_PROMPT,
        launch: "cd {worktree} && gemini -i {handoff}",
        handoff: "Execute task {id}",
        checked: "Gemini CLI 0.9",
        state: &[".gemini"],
    },
    Preset {
        name: "aider",
        program: "aider",
        args: &[
            "--yes-always",
            "--no-stream",
            "--no-pretty",
            "--no-gitignore",
            "--chat-history-file",
            "{history}",
            "--input-history-file",
            "{history}.input",
            "--message",
            "{prompt}",
        ],
        resume: &[
            "--restore-chat-history",
            "--yes-always",
            "--no-stream",
            "--no-pretty",
            "--no-gitignore",
            "--chat-history-file",
            "{history}",
            "--input-history-file",
            "{history}.input",
            "--message",
            "{prompt}",
        ],
        env: &[],
        output: Output::AiderText,
        prompt: PLAIN_PROMPT,
        launch: "cd {worktree} && aider",
        handoff: "",
        checked: "aider 0.86",
        state: &[".aider"],
    },
    Preset {
        name: "opencode",
        program: "opencode",
        args: &["run", "--format", "json", "{prompt}"],
        resume: &[
            "run",
            "--format",
            "json",
            "--session",
            "{session}",
            "{prompt}",
        ],
        env: &[(
            "OPENCODE_CONFIG_CONTENT",
            r#"{"permission":{"edit":"allow","bash":{"*":"deny","git add *":"allow","git commit *":"allow","git status*":"allow","git diff*":"allow"}}}"#,
        )],
        output: Output::OpencodeJsonl,
        prompt: PLAIN_PROMPT,
        launch: "cd {worktree} && opencode",
        handoff: "",
        checked: "opencode 1.0",
        state: &[
            ".local/share/opencode",
            ".local/state/opencode",
            ".cache/opencode",
        ],
    },
];

/// The preset named `name` (`--agent claude`), if it is one.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name.trim())
}

/// `template` with every `{key}` of `values` replaced by its value as text (never quoted,
/// never given to a shell); unknown `{…}` stay as they are.
pub use crate::taskgraph::display::substitute as fill;

/// What an attempt's output says it used. Every field is this invocation's own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    pub session: Option<String>,
    pub tokens: Option<u64>,
    pub cost_usd: Option<f64>,
}

impl Output {
    /// Reads `text` (an attempt's standard output); what it cannot find stays `None`.
    pub fn parse(self, text: &str) -> Usage {
        match self {
            Output::ClaudeJson => {
                let v = last_json(text);
                let u = &v["usage"];
                Usage {
                    session: str_of(&v["session_id"]),
                    tokens: sum(&[&u["input_tokens"], &u["output_tokens"]]),
                    cost_usd: v["total_cost_usd"].as_f64(),
                }
            }
            Output::GeminiJson => {
                let v =
                    serde_json::from_str::<Value>(text.trim()).unwrap_or_else(|_| last_json(text));
                let tokens = v["stats"]["models"].as_object().and_then(|models| {
                    let per: Vec<&Value> = models
                        .values()
                        .flat_map(|m| [&m["tokens"]["prompt"], &m["tokens"]["candidates"]])
                        .collect();
                    sum(&per)
                });
                Usage {
                    session: str_of(&v["session_id"]),
                    tokens,
                    cost_usd: None,
                }
            }
            Output::CodexJsonl => {
                let mut u = Usage::default();
                for v in json_lines(text) {
                    if v["type"] == "thread.started" {
                        u.session = str_of(&v["thread_id"]).or(u.session);
                    }
                    if v["type"] == "turn.completed" {
                        let t = sum(&[&v["usage"]["input_tokens"], &v["usage"]["output_tokens"]]);
                        u.tokens = add(u.tokens, t);
                    }
                }
                u
            }
            Output::OpencodeJsonl => {
                let mut u = Usage::default();
                for v in json_lines(text) {
                    let session =
                        str_of(&v["sessionID"]).or_else(|| str_of(&v["part"]["sessionID"]));
                    u.session = u.session.or(session);
                    if v["type"] == "step_finish" {
                        let p = &v["part"];
                        u.cost_usd = match (u.cost_usd, p["cost"].as_f64()) {
                            (a, None) => a,
                            (a, Some(c)) => Some(a.unwrap_or(0.0) + c),
                        };
                        let t = sum(&[&p["tokens"]["input"], &p["tokens"]["output"]]);
                        u.tokens = add(u.tokens, t);
                    }
                }
                u
            }
            Output::AiderText => aider(text),
        }
    }
}

/// aider's `Tokens: 2.3k sent, 410 received. Cost: $0.01 message, $0.03 session.` lines: the
/// messages of this invocation added up.
fn aider(text: &str) -> Usage {
    let mut u = Usage::default();
    for line in text.lines() {
        let Some(t) = line.trim().strip_prefix("Tokens: ") else {
            continue;
        };
        let count = |word: &str| {
            t.split([',', ';'])
                .flat_map(|part| part.split(". "))
                .find_map(|part| part.trim().trim_end_matches('.').strip_suffix(word))
                .and_then(|n| k_number(n.trim()))
        };
        u.tokens = add(u.tokens, add(count(" sent"), count(" received")));
        if let Some(c) = t.split("Cost: $").nth(1).and_then(|c| c.split(' ').next()) {
            if let Ok(c) = c.parse::<f64>() {
                u.cost_usd = Some(u.cost_usd.unwrap_or(0.0) + c);
            }
        }
    }
    u
}

/// `2.3k` → 2300, `410` → 410.
fn k_number(n: &str) -> Option<u64> {
    let (num, mul) = match n.strip_suffix('k') {
        Some(n) => (n, 1000.0),
        None => (n, 1.0),
    };
    let v = num.parse::<f64>().ok()? * mul;
    (v.is_finite() && v >= 0.0).then_some(v.round() as u64)
}

fn str_of(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

fn add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    }
}

fn sum(values: &[&Value]) -> Option<u64> {
    values.iter().fold(None, |acc, v| add(acc, v.as_u64()))
}

/// The JSON objects of the lines of `text` that are one.
fn json_lines(text: &str) -> impl Iterator<Item = Value> + '_ {
    text.lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
}

/// The last line of `text` that is a JSON object (`Null` when none is).
fn last_json(text: &str) -> Value {
    json_lines(text).last().unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_known_keys_only() {
        let got = fill(
            "a {id} {x} {brief}{",
            &[("id", "T-1"), ("brief", "$(rm -rf)")],
        );
        assert_eq!(got, "a T-1 {x} $(rm -rf){");
    }

    #[test]
    fn parsers_read_each_cli_shape() {
        let c = Output::ClaudeJson.parse(
            r#"{"type":"result","session_id":"s1","total_cost_usd":0.25,"usage":{"input_tokens":10,"output_tokens":5}}"#,
        );
        assert_eq!(c.session.as_deref(), Some("s1"));
        assert_eq!((c.tokens, c.cost_usd), (Some(15), Some(0.25)));
        let x = Output::CodexJsonl.parse(
            "{\"type\":\"thread.started\",\"thread_id\":\"t9\"}\n{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":7,\"output_tokens\":3}}\n",
        );
        assert_eq!(
            (x.session.as_deref(), x.tokens, x.cost_usd),
            (Some("t9"), Some(10), None)
        );
        let g = Output::GeminiJson.parse(
            "{\n \"session_id\": \"g1\",\n \"response\": \"ok\",\n \"stats\": {\"models\": {\"m\": {\"tokens\": {\"prompt\": 4, \"candidates\": 2}}}}\n}",
        );
        assert_eq!((g.session.as_deref(), g.tokens), (Some("g1"), Some(6)));
        let o = Output::OpencodeJsonl.parse(
            "{\"type\":\"step_start\",\"sessionID\":\"ses_1\",\"part\":{}}\n{\"type\":\"step_finish\",\"sessionID\":\"ses_1\",\"part\":{\"cost\":0.5,\"tokens\":{\"input\":3,\"output\":1}}}\n",
        );
        assert_eq!(
            (o.session.as_deref(), o.tokens, o.cost_usd),
            (Some("ses_1"), Some(4), Some(0.5))
        );
        let a = Output::AiderText
            .parse("Tokens: 2.3k sent, 410 received. Cost: $0.01 message, $0.03 session.\n");
        assert_eq!((a.tokens, a.cost_usd), (Some(2710), Some(0.01)));
    }
}
