//! `amva compare`: why pairs of faces match or fail: the similar and the dissimilar map
//! of each image against the other (ALGORITHMS 1.8), written as a comparison store
//! (resumable part by part, shardable, mergeable with `amva merge`).

use crate::common::{self, ModelArgs, Ui};
use amva_maps::pair::PairMapper;
use amva_maps::pair_run::{self, PairRun};
use amva_maps::pair_store::Comparison;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  # every comparison of a pairs file (img_a, img_b, label), as `amva verify` reads it
  amva compare --pairs pairs.tsv --images aligned/ --out cmp/ --full
  # one pair, with its figure (pair.png)
  amva compare --images aligned/ --pair alice/1.jpg alice/2.jpg --out one/ --threshold 0.3
  # a quarter of the comparisons on each of four machines; join with `amva merge`
  amva compare --pairs pairs.tsv --images aligned/ --out part1/ --shard 1/4

Writes index.csv (row,line,a,b,label,similarity), similar.npy and dissimilar.npy
(N x 2 x h x w: window values; [k,0] is a's map against b, [k,1] b's against a), with
--full also similar_full.npy and dissimilar_full.npy (N x 2 x H x W, 0-1), failed.csv
(line,a,b,reason) and meta.json (grids and how to rebuild full size). Methods and their
measured quality: docs/comparisons.md. An interrupted run continues when rerun with the
same arguments.")]
pub struct Args {
    /// Pairs file: a header, then img_a, img_b, label (1 mated, 0 not); ids below --images.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "pair",
        required_unless_present = "pair"
    )]
    pub pairs: Option<PathBuf>,
    /// One comparison instead of a pairs file: two image ids below --images; draws pair.png.
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub pair: Option<Vec<String>>,
    /// The face images' folder (the pairs' image ids are paths below it).
    #[arg(long, value_name = "DIR")]
    pub images: PathBuf,
    /// Resize images of the wrong size (otherwise their comparisons are listed as failed).
    #[arg(long)]
    pub resize: bool,
    /// Output folder (a comparison store).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Pair-map method: swap (default), swap-fast, swap-fine, occlusion, occlusion-fast, or
    /// dissimilar,similar probes as fill:window/stride (e.g. other:28/8,grey:32/16).
    #[arg(long, default_value = "swap")]
    pub method: String,
    /// Also write the finished full-size maps (similar_full.npy, dissimilar_full.npy).
    #[arg(long)]
    pub full: bool,
    /// Decision threshold on the cosine similarity, shown in the figure of --pair.
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Only the i-th of n contiguous shares of the comparisons (1-based), e.g. 2/8.
    #[arg(long, value_parser = common::parse_shard, value_name = "i/n")]
    pub shard: Option<(usize, usize)>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Comparisons per part (the unit of resuming).
    #[arg(long, hide = true, default_value_t = pair_run::PART)]
    pub part_size: usize,
    /// Stop (as if killed) after writing this many parts; for testing resumption.
    #[arg(long, hide = true)]
    pub stop_after_parts: Option<usize>,
}

fn comparisons(a: &Args) -> Result<Vec<Comparison>> {
    Ok(match (&a.pairs, &a.pair) {
        (Some(file), _) => pair_run::comparisons(&amva_io::pairs::read_numbered(file)?),
        (None, Some(ids)) => {
            anyhow::ensure!(
                ids[0] != ids[1],
                "--pair: '{}' is compared with itself",
                ids[0]
            );
            vec![Comparison {
                row: 0,
                line: 0,
                a: ids[0].clone(),
                b: ids[1].clone(),
                mated: None,
            }]
        }
        (None, None) => anyhow::bail!("give --pairs FILE or --pair A B"),
    })
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    let start = std::time::Instant::now();
    let mut inputs = common::images_and_model(&a.images, a.model.model.as_deref());
    inputs.extend(a.pairs.as_deref().map(|p| common::input("--pairs", p)));
    let _lock = amva_io::outputs::claim_dir(&a.out, &inputs, "comparisons")?;
    let all = comparisons(&a)?;
    let method = amva_maps::pair_bench::parse_method(&a.method)?;
    let model = a.model.load(ui)?;
    let mut mapper = PairMapper::new(&model, method)?;
    mapper.keeps_full = a.full || a.pair.is_some();
    let r = PairRun {
        mapper: &mapper,
        root: &a.images,
        resize: a.resize,
        part_size: a.part_size,
        stop_after_parts: a.stop_after_parts,
    };
    let meta = pair_run::meta(&r, &a.method, &all, a.shard);
    let [first, end] = meta.rows;
    ui.note(&format!(
        "{} comparisons ({} model passes per image map, method {})",
        end - first,
        mapper.passes_per_map(),
        a.method
    ));
    let bar = ui.progress((end - first) as u64, "comparisons");
    let done = pair_run::run(&r, &all, &a.out, meta, |k| bar.set_position(k as u64))?;
    bar.finish_and_clear();
    let Some(meta) = done else {
        anyhow::bail!("stopped as asked (--stop-after-parts); rerun without it to resume");
    };
    if a.pair.is_some() && meta.count == 1 {
        let fig = amva_report::pair::write_pair_figure(&a.out, &a.images, a.threshold)?;
        ui.note(&format!("figure: {}", fig.display()));
    }
    ui.summary(
        &format!(
            "{} comparisons mapped ({} failed, see failed.csv) in {:.1} s -> {}",
            meta.count,
            meta.failed,
            start.elapsed().as_secs_f64(),
            a.out.display()
        ),
        crate::common::Tagged::new("compare", &meta),
    );
    Ok(())
}
