//! Quality score files: what `amva quality` writes and what `amva analyze`, `amva edc`,
//! `amva explain` and the demo read. The one reader and the one writer of score files.
//!
//! **Written** (see [`write_scores`]):
//! - `scores.csv`, long format, one row per image and method: `image,method,score`;
//! - the sidecar `scores.meta.json` (the CSV path with its extension replaced by
//!   `meta.json`, see [`sidecar_path`]): `{"kind": "quality_scores", "methods":
//!   {name: {"direction": "higher"|"lower", "params": {...}}}, ...}` plus whatever the
//!   writer adds (image count, model checksum, engine).
//!
//! **Read** (see [`read_score_file`], [`read_score_files`], [`read_scores`]): CSV or TSV
//! (a tab in the header line), header names matched case-insensitively, two shapes:
//! - long format `image,method,score`, any number of methods;
//! - one method per file: `image,score` (any image column of `image`, `id`, `file`,
//!   `path`, `img`, `filename`; any score column of `score`, `quality`, `value`; or
//!   exactly two columns), the method named after the file stem.
//!
//! Directions come from the sidecar (`scores.meta.json`, or `scores.csv.json`:
//! `{"methods": {name: {"direction": "lower"}}}` or a file-wide `{"direction":
//! "lower"}`), else "higher is better"; `--direction NAME=lower` overrides both.
//!
//! Non-finite or empty scores (`NaN`, `inf`, an empty cell, `NA`, `null`) are not
//! errors: they are kept aside in [`MethodScores::non_finite`], with their lines, so
//! that every command can exclude *and list* them (ALGORITHMS 2). A repeated image is
//! accepted when its scores agree and refused, naming both lines, when they differ.

use crate::{QualityError, Result};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub use amva_math::groups::Direction;

/// One score of one image.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    /// The image id, as in the maps' index.csv.
    pub image: String,
    /// The score (NaN or infinite only in [`MethodScores::non_finite`]).
    pub score: f64,
    /// 1-based line in the file it was read from (the header is line 1); 0 for a
    /// score computed in this run.
    pub line: usize,
}

/// Where a method's direction came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DirectionSource {
    /// Nothing said otherwise: higher is better.
    #[default]
    Default,
    /// The score file's sidecar JSON (or the method itself, for computed scores).
    Sidecar,
    /// No sidecar says it, but the name is one of amva's built-in methods, whose
    /// direction is known ([`crate::registry::known_direction`]).
    Known,
    /// `--direction NAME=...` on the command line.
    Option,
}

impl DirectionSource {
    /// Short text for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DirectionSource::Default => "default",
            DirectionSource::Sidecar => "sidecar",
            DirectionSource::Known => "built-in method",
            DirectionSource::Option => "--direction",
        }
    }
}

/// The scores of one FIQA method.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MethodScores {
    /// Method name.
    pub name: String,
    /// Which way the scores point.
    pub direction: Direction,
    /// Where [`MethodScores::direction`] came from.
    pub direction_source: DirectionSource,
    /// The method's parameters as written in the sidecar (`{}` if unknown).
    pub params: serde_json::Value,
    /// The file the scores were read from (empty for computed scores).
    pub source: PathBuf,
    /// Finite scores, one per image, in file order.
    pub scores: Vec<ScoreRow>,
    /// Rows whose score is NaN, infinite or empty: excluded downstream and listed.
    pub non_finite: Vec<ScoreRow>,
    /// Rows that repeat an image with the same score (ignored, counted).
    pub repeated: usize,
}

impl MethodScores {
    /// A method's computed scores, before they are written.
    pub fn computed(name: &str, direction: Direction, params: serde_json::Value) -> Self {
        MethodScores {
            name: name.into(),
            direction,
            direction_source: DirectionSource::Sidecar,
            params,
            ..Default::default()
        }
    }

    /// Scores by image id, turned so that higher is better (finite scores only).
    pub fn oriented_map(&self) -> HashMap<&str, f64> {
        self.scores
            .iter()
            .map(|r| (r.image.as_str(), self.direction.corrected(r.score)))
            .collect()
    }

