//! The one way amva reads a user's table (score files, pairs, image lists, landmarks,
//! groups): CSV, or TSV when the first line holds a tab. Tables with a header are read
//! strictly ([`strict_rows`]): a row with more or fewer fields than the header is
//! refused with its line, so that `img,3,707` (a decimal comma) is never read as 3.

/// A CSV reader builder for `text`: tab-separated when its first line holds a tab,
/// else comma-separated. The first line is the first that is not empty, the one the
/// reader takes as the header (it skips empty lines). Rows may differ in length here;
/// [`strict_rows`] refuses those that differ from the header. Callers add
/// `has_headers(false)` where the file has no header and read with
/// `.from_reader(text.as_bytes())`.
pub fn delimited(text: &str) -> csv::ReaderBuilder {
    let first = text
        .split(['\n', '\r'])
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut b = csv::ReaderBuilder::new();
    b.delimiter(if first.contains('\t') { b'\t' } else { b',' })
        .flexible(true);
    b
}

/// The data rows of a table with a header, read by `reader` from `text`, each with its
/// line in `text` (1-based; the header is line 1; blank lines count), or why it is
/// refused: unreadable, or a field count other than the header's (a row whose fields
/// are all empty is passed on, for the caller to skip).
pub fn strict_rows<'r, R: std::io::Read + 'r>(
    reader: &'r mut csv::Reader<R>,
    text: &'r str,
) -> impl Iterator<Item = (usize, Result<csv::StringRecord, String>)> + 'r {
    let header: Vec<String> = reader
        .headers()
        .map(|h| h.iter().map(|f| f.trim().to_string()).collect())
        .unwrap_or_default();
    let line_of = move |byte: u64| {
        let bytes = text.as_bytes();
        let mut end = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
        // The reader's position may stand on blank lines it skipped before the record.
        while end < bytes.len() && matches!(bytes[end], b'\n' | b'\r') {
            end += 1;
        }
        1 + bytes[..end].iter().filter(|&&b| b == b'\n').count()
    };
    reader.records().map(move |r| {
        let byte = match &r {
            Ok(rec) => rec.position().map(|p| p.byte()),
            Err(e) => e.position().map(|p| p.byte()),
        };
        let line = byte.map_or(0, line_of);
        let checked =
            r.map_err(|e| e.to_string())
                .and_then(|rec| match width_error(&rec, &header) {
                    Some(why) => Err(why),
                    None => Ok(rec),
                });
        (line, checked)
    })
}

/// Why `rec` does not fit `header` (None when it does, or when it is blank).
fn width_error(rec: &csv::StringRecord, header: &[String]) -> Option<String> {
    if rec.len() == header.len() || rec.iter().all(|f| f.trim().is_empty()) {
        return None;
    }
    let hint = if rec.len() > header.len() {
        "; a decimal comma or a comma inside a name? Write 3.707, or quote the field (\"3,707\")"
    } else {
        ""
    };
    let plural = if rec.len() == 1 { "" } else { "s" };
    Some(format!(
        "{} field{plural}, expected {} as in the header ({}){hint}",
        rec.len(),
        header.len(),
        header.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<(usize, Result<Vec<String>, String>)> {
        let mut r = delimited(text).from_reader(text.as_bytes());
        strict_rows(&mut r, text)
            .map(|(l, rec)| (l, rec.map(|r| r.iter().map(String::from).collect())))
            .collect()
    }

    #[test]
    fn rows_of_another_width_than_the_header_are_refused_with_their_line() {
        let got = rows("image,score\na.jpg,0.5\nb.jpg,3,707\n\nc.jpg\nd.jpg,\"3,707\"\n");
        assert_eq!(got[0], (2, Ok(vec!["a.jpg".into(), "0.5".into()])));
        let (line, why) = &got[1];
        assert_eq!(*line, 3);
        let why = why.as_ref().unwrap_err();
        assert!(
            why.contains("3 fields, expected 2 as in the header (image, score)"),
            "{why}"
        );
        assert!(why.contains("decimal comma"), "{why}");
        assert_eq!(got[2].0, 5, "the blank line 4 is counted");
        assert!(got[2]
            .1
            .as_ref()
            .unwrap_err()
            .starts_with("1 field, expected 2"));
        assert_eq!(got[3], (6, Ok(vec!["d.jpg".into(), "3,707".into()])));
    }

    /// Found by the `table` fuzz target: a TSV starting with an empty line was split at
    /// commas (its first line holds no tab), so every row was one field, as wide as the
    /// header: a list took `a.jpg\tx` for a path, a groups file lost its columns.
    #[test]
    fn a_tab_separated_table_after_empty_lines_is_split_at_tabs() {
        let got = rows("\r\n\nimage\tgroup\na.jpg\tx\nb.jpg\n");
        assert_eq!(got[0], (4, Ok(vec!["a.jpg".into(), "x".into()])));
        let (line, why) = &got[1];
        assert_eq!(*line, 5);
        assert!(why.as_ref().unwrap_err().starts_with("1 field, expected 2"));
    }

    #[test]
    fn tab_separated_tables_and_blank_rows_pass() {
        let got = rows("img_a\timg_b\tlabel\na\tb\t1\n\t\t\n");
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|(_, r)| r.is_ok()));
    }
}
