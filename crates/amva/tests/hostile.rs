//! Hostile and careless input (issue 13): a table of cases, each named after a failure a
//! bad-input probe found, each making its hostile files itself and driving the real binary
//! as a user would, checked by one runner (tests/util/cmd.rs). Every run has a time limit,
//! so a regression to a hang fails instead of stalling CI; a refused run may write
//! nothing, and no run may change anything outside its `--out`.
//!
//! Each case is a test (`cargo test --test hostile symlink` runs one). Cases that run the
//! model need ../shared; without it they skip with a message (a failure under
//! AMVA_REQUIRE_DATA=1).

mod interrupted;
mod util;

use util::cmd::{background, fails, ok, refused, Case, Ran, Scene, Step};

/// The quality-method flag of `amva quality`.
const FIQA: &str = "--fiqa";

/// What the cases that run the model need from ../shared.
const DATA: &[&str] = &["models/fr_feature.onnx", "faces/lfw-dev/aligned112"];

/// `table![f, g]`: a test for each case function, named after it (`table::f`), that the
/// one runner runs.
macro_rules! table {
    ($($(#[$attr:meta])* $case:ident),* $(,)?) => {
        mod table {
            $($(#[$attr])* #[test]
            fn $case() {
                super::util::cmd::run(super::$case(), super::DATA);
            })*
        }
    };
}

table![
    #[cfg(unix)]
    symlink_loops_in_an_image_folder_do_not_hang_quality_or_maps_and_each_face_counts_once,
    nan_or_inf_embeddings_make_verify_name_the_images_and_exclude_their_pairs_not_hang,
    nan_embeddings_make_edc_name_the_images_not_an_index,
    a_model_that_outputs_nan_makes_embed_fail_those_images_not_write_nan,
    settings_with_width_100000_are_refused_before_anything_is_allocated,
    settings_that_disagree_with_the_model_input_are_refused_before_ablation_runs,
    settings_with_negative_std_or_infinite_mean_are_refused_naming_the_setting,
    a_small_png_declaring_12000x12000_is_refused_from_its_header_without_decoding,
    quality_out_over_an_input_image_or_list_is_refused_and_the_input_kept,
    embed_out_an_existing_map_store_the_image_folder_or_a_file_is_refused,
    a_truncated_jpeg_is_used_with_a_warning_and_strict_leaves_it_out,
    a_score_file_without_a_header_or_with_image_method_only_is_refused_naming_what_is_expected,
    a_self_pair_in_a_pairs_file_is_refused_naming_the_line,
    one_image_file_as_images_is_a_one_image_list_not_a_utf8_error,
    a_missing_model_is_named_not_its_settings_file,
    an_unknown_layer_lists_activations_not_weights,
    two_concurrent_maps_runs_into_one_out_the_second_names_the_first_pid,
    maps_shard_5_of_5_over_3_images_writes_an_empty_store_that_merges,
    demo_out_inside_its_images_folder_is_refused_and_the_folder_kept,
    files_of_an_image_folder_that_are_not_read_are_listed_in_failed_csv,
    align_lists_an_exif_rotation_in_warnings_csv,
    counts_that_would_exhaust_memory_are_refused_before_anything_is_allocated,
];

// Issue 26, round 3 ------------------------------------------------------------------

/// Row 11: a `.gif` and a dot-file in the image folder were left out without a line in
/// failed.csv (embed, quality, maps; align in the next case).
fn files_of_an_image_folder_that_are_not_read_are_listed_in_failed_csv() -> Case {
    let listed = ["c.gif,\"not an image type, .gif*", ".DS_Store,hidden file*"];
    Case::with_data()
        .setup(|s| {
            two_faces(s);
            s.write("faces/c.gif", b"GIF89a");
            s.write("faces/.DS_Store", b"x");
        })
        .run(
            ok("--json embed --images {dir}/faces --out {dir}/e")
                .summary("/images", 2)
                .stderr("2 files in")
                .rows("e/failed.csv", &listed),
        )
        .run(ok(&quality("--json", "--out {dir}/q.csv")).rows("q.failed.csv", &listed))
        .run(activation("m", "").rows("m/failed.csv", &listed))
}

/// Row 2 (align): a photo stored sideways with EXIF orientation 6 is turned upright and
/// the rotation is listed in warnings.csv, beside the crop.
fn align_lists_an_exif_rotation_in_warnings_csv() -> Case {
    Case::with_data()
        .setup(|s| {
            two_faces(s);
            let face = image::load_from_memory(&s.read("faces/a.jpg")).unwrap();
            // Stored turned a quarter to the left: orientation 6 turns it back.
            let stored = face.rotate270().to_rgb8();
            s.write("photos/a.jpg", jpeg_with_orientation(&stored, 6));
            s.write("photos/note.gif", b"GIF89a");
            let p = amva_math::region::ARCFACE_112;
            let pts: Vec<String> = p
                .iter()
                .flat_map(|q| [q[0], q[1]])
                .map(|v| v.to_string())
                .collect();
            s.write("lm.csv", format!("a.jpg,{}\n", pts.join(",")));
        })
        .run(
            ok("--json align --images {dir}/photos --landmarks {dir}/lm.csv --out {dir}/al")
                .summary("/faces", 1)
                .rows("al/warnings.csv", &["a.jpg,*orientation 6*"])
                .rows("al/failed.csv", &["note.gif,\"not an image type*"]),
        )
}

/// Item 4: `--permutations`, `--bootstrap`, `--serfiq-passes` and `--steps` far beyond
/// the machine's memory are refused naming the flag and the largest count that fits,
/// before anything is allocated (peak memory stays small), not aborted by the allocator.
fn counts_that_would_exhaust_memory_are_refused_before_anything_is_allocated() -> Case {
    const HUGE: &str = "100000000000000";
    const PEAK_KIB: u64 = 600 * 1024;
    Case::with_data()
        .setup(|s| {
            ten_faces(s);
            nan_set(s);
            s.write("s.csv", "image,score\na,0.9\nb,0.8\nc,0.1\nd,0.2\ne,0.5\n");
        })
        .run(activation("m", ""))
        .run(ok(&quality("", "--out {dir}/q.csv")))
        .run(
            refused(&format!("analyze --maps {{dir}}/m --scores {{dir}}/q.csv --out {{dir}}/a --high top:3 --low bottom:3 --permutations {HUGE}"))
                .stderr(&format!("--permutations {HUGE}: the statistics of 1 permutation test(s) would need"))
                .stderr("use at most")
                .peak_below_kib(PEAK_KIB),
        )
        .run(
            refused(&format!("{} --bootstrap {HUGE}", edc("s.csv")))
                .stderr(&format!("--bootstrap {HUGE}: the pAUC ratios"))
                .peak_below_kib(PEAK_KIB),
        )
        .run(
            refused(&format!("quality {FIQA} serfiq --images {{dir}}/faces --out {{dir}}/sq.csv --serfiq-passes {HUGE}"))
                .stderr(&format!("--serfiq-passes {HUGE}: the dropout copies"))
                .peak_below_kib(PEAK_KIB),
        )
        .run(
            refused("faithfulness --images {dir}/faces --methods activation --steps 20000 --out {dir}/f")
                .stderr("at most the model input's pixel count"),
        )
}

/// Ten real faces (ten people) from ../shared in faces/.
fn ten_faces(s: &Scene) {
    let src = s.shared().join("faces/lfw-dev/aligned112");
    let mut people: Vec<_> = std::fs::read_dir(&src)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    people.sort();
    for dir in people.iter().filter(|p| p.is_dir()).take(10) {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
        s.write(&format!("faces/{name}"), std::fs::read(&files[0]).unwrap());
    }
}

/// `img` as a JPEG whose EXIF orientation tag is `tag` (one IFD entry).
fn jpeg_with_orientation(img: &image::RgbImage, tag: u16) -> Vec<u8> {
    use image::ImageEncoder;
    let mut exif = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
    exif.extend_from_slice(&tag.to_le_bytes());
    exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95);
    enc.set_exif_metadata(exif).unwrap();
    let (w, h) = img.dimensions();
    enc.write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

// Row 1 -----------------------------------------------------------------------------

#[cfg(unix)]
fn symlink_loops_in_an_image_folder_do_not_hang_quality_or_maps_and_each_face_counts_once() -> Case
{
    Case::with_data()
        .setup(|s| {
            two_faces(s);
            for l in ["s1", "s2", "self"] {
                s.link(".", &format!("faces/{l}"));
            }
            // A linked file is the same face too.
            s.link("a.jpg", "faces/z_link.jpg");
        })
        .run(
            ok(&quality("--json", "--out {dir}/q.csv"))
                .within(120)
                .summary("/images", 2)
                .rows("q.csv", &["a.jpg,*", "b.jpg,*"]),
        )
        .run(activation("maps", "").summary("/images", 2))
}

// Row 2 -----------------------------------------------------------------------------

fn nan_or_inf_embeddings_make_verify_name_the_images_and_exclude_their_pairs_not_hang() -> Case {
    Case::new().setup(nan_set).run(
        ok("--json verify --pairs {dir}/pairs.csv --embeddings {dir}/emb")
            .summary("/excluded_pairs", 3)
            .summary("/metrics/mated", 1)
            .summary("/metrics/non_mated", 2)
            .stderr("c: its embedding holds NaN or infinity")
            .stderr("d: its embedding holds NaN or infinity"),
    )
}

fn nan_embeddings_make_edc_name_the_images_not_an_index() -> Case {
    Case::new()
        .setup(|s| {
            nan_set(s);
            s.write(
                "q.csv",
                "image,method,score\na,m,1\nb,m,2\nc,m,3\nd,m,4\ne,m,5\n",
            );
        })
        .run(
            ok(&edc("q.csv --random-runs 2"))
                .stderr_lacks("value at index")
                .stderr("c: its embedding holds NaN")
                .rows("edc/excluded_pairs.csv", &["a,c,*", "d,e,*", "c,d,*"]),
        )
}

fn a_model_that_outputs_nan_makes_embed_fail_those_images_not_write_nan() -> Case {
    // Settings that pass every check (finite, positive) but whose tiny std overflows the
    // input to infinity: the network then outputs NaN, as a broken model would.
    let tiny = ("std = [128.0, 128.0, 128.0]", "std = [1e-38, 1e-38, 1e-38]");
    Case::with_data()
        .setup(move |s| {
            two_faces(s);
            settings(s, "overflow.toml", &[tiny]);
        })
        .run(
            fails(
                1,
                "--json embed --images {dir}/faces --model-config {dir}/overflow.toml \
                      --engine tract --out {dir}/emb",
            )
            .within(120)
            .stderr("NaN or infinity")
            .rows(
                "emb/failed.csv",
                &["a.jpg,*mean and std*", "b.jpg,*mean and std*"],
            )
            .check(|s, _| {
                let npy = amva_io::npy::read_f32(&s.path("emb/embeddings.npy"));
                let rows = npy.map_err(|e| e.to_string())?.shape()[0];
                let wrong = format!("embeddings.npy holds {rows} rows, expected 0");
                (rows == 0).then_some(()).ok_or(wrong)
            }),
        )
}

// Rows 3 and 4 ----------------------------------------------------------------------

fn settings_with_width_100000_are_refused_before_anything_is_allocated() -> Case {
    let huge = |args: &str| {
        refused(args)
            .stderr("{dir}/huge.toml")
            .stderr("width = 100000")
            .stderr("4096")
            .peak_below_kib(1_000_000)
    };
    Case::with_data()
        .setup(|s| {
            two_faces(s);
            let huge = (
                "width = 112\nheight = 112",
                "width = 100000\nheight = 100000",
            );
            settings(s, "huge.toml", &[huge]);
        })
        .run(huge(
            "maps --images {dir}/faces --out {dir}/m --model-config {dir}/huge.toml",
        ))
        .run(huge("model --model-config {dir}/huge.toml"))
}

fn settings_that_disagree_with_the_model_input_are_refused_before_ablation_runs() -> Case {
    let ablation = |file: &str, said: &str| {
        let args = "maps --images {dir}/faces --method ablation --resize --out {dir}/m";
        refused(&format!("{args} --model-config {{dir}}/{file}"))
            .stderr(&format!("{{dir}}/{file}"))
            .stderr(said)
            .stderr("3 x 112 x 112")
            .peak_below_kib(1_000_000)
    };
    Case::with_data()
        .setup(|s| {
            two_faces(s);
            let wide = ("width = 112\nheight = 112", "width = 224\nheight = 224");
            settings(s, "wide.toml", &[wide]);
            settings(s, "nhwc.toml", &[("\"nchw\"", "\"nhwc\"")]);
        })
        .run(ablation("wide.toml", "width = 224"))
        .run(ablation("nhwc.toml", "layout = \"nhwc\""))
}

fn settings_with_negative_std_or_infinite_mean_are_refused_naming_the_setting() -> Case {
    let embed = |file: &str, said: &str| {
        let args = "embed --images {dir}/faces --out {dir}/e";
        refused(&format!("{args} --model-config {{dir}}/{file}"))
            .stderr(&format!("{{dir}}/{file}"))
            .stderr(said)
    };
    Case::with_data()
        .setup(|s| {
            two_faces(s);
            settings(s, "neg.toml", &[("std = [128.0,", "std = [-128.0,")]);
            settings(s, "inf.toml", &[("mean = [127.0,", "mean = [inf,")]);
        })
        .run(embed("neg.toml", "std = [-128.0"))
        .run(embed("inf.toml", "mean = [inf"))
}

// Row 5 -----------------------------------------------------------------------------

fn a_small_png_declaring_12000x12000_is_refused_from_its_header_without_decoding() -> Case {
    Case::with_data()
        .setup(|s| {
            two_faces(s);
            let bomb = s.path("faces/bomb.png");
            image::GrayImage::new(12_000, 12_000).save(&bomb).unwrap();
            let size = std::fs::metadata(&bomb).unwrap().len();
            assert!(size < 1_000_000, "the bomb is {size} bytes");
        })
        .run(
            ok(&quality("--json", "--resize --out {dir}/q.csv"))
                .within(120)
                .rows("q.failed.csv", &["bomb.png,*declares 12000x12000*"])
                // The decoded bomb alone would be 144 MB grey + 432 MB RGB.
                .peak_below_kib(450_000),
        )
}

// Rows 6 and 7 ----------------------------------------------------------------------

fn quality_out_over_an_input_image_or_list_is_refused_and_the_input_kept() -> Case {
    let over = |images: &str, out: &str| {
        let args = format!("quality {FIQA} magnitude --images {images} --out {out}");
        refused(&args)
            .stderr("never writes over or inside its inputs")
            .stderr(images)
    };
    Case::with_data()
        .setup(|s| {
            two_faces(s);
            s.write("list.csv", "path\nfaces/a.jpg\nfaces/b.jpg\n");
        })
        .run(over("{dir}/faces", "{dir}/faces/a.jpg"))
        .run(over("{dir}/faces", "{dir}/faces/sub/q.csv").absent("faces/sub"))
        .run(over("{dir}/list.csv", "{dir}/list.csv"))
}

fn embed_out_an_existing_map_store_the_image_folder_or_a_file_is_refused() -> Case {
    let into = |out: &str, said: &str| {
        refused(&format!("embed --images {{dir}}/faces --out {{dir}}/{out}"))
            .stderr(said)
            .stderr(&format!("--out {{dir}}/{out}"))
    };
    Case::with_data()
        .setup(|s| {
            two_faces(s);
            s.write("faces/index.csv", "the user's own index\n");
            s.write("maps/meta.json", r#"{"kind": "maps", "complete": true}"#);
            s.write("maps/index.csv", "row,image,flags\n0,a.jpg,\n");
            s.write("existing_file", "x");
        })
        .run(into("maps", "holds maps (meta.json), not embeddings"))
        .run(into("faces", "--images"))
        .run(into("existing_file", "is a file; expected a folder"))
}

// Row 9 -----------------------------------------------------------------------------

fn a_truncated_jpeg_is_used_with_a_warning_and_strict_leaves_it_out() -> Case {
    Case::with_data()
        .setup(|s| {
            two_faces(s);
            let b = s.read("faces/b.jpg");
            s.write("faces/cut.jpg", &b[..b.len() / 2]);
        })
        .run(
            ok("--json embed --images {dir}/faces --out {dir}/e")
                .summary("/images", 3)
                .summary("/warnings", 1)
                .rows("e/warnings.csv", &["cut.jpg,truncated JPEG*"]),
        )
        .run(
            ok("--json embed --images {dir}/faces --strict --out {dir}/strict")
                .summary("/images", 2)
                .rows("strict/failed.csv", &["cut.jpg,*--strict*"]),
        )
        // The same in quality and maps.
        .run(
            ok(&quality("--json", "--out {dir}/q.csv"))
                .summary("/warnings", 1)
                .rows("q.warnings.csv", &["cut.jpg,*"]),
        )
        .run(
            activation("m", "--strict")
                .summary("/images", 2)
                .summary("/failed", 1),
        )
}

fn a_score_file_without_a_header_or_with_image_method_only_is_refused_naming_what_is_expected(
) -> Case {
    Case::new()
        .setup(|s| {
            nan_set(s);
            s.write("nohead.csv", "a,0.5\nb,0.7\nc,0.1\n");
            s.write("im.csv", "image,method\na,magnitude\n");
        })
        .run(
            refused(&edc("nohead.csv"))
                .stderr("{dir}/nohead.csv")
                .stderr("first line 'a,0.5' holds a number"),
        )
        .run(
            refused(&edc("im.csv"))
                .stderr("{dir}/im.csv")
                .stderr("found image,method"),
        )
}

fn a_self_pair_in_a_pairs_file_is_refused_naming_the_line() -> Case {
    Case::new()
        .setup(|s| {
            nan_set(s);
            s.write("self.csv", "img_a,img_b,label\na,b,1\na,a,1\nb,e,0\n");
        })
        .run(
            refused("verify --pairs {dir}/self.csv --embeddings {dir}/emb")
                .stderr("{dir}/self.csv")
                .stderr("line 3")
                .stderr("itself"),
        )
}

// Row 10 ----------------------------------------------------------------------------

fn one_image_file_as_images_is_a_one_image_list_not_a_utf8_error() -> Case {
    Case::with_data().setup(two_faces).run(
        ok("--json embed --images {dir}/faces/a.jpg --out {dir}/e")
            .rows("e/index.csv", &["0,a.jpg"]),
    )
}

fn a_missing_model_is_named_not_its_settings_file() -> Case {
    Case::new()
        .setup(|s| {
            s.mkdir("faces");
            s.mkdir("models");
        })
        .run(
            refused("embed --images {dir}/faces --model {dir}/missing.onnx --out {dir}/e")
                .stderr("--model")
                .stderr("missing.onnx: no such file")
                .stderr_lacks("missing.toml"),
        )
        // Issue 26, row 12: a folder was called "no such file".
        .run(
            refused("embed --images {dir}/faces --model {dir}/models --out {dir}/e")
                .stderr("models: is a folder; expected an ONNX model file")
                .stderr_lacks("no such file"),
        )
}

fn an_unknown_layer_lists_activations_not_weights() -> Case {
    Case::with_data().setup(two_faces).run(
        refused("maps --images {dir}/faces --layer 519.0 --out {dir}/m")
            .stderr("near that name:")
            .check(candidates_are_activations),
    )
}

/// `519.0` is near the names of weights (initializers): the 10 candidates offered must
/// all be activations of the default model.
fn candidates_are_activations(s: &Scene, ran: &Ran) -> Result<(), String> {
    let list = ran
        .stderr
        .split("near that name:")
        .nth(1)
        .ok_or("no candidates")?;
    let model = s.shared().join("models/fr_feature.onnx");
    let graph = amva_model::graph::OnnxGraph::load(&model).map_err(|e| e.to_string())?;
    let activations = graph.tensor_names();
    let names: Vec<&str> = list
        .split("], ")
        .map(|c| c.split(" [").next().unwrap().trim())
        .collect();
    if names.len() != 10 {
        return Err(format!(
            "{} candidates, expected 10: {names:?}",
            names.len()
        ));
    }
    match names.iter().find(|n| !activations.iter().any(|a| a == *n)) {
        Some(n) => Err(format!("{n} is not an activation")),
        None => Ok(()),
    }
}

fn two_concurrent_maps_runs_into_one_out_the_second_names_the_first_pid() -> Case {
    let maps = "maps --images {dir}/faces --engine tract --out {dir}/m";
    Case::with_data()
        .setup(two_faces)
        // Score-CAM on every channel: minutes of work, so the first run is still going.
        .run(background(maps, "m/.amva.lock"))
        // Not `refused`: the first run goes on writing in m/.
        .run(fails(1, maps).stderr("pid {bg}").stderr("{dir}/m"))
        // A lock file left by the killed run (its pid, now dead) is taken over.
        .run(
            activation("m3", "")
                .after_stopping_background()
                .writing_first("m3/.amva.lock", "{bg}")
                .absent("m3/.amva.lock")
                .absent("m/*.tmp"),
        )
}

fn maps_shard_5_of_5_over_3_images_writes_an_empty_store_that_merges() -> Case {
    let mut case = Case::with_data().setup(|s| {
        two_faces(s);
        s.write("faces/c.jpg", s.read("faces/a.jpg"));
    });
    for i in 1..=5 {
        let step = activation(&format!("p{i}"), &format!("--shard {i}/5"));
        case = case.run(match i {
            1..=3 => step,
            _ => step.stderr(&format!("shard {i}/5 holds none of the 3 images")),
        });
    }
    let parts = "{dir}/p1 {dir}/p2 {dir}/p3 {dir}/p4 {dir}/p5";
    case.run(ok(&format!("--json merge {parts} --out {{dir}}/merged")).summary("/images", 3))
}

/// `amva demo --images DIR --out DIR/sub` wrote aligned faces, maps and the report inside
/// the user's image folder: now refused at once, naming the input.
fn demo_out_inside_its_images_folder_is_refused_and_the_folder_kept() -> Case {
    let grey = image::RgbImage::from_pixel(112, 112, image::Rgb([128, 128, 128]));
    Case::new()
        .setup(move |s| {
            s.mkdir("faces");
            grey.save(s.path("faces/a.png")).unwrap();
        })
        .run(
            refused("demo --images {dir}/faces --out {dir}/faces/demo")
                .stderr("--images")
                .stderr("inside")
                .absent("faces/demo"),
        )
}

// The inputs ------------------------------------------------------------------------

/// Two real faces (different people) from ../shared as faces/a.jpg and faces/b.jpg.
fn two_faces(s: &Scene) {
    let src = s.shared().join("faces/lfw-dev/aligned112");
    for (from, to) in [
        ("Aaron_Peirsol/Aaron_Peirsol_0001.jpg", "a.jpg"),
        ("Abdoulaye_Wade/Abdoulaye_Wade_0001.jpg", "b.jpg"),
    ] {
        s.write(
            &format!("faces/{to}"),
            std::fs::read(src.join(from)).unwrap(),
        );
    }
}

/// emb/ (an `amva embed` folder written by hand) and pairs.csv: a, b, e finite; c holds
/// a NaN, d an infinity.
fn nan_set(s: &Scene) {
    let emb = [
        ("a", [1.0, 0.1, 0.0, 0.0]),
        ("b", [0.9, 0.2, 0.1, 0.0]),
        ("c", [f32::NAN, 0.0, 1.0, 0.0]),
        ("d", [0.0, f32::INFINITY, 0.0, 1.0]),
        ("e", [0.0, 0.0, 1.0, 0.3]),
    ];
    let ids = emb
        .iter()
        .enumerate()
        .map(|(i, (id, _))| format!("{i},{id}\n"));
    s.write(
        "emb/index.csv",
        format!("row,image\n{}", ids.collect::<String>()),
    );
    let flat: Vec<f32> = emb.iter().flat_map(|(_, v)| *v).collect();
    amva_io::npy::write_f32(&s.path("emb/embeddings.npy"), &[emb.len(), 4], &flat).unwrap();
    s.write("emb/meta.json", r#"{"kind": "embeddings"}"#);
    s.write(
        "pairs.csv",
        "img_a,img_b,label\na,b,1\na,e,0\nb,e,0\na,c,1\nd,e,0\nc,d,1\n",
    );
}

/// The default model's settings with `edits` applied (TOML text replacements), as `name`.
fn settings(s: &Scene, name: &str, edits: &[(&str, &str)]) {
    let mut text = "width = 112\nheight = 112\nchannel_order = \"bgr\"\n\
                    mean = [127.0, 127.0, 127.0]\nstd = [128.0, 128.0, 128.0]\n\
                    layout = \"nchw\"\nembedding = \"output\"\ntarget = \"507\"\n\
                    serfiq_input = \"662\"\n"
        .to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replace(from, to);
    }
    s.write(name, text);
}

// The commands ----------------------------------------------------------------------

/// `amva --json maps --method activation` (one model pass per image) over faces/ with
/// `extra` flags, into `out`.
fn activation(out: &str, extra: &str) -> Step {
    let args = "--json maps --images {dir}/faces --method activation";
    ok(&format!("{args} {extra} --out {{dir}}/{out}")).within(120)
}

/// `amva quality` with one cheap method over faces/, `global` flags first, then `rest`.
fn quality(global: &str, rest: &str) -> String {
    format!("{global} quality {FIQA} magnitude --images {{dir}}/faces {rest}")
}

/// `amva edc` over nan_set's embeddings and pairs with the score file `rest` starts with.
fn edc(rest: &str) -> String {
    let inputs = "--pairs {dir}/pairs.csv --embeddings {dir}/emb --out {dir}/edc";
    format!("edc {inputs} --scores {{dir}}/{rest}")
}
