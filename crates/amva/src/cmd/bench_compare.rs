//! `amva bench compare`: pair-map methods measured against ground truth on patched
//! pairs (amva_maps::pair_bench), one table row per method.

use crate::common::{ModelArgs, Ui};
use amva_maps::pair_bench::{self, BenchSetup, MethodSummary};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:
  amva bench compare --images ../shared/faces/lfw-dev/aligned112 --n 200 --seed 0

Mated pairs whose probe has an eye, the nose or the mouth (a 28 px square) replaced by
the same region of another person's face; the clean pair is the control. rise: share of
pairs whose dissimilar map is higher inside the patch than the clean pair's; pointing:
share whose dissimilar map peaks inside the patch (8 px tolerance), and the clean pair's
map on the same box; deletion and insertion of the similarity along the clean pair's
similar map, against a seeded random map (mean over pairs, 95 % bootstrap interval).")]
pub struct Args {
    /// Face images: aligned 112 x 112 crops, one subfolder per identity.
    #[arg(long, value_name = "DIR")]
    pub images: PathBuf,
    /// Number of patched pairs per method.
    #[arg(long, default_value_t = 200)]
    pub n: usize,
    /// Seed of the pairs, donors, regions and random maps.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Pair-map methods (as `amva compare --method`: names, or dissimilar,similar probes
    /// as fill:window/stride), separated by ';'.
    #[arg(
        long,
        value_name = "METHOD",
        default_value = "swap;swap-fast;swap-fine;occlusion;occlusion-fast"
    )]
    pub methods: String,
    /// Side of the patch in pixels of the 112 x 112 crop.
    #[arg(long, default_value_t = 28)]
    pub patch: usize,
    /// Also write every pair's numbers and the table as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    anyhow::ensure!(a.n > 0, "--n must be at least 1");
    let methods: Vec<(String, amva_maps::pair::PairMethod)> = a
        .methods
        .split(';')
        .map(|m| Ok((m.trim().to_string(), pair_bench::parse_method(m.trim())?)))
        .collect::<Result<_>>()?;
    let model = a.model.load(ui)?;
    let pairs = pair_bench::draw_pairs(&a.images, a.n, a.seed)?;
    let setup = BenchSetup {
        patch: a.patch,
        seed: a.seed,
        ..BenchSetup::default()
    };
    println!(
        "{} patched pairs from {}, seed {}, patch {} px",
        pairs.len(),
        a.images.display(),
        a.seed,
        a.patch
    );
    println!("{HEADER}");
    let bar = ui.progress((pairs.len() * methods.len()) as u64, "pairs");
    let mut results = Vec::new();
    for m in &methods {
        let one = pair_bench::run_bench(
            &model,
            std::slice::from_ref(m),
            &a.images,
            &pairs,
            &setup,
            || bar.inc(1),
        )?;
        bar.suspend(|| println!("{}", row(&one[0].0)));
        results.extend(one);
    }
    bar.finish_and_clear();
    if let Some(path) = &a.save {
        let json = serde_json::json!({
            "seed": a.seed, "patch": a.patch, "images": a.images,
            "methods": results.iter().map(|r| &r.0).collect::<Vec<_>>(),
            "pairs": results.iter().map(|r| (&r.0.method, &r.1)).collect::<Vec<_>>(),
        });
        amva_io::atomic::write_json(path, &json)?;
    }
    Ok(())
}

const HEADER: &str = "method | passes/image | G mult-adds/image | rise | pointing | pointing (clean) | deletion (random) | insertion (random)";

fn row(r: &MethodSummary) -> String {
    let ci = |(m, [lo, hi]): (f64, [f64; 2])| format!("{m:.3} [{lo:.3}, {hi:.3}]");
    format!(
        "{} | {} | {:.1} | {:.3} | {:.3} | {:.3} | {} ({}) | {} ({})",
        r.method,
        r.passes_per_image,
        r.multiply_adds_per_image as f64 / 1e9,
        r.rise,
        r.pointing,
        r.pointing_clean,
        ci(r.deletion),
        ci(r.deletion_random),
        ci(r.insertion),
        ci(r.insertion_random),
    )
}
