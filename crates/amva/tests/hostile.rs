//! Hostile and careless input (issue 13): each test is named after a failure a bad-input
//! probe found, makes the hostile files itself and drives the real binary as a user would.
//! Every run has a time limit, so a regression to a hang fails instead of stalling CI.
//!
//! Tests that run the model need ../shared and skip with a message when it is missing.

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn shared() -> Option<PathBuf> {
    util::shared_with(&["models/fr_feature.onnx", "faces/lfw-dev/aligned112"])
}

/// The binary with the shared models (when there are any); quiet progress.
fn amva(shared: Option<&Path>, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_amva"));
    if let Some(s) = shared {
        c.env("AMVA_MODELS", s.join("models"));
    }
    c.args(args);
    c
}

/// What a run did: exit status (None when it was killed at the time limit), stdout,
/// stderr, and the peak memory in KiB when /usr/bin/time could measure it.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    peak_kib: Option<u64>,
}

impl Ran {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }
    fn summary(&self) -> serde_json::Value {
        let line = self.stdout.lines().last().unwrap_or("");
        serde_json::from_str(line).unwrap_or_else(|e| panic!("no JSON summary ({e}): {self}"))
    }
}

impl std::fmt::Display for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\nstdout: {}\nstderr: {}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `c`, killing it after `limit` seconds; measures peak memory with /usr/bin/time.
fn run_within(c: Command, limit: u64) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let (out_p, err_p, mem_p) = (
        dir.path().join("out"),
        dir.path().join("err"),
        dir.path().join("mem"),
    );
    let timer = Path::new("/usr/bin/time");
    let mut cmd = if timer.exists() {
        let mut t = Command::new(timer);
        t.arg("-f").arg("%M").arg("-o").arg(&mem_p);
        t.arg(c.get_program()).args(c.get_args());
        for (k, v) in c.get_envs() {
            if let Some(v) = v {
                t.env(k, v);
            }
        }
        t
    } else {
        c
    };
    // Its own process group, so that the time limit kills amva too, not only the timer.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_p).unwrap())
        .stderr(std::fs::File::create(&err_p).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if start.elapsed() > Duration::from_secs(limit) {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let ran = Ran {
        code,
        stdout: read(&out_p),
        stderr: read(&err_p),
        peak_kib: read(&mem_p)
            .trim()
            .lines()
            .last()
            .and_then(|l| l.parse().ok()),
    };
    eprintln!("{ran}\npeak memory: {:?} KiB", ran.peak_kib);
    ran
}

/// Two real faces (different people) copied into `dir`, as a.jpg and b.jpg.
fn two_faces(shared: &Path, dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let src = shared.join("faces/lfw-dev/aligned112");
    let pick = [
        src.join("Aaron_Peirsol/Aaron_Peirsol_0001.jpg"),
        src.join("Abdoulaye_Wade/Abdoulaye_Wade_0001.jpg"),
    ];
    pick.iter()
        .zip(["a.jpg", "b.jpg"])
        .map(|(from, to)| {
            std::fs::copy(from, dir.join(to)).unwrap();
            dir.join(to)
        })
        .collect()
}

/// `amva --json maps --method activation` (one model pass per image) with `extra` flags.
fn maps_activation(sh: &Path, faces: &Path, out: &Path, extra: &[&str]) -> Ran {
    let mut args = vec![
        "--json",
        "maps",
        "--images",
        s(faces),
        "--method",
        "activation",
    ];
    args.extend(extra);
    args.extend(["--out", s(out)]);
    run_within(amva(Some(sh), &args), 120)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Lines of a CSV file after its header.
fn rows(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect()
}

// Row 1 -----------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn symlink_loops_in_an_image_folder_do_not_hang_quality_or_maps_and_each_face_counts_once() {
    let Some(sh) = shared() else { return };
    let t = tempfile::tempdir().unwrap();
    let faces = t.path().join("faces");
    two_faces(&sh, &faces);
    for l in ["s1", "s2", "self"] {
        std::os::unix::fs::symlink(".", faces.join(l)).unwrap();
    }
    // A linked file is the same face too.
    std::os::unix::fs::symlink("a.jpg", faces.join("z_link.jpg")).unwrap();
    let q = t.path().join("q.csv");
    let ran = run_within(
        amva(
            Some(&sh),
            &[
                "--json",
                "quality",
                "--images",
                s(&faces),
                "--fiqa",
                "magnitude",
                "--out",
                s(&q),
            ],
        ),
        120,
    );
    assert!(ran.ok(), "{ran}");
    assert_eq!(ran.summary()["images"], 2, "{ran}");
    let mut ids: Vec<String> = rows(&q)
        .iter()
        .map(|r| r.split(',').next().unwrap().to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["a.jpg", "b.jpg"]);
    let maps = t.path().join("maps");
    let ran = maps_activation(&sh, &faces, &maps, &[]);
    assert!(ran.ok(), "{ran}");
    assert_eq!(ran.summary()["images"], 2, "{ran}");
}

// Row 2 -----------------------------------------------------------------------------

/// An `amva embed` folder written by hand: ids and their embeddings.
fn embeddings_dir(dir: &Path, emb: &[(&str, [f32; 4])]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut index = String::from("row,image\n");
    let mut flat = Vec::new();
    for (i, (id, v)) in emb.iter().enumerate() {
        index.push_str(&format!("{i},{id}\n"));
        flat.extend_from_slice(v);
    }
    std::fs::write(dir.join("index.csv"), index).unwrap();
    amva_io::npy::write_f32(&dir.join("embeddings.npy"), &[emb.len(), 4], &flat).unwrap();
    std::fs::write(dir.join("meta.json"), r#"{"kind": "embeddings"}"#).unwrap();
}

/// a, b, e finite; c holds a NaN, d an infinity.
fn nan_set(dir: &Path) -> (PathBuf, PathBuf) {
    let emb = dir.join("emb");
    embeddings_dir(
        &emb,
        &[
            ("a", [1.0, 0.1, 0.0, 0.0]),
            ("b", [0.9, 0.2, 0.1, 0.0]),
            ("c", [f32::NAN, 0.0, 1.0, 0.0]),
            ("d", [0.0, f32::INFINITY, 0.0, 1.0]),
            ("e", [0.0, 0.0, 1.0, 0.3]),
        ],
    );
    let pairs = dir.join("pairs.csv");
    std::fs::write(
        &pairs,
        "img_a,img_b,label\na,b,1\na,e,0\nb,e,0\na,c,1\nd,e,0\nc,d,1\n",
    )
    .unwrap();
    (emb, pairs)
}

#[test]
fn nan_or_inf_embeddings_make_verify_name_the_images_and_exclude_their_pairs_not_hang() {
    let t = tempfile::tempdir().unwrap();
    let (emb, pairs) = nan_set(t.path());
    let ran = run_within(
        amva(
            None,
            &[
                "--json",
                "verify",
                "--pairs",
                s(&pairs),
                "--embeddings",
                s(&emb),
            ],
        ),
        60,
    );
    assert!(ran.ok(), "{ran}");
    let v = ran.summary();
    assert_eq!(v["excluded_pairs"], 3, "{v}");
    assert_eq!(v["metrics"]["mated"], 1, "{v}");
    assert_eq!(v["metrics"]["non_mated"], 2, "{v}");
    for id in ["c:", "d:"] {
        assert!(
            ran.stderr.contains(id) && ran.stderr.contains("NaN or infinity"),
            "{ran}"
        );
    }
}

#[test]
fn nan_embeddings_make_edc_name_the_images_not_an_index() {
    let t = tempfile::tempdir().unwrap();
    let (emb, pairs) = nan_set(t.path());
    let scores = t.path().join("q.csv");
    std::fs::write(
        &scores,
        "image,method,score\na,m,1\nb,m,2\nc,m,3\nd,m,4\ne,m,5\n",
    )
    .unwrap();
    let out = t.path().join("edc");
    let ran = run_within(
        amva(
            None,
            &[
                "edc",
                "--pairs",
                s(&pairs),
                "--embeddings",
                s(&emb),
                "--scores",
                s(&scores),
                "--out",
                s(&out),
                "--random-runs",
                "2",
            ],
        ),
        60,
    );
    assert!(!ran.stderr.contains("value at index"), "{ran}");
    assert!(ran.stderr.contains("c: its embedding holds NaN"), "{ran}");
    let excluded = rows(&out.join("excluded_pairs.csv"));
    assert_eq!(excluded.len(), 3, "{excluded:?}");
}

/// The default model's settings with `edit` applied (TOML text replacements).
fn settings(dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let base = "width = 112\nheight = 112\nchannel_order = \"bgr\"\nmean = [127.0, 127.0, 127.0]\nstd = [128.0, 128.0, 128.0]\nlayout = \"nchw\"\nembedding = \"output\"\ntarget = \"507\"\nserfiq_input = \"662\"\n";
    let mut text = base.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replace(from, to);
    }
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_model_that_outputs_nan_makes_embed_fail_those_images_not_write_nan() {
    let Some(sh) = shared() else { return };
    let t = tempfile::tempdir().unwrap();
    let faces = t.path().join("faces");
    two_faces(&sh, &faces);
    // Settings that pass every check (finite, positive) but whose tiny std overflows
    // the input to infinity: the network then outputs NaN, as a broken model would.
    let cfg = settings(
        t.path(),
        "overflow.toml",
        &[("std = [128.0, 128.0, 128.0]", "std = [1e-38, 1e-38, 1e-38]")],
    );
    let out = t.path().join("emb");
    let ran = run_within(
        amva(
            Some(&sh),
            &[
                "--json",
                "embed",
                "--images",
                s(&faces),
                "--model-config",
                s(&cfg),
                "--engine",
                "tract",
                "--out",
                s(&out),
            ],
        ),
        120,
    );
    assert!(!ran.ok(), "{ran}");
    assert!(ran.stderr.contains("NaN or infinity"), "{ran}");
    let failed = rows(&out.join("failed.csv"));
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed.iter().all(|r| r.contains("mean and std")),
        "{failed:?}"
    );
    let arr = amva_io::npy::read_f32(&out.join("embeddings.npy")).unwrap();
    assert_eq!(arr.shape()[0], 0);
}

// Rows 3 and 4 ----------------------------------------------------------------------

#[test]
fn settings_with_width_100000_are_refused_before_anything_is_allocated() {
    let Some(sh) = shared() else { return };
    let t = tempfile::tempdir().unwrap();
    let faces = t.path().join("faces");
    two_faces(&sh, &faces);
    let cfg = settings(
        t.path(),
        "huge.toml",
        &[(
            "width = 112\nheight = 112",
            "width = 100000\nheight = 100000",
        )],
    );
    for args in [
        vec![
            "maps",
            "--images",
            s(&faces),
            "--out",
            s(&t.path().join("m")),
        ],
        vec!["model"],
    ] {
        let mut all = args.clone();
        all.extend(["--model-config", s(&cfg)]);
        let ran = run_within(amva(Some(&sh), &all), 60);
        assert_eq!(ran.code, Some(1), "{ran}");
        assert!(
            ran.stderr.contains("huge.toml")
                && ran.stderr.contains("width = 100000")
                && ran.stderr.contains("4096"),
            "{ran}"
        );
        assert!(ran.peak_kib.is_none_or(|k| k < 1_000_000), "{ran}");
    }
}

#[test]
fn settings_that_disagree_with_the_model_input_are_refused_before_ablation_runs() {
    let Some(sh) = shared() else { return };
    let t = tempfile::tempdir().unwrap();
    let faces = t.path().join("faces");
    two_faces(&sh, &faces);
    let wide = settings(
        t.path(),
        "wide.toml",
        &[("width = 112\nheight = 112", "width = 224\nheight = 224")],
    );
    let nhwc = settings(t.path(), "nhwc.toml", &[("\"nchw\"", "\"nhwc\"")]);
    for (cfg, said) in [(&wide, "width = 224"), (&nhwc, "layout = \"nhwc\"")] {
        let ran = run_within(
            amva(
                Some(&sh),
                &[
                    "maps",
                    "--images",
                    s(&faces),
                    "--method",
                    "ablation",
                    "--resize",
                    "--model-config",
                    s(cfg),
                    "--out",
                    s(&t.path().join("m")),
                ],
            ),
            60,
        );
        assert_eq!(ran.code, Some(1), "{ran}");
        let name = cfg.file_name().unwrap().to_str().unwrap();
        assert!(
            ran.stderr.contains(name)
                && ran.stderr.contains(said)
                && ran.stderr.contains("3 x 112 x 112"),
            "{ran}"
        );
        assert!(ran.peak_kib.is_none_or(|k| k < 1_000_000), "{ran}");
    }
}

#[test]
fn settings_with_negative_std_or_infinite_mean_are_refused_naming_the_setting() {
    let Some(sh) = shared() else { return };
    let t = tempfile::tempdir().unwrap();
    let faces = t.path().join("faces");
    two_faces(&sh, &faces);
    let neg = settings(t.path(), "neg.toml", &[("std = [128.0,", "std = [-128.0,")]);
    let inf = settings(t.path(), "inf.toml", &[("mean = [127.0,", "mean = [inf,")]);
    for (cfg, said) in [(&neg, "std = [-128.0"), (&inf, "mean = [inf")] {
        let ran = run_within(
            amva(
                Some(&sh),
                &[
                    "embed",
                    "--images",
                    s(&faces),
                    "--model-config",
                    s(cfg),
                    "--out",
                    s(&t.path().join("e")),
                ],
            ),
            60,
        );
        assert_eq!(ran.code, Some(1), "{ran}");
        let name = cfg.file_name().unwrap().to_str().unwrap();
        assert!(
            ran.stderr.contains(name) && ran.stderr.contains(said),
            "{ran}"
        );
    }
}

// Row 5 -----------------------------------------------------------------------------

#[test]
fn a_small_png_declaring_12000x12000_is_refused_from_its_header_without_decoding() {
    let Some(sh) = shared() else { return };
    let t = tempfile::tempdir().unwrap();
    let faces = t.path().join("faces");
    two_faces(&sh, &faces);
    let bomb = faces.join("bomb.png");
    image::GrayImage::new(12_000, 12_000).save(&bomb).unwrap();
    let size = std::fs::metadata(&bomb).unwrap().len();
    assert!(size < 1_000_000, "the bomb is {size} bytes");
    let out = t.path().join("q.csv");
    let ran = run_within(
        amva(
            Some(&sh),
            &[
                "--json",
                "quality",
                "--images",
                s(&faces),
                "--fiqa",
                "magnitude",
                "--resize",
                "--out",
                s(&out),
            ],
        ),
        120,
    );
    assert!(ran.ok(), "{ran}");
    let failed = rows(&t.path().join("q.failed.csv"));
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].starts_with("bomb.png") && failed[0].contains("declares 12000x12000"),
        "{failed:?}"
    );
    // The decoded bomb alone would be 144 MB grey + 432 MB RGB.
    if let Some(k) = ran.peak_kib {
        assert!(k < 450_000, "peak memory {k} KiB");
    }
}

