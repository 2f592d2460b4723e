//! One flag name, one kind of value, in every command (issue 22: `--channels` was the input
//! colour order in most commands but Score-CAM's channels in `maps`; `--method(s)` named
//! map methods in some commands and FIQA methods in others).
//!
//! Walks `amva --help` and every subcommand's `--help` (recursively: `bench maps`), reads
//! each long flag's placeholder, possible values and help text, and checks that
//! - a flag name takes one kind of value everywhere: the same placeholder (`<DIR>`,
//!   `<FIQA,...>`; a list and its single form count as one) and the same possible values,
//!   or is a switch everywhere; `SAME_CONCEPT` lists the few names whose placeholder
//!   differs for a good reason;
//! - a flag that takes a value in more than one command says what that value is in the
//!   same words everywhere (`MEANINGS`): two placeholders can agree by accident (clap
//!   derives them from the field name), the help text says what is meant;
//! - the old spellings of renamed flags still work, with a note on stderr.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Flag names whose placeholder differs between commands although the value is the same
/// concept: (name, the placeholders, why).
const SAME_CONCEPT: &[(&str, &[&str], &str)] = &[
    (
        "out",
        &["DIR", "CSV"],
        "where the command writes: a folder, or the one file of `quality`",
    ),
    (
        "images",
        &["DIR|LIST", "DIR"],
        "a set of face images; `verify` and `edc` find them by the pairs file's ids below a \
         folder, so they take no list",
    ),
];

/// What the value of each flag that takes one in several commands is: a phrase every one
/// of its help texts contains (case-insensitive). A flag that comes to a second command
/// needs an entry here, after checking that it means the same thing there.
const MEANINGS: &[(&str, &str)] = &[
    ("out", "output"),
    ("images", "images"),
    ("model", "ONNX"),
    ("model-config", "settings"),
    ("layer", "tensor"),
    ("embedding", "tensor"),
    ("channel-order", "colour order"),
    ("engine", "engine"),
    ("seed", "seed"),
    ("method", "map method"),
    ("methods", "map methods"),
    ("fiqa", "FIQA method"),
    ("cam-channels", "Score-CAM channels"),
    ("score", "Score-CAM weighting"),
    ("temperature", "softmax temperature"),
    ("batch", "per model call"),
    ("n", "number of"),
    ("shard", "only the i-th of n"),
    ("n-scorecam", "faces"),
    ("rounds", "repetitions"),
    ("maps", "map store"),
    ("scores", "scores"),
    ("pairs", "pairs file"),
    ("embeddings", "embeddings folder"),
    ("fmr", "FMR"),
    ("pauc", "pAUC"),
    ("bootstrap", "bootstrap resamples"),
    ("permutations", "permutations"),
    ("memory", "MiB"),
    ("bins", "quality bins"),
    ("steps", "steps per curve"),
    ("high", "high-quality group"),
    ("low", "low-quality group"),
    ("direction", "direction"),
];

/// One long flag of one command, as its `--help` shows it.
#[derive(Debug, Clone)]
struct Flag {
    command: String,
    name: String,
    /// The placeholder without list marks (`FIQA,...` -> `FIQA`); None for a switch.
    value: Option<String>,
    possible: Option<String>,
    help: String,
}

impl Flag {
    /// The kind of value: its placeholder and possible values.
    fn kind(&self) -> String {
        match (&self.value, &self.possible) {
            (None, _) => "a switch".into(),
            (Some(v), None) => format!("<{v}>"),
            (Some(v), Some(p)) => format!("<{v}> [{p}]"),
        }
    }
}

fn help(path: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_amva"))
        .args(path)
        .arg("--help")
        .output()
        .expect("amva runs");
    assert!(
        out.status.success(),
        "amva {} --help failed",
        path.join(" ")
    );
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The lines of one section of a help text (`Options:`, `Commands:`), up to the next
/// line that is not indented.
fn section<'a>(text: &'a str, head: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| *l != head)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect()
}

/// `--name <VALUE>` at the start of an option line (after `-x, `); None for other lines.
fn flag_head(line: &str) -> Option<(String, Option<String>, &str)> {
    let t = line.trim_start();
    let indent = line.len() - t.len();
    if !(2..=6).contains(&indent) {
        return None;
    }
    let t = match t.strip_prefix('-') {
        Some(rest) if !rest.starts_with('-') => rest.get(3..)?,
        _ => t,
    };
    let rest = t.strip_prefix("--")?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(rest.len());
    let (name, mut rest) = rest.split_at(end);
    rest = rest.strip_prefix("...").unwrap_or(rest);
    let value = rest
        .strip_prefix(" <")
        .or_else(|| rest.strip_prefix(" [<"))
        .and_then(|v| v.split_once('>'))
        .map(|(v, after)| {
            rest = after.trim_start_matches(['.', ']']);
            v.trim_end_matches(",...").to_string()
        });
    Some((name.to_string(), value, rest.trim()))
}

