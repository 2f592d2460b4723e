//! `--engine auto` by measurement. Which engine is faster depends on the CPU (ENGINES.md:
//! ONNX Runtime 3x faster than tract on an AMD EPYC pair of cores, 4x slower on an Intel
//! Xeon pair), so the first time a model is run with `auto` on a machine, every usable
//! engine and configuration that matters is timed for a moment on the real graph, the
//! figures are cached in `$AMVA_HOME/engine-calibration.json`, and the fastest is used.
//!
//! The cache key is (CPU model, amva + engine versions, model SHA-256, net input shape and
//! outputs): a new CPU, a new ONNX Runtime or another model calibrates again.
//!
//! A calibration starts wherever a net is opened with `auto`, below every caller, so its
//! progress (info: each configuration's figure) and trouble with the cache (warn) go
//! through the `log` facade rather than a callback; the binary's logger prints them.

use crate::backend::{cores, Backend, EngineKind};
pub use crate::backend::{EngineConfig, OrtOptimization, OrtSettings};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tract_onnx::pb::ModelProto;

/// The tract version amva is built with (pinned `=0.23.9` in the workspace Cargo.toml).
pub const TRACT_VERSION: &str = "0.23.9";
/// Time each configuration runs for once warmed up.
const BUDGET: Duration = Duration::from_millis(600);
const FILE: &str = "engine-calibration.json";
/// Idle share of the cores above which a machine counts as quiet.
pub const QUIET: f64 = 0.8;

/// The configuration a net runs with and why it was chosen (printed in run summaries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineChoice {
    pub config: EngineConfig,
    pub reason: String,
}

/// What a calibration is valid for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalibrationKey {
    pub cpu: String,
    pub amva: String,
    pub tract: String,
    pub ort: Option<String>,
    pub model_sha256: String,
    /// The net: input item shape and output tensor names.
    pub net: String,
}

/// One configuration's measured throughput.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub config: EngineConfig,
    pub images_per_s: f64,
}

/// A cached calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub key: CalibrationKey,
    /// Unix time of the measurement.
    pub measured_at: u64,
    pub model: PathBuf,
    /// Idle share of the cores just before the measurement (None: unknown). Below
    /// [`QUIET`] the calibration is provisional: used, and redone by the first run that
    /// finds the machine quiet.
    #[serde(default)]
    pub idle: Option<f64>,
    pub measured: Vec<Measurement>,
    pub choice: EngineConfig,
}

impl Calibration {
    /// Why this entry cannot be used, if it cannot.
    fn invalid(&self) -> Option<String> {
        let configs = self.measured.iter().map(|m| &m.config);
        if let Some(c) = std::iter::once(&self.choice)
            .chain(configs)
            .find(|c| !(1..=MAX_BATCH).contains(&c.batch))
        {
            return Some(format!("batch {} outside 1..={MAX_BATCH}", c.batch));
        }
        if let Some(m) = self
            .measured
            .iter()
            .find(|m| !(m.images_per_s.is_finite() && m.images_per_s > 0.0))
        {
            return Some(format!("{} images/s is not a measurement", m.images_per_s));
        }
        None
    }

    /// Measured while other work held the cores.
    pub fn provisional(&self) -> bool {
        self.idle.is_some_and(|i| i < QUIET)
    }

    /// Figures of the chosen configuration and of the best of every other engine.
    pub fn explain(&self) -> String {
        let best = |k: EngineKind| {
            self.measured
                .iter()
                .filter(|m| m.config.engine == k)
                .max_by(|a, b| a.images_per_s.total_cmp(&b.images_per_s))
        };
        let mut parts = vec![];
        for k in [EngineKind::Tract, EngineKind::Ort] {
            if let Some(m) = best(k) {
                parts.push(format!("{} {:.1} images/s", m.config, m.images_per_s));
            }
        }
        format!(
            "auto: fastest in this machine's calibration ({}): {}",
            self.key.cpu,
            parts.join(" vs ")
        )
    }

    fn to_choice(&self) -> EngineChoice {
        EngineChoice {
            config: self.choice,
            reason: self.explain(),
        }
    }
}

/// The net a calibration times: the edited graph and what it takes and gives.
pub struct NetSpec<'a> {
    pub proto: &'a ModelProto,
    pub path: &'a Path,
    /// SHA-256 of the model file, as loaded (not hashed again per net).
    pub sha256: &'a str,
    pub item_shape: &'a [usize],
    pub outputs: &'a [String],
}

