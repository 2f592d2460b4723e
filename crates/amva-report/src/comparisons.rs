//! The explorer's comparisons view (`amva analyze --pairs`, assets/comparisons.js): every
//! comparison with its similarity, its outcome at the EDC's threshold and the store rows
//! of its images (whose quality groups the page reads from the image rows); and for the
//! comparisons with pair maps (`--pair-maps`), one JPEG strip each in `explorer/pairs/`:
//! a's similar and dissimilar map, then b's, each over its face (0.5 x jet + face).

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Value};

use amva_analysis::failures::outcome;
use amva_analysis::options::AnalyzeOptions;
use amva_analysis::Analysis;

use crate::{ReportError, Result};

/// The view's script.
pub const APP: &str = include_str!("../assets/comparisons.js");

/// The strip's tiles, in order.
pub const KINDS: [&str; 4] = [
    "a: similar map (supports the match)",
    "a: dissimilar map (works against it)",
    "b: similar map",
    "b: dissimilar map",
];

/// The view's data (None without `--pairs`), writing the strips into `dir/pairs/`.
pub fn view(analysis: &Analysis, opts: &AnalyzeOptions, dir: &Path) -> Result<Option<Value>> {
    let (Some(input), Some(edc)) = (&opts.edc, &analysis.edc) else {
        return Ok(None);
    };
    let t = edc.report.threshold;
    let store: HashMap<&str, usize> = analysis
        .plan
        .source
        .ids()
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let lines = amva_io::pairs::lines_by_comparison(&input.source.pairs)?;
    let mapped = match &input.pair_maps {
        Some(d) => write_strips(analysis, opts, d, dir)?,
        None => HashMap::new(),
    };
    let at = |id: &str| store.get(id).map_or(-1, |&r| r as i64);
    let rows: Vec<Value> = input
        .pairs
        .iter()
        .map(|p| {
            let k = key(&p.a, &p.b);
            json!([
                p.a,
                p.b,
                p.mated,
                p.score,
                outcome(p, t).unwrap_or("correct"),
                at(&p.a),
                at(&p.b),
                mapped.get(&k).map_or(-1, |&r| r as i64),
                lines.get(&k).copied().unwrap_or(0)
            ])
        })
        .collect();
    let root = opts
        .images
        .as_ref()
        .map_or("FACES/".into(), |p| p.display().to_string());
    Ok(Some(json!({
        "threshold": t, "fmr": edc.report.options.target_fmr, "rows": rows, "kinds": KINDS,
        "dir": amva_analysis::files::COMPARISONS_DIR,
        "command": format!("amva compare --images {root}"),
    })))
}

/// A comparison's owned [`amva_io::pairs::comparison_key`].
fn key(a: &str, b: &str) -> (String, String) {
    let (a, b) = amva_io::pairs::comparison_key(a, b);
    (a.to_string(), b.to_string())
}

/// One strip per comparison of the store in `store_dir`: (a, b) -> its row.
fn write_strips(
    analysis: &Analysis,
    opts: &AnalyzeOptions,
    store_dir: &Path,
    dir: &Path,
) -> Result<HashMap<(String, String), usize>> {
    let faces = analysis.plan.faces.as_ref();
    let root = opts.images.as_ref().filter(|p| p.is_dir());
    let path_of = |id: &str| {
        faces
            .and_then(|f| f.get(id).cloned())
            .or_else(|| root.map(|r| r.join(id)))
    };
    let pairs = crate::pair::read_pairs(store_dir, usize::MAX, &path_of)?;
    let out = dir.join("pairs");
    std::fs::create_dir_all(&out).map_err(|e| ReportError::file(&out, e))?;
    let mut rows = HashMap::new();
    for (i, p) in pairs.iter().enumerate() {
        let (w, h) = (p.faces[0].width() as usize, p.faces[0].height() as usize);
        let tiles = [(0, 0), (0, 1), (1, 2), (1, 3)]
            .iter()
            .map(|&(f, m)| {
                amva_draw::overlay(&p.faces[f], &p.maps[m], h, w)
                    .map_err(ReportError::draw("pair strip"))
            })
            .collect::<Result<Vec<_>>>()?;
        let strip = amva_draw::side_by_side(&tiles);
        let path = out.join(format!("{i:05}.jpg"));
        let bytes = amva_draw::encode_jpeg(&strip).map_err(ReportError::draw("pair strip"))?;
        amva_io::atomic::write_atomic(&path, &bytes)?;
        let c = &p.mapped.comparison;
        rows.insert(key(&c.a, &c.b), i);
    }
    Ok(rows)
}
