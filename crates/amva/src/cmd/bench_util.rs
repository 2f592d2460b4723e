//! What every benchmark shares: the machine line printed above each table, the inputs,
//! and the median of timed rounds.

use anyhow::Result;
use std::path::PathBuf;
/// The machine a figure was measured on: its CPU model, and how idle its cores were over
/// one second before the run. Idleness is sampled from /proc/stat, never read from the
/// load average: a VM showed a load of 1.4 while its cores were 100 % idle.
pub struct Machine {
    pub cpu: String,
    /// Idle share of all cores (0-1), None where /proc/stat is missing.
    pub idle: Option<f64>,
}

impl Machine {
    pub fn sample() -> Self {
        let idle = amva_model::calibrate::idle_share(std::time::Duration::from_secs(1));
        Machine {
            cpu: amva_model::calibrate::cpu_model(),
            idle,
        }
    }

    /// Other work held more than a fifth of the cores.
    pub fn busy(&self) -> bool {
        self.idle.is_some_and(|i| i < amva_model::calibrate::QUIET)
    }

    pub fn line(&self) -> String {
        let idle = match self.idle {
            Some(i) => format!("{:.0} % idle over the second before", 100.0 * i),
            None => "idle time unknown".into(),
        };
        let warn = if self.busy() {
            "; BUSY: other work shares the cores, the figures below are unreliable"
        } else {
            ""
        };
        format!(
            "machine: {} ({} cores, {idle}{warn})",
            self.cpu,
            rayon::current_num_threads()
        )
    }
}

/// Preprocessed inputs: real faces if given, else deterministic patterns.
pub fn bench_inputs(
    images: &Option<PathBuf>,
    n: usize,
    p: &amva_model::Preprocess,
) -> Result<Vec<f32>> {
    match images {
        Some(dir) => {
            let list = amva_io::images::ImageList::open(dir)?;
            anyhow::ensure!(!list.is_empty(), "{}: no images", dir.display());
            let items: Vec<_> = list.items.iter().cycle().take(n).cloned().collect();
            let b = amva_model::preprocess::load_batch(&items, p, true);
            anyhow::ensure!(b.failed.is_empty(), "unreadable images: {:?}", b.failed);
            Ok(b.input)
        }
        None => Ok((0..n * p.len())
            .map(|i| ((i * 2654435761usize) % 255) as f32 / 128.0 - 1.0)
            .collect()),
    }
}

/// Median of `rounds` timings of `f`, in seconds.
pub fn median_secs(rounds: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut t = Vec::new();
    for _ in 0..rounds.max(1) {
        let s = std::time::Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64());
    }
    t.sort_by(f64::total_cmp);
    Ok(t[t.len() / 2])
}