/// Every long flag of `command`'s help text.
fn flags(command: &str, text: &str) -> Vec<Flag> {
    let mut out: Vec<Flag> = Vec::new();
    for line in section(text, "Options:") {
        match flag_head(line) {
            Some((name, value, help)) => out.push(Flag {
                command: command.to_string(),
                name,
                value,
                possible: None,
                help: help.to_string(),
            }),
            None => {
                if let Some(f) = out.last_mut() {
                    f.help = format!("{} {}", f.help, line.trim());
                }
            }
        }
    }
    for f in &mut out {
        f.help = f.help.trim().to_string();
        if let Some((_, p)) = f.help.split_once("[possible values: ") {
            f.possible = p.split_once(']').map(|(p, _)| p.to_string());
        }
    }
    out
}

/// Every flag of `amva` and of every subcommand, recursively.
fn all_flags() -> Vec<Flag> {
    let mut out = Vec::new();
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    while let Some(path) = todo.pop() {
        let text = help(&path);
        let command = if path.is_empty() {
            "amva".to_string()
        } else {
            path.join(" ")
        };
        out.extend(flags(&command, &text));
        // A command's line starts two spaces in; its wrapped description, further in.
        for line in section(&text, "Commands:") {
            let Some(name) = line
                .strip_prefix("  ")
                .filter(|l| !l.starts_with(' '))
                .and_then(|l| l.split_whitespace().next())
            else {
                continue;
            };
            if name != "help" {
                let mut sub = path.clone();
                sub.push(name.to_string());
                todo.push(sub);
            }
        }
    }
    out
}

/// The flags by name.
fn by_name(flags: &[Flag]) -> BTreeMap<&str, Vec<&Flag>> {
    let mut m: BTreeMap<&str, Vec<&Flag>> = BTreeMap::new();
    for f in flags {
        m.entry(f.name.as_str()).or_default().push(f);
    }
    m
}

#[test]
fn the_walk_sees_every_command_and_the_flags_it_must() {
    let flags = all_flags();
    let commands: BTreeSet<&str> = flags.iter().map(|f| f.command.as_str()).collect();
    for c in [
        "amva",
        "demo",
        "maps",
        "quality",
        "explain",
        "engine install",
        "bench maps",
        "bench scale",
    ] {
        assert!(commands.contains(c), "{c} not walked: {commands:?}");
    }
    assert!(commands.len() >= 20, "{commands:?}");
    let find = |c: &str, n: &str| {
        flags
            .iter()
            .find(|f| f.command == c && f.name == n)
            .unwrap_or_else(|| panic!("{c} --{n} not found"))
    };
    // The parser reads placeholders, lists and possible values (a wrapped line included).
    assert_eq!(find("quality", "fiqa").value.as_deref(), Some("FIQA"));
    assert_eq!(find("analyze", "scores").value.as_deref(), Some("FILE"));
    assert_eq!(find("maps", "full").value, None);
    assert_eq!(
        find("embed", "channel-order").possible.as_deref(),
        Some("rgb, bgr")
    );
    assert!(find("maps", "cam-channels")
        .help
        .contains("Score-CAM channels"));
}

