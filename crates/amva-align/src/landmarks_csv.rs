//! Five-point landmark files for `amva align --landmarks`.
//!
//! Two layouts are read (comma- or, if the first line has a tab, tab-separated):
//!
//! 1. `image, x1, y1, x2, y2, x3, y3, x4, y4, x5, y5`: the image, then left eye, right
//!    eye, nose tip, left and right mouth corner ("left" = image left), one number a
//!    column. The header line is optional.
//! 2. One column of ten space-separated numbers in the same order, as in the LFW dev
//!    `index.csv` (`relpath, identity, landmarks5_in_raw250_deepfunneled(...), ...`).
//!    With a header, the landmark column is the one whose name starts with
//!    `landmarks5_in_raw250_deepfunneled`, else the first whose name contains `landmark`.
//!
//! The image column is the one named `image`, `path`, `relpath`, `file`, `filename` or
//! `img`, else the first. Image names are matched against the ids of the image list
//! (paths relative to its folder, `/`-separated). A row whose landmark fields are all
//! empty means "no landmarks for this image" (the image is then listed as failed); a
//! row with some fields missing or not numeric is an error naming the line.

use crate::similarity::Point;
use crate::{AlignError, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Landmarks by image id; `None` for images listed without landmarks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LandmarkTable {
    pub by_image: HashMap<String, Option<[Point; 5]>>,
}

impl LandmarkTable {
    /// The landmarks of image `id`: `None` if it is not listed, `Some(None)` if listed empty.
    pub fn get(&self, id: &str) -> Option<Option<[Point; 5]>> {
        self.by_image.get(id).copied()
    }

    pub fn len(&self) -> usize {
        self.by_image.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_image.is_empty()
    }
}

/// Where the numbers are in a row.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// Ten columns starting here.
    Columns(usize),
    /// One column of space-separated numbers.
    Packed(usize),
}

const IMAGE_COLUMNS: [&str; 6] = ["image", "path", "relpath", "file", "filename", "img"];

