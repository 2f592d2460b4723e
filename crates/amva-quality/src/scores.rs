//! Quality score files: what `amva quality` writes and what `amva analyze` / `amva edc`
//! read.
//!
//! **Written** (see [`write_scores`]):
//! - `scores.csv`, long format, one row per image and method: `image,method,score`;
//! - the sidecar `scores.meta.json` (the CSV path with its extension replaced by
//!   `meta.json`, see [`sidecar_path`]): `{"kind": "quality_scores", "methods":
//!   {name: {"direction": "higher"|"lower", "params": {...}}}, ...}` plus whatever the
//!   writer adds (image count, model checksum, engine).
//!
//! **Read** (see [`read_scores`]), three shapes:
//! - long format with its sidecar: directions from the sidecar;
//! - long format without a sidecar: every method "higher is better";
//! - a plain two-column CSV (`image,score`, or any two columns): one method named after
//!   the file stem, direction from a sidecar if there is one, else "higher".
//!
//! CSV or TSV (tab in the header line); header names are matched case-insensitively.

use crate::{QualityError, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Which way a quality score points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Higher scores mean better quality (MagFace magnitude, SER-FIQ).
    #[default]
    Higher,
    /// Lower scores mean better quality (BRISQUE).
    Lower,
}

impl Direction {
    /// The score turned so that higher is always better.
    pub fn oriented(self, score: f64) -> f64 {
        match self {
            Direction::Higher => score,
            Direction::Lower => -score,
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Higher => "higher is better",
            Direction::Lower => "lower is better",
        })
    }
}

impl std::str::FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "higher" | "high" | "higher_is_better" => Ok(Direction::Higher),
            "lower" | "low" | "lower_is_better" => Ok(Direction::Lower),
            other => Err(format!("direction '{other}': expected 'higher' or 'lower'")),
        }
    }
}

/// The scores of one method.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MethodScores {
    /// Which way the scores point.
    pub direction: Direction,
    /// The method's parameters as written in the sidecar (empty object if unknown).
    pub params: serde_json::Value,
    /// (image id, score), in file order.
    pub scores: Vec<(String, f64)>,
}

impl MethodScores {
    /// Scores by image id, turned so that higher is better.
    pub fn oriented_map(&self) -> std::collections::HashMap<&str, f64> {
        self.scores
            .iter()
            .map(|(id, s)| (id.as_str(), self.direction.oriented(*s)))
            .collect()
    }
}

/// Quality scores of several methods.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scores {
    /// Method name -> its scores.
    pub methods: BTreeMap<String, MethodScores>,
}

impl Scores {
    /// The scores of `method`, if present.
    pub fn get(&self, method: &str) -> Option<&MethodScores> {
        self.methods.get(method)
    }
}

/// The sidecar of a score file: `scores.csv` -> `scores.meta.json`.
pub fn sidecar_path(csv: &Path) -> PathBuf {
    csv.with_extension("meta.json")
}

/// Sidecars looked for when reading: `scores.meta.json`, then `scores.csv.json`.
fn sidecar_candidates(csv: &Path) -> [PathBuf; 2] {
    let mut alt = csv.as_os_str().to_owned();
    alt.push(".json");
    [sidecar_path(csv), PathBuf::from(alt)]
}

/// Writes `scores` as `path` (long CSV) and its sidecar (see the module docs);
/// `extra` (a JSON object) is merged into the sidecar. Both writes are atomic.
pub fn write_scores(path: &Path, scores: &Scores, extra: serde_json::Value) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| QualityError::Scores {
        path: path.into(),
        reason: e.to_string(),
    };
    w.write_record(["image", "method", "score"])
        .map_err(csv_err)?;
    for (name, m) in &scores.methods {
        for (id, s) in &m.scores {
            // Shortest representation that reads back to the same f64.
            w.write_record([id.as_str(), name.as_str(), &format!("{s}")])
                .map_err(csv_err)?;
        }
    }
    let bytes = w.into_inner().map_err(|e| QualityError::Scores {
        path: path.into(),
        reason: e.to_string(),
    })?;
    amva_io::atomic::write_atomic(path, &bytes)?;
    let methods: serde_json::Map<String, serde_json::Value> = scores
        .methods
        .iter()
        .map(|(name, m)| {
            (
                name.clone(),
                serde_json::json!({"direction": m.direction, "params": m.params, "images": m.scores.len()}),
            )
        })
        .collect();
    let mut meta = serde_json::json!({
        "amva_version": env!("CARGO_PKG_VERSION"),
        "kind": "quality_scores",
        "scores": path.file_name().map(|n| n.to_string_lossy().to_string()),
        "columns": ["image", "method", "score"],
        "methods": methods,
    });
    if let (Some(m), serde_json::Value::Object(extra)) = (meta.as_object_mut(), extra) {
        for (k, v) in extra {
            m.entry(k).or_insert(v);
        }
    }
    amva_io::atomic::write_json(&sidecar_path(path), &meta)?;
    Ok(())
}

