//! Pairs files (`amva verify`, `amva edc`, the analysis's `--pairs`): one reader and
//! one writer. The embeddings folder is `amva_model::embeddings`.

use crate::{Error, Result};
use std::path::Path;

/// One comparison of a pairs file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub a: String,
    pub b: String,
    /// Both images show the same person (label 1).
    pub mated: bool,
}

/// Reads a pairs file: a header, then `img_a, img_b, label` (1/0, true/false); CSV, or
/// TSV when the first line holds a tab. Errors name the file and line: too few
/// columns, a label that is not 1 or 0, an image compared with itself, a comparison
/// listed twice (in either order, with the same or the other label), no pairs.
pub fn read_pairs(path: &Path) -> Result<Vec<Pair>> {
    Ok(read_numbered(path)?.into_iter().map(|(_, p)| p).collect())
}

/// [`read_pairs`] with the file's line of each pair (the header is line 1).
pub fn read_numbered(path: &Path) -> Result<Vec<(usize, Pair)>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_numbered(&bytes, path)
}

/// [`read_pairs`] on bytes already read; `path` names them in errors.
pub fn parse_pairs(bytes: &[u8], path: &Path) -> Result<Vec<Pair>> {
    Ok(parse_numbered(bytes, path)?
        .into_iter()
        .map(|(_, p)| p)
        .collect())
}

/// [`read_numbered`] on bytes already read.
pub fn parse_numbered(bytes: &[u8], path: &Path) -> Result<Vec<(usize, Pair)>> {
    let bad = |reason: String| Error::List {
        path: path.into(),
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        bad(format!(
            "not UTF-8 text ({e}); expected a CSV or TSV pairs file"
        ))
    })?;
    let mut r = crate::table::delimited(text).from_reader(text.as_bytes());
    let mut pairs = Vec::new();
    for (line, rec) in crate::table::strict_rows(&mut r, text) {
        let rec = rec.map_err(|e| bad(format!("line {line}: {e}")))?;
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let pair = parse_pair(&rec).map_err(|why| bad(format!("line {line}: {why}")))?;
        pairs.push((line, pair));
    }
    if pairs.is_empty() {
        return Err(bad(
            "no pairs; expected a header and one row img_a, img_b, label per comparison".into(),
        ));
    }
    check_once(&pairs).map_err(bad)?;
    Ok(pairs)
}

/// The key of a comparison: its two ids in order, so (a, b) and (b, a) are one.
pub fn comparison_key<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// The pairs file's line of each comparison, by its [`comparison_key`] (owned).
pub fn lines_by_comparison(
    path: &Path,
) -> Result<std::collections::HashMap<(String, String), usize>> {
    Ok(read_numbered(path)?
        .into_iter()
        .map(|(line, p)| {
            let (a, b) = comparison_key(&p.a, &p.b);
            ((a.to_string(), b.to_string()), line)
        })
        .collect())
}

/// Refuses a comparison listed twice: (a, b) and (b, a) are the same comparison.
fn check_once(pairs: &[(usize, Pair)]) -> std::result::Result<(), String> {
    let mut seen: std::collections::HashMap<(&str, &str), (usize, bool)> = Default::default();
    for (line, p) in pairs {
        let key = comparison_key(&p.a, &p.b);
        if let Some((first, mated)) = seen.insert(key, (*line, p.mated)) {
            let how = if mated == p.mated {
                "twice"
            } else {
                "twice with both labels"
            };
            return Err(format!(
                "lines {first} and {line} compare '{}' and '{}' {how}; (a, b) and (b, a) are one comparison, list it once",
                p.a, p.b
            ));
        }
    }
    Ok(())
}

fn parse_pair(rec: &csv::StringRecord) -> std::result::Result<Pair, String> {
    if rec.len() < 3 {
        return Err(format!(
            "expected img_a, img_b, label; got {} columns",
            rec.len()
        ));
    }
    let mated = match rec[2].trim() {
        "1" | "true" | "True" => true,
        "0" | "false" | "False" => false,
        other => return Err(format!("label '{other}' is not 1 or 0")),
    };
    let (a, b) = (rec[0].trim(), rec[1].trim());
    if a.is_empty() || b.is_empty() {
        return Err("an image id is empty".into());
    }
    if a == b {
        return Err(format!(
            "'{a}' is compared with itself; expected two different images"
        ));
    }
    Ok(Pair {
        a: a.into(),
        b: b.into(),
        mated,
    })
}

/// A pairs file's bytes (CSV with the header `img_a,img_b,label`, label 1 or 0), as
/// [`read_pairs`] reads them back.
pub fn pairs_csv(pairs: &[Pair]) -> Result<Vec<u8>> {
    let err = |e: csv::Error| Error::Other(format!("pairs file: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["img_a", "img_b", "label"]).map_err(err)?;
    for p in pairs {
        let label = if p.mated { "1" } else { "0" };
        w.write_record([p.a.as_str(), p.b.as_str(), label])
            .map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| Error::Other(format!("pairs file: {e}")))
}

/// The images the pairs name, each once (sorted by id), as files below `root`.
pub fn pair_images(pairs: &[Pair], root: &Path) -> Vec<crate::images::ImageItem> {
    let mut ids: Vec<&String> = pairs.iter().flat_map(|p| [&p.a, &p.b]).collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|id| crate::images::ImageItem {
            id: id.clone(),
            path: root.join(id),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_in_csv_and_tsv_and_their_errors() {
        let p = Path::new("pairs.tsv");
        let ok = parse_pairs(b"img_a\timg_b\tlabel\na\tb\t1\nc\td\tfalse\n", p).unwrap();
        assert_eq!(ok.len(), 2);
        assert!(ok[0].mated && !ok[1].mated);
        assert_eq!((ok[1].a.as_str(), ok[1].b.as_str()), ("c", "d"));
        for (body, want) in [
            (&b"a,b,label\nx,y,2\n"[..], "line 2: label '2'"),
            (b"a,b,label\nx,y\n", "line 2: 2 fields, expected 3"),
            (b"a,b,label\nx,x,1\n", "compared with itself"),
            (b"a,b,label\n", "no pairs"),
            (
                b"a,b,label\nx,y,1\nq,r,0\ny,x,1\n",
                "lines 2 and 4 compare 'y' and 'x' twice;",
            ),
            (b"a,b,label\nx,y,1\nx,y,0\n", "twice with both labels"),
            (b"\xff\xfe", "not UTF-8"),
        ] {
            let e = parse_pairs(body, p).unwrap_err().to_string();
            assert!(e.contains(want) && e.contains("pairs.tsv"), "{e}");
        }
    }

    #[test]
    fn pairs_files_round_trip() {
        let pairs = vec![
            Pair {
                a: "x/a,1.jpg".into(),
                b: "y/b.jpg".into(),
                mated: true,
            },
            Pair {
                a: "x/a,1.jpg".into(),
                b: "z.jpg".into(),
                mated: false,
            },
        ];
        let bytes = pairs_csv(&pairs).unwrap();
        assert_eq!(parse_pairs(&bytes, Path::new("p.csv")).unwrap(), pairs);
    }
}
