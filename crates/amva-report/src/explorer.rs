//! `explorer.html`: every analysed image in one sortable, filterable table that opens
//! from disk with no server and no network, and stays quick for 10,000 images.
//!
//! - `explorer.html` is a small page; the app is `explorer/explorer.js` (a file of this
//!   crate, `assets/explorer.js`), the numbers are `explorer/data.js` (the rows of
//!   images.csv as JSON, loaded by a `<script>` tag: pages opened from disk cannot
//!   fetch);
//! - the pictures are sprite sheets of 100 tiles (10 x 10, one tile per image, the maps'
//!   H x W), JPEG: the face, its map over it (`0.5 x jet + face`), and per method its
//!   deviation from the high group over it and its z-map (jet, -5 to 5). The table
//!   shows two of them shrunk; the page only builds the rows in view (virtual
//!   scrolling), so only the sheets of those rows load.
//!
//! The folder is written under a temporary name and renamed when complete.

use std::path::Path;

use amva_draw::{jet, overlay, RgbImage};
use rayon::prelude::*;
use serde_json::{json, Value};

use amva_analysis::explain::{explain_map, ExplainScores, DEFAULT_EPS};
use amva_analysis::images::PerImage;
use amva_analysis::options::AnalyzeOptions;
use amva_analysis::Analysis;

use crate::explain::face;
use crate::{ReportError, Result};

/// The page.
pub const PAGE: &str = "explorer.html";
/// Its folder (scripts and sprite sheets).
pub const DIR: &str = "explorer";
/// Tiles per sprite sheet side.
pub const SHEET_SIDE: usize = 10;
/// The z-maps' colour range: jet from -Z_RANGE to Z_RANGE.
pub const Z_RANGE: f32 = 5.0;
const PER_SHEET: usize = SHEET_SIDE * SHEET_SIDE;
const APP: &str = include_str!("../assets/explorer.js");
const HTML: &str = include_str!("../assets/explorer.html");

/// Writes explorer.html and the explorer/ folder into the analysis's output folder; the
/// tiles show each image's face (grey when the analysis has no face images). With
/// `--pairs`, also the comparisons view (`crate::comparisons`).
pub fn write_explorer(analysis: &Analysis, opts: &AnalyzeOptions) -> Result<()> {
    let out = opts.out.as_path();
    let tmp = out.join(format!(".{DIR}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| ReportError::file(&tmp, e))?;
    write_sheets(analysis, &tmp)?;
    let mut value = data(analysis);
    if let Some(c) = crate::comparisons::view(analysis, opts, &tmp)? {
        value["comparisons"] = c;
    }
    let data = format!(
        "window.AMVA_EXPLORER = {};\n",
        serde_json::to_string(&value).map_err(|e| ReportError::output(DIR, e.to_string()))?
    );
    write(&tmp.join("data.js"), data.as_bytes())?;
    write(&tmp.join("explorer.js"), APP.as_bytes())?;
    write(
        &tmp.join("comparisons.js"),
        crate::comparisons::APP.as_bytes(),
    )?;
    write(&tmp.join("jet.png"), &colour_bar()?)?;
    let dir = out.join(DIR);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| ReportError::file(&dir, e))?;
    }
    std::fs::rename(&tmp, &dir).map_err(|e| ReportError::file(&dir, e))?;
    let names: Vec<&str> = analysis
        .plan
        .groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    let title = amva_draw::escape_html(&format!("amva explorer: {}", names.join(", ")));
    write(
        &out.join(PAGE),
        HTML.replace("{{TITLE}}", &title).as_bytes(),
    )
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(amva_io::atomic::write_atomic(path, bytes)?)
}

/// A 256 x 1 strip of jet, the colour bar under the legends.
fn colour_bar() -> Result<Vec<u8>> {
    let img = RgbImage::from_fn(256, 1, |x, _| image::Rgb(jet(x as f32 / 255.0)));
    amva_draw::encode_png(&img).map_err(ReportError::draw("colour bar"))
}

/// The tiles of one image: face, map over it, then per method deviation and z-map.
fn tiles(analysis: &Analysis, row: usize, map: &[f32], face: &RgbImage) -> Result<Vec<RgbImage>> {
    let (h, w) = analysis.plan.geometry.shape;
    let ctx = |what: &str| format!("explorer tile {what} of row {row}");
    let mut out = vec![
        face.clone(),
        overlay(face, map, h, w).map_err(ReportError::draw(ctx("map")))?,
    ];
    for r in &analysis.images.references {
        let e = explain_map(r, map, DEFAULT_EPS)?;
        let dev: Vec<f32> = e.deviation.iter().map(|&v| v as f32).collect();
        out.push(overlay(face, &dev, h, w).map_err(ReportError::draw(ctx("deviation")))?);
        let z = RgbImage::from_fn(w as u32, h as u32, |x, y| {
            let v = e.z[y as usize * w + x as usize] as f32;
            image::Rgb(jet((v + Z_RANGE) / (2.0 * Z_RANGE)))
        });
        out.push(z);
    }
    Ok(out)
}

