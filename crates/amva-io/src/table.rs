//! The one way amva reads a user's table (score files, pairs, image lists, landmarks,
//! groups): CSV, or TSV when the first line holds a tab; rows may differ in length
//! (the callers name short rows with their line).

/// A CSV reader builder for `text`: tab-separated when its first line holds a tab,
/// else comma-separated; flexible row lengths. Callers add `has_headers(false)` where
/// the file has no header and read with `.from_reader(text.as_bytes())`.
pub fn delimited(text: &str) -> csv::ReaderBuilder {
    let first = text.lines().next().unwrap_or("");
    let mut b = csv::ReaderBuilder::new();
    b.delimiter(if first.contains('\t') { b'\t' } else { b',' })
        .flexible(true);
    b
}