/// Reads a landmarks file (see the module docs for the layouts).
pub fn read_landmarks_csv(path: &Path) -> Result<LandmarkTable> {
    let text = std::fs::read_to_string(path).map_err(|e| AlignError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    parse_landmarks_csv(&text, path)
}

fn is_number(s: &str) -> bool {
    s.trim().parse::<f64>().is_ok()
}

fn is_packed_numbers(s: &str) -> bool {
    let parts: Vec<&str> = s.split_whitespace().collect();
    parts.len() == 10 && parts.iter().all(|p| is_number(p))
}

/// Parses the text of a landmarks file; `path` is only used in error messages.
pub fn parse_landmarks_csv(text: &str, path: &Path) -> Result<LandmarkTable> {
    let bad = |line: usize, reason: String| AlignError::LandmarksCsv {
        path: PathBuf::from(path),
        line,
        reason,
    };
    let mut rdr = amva_io::table::delimited(text)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut records = rdr.records();
    let Some(first) = records.next() else {
        return Err(bad(1, "the file is empty".into()));
    };
    let first = first.map_err(|e| bad(1, e.to_string()))?;
    // A header unless the second field already holds a coordinate.
    let has_header = !first
        .get(1)
        .is_some_and(|f| is_number(f) || is_packed_numbers(f));
    let (image_col, layout, names) = if has_header {
        header_layout(&first).map_err(|why| bad(1, why))?
    } else {
        let layout = if first.len() >= 11 {
            Layout::Columns(1)
        } else {
            Layout::Packed(1)
        };
        (0, layout, Vec::new())
    };
    let col_name = |c: usize| {
        names
            .get(c)
            .cloned()
            .unwrap_or_else(|| format!("{}", c + 1))
    };

    let mut table = LandmarkTable::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let rows = std::iter::once(Ok(first))
        .filter(|_| !has_header)
        .chain(records);
    for (i, rec) in rows.enumerate() {
        let line = i + 1 + has_header as usize;
        let rec = rec.map_err(|e| bad(line, e.to_string()))?;
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let image = rec.get(image_col).map(str::trim).unwrap_or("");
        if image.is_empty() {
            return Err(bad(
                line,
                format!("empty image name in column '{}'", col_name(image_col)),
            ));
        }
        let values = row_values(&rec, layout, &col_name).map_err(|why| bad(line, why))?;
        let pts = parse_points(&values).map_err(|why| bad(line, why))?;
        let id = image.replace('\\', "/");
        if let Some(prev) = seen.insert(id.clone(), line) {
            return Err(bad(
                line,
                format!("image '{id}' is listed twice (also on line {prev})"),
            ));
        }
        table.by_image.insert(id, pts);
    }
    Ok(table)
}

/// The image column, the layout of the coordinates and the column names of a header.
fn header_layout(
    first: &csv::StringRecord,
) -> std::result::Result<(usize, Layout, Vec<String>), String> {
    let names: Vec<String> = first.iter().map(|h| h.trim().to_string()).collect();
    let lower: Vec<String> = names.iter().map(|h| h.to_ascii_lowercase()).collect();
    let image_col = IMAGE_COLUMNS
        .iter()
        .find_map(|n| lower.iter().position(|h| h == n))
        .unwrap_or(0);
    let packed = lower
        .iter()
        .position(|h| h.starts_with("landmarks5_in_raw250_deepfunneled"))
        .or_else(|| lower.iter().position(|h| h.contains("landmark")));
    let layout = match packed {
        Some(c) => Layout::Packed(c),
        None if names.len() < image_col + 11 => {
            return Err(format!(
                "header has {} columns; expected the image column then 10 coordinate columns (x1,y1..x5,y5) or a 'landmarks' column of 10 space-separated numbers",
                names.len()
            ))
        }
        None => Layout::Columns(image_col + 1),
    };
    Ok((image_col, layout, names))
}

/// The 10 coordinate fields of a row, each with its column's name.
fn row_values(
    rec: &csv::StringRecord,
    layout: Layout,
    col_name: &dyn Fn(usize) -> String,
) -> std::result::Result<Vec<(String, String)>, String> {
    match layout {
        Layout::Columns(start) => {
            if rec.len() < start + 10 {
                return Err(format!(
                    "{} columns; expected the image and 10 coordinates (x1,y1..x5,y5)",
                    rec.len()
                ));
            }
            Ok((start..start + 10)
                .map(|c| (col_name(c), rec[c].trim().to_string()))
                .collect())
        }
        Layout::Packed(c) => {
            let Some(field) = rec.get(c) else {
                return Err(format!(
                    "{} columns; no landmark column '{}'",
                    rec.len(),
                    col_name(c)
                ));
            };
            let parts: Vec<&str> = field.split_whitespace().collect();
            if !parts.is_empty() && parts.len() != 10 {
                return Err(format!(
                    "column '{}' has {} numbers; expected 10 (x1 y1 .. x5 y5)",
                    col_name(c),
                    parts.len()
                ));
            }
            Ok(parts.iter().map(|p| (col_name(c), p.to_string())).collect())
        }
    }
}

/// Five points from 10 coordinate fields; None when all are empty (no face).
fn parse_points(values: &[(String, String)]) -> std::result::Result<Option<[Point; 5]>, String> {
    if values.iter().all(|(_, v)| v.is_empty()) {
        return Ok(None);
    }
    let mut nums = [0f64; 10];
    for (k, (name, v)) in values.iter().enumerate() {
        if v.is_empty() {
            return Err(format!(
                "column '{name}' is empty (coordinate {} of 10)",
                k + 1
            ));
        }
        nums[k] = v
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| {
                format!(
                    "column '{name}': '{v}' is not a number (coordinate {} of 10)",
                    k + 1
                )
            })?;
    }
    Ok(Some(std::array::from_fn(|j| {
        [nums[2 * j], nums[2 * j + 1]]
    })))
}