/// The CPU model from /proc/cpuinfo (or the architecture where there is none).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// The cache file.
pub fn cache_file() -> Result<PathBuf> {
    Ok(amva_io::cache::cache_dir()?.join(FILE))
}

/// Every cached calibration (none when the file is missing or unreadable).
pub fn cached() -> Vec<Calibration> {
    let Ok(path) = cache_file() else {
        return Vec::new();
    };
    let Ok(bytes) = std::fs::read(&path) else {
        return Vec::new();
    };
    let (valid, dropped) = parse_cache(&bytes);
    for why in dropped {
        warn_once(format!(
            "{}: {why}; left out (measured again when needed)",
            path.display()
        ));
    }
    valid
}

/// Logs `text` as a warning the first time this process says it: the cache is read
/// more than once per run, its faults are said once.
fn warn_once(text: String) {
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.contains(&text) {
        log::warn!("{text}");
        said.push(text);
    }
}

/// The valid entries of a calibration cache, and why each other one was left out: an
/// entry that does not parse, names a batch outside 1..=[`MAX_BATCH`], or holds a
/// figure that is not a positive number. A file that is not a JSON list keeps nothing.
pub fn parse_cache(bytes: &[u8]) -> (Vec<Calibration>, Vec<String>) {
    let entries: Vec<serde_json::Value> = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return (Vec::new(), vec![format!("not a calibration cache ({e})")]),
    };
    let (mut valid, mut dropped) = (Vec::new(), Vec::new());
    for (i, v) in entries.into_iter().enumerate() {
        match serde_json::from_value::<Calibration>(v) {
            Ok(c) => match c.invalid() {
                None => valid.push(c),
                Some(why) => dropped.push(format!("entry {i}: {why}")),
            },
            Err(e) => dropped.push(format!("entry {i} does not parse ({e})")),
        }
    }
    (valid, dropped)
}

/// The largest batch a calibration may name (the candidates use 1 and 8).
pub const MAX_BATCH: usize = 64;

pub fn key(net: &NetSpec) -> Result<CalibrationKey> {
    Ok(CalibrationKey {
        cpu: cpu_model(),
        amva: env!("CARGO_PKG_VERSION").into(),
        tract: TRACT_VERSION.into(),
        ort: crate::runtime::ort_version(),
        model_sha256: net.sha256.to_string(),
        net: format!("{:?} -> {}", net.item_shape, net.outputs.join(",")),
    })
}

/// The configuration for `--engine kind`: explicit engines win (ORT with its best
/// calibrated settings when there are any); `auto` uses the cached calibration or makes one.
pub(crate) fn choose(kind: EngineKind, net: &NetSpec) -> Result<EngineChoice> {
    match kind {
        EngineKind::Tract => Ok(EngineChoice {
            config: EngineConfig::tract(1),
            reason: "--engine tract".into(),
        }),
        EngineKind::Ort => Ok(explicit_ort(net)),
        EngineKind::Auto => auto(net),
    }
}

fn explicit_ort(net: &NetSpec) -> EngineChoice {
    let best = key(net).ok().and_then(|k| {
        let cal = cached().into_iter().find(|c| c.key == k)?;
        cal.measured
            .into_iter()
            .filter(|m| m.config.engine == EngineKind::Ort)
            .max_by(|a, b| a.images_per_s.total_cmp(&b.images_per_s))
    });
    match best {
        Some(m) => EngineChoice {
            config: m.config,
            reason: format!(
                "--engine ort, with the settings this machine's calibration measured fastest ({:.1} images/s)",
                m.images_per_s
            ),
        },
        None => EngineChoice {
            config: EngineConfig::ort(OrtSettings::per_core(), 8),
            reason: "--engine ort (not calibrated: default settings)".into(),
        },
    }
}

/// `auto`: the configuration the calibration for this net names; when another run has
/// held the calibration lock for [`LOCK_WAIT`], tract with its default settings, said so
/// (this run then measures nothing and writes no cache).
pub(crate) fn auto(net: &NetSpec) -> Result<EngineChoice> {
    match calibration(net, false) {
        Ok(c) => Ok(usable(c)),
        Err(Error::CalibrationBusy {
            holder, seconds, ..
        }) => {
            log::warn!(
                "the engine calibration lock is still held by {holder} after {seconds} s: going on uncalibrated, with tract at batch 1"
            );
            Ok(EngineChoice {
                config: EngineConfig::tract(1),
                reason: format!(
                    "auto: not calibrated ({holder} held the calibration lock); tract's default settings"
                ),
            })
        }
        Err(e) => Err(e),
    }
}