#[test]
fn each_flag_name_takes_one_kind_of_value() {
    let flags = all_flags();
    let mut problems = Vec::new();
    for (name, uses) in by_name(&flags) {
        let kinds: BTreeMap<String, Vec<&str>> = uses.iter().fold(BTreeMap::new(), |mut m, f| {
            m.entry(f.kind()).or_insert_with(Vec::new).push(&f.command);
            m
        });
        if kinds.len() < 2 {
            continue;
        }
        let allowed = SAME_CONCEPT.iter().find(|(n, _, _)| *n == name);
        let explained = allowed.is_some_and(|(_, values, _)| {
            uses.iter()
                .all(|f| f.value.as_deref().is_some_and(|v| values.contains(&v)))
        });
        if !explained {
            problems.push(format!("--{name}: {kinds:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "flag names with more than one kind of value (rename one, or add it to SAME_CONCEPT \
         with the reason if it is truly one concept):\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_flag_shared_by_commands_says_what_its_value_is_in_the_same_words() {
    let flags = all_flags();
    let mut problems = Vec::new();
    let mut used = BTreeSet::new();
    for (name, uses) in by_name(&flags) {
        let commands: BTreeSet<&str> = uses.iter().map(|f| f.command.as_str()).collect();
        if commands.len() < 2 || uses.iter().all(|f| f.value.is_none()) {
            continue;
        }
        let Some((_, phrase)) = MEANINGS.iter().find(|(n, _)| *n == name) else {
            problems.push(format!(
                "--{name} takes a value in {commands:?}: check that it means the same there \
                 and add it to MEANINGS with the phrase its help texts share"
            ));
            continue;
        };
        used.insert(name);
        for f in &uses {
            if !f.help.to_lowercase().contains(&phrase.to_lowercase()) {
                problems.push(format!(
                    "{} --{name}: help does not say \"{phrase}\": {}",
                    f.command, f.help
                ));
            }
        }
    }
    for (name, _) in MEANINGS {
        if !used.contains(name) {
            problems.push(format!(
                "MEANINGS names --{name}, which no longer takes a value in two commands"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The old spellings of the renamed flags: (arguments with the old spelling, the note).
/// Each run fails soon after parsing (a missing file, or no index to download from),
/// without data, model or network.
fn renamed_runs(tmp: &std::path::Path) -> Vec<(Vec<String>, &'static str)> {
    let t = |p: &str| tmp.join(p).display().to_string();
    let missing_model = t("missing.onnx");
    let v = |args: &[&str]| args.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        (
            v(&["model", "--channels", "bgr", "--model", &missing_model]),
            "--channels is deprecated, use --channel-order",
        ),
        (
            v(&[
                "embed",
                "--channels=rgb",
                "--model",
                &missing_model,
                "--images",
                &t("faces"),
                "--out",
                &t("emb"),
            ]),
            "--channels is deprecated, use --channel-order",
        ),
        (
            v(&[
                "maps",
                "--channels",
                "top:4",
                "--model",
                &missing_model,
                "--images",
                &t("faces"),
                "--out",
                &t("maps"),
            ]),
            "--channels is deprecated, use --cam-channels",
        ),
        (
            v(&[
                "faithfulness",
                "--boot",
                "10",
                "--model",
                &missing_model,
                "--images",
                &t("faces"),
                "--out",
                &t("faith"),
            ]),
            "--boot is deprecated, use --bootstrap",
        ),
        (
            v(&[
                "quality",
                "--methods",
                "typicality",
                "--images",
                &t("faces"),
                "--out",
                &t("q.csv"),
            ]),
            "--methods is deprecated, use --fiqa",
        ),
        (
            v(&[
                "edc",
                "--methods",
                "q",
                "--pairs",
                &t("pairs.csv"),
                "--scores",
                &t("s.csv"),
                "--embeddings",
                &t("emb"),
                "--out",
                &t("edc"),
            ]),
            "--methods is deprecated, use --fiqa",
        ),
        (
            v(&[
                "explain",
                "--method",
                "magnitude",
                "--reference",
                &t("analysis"),
                "--out",
                &t("why"),
                &t("a.png"),
            ]),
            "--method is deprecated, use --fiqa",
        ),
        (
            v(&[
                "demo",
                "--qualities",
                "magnitude",
                "--images",
                &t("photos"),
                "--out",
                &t("demo"),
            ]),
            "--qualities is deprecated, use --fiqa",
        ),
        (
            v(&["engine", "install", "--version", "1.0.0"]),
            "--version is deprecated, use --ort-version",
        ),
    ]
}

#[test]
fn renamed_flags_still_parse_and_say_their_new_name() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("faces")).unwrap();
    for (args, note) in renamed_runs(tmp.path()) {
        let out = Command::new(env!("CARGO_BIN_EXE_amva"))
            // No index to download ONNX Runtime from: `engine install` fails at once.
            .env("AMVA_PYPI_SIMPLE", "http://127.0.0.1:9/simple")
            .env("AMVA_MODELS", tmp.path().join("no-models"))
            .args(&args)
            .output()
            .expect("amva runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Exit 2 is a usage error: the old spelling was not understood.
        assert_ne!(
            out.status.code(),
            Some(2),
            "amva {}: {stderr}",
            args.join(" ")
        );
        let line = format!("{note}; the old name goes in the next release");
        assert_eq!(
            stderr.lines().filter(|l| *l == line).count(),
            1,
            "amva {}: expected the note `{line}` once on stderr, got:\n{stderr}",
            args.join(" ")
        );
    }
}

#[test]
fn the_old_fiqa_spelling_reaches_the_new_flag() {
    // `--methods typicality` without --maps: the error names the new flag with the value.
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_amva"))
        .args(["quality", "--methods", "typicality", "--images"])
        .arg(tmp.path())
        .arg("--out")
        .arg(tmp.path().join("q.csv"))
        .output()
        .expect("amva runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--fiqa typicality needs --maps DIR"),
        "{stderr}"
    );
}

#[test]
fn old_spellings_stay_out_of_the_help_and_quiet_silences_the_note() {
    let text = help(&["maps".to_string()]);
    assert!(!text.contains("--channels "), "{text}");
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_amva"))
        .args(["--quiet", "quality", "--methods", "typicality", "--images"])
        .arg(tmp.path())
        .arg("--out")
        .arg(tmp.path().join("q.csv"))
        .output()
        .expect("amva runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("deprecated"), "{stderr}");
    assert!(stderr.contains("--fiqa typicality"), "{stderr}");
}
