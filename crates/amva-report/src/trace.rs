//! Every number of a report traced to its file: each table of report.html names the
//! file that holds its numbers (`data-source`, see [`amva_draw::Table::source`]); this
//! reads the page back, as a reader would, and looks up every number shown in a table
//! in that file, at the precision shown. The tests run it on real reports; a user can
//! run it on any output folder to check that nothing was edited by hand.

use std::path::{Path, PathBuf};

use crate::{ReportError, Result};

/// A number shown in a table that its file does not hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Untraced {
    /// The file the table names.
    pub source: String,
    /// The cell's text.
    pub shown: String,
}

/// What [`check`] found.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// Tables that name a file.
    pub tables: usize,
    /// Numbers looked up.
    pub numbers: usize,
    /// Numbers not found in their file.
    pub untraced: Vec<Untraced>,
    /// Tables without a source that show numbers (their captions).
    pub unsourced: Vec<String>,
}

/// Reads `report` (report.html) and looks up every number of its tables in the file
/// each table names, relative to the report's folder.
pub fn check(report: &Path) -> Result<Trace> {
    let html = std::fs::read_to_string(report).map_err(|e| ReportError::file(report, e))?;
    let dir = report.parent().unwrap_or(Path::new("."));
    let mut trace = Trace::default();
    for table in tables(&html) {
        let shown: Vec<&str> = table.numbers.iter().map(String::as_str).collect();
        let Some(source) = table.source else {
            if shown.iter().any(|s| parse(s).is_some()) {
                trace.unsourced.push(table.caption);
            }
            continue;
        };
        trace.tables += 1;
        let values = numbers_of(&dir.join(&source), &table.place)?;
        for s in shown {
            let Some((v, tol)) = parse(s) else { continue };
            trace.numbers += 1;
            if !values.iter().any(|x| (x - v).abs() <= tol) {
                trace.untraced.push(Untraced {
                    source: source.clone(),
                    shown: s.to_string(),
                });
            }
        }
    }
    Ok(trace)
}

/// One table of the page: its source, caption and the texts of its numeric cells.
struct HtmlTable {
    source: Option<String>,
    place: String,
    caption: String,
    numbers: Vec<String>,
}

/// The tables of a page written by [`amva_draw::Report`] (parameters table excluded).
fn tables(html: &str) -> Vec<HtmlTable> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<table") {
        let body = &rest[i..];
        let end = body.find("</table>").unwrap_or(body.len());
        let (open, inner) = body[..end].split_once('>').unwrap_or((&body[..end], ""));
        rest = &body[end..];
        if open.contains("class=\"params\"") {
            continue;
        }
        let source = attr(open, "data-source").map(|s| unescape(&s));
        let place = attr(open, "data-place").map_or(String::new(), |s| unescape(&s));
        let caption = between(inner, "<caption>", "</caption>")
            .map(|c| unescape(&strip_tags(c)))
            .unwrap_or_default();
        let numbers = inner
            .split("<td class=\"num\">")
            .skip(1)
            .map(|cell| unescape(&strip_tags(cell.split("</td>").next().unwrap_or(""))))
            .collect();
        out.push(HtmlTable {
            source,
            place,
            caption,
            numbers,
        });
    }
    out
}

fn attr(tag: &str, name: &str) -> Option<String> {
    between(tag, &format!("{name}=\""), "\"").map(str::to_string)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)?;
    Some(&s[i..i + j])
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in s.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// A number as a table shows it and half a unit of its last digit (the rounding it
/// may have had); None for text, "NaN" and infinities.
pub fn parse(shown: &str) -> Option<(f64, f64)> {
    let v: f64 = shown.parse().ok()?;
    if !v.is_finite() {
        return None;
    }
    let (mantissa, exp) = match shown.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (shown, 0),
    };
    let decimals = mantissa.split_once('.').map_or(0, |(_, d)| d.len()) as i32;
    let unit = 10f64.powi(exp - decimals);
    Some((v, 0.5 * unit * (1.0 + 1e-9) + 1e-12 * v.abs()))
}