// Rows 6 and 7 ----------------------------------------------------------------------

#[test]
fn quality_out_over_an_input_image_or_list_is_refused_and_the_input_kept() {
    let Some(sh) = shared() else { return };
    let t = tempfile::tempdir().unwrap();
    let faces = t.path().join("faces");
    let files = two_faces(&sh, &faces);
    let list = t.path().join("list.csv");
    std::fs::write(&list, "path\nfaces/a.jpg\nfaces/b.jpg\n").unwrap();
    let jpeg = std::fs::read(&files[0]).unwrap();
    let list_text = std::fs::read(&list).unwrap();
    for (images, out) in [
        (faces.clone(), files[0].clone()),
        (faces.clone(), faces.join("sub/q.csv")),
        (list.clone(), list.clone()),
    ] {
        let ran = run_within(
            amva(
                Some(&sh),
                &[
                    "quality",
                    "--images",
                    s(&images),
                    "--fiqa",
                    "magnitude",
                    "--out",
                    s(&out),
                ],
            ),
            60,
        );
        assert_eq!(ran.code, Some(1), "{ran}");
        assert!(
            ran.stderr
                .contains("never writes over or inside its inputs")
                && ran.stderr.contains(s(&images)),
            "{ran}"
        );
    }
    assert_eq!(std::fs::read(&files[0]).unwrap(), jpeg);
    assert_eq!(std::fs::read(&list).unwrap(), list_text);
    assert!(!faces.join("sub").exists());
}

