//! Quality score files as `amva analyze` reads them.
//!
//! Two shapes, CSV or TSV (a tab in the header line), header names matched
//! case-insensitively:
//! - one method per file: `image,score` (any image column of `image`, `id`, `file`,
//!   `path`, `img`, `filename`; any score column of `score`, `quality`, `value`; or
//!   exactly two columns). The method is named after the file stem.
//! - long format: `image,method,score`, any number of methods.
//!
//! Directions come from the sidecar `amva quality` writes (`scores.meta.json`, or
//! `scores.csv.json`: `{"methods": {name: {"direction": "lower"}}}` or a file-wide
//! `{"direction": "lower"}`), else "higher is better"; `--direction NAME=lower`
//! overrides both.
//!
//! Unlike `amva_quality::read_scores`, which refuses them, non-finite or empty
//! scores are kept aside here so that the analysis can exclude *and list* them
//! (ALGORITHMS 2), and a repeated image is accepted when its scores agree.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use amva_math::groups::Direction;

use crate::{AnalysisError, Result};

/// One row of a score file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    /// The image id, as in the maps' index.csv.
    pub image: String,
    /// The score (may be NaN or infinite in [`MethodScores::non_finite`]).
    pub score: f64,
    /// 1-based line in the file (the header is line 1).
    pub line: usize,
}

/// Where a method's direction came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectionSource {
    /// Nothing said otherwise: higher is better.
    Default,
    /// The score file's sidecar JSON.
    Sidecar,
    /// `--direction NAME=...` on the command line.
    Option,
}

impl DirectionSource {
    /// Short text for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DirectionSource::Default => "default",
            DirectionSource::Sidecar => "sidecar",
            DirectionSource::Option => "--direction",
        }
    }
}

/// The scores of one FIQA method.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodScores {
    /// Method name.
    pub name: String,
    /// Which way the scores point.
    pub direction: Direction,
    /// Where [`MethodScores::direction`] came from.
    pub direction_source: DirectionSource,
    /// The file the scores were read from.
    pub source: PathBuf,
    /// Finite scores, one per image, in file order.
    pub scores: Vec<ScoreRow>,
    /// Rows whose score is NaN, infinite or empty: excluded from the analysis and listed.
    pub non_finite: Vec<ScoreRow>,
    /// Rows that repeat an image with the same score (ignored, counted).
    pub repeated: usize,
}

const IMAGE_COLUMNS: [&str; 6] = ["image", "id", "file", "path", "img", "filename"];
const SCORE_COLUMNS: [&str; 3] = ["score", "quality", "value"];

/// The sidecar of a score file: what `amva quality` writes beside it.
#[derive(Debug, Default)]
struct Sidecar {
    methods: BTreeMap<String, Direction>,
    direction: Option<Direction>,
}

fn read_sidecar(csv: &Path) -> Result<Sidecar> {
    let mut alt = csv.as_os_str().to_owned();
    alt.push(".json");
    let candidates = [csv.with_extension("meta.json"), PathBuf::from(alt)];
    let Some(path) = candidates.into_iter().find(|p| p.is_file()) else {
        return Ok(Sidecar::default());
    };
    let bad = |reason: String| AnalysisError::Scores {
        path: path.clone(),
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| AnalysisError::io(&path, e))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let parse = |d: &serde_json::Value, what: &str| -> Result<Direction> {
        let s = d
            .as_str()
            .ok_or_else(|| bad(format!("{what}: the direction must be a string")))?;
        parse_direction(s).ok_or_else(|| {
            bad(format!(
                "{what}: direction '{s}', expected 'higher' or 'lower'"
            ))
        })
    };
    let mut out = Sidecar::default();
    if let Some(d) = v.get("direction") {
        out.direction = Some(parse(d, "direction")?);
    }
    if let Some(methods) = v.get("methods") {
        let methods = methods.as_object().ok_or_else(|| {
            bad("'methods' must be an object {name: {\"direction\": ...}}".into())
        })?;
        for (name, m) in methods {
            if let Some(d) = m.get("direction") {
                out.methods
                    .insert(name.clone(), parse(d, &format!("methods.{name}"))?);
            }
        }
    }
    Ok(out)
}

/// `higher`/`lower`, also the spellings `amva quality` accepts.
pub fn parse_direction(s: &str) -> Option<Direction> {
    match s.trim().to_ascii_lowercase().as_str() {
        "higher" | "high" | "higher_is_better" | "higher is better" => Some(Direction::Higher),
        "lower" | "low" | "lower_is_better" | "lower is better" => Some(Direction::Lower),
        _ => None,
    }
}

/// Parses a score: a number, or NaN/inf/empty (returned as NaN or infinite, to be
/// excluded and listed). `None` for text that is no number at all.
fn parse_score(raw: &str) -> Option<f64> {
    let t = raw.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("na") || t.eq_ignore_ascii_case("null") {
        return Some(f64::NAN);
    }
    t.parse::<f64>().ok()
}