/// The kinds of tile, in the order of [`tiles`]: (key, label).
fn kinds(analysis: &Analysis) -> Vec<(String, String)> {
    let mut k = vec![
        ("face".to_string(), "face".to_string()),
        (
            "map".into(),
            "activation map over the face (0.5 x jet + face, 0-1)".into(),
        ),
    ];
    for (i, g) in analysis.plan.groups.iter().enumerate() {
        k.push((
            format!("dev{i}"),
            format!(
                "|AM - MAM| vs the {} high group ({}) over the face, 0-1",
                g.name, g.high.rule
            ),
        ));
        k.push((
            format!("z{i}"),
            format!(
                "z-map vs the {} high group, -{Z_RANGE} to {Z_RANGE} reference std",
                g.name
            ),
        ));
    }
    k
}

/// Streams the store and writes every sprite sheet of every kind into `dir`.
fn write_sheets(analysis: &Analysis, dir: &Path) -> Result<()> {
    let source = &analysis.plan.source;
    let (h, w) = analysis.plan.geometry.shape;
    let (len, px) = (source.row_len(), source.pixels());
    let kinds = kinds(analysis);
    source.for_each_chunk(PER_SHEET, |first, stored: &[f32]| -> Result<()> {
        let n = stored.len() / len;
        let per_image: Vec<Vec<RgbImage>> = (0..n)
            .into_par_iter()
            .map(|k| {
                let row = first + k;
                let mut map = vec![0f32; px];
                source.finish_into(row, &stored[k * len..(k + 1) * len], &mut map)?;
                tiles(analysis, row, &map, &face(&analysis.plan, row))
            })
            .collect::<Result<_>>()?;
        let sheet = first / PER_SHEET;
        let with_faces = analysis.plan.faces.is_some();
        let drawn = kinds.par_iter().enumerate();
        drawn
            .filter(|(_, (key, _))| with_faces || key != "face")
            .try_for_each(|(ki, (key, _))| {
                let rows = n.div_ceil(SHEET_SIDE);
                let cols = if rows > 1 { SHEET_SIDE } else { n };
                let mut img = RgbImage::from_pixel(
                    (cols * w) as u32,
                    (rows * h) as u32,
                    image::Rgb([255; 3]),
                );
                for (k, t) in per_image.iter().enumerate() {
                    let (x, y) = ((k % SHEET_SIDE) * w, (k / SHEET_SIDE) * h);
                    image::imageops::replace(&mut img, &t[ki], x as i64, y as i64);
                }
                let path = dir.join(sheet_name(key, sheet));
                write(&path, &jpeg(&img, &path)?)
            })
    })
}

/// `map_003.jpg`.
fn sheet_name(kind: &str, sheet: usize) -> String {
    format!("{kind}_{sheet:03}.jpg")
}

fn jpeg(img: &RgbImage, path: &Path) -> Result<Vec<u8>> {
    amva_draw::encode_jpeg(img).map_err(ReportError::draw(path.display().to_string()))
}

/// Everything the page shows, as JSON: the columns and one row per image.
fn data(analysis: &Analysis) -> Value {
    let plan = &analysis.plan;
    let per: &PerImage = &analysis.images;
    let (h, w) = plan.geometry.shape;
    let methods: Vec<Value> = plan
        .groups
        .iter()
        .zip(&plan.keys)
        .map(|(g, key)| {
            let groups: Vec<&str> = g.all_groups().iter().map(|x| x.key.as_str()).collect();
            json!({"name": g.name, "key": key, "groups": groups})
        })
        .collect();
    let rows: Vec<Value> = plan
        .source
        .ids()
        .iter()
        .enumerate()
        .map(|(r, id)| {
            let img = &per.images[r];
            let mut v = vec![json!(id), json!(img.typical.mean_abs_z), json!(img.flat)];
            for (st, e) in per.standings.iter().map(|s| &s[r]).zip(&img.methods) {
                v.extend([json!(st.score), json!(st.rank), json!(st.groups.join(";"))]);
                v.extend(e.values()[..ExplainScores::KEPT].iter().map(|x| json!(x)));
            }
            Value::Array(v)
        })
        .collect();
    let labels = plan.labels.as_ref().map(|l| {
        json!({"names": l.labels.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
               "of_row": l.of_row.iter().map(|i| i.map_or(-1, |i| i as i64)).collect::<Vec<_>>()})
    });
    let kinds: Vec<Value> = kinds(analysis)
        .into_iter()
        .map(|(key, label)| json!({"key": key, "label": label}))
        .collect();
    json!({
        "tile": [w, h], "sheet_side": SHEET_SIDE, "dir": DIR, "kinds": kinds, "z_range": Z_RANGE,
        "faces": plan.faces.is_some(),
        "methods": methods,
        "labels": labels,
        "method_columns": amva_analysis::images::method_columns(),
        "rows": rows,
    })
}
