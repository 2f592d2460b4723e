//! Cases of runs of the real binary, each in a fresh folder, checked by one runner
//! (tests/hostile.rs; after ripgrep's `tests/util.rs`).
//!
//! A [`Case`] makes its input files in a [`Scene`] (a temporary folder, also the runs'
//! working directory) and runs `amva` there once or more ([`Step`]). [`run`] checks every
//! run for its exit status within a time limit (a hang fails instead of stalling CI) and
//! for a scene unchanged outside its `--out` (unchanged altogether for a [`refused`] run),
//! and for what the step adds: stderr fragments, `--json` summary keys, CSV rows, absent
//! files, peak memory, checks of its own.
//!
//! Arguments, stderr fragments and files written before a run may say `{dir}` (the
//! scene's folder) and `{bg}` (the pid of the run started in the background).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

type Setup = Box<dyn Fn(&Scene)>;
type OwnCheck = Box<dyn Fn(&Scene, &Ran) -> Result<(), String>>;

const TIMER: &str = "/usr/bin/time";

/// One regression: the input files it makes and the runs over them.
#[derive(Default)]
pub struct Case {
    data: bool,
    setup: Vec<Setup>,
    steps: Vec<Step>,
}

impl Case {
    /// A case that needs only the binary.
    pub fn new() -> Case {
        Case::default()
    }

    /// A case that needs `../shared` (models and faces); its runs see `AMVA_MODELS`.
    pub fn with_data() -> Case {
        Case {
            data: true,
            ..Case::default()
        }
    }

    /// Makes input files in the scene before the first run (a panic fails the case).
    pub fn setup(mut self, f: impl Fn(&Scene) + 'static) -> Case {
        self.setup.push(Box::new(f));
        self
    }

    /// Adds a run; runs go in order in one scene, and stop at the first that fails.
    pub fn run(mut self, step: Step) -> Case {
        self.steps.push(step);
        self
    }
}

/// What a run must show besides its exit status and the unchanged scene.
enum Expect {
    Stderr(String),
    StderrLacks(String),
    Summary(String, Value),
    Rows(String, Vec<String>),
    Absent(String),
    PeakBelowKib(u64),
    Own(OwnCheck),
}

/// One run of `amva` and what it must do.
pub struct Step {
    args: Vec<String>,
    /// The exit status; None for a run left going in the background until the file
    /// `ready` holds its pid (or the time limit passes).
    exit: Option<i32>,
    ready: String,
    limit: Duration,
    writes_nothing: bool,
    stop_background: bool,
    first: Vec<(String, String)>,
    expect: Vec<Expect>,
}

/// A run that must succeed. `args` is split at white space before `{dir}` is filled in
/// (so the scene's path may hold spaces).
pub fn ok(args: &str) -> Step {
    Step::new(args, Some(0))
}

/// A run that must exit with `code`, free to write at its `--out`.
pub fn fails(code: i32, args: &str) -> Step {
    Step::new(args, Some(code))
}

/// A run that must be refused: exit 1, and nothing in the scene written or changed.
pub fn refused(args: &str) -> Step {
    let mut step = Step::new(args, Some(1));
    step.writes_nothing = true;
    step
}

/// A run left going while the next steps run, once the scene's file `ready` holds its
/// pid; stopped by [`Step::after_stopping_background`] or when the case ends.
pub fn background(args: &str, ready: &str) -> Step {
    let mut step = Step::new(args, None);
    step.ready = ready.into();
    step
}

impl Step {
    fn new(args: &str, exit: Option<i32>) -> Step {
        Step {
            args: args.split_whitespace().map(str::to_string).collect(),
            exit,
            ready: String::new(),
            limit: Duration::from_secs(60),
            writes_nothing: false,
            stop_background: false,
            first: Vec::new(),
            expect: Vec::new(),
        }
    }

    fn and(mut self, e: Expect) -> Step {
        self.expect.push(e);
        self
    }

    /// The time limit (60 s unless said); a run still going then is killed and fails.
    pub fn within(mut self, seconds: u64) -> Step {
        self.limit = Duration::from_secs(seconds);
        self
    }

    /// stderr must hold `fragment`.
    pub fn stderr(self, fragment: &str) -> Step {
        self.and(Expect::Stderr(fragment.into()))
    }

    /// stderr must not hold `fragment`.
    pub fn stderr_lacks(self, fragment: &str) -> Step {
        self.and(Expect::StderrLacks(fragment.into()))
    }

    /// The `--json` summary (stdout's last line) holds `value` at `pointer` (`/a/b`).
    pub fn summary(self, pointer: &str, value: impl Into<Value>) -> Step {
        self.and(Expect::Summary(pointer.into(), value.into()))
    }

