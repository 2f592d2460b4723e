//! `amva bench analyze`: time and peak memory of `analyze` on many synthetic maps.
//!
//! Memory is the point: MAM/AM-V state is a fixed Welford accumulator per group, and
//! median/MAD columns live in a fixed budget (more maps = more passes, not more memory).
//! `--sizes 10000,100000` runs each size in a fresh process (peak RSS is per process)
//! and prints the ratios against the smallest.

use crate::common::{Tagged, Ui};
use amva_analysis::AnalyzeOptions;
use anyhow::{Context, Result};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  amva bench analyze --n 100000
  amva bench analyze --sizes 10000,100000 --memory 128")]
pub struct Args {
    /// Number of synthetic 7 x 7 maps (finished to 112 x 112).
    #[arg(long, default_value_t = 100_000)]
    pub n: usize,
    /// Several sizes, each in its own process; prints peak RSS and time ratios.
    #[arg(long, value_delimiter = ',', value_name = "N,N,...")]
    pub sizes: Vec<usize>,
    /// Memory budget for the median/MAD columns, MiB.
    #[arg(long, default_value_t = 256, value_name = "MIB")]
    pub memory: usize,
    /// Quality bins besides top/bottom 10% (0: none).
    #[arg(long, default_value_t = 10, value_name = "B")]
    pub bins: usize,
    /// Permutations of the outside-AM-V test.
    #[arg(long, default_value_t = 1000)]
    pub permutations: usize,
    /// Also render the figures, report.html and explorer.html, and time the explorer in
    /// headless Chromium (until its table is interactive).
    #[arg(long)]
    pub figures: bool,
    /// Chromium for the explorer's timing (with --figures).
    #[arg(long, default_value = "/usr/bin/chromium", value_name = "PATH")]
    pub chromium: PathBuf,
    /// Working folder (default: a new folder under the system temp dir, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Peak resident set size of this process in KiB (VmHWM), if the OS tells.
pub fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn one(a: &Args, ui: &Ui) -> Result<Record> {
    let dir = a.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("amva-bench-analyze-{}", std::process::id()))
    });
    let store = dir.join("maps");
    let t0 = std::time::Instant::now();
    let scores = amva_analysis::synthetic::write_synthetic_store(&store, a.n, 20220104)
        .with_context(|| format!("writing synthetic maps to {}", store.display()))?;
    let gen_secs = t0.elapsed().as_secs_f64();
    let rss_before = peak_rss_kib();
    let mut opts = AnalyzeOptions::new(&store, vec![scores], dir.join("out"));
    opts.rules.bins = (a.bins > 0).then_some(a.bins);
    opts.budget_bytes = a.memory << 20;
    opts.permutations = a.permutations;
    let shown = amva_report::ReportOptions {
        figures: a.figures,
        ..amva_report::ReportOptions::default()
    };
    let t1 = std::time::Instant::now();
    let outcome = ui.analyze(&opts, &shown)?;
    let secs = t1.elapsed().as_secs_f64();
    let rss = peak_rss_kib();
    let p = &outcome.passes;
    let m = outcome.summary.methods.get("scores");
    let out = dir.join("out");
    let explorer = if a.figures {
        Some(explorer_timing(&out, &a.chromium)?)
    } else {
        None
    };
    let outside = |g: Option<&amva_analysis::summary::GroupSummary>| {
        g.and_then(|g| g.region.amv).map(|r| r.outside)
    };
    let v = Record {
        command: "bench analyze".into(),
        n: a.n,
        seconds: secs,
        generate_seconds: gen_secs,
        maps_per_second: p.maps_finished as f64 / secs,
        passes: p.passes,
        maps_finished: p.maps_finished,
        block_pixels: p.block_pixels,
        welford_bytes: p.welford_bytes,
        column_bytes: p.column_bytes,
        memory_budget_bytes: opts.budget_bytes,
        peak_rss_kib_before_analysis: rss_before,
        peak_rss_kib: rss,
        groups: 2 + a.bins,
        threads: rayon::current_num_threads(),
        p_value: m.and_then(|m| m.permutation_test.run()).map(|t| t.p_value),
        outside_amv_high: outside(m.and_then(|m| m.high())),
        outside_amv_low: outside(m.and_then(|m| m.low())),
        explorer,
    };
    if a.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(v)
}