/// How long a run waits for another run's calibration before it goes on without one.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The cached calibration for this key, else a new one (under a lock, so that parallel
/// runs measure once and not against each other). `redo` measures again. A cache that
/// cannot be written costs a calibration per run, not the run.
pub fn calibration(net: &NetSpec, redo: bool) -> Result<Calibration> {
    let k = key(net)?;
    let find = |k: &CalibrationKey| cached().into_iter().find(|c| &c.key == k);
    if !redo {
        match find(&k) {
            Some(c) if !c.provisional() => return Ok(c),
            Some(c) if idle_share(Duration::from_millis(250)).is_none_or(|i| i < QUIET) => {
                return Ok(c)
            }
            _ => {}
        }
    }
    let file = cache_file()?;
    let lock = lock(&file, LOCK_WAIT);
    match &lock {
        Err(e) => log::warn!("cannot lock the engine calibration cache: {e}"),
        Ok(Locked::Busy(holder)) => {
            return Err(Error::CalibrationBusy {
                path: file.with_extension("lock"),
                holder: holder.clone(),
                seconds: LOCK_WAIT.as_secs(),
            })
        }
        Ok(Locked::Held(_)) => {}
    }
    if !redo {
        // Another run may have measured while this one waited for the lock.
        if let Some(c) = find(&k).filter(|c| !c.provisional()) {
            return Ok(c);
        }
    }
    log::info!(
        "calibrating engines for {} on {} (once per model and machine; cached in {})",
        net.path.display(),
        k.cpu,
        file.display()
    );
    let cal = measure(net, k)?;
    if let Err(e) = store(&file, &cal) {
        log::warn!("the engine calibration is not cached: {e}");
    }
    Ok(cal)
}

/// A cached choice of ORT whose library no longer loads falls back to tract, saying so.
fn usable(c: Calibration) -> EngineChoice {
    if c.choice.engine == EngineKind::Ort && !crate::runtime::ort_available() {
        return EngineChoice {
            config: EngineConfig::tract(1),
            reason: "auto: the calibrated choice, ONNX Runtime, does not load now; tract".into(),
        };
    }
    c.to_choice()
}

/// The calibration lock: held by this run (released when the file is dropped), or still
/// busy after the wait, with who holds it.
enum Locked {
    Held(#[allow(dead_code)] std::fs::File),
    Busy(String),
}

/// Takes the lock beside `file`, writing this run's pid into it. When another run holds
/// it, says so at once (naming that run's pid) and waits up to `wait`.
fn lock(file: &Path, wait: Duration) -> Result<Locked> {
    use std::io::Write;
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let lock_path = file.with_extension("lock");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io(&lock_path, e))?;
    let start = std::time::Instant::now();
    let mut told = false;
    loop {
        match f.try_lock() {
            Ok(()) => {
                // Who holds it, for the runs that wait (best effort).
                let _ = f
                    .set_len(0)
                    .and_then(|_| write!(f, "pid {}", std::process::id()));
                return Ok(Locked::Held(f));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&lock_path)
                    .ok()
                    .filter(|h| h.starts_with("pid "))
                    .unwrap_or_else(|| "an unknown process".into());
                if !told {
                    log::warn!(
                        "waiting for the engine calibration lock {} held by {holder} (up to {} s)",
                        lock_path.display(),
                        wait.as_secs()
                    );
                    told = true;
                }
                if start.elapsed() >= wait {
                    return Ok(Locked::Busy(holder));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&lock_path, e)),
        }
    }
}

fn io(path: &Path, e: std::io::Error) -> Error {
    amva_io::Error::Io {
        path: path.into(),
        source: e,
    }
    .into()
}

fn store(file: &Path, cal: &Calibration) -> Result<()> {
    let mut all: Vec<Calibration> = cached().into_iter().filter(|c| c.key != cal.key).collect();
    all.push(cal.clone());
    Ok(amva_io::atomic::write_json(file, &all)?)
}

/// The configurations worth timing: tract at batch 1 and 8; ONNX Runtime at both
/// optimisation levels, with one-thread sessions per core or one session of all cores.
pub fn candidates(ort: bool) -> Vec<EngineConfig> {
    let mut v = vec![EngineConfig::tract(1), EngineConfig::tract(8)];
    if ort {
        let n = cores();
        for optimization in [OrtOptimization::Basic, OrtOptimization::All] {
            for (sessions, threads) in [(n, 1), (1, n)] {
                let s = OrtSettings {
                    optimization,
                    sessions,
                    threads,
                };
                v.push(EngineConfig::ort(s, 8));
                v.push(EngineConfig::ort(s, 1));
            }
        }
    }
    v
}