/// What a sidecar says about each method.
#[derive(Debug, Default)]
struct Sidecar {
    methods: BTreeMap<String, (Direction, serde_json::Value)>,
    /// A file-wide direction (`"direction": ...` at the top level), for plain files.
    direction: Option<Direction>,
}

fn read_sidecar(csv: &Path) -> Result<Option<Sidecar>> {
    let Some(path) = sidecar_candidates(csv).into_iter().find(|p| p.is_file()) else {
        return Ok(None);
    };
    let bad = |reason: String| QualityError::Scores {
        path: path.clone(),
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let parse_dir = |d: &serde_json::Value, what: &str| -> Result<Direction> {
        d.as_str()
            .ok_or_else(|| bad(format!("{what}: direction must be a string")))?
            .parse()
            .map_err(|e: String| bad(format!("{what}: {e}")))
    };
    let mut out = Sidecar::default();
    if let Some(d) = v.get("direction") {
        out.direction = Some(parse_dir(d, "direction")?);
    }
    if let Some(methods) = v.get("methods") {
        let methods = methods
            .as_object()
            .ok_or_else(|| bad("'methods' must be an object {name: {direction, params}}".into()))?;
        for (name, m) in methods {
            let dir = match m.get("direction") {
                Some(d) => parse_dir(d, &format!("methods.{name}"))?,
                None => Direction::Higher,
            };
            let params = m
                .get("params")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({}));
            out.methods.insert(name.clone(), (dir, params));
        }
    }
    Ok(Some(out))
}

const IMAGE_COLUMNS: [&str; 6] = ["image", "id", "file", "path", "img", "filename"];
const SCORE_COLUMNS: [&str; 3] = ["score", "quality", "value"];