    /// What the user should know about where the direction came from: nothing when a
    /// sidecar or `--direction` said it.
    pub fn direction_note(&self) -> Option<String> {
        let file = self.source.display();
        match self.direction_source {
            DirectionSource::Default => Some(format!(
                "{file}: no sidecar ({}) states the direction of method '{}': higher is taken as better; give --direction {}=lower if lower is",
                sidecar_path(&self.source).display(),
                self.name,
                self.name
            )),
            DirectionSource::Known => Some(format!(
                "{file}: no sidecar states the direction of method '{}': {} is better, as for amva's built-in '{}'",
                self.name,
                self.direction,
                self.name
            )),
            DirectionSource::Sidecar | DirectionSource::Option => None,
        }
    }

    /// One line naming the excluded non-finite scores, if any (at most five ids).
    pub fn non_finite_note(&self) -> Option<String> {
        let n = self.non_finite.len();
        (n > 0).then(|| {
            let shown = self
                .non_finite
                .iter()
                .map(|r| format!("{} (line {})", r.image, r.line));
            format!(
                "{}: {n} {} of method '{}' NaN, infinite or empty, excluded: {}",
                self.source.display(),
                if n == 1 { "score is" } else { "scores are" },
                self.name,
                amva_io::image_notes::first_few(shown, n, 5)
            )
        })
    }
}

/// Quality scores of several methods, by name.
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

/// Where the scores of a score file came from, recorded in its sidecar beside each
/// method's direction and parameters: the images (or the map store, for typicality),
/// how many, what failed, and how long it took.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScoreOrigin {
    /// The image folder or list scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<PathBuf>,
    /// The map store scored (typicality).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maps: Option<PathBuf>,
    /// Images (or maps) in the input.
    pub image_count: usize,
    /// Images of the wrong size were resized.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resize: Option<bool>,
    /// Images that could not be scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<usize>,
    /// The file that lists them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_list: Option<String>,
    /// Damaged files scored with a warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<usize>,
    /// Damaged files were refused instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Run time.
    pub seconds: f64,
}

/// One method in a sidecar, as written.
#[derive(Serialize)]
struct WrittenMethod<'a> {
    direction: Direction,
    params: &'a serde_json::Value,
    images: usize,
}

/// The sidecar as written.
#[derive(Serialize)]
struct WrittenSidecar<'a> {
    amva_version: &'static str,
    kind: &'static str,
    scores: Option<String>,
    columns: [&'static str; 3],
    methods: BTreeMap<&'a str, WrittenMethod<'a>>,
    #[serde(flatten)]
    origin: &'a ScoreOrigin,
}

/// Writes `scores` as `path` (long CSV) and its sidecar (see the module docs), with
/// where they came from. Both writes are atomic, the sidecar first.
pub fn write_scores(path: &Path, scores: &Scores, origin: &ScoreOrigin) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| QualityError::Scores {
        path: path.into(),
        reason: e.to_string(),
    };
    w.write_record(["image", "method", "score"])
        .map_err(csv_err)?;
    for (name, m) in &scores.methods {
        for r in &m.scores {
            // Shortest representation that reads back to the same f64.
            w.write_record([r.image.as_str(), name.as_str(), &format!("{}", r.score)])
                .map_err(csv_err)?;
        }
    }
    let bytes = w.into_inner().map_err(|e| QualityError::Scores {
        path: path.into(),
        reason: e.to_string(),
    })?;
    let methods = scores
        .methods
        .iter()
        .map(|(name, m)| {
            let entry = WrittenMethod {
                direction: m.direction,
                params: &m.params,
                images: m.scores.len(),
            };
            (name.as_str(), entry)
        })
        .collect();
    let meta = WrittenSidecar {
        amva_version: env!("CARGO_PKG_VERSION"),
        kind: "quality_scores",
        scores: path.file_name().map(|n| n.to_string_lossy().to_string()),
        columns: ["image", "method", "score"],
        methods,
        origin,
    };
    // The sidecar first: a run stopped between the two leaves no score file without its
    // directions (a sidecar alone is never read).
    amva_io::atomic::write_json(&sidecar_path(path), &meta)?;
    amva_io::atomic::write_atomic(path, &bytes)?;
    Ok(())
}

/// What a sidecar says: a direction and parameters per method, and a file-wide
/// direction for plain files.
#[derive(Debug, Default)]
struct Sidecar {
    methods: BTreeMap<String, (Option<Direction>, serde_json::Value)>,
    direction: Option<Direction>,
}

