//! `amva bench quality`: images/s of each built-in FIQA method on all cores.

use crate::cmd::quality::{build_methods, MethodOptions};
use crate::common::{self, ModelArgs, Tagged, Ui};
use amva_draw::RgbImage;
use amva_quality::Item;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:
  amva bench quality --images ../shared/faces/lfw-dev/aligned112 --n 128

Images are decoded and resized before timing: the rates are of the methods alone.")]
pub struct Args {
    /// Face images to score (default: generated 112x112 test patterns).
    #[arg(long, value_name = "DIR|LIST")]
    pub images: Option<PathBuf>,
    /// Number of faces per measurement.
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    /// Repetitions (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// FIQA methods to time.
    #[arg(long, default_value = common::DEFAULT_FIQA, value_name = "FIQA,...")]
    pub fiqa: String,
    #[command(flatten)]
    pub model: ModelArgs,
}

fn images(a: &Args) -> Result<Vec<(String, RgbImage)>> {
    match &a.images {
        Some(dir) => {
            let list = amva_io::images::ImageList::open(dir)?;
            anyhow::ensure!(!list.is_empty(), "{}: no images", dir.display());
            list.items
                .iter()
                .cycle()
                .take(a.n)
                .map(|it| Ok((it.id.clone(), amva_io::images::load_rgb(&it.path)?)))
                .collect()
        }
        None => Ok((0..a.n)
            .map(|k| {
                let raw: Vec<u8> = (0..112 * 112 * 3u32)
                    .map(|i| (i.wrapping_add(k as u32 * 31).wrapping_mul(2654435761) >> 24) as u8)
                    .collect();
                let img = RgbImage::from_raw(112, 112, raw).expect("112 x 112 x 3 values");
                (format!("pattern{k}"), img)
            })
            .collect()),
    }
}

pub fn run(a: Args, ui: &Ui) -> Result<()> {
    anyhow::ensure!(a.n > 0, "--n must be at least 1");
    let specs = amva_quality::parse_methods(&a.fiqa)?;
    let opts = MethodOptions {
        model: a.model.clone(),
        serfiq_layer: None,
        serfiq_passes: 100,
        serfiq_dropout: 0.5,
        seed: 0,
        pose_model: None,
    };
    let methods = build_methods(&specs, &opts, ui)?;
    let imgs = images(&a)?;
    let threads = rayon::current_num_threads();
    let mut rows = Vec::new();
    for m in &methods {
        let fitted: Vec<(String, RgbImage)> = imgs
            .iter()
            .map(|(id, img)| match m.input_size() {
                Some((w, h)) => Ok((
                    id.clone(),
                    amva_io::images::fit(img.clone(), w, h, true, std::path::Path::new(id))?,
                )),
                None => Ok((id.clone(), img.clone())),
            })
            .collect::<Result<_>>()?;
        let items: Vec<Item<'_>> = fitted
            .iter()
            .map(|(id, image)| Item { id, image })
            .collect();
        m.score(&items[..items.len().min(2)])?; // warm-up: builds the plans
        let secs = super::bench_util::median_secs(a.rounds, || Ok(m.score(&items).map(|_| ())?))?;
        let rate = a.n as f64 / secs;
        println!(
            "{:<10} {rate:9.1} images/s ({} images, {threads} threads, median of {})",
            m.name(),
            a.n,
            a.rounds
        );
        rows.push(Rate {
            method: m.name().to_string(),
            per_second: rate,
            params: m.params(),
        });
    }
    let brief = QualityBrief {
        threads,
        images: a.n,
        results: rows,
    };
    ui.summary("bench quality done", Tagged::new("bench quality", &brief));
    Ok(())
}

/// The summary of `amva bench quality --json`.
#[derive(serde::Serialize)]
struct QualityBrief {
    threads: usize,
    images: usize,
    results: Vec<Rate>,
}

/// One method's rate.
#[derive(serde::Serialize)]
struct Rate {
    method: String,
    per_second: f64,
    params: serde_json::Value,
}