#[test]
fn embed_out_an_existing_map_store_the_image_folder_or_a_file_is_refused() {
    let Some(sh) = shared() else { return };
    let t = tempfile::tempdir().unwrap();
    let faces = t.path().join("faces");
    two_faces(&sh, &faces);
    std::fs::write(faces.join("index.csv"), "the user's own index\n").unwrap();
    let store = t.path().join("maps");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(
        store.join("meta.json"),
        r#"{"kind": "maps", "complete": true}"#,
    )
    .unwrap();
    std::fs::write(store.join("index.csv"), "row,image,flags\n0,a.jpg,\n").unwrap();
    let file = t.path().join("existing_file");
    std::fs::write(&file, "x").unwrap();
    let before: Vec<Vec<u8>> = [
        faces.join("index.csv"),
        store.join("meta.json"),
        store.join("index.csv"),
        file.clone(),
    ]
    .iter()
    .map(|p| std::fs::read(p).unwrap())
    .collect();
    for (out, said) in [
        (&store, "holds maps (meta.json), not embeddings"),
        (&faces, "--images"),
        (&file, "is a file; expected a folder"),
    ] {
        let ran = run_within(
            amva(
                Some(&sh),
                &["embed", "--images", s(&faces), "--out", s(out)],
            ),
            60,
        );
        assert_eq!(ran.code, Some(1), "{ran}");
        assert!(
            ran.stderr.contains(said) && ran.stderr.contains(s(out)),
            "{ran}"
        );
    }
    let after: Vec<Vec<u8>> = [
        faces.join("index.csv"),
        store.join("meta.json"),
        store.join("index.csv"),
        file.clone(),
    ]
    .iter()
    .map(|p| std::fs::read(p).unwrap())
    .collect();
    assert_eq!(before, after);
}