impl Sidecar {
    /// The direction of `method` (and where it came from) and its parameters.
    fn method(&self, method: &str) -> (Direction, DirectionSource, serde_json::Value) {
        let (dir, params) = match self.methods.get(method) {
            Some((d, p)) => (d.or(self.direction), p.clone()),
            None => (self.direction, serde_json::json!({})),
        };
        match (dir, crate::registry::known_direction(method)) {
            (Some(d), _) => (d, DirectionSource::Sidecar, params),
            (None, Some(d)) => (d, DirectionSource::Known, params),
            (None, None) => (Direction::Higher, DirectionSource::Default, params),
        }
    }
}

/// A sidecar file as written (only the fields the reader uses; others are ignored).
#[derive(serde::Deserialize)]
struct SidecarFile {
    direction: Option<String>,
    #[serde(default)]
    methods: BTreeMap<String, SidecarMethod>,
}

#[derive(serde::Deserialize)]
struct SidecarMethod {
    direction: Option<String>,
    params: Option<serde_json::Value>,
}

fn read_sidecar(csv: &Path) -> Result<Sidecar> {
    let Some(path) = sidecar_candidates(csv).into_iter().find(|p| p.is_file()) else {
        return Ok(Sidecar::default());
    };
    let bad = |reason: String| QualityError::Scores {
        path: path.clone(),
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    let file: SidecarFile = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "{e}; expected JSON such as {{\"methods\": {{NAME: {{\"direction\": \"higher\"|\"lower\", \"params\": {{...}}}}}}}} or {{\"direction\": ...}}"
        ))
    })?;
    let parse = |d: &str, what: &str| -> Result<Direction> {
        d.parse().map_err(|_| {
            bad(format!(
                "{what}: direction '{d}', expected 'higher' or 'lower'"
            ))
        })
    };
    let mut out = Sidecar::default();
    if let Some(d) = &file.direction {
        out.direction = Some(parse(d, "direction")?);
    }
    for (name, m) in file.methods {
        let dir = match &m.direction {
            Some(d) => Some(parse(d, &format!("methods.{name}"))?),
            None => None,
        };
        let params = m.params.unwrap_or_else(|| serde_json::json!({}));
        out.methods.insert(name, (dir, params));
    }
    Ok(out)
}

const IMAGE_COLUMNS: [&str; 6] = ["image", "id", "file", "path", "img", "filename"];
const SCORE_COLUMNS: [&str; 3] = ["score", "quality", "value"];

/// Parses a score: a number, or NaN/inf/empty/NA/null (returned as NaN or infinite,
/// to be excluded and listed). `None` for text that is no number at all.
fn parse_score(raw: &str) -> Option<f64> {
    let t = raw.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("na") || t.eq_ignore_ascii_case("null") {
        return Some(f64::NAN);
    }
    t.parse::<f64>().ok()
}

/// Which columns hold the image, the score and (long format) the method.
struct Columns {
    image: usize,
    score: usize,
    method: Option<usize>,
    count: usize,
}

impl Columns {
    fn from_header(header: &[String], first_line: &str) -> std::result::Result<Columns, String> {
        if header.iter().any(|h| h.parse::<f64>().is_ok()) {
            return Err(format!(
                "the first line '{}' holds a number, so it is data, not a header; expected a header line such as image,method,score or image,score",
                first_line.trim()
            ));
        }
        let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
        let method = header.iter().position(|h| h == "method");
        let (image, score) = match (find(&IMAGE_COLUMNS), find(&SCORE_COLUMNS)) {
            (Some(i), Some(s)) => (i, s),
            _ if header.len() == 2 && method.is_none() => (0, 1),
            _ => {
                return Err(format!(
                    "expected the columns image,score (one method, named after the file) or image,method,score; found {}",
                    header.join(",")
                ))
            }
        };
        Ok(Columns {
            image,
            score,
            method,
            count: header.len(),
        })
    }
}

/// The methods of one file as they are read, with the first line of every
/// (method, image) to judge repeats.
struct Collector<'a> {
    path: &'a Path,
    stem: String,
    sidecar: Sidecar,
    methods: Vec<MethodScores>,
    index: HashMap<String, usize>,
    seen: HashMap<(usize, String), (usize, f64)>,
}

