//! The model chain through the library API the other commands use (`align_image`).

use amva_align::{align_image, AlignOptions, Aligner};
use std::path::{Path, PathBuf};

fn shared() -> Option<PathBuf> {
    amva_testkit::shared_with(&["models/fr_detect.onnx", "faces/photos-face-recognition"])
}

fn aligner(shared: &Path, opts: AlignOptions) -> Aligner {
    Aligner::from_paths(
        &shared.join("models/fr_detect.onnx"),
        &shared.join("models/fr_landmark.onnx"),
        amva_model::EngineKind::Auto,
        opts,
    )
    .unwrap()
}

#[test]
fn two_people_give_two_crops_largest_first() {
    let Some(shared) = shared() else { return };
    let img = amva_io::images::load_rgb(
        &shared.join("faces/photos-face-recognition/MULTI/examples__two_people.jpg"),
    )
    .unwrap();
    let all = align_image(
        &img,
        &aligner(
            &shared,
            AlignOptions {
                all_faces: true,
                ..AlignOptions::default()
            },
        ),
    )
    .unwrap();
    assert_eq!(all.len(), 2);
    let area = |f: &amva_align::AlignedFace| f.detection.unwrap().bbox.area();
    assert!(area(&all[0]) >= area(&all[1]));
    for (k, f) in all.iter().enumerate() {
        assert_eq!(f.index, k);
        assert_eq!(f.image.dimensions(), (112, 112));
        assert_eq!(f.landmarks68.as_ref().unwrap().len(), 68);
        // The five points lie in the face box, eyes above the mouth, left eye left.
        let b = f.detection.unwrap().bbox;
        for p in f.landmarks {
            assert!(
                p[0] >= b.x1 as f64
                    && p[0] <= b.x2 as f64
                    && p[1] >= b.y1 as f64
                    && p[1] <= b.y2 as f64,
                "{p:?} outside {b:?}"
            );
        }
        assert!(f.landmarks[0][0] < f.landmarks[1][0] && f.landmarks[0][1] < f.landmarks[3][1]);
        assert!(f.residual < 10.0, "residual {}", f.residual);
    }
    // Default: only the largest face.
    let one = align_image(&img, &aligner(&shared, AlignOptions::default())).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].detection, all[0].detection);
    // A minimum face size above both: nothing, and the search says why.
    let strict = aligner(
        &shared,
        AlignOptions {
            all_faces: true,
            min_face: 10_000.0,
            ..AlignOptions::default()
        },
    );
    let found = strict.search(&img).unwrap();
    assert!(found.faces.is_empty());
    assert_eq!(found.too_small.len(), 2);
}

#[test]
fn crop_size_scales_the_template() {
    let Some(shared) = shared() else { return };
    let img = amva_io::images::load_rgb(
        &shared.join("faces/photos-face-recognition/obama/examples__obama-480p.jpg"),
    )
    .unwrap();
    let f112 = &align_image(&img, &aligner(&shared, AlignOptions::default())).unwrap()[0];
    let f224 = &align_image(
        &img,
        &aligner(
            &shared,
            AlignOptions {
                size: 224,
                ..AlignOptions::default()
            },
        ),
    )
    .unwrap()[0];
    assert_eq!(f224.image.dimensions(), (224, 224));
    // Same points, template twice as large: twice the scale, same rotation, twice the residual.
    assert!((f224.transform.scale() / f112.transform.scale() - 2.0).abs() < 1e-9);
    assert!((f224.residual / f112.residual - 2.0).abs() < 1e-9);
    // A blank image has no face.
    let blank =
        amva_align::image::RgbImage::from_pixel(300, 200, amva_align::image::Rgb([90, 90, 90]));
    assert!(
        align_image(&blank, &aligner(&shared, AlignOptions::default()))
            .unwrap()
            .is_empty()
    );
}
