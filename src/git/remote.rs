//! The shared git remote as a compare-and-swap store, through the git CLI (any transport git
//! speaks: file path, git://, ssh, https): fetch its branches into git-parallel's private
//! namespace (`refs/parallel/remote/<name>/heads/…`, never the user's remote-tracking refs),
//! read its refs with `ls-remote`, and one atomic push with a lease on every ref.

use std::collections::BTreeMap;

use super::{cli, Location, RefUpdate, Result};

/// Where `fetch` keeps the remote's `refs/heads/<x>`: `refs/parallel/remote/<remote>/heads/<x>`.
pub fn fetched_ref(remote: &str, name: &str) -> String {
    let rest = name.strip_prefix("refs/").unwrap_or(name);
    format!("refs/parallel/remote/{remote}/{rest}")
}

/// Whether `remote` names a configured remote (`remote.<name>.url`).
pub fn configured(loc: &Location, remote: &str) -> bool {
    let mut cmd = loc.git_main();
    cmd.args(["config", "--get", &format!("remote.{remote}.url")]);
    cli::run(cmd).is_ok()
}

/// The URL of the configured remote `remote` (`git remote get-url`).
pub fn url(loc: &Location, remote: &str) -> Result<String> {
    let mut cmd = loc.git_main();
    cmd.args(["remote", "get-url", remote]);
    Ok(cli::stdout(cmd)?.trim().to_string())
}