    /// The CSV file's lines after its header: as many as `patterns`, each matching one
    /// of them and each pattern matched, in any order (`*` stands for any text).
    pub fn rows(self, file: &str, patterns: &[&str]) -> Step {
        let p = patterns.iter().map(|p| p.to_string()).collect();
        self.and(Expect::Rows(file.into(), p))
    }

    /// Nothing in the scene at `path` after the run (its last part may hold `*`).
    pub fn absent(self, path: &str) -> Step {
        self.and(Expect::Absent(path.into()))
    }

    /// Peak memory below `kib` KiB (as /usr/bin/time measures it).
    pub fn peak_below_kib(self, kib: u64) -> Step {
        self.and(Expect::PeakBelowKib(kib))
    }

    /// A check of its own; `Err` says what is wrong.
    pub fn check(self, f: impl Fn(&Scene, &Ran) -> Result<(), String> + 'static) -> Step {
        self.and(Expect::Own(Box::new(f)))
    }

    /// Writes `text` to the scene's `file` just before the run.
    pub fn writing_first(mut self, file: &str, text: &str) -> Step {
        self.first.push((file.into(), text.into()));
        self
    }

    /// Kills the background run (and reaps it) before this run starts.
    pub fn after_stopping_background(mut self) -> Step {
        self.stop_background = true;
        self
    }

    /// How many checks the step makes: exit status, unchanged scene, and its own.
    fn checks(&self) -> usize {
        self.exit.map_or(0, |_| 2 + self.expect.len())
    }
}

/// What a run did; `code` is None when it was killed at the time limit.
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub peak_kib: Option<u64>,
}

/// A case's folder and the shared data.
pub struct Scene {
    dir: tempfile::TempDir,
    shared: Option<PathBuf>,
    bg_pid: Cell<Option<u32>>,
}

impl Scene {
    /// `rel` inside the scene.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `../shared` (for cases made with [`Case::with_data`]).
    pub fn shared(&self) -> &Path {
        self.shared.as_deref().expect("a case that needs ../shared")
    }

