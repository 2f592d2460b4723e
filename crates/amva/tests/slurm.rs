//! The README's Slurm job-array recipe, run on a real Slurm: the script is cut out of
//! README.md's text (so the two cannot drift) and only its paths, its array size and
//! the method are substituted. 4 Ablation-CAM tasks over 200 LFW faces and 2 Score-CAM
//! tasks over 8; one Score-CAM task is requeued mid-run (`scontrol requeue`) and resumes
//! from its finished part; the README's merge line joins each array into a store
//! byte-identical to one uninterrupted run of the same line; `sacct` shows every task
//! COMPLETED.
//!
//! Needs ../shared and a running Slurm (`bash scripts/slurm/start.sh`, as root: installs
//! Debian's slurm-wlm, munge, slurmdbd and MariaDB and starts them); skips with the
//! reason otherwise.

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");

/// Ok when `sinfo` answers and shows a node that can take jobs.
fn slurm_up() -> Result<(), String> {
    let out = Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .map_err(|e| format!("sinfo not found ({e})"))?;
    let states = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && states.lines().any(|s| s == "idle" || s == "mixed") {
        Ok(())
    } else {
        Err(format!(
            "no idle Slurm node (sinfo: {}{})",
            states.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Output of a command that must succeed.
fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The job script under "Slurm job array" in README.md, and the command of its
/// `# afterwards:` line (the merge).
fn readme_recipe() -> (String, String) {
    let readme = std::fs::read_to_string(README).expect("README.md");
    let from = readme
        .find("Slurm job array")
        .expect("README has a 'Slurm job array' recipe");
    let block = &readme[from..];
    let start = block.find("```sh\n").expect("a ```sh block follows") + 6;
    let script = &block[start..start + block[start..].find("```").unwrap()];
    let merge = script
        .lines()
        .find_map(|l| l.strip_prefix("# afterwards: "))
        .expect("the recipe's '# afterwards: amva merge ...' line")
        .to_string();
    (script.to_string(), merge)
}

/// `text` with each (from, to) replaced; every `from` must occur.
fn substitute(text: &str, subs: &[(&str, &str)]) -> String {
    subs.iter().fold(text.to_string(), |t, (from, to)| {
        assert!(t.contains(from), "'{from}' not in the recipe:\n{t}");
        t.replace(from, to)
    })
}

/// The first `n` faces of the sorted LFW dev set, copied with their relative paths.
fn copy_faces(shared: &Path, to: &Path, n: usize, step: usize) -> PathBuf {
    let src = shared.join("faces/lfw-dev/aligned112");
    let mut files = Vec::new();
    let mut people: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    people.sort();
    for p in people {
        let mut f: Vec<PathBuf> = std::fs::read_dir(&p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        f.sort();
        files.extend(f);
    }
    for f in files.iter().step_by(step).take(n) {
        let rel = f.strip_prefix(&src).unwrap();
        std::fs::create_dir_all(to.join(rel).parent().unwrap()).unwrap();
        std::fs::copy(f, to.join(rel)).unwrap();
    }
    to.to_path_buf()
}

/// Cancels the job when the test ends early, so no task is left running.
struct Job(String);

impl Drop for Job {
    fn drop(&mut self) {
        let _ = Command::new("scancel").arg(&self.0).status();
    }
}

/// `sbatch` of `script` (written to `dir`), with `amva` on PATH; logs of every run of a
/// task appended to dir/logs/task-<i>.out.
fn submit(script: &str, dir: &Path) -> Job {
    let file = dir.join("maps.sbatch");
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::write(&file, script).unwrap();
    let out = sh(Command::new("sbatch")
        .arg("--parsable")
        .arg(format!("--chdir={}", dir.display()))
        .arg(format!("--output={}/logs/task-%a.out", dir.display()))
        .arg("--open-mode=append")
        .arg(&file)
        .env("PATH", path_with_amva()));
    Job(out.trim().split(';').next().unwrap().to_string())
}

/// Waits until `path` exists (or panics after `secs`).
fn wait_for(path: &Path, secs: u64) {
    let t = Instant::now();
    while !path.exists() {
        assert!(
            t.elapsed().as_secs() < secs,
            "{} did not appear",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the job has left the queue (or panics after `secs`).
fn wait_done(job: &Job, secs: u64) {
    let t = Instant::now();
    while !sh(Command::new("squeue").args(["-h", "-j", &job.0]))
        .trim()
        .is_empty()
    {
        assert!(t.elapsed().as_secs() < secs, "job {} still queued", job.0);
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `sacct` lines (JobID|State|ExitCode) of the job's tasks, once every one of the `n`
/// tasks is recorded as ended (accounting lags the queue a little).
fn sacct(job: &Job, n: usize, all_runs: bool) -> Vec<String> {
    let mut args = vec!["-X", "-n", "-P", "-o", "JobID,State,ExitCode", "-j", &job.0];
    if all_runs {
        args.push("-D");
    }
    let t = Instant::now();
    loop {
        let text = sh(Command::new("sacct").args(&args));
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let ended = |l: &String| !l.contains("RUNNING") && !l.contains("PENDING");
        if (lines.len() >= n && lines.iter().all(ended)) || t.elapsed().as_secs() > 60 {
            eprintln!("sacct {}:\n{text}", args.join(" "));
            return lines;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// One array's script: the README recipe with its paths, array size and method replaced.
fn array_script(
    recipe: &str,
    shared: &Path,
    faces: &Path,
    run: &Path,
    n: usize,
    method: &str,
) -> String {
    let n = n.to_string();
    substitute(
        recipe,
        &[
            (
                "/shared/amva/models",
                shared.join("models").to_str().unwrap(),
            ),
            ("/shared/faces", faces.to_str().unwrap()),
            ("/shared/run1", run.to_str().unwrap()),
            ("--array=1-16", &format!("--array=1-{n}")),
            ("/16 ", &format!("/{n} ")),
            ("{1..16}", &format!("{{1..{n}}}")),
            ("--method scorecam", method),
        ],
    )
}

/// The same script's `amva maps` line run once over every face (no shard), in `run/whole`.
fn run_whole(script: &str, n: usize) {
    let whole = substitute(
        script,
        &[
            (&format!("--shard $SLURM_ARRAY_TASK_ID/{n}"), ""),
            ("shard-$SLURM_ARRAY_TASK_ID", "whole"),
        ],
    );
    let mut c = Command::new("bash");
    c.arg("-c").arg(&whole);
    c.env("PATH", path_with_amva());
    sh(&mut c);
}

fn path_with_amva() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_amva")).parent().unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The README's merge line, substituted like the script, run by bash (brace expansion).
fn merge(merge_line: &str, run: &Path, n: usize) -> PathBuf {
    let line = substitute(
        merge_line,
        &[
            ("/shared/run1", run.to_str().unwrap()),
            ("{1..16}", &format!("{{1..{n}}}")),
        ],
    );
    sh(Command::new("bash")
        .arg("-c")
        .arg(&line)
        .env("PATH", path_with_amva()));
    run.join("maps")
}

fn assert_all_completed(lines: &[String], n: usize) {
    let mut tasks: Vec<&str> = lines.iter().map(|l| l.split('|').next().unwrap()).collect();
    tasks.sort();
    tasks.dedup();
    assert_eq!(tasks.len(), n, "{lines:?}");
    for l in lines {
        assert!(l.ends_with("|COMPLETED|0:0"), "not completed: {l}");
    }
}

#[test]
fn the_readme_slurm_recipe_runs_requeues_and_merges_to_one_run() {
    let Some(shared) = util::shared_with(&["models/fr_feature.onnx", "faces/lfw-dev/aligned112"])
    else {
        return;
    };
    if let Err(why) = slurm_up() {
        return util::skip(&format!(
            "{why}; start one with `bash scripts/slurm/start.sh` (as root, with apt-get)"
        ));
    }
    let start = Instant::now();
    let t = tempfile::tempdir().unwrap();
    let (recipe, merge_line) = readme_recipe();
    let faces = copy_faces(&shared, &t.path().join("faces"), 200, 1);
    let few = copy_faces(&shared, &t.path().join("few"), 8, 25);
    let (abl, sc) = (t.path().join("ablation"), t.path().join("scorecam"));
    let abl_script = array_script(&recipe, &shared, &faces, &abl, 4, "--method ablation");
    // Score-CAM parts of 2 faces (hidden test option), so a task has a finished part to
    // resume from; the default part (16 faces) would be the whole shard.
    let sc_script = array_script(
        &recipe,
        &shared,
        &few,
        &sc,
        2,
        "--method scorecam --part-size 2",
    );
    let abl_job = submit(&abl_script, &abl);
    let sc_job = submit(&sc_script, &sc);

    // Requeue Score-CAM task 1 once its first part is written: it is killed mid-run.
    let part = sc.join("shard-1/parts/000000.json");
    wait_for(&abl.join("shard-4/meta.json"), 900);
    eprintln!(
        "ablation task 4 started after {:.0} s",
        start.elapsed().as_secs_f64()
    );
    wait_for(&part, 900);
    let task = format!("{}_1", sc_job.0);
    sh(Command::new("scontrol").args(["requeue", &task]));
    eprintln!(
        "requeued {task} after {:.0} s",
        start.elapsed().as_secs_f64()
    );
    // Meanwhile (the requeued task waits ~10 s to restart), the single uninterrupted runs.
    run_whole(&abl_script, 4);
    run_whole(&sc_script, 2);
    eprintln!(
        "single runs done after {:.0} s",
        start.elapsed().as_secs_f64()
    );
    wait_done(&abl_job, 900);
    wait_done(&sc_job, 900);
    let slurm_secs = start.elapsed().as_secs_f64();

    let log = std::fs::read_to_string(sc.join("logs/task-1.out")).unwrap();
    eprintln!("Score-CAM task 1's log (both runs):\n{log}");
    assert!(
        log.contains("resuming") && log.contains("1 of 2 parts"),
        "task 1 did not resume from its finished part:\n{log}"
    );
    assert!(!part.exists(), "the finished store keeps no parts");
    assert_all_completed(&sacct(&abl_job, 4, false), 4);
    assert_all_completed(&sacct(&sc_job, 2, false), 2);
    let runs = sacct(&sc_job, 3, true);
    assert!(
        runs.iter()
            .any(|l| l.starts_with(&format!("{task}|REQUEUED"))),
        "{runs:?}"
    );
    for (run, n) in [(&abl, 4), (&sc, 2)] {
        let merged = merge(&merge_line, run, n);
        util::assert_same_files(&merged, &run.join("whole"));
        eprintln!(
            "byte-identical: {} and {}",
            merged.display(),
            run.join("whole").display()
        );
    }
    eprintln!(
        "slurm test: jobs and single runs done in {slurm_secs:.0} s, all checks in {:.0} s",
        start.elapsed().as_secs_f64()
    );
}
