//! The code cites docs/ALGORITHMS.md by section: "ALGORITHMS 4.6", "ALGORITHMS.md 1.4",
//! "ALGORITHMS.md section 5.1", ranges ("ALGORITHMS 2-6") and lists ("ALGORITHMS 4 and
//! 9"). These tests read every `.rs` file under `crates/*/src` and `crates/*/tests`,
//! README.md and docs/*.md, and fail naming `file:line` for a citation whose number is not
//! a heading of docs/ALGORITHMS.md, for the word without a section number, and for a
//! heading number that is used twice or whose parent section is missing. One more test
//! holds docs/ARCHITECTURE.md to naming every source file in its crate's section.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The word a citation starts with, spelt in halves so that this file's own examples are
/// not read as citations.
const WORD: &str = concat!("ALGO", "RITHMS");

/// A section number at the start of `s`: digits, `.digits` parts, and an optional lowercase
/// letter (`5b`) that ends the word. Returns it and the bytes it takes.
fn number(s: &str) -> Option<(String, usize)> {
    let b = s.as_bytes();
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut end = digits(0);
    if end == 0 {
        return None;
    }
    while b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end += 1 + digits(end + 1);
    }
    if b.get(end).is_some_and(u8::is_ascii_lowercase)
        && !b.get(end + 1).is_some_and(u8::is_ascii_alphanumeric)
    {
        end += 1;
    }
    Some((s[..end].to_string(), end))
}

/// The sections a range names: every integer for `2-6`, else both ends.
fn range(a: &str, b: &str) -> Vec<String> {
    match (a.parse::<u32>(), b.parse::<u32>()) {
        (Ok(x), Ok(y)) if x < y => (x..=y).map(|n| n.to_string()).collect(),
        _ => vec![a.to_string(), b.to_string()],
    }
}

/// What follows one occurrence of the word: the sections cited, `Ok(None)` for a mention
/// of the file itself (`docs/ALGORITHMS.md`), `Err` for the word with no number.
fn cited(after: &str) -> Result<Option<Vec<String>>, ()> {
    let (is_file, rest) = match after.strip_prefix(".md") {
        Some(r) => (true, r),
        None => (false, after),
    };
    let mut s = rest.trim_start_matches('`').trim_start();
    for lead in ["sections ", "section ", "§"] {
        if let Some(r) = s.strip_prefix(lead) {
            s = r.trim_start();
            break;
        }
    }
    let Some((first, used)) = number(s) else {
        return if is_file { Ok(None) } else { Err(()) };
    };
    let mut out = vec![first.clone()];
    let mut last = first;
    s = &s[used..];
    loop {
        let (is_range, r) = if let Some(r) = s.strip_prefix('-').or_else(|| s.strip_prefix('–')) {
            (true, r)
        } else if let Some(r) = s.strip_prefix(", ").or_else(|| s.strip_prefix(" and ")) {
            (false, r)
        } else {
            break;
        };
        let Some((n, used)) = number(r) else { break };
        if is_range {
            out.pop();
            out.extend(range(&last, &n));
        } else {
            out.push(n.clone());
        }
        last = n;
        s = &r[used..];
    }
    Ok(Some(out))
}

/// Every citation in `text`: (1-based line, the sections it names, or `Err(snippet)` for
/// the word without a section number).
fn citations(text: &str) -> Vec<(usize, Result<Vec<String>, String>)> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for (at, _) in line.match_indices(WORD) {
            let before = line[..at].chars().next_back();
            let after = &line[at + WORD.len()..];
            let joined = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            if joined(before) || (joined(after.chars().next()) && !after.starts_with(".md")) {
                continue;
            }
            match cited(after) {
                Ok(Some(sections)) => found.push((i + 1, Ok(sections))),
                Ok(None) => {}
                Err(()) => {
                    let snippet: String = line[at..].chars().take(40).collect();
                    found.push((i + 1, Err(snippet)));
                }
            }
        }
    }
    found
}