// Row 9 -----------------------------------------------------------------------------

#[test]
fn a_truncated_jpeg_is_used_with_a_warning_and_strict_leaves_it_out() {
    let Some(sh) = shared() else { return };
    let t = tempfile::tempdir().unwrap();
    let faces = t.path().join("faces");
    let files = two_faces(&sh, &faces);
    let bytes = std::fs::read(&files[1]).unwrap();
    std::fs::write(faces.join("cut.jpg"), &bytes[..bytes.len() / 2]).unwrap();
    let out = t.path().join("e");
    let ran = run_within(
        amva(
            Some(&sh),
            &["--json", "embed", "--images", s(&faces), "--out", s(&out)],
        ),
        60,
    );
    assert!(ran.ok(), "{ran}");
    assert_eq!(ran.summary()["images"], 3);
    assert_eq!(ran.summary()["warnings"], 1);
    let w = rows(&out.join("warnings.csv"));
    assert!(
        w.len() == 1 && w[0].starts_with("cut.jpg,truncated JPEG"),
        "{w:?}"
    );
    let strict = t.path().join("strict");
    let ran = run_within(
        amva(
            Some(&sh),
            &[
                "--json",
                "embed",
                "--images",
                s(&faces),
                "--strict",
                "--out",
                s(&strict),
            ],
        ),
        60,
    );
    assert!(ran.ok(), "{ran}");
    assert_eq!(ran.summary()["images"], 2);
    let f = rows(&strict.join("failed.csv"));
    assert!(
        f.len() == 1 && f[0].starts_with("cut.jpg,") && f[0].contains("--strict"),
        "{f:?}"
    );
    // The same in quality and maps.
    let q = t.path().join("q.csv");
    let ran = run_within(
        amva(
            Some(&sh),
            &[
                "--json",
                "quality",
                "--images",
                s(&faces),
                "--fiqa",
                "magnitude",
                "--out",
                s(&q),
            ],
        ),
        60,
    );
    assert!(ran.ok(), "{ran}");
    assert_eq!(ran.summary()["warnings"], 1);
    assert_eq!(rows(&t.path().join("q.warnings.csv")).len(), 1);
    let m = t.path().join("m");
    let ran = maps_activation(&sh, &faces, &m, &["--strict"]);
    assert!(ran.ok(), "{ran}");
    assert_eq!(
        (
            ran.summary()["images"].clone(),
            ran.summary()["failed"].clone()
        ),
        (2.into(), 1.into())
    );
}