/// Every number in a CSV file, or at `place` in a JSON file (see
/// [`amva_draw::Table::source`]; empty: the whole file).
fn numbers_of(path: &PathBuf, place: &str) -> Result<Vec<f64>> {
    let text = std::fs::read_to_string(path).map_err(|e| ReportError::file(path, e))?;
    if path.extension().is_some_and(|e| e == "json") {
        let invalid = |e: String| {
            ReportError::file(
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        };
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let mut out = Vec::new();
        for node in at_place(&v, place) {
            json_numbers(node, &mut out);
        }
        if out.is_empty() {
            return Err(invalid(format!("no number at '{place}'")));
        }
        return Ok(out);
    }
    Ok(text
        .split([',', '\t', '\n', '\r', '"'])
        .filter_map(|t| t.trim().parse::<f64>().ok())
        .collect())
}

/// The values at `place` in `v`: keys separated by dots (in quotes when they hold
/// dots), `*` for every value of an object, `key[]` for every element of an array.
fn at_place<'v>(v: &'v serde_json::Value, place: &str) -> Vec<&'v serde_json::Value> {
    let mut nodes = vec![v];
    for step in steps(place) {
        let (key, all) = match step.strip_suffix("[]") {
            Some(k) => (k.to_string(), true),
            None => (step, false),
        };
        let key = key.trim_matches('"');
        nodes = nodes
            .into_iter()
            .flat_map(|n| match (key, n) {
                ("*", serde_json::Value::Object(o)) => o.values().collect(),
                ("", n) => vec![n],
                (k, n) => n.get(k).into_iter().collect::<Vec<_>>(),
            })
            .collect();
        if all {
            nodes = nodes
                .into_iter()
                .flat_map(|n| n.as_array().into_iter().flatten())
                .collect();
        }
    }
    nodes
}

/// The dot-separated steps of a place, dots inside quotes kept.
fn steps(place: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in place.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            '.' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if !cur.is_empty() || !out.is_empty() {
        out.push(cur);
    }
    out
}

fn json_numbers(v: &serde_json::Value, out: &mut Vec<f64>) {
    match v {
        serde_json::Value::Number(n) => out.extend(n.as_f64()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_numbers(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| json_numbers(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_number_carries_the_rounding_of_its_last_digit() {
        assert_eq!(parse("24"), Some((24.0, 0.5 + 24e-12 + 0.5e-9)));
        let (v, tol) = parse("0.1235").unwrap();
        assert_eq!(v, 0.1235);
        assert!((tol - 5e-5).abs() < 1e-12);
        let (v, tol) = parse("1.235e-4").unwrap();
        assert!((v - 1.235e-4).abs() < 1e-18);
        assert!((tol - 5e-8).abs() < 1e-15);
        assert_eq!(parse("holds"), None);
        assert_eq!(parse("NaN"), None);
        assert_eq!(parse("\u{2013}"), None);
    }

    #[test]
    fn tables_are_read_back_with_their_source_and_numeric_cells() {
        let t = amva_draw::Table::new(["m", "x", "n"])
            .caption("A <caption>.")
            .source("summary.json", "key_findings")
            .row(vec![
                amva_draw::Cell::from("a&b").link("#m"),
                amva_draw::Cell::from(0.123456).link("#m"),
                amva_draw::Cell::from(7usize),
            ])
            .unwrap();
        let mut r = amva_draw::Report::new("t");
        r.param("p", "1.5");
        r.table(t);
        let got = tables(&r.to_html());
        assert_eq!(got.len(), 1, "the parameters table is not one of them");
        assert_eq!(got[0].source.as_deref(), Some("summary.json"));
        assert_eq!(
            got[0].caption,
            "A <caption>. Source: summary.json, key_findings."
        );
        assert_eq!(got[0].numbers, ["0.1235", "7"]);
        assert_eq!(got[0].place, "key_findings");
    }

    #[test]
    fn a_place_selects_the_numbers_below_it() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"methods": {"a.b": {"groups": [{"n": 1}, {"n": 2}]}, "c": {"groups": [{"n": 3}]}},
                "other": 4}"#,
        )
        .unwrap();
        let nums = |place: &str| {
            let mut out = Vec::new();
            for n in at_place(&v, place) {
                json_numbers(n, &mut out);
            }
            out
        };
        assert_eq!(nums(r#"methods."a.b".groups[]"#), [1.0, 2.0]);
        assert_eq!(nums("methods.*.groups[].n"), [1.0, 2.0, 3.0]);
        assert_eq!(nums("other"), [4.0]);
        assert_eq!(nums(""), [1.0, 2.0, 3.0, 4.0]);
        assert!(nums("missing").is_empty());
    }
}