/// Reads a score file in any of the shapes in the module docs.
pub fn read_scores(path: &Path) -> Result<Scores> {
    let bad = |reason: String| QualityError::Scores {
        path: path.into(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let first = text.lines().next().unwrap_or("");
    let delim = if first.contains('\t') { b'\t' } else { b',' };
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let method_col = header.iter().position(|h| h == "method");
    let image_col = find(&IMAGE_COLUMNS);
    let score_col = find(&SCORE_COLUMNS);
    let sidecar = read_sidecar(path)?.unwrap_or_default();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "quality".into());
    // (image column, score column, Some(method column) for long format)
    if header.iter().any(|h| h.parse::<f64>().is_ok()) {
        return Err(bad(format!(
            "the first line '{}' holds a number, so it is data, not a header; expected a header line such as image,method,score or image,score",
            first.trim()
        )));
    }
    let (ic, sc, mc) = match (image_col, score_col, method_col) {
        (Some(i), Some(s), Some(m)) => (i, s, Some(m)),
        (Some(i), Some(s), None) => (i, s, None),
        // Two columns of other names: image and score; but not image,method.
        (_, None, None) if header.len() == 2 => (0, 1, None),
        _ => {
            return Err(bad(format!(
                "expected columns image,method,score (long format) or image,score; found {}",
                header.join(",")
            )))
        }
    };
    let mut scores = Scores::default();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let row_err = |reason: String| QualityError::ScoresRow {
            path: path.into(),
            line,
            reason,
        };
        let rec = rec.map_err(|e| row_err(e.to_string()))?;
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |c: usize, what: &str| {
            rec.get(c).map(str::trim).ok_or_else(|| {
                row_err(format!(
                    "no {what} column (expected {} columns)",
                    header.len()
                ))
            })
        };
        let id = get(ic, "image")?.to_string();
        if id.is_empty() {
            return Err(row_err("empty image id".into()));
        }
        let method = match mc {
            Some(c) => get(c, "method")?.to_string(),
            None => stem.clone(),
        };
        if method.is_empty() {
            return Err(row_err("empty method name".into()));
        }
        let raw = get(sc, "score")?;
        let score: f64 = raw
            .parse()
            .map_err(|_| row_err(format!("score '{raw}' is not a number")))?;
        if !score.is_finite() {
            return Err(row_err(format!(
                "score of '{id}' is {score}; expected a finite number"
            )));
        }
        if !seen.insert((method.clone(), id.clone())) {
            return Err(row_err(format!(
                "'{id}' has a second score for method '{method}'"
            )));
        }
        let entry = scores.methods.entry(method.clone()).or_insert_with(|| {
            let (direction, params) = sidecar
                .methods
                .get(&method)
                .cloned()
                .unwrap_or((sidecar.direction.unwrap_or_default(), serde_json::json!({})));
            MethodScores {
                direction,
                params,
                scores: Vec::new(),
            }
        });
        entry.scores.push((id, score));
    }
    if scores.methods.is_empty() {
        return Err(bad("no scores".into()));
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Scores {
        let mut s = Scores::default();
        s.methods.insert(
            "brisque".into(),
            MethodScores {
                direction: Direction::Lower,
                params: serde_json::json!({"model": "LIVE"}),
                scores: vec![("a.jpg".into(), 12.5), ("b/c.jpg".into(), 0.1 + 0.2)],
            },
        );
        s.methods.insert(
            "serfiq".into(),
            MethodScores {
                direction: Direction::Higher,
                params: serde_json::json!({"t": 100, "seed": 7}),
                scores: vec![("a.jpg".into(), 0.875), ("b/c.jpg".into(), -1e-300)],
            },
        );
        s
    }

    #[test]
    fn long_format_round_trips_with_directions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("scores.csv");
        write_scores(&p, &sample(), serde_json::json!({"images": 2})).unwrap();
        assert!(dir.path().join("scores.meta.json").is_file());
        let back = read_scores(&p).unwrap();
        assert_eq!(back, sample());
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("image,method,score\n"), "{text}");
    }

    #[test]
    fn long_format_without_sidecar_defaults_to_higher() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.csv");
        std::fs::write(
            &p,
            "image,method,score\nx,brisque,3\ny,brisque,4\nx,pose,-2\n",
        )
        .unwrap();
        let s = read_scores(&p).unwrap();
        assert_eq!(s.methods.len(), 2);
        assert_eq!(s.get("brisque").unwrap().direction, Direction::Higher);
        assert_eq!(s.get("pose").unwrap().scores, vec![("x".to_string(), -2.0)]);
    }

    #[test]
    fn plain_file_is_one_method_named_after_the_stem() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("magface.tsv");
        std::fs::write(&p, "file\tquality\na.jpg\t21.5\nb.jpg\t30\n").unwrap();
        let s = read_scores(&p).unwrap();
        let m = s.get("magface").unwrap();
        assert_eq!(m.direction, Direction::Higher);
        assert_eq!(m.scores.len(), 2);
        // A sidecar can turn it around.
        std::fs::write(
            dir.path().join("magface.tsv.json"),
            r#"{"direction": "lower"}"#,
        )
        .unwrap();
        assert_eq!(
            read_scores(&p).unwrap().get("magface").unwrap().direction,
            Direction::Lower
        );
        // Any two columns work.
        let q = dir.path().join("other.csv");
        std::fs::write(&q, "name,q\na,1\n").unwrap();
        assert_eq!(
            read_scores(&q).unwrap().get("other").unwrap().scores[0].1,
            1.0
        );
    }

    #[test]
    fn bad_rows_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.csv");
        for (body, want) in [
            ("image,method,score\na,m,1\na,m,2\n", "line 3"),
            ("image,method,score\na,m,zz\n", "'zz' is not a number"),
            ("image,method,score\na,m,NaN\n", "finite"),
            ("image,method,score\n", "no scores"),
            ("a,b,c\n1,2,3\n", "expected columns"),
        ] {
            std::fs::write(&p, body).unwrap();
            let err = read_scores(&p).unwrap_err().to_string();
            assert!(
                err.contains(want) && err.contains("s.csv"),
                "{body:?}: {err}"
            );
        }
        std::fs::write(&p, "image,method,score\na,m,1\n").unwrap();
        std::fs::write(
            dir.path().join("s.meta.json"),
            r#"{"methods": {"m": {"direction": "up"}}}"#,
        )
        .unwrap();
        let err = read_scores(&p).unwrap_err().to_string();
        assert!(err.contains("s.meta.json") && err.contains("'up'"), "{err}");
    }
}