fn measure(net: &NetSpec, key: CalibrationKey) -> Result<Calibration> {
    let idle = idle_share(Duration::from_millis(500));
    if let Some(i) = idle.filter(|&i| i < QUIET) {
        log::info!(
            "  the cores are busy ({:.0} % idle): this calibration is provisional and is redone once the machine is quiet",
            100.0 * i
        );
    }
    let mut measured = vec![];
    let mut failures = Vec::new();
    for config in candidates(key.ort.is_some()) {
        let timed = crate::runtime::backend(net.proto, net.path, net.item_shape, &config)
            .and_then(|b| throughput(b.as_ref(), net.item_shape, config.batch));
        let images_per_s = match timed {
            Ok(r) => r,
            Err(e) => {
                log::info!("  {config}: failed, left out ({e})");
                failures.push(format!("{config}: {e}"));
                continue;
            }
        };
        log::info!("  {config}: {images_per_s:.1} images/s");
        measured.push(Measurement {
            config,
            images_per_s,
        });
    }
    let choice = fastest(&measured).ok_or_else(|| Error::Load {
        path: net.path.into(),
        reason: format!(
            "no engine runs this model; the first try: {}",
            failures.first().map_or("no engine to try", String::as_str)
        ),
    })?;
    Ok(Calibration {
        key,
        measured_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        model: net.path.into(),
        idle,
        measured,
        choice,
    })
}

/// Idle share of all cores over `over`, from /proc/stat (None where it is missing). The
/// load average is no guide: a VM showed 1.4 on 2 cores while they were 100 % idle.
pub fn idle_share(over: Duration) -> Option<f64> {
    let before = std::fs::read_to_string("/proc/stat").ok()?;
    std::thread::sleep(over);
    let after = std::fs::read_to_string("/proc/stat").ok()?;
    idle_between(&before, &after)
}

/// Idle share between two readings of /proc/stat (the aggregate `cpu` line: user nice
/// system idle iowait irq softirq steal ...; idle and iowait count as idle).
pub fn idle_between(before: &str, after: &str) -> Option<f64> {
    let fields = |s: &str| -> Option<Vec<u64>> {
        let line = s.lines().find(|l| l.starts_with("cpu "))?;
        line.split_whitespace()
            .skip(1)
            .map(|v| v.parse().ok())
            .collect()
    };
    let (a, b) = (fields(before)?, fields(after)?);
    let total: u64 = b.iter().zip(&a).map(|(x, y)| x.saturating_sub(*y)).sum();
    let idle = (3..5)
        .filter_map(|i| Some(b.get(i)?.saturating_sub(*a.get(i)?)))
        .sum::<u64>();
    (total > 0).then(|| idle as f64 / total as f64)
}

/// The configuration with the highest throughput.
pub fn fastest(measured: &[Measurement]) -> Option<EngineConfig> {
    measured
        .iter()
        .max_by(|a, b| a.images_per_s.total_cmp(&b.images_per_s))
        .map(|m| m.config)
}