/// One run's figures: printed with --json, read back by the parent of a size sweep.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Record {
    command: String,
    n: usize,
    seconds: f64,
    generate_seconds: f64,
    maps_per_second: f64,
    passes: usize,
    maps_finished: u64,
    block_pixels: usize,
    welford_bytes: usize,
    column_bytes: usize,
    memory_budget_bytes: usize,
    peak_rss_kib_before_analysis: Option<u64>,
    peak_rss_kib: Option<u64>,
    groups: usize,
    threads: usize,
    p_value: Option<f64>,
    outside_amv_high: Option<f64>,
    outside_amv_low: Option<f64>,
    explorer: Option<ExplorerTiming>,
}

/// The output folder's size and how soon the explorer can be used.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct ExplorerTiming {
    /// Bytes of the whole output folder.
    output_bytes: u64,
    /// Bytes of explorer.html and explorer/.
    explorer_bytes: u64,
    /// Files in explorer/.
    explorer_files: usize,
    /// Bytes of report.html.
    report_bytes: u64,
    /// report.html's first contentful paint and end of load, in ms from navigation
    /// start, if Chromium ran.
    report_paint_ms: Option<(f64, f64)>,
    /// From navigation start until the table is built and handles events (the page's
    /// own `performance.now()` when it is ready), if Chromium ran.
    interactive_ms: Option<f64>,
    /// Why there is no interactive time.
    note: Option<String>,
}

fn dir_size(path: &std::path::Path) -> (u64, usize) {
    let mut total = (0, 0);
    if let Ok(rd) = std::fs::read_dir(path) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                let (b, n) = dir_size(&p);
                total = (total.0 + b, total.1 + n);
            } else if let Ok(m) = e.metadata() {
                total = (total.0 + m.len(), total.1 + 1);
            }
        }
    }
    total
}