/// The numbered headings of a Markdown file outside code fences: (line, number).
fn headings(md: &str) -> Vec<(usize, String)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in md.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let hashes = line.bytes().take_while(|&c| c == b'#').count();
        if fenced || hashes == 0 || line.as_bytes().get(hashes) != Some(&b' ') {
            continue;
        }
        let title = &line[hashes + 1..];
        if let Some((n, used)) = number(title) {
            if matches!(title.as_bytes().get(used), None | Some(b'.') | Some(b' ')) {
                out.push((i + 1, n));
            }
        }
    }
    out
}

/// What [`check`] found.
#[derive(Debug, Default)]
struct Report {
    /// `file:line: what is wrong`, one per problem.
    problems: Vec<String>,
    /// Citations read (a range or list counts once).
    citations: usize,
    /// Files with at least one citation.
    citing_files: BTreeSet<String>,
    /// Numbered headings of the document.
    headings: BTreeMap<String, usize>,
}

/// Checks the headings of `md` (docs/ALGORITHMS.md) and the citations in `files`
/// (name, text).
fn check(md: &str, files: &[(String, String)]) -> Report {
    let mut r = Report::default();
    for (line, n) in headings(md) {
        if let Some(first) = r.headings.get(&n) {
            r.problems.push(format!(
                "docs/ALGORITHMS.md:{line}: heading {n} repeats the number of line {first}"
            ));
        } else {
            r.headings.insert(n, line);
        }
    }
    for (n, line) in &r.headings {
        if let Some((parent, _)) = n.rsplit_once('.') {
            if !r.headings.contains_key(parent) {
                r.problems.push(format!(
                    "docs/ALGORITHMS.md:{line}: heading {n} has no section {parent} above it"
                ));
            }
        }
    }
    for (name, text) in files {
        for (line, found) in citations(text) {
            match found {
                Ok(sections) => {
                    r.citations += 1;
                    r.citing_files.insert(name.clone());
                    for s in sections.iter().filter(|s| !r.headings.contains_key(*s)) {
                        r.problems.push(format!(
                            "{name}:{line}: {WORD} {s} is not a heading of docs/ALGORITHMS.md"
                        ));
                    }
                }
                Err(snippet) => r.problems.push(format!(
                    "{name}:{line}: \"{snippet}\" names no section (write e.g. \"{WORD} 4.2\")"
                )),
            }
        }
    }
    r
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// (path relative to the workspace, text) of every file whose citations are checked.
fn cited_files(root: &Path) -> Vec<(String, String)> {
    let mut paths = Vec::new();
    let crates = fs::read_dir(root.join("crates")).expect("crates/ of the workspace");
    for c in crates.flatten() {
        rust_files(&c.path().join("src"), &mut paths);
        rust_files(&c.path().join("tests"), &mut paths);
    }
    paths.push(root.join("README.md"));
    for e in fs::read_dir(root.join("docs")).expect("docs/").flatten() {
        if e.path().extension().is_some_and(|x| x == "md") {
            paths.push(e.path());
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let name = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            (name, text)
        })
        .collect()
}

#[test]
fn every_citation_of_algorithms_md_names_one_of_its_headings() {
    let root = workspace();
    let md = fs::read_to_string(root.join("docs/ALGORITHMS.md")).expect("docs/ALGORITHMS.md");
    let files = cited_files(&root);
    let r = check(&md, &files);
    assert!(
        r.problems.is_empty(),
        "{} problem(s):\n{}",
        r.problems.len(),
        r.problems.join("\n")
    );
    println!(
        "{} citations in {} files, all resolved to the {} numbered headings",
        r.citations,
        r.citing_files.len(),
        r.headings.len()
    );
    // The scan is not vacuous: the sources cite the document throughout, and the document
    // numbers its top-level sections 1, 2, ... without a gap.
    assert!(
        r.citations >= 70 && r.citing_files.len() >= 40,
        "only {} citations in {} files: is the scan still reading crates/*/src?",
        r.citations,
        r.citing_files.len()
    );
    for f in [
        "README.md",
        "docs/ARCHITECTURE.md",
        "crates/amva-math/src/resample.rs",
    ] {
        assert!(r.citing_files.contains(f), "no citation read in {f}");
    }
    let top: Vec<u32> = r.headings.keys().filter_map(|n| n.parse().ok()).collect();
    let mut sorted = top.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=sorted.len() as u32).collect::<Vec<_>>());
    assert!(
        sorted.len() >= 9 && r.headings.len() >= 50,
        "{:?}",
        r.headings.keys()
    );
}

