//! The map store without a model: parts, resumption, reading back, merging shards.

use amva_maps::store::{self, MapStore, Part, RunSettings, StoreMeta, StoreWriter};
use amva_maps::{MapParams, Method};
use std::path::{Path, PathBuf};

fn settings(method: Method, full: bool) -> RunSettings {
    RunSettings {
        amva_version: "test".into(),
        model_sha256: "00".into(),
        engine: "tract".into(),
        layer: "507".into(),
        params: MapParams {
            batch: 1,
            ..MapParams::new(method)
        },
        spec: amva_model::ModelSpec::default_model(),
        image_count: 10,
        images_sha256: "ab".into(),
        resize: false,
        full,
        part_size: 3,
        map_shape: [2, 3],
        full_shape: [4, 6],
    }
}

fn ids() -> Vec<String> {
    (0..10)
        .map(|i| format!("p{}/img{i}.jpg", i % 3))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A deterministic low-resolution map per image id; image 4 is constant (flat).
fn low_map(id: &str) -> Vec<f32> {
    let seed = id.bytes().map(|b| b as f32).sum::<f32>();
    if id.ends_with("img4.jpg") {
        return vec![0.5; 6];
    }
    (0..6)
        .map(|p| 0.5 + 0.4 * ((seed + p as f32) * 0.37).sin())
        .collect()
}

/// Writes the images `items` (an id list) as a store in parts of 3, like `amva maps` does;
/// image 7 "fails". Stops after `stop` parts when given.
fn write(
    dir: &Path,
    items: &[String],
    s: &RunSettings,
    shard: Option<(usize, usize)>,
    stop: Option<usize>,
) -> StoreWriter {
    let meta = StoreMeta::new(Path::new("m.onnx"), Path::new("faces"), s.clone(), shard);
    let mut w = StoreWriter::open(dir, meta).unwrap();
    let parts: Vec<_> = items.chunks(s.part_size).collect();
    for (k, chunk) in parts.iter().enumerate().skip(w.parts_done()) {
        if stop == Some(k) {
            return w;
        }
        let mut part = Part {
            full: s.full.then(Vec::new),
            ..Part::default()
        };
        for id in *chunk {
            if id.ends_with("img7.jpg") {
                part.failed.push((id.clone(), "cannot decode".into()));
                continue;
            }
            let m = low_map(id);
            let f = amva_maps::full_map(&m, 2, 3, 4, 6).unwrap();
            part.ids.push(id.clone());
            part.flags
                .push(if f.flat { "flat".into() } else { String::new() });
            part.low.extend(&m);
            if let Some(full) = part.full.as_mut() {
                full.extend(&f.data);
            }
            part.passes += 2;
        }
        w.write_part(&part).unwrap();
    }
    w
}

fn finish(dir: &Path, items: &[String], s: &RunSettings, shard: Option<(usize, usize)>) {
    let w = write(dir, items, s, shard, None);
    w.finish(items.len().div_ceil(s.part_size)).unwrap();
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn assert_same_files(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fa), names(&fb));
    for ((n, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(
            x == y,
            "{n} differs:\n{}\n---\n{}",
            String::from_utf8_lossy(x),
            String::from_utf8_lossy(y)
        );
    }
}

#[test]
fn a_store_reads_back_with_full_maps_rebuilt_by_the_common_ending() {
    let t = tempfile::tempdir().unwrap();
    let s = settings(Method::Activation, true);
    let items = ids();
    finish(t.path(), &items, &s, None);
    assert!(!t.path().join(store::PARTS_DIR).exists());
    let st = MapStore::open(t.path()).unwrap();
    let expect: Vec<&String> = items.iter().filter(|i| !i.ends_with("img7.jpg")).collect();
    assert_eq!(st.ids().iter().collect::<Vec<_>>(), expect);
    assert_eq!(st.meta().count, 9);
    assert_eq!(st.meta().failed, 1);
    assert_eq!(st.meta().flat, 1);
    assert_eq!(st.meta().passes, 18);
    assert_eq!(
        st.failed().unwrap(),
        vec![("p1/img7.jpg".to_string(), "cannot decode".to_string())]
    );
    let full_file = amva_io::npy::read_f32(&t.path().join(store::FULL_FILE)).unwrap();
    assert_eq!(full_file.shape(), &[9, 4, 6]);
    for (i, id) in st.ids().iter().enumerate() {
        assert_eq!(st.low(i), low_map(id).as_slice());
        let f = st.full(i).unwrap();
        assert_eq!(
            f,
            amva_math::resample::finish_map(&low_map(id), 2, 3, 4, 6).unwrap()
        );
        assert_eq!(
            f.data.as_slice(),
            &full_file.as_slice().unwrap()[i * 24..(i + 1) * 24]
        );
        assert_eq!(st.flags(i) == "flat", f.flat, "{id}");
        assert_eq!(st.position(id), Some(i));
        let mut dst = vec![0.0; 24];
        assert_eq!(st.full_into(i, &mut dst).unwrap(), f.flat);
        assert_eq!(dst, f.data);
    }
    assert!(st.full_of("nope.jpg").is_err());
}

#[test]
fn an_interrupted_run_resumes_to_the_same_files() {
    let s = settings(Method::Ablation, true);
    let items = ids();
    let whole = tempfile::tempdir().unwrap();
    finish(whole.path(), &items, &s, None);
    let cut = tempfile::tempdir().unwrap();
    let w = write(cut.path(), &items, &s, None, Some(2));
    assert_eq!(w.parts_done(), 2);
    drop(w);
    // A part cut off mid-write: its maps exist, its record does not.
    let parts = cut.path().join(store::PARTS_DIR);
    std::fs::write(parts.join("000002.npy"), b"half").unwrap();
    std::fs::write(parts.join("000002.full.npy.123.tmp"), b"half").unwrap();
    assert!(
        MapStore::open(cut.path()).is_err(),
        "an unfinished store must not be read"
    );
    let meta = StoreMeta::new(Path::new("m.onnx"), Path::new("faces"), s.clone(), None);
    let w = StoreWriter::open(cut.path(), meta).unwrap();
    assert_eq!((w.parts_done(), w.images_done()), (2, 6));
    assert!(!parts.join("000002.npy").exists());
    drop(w);
    finish(cut.path(), &items, &s, None);
    assert_same_files(whole.path(), cut.path());
    // Rerunning a finished store changes nothing.
    finish(cut.path(), &items, &s, None);
    assert_same_files(whole.path(), cut.path());
}

#[test]
fn other_settings_are_refused_naming_the_difference() {
    let t = tempfile::tempdir().unwrap();
    let s = settings(Method::Ablation, false);
    drop(write(t.path(), &ids(), &s, None, Some(1)));
    let mut other = s.clone();
    other.params.method = Method::ScoreCam;
    other.params.batch = 8;
    let meta = StoreMeta::new(Path::new("m.onnx"), Path::new("faces"), other, None);
    let e = StoreWriter::open(t.path(), meta).unwrap_err().to_string();
    assert!(
        e.contains("method: \"ablation\" in meta.json, \"scorecam\" now"),
        "{e}"
    );
    assert!(e.contains("batch: 1 in meta.json, 8 now"), "{e}");
    let meta = StoreMeta::new(Path::new("m.onnx"), Path::new("faces"), s, Some((1, 2)));
    let e = StoreWriter::open(t.path(), meta).unwrap_err().to_string();
    assert!(e.contains("shard: none in meta.json, 1/2 now"), "{e}");
    // A folder with maps but no meta.json is not taken over.
    let u = tempfile::tempdir().unwrap();
    std::fs::write(u.path().join("maps.npy"), b"x").unwrap();
    let meta = StoreMeta::new(
        Path::new("m.onnx"),
        Path::new("faces"),
        settings(Method::Ablation, false),
        None,
    );
    assert!(StoreWriter::open(u.path(), meta).is_err());
}

#[test]
fn three_shards_merge_into_the_single_run() {
    for full in [false, true] {
        let s = settings(Method::EigenCam, full);
        let items = ids();
        let single = tempfile::tempdir().unwrap();
        finish(single.path(), &items, &s, None);
        let root = tempfile::tempdir().unwrap();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for i in 1..=3 {
            let d = root.path().join(format!("s{i}"));
            let mine: Vec<String> = items.iter().skip(i - 1).step_by(3).cloned().collect();
            finish(&d, &mine, &s, Some((i, 3)));
            dirs.push(d);
        }
        dirs.reverse(); // any order
        let out = root.path().join("merged");
        let m = amva_maps::merge(&dirs, &out).unwrap();
        assert_eq!(m.count, 9);
        assert_same_files(single.path(), &out);
        // Refusals: a missing shard, a shard twice, other settings, an existing output.
        let e = amva_maps::merge(&dirs[..2], &root.path().join("m2"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("shards missing: 1/3"), "{e}");
        let twice = vec![dirs[0].clone(), dirs[0].clone(), dirs[1].clone()];
        assert!(amva_maps::merge(&twice, &root.path().join("m3"))
            .unwrap_err()
            .to_string()
            .contains("given twice"));
        assert!(amva_maps::merge(&dirs, &out)
            .unwrap_err()
            .to_string()
            .contains("already holds"));
        let odd = root.path().join("odd");
        let mut s2 = s.clone();
        s2.params.method = Method::Activation;
        finish(&odd, &items[..3], &s2, Some((1, 3)));
        let mixed = vec![odd, dirs[0].clone(), dirs[1].clone()];
        let e = amva_maps::merge(&mixed, &root.path().join("m4"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("method"), "{e}");
        assert!(
            amva_maps::merge(&[single.path().to_path_buf()], &root.path().join("m5"))
                .unwrap_err()
                .to_string()
                .contains("not a shard")
        );
    }
}

#[test]
fn image_lists_are_sorted_and_duplicate_ids_refused() {
    let mk = |ids: &[&str]| amva_io::images::ImageList {
        root: PathBuf::from("r"),
        items: ids
            .iter()
            .map(|i| amva_io::images::ImageItem {
                id: i.to_string(),
                path: PathBuf::from(i),
            })
            .collect(),
        ..Default::default()
    };
    let l = store::sorted_list(mk(&["b", "a", "c"]), Path::new("list.csv")).unwrap();
    assert_eq!(
        l.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    let e = store::sorted_list(mk(&["b", "a", "b"]), Path::new("list.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("'b' occurs more than once"), "{e}");
    assert_ne!(store::list_digest(&l), store::list_digest(&mk(&["a", "b"])));
}

/// Fuzz seed fuzz/corpus/map_store/seed-huge-full: a meta.json declaring a huge
/// full_shape made opening allocate upsampling tables of that size.
#[test]
fn huge_shapes_in_meta_json_are_refused_naming_the_setting() {
    let t = tempfile::tempdir().unwrap();
    let s = settings(Method::ScoreCam, false);
    finish(t.path(), &ids(), &s, None);
    let meta = t.path().join(store::META_FILE);
    let text = std::fs::read_to_string(&meta).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["settings"]["full_shape"] = serde_json::json!([4_000_000_000u64, 6]);
    std::fs::write(&meta, v.to_string()).unwrap();
    let err = MapStore::open(t.path()).unwrap_err().to_string();
    assert!(
        err.contains("meta.json") && err.contains("full_shape") && err.contains("4096"),
        "{err}"
    );
}
