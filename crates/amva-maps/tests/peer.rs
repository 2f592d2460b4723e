//! amva's Score-CAM (`--score softmax`, T = 1) against an independent implementation:
//! pytorch-grad-cam's ScoreCAM on the same model converted with onnx2torch, cosine-
//! similarity target, on 20 LFW faces. Their full 112x112 maps are the committed fixture
//! `fixtures/peer_scorecam/maps.npy` (ids and versions in its meta.json).
//!
//! Regenerate the fixture (needs the peer venv, see benches/peers/scorecam_peer.py):
//!     .venv-peer/bin/python benches/peers/scorecam_peer.py fixture \
//!         --images ../shared/faces/lfw-dev/aligned112 \
//!         --out crates/amva-maps/tests/fixtures/peer_scorecam
//!
//! pytorch-grad-cam masks with align_corners=True upsampling, min-maxes before resizing
//! and keeps constant channels, so maps agree closely but not exactly: the bar is a
//! per-image Pearson correlation of at least 0.99 between the full maps.
//! Needs ../shared (model and faces); skips with a message when it is missing.

use amva_maps::{CamRunner, MapParams, Method, Score};
use amva_model::{EngineKind, FrModel, ModelSpec};
use std::path::PathBuf;

#[test]
fn scorecam_softmax_correlates_with_pytorch_grad_cam_on_20_faces() {
    let Some(shared) =
        amva_testkit::shared_with(&["faces/lfw-dev/aligned112", "models/fr_feature.onnx"])
    else {
        return;
    };
    let faces = shared.join("faces/lfw-dev/aligned112");
    let fixture = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/peer_scorecam"
    ));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("meta.json")).unwrap()).unwrap();
    let ids: Vec<String> = meta["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let theirs = amva_io::npy::read_f32(&fixture.join("maps.npy")).unwrap();
    assert_eq!(theirs.shape(), &[ids.len(), 112, 112]);
    assert_eq!(ids.len(), 20);

    // ONNX Runtime when installed (faster), else tract: both agree to about 1e-6.
    let model = FrModel::load(
        &shared.join("models/fr_feature.onnx"),
        ModelSpec::default_model(),
        EngineKind::Auto,
    )
    .unwrap();
    let items: Vec<_> = ids
        .iter()
        .map(|id| amva_io::images::ImageItem {
            id: id.clone(),
            path: faces.join(id),
        })
        .collect();
    let batch = amva_model::preprocess::load_batch(&items, &model.spec.preprocess, false);
    assert!(batch.failed.is_empty(), "{:?}", batch.failed);
    let params = MapParams {
        score: Score::Softmax,
        temperature: 1.0,
        batch: MapParams::default_batch(Method::ScoreCam, &model),
        ..MapParams::new(Method::ScoreCam)
    };
    let runner = CamRunner::new(&model, params).unwrap();
    let ours = runner.maps(&batch.input, ids.len(), &|_| {}).unwrap();
    let mut worst = 1.0f64;
    for (i, (id, m)) in ids.iter().zip(&ours).enumerate() {
        let full = runner.finish(&m.m).unwrap();
        let a: Vec<f64> = full.data.iter().map(|&v| v as f64).collect();
        let b: Vec<f64> = theirs.as_slice().unwrap()[i * 12544..(i + 1) * 12544]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let r = amva_math::compare::pearson(&a, &b).unwrap();
        eprintln!("{id}: Pearson r = {r:.5}");
        assert!(
            r >= 0.99,
            "{id}: Pearson r = {r} with pytorch-grad-cam's ScoreCAM, expected >= 0.99"
        );
        worst = worst.min(r);
    }
    eprintln!(
        "lowest per-image correlation over {} faces: {worst:.5} (engine {})",
        ids.len(),
        model.engine()
    );
}