impl Collector<'_> {
    fn method(&mut self, name: &str) -> usize {
        if let Some(&m) = self.index.get(name) {
            return m;
        }
        let (direction, direction_source, params) = self.sidecar.method(name);
        self.methods.push(MethodScores {
            name: name.into(),
            direction,
            direction_source,
            params,
            source: self.path.into(),
            ..Default::default()
        });
        self.index.insert(name.into(), self.methods.len() - 1);
        self.methods.len() - 1
    }

    /// Adds one row; a repeat with the same score is counted, one with another
    /// score is an error naming both lines.
    fn add(&mut self, method: &str, row: ScoreRow) -> Result<()> {
        let m = self.method(method);
        let key = (m, row.image.clone());
        if let Some(&(first_line, first_score)) = self.seen.get(&key) {
            let same = first_score == row.score || (first_score.is_nan() && row.score.is_nan());
            if !same {
                return Err(QualityError::DuplicateScore {
                    path: self.path.into(),
                    method: method.into(),
                    image: row.image,
                    first_line,
                    first_score,
                    second_line: row.line,
                    second_score: row.score,
                });
            }
            self.methods[m].repeated += 1;
            return Ok(());
        }
        self.seen.insert(key, (row.line, row.score));
        let target = if row.score.is_finite() {
            &mut self.methods[m].scores
        } else {
            &mut self.methods[m].non_finite
        };
        target.push(row);
        Ok(())
    }
}