/// Opens `out/explorer.html` in headless Chromium and waits until its table is ready;
/// then sorts by the score column with a real click, to check it responds.
fn explorer_timing(out: &std::path::Path, chromium: &std::path::Path) -> Result<ExplorerTiming> {
    let page = out.join(amva_report::explorer::PAGE);
    let (output_bytes, _) = dir_size(out);
    let (dir_bytes, explorer_files) = dir_size(&out.join(amva_report::explorer::DIR));
    let page_bytes = std::fs::metadata(&page).map(|m| m.len()).unwrap_or(0);
    let report = out.join(amva_analysis::files::REPORT);
    let mut t = ExplorerTiming {
        output_bytes,
        explorer_bytes: dir_bytes + page_bytes,
        explorer_files,
        report_bytes: std::fs::metadata(&report).map(|m| m.len()).unwrap_or(0),
        report_paint_ms: None,
        interactive_ms: None,
        note: None,
    };
    if !chromium.exists() {
        t.note = Some(format!(
            "{} not found: the interactive time was not measured",
            chromium.display()
        ));
        return Ok(t);
    }
    let run = || -> amva_browser::Result<f64> {
        let mut b = amva_browser::Browser::launch(chromium)?;
        let page = page.canonicalize().map_err(|e| e.to_string())?;
        b.open(&format!("file://{}", page.display()))?;
        let ms = b
            .wait_for("window.amvaReady", 60.0)?
            .as_f64()
            .unwrap_or(f64::NAN);
        b.click("#head div[data-col='scores.score']")?;
        let sorted = b.eval("window.amvaOrder().length")?;
        let errors = b.errors();
        if !errors.is_empty() || sorted.as_u64().unwrap_or(0) == 0 {
            return Err(format!(
                "the explorer did not work: {errors:?}, {sorted} rows"
            ));
        }
        Ok(ms)
    };
    match run() {
        Ok(ms) => t.interactive_ms = Some(ms),
        Err(e) => anyhow::bail!("explorer in headless Chromium: {e}"),
    }
    let paint = || -> amva_browser::Result<(f64, f64)> {
        let mut b = amva_browser::Browser::launch(chromium)?;
        let page = report.canonicalize().map_err(|e| e.to_string())?;
        b.open(&format!("file://{}", page.display()))?;
        b.paint_timing()
    };
    t.report_paint_ms =
        Some(paint().map_err(|e| anyhow::anyhow!("report.html in headless Chromium: {e}"))?);
    Ok(t)
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    if a.sizes.is_empty() {
        let v = one(&a, ui)?;
        let mib = |k: Option<u64>| {
            k.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
                .unwrap_or_else(|| "unknown".into())
        };
        println!(
            "n = {}: {:.1} s ({} passes, {:.0} maps finished/s, {} threads); Welford state {:.1} MiB for {} groups (independent of n); median/MAD columns {:.1} MiB (budget {} MiB); peak RSS {} (after generating the data: {})",
            a.n,
            v.seconds,
            v.passes,
            v.maps_per_second,
            v.threads,
            v.welford_bytes as f64 / 1048576.0,
            v.groups,
            v.column_bytes as f64 / 1048576.0,
            a.memory,
            mib(v.peak_rss_kib),
            mib(v.peak_rss_kib_before_analysis),
        );
        if let Some(e) = &v.explorer {
            println!(
                "explorer: output folder {:.1} MB (explorer {:.1} MB in {} files); table interactive after {} ms in headless Chromium",
                e.output_bytes as f64 / 1e6,
                e.explorer_bytes as f64 / 1e6,
                e.explorer_files,
                e.interactive_ms.map_or_else(|| e.note.clone().unwrap_or_default(), |ms| format!("{ms:.0}")),
            );
            if let Some((paint, load)) = e.report_paint_ms {
                println!(
                    "report.html: {:.2} MB, first contentful paint {paint:.0} ms, loaded {load:.0} ms in headless Chromium ({})",
                    e.report_bytes as f64 / 1e6,
                    amva_model::calibrate::cpu_model()
                );
            }
        }
        ui.summary("bench analyze done", serde_json::to_value(&v)?);
        return Ok(());
    }
    // Each size in a fresh process: VmHWM never goes down within one.
    let exe = std::env::current_exe()?;
    let mut results: Vec<Record> = Vec::new();
    for &n in &a.sizes {
        let mut c = std::process::Command::new(&exe);
        c.args([
            "--json",
            "--quiet",
            "bench",
            "analyze",
            "--n",
            &n.to_string(),
            "--memory",
            &a.memory.to_string(),
            "--bins",
            &a.bins.to_string(),
            "--permutations",
            &a.permutations.to_string(),
        ]);
        if a.figures {
            c.arg("--figures");
        }
        let out = c.output()?;
        anyhow::ensure!(
            out.status.success(),
            "bench analyze --n {n} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().last().unwrap_or("");
        let v: Record = serde_json::from_str(line)
            .with_context(|| format!("bench analyze --n {n} printed {line:?}"))?;
        results.push(v);
    }
    let base = &results[0];
    let rss = |v: &Record| v.peak_rss_kib.map_or(f64::NAN, |k| k as f64);
    println!(
        "{:>9} {:>9} {:>7} {:>12} {:>14} {:>12} {:>10}",
        "maps", "seconds", "passes", "Welford MiB", "columns MiB", "peak RSS MiB", "RSS ratio"
    );
    // Statistic state is fixed; what grows with n is per-image bookkeeping (ids, scores,
    // group lists, the permutation test's 50 numbers per pooled image).
    for v in &results {
        println!(
            "{:>9} {:>9.1} {:>7} {:>12.1} {:>14.1} {:>12.1} {:>9.2}x",
            v.n,
            v.seconds,
            v.passes,
            v.welford_bytes as f64 / 1048576.0,
            v.column_bytes as f64 / 1048576.0,
            rss(v) / 1024.0,
            rss(v) / rss(base)
        );
    }
    ui.summary(
        "bench analyze done",
        Tagged::new("bench analyze", &Runs { runs: &results }),
    );
    Ok(())
}

/// The summary of a size sweep (`amva bench analyze --sizes ... --json`).
#[derive(serde::Serialize)]
struct Runs<'a> {
    runs: &'a [Record],
}