#[test]
fn a_score_file_without_a_header_or_with_image_method_only_is_refused_naming_what_is_expected() {
    let t = tempfile::tempdir().unwrap();
    let (emb, pairs) = nan_set(t.path());
    for (name, body, said) in [
        (
            "nohead.csv",
            "a,0.5\nb,0.7\nc,0.1\n",
            "first line 'a,0.5' holds a number",
        ),
        (
            "im.csv",
            "image,method\na,magnitude\n",
            "found image,method",
        ),
    ] {
        let scores = t.path().join(name);
        std::fs::write(&scores, body).unwrap();
        let ran = run_within(
            amva(
                None,
                &[
                    "edc",
                    "--pairs",
                    s(&pairs),
                    "--embeddings",
                    s(&emb),
                    "--scores",
                    s(&scores),
                    "--out",
                    s(&t.path().join("edc")),
                ],
            ),
            60,
        );
        assert_eq!(ran.code, Some(1), "{ran}");
        assert!(
            ran.stderr.contains(name) && ran.stderr.contains(said),
            "{ran}"
        );
    }
}

#[test]
fn a_self_pair_in_a_pairs_file_is_refused_naming_the_line() {
    let t = tempfile::tempdir().unwrap();
    let (emb, _) = nan_set(t.path());
    let pairs = t.path().join("self.csv");
    std::fs::write(&pairs, "img_a,img_b,label\na,b,1\na,a,1\nb,e,0\n").unwrap();
    let ran = run_within(
        amva(
            None,
            &["verify", "--pairs", s(&pairs), "--embeddings", s(&emb)],
        ),
        60,
    );
    assert_eq!(ran.code, Some(1), "{ran}");
    assert!(
        ran.stderr.contains("self.csv")
            && ran.stderr.contains("line 3")
            && ran.stderr.contains("itself"),
        "{ran}"
    );
}