/// Reads one score file (either shape; see the module docs): its methods in the order
/// they first appear.
///
/// Errors on an unreadable or empty file, unknown columns, a score that is not a
/// number, an empty image id or method, and an image repeated with a different score
/// (naming both lines).
pub fn read_score_file(path: &Path) -> Result<Vec<MethodScores>> {
    let bad = |reason: String| QualityError::Scores {
        path: path.into(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        bad(format!(
            "not UTF-8 text ({e}); expected a CSV or TSV score file"
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if text.trim().is_empty() {
        return Err(bad(
            "the file is empty; expected a header (image,score or image,method,score) and one row per image".into(),
        ));
    }
    let first = text.lines().next().unwrap_or("");
    let mut reader = amva_io::table::delimited(text).from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| bad(format!("unreadable header: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let cols = Columns::from_header(&header, first).map_err(bad)?;
    let mut c = Collector {
        path,
        stem: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "quality".into()),
        sidecar: read_sidecar(path)?,
        methods: Vec::new(),
        index: HashMap::new(),
        seen: HashMap::new(),
    };
    for (line, record) in amva_io::table::strict_rows(&mut reader, text) {
        read_row(&mut c, &cols, record, line)?;
    }
    if c.methods.is_empty() {
        return Err(bad(
            "the file has a header but no scores; expected one row per image".into(),
        ));
    }
    Ok(c.methods)
}

/// One data row at `line` of the file.
fn read_row(
    c: &mut Collector<'_>,
    cols: &Columns,
    record: std::result::Result<csv::StringRecord, String>,
    line: usize,
) -> Result<()> {
    let row_err = |reason: String| QualityError::ScoresRow {
        path: c.path.into(),
        line,
        reason,
    };
    let record = record.map_err(row_err)?;
    if record.iter().all(|f| f.trim().is_empty()) {
        return Ok(());
    }
    let field = |col: usize, what: &str| -> Result<&str> {
        record.get(col).map(str::trim).ok_or_else(|| {
            row_err(format!(
                "no {what} column (the header has {} columns)",
                cols.count
            ))
        })
    };
    let image = field(cols.image, "image")?;
    if image.is_empty() {
        return Err(row_err("empty image id".into()));
    }
    let method = match cols.method {
        Some(col) => field(col, "method")?.to_string(),
        None => c.stem.clone(),
    };
    if method.is_empty() {
        return Err(row_err("empty method name".into()));
    }
    // A missing score cell counts as a missing score (listed), not a bad row.
    let raw = record.get(cols.score).map(str::trim).unwrap_or("");
    let score = parse_score(raw)
        .ok_or_else(|| row_err(format!("score '{raw}' of image '{image}' is not a number")))?;
    let row = ScoreRow {
        image: image.to_string(),
        score,
        line,
    };
    c.add(&method, row)
}

/// Reads one score file into [`Scores`] by method name (for `amva edc` and the demo).
pub fn read_scores(path: &Path) -> Result<Scores> {
    Ok(Scores {
        methods: read_score_file(path)?
            .into_iter()
            .map(|m| (m.name.clone(), m))
            .collect(),
    })
}

/// Reads several score files (a method may appear in only one of them), then applies
/// `--direction` overrides (`(method, direction)`), each of which must name a method
/// that was read.
pub fn read_score_files(
    paths: &[PathBuf],
    directions: &[(String, Direction)],
) -> Result<Vec<MethodScores>> {
    if paths.is_empty() {
        return Err(QualityError::Option {
            option: "--scores".into(),
            reason: "give at least one score file".into(),
        });
    }
    let mut all: Vec<MethodScores> = Vec::new();
    for p in paths {
        for m in read_score_file(p)? {
            if let Some(prev) = all.iter().find(|x| x.name == m.name) {
                return Err(QualityError::Scores {
                    path: p.clone(),
                    reason: format!(
                        "method '{}' is also in {}; give each method once (rename one file, or use a 'method' column)",
                        m.name,
                        prev.source.display()
                    ),
                });
            }
            all.push(m);
        }
    }
    let known = all
        .iter()
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    for (name, d) in directions {
        let m = all
            .iter_mut()
            .find(|m| &m.name == name)
            .ok_or_else(|| QualityError::Option {
                option: "--direction".into(),
                reason: format!("no method '{name}' in the score files (methods: {known})"),
            })?;
        m.direction = *d;
        m.direction_source = DirectionSource::Option;
    }
    Ok(all)
}

/// Parses `--direction NAME=lower` (or `NAME=higher`).
pub fn parse_direction_override(s: &str) -> Result<(String, Direction)> {
    let bad = |reason: &str| QualityError::Option {
        option: "--direction".into(),
        reason: format!("'{s}': {reason}"),
    };
    let (name, dir) = s
        .rsplit_once('=')
        .ok_or_else(|| bad("expected METHOD=lower or METHOD=higher"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(bad("the method name is empty"));
    }
    let d = dir
        .parse()
        .map_err(|_| bad("the direction must be 'higher' or 'lower'"))?;
    Ok((name.to_string(), d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn computed(
        name: &str,
        d: Direction,
        params: serde_json::Value,
        rows: &[(&str, f64)],
    ) -> MethodScores {
        let mut m = MethodScores::computed(name, d, params);
        m.scores = rows
            .iter()
            .map(|&(image, score)| ScoreRow {
                image: image.into(),
                score,
                line: 0,
            })
            .collect();
        m
    }

    /// The scores as (image, score) pairs, lines aside.
    fn pairs(m: &MethodScores) -> Vec<(String, f64)> {
        m.scores
            .iter()
            .map(|r| (r.image.clone(), r.score))
            .collect()
    }

    fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    fn sample() -> Scores {
        let mut s = Scores::default();
        s.methods.insert(
            "brisque".into(),
            computed(
                "brisque",
                Direction::Lower,
                serde_json::json!({"model": "LIVE"}),
                &[("a.jpg", 12.5), ("b/c.jpg", 0.1 + 0.2)],
            ),
        );
        s.methods.insert(
            "serfiq".into(),
            computed(
                "serfiq",
                Direction::Higher,
                serde_json::json!({"t": 100, "seed": 7}),
                &[("a.jpg", 0.875), ("b/c.jpg", -1e-300)],
            ),
        );
        s
    }

    #[test]
    fn long_format_round_trips_with_directions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("scores.csv");
        let origin = ScoreOrigin {
            image_count: 2,
            ..ScoreOrigin::default()
        };
        write_scores(&p, &sample(), &origin).unwrap();
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("scores.meta.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["image_count"], 2);
        assert_eq!(meta["kind"], "quality_scores");
        let back = read_scores(&p).unwrap();
        for (name, m) in &sample().methods {
            let b = back.get(name).unwrap();
            assert_eq!(
                (pairs(b), b.direction, &b.params),
                (pairs(m), m.direction, &m.params)
            );
            assert_eq!(b.direction_source, DirectionSource::Sidecar);
        }
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("image,method,score\n"), "{text}");
    }

    /// Issue 26, row 3: without a sidecar, BRISQUE was taken as higher-is-better.
    #[test]
    fn long_format_without_sidecar_takes_known_directions_else_higher() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.csv");
        std::fs::write(
            &p,
            "image,method,score\nx,brisque,3\ny,brisque,4\nx,pose,-2\nx,mine,1\n",
        )
        .unwrap();
        let s = read_scores(&p).unwrap();
        assert_eq!(s.methods.len(), 3);
        let b = s.get("brisque").unwrap();
        assert_eq!(
            (b.direction, b.direction_source),
            (Direction::Lower, DirectionSource::Known)
        );
        assert!(b
            .direction_note()
            .unwrap()
            .contains("lower is better, as for amva's built-in"));
        let m = s.get("mine").unwrap();
        assert_eq!(
            (m.direction, m.direction_source),
            (Direction::Higher, DirectionSource::Default)
        );
        assert!(m
            .direction_note()
            .unwrap()
            .contains("--direction mine=lower"));
        assert_eq!(pairs(s.get("pose").unwrap()), vec![("x".to_string(), -2.0)]);
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
            read_scores(&q).unwrap().get("other").unwrap().scores[0].score,
            1.0
        );
    }

    #[test]
    fn bad_rows_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.csv");
        for (body, want) in [
            ("image,method,score\na,m,1\na,m,2\n", "line 3"),
            (
                "image,method,score\na,m,zz\n",
                "'zz' of image 'a' is not a number",
            ),
            ("image,method,score\n", "no scores"),
            ("a,b,c\nx,y,z\n", "expected the columns"),
            ("a.jpg,3.5\nb.jpg,1\n", "holds a number, so it is data"),
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

    #[test]
    fn plain_and_long_files_with_sidecar_directions() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "magface.csv", "image,score\na.jpg,3.5\nb.jpg,1\n");
        let m = read_score_file(&p).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].name, "magface");
        assert_eq!(m[0].direction, Direction::Higher);
        assert_eq!(m[0].direction_source, DirectionSource::Default);
        assert_eq!(
            m[0].scores[1],
            ScoreRow {
                image: "b.jpg".into(),
                score: 1.0,
                line: 3
            }
        );

        let p = write(
            d.path(),
            "q.tsv",
            "Image\tMethod\tScore\na\tbrisque\t30\na\tpose\t-4\nb\tbrisque\t20\n",
        );
        write(
            d.path(),
            "q.meta.json",
            r#"{"methods": {"brisque": {"direction": "lower"}}}"#,
        );
        let m = read_score_file(&p).unwrap();
        assert_eq!(
            m.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            ["brisque", "pose"]
        );
        assert_eq!(m[0].direction, Direction::Lower);
        assert_eq!(m[0].direction_source, DirectionSource::Sidecar);
        assert_eq!(m[1].direction, Direction::Higher);
        assert_eq!(m[0].scores.len(), 2);
    }

    #[test]
    fn non_finite_scores_are_kept_aside_and_agreeing_repeats_are_accepted() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "s.csv",
            "image,score\na,NaN\nb,inf\nc,\nd,-Infinity\ne,2\ne,2.0\n",
        );
        let m = &read_score_file(&p).unwrap()[0];
        assert_eq!(m.scores.len(), 1);
        let listed: Vec<&str> = m.non_finite.iter().map(|r| r.image.as_str()).collect();
        assert_eq!(listed, ["a", "b", "c", "d"]);
        assert_eq!(m.repeated, 1);
    }

    #[test]
    fn bad_files_name_the_problem() {
        let d = tempfile::tempdir().unwrap();
        let cases = [
            ("", "empty"),
            ("image,score\n", "no scores"),
            ("a,b,c\n1,2,3\n", "expected the columns"),
            ("image,score\nx,abc\n", "line 2"),
            ("image,score\nx,1\ny,2\nx,1.5\n", "line 2 and 1.5 on line 4"),
            ("image,score\n,1\n", "empty image id"),
        ];
        for (body, want) in cases {
            let p = write(d.path(), "bad.csv", body);
            let err = read_score_file(&p).unwrap_err().to_string();
            assert!(
                err.contains("bad.csv") && err.contains(want),
                "{body:?}: {err}"
            );
        }
    }

    #[test]
    fn overrides_and_methods_in_two_files() {
        let d = tempfile::tempdir().unwrap();
        let a = write(d.path(), "a.csv", "image,method,score\nx,m,1\n");
        let b = write(d.path(), "b.csv", "image,method,score\nx,m,2\n");
        let err = read_score_files(&[a.clone(), b], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("'m' is also in"), "{err}");
        let m = read_score_files(
            std::slice::from_ref(&a),
            &[parse_direction_override("m=lower").unwrap()],
        )
        .unwrap();
        assert_eq!(m[0].direction, Direction::Lower);
        assert_eq!(m[0].direction_source, DirectionSource::Option);
        let err = read_score_files(&[a], &[("zz".into(), Direction::Lower)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no method 'zz'") && err.contains("m"), "{err}");
        assert!(parse_direction_override("m=down").is_err());
        assert!(parse_direction_override("lower").is_err());
    }
}
