//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/`) through the
//! fuzz targets' own entry points (`fuzz/entry.rs`), on the stable toolchain, so CI
//! catches a regression on any input the fuzzer once found interesting without
//! needing nightly or cargo-fuzz. See fuzz/README.md.

#[path = "../../../fuzz/entry.rs"]
mod entry;

use std::path::{Path, PathBuf};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// Every file of one target's corpus: the entry point returns (Ok or a named Err, it
/// checks that itself) without panicking. Returns (accepted, refused).
fn replay(name: &str, run: entry::Entry) -> (usize, usize) {
    let (mut ok, mut refused) = (0, 0);
    let inputs = files(&corpus_root().join(name));
    assert!(!inputs.is_empty(), "fuzz/corpus/{name} is empty");
    for path in inputs {
        let data = std::fs::read(&path).unwrap();
        match std::panic::catch_unwind(|| run(&data)) {
            Ok(Ok(())) => ok += 1,
            Ok(Err(_)) => refused += 1,
            Err(_) => panic!("{} panicked (see the message above)", path.display()),
        }
    }
    (ok, refused)
}

#[test]
fn fuzz_corpus_every_file_replays_without_panic() {
    for (name, run) in entry::TARGETS {
        let (ok, refused) = replay(name, *run);
        println!("{name}: {ok} accepted, {refused} refused");
        // The seeds hold real files and broken ones: both outcomes must occur, else the
        // entry point (or the corpus) has stopped exercising the reader.
        assert!(ok > 0, "{name}: no corpus file was accepted");
        assert!(refused > 0, "{name}: no corpus file was refused");
    }
}

#[test]
fn fuzz_corpus_has_a_folder_per_target_and_no_other() {
    let mut dirs: Vec<String> = std::fs::read_dir(corpus_root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut targets: Vec<String> = entry::TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    targets.sort();
    assert_eq!(dirs, targets);
}

#[test]
fn fuzz_corpus_split_finds_the_parts() {
    let sep = entry::SEPARATOR;
    let data = [b"a".as_slice(), sep, b"bb", sep, b"c", sep, b"d"].concat();
    let parts = entry::split(&data, 3);
    let tail = [b"c".as_slice(), sep, b"d"].concat();
    assert_eq!(
        parts,
        vec![
            Some(b"a".as_slice()),
            Some(b"bb".as_slice()),
            Some(&tail[..])
        ]
    );
    assert_eq!(entry::split(b"x", 2), vec![Some(b"x".as_slice()), None]);
}
