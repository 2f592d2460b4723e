//! `amva merge`: joins the stores of `amva maps --shard i/n` runs into one store, equal
//! (same rows in the same order, same values, same meta.json) to a single run's.

use crate::common::{Tagged, Ui};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:
  amva maps --images faces/ --out part1 --shard 1/3   # on three machines, or as a job array
  amva maps --images faces/ --out part2 --shard 2/3
  amva maps --images faces/ --out part3 --shard 3/3
  amva merge part1 part2 part3 --out maps/

All n shards must be given, complete and made with the same settings (the differences
are named otherwise). See docs/cluster.md for Slurm and Kubernetes recipes.")]
pub struct Args {
    /// Shard output folders (all n of one split, any order).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Output folder for the merged store.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let inputs: Vec<_> = a
        .dirs
        .iter()
        .map(|d| crate::common::input("DIR", d))
        .collect();
    if amva_maps::pair_store::is_comparison_store(&a.dirs[0]) {
        let _lock = amva_io::outputs::claim_dir(&a.out, &inputs, "comparisons")?;
        let meta = amva_maps::pair_store::merge(&a.dirs, &a.out)?;
        ui.summary(
            &format!(
                "merged {} shards: {} comparisons ({} failed) in {:.1} s -> {}",
                a.dirs.len(),
                meta.count,
                meta.failed,
                start.elapsed().as_secs_f64(),
                a.out.display()
            ),
            Tagged::new("merge", &meta),
        );
        return Ok(());
    }
    let _lock = amva_io::outputs::claim_dir(&a.out, &inputs, "maps")?;
    let meta = amva_maps::merge(&a.dirs, &a.out)?;
    let secs = start.elapsed().as_secs_f64();
    ui.summary(
        &format!(
            "merged {} shards: {} maps ({} failed, {} flat) in {secs:.1} s -> {}",
            a.dirs.len(),
            meta.count,
            meta.failed,
            meta.flat,
            a.out.display()
        ),
        Tagged::new(
            "merge",
            &MergeBrief {
                shards: a.dirs.len(),
                store: meta.brief(&a.out),
                seconds: secs,
            },
        ),
    );
    Ok(())
}

/// The summary of `amva merge --json`.
#[derive(serde::Serialize)]
struct MergeBrief<'a> {
    shards: usize,
    #[serde(flatten)]
    store: amva_maps::StoreBrief<'a>,
    seconds: f64,
}