/// The configured remotes (`git remote`); empty when there are none or git fails.
pub fn names(loc: &Location) -> Vec<String> {
    let mut cmd = loc.git_main();
    cmd.arg("remote");
    cli::stdout(cmd)
        .map(|out| {
            out.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Fetches every branch of `remote` into the private namespace, pruning the ones gone there.
pub fn fetch(loc: &Location, remote: &str) -> Result<()> {
    let mut cmd = loc.git_main();
    cmd.args([
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--prune",
        // No opportunistic update of the user's remote-tracking refs.
        "--refmap=",
        remote,
    ])
    .arg(format!(
        "+refs/heads/*:{}",
        fetched_ref(remote, "refs/heads/*")
    ));
    cli::run(cmd)?;
    Ok(())
}

/// The current values of `names` on `remote` (absent ones are missing from the map).
pub fn ls_remote(
    loc: &Location,
    remote: &str,
    names: &[&str],
) -> Result<BTreeMap<String, gix::ObjectId>> {
    let mut cmd = loc.git_main();
    cmd.args(["ls-remote", "--refs", remote]);
    cmd.args(names);
    Ok(parse_ls_remote(&cli::stdout(cmd)?, |name| {
        names.contains(&name)
    }))
}

/// `ls-remote`'s lines (`<oid>\t<name>`) whose name `keep` accepts, name → value.
fn parse_ls_remote(out: &str, keep: impl Fn(&str) -> bool) -> BTreeMap<String, gix::ObjectId> {
    out.lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(_, name)| keep(name))
        .filter_map(|(oid, name)| {
            Some((
                name.to_string(),
                gix::ObjectId::from_hex(oid.as_bytes()).ok()?,
            ))
        })
        .collect()
}

/// How an atomic push ended.
pub enum Pushed {
    /// Every ref took its new value.
    Done,
    /// The remote refused (a lease did not hold, a hook said no): nothing changed there.
    Rejected(String),
    /// git could not run or reach the remote; whether anything changed is not known.
    Failed(String),
}

/// One `git push --atomic --porcelain` of `updates`, each with `--force-with-lease` at its `old`
/// value (absent: the ref must not exist). Never a push without lease.
pub fn push(loc: &Location, remote: &str, updates: &[RefUpdate]) -> Result<Pushed> {
    let mut cmd = loc.git_main();
    cmd.args(["push", "--atomic", "--porcelain", "--no-verify", remote]);
    for u in updates {
        cmd.arg(format!(
            "--force-with-lease={}:{}",
            u.name,
            u.old.map(|o| o.to_string()).unwrap_or_default()
        ));
    }
    for u in updates {
        cmd.arg(format!(
            "{}:{}",
            u.new.map(|n| n.to_string()).unwrap_or_default(),
            u.name
        ));
    }
    let shown = cli::describe(&cmd);
    let out = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .map_err(|e| super::Error::Spawn {
            what: format!("cannot run {shown}"),
            source: e,
        })?;
    if out.status.success() {
        return Ok(Pushed::Done);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Porcelain: one `<flag>\t<from>:<to>\t<summary>` line per ref; `!` is a refusal.
    let rejected: Vec<String> = stdout
        .lines()
        .filter(|l| l.starts_with('!'))
        .map(|l| l.trim_start_matches('!').trim().replace('\t', " "))
        .collect();
    if rejected.is_empty() {
        Ok(Pushed::Failed(stderr.trim().to_string()))
    } else {
        Ok(Pushed::Rejected(rejected.join("; ")))
    }
}

/// `author: subject` of a commit, when it is in the local object database.
pub fn commit_line(loc: &Location, oid: &gix::ObjectId) -> Option<String> {
    let oid = oid.to_string();
    let mut cmd = loc.git_main();
    cmd.args(["log", "-1", "--format=%an <%ae>: %s", &oid, "--"]);
    cli::stdout(cmd)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Every ref of `remote` whose name starts with `prefix` (`refs/parallel/`), with its value:
/// one `git ls-remote`.
pub fn ls_remote_under(
    loc: &Location,
    remote: &str,
    prefix: &str,
) -> Result<BTreeMap<String, gix::ObjectId>> {
    let mut cmd = loc.git_main();
    cmd.args(["ls-remote", remote, &format!("{prefix}*")]);
    Ok(parse_ls_remote(&cli::stdout(cmd)?, |name| {
        name.starts_with(prefix)
    }))
}

/// Fetches the objects the refs `names` of `remote` point at into the object database, writing
/// no ref (not even FETCH_HEAD): what a reader needs to `cat-file` them once. Nothing to fetch:
/// no git call.
pub fn fetch_objects(loc: &Location, remote: &str, names: &[&str]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let mut cmd = loc.git_main();
    cmd.args([
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--refmap=",
        remote,
    ]);
    cmd.args(names);
    cli::run(cmd)?;
    Ok(())
}

/// Writes `bytes` as a blob into the object database (`git hash-object -w --stdin`): its id.
pub fn write_blob(loc: &Location, bytes: &[u8]) -> Result<gix::ObjectId> {
    let mut cmd = loc.git_main();
    cmd.args(["hash-object", "-w", "--stdin"]);
    let out = cli::run_with_input(cmd, bytes)?;
    super::oid(String::from_utf8_lossy(&out.stdout).trim())
}

/// The contents of the blobs `oids`, in order, read with one `git cat-file --batch` (`None`:
/// missing here, or not a blob).
pub fn read_blobs(loc: &Location, oids: &[gix::ObjectId]) -> Result<Vec<Option<Vec<u8>>>> {
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let mut cmd = loc.git_main();
    cmd.args(["cat-file", "--batch"]);
    let input: String = oids.iter().map(|o| format!("{o}\n")).collect();
    let out = cli::run_with_input(cmd, input.as_bytes())?;
    let mut rest: &[u8] = &out.stdout;
    let mut blobs = Vec::with_capacity(oids.len());
    for _ in oids {
        // `<oid> <type> <size>\n<contents>\n`, or `<name> missing\n`.
        let Some(eol) = rest.iter().position(|&b| b == b'\n') else {
            blobs.push(None);
            continue;
        };
        let header = String::from_utf8_lossy(&rest[..eol]).into_owned();
        rest = &rest[eol + 1..];
        let mut f = header.split(' ');
        let (_, kind, size) = (f.next(), f.next(), f.next());
        let Some(size) = size.and_then(|s| s.parse::<usize>().ok()) else {
            blobs.push(None);
            continue;
        };
        let Some(body) = rest.get(..size) else {
            blobs.push(None);
            break;
        };
        blobs.push((kind == Some("blob")).then(|| body.to_vec()));
        rest = rest.get(size + 1..).unwrap_or_default();
    }
    blobs.resize(oids.len(), None);
    Ok(blobs)
}

/// The configured remote whose URL (`remote.<name>.url`) is `url`, if any.
pub fn named(loc: &Location, url: &str) -> Option<String> {
    let mut cmd = loc.git_main();
    cmd.args(["config", "--get-regexp", r"^remote\..*\.url$"]);
    let out = cli::stdout(cmd).ok()?;
    out.lines().find_map(|l| {
        let (key, value) = l.split_once(' ')?;
        let name = key.strip_prefix("remote.")?.strip_suffix(".url")?;
        (value.trim() == url).then(|| name.to_string())
    })
}

/// `git clone --quiet <url> <dir>` (run in `dir`'s parent).
pub fn clone(url: &str, dir: &camino::Utf8Path) -> Result<()> {
    let parent = match dir.parent() {
        Some(p) if !p.as_str().is_empty() => p,
        _ => camino::Utf8Path::new("."),
    };
    let mut cmd = cli::GitCli::find()?.in_dir(parent);
    cmd.args(["clone", "--quiet", url, dir.as_str()]);
    cli::run(cmd)?;
    Ok(())
}