// Row 10 ----------------------------------------------------------------------------

#[test]
fn one_image_file_as_images_is_a_one_image_list_not_a_utf8_error() {
    let Some(sh) = shared() else { return };
    let t = tempfile::tempdir().unwrap();
    let files = two_faces(&sh, &t.path().join("faces"));
    let out = t.path().join("e");
    let ran = run_within(
        amva(
            Some(&sh),
            &[
                "--json",
                "embed",
                "--images",
                s(&files[0]),
                "--out",
                s(&out),
            ],
        ),
        60,
    );
    assert!(ran.ok(), "{ran}");
    assert_eq!(rows(&out.join("index.csv")), ["0,a.jpg"]);
}

#[test]
fn a_missing_model_is_named_not_its_settings_file() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("missing.onnx");
    let faces = t.path().join("faces");
    std::fs::create_dir_all(&faces).unwrap();
    let ran = run_within(
        amva(
            None,
            &[
                "embed",
                "--images",
                s(&faces),
                "--model",
                s(&missing),
                "--out",
                s(&t.path().join("e")),
            ],
        ),
        60,
    );
    assert_eq!(ran.code, Some(1), "{ran}");
    assert!(
        ran.stderr.contains("--model") && ran.stderr.contains("missing.onnx: no such file"),
        "{ran}"
    );
    assert!(!ran.stderr.contains("missing.toml"), "{ran}");
}

#[test]
fn an_unknown_layer_lists_activations_not_weights() {
    let Some(sh) = shared() else { return };
    let t = tempfile::tempdir().unwrap();
    let faces = t.path().join("faces");
    two_faces(&sh, &faces);
    let ran = run_within(
        amva(
            Some(&sh),
            &[
                "maps",
                "--images",
                s(&faces),
                "--layer",
                "519.0",
                "--out",
                s(&t.path().join("m")),
            ],
        ),
        60,
    );
    assert_eq!(ran.code, Some(1), "{ran}");
    let candidates = ran
        .stderr
        .split("near that name:")
        .nth(1)
        .unwrap_or_else(|| panic!("no candidates: {ran}"));
    // `519.0` is near the names of weights (initializers): none of them may be offered.
    let graph = amva_model::graph::OnnxGraph::load(&sh.join("models/fr_feature.onnx")).unwrap();
    let activations = graph.tensor_names();
    let names: Vec<&str> = candidates
        .split("], ")
        .map(|c| c.split(" [").next().unwrap().trim())
        .collect();
    assert_eq!(names.len(), 10, "{names:?}");
    for name in names {
        assert!(
            activations.iter().any(|a| a == name),
            "{name} is not an activation: {ran}"
        );
    }
}