#[test]
fn the_parser_reads_every_citation_form() {
    let text = format!(
        "a ({WORD} 4.6)\n\
         {WORD}.md section 5.1 and {WORD} 2-4\n\
         ({WORD} 4 and 9; {WORD}.md 1.4, 1.5 step 5)\n\
         see docs/{WORD}.md and `{WORD}.md`\n\
         MY_{WORD} 3; {WORD}X 2; {WORD}, Regions\n\
         {WORD} 5b with {WORD} 1's ending, {WORD} §6.2.\n"
    );
    let got = citations(&text);
    let v = |s: &[&str]| Ok(s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
    assert_eq!(
        got,
        vec![
            (1, v(&["4.6"])),
            (2, v(&["5.1"])),
            (2, v(&["2", "3", "4"])),
            (3, v(&["4", "9"])),
            (3, v(&["1.4", "1.5"])),
            (5, Err(format!("{WORD}, Regions"))),
            (6, v(&["5b"])),
            (6, v(&["1"])),
            (6, v(&["6.2"])),
        ]
    );
}

#[test]
fn a_wrong_citation_is_named_by_file_and_line_and_headings_must_be_unique() {
    let md = "# Algorithms\n## 1. One\n### 1.1 A\n```\n# 9 not a heading\n```\n## 2. Two\n### 2.1 B\n### 2.1 C\n### 3.1 D\n";
    assert_eq!(
        headings(md),
        [
            (2, "1"),
            (3, "1.1"),
            (7, "2"),
            (8, "2.1"),
            (9, "2.1"),
            (10, "3.1")
        ]
        .map(|(l, n)| (l, n.to_string()))
    );
    let files = vec![(
        "x.rs".to_string(),
        format!("// {WORD} 1.1\n// {WORD} 1.2 and {WORD} 2\n// {WORD}\n"),
    )];
    let r = check(md, &files);
    assert_eq!(
        r.problems,
        [
            "docs/ALGORITHMS.md:9: heading 2.1 repeats the number of line 8".to_string(),
            "docs/ALGORITHMS.md:10: heading 3.1 has no section 3 above it".to_string(),
            format!("x.rs:2: {WORD} 1.2 is not a heading of docs/ALGORITHMS.md"),
            format!("x.rs:3: \"{WORD}\" names no section (write e.g. \"{WORD} 4.2\")"),
        ]
    );
    assert_eq!(r.citations, 3);
}

/// docs/ARCHITECTURE.md names every source file of every crate, in that crate's section,
/// so the map of the house stays true when a file is added.
#[test]
fn architecture_names_every_source_file() {
    let root = workspace();
    let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap();
    let mut sections: Vec<(String, String)> = Vec::new();
    for part in doc.split("\n### ").skip(1) {
        let name = part.split_whitespace().next().unwrap_or("").to_string();
        sections.push((name, part.to_string()));
    }
    let mut missing = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let krate = dir.file_name().unwrap().to_string_lossy().to_string();
        let Some((_, text)) = sections.iter().find(|(n, _)| *n == krate) else {
            missing.push(format!("{krate}: no section '### {krate}'"));
            continue;
        };
        let mut files = Vec::new();
        for sub in ["src", "assets", "examples"] {
            all_files(&dir.join(sub), &mut files);
        }
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            checked += 1;
            if !text.contains(&format!("`{name}`")) && !text.contains(&format!("/{name}`")) {
                missing.push(format!("{}: not named in its crate's section", f.display()));
            }
        }
    }
    assert!(checked > 100, "only {checked} source files found");
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md misses:\n{}",
        missing.join("\n")
    );
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}