/// Reads one score file (either shape; see the module docs).
///
/// Errors on an unreadable or empty file, unknown columns, a score that is not a
/// number, an empty image id, and an image repeated with a different score (naming
/// both lines).
pub fn read_score_file(path: &Path) -> Result<Vec<MethodScores>> {
    let bad = |reason: String| AnalysisError::Scores {
        path: path.into(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| AnalysisError::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| bad(format!("not UTF-8 text: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if text.trim().is_empty() {
        return Err(bad(
            "the file is empty; expected a header (image,score or image,method,score) and one row per image".into(),
        ));
    }
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.contains('\t') { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| bad(format!("unreadable header: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let method_col = header.iter().position(|h| h == "method");
    let (image_col, score_col) = match (find(&IMAGE_COLUMNS), find(&SCORE_COLUMNS)) {
        (Some(i), Some(s)) => (i, s),
        _ if header.len() == 2 && method_col.is_none() => (0, 1),
        _ => {
            return Err(bad(format!(
                "expected the columns image,score (one method, named after the file) or image,method,score; found '{}'",
                header.join(",")
            )))
        }
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "quality".into());
    let sidecar = read_sidecar(path)?;

    let mut methods: Vec<MethodScores> = Vec::new();
    let mut method_index: HashMap<String, usize> = HashMap::new();
    // (method, image) -> (line, score)
    let mut seen: HashMap<(usize, String), (usize, f64)> = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let row_err = |reason: String| AnalysisError::ScoresRow {
            path: path.into(),
            line,
            reason,
        };
        let record = record.map_err(|e| row_err(e.to_string()))?;
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let field = |c: usize, what: &str| -> Result<&str> {
            record.get(c).map(str::trim).ok_or_else(|| {
                row_err(format!(
                    "no {what} column (the header has {} columns)",
                    header.len()
                ))
            })
        };
        let image = field(image_col, "image")?;
        if image.is_empty() {
            return Err(row_err("empty image id".into()));
        }
        let method = match method_col {
            Some(c) => field(c, "method")?.to_string(),
            None => stem.clone(),
        };
        if method.is_empty() {
            return Err(row_err("empty method name".into()));
        }
        // A missing score cell counts as a missing score (listed), not a bad row.
        let raw = record.get(score_col).map(str::trim).unwrap_or("");
        let score = parse_score(raw)
            .ok_or_else(|| row_err(format!("score '{raw}' of image '{image}' is not a number")))?;
        let m = *method_index.entry(method.clone()).or_insert_with(|| {
            let (direction, direction_source) =
                match sidecar.methods.get(&method).copied().or(sidecar.direction) {
                    Some(d) => (d, DirectionSource::Sidecar),
                    None => (Direction::Higher, DirectionSource::Default),
                };
            methods.push(MethodScores {
                name: method.clone(),
                direction,
                direction_source,
                source: path.into(),
                scores: Vec::new(),
                non_finite: Vec::new(),
                repeated: 0,
            });
            methods.len() - 1
        });
        match seen.get(&(m, image.to_string())) {
            Some((first_line, first_score)) => {
                let same = first_score.to_bits() == score.to_bits()
                    || (first_score.is_nan() && score.is_nan())
                    || *first_score == score;
                if !same {
                    return Err(AnalysisError::DuplicateScore {
                        path: path.into(),
                        method,
                        image: image.to_string(),
                        first_line: *first_line,
                        first_score: *first_score,
                        second_line: line,
                        second_score: score,
                    });
                }
                methods[m].repeated += 1;
                continue;
            }
            None => {
                seen.insert((m, image.to_string()), (line, score));
            }
        }
        let row = ScoreRow {
            image: image.to_string(),
            score,
            line,
        };
        if score.is_finite() {
            methods[m].scores.push(row);
        } else {
            methods[m].non_finite.push(row);
        }
    }
    if methods.is_empty() {
        return Err(bad(
            "the file has a header but no scores; expected one row per image".into(),
        ));
    }
    Ok(methods)
}

/// Reads several score files; a method may appear in only one of them. Then
/// applies `--direction` overrides (`(method, direction)`), each of which must name
/// a method that was read.
pub fn read_scores(
    paths: &[PathBuf],
    directions: &[(String, Direction)],
) -> Result<Vec<MethodScores>> {
    if paths.is_empty() {
        return Err(AnalysisError::Option {
            option: "--scores".into(),
            reason: "give at least one score file".into(),
        });
    }
    let mut all: Vec<MethodScores> = Vec::new();
    for p in paths {
        for m in read_score_file(p)? {
            if let Some(prev) = all.iter().find(|x| x.name == m.name) {
                return Err(AnalysisError::Scores {
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
            .ok_or_else(|| AnalysisError::Option {
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
    let bad = |reason: &str| AnalysisError::Option {
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
    let d = parse_direction(dir).ok_or_else(|| bad("the direction must be 'higher' or 'lower'"))?;
    Ok((name.to_string(), d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
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
        let err = read_scores(&[a.clone(), b], &[]).unwrap_err().to_string();
        assert!(err.contains("'m' is also in"), "{err}");
        let m = read_scores(
            std::slice::from_ref(&a),
            &[parse_direction_override("m=lower").unwrap()],
        )
        .unwrap();
        assert_eq!(m[0].direction, Direction::Lower);
        assert_eq!(m[0].direction_source, DirectionSource::Option);
        let err = read_scores(&[a], &[("zz".into(), Direction::Lower)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no method 'zz'") && err.contains("m"), "{err}");
        assert!(parse_direction_override("m=down").is_err());
        assert!(parse_direction_override("lower").is_err());
    }
}
