//! Runs killed at random moments (issue 26): `amva quality`, `merge`, `analyze` and
//! `embed` are started on real faces and SIGKILLed at 20 moments drawn uniformly over
//! the length of a full run (seeded, the seed printed). After each kill the output must
//! be **absent** (nothing but hidden entries: the lock file, a staging folder; for
//! quality, no score file) or **complete** (every file, equal to an uninterrupted run's);
//! after an absent outcome a rerun into the same place must complete.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The seed of the kill moments.
const SEED: u64 = 26;
/// Kills per command.
const KILLS: usize = 20;
/// Faces per run: enough that writing takes a noticeable share of the run.
const FACES: usize = 48;
/// What the runs need from ../shared.
const DATA: &[&str] = &["models/fr_feature.onnx", "faces/lfw-dev/aligned112"];

/// What a killed run left.
#[derive(Debug, PartialEq)]
enum Left {
    Absent,
    Complete,
}

/// A command under test: its arguments for an output `out`, and how to judge what it
/// left there against the uninterrupted run's output `reference`.
struct Subject {
    name: &'static str,
    args: Box<dyn Fn(&Path) -> Vec<String>>,
    judge: fn(&Path, &Path) -> Result<Left, String>,
    /// The output's name for run `k` (a folder, or a score file).
    out_name: fn(&str) -> String,
}

#[test]
fn quality_killed_at_random_moments_leaves_no_score_file_or_a_whole_one() {
    let Some(w) = World::new(false) else { return };
    let faces = w.path("faces");
    w.kill_at_random(&Subject {
        name: "quality",
        args: Box::new(move |out| {
            strings(&["quality", "--fiqa", "magnitude", "--images"], &faces, out)
        }),
        judge: judge_quality,
        out_name: |k| format!("{k}.csv"),
    });
}

#[test]
fn embed_killed_at_random_moments_leaves_nothing_or_a_whole_folder() {
    let Some(w) = World::new(false) else { return };
    let faces = w.path("faces");
    w.kill_at_random(&Subject {
        name: "embed",
        args: Box::new(move |out| strings(&["embed", "--images"], &faces, out)),
        judge: |out, r| {
            let files = ["embeddings.npy", "index.csv", "failed.csv", "warnings.csv"];
            judge_folder(
                out,
                r,
                "meta.json",
                &files,
                &["embeddings.npy", "index.csv"],
            )
        },
        out_name: |k| k.to_string(),
    });
}

#[test]
fn merge_killed_at_random_moments_leaves_nothing_or_a_whole_store() {
    let Some(w) = World::new(true) else { return };
    let shards = [w.path("s1"), w.path("s2")];
    w.kill_at_random(&Subject {
        name: "merge",
        args: Box::new(move |out| {
            let mut a = vec!["merge".to_string()];
            a.extend(shards.iter().map(|s| s.display().to_string()));
            a.extend(["--out".to_string(), out.display().to_string()]);
            a
        }),
        judge: |out, r| {
            let files = ["maps.npy", "index.csv", "failed.csv", "warnings.csv"];
            judge_folder(out, r, "meta.json", &files, &["maps.npy", "index.csv"])
        },
        out_name: |k| k.to_string(),
    });
}

#[test]
fn analyze_killed_at_random_moments_leaves_nothing_or_a_whole_analysis() {
    let Some(w) = World::new(true) else { return };
    let (maps, scores) = (w.path("maps"), w.path("q.csv"));
    w.kill_at_random(&Subject {
        name: "analyze",
        args: Box::new(move |out| {
            let mut a = strings(&["analyze", "--maps"], &maps, out);
            a.extend(["--scores".into(), scores.display().to_string()]);
            a.extend(["--permutations".into(), "200".into()]);
            a
        }),
        judge: |out, r| {
            let files = [
                "report.html",
                "images.csv",
                "explorer.html",
                "figures",
                "arrays",
            ];
            judge_folder(out, r, "summary.json", &files, &["images.csv"])
        },
        out_name: |k| k.to_string(),
    });
}

/// A scene: real faces, and with `maps` a map store of them, its two shards and their
/// magnitude scores.
struct World {
    dir: tempfile::TempDir,
    shared: PathBuf,
}