#[test]
fn two_concurrent_maps_runs_into_one_out_the_second_names_the_first_pid() {
    let Some(sh) = shared() else { return };
    let t = tempfile::tempdir().unwrap();
    let faces = t.path().join("faces");
    two_faces(&sh, &faces);
    let out = t.path().join("m");
    // Score-CAM on every channel: minutes of work, so the first run is still going.
    let mut first = amva(
        Some(&sh),
        &[
            "maps",
            "--images",
            s(&faces),
            "--engine",
            "tract",
            "--out",
            s(&out),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let lock = out.join(".amva.lock");
    let start = Instant::now();
    while std::fs::read_to_string(&lock).unwrap_or_default().trim() != first.id().to_string()
        && start.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = run_within(
        amva(
            Some(&sh),
            &[
                "maps",
                "--images",
                s(&faces),
                "--engine",
                "tract",
                "--out",
                s(&out),
            ],
        ),
        60,
    );
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(second.code, Some(1), "{second}");
    assert!(
        second.stderr.contains(&format!("pid {}", first.id())) && second.stderr.contains(s(&out)),
        "{second}"
    );
    let stray: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
    // A lock file left by the killed run (its pid, now dead) is taken over.
    let m3 = t.path().join("m3");
    std::fs::create_dir_all(&m3).unwrap();
    std::fs::write(m3.join(".amva.lock"), first.id().to_string()).unwrap();
    let fourth = maps_activation(&sh, &faces, &m3, &[]);
    assert!(fourth.ok(), "{fourth}");
    assert!(!t.path().join("m3/.amva.lock").exists());
}

#[test]
fn maps_shard_5_of_5_over_3_images_writes_an_empty_store_that_merges() {
    let Some(sh) = shared() else { return };
    let t = tempfile::tempdir().unwrap();
    let faces = t.path().join("faces");
    let files = two_faces(&sh, &faces);
    std::fs::copy(&files[0], faces.join("c.jpg")).unwrap();
    let mut dirs = Vec::new();
    for i in 1..=5 {
        let out = t.path().join(format!("p{i}"));
        let shard = format!("{i}/5");
        let ran = maps_activation(&sh, &faces, &out, &["--shard", &shard]);
        assert!(ran.ok(), "{ran}");
        if i > 3 {
            assert!(
                ran.stderr
                    .contains(&format!("shard {i}/5 holds none of the 3 images")),
                "{ran}"
            );
        }
        dirs.push(out);
    }
    let merged = t.path().join("merged");
    let mut args = vec!["--json", "merge"];
    args.extend(dirs.iter().map(|d| s(d)));
    args.extend(["--out", s(&merged)]);
    let ran = run_within(amva(Some(&sh), &args), 60);
    assert!(ran.ok(), "{ran}");
    assert_eq!(ran.summary()["images"], 3);
}

/// `amva demo --images DIR --out DIR/sub` wrote aligned faces, maps and the report inside
/// the user's image folder: now refused at once, naming the input, and nothing written.
#[test]
fn demo_out_inside_its_images_folder_is_refused_and_the_folder_kept() {
    let t = tempfile::tempdir().unwrap();
    let faces = t.path().join("faces");
    std::fs::create_dir_all(&faces).unwrap();
    image::RgbImage::from_pixel(112, 112, image::Rgb([128, 128, 128]))
        .save(faces.join("a.png"))
        .unwrap();
    let out = faces.join("demo");
    let ran = run_within(
        amva(None, &["demo", "--images", s(&faces), "--out", s(&out)]),
        60,
    );
    assert_eq!(ran.code, Some(1), "{ran}");
    assert!(
        ran.stderr.contains("--images") && ran.stderr.contains("inside"),
        "{ran}"
    );
    assert!(!out.exists(), "nothing written inside the input");
    assert_eq!(std::fs::read_dir(&faces).unwrap().count(), 1);
}
