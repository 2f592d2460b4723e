//! The model-based methods on real faces (skipped without ../shared).

use amva_model::{EngineKind, FrModel, ModelSpec};
use amva_quality::pose::Pose;
use amva_quality::serfiq::{SerFiq, SerFiqOptions};
use amva_quality::{magnitude::Magnitude, Item, QualityMethod};
use std::path::PathBuf;
use std::sync::Arc;

fn shared() -> Option<PathBuf> {
    amva_testkit::shared_with(&["faces", "models"])
}

/// magface-toy: images and the reference MagFace quality from index.csv.
fn magface_toy(shared: &std::path::Path) -> Vec<(String, image::RgbImage, f64)> {
    let dir = shared.join("faces/magface-toy");
    let mut r = csv::Reader::from_path(dir.join("index.csv")).expect("index.csv");
    r.records()
        .map(|rec| {
            let rec = rec.expect("row");
            let img = amva_io::images::load_rgb(&dir.join(&rec[0])).expect("image");
            (rec[0].to_string(), img, rec[2].parse().expect("magnitude"))
        })
        .collect()
}

fn fr_model(shared: &std::path::Path) -> Arc<FrModel> {
    Arc::new(
        FrModel::load(
            &shared.join("models/fr_feature.onnx"),
            ModelSpec::default_model(),
            EngineKind::Auto,
        )
        .expect("model"),
    )
}

fn spearman_with_reference(
    method: &dyn QualityMethod,
    toy: &[(String, image::RgbImage, f64)],
) -> f64 {
    let items: Vec<Item<'_>> = toy
        .iter()
        .map(|(id, img, _)| Item { id, image: img })
        .collect();
    let ours = method.score(&items).expect("scores");
    let reference: Vec<f64> = toy.iter().map(|t| t.2).collect();
    for ((id, _, r), o) in toy.iter().zip(&ours) {
        eprintln!("{} {id}: {o:.5} (MagFace {r})", method.name());
    }
    amva_math::compare::spearman(&ours, &reference).expect("spearman")
}

#[test]
fn magnitude_ranks_magface_toy_like_magface() {
    let Some(shared) = shared() else { return };
    let toy = magface_toy(&shared);
    let rho = spearman_with_reference(&Magnitude::new(fr_model(&shared)), &toy);
    eprintln!("magnitude vs MagFace quality on magface-toy: Spearman {rho:.4}");
    assert!(rho >= 0.7, "Spearman {rho}");
}

#[test]
fn serfiq_ranks_magface_toy_like_magface_and_is_seeded() {
    let Some(shared) = shared() else { return };
    let toy = magface_toy(&shared);
    let model = fr_model(&shared);
    let serfiq = SerFiq::new(model.clone(), SerFiqOptions::default()).expect("serfiq");
    assert_eq!(serfiq.layer_shape, vec![512, 1, 1]);
    let rho = spearman_with_reference(&serfiq, &toy);
    eprintln!("serfiq vs MagFace quality on magface-toy: Spearman {rho:.4}");
    assert!(rho >= 0.7, "Spearman {rho}");
    // Per-image seeding: the same image scores the same alone or in another batch.
    let items: Vec<Item<'_>> = toy
        .iter()
        .map(|(id, img, _)| Item { id, image: img })
        .collect();
    let all = serfiq.score(&items).unwrap();
    let one = serfiq.score(&items[3..4]).unwrap();
    assert_eq!(all[3], one[0]);
    // Another seed gives other masks, hence (slightly) other scores.
    let other = SerFiq::new(
        model,
        SerFiqOptions {
            seed: 1,
            ..Default::default()
        },
    )
    .unwrap();
    assert_ne!(other.score(&items[3..4]).unwrap()[0], one[0]);
}

fn pose(shared: &std::path::Path) -> Pose {
    Pose::open(&shared.join("models/fr_pose.onnx"), EngineKind::Auto).expect("pose model")
}

fn resized(img: &image::RgbImage) -> image::RgbImage {
    image::imageops::resize(img, 224, 224, image::imageops::FilterType::Triangle)
}

#[test]
fn pose_sees_the_profile_faces_turned() {
    let Some(shared) = shared() else { return };
    let toy = magface_toy(&shared);
    let imgs: Vec<image::RgbImage> = toy.iter().map(|t| resized(&t.1)).collect();
    let items: Vec<Item<'_>> = toy
        .iter()
        .zip(&imgs)
        .map(|(t, img)| Item {
            id: &t.0,
            image: img,
        })
        .collect();
    let angles = pose(&shared).angles(&items).unwrap();
    for (t, a) in toy.iter().zip(&angles) {
        eprintln!(
            "{}: yaw {:.1} pitch {:.1} roll {:.1}",
            t.0, a.yaw, a.pitch, a.roll
        );
    }
    let yaw = |name: &str| {
        angles[toy.iter().position(|t| t.0 == name).unwrap()]
            .yaw
            .abs()
    };
    // Looked at: 0.jpg and 1.jpg are full profiles, 4.jpg a near-profile; 8.jpg and
    // 9.jpg look into the camera.
    for profile in ["0.jpg", "1.jpg", "4.jpg"] {
        for frontal in ["8.jpg", "9.jpg"] {
            assert!(
                yaw(profile) > yaw(frontal) + 10.0,
                "|yaw| {profile} {} vs {frontal} {}",
                yaw(profile),
                yaw(frontal)
            );
        }
    }
}

#[test]
fn pose_of_lfw_faces_is_mostly_frontal() {
    let Some(shared) = shared() else { return };
    let list =
        amva_io::images::ImageList::open(&shared.join("faces/lfw-dev/aligned112")).expect("lfw");
    // Every 10th image: ~280 faces.
    let chosen: Vec<_> = list.items.iter().step_by(10).collect();
    let imgs: Vec<image::RgbImage> = chosen
        .iter()
        .map(|it| resized(&amva_io::images::load_rgb(&it.path).expect("image")))
        .collect();
    let items: Vec<Item<'_>> = chosen
        .iter()
        .zip(&imgs)
        .map(|(it, img)| Item {
            id: &it.id,
            image: img,
        })
        .collect();
    let angles = pose(&shared).angles(&items).unwrap();
    let mut yaws: Vec<f64> = angles.iter().map(|a| a.yaw.abs()).collect();
    yaws.sort_by(f64::total_cmp);
    let median = yaws[yaws.len() / 2];
    eprintln!(
        "LFW aligned112, {} faces: median |yaw| {median:.2} degrees, 90th percentile {:.2}",
        yaws.len(),
        yaws[yaws.len() * 9 / 10]
    );
    assert!(median < 20.0, "median |yaw| {median}");
}