impl World {
    fn new(maps: bool) -> Option<World> {
        let shared = amva_testkit::shared_with(DATA)?;
        let w = World {
            dir: tempfile::tempdir().unwrap(),
            shared,
        };
        w.copy_faces();
        if maps {
            let faces = w.path("faces");
            let act = ["maps", "--method", "activation", "--images"];
            w.must(&strings(&act, &faces, &w.path("maps")));
            for (i, s) in ["s1", "s2"].iter().enumerate() {
                let mut a = strings(&act, &faces, &w.path(s));
                a.extend(["--shard".into(), format!("{}/2", i + 1)]);
                w.must(&a);
            }
            let q = ["quality", "--fiqa", "magnitude", "--images"];
            w.must(&strings(&q, &faces, &w.path("q.csv")));
        }
        Some(w)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The first [`FACES`] aligned LFW faces (by path), flat in faces/.
    fn copy_faces(&self) {
        let src = self.shared.join("faces/lfw-dev/aligned112");
        let mut all: Vec<PathBuf> = std::fs::read_dir(&src)
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_dir())
            .flat_map(|d| {
                std::fs::read_dir(d.path())
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
            })
            .collect();
        all.sort();
        std::fs::create_dir_all(self.path("faces")).unwrap();
        for p in all.iter().take(FACES) {
            std::fs::copy(p, self.path("faces").join(p.file_name().unwrap())).unwrap();
        }
    }

    fn amva(&self, args: &[String]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_amva"));
        c.env("AMVA_MODELS", self.shared.join("models"))
            .arg("--quiet")
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// Runs `args` to the end; panics with its stderr unless it succeeds.
    fn must(&self, args: &[String]) {
        let out = self.amva(args).output().unwrap();
        assert!(
            out.status.success(),
            "amva {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The test itself (see the module's documentation).
    fn kill_at_random(&self, s: &Subject) {
        let reference = self.path(&(s.out_name)("reference"));
        let started = Instant::now();
        self.must(&(s.args)(&reference));
        let full = started.elapsed();
        assert_eq!((s.judge)(&reference, &reference), Ok(Left::Complete));
        let stream = s
            .name
            .bytes()
            .fold(SEED, |h, b| h.wrapping_mul(31) ^ b as u64);
        let mut rng = SplitMix(stream);
        let mut tally = [0usize; 2];
        for k in 0..KILLS {
            let out = self.path(&(s.out_name)(&k.to_string()));
            let at = full.mul_f64(1.1 * rng.unit());
            let args = (s.args)(&out);
            let mut cmd = self.amva(&args);
            let mut child = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(at);
            let _ = child.kill(); // SIGKILL; an error when it already ended
            child.wait().unwrap();
            let context = format!("{} killed at {at:?} (run {k}, seed {SEED})", s.name);
            let left = (s.judge)(&out, &reference).unwrap_or_else(|e| panic!("{context}: {e}"));
            tally[(left == Left::Complete) as usize] += 1;
            if left == Left::Absent {
                self.must(&args);
                let again = (s.judge)(&out, &reference);
                assert_eq!(again, Ok(Left::Complete), "{context}, then rerun");
            }
        }
        eprintln!(
            "{}: full run {full:?}; {KILLS} kills (seed {SEED}): {} absent (each rerun completed), {} complete",
            s.name, tally[0], tally[1]
        );
    }
}

/// `[head..., path, "--out", out]` as strings.
fn strings(head: &[&str], path: &Path, out: &Path) -> Vec<String> {
    let mut a: Vec<String> = head.iter().map(|s| s.to_string()).collect();
    a.extend([
        path.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ]);
    a
}

/// A score file and its companions: no score file is absent (companions written before
/// it may be there); a score file must come with them and equal the reference's.
fn judge_quality(out: &Path, reference: &Path) -> Result<Left, String> {
    if !out.exists() {
        return Ok(Left::Absent);
    }
    for ext in ["meta.json", "failed.csv", "warnings.csv"] {
        let p = out.with_extension(ext);
        if !p.is_file() {
            return Err(format!("{} without {}", out.display(), p.display()));
        }
    }
    same(out, reference)?;
    Ok(Left::Complete)
}

/// A folder output: only hidden entries is absent; with its marker it must hold every
/// one of `files`, and `equal` must equal the reference's.
fn judge_folder(
    out: &Path,
    reference: &Path,
    marker: &str,
    files: &[&str],
    equal: &[&str],
) -> Result<Left, String> {
    let visible: Vec<String> = match std::fs::read_dir(out) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect(),
        Err(_) => Vec::new(),
    };
    if visible.is_empty() {
        return Ok(Left::Absent);
    }
    if !out.join(marker).is_file() {
        return Err(format!(
            "{} holds {visible:?} but no {marker}",
            out.display()
        ));
    }
    for f in files {
        if !out.join(f).exists() {
            return Err(format!("{} has {marker} but no {f}", out.display()));
        }
    }
    for f in equal {
        same(&out.join(f), &reference.join(f))?;
    }
    Ok(Left::Complete)
}

/// The two files hold the same bytes.
fn same(a: &Path, b: &Path) -> Result<(), String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    if read(a)? != read(b)? {
        return Err(format!("{} differs from {}", a.display(), b.display()));
    }
    Ok(())
}

/// SplitMix64: the kill moments, reproducible from [`SEED`].
struct SplitMix(u64);

impl SplitMix {
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}