    /// Writes `bytes` to `rel`, making its folders.
    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }

    /// The bytes of `rel`.
    pub fn read(&self, rel: &str) -> Vec<u8> {
        let p = self.path(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// Makes the folder `rel`.
    pub fn mkdir(&self, rel: &str) {
        std::fs::create_dir_all(self.path(rel)).unwrap();
    }

    /// A symbolic link at `rel` to `target` (as written).
    #[cfg(unix)]
    pub fn link(&self, target: &str, rel: &str) {
        std::os::unix::fs::symlink(target, self.path(rel)).unwrap();
    }

    /// `text` with `{dir}` and `{bg}` filled in.
    fn expand(&self, text: &str) -> String {
        let t = text.replace("{dir}", &self.dir.path().to_string_lossy());
        match self.bg_pid.get() {
            Some(pid) => t.replace("{bg}", &pid.to_string()),
            None => t,
        }
    }

    /// `program args` run in the scene, in a process group of its own (so that the time
    /// limit kills amva too when /usr/bin/time runs it).
    fn command(&self, program: &str, args: &[String]) -> Command {
        let mut c = Command::new(program);
        if let Some(s) = &self.shared {
            c.env("AMVA_MODELS", s.join("models"));
        }
        c.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        c
    }

    /// The command line to paste into a shell to repeat the run.
    fn command_line(&self, args: &[String]) -> String {
        let models = self.shared.iter().map(|s| s.join("models"));
        let env = models.map(|m| format!("AMVA_MODELS={} ", quote(&m.to_string_lossy())));
        let dir = quote(&self.dir.path().to_string_lossy());
        let line = args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
        let amva = env!("CARGO_BIN_EXE_amva");
        format!("cd {dir} && {}{amva} {line}", env.collect::<String>())
    }
}

/// `s` quoted for a POSIX shell where it needs it.
fn quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-=:,+@%".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Kills `child` with its process group, and reaps it.
fn kill_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs amva with `args` in the scene, killed after `limit`; peak memory from
/// /usr/bin/time when there is one.
fn run_within(scene: &Scene, args: &[String], limit: Duration) -> Ran {
    // Outside the scene, which must not change.
    let io = tempfile::tempdir().unwrap();
    let file = |name: &str| io.path().join(name);
    let amva = env!("CARGO_BIN_EXE_amva");
    let mut c = if Path::new(TIMER).exists() {
        let mem = file("mem").to_string_lossy().into_owned();
        let timed = ["-f", "%M", "-o", &mem, amva].map(str::to_string);
        scene.command(TIMER, &[&timed[..], args].concat())
    } else {
        scene.command(amva, args)
    };
    c.stdout(std::fs::File::create(file("out")).unwrap());
    c.stderr(std::fs::File::create(file("err")).unwrap());
    let mut child = c.spawn().expect("amva starts");
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > limit {
            kill_group(&mut child);
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |name: &str| std::fs::read_to_string(file(name)).unwrap_or_default();
    let peak_kib = read("mem")
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok());
    Ran {
        code,
        stdout: read("out"),
        stderr: read("err"),
        peak_kib,
    }
}

/// A file system entry as a snapshot keeps it (links are not followed).
#[derive(PartialEq)]
enum Entry {
    Folder,
    File(Vec<u8>),
    Link(PathBuf),
}

/// Every entry below `dir` (relative path -> entry) but those `skip` names.
fn snapshot(dir: &Path, skip: &dyn Fn(&Path) -> bool) -> BTreeMap<PathBuf, Entry> {
    let (mut out, mut stack) = (BTreeMap::new(), vec![dir.to_path_buf()]);
    while let Some(d) = stack.pop() {
        for p in std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()) {
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            if skip(&rel) {
                continue;
            }
            let kind = std::fs::symlink_metadata(&p).unwrap().file_type();
            if kind.is_symlink() {
                out.insert(rel, Entry::Link(std::fs::read_link(&p).unwrap()));
            } else if kind.is_dir() {
                out.insert(rel, Entry::Folder);
                stack.push(p);
            } else {
                out.insert(rel, Entry::File(std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

/// The entries that differ between two snapshots.
fn changes(before: &BTreeMap<PathBuf, Entry>, after: &BTreeMap<PathBuf, Entry>) -> Vec<String> {
    let keys = before
        .keys()
        .chain(after.keys().filter(|k| !before.contains_key(*k)));
    keys.filter(|k| before.get(*k) != after.get(*k))
        .map(|k| k.display().to_string())
        .collect()
}

/// What a run may write: `out` (relative to the scene) and all below it; for an output
/// file `q.csv`, also its side files `q.*` (q.failed.csv, q.meta.json).
fn may_write(out: &Path, rel: &Path) -> bool {
    let side = match (out.file_stem(), out.extension()) {
        (Some(stem), Some(_)) => Some(format!("{}.", stem.to_string_lossy())),
        _ => None,
    };
    let name = rel.file_name().map(|n| n.to_string_lossy());
    rel.starts_with(out)
        || (rel.parent() == out.parent()
            && side.is_some_and(|s| name.is_some_and(|n| n.starts_with(&s))))
}

/// `text` matches `pattern`, where `*` stands for any text (also none).
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = &parts[..] else {
        return pattern == text;
    };
    if text.len() < first.len() + last.len() || !text.starts_with(first) {
        return false;
    }
    let mut rest = &text[first.len()..];
    for m in middle {
        match rest.find(m) {
            Some(i) => rest = &rest[i + m.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

impl Expect {
    /// Err says what is wrong.
    fn verify(&self, scene: &Scene, ran: &Ran) -> Result<(), String> {
        let must = |good: bool, wrong: String| if good { Ok(()) } else { Err(wrong) };
        match self {
            Expect::Stderr(f) => {
                let f = scene.expand(f);
                must(ran.stderr.contains(&f), format!("stderr lacks '{f}'"))
            }
            Expect::StderrLacks(f) => {
                let f = scene.expand(f);
                must(!ran.stderr.contains(&f), format!("stderr holds '{f}'"))
            }
            Expect::Summary(pointer, want) => {
                let last = ran.stdout.lines().last().unwrap_or("");
                let got = serde_json::from_str::<Value>(last).ok();
                let got = got.as_ref().and_then(|v| v.pointer(pointer));
                must(
                    got == Some(want),
                    format!("summary {pointer}: {got:?}, expected {want}"),
                )
            }
            Expect::Rows(file, patterns) => {
                let text = std::fs::read_to_string(scene.path(file));
                let text = text.map_err(|e| format!("{file}: {e}"))?;
                let rows: Vec<&str> = text.lines().skip(1).collect();
                let like = |p: &String, r: &&str| glob(p, r);
                let good = rows.len() == patterns.len()
                    && patterns.iter().all(|p| rows.iter().any(|r| like(p, r)))
                    && rows.iter().all(|r| patterns.iter().any(|p| like(p, r)));
                must(
                    good,
                    format!("{file}: rows {rows:?}, expected {patterns:?}"),
                )
            }
            Expect::Absent(path) => {
                let p = scene.path(path);
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                let found: Vec<String> = std::fs::read_dir(p.parent().unwrap())
                    .into_iter()
                    .flatten()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| glob(&name, n))
                    .collect();
                must(found.is_empty(), format!("{path} exists: {found:?}"))
            }
            Expect::PeakBelowKib(limit) => match ran.peak_kib {
                Some(k) => must(
                    k < *limit,
                    format!("peak memory {k} KiB, limit {limit} KiB"),
                ),
                None => Ok(()), // no /usr/bin/time: `run` reported the skip
            },
            Expect::Own(f) => f(scene, ran),
        }
    }
}

impl Step {
    /// Runs the step in `scene` (`bg`: the background run); Err is the report.
    fn run(&self, scene: &Scene, bg: &mut Option<Child>) -> Result<(), String> {
        if self.stop_background {
            bg.take().iter_mut().for_each(kill_group);
        }
        for (file, text) in &self.first {
            scene.write(file, scene.expand(text));
        }
        let args: Vec<String> = self.args.iter().map(|a| scene.expand(a)).collect();
        let Some(want) = self.exit else {
            let amva = env!("CARGO_BIN_EXE_amva");
            let mut c = scene.command(amva, &args);
            let child = c
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let (ready, start, pid) = (scene.path(&self.ready), Instant::now(), child.id());
            scene.bg_pid.set(Some(pid));
            *bg = Some(child);
            while std::fs::read_to_string(&ready).unwrap_or_default().trim() != pid.to_string()
                && start.elapsed() < self.limit
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            return Ok(());
        };
        let out = args
            .iter()
            .position(|a| a == "--out")
            .and_then(|i| args.get(i + 1));
        let out = out.map(|o| {
            Path::new(o)
                .strip_prefix(scene.dir.path())
                .unwrap_or(o.as_ref())
        });
        let skip = |rel: &Path| !self.writes_nothing && out.is_some_and(|o| may_write(o, rel));
        let before = snapshot(scene.dir.path(), &skip);
        let ran = run_within(scene, &args, self.limit);
        let mut wrong = Vec::new();
        if ran.code.is_none() {
            wrong.push(format!("killed after {} s (a hang?)", self.limit.as_secs()));
        } else {
            if ran.code != Some(want) {
                wrong.push(format!("exit {:?}, expected {want}", ran.code));
            }
            let changed = changes(&before, &snapshot(scene.dir.path(), &skip));
            if !changed.is_empty() {
                let scope = if self.writes_nothing {
                    ""
                } else {
                    " outside --out"
                };
                wrong.push(format!("written{scope}: {}", changed.join(", ")));
            }
            wrong.extend(
                self.expect
                    .iter()
                    .filter_map(|e| e.verify(scene, &ran).err()),
            );
        }
        if wrong.is_empty() {
            return Ok(());
        }
        let (line, wrong) = (scene.command_line(&args), wrong.join("\n  - "));
        let (out, err) = (&ran.stdout, &ran.stderr);
        Err(format!(
            "{line}\n  - {wrong}\nexit {:?}\nstdout: {out}\nstderr: {err}",
            ran.code
        ))
    }
}

/// The one runner: runs `case` as the calling test and panics with the report of its
/// first failing run (the command line to repeat it, what was wrong, stdout and stderr;
/// the case's folder is then kept for a look). A case made with [`Case::with_data`]
/// skips when `../shared` lacks one of `needs` (a failure under AMVA_REQUIRE_DATA=1).
pub fn run(case: Case, needs: &[&str]) {
    let shared = match case.data {
        true => match amva_testkit::shared_with(needs) {
            Some(s) => Some(s),
            None => return,
        },
        false => None,
    };
    let mut expected = case.steps.iter().flat_map(|s| &s.expect);
    if expected.any(|e| matches!(e, Expect::PeakBelowKib(_))) && !Path::new(TIMER).exists() {
        amva_testkit::skip(&format!(
            "the peak memory limits: no {TIMER} (Debian's `time`)"
        ));
    }
    let scene = Scene {
        dir: tempfile::tempdir().unwrap(),
        shared,
        bg_pid: Cell::new(None),
    };
    let (n, mut bg) = (case.steps.len(), None);
    let result = catch_unwind(AssertUnwindSafe(|| {
        case.setup.iter().for_each(|f| f(&scene));
        for (i, step) in case.steps.iter().enumerate() {
            let report = step.run(&scene, &mut bg);
            report.map_err(|e| format!("run {} of {n}: {e}", i + 1))?;
        }
        Ok(())
    }));
    bg.iter_mut().for_each(kill_group);
    let checks: usize = case.steps.iter().map(Step::checks).sum();
    eprintln!("{n} runs, {checks} checks");
    if let Err(report) = result.unwrap_or_else(|panic| Err(panic_text(panic))) {
        panic!("{report}\n(folder kept: {})", scene.dir.keep().display());
    }
}

/// What a caught panic said.
fn panic_text(panic: Box<dyn std::any::Any + Send>) -> String {
    let text = panic.downcast_ref::<&str>().map(|s| s.to_string());
    let text = text.or_else(|| panic.downcast_ref::<String>().cloned());
    format!("panicked: {}", text.unwrap_or_default())
}
