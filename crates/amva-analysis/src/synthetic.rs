//! Synthetic map stores for benchmarks and tests of scale.

use std::io::Write;
use std::path::{Path, PathBuf};

use amva_maps::import::StoreImport;
use rand::{Rng, SeedableRng};

use crate::{AnalysisError, Result};

/// Writes a map store of `n` 7 x 7 maps (finished to 112 x 112) and a score file
/// `scores.csv` beside them, streaming: memory does not grow with `n`. Maps are a
/// central bump plus noise plus a random amount of border activation; the score
/// falls with the border activation, so that low-quality images vary more outside the
/// face, as in real data. Returns the score file. Seeded: equal seeds, equal files.
pub fn write_synthetic_store(dir: &Path, n: usize, seed: u64) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| AnalysisError::io(dir, e))?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut store = StoreImport::create(dir, (7, 7), (112, 112))?;
    let path = dir.join("scores.csv");
    let file = std::fs::File::create(&path).map_err(|e| AnalysisError::io(&path, e))?;
    let mut scores = std::io::BufWriter::new(file);
    let io = |e: std::io::Error| AnalysisError::io(dir.join("scores.csv"), e);
    writeln!(scores, "image,score").map_err(io)?;
    let mut m = [0f32; 49];
    for i in 0..n {
        let border: f32 = rng.random_range(0.0..1.0);
        let mut edge = 0.0;
        for (k, v) in m.iter_mut().enumerate() {
            let (y, x) = (k / 7, k % 7);
            let on_border = y == 0 || x == 0 || y == 6 || x == 6;
            let centre = 1.0 - ((y as f32 - 3.0).abs() + (x as f32 - 3.0).abs()) / 6.0;
            *v = centre
                + rng.random_range(-0.3..0.3)
                + if on_border {
                    border * rng.random_range(0.0..1.0)
                } else {
                    0.0
                };
            if on_border {
                edge += *v;
            }
        }
        let id = format!("id{:03}/img{i:07}.png", i % 997);
        store.append(&id, &m)?;
        writeln!(scores, "{id},{}", -edge + rng.random_range(-1.0..1.0f32)).map_err(io)?;
    }
    store.finish(serde_json::json!({"method": "synthetic"}))?;
    scores.flush().map_err(io)?;
    Ok(path)
}