/// Images per second with every core running batches of `batch`, as callers run them.
fn throughput(backend: &dyn Backend, item_shape: &[usize], batch: usize) -> Result<f64> {
    let per: usize = item_shape.iter().product();
    let input = vec![0.1f32; per * batch];
    let mut shape = vec![batch];
    shape.extend_from_slice(item_shape);
    backend.run(&input, &shape)?; // warm-up: tract builds its plan for this batch here
    let done = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..cores())
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    loop {
                        backend.run(&input, &shape)?;
                        done.fetch_add(batch, Ordering::Relaxed);
                        if start.elapsed() >= BUDGET {
                            return Ok(());
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("calibration worker panicked"))
    })?;
    Ok(done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(config: EngineConfig, images_per_s: f64) -> Measurement {
        Measurement {
            config,
            images_per_s,
        }
    }

    #[test]
    fn the_fastest_configuration_wins_whatever_its_engine() {
        let ort = EngineConfig::ort(OrtSettings::per_core(), 8);
        assert_eq!(
            fastest(&[m(EngineConfig::tract(1), 142.0), m(ort, 36.0)]),
            Some(EngineConfig::tract(1))
        );
        assert_eq!(
            fastest(&[m(EngineConfig::tract(1), 94.0), m(ort, 288.0)]),
            Some(ort)
        );
        assert_eq!(fastest(&[]), None);
    }

    #[test]
    fn candidates_cover_both_optimisation_levels_and_thread_layouts() {
        assert_eq!(candidates(false).len(), 2);
        let c = candidates(true);
        for o in [OrtOptimization::Basic, OrtOptimization::All] {
            assert!(c
                .iter()
                .any(|c| c.ort.is_some_and(|s| s.optimization == o && s.threads == 1)));
            assert!(c.iter().any(|c| c
                .ort
                .is_some_and(|s| s.optimization == o && s.sessions == 1)));
        }
    }

    #[test]
    fn idle_share_counts_idle_and_iowait_of_the_aggregate_line() {
        let a = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n";
        // +60 user, +20 system, +100 idle, +20 iowait: 120 of 200 idle.
        let b = "cpu  160 0 70 900 70 0 0 0 0 0\ncpu0 9 9 9 9\n";
        assert!((idle_between(a, b).unwrap() - 0.6).abs() < 1e-12);
        assert_eq!(idle_between(a, a), None);
        assert_eq!(idle_between("intr 1", b), None);
    }

    #[test]
    fn a_calibration_round_trips_through_json() {
        let cal = Calibration {
            key: CalibrationKey {
                cpu: "x".into(),
                amva: "0".into(),
                tract: TRACT_VERSION.into(),
                ort: Some("1.32.0".into()),
                model_sha256: "ab".into(),
                net: "[3, 112, 112] -> 507".into(),
            },
            measured_at: 1,
            model: "m.onnx".into(),
            idle: Some(0.97),
            measured: vec![m(EngineConfig::tract(1), 10.0)],
            choice: EngineConfig::ort(OrtSettings::per_core(), 8),
        };
        let text = serde_json::to_string(&cal).unwrap();
        assert!(text.contains("\"engine\":\"ort\""), "{text}");
        let back: Calibration = serde_json::from_str(&text).unwrap();
        assert_eq!(back, cal);
    }
}

#[cfg(test)]
mod lock_tests {
    use super::*;

    /// Issue 26, row 9: a cache naming batch 100000 was used as it is, and a corrupt
    /// entry dropped every other model's entries silently.
    #[test]
    fn cache_entries_are_checked_one_by_one() {
        let good = Calibration {
            key: CalibrationKey {
                cpu: "cpu".into(),
                amva: "0".into(),
                tract: "0".into(),
                ort: None,
                model_sha256: "a".into(),
                net: "n".into(),
            },
            measured_at: 1,
            model: "m.onnx".into(),
            idle: None,
            measured: vec![Measurement {
                config: EngineConfig::tract(1),
                images_per_s: 100.0,
            }],
            choice: EngineConfig::tract(1),
        };
        let mut huge = good.clone();
        huge.choice.batch = 100_000;
        let mut nan = good.clone();
        nan.measured[0].images_per_s = -5.0;
        let mut list = serde_json::to_value(vec![good.clone(), huge, nan]).unwrap();
        list.as_array_mut()
            .unwrap()
            .push(serde_json::json!({"key": 3}));
        let (valid, dropped) = parse_cache(serde_json::to_string(&list).unwrap().as_bytes());
        assert_eq!(valid.len(), 1);
        assert_eq!(valid[0].key, good.key);
        assert_eq!(dropped.len(), 3, "{dropped:?}");
        assert!(
            dropped[0].contains("batch 100000 outside 1..=64"),
            "{dropped:?}"
        );
        assert!(dropped[1].contains("not a measurement"), "{dropped:?}");
        assert!(
            dropped[2].starts_with("entry 3 does not parse"),
            "{dropped:?}"
        );
        let (valid, dropped) = parse_cache(b"{ not json");
        assert!(valid.is_empty() && dropped[0].starts_with("not a calibration cache"));
    }

    /// Issue 26, row 7: a run waited forever, silently, for a calibration lock held by a
    /// stopped run. Now the second taker learns who holds it and gives up after the wait.
    #[test]
    fn a_held_calibration_lock_names_its_holder_and_the_wait_ends() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("calibration.json");
        let first = lock(&file, Duration::from_millis(10)).unwrap();
        assert!(matches!(first, Locked::Held(_)));
        let t = std::time::Instant::now();
        match lock(&file, Duration::from_millis(300)).unwrap() {
            Locked::Busy(holder) => {
                assert_eq!(holder, format!("pid {}", std::process::id()))
            }
            Locked::Held(_) => panic!("the lock was taken twice"),
        }
        assert!(t.elapsed() >= Duration::from_millis(300));
        drop(first);
        assert!(matches!(
            lock(&file, Duration::from_millis(10)).unwrap(),
            Locked::Held(_)
        ));
    }
}
