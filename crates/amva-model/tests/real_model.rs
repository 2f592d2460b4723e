//! The real default model on real faces. Skips with a printed reason when ../shared is absent.

use amva_model::fr::cosine;
use amva_model::{EngineKind, FrModel, ModelSpec};
use std::path::{Path, PathBuf};

fn shared() -> Option<PathBuf> {
    amva_testkit::shared_with(&["models/fr_feature.onnx"])
}

fn load(shared: &Path, engine: EngineKind) -> FrModel {
    FrModel::load(
        &shared.join("models/fr_feature.onnx"),
        ModelSpec::default_model(),
        engine,
    )
    .unwrap()
}

fn faces(shared: &Path, n: usize) -> Vec<image::RgbImage> {
    let list = amva_io::images::ImageList::open(&shared.join("faces/lfw-dev/aligned112")).unwrap();
    list.items
        .iter()
        .step_by(list.len() / n)
        .take(n)
        .map(|i| amva_io::images::load_rgb(&i.path).unwrap())
        .collect()
}

#[test]
fn shapes_of_the_default_model() {
    let Some(s) = shared() else { return };
    let m = load(&s, EngineKind::Tract);
    assert_eq!(m.embedding_dim, 512);
    assert_eq!(m.target_shape, [512, 7, 7]);
}

#[test]
fn batch_equals_single_runs_and_head_reproduces_embedding() {
    let Some(s) = shared() else { return };
    let m = load(&s, EngineKind::Tract);
    let imgs = faces(&s, 4);
    let input: Vec<f32> = imgs
        .iter()
        .flat_map(|i| m.spec.preprocess.tensor(i))
        .collect();
    let batch = m.forward(&input, 4).unwrap();
    let head = m.head().unwrap();
    for (i, img) in imgs.iter().enumerate() {
        let single = m.forward(&m.spec.preprocess.tensor(img), 1).unwrap();
        let b = &batch.embeddings[i * 512..(i + 1) * 512];
        let max = single
            .embeddings
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(max < 1e-4, "batch vs single differ by {max}");
        let from_head = head.run(&single.activations, 1).unwrap();
        let c = cosine(&from_head[0].data, &single.embeddings);
        assert!(c > 0.99999, "head(activations) vs embedding cosine {c}");
    }
    // Different faces give different embeddings (the model is not constant).
    let c01 = cosine(&batch.embeddings[..512], &batch.embeddings[512..1024]);
    assert!(c01 < 0.9, "two different people have cosine {c01}");
}

#[test]
fn unknown_target_lists_nearby_tensors_with_shapes() {
    let Some(s) = shared() else { return };
    let mut spec = ModelSpec::default_model();
    spec.target = "5077".into();
    let err = FrModel::load(&s.join("models/fr_feature.onnx"), spec, EngineKind::Tract)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("5077") && err.contains("507 [1, 512, 7, 7]"),
        "{err}"
    );
}

#[test]
fn non_spatial_target_is_refused() {
    let Some(s) = shared() else { return };
    let mut spec = ModelSpec::default_model();
    spec.target = "662".into();
    let err = FrModel::load(&s.join("models/fr_feature.onnx"), spec, EngineKind::Tract)
        .unwrap_err()
        .to_string();
    assert!(err.contains("662") && err.contains("spatial"), "{err}");
}

#[test]
fn missing_model_file_is_named() {
    let err = FrModel::load(
        &PathBuf::from("/nonexistent/fr.onnx"),
        ModelSpec::default_model(),
        EngineKind::Tract,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("/nonexistent/fr.onnx"), "{err}");
}

#[test]
fn engines_agree_on_50_faces() {
    let Some(s) = shared() else { return };
    if !amva_model::engine::ort_available() {
        amva_testkit::skip("ONNX Runtime is not installed (run `amva engine install`)");
        return;
    }
    let t = load(&s, EngineKind::Tract);
    let o = load(&s, EngineKind::Ort);
    assert_eq!(o.engine(), EngineKind::Ort);
    let imgs = faces(&s, 50);
    let input: Vec<f32> = imgs
        .iter()
        .flat_map(|i| t.spec.preprocess.tensor(i))
        .collect();
    let et = t.embed_parallel(&input, 50, 8).unwrap();
    let eo = o.embed_parallel(&input, 50, 8).unwrap();
    let max = et
        .iter()
        .zip(&eo)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    let min_cos = (0..50)
        .map(|i| cosine(&et[i * 512..(i + 1) * 512], &eo[i * 512..(i + 1) * 512]))
        .fold(1f32, f32::min);
    eprintln!("tract vs ort on 50 faces: max |diff| {max:.2e}, min cosine {min_cos:.7}");
    assert!(max <= 1e-3, "max |diff| {max}");
    assert!(min_cos >= 0.9999, "min cosine {min_cos}");
    // Activations agree too (Score-CAM reads them).
    let ft = t.forward(&input[..t.input_len()], 1).unwrap();
    let fo = o.forward(&input[..t.input_len()], 1).unwrap();
    let amax = ft
        .activations
        .iter()
        .zip(&fo.activations)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(amax <= 1e-3, "activations differ by {amax}");
}

/// The engines run the default model with PRelu rewritten (graph::rewrite_prelu, for speed);
/// tract on the untouched file must give the same embeddings.
#[test]
fn prelu_rewrite_keeps_the_default_models_embeddings() {
    use tract_onnx::prelude::*;
    let Some(s) = shared() else { return };
    let path = s.join("models/fr_feature.onnx");
    let graph = amva_model::graph::OnnxGraph::load(&path).unwrap();
    let mut rewritten = graph.proto.clone();
    assert!(
        amva_model::graph::rewrite_prelu(&mut rewritten) > 10,
        "default model has PRelus"
    );
    let m = load(&s, EngineKind::Tract);
    let untouched = tract_onnx::onnx()
        .model_for_proto_model(&graph.proto)
        .unwrap()
        .with_input_fact(0, f32::fact([1, 3, 112, 112]).into())
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    for img in faces(&s, 3) {
        let x = m.spec.preprocess.tensor(&img);
        let t = Tensor::from_shape(&[1, 3, 112, 112], &x).unwrap();
        let out = untouched.run(tvec!(t.into())).unwrap();
        let want: Vec<f32> = out[0]
            .to_plain_array_view::<f32>()
            .unwrap()
            .iter()
            .copied()
            .collect();
        let got = m.forward(&x, 1).unwrap().embeddings;
        assert_eq!(got.len(), want.len());
        let max = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        let scale = want.iter().map(|v| v.abs()).fold(0f32, f32::max);
        assert!(
            max <= 1e-4 * scale.max(1.0),
            "rewritten vs untouched: max diff {max} (scale {scale})"
        );
        assert!(cosine(&got, &want) > 0.99999);
    }
}

/// The model's multiply-adds against a naive count from the ONNX graph: for every Conv,
/// output elements x (input channels / groups) x kernel area; for every Gemm/MatMul,
/// output elements x the shared dimension. tract's count also has per-element work
/// (batch norm, PReLU, additions), so it may exceed the naive count by a few per cent.
#[test]
fn multiply_adds_match_a_count_from_conv_and_matmul_shapes() {
    let Some(sh) = shared() else { return };
    let m = load(&sh, EngineKind::Tract);
    let shapes: std::collections::HashMap<String, Vec<usize>> =
        m.tensor_shapes().unwrap().into_iter().collect();
    let g = m.graph.proto.graph.as_ref().unwrap();
    let dims = |name: &str| -> Vec<u64> {
        g.initializer
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.dims.iter().map(|&d| d as u64).collect())
            .unwrap_or_else(|| shapes[name].iter().map(|&d| d as u64).collect())
    };
    let out_elems = |name: &str| shapes[name].iter().product::<usize>() as u64;
    let mut naive = 0u64;
    for node in &g.node {
        match node.op_type.as_str() {
            "Conv" => {
                let w = dims(&node.input[1]);
                naive += out_elems(&node.output[0]) * w[1..].iter().product::<u64>();
            }
            "Gemm" | "MatMul" => {
                let a = dims(&node.input[0]);
                naive += out_elems(&node.output[0]) * a[a.len() - 1];
            }
            _ => {}
        }
    }
    let counted = m.multiply_adds_per_image().unwrap();
    eprintln!("multiply-adds per image: tract {counted}, naive conv+matmul {naive}");
    assert!(naive > 100_000_000, "{naive}");
    assert!(
        counted >= naive && (counted as f64) <= naive as f64 * 1.05,
        "tract {counted} vs naive {naive}"
    );
}

/// ALGORITHMS 1.7: randomising a step of the cascade changes the model's output and
/// leaves every weight outside the randomised steps bit-identical.
#[test]
fn randomising_a_step_changes_the_output_and_nothing_else() {
    use amva_model::randomise::Cascade;
    let Some(s) = shared() else { return };
    let m = load(&s, EngineKind::Tract);
    let cascade = Cascade::plan(&m.graph, &m.spec.target, m.embedding_source(), 5).unwrap();
    assert_eq!(cascade.steps.len(), 6, "head + 5 shares");
    // The head of the default model: the depthwise 7x7 and the linear layers after 507.
    assert!(cascade.steps[0].weights > 0 && cascade.steps[0].weights < cascade.total_weights / 2);
    let faces = faces(&s, 3);
    let input: Vec<f32> = faces
        .iter()
        .flat_map(|i| m.spec.preprocess.tensor(i))
        .collect();
    let trained = m.forward(&input, 3).unwrap();
    let initial = |g: &amva_model::graph::OnnxGraph| -> std::collections::HashMap<String, Vec<u8>> {
        use prost::Message;
        let g = g.proto.graph.as_ref().unwrap();
        g.initializer
            .iter()
            .map(|t| (t.name.clone(), t.encode_to_vec()))
            .collect()
    };
    let before = initial(&m.graph);
    for step in [1, 3] {
        let graph = cascade.randomised(&m.graph, step, 11).unwrap();
        let after = initial(&graph);
        let chosen = cascade.tensors_up_to(step);
        assert!(!chosen.is_empty());
        for (name, bytes) in &before {
            if chosen.contains(name.as_str()) {
                assert_ne!(
                    &after[name], bytes,
                    "step {step}: {name} was not randomised"
                );
            } else {
                assert_eq!(&after[name], bytes, "step {step}: {name} changed");
            }
        }
        // Nodes, inputs and outputs are untouched.
        assert_eq!(
            graph.proto.graph.as_ref().unwrap().node,
            m.graph.proto.graph.as_ref().unwrap().node
        );
        let random = m.with_graph(graph).unwrap().forward(&input, 3).unwrap();
        for i in 0..3 {
            let c = cosine(
                &trained.embeddings[i * 512..(i + 1) * 512],
                &random.embeddings[i * 512..(i + 1) * 512],
            );
            assert!(
                c < 0.9,
                "step {step}, face {i}: cosine to the trained embedding {c}"
            );
        }
        // Step 1 leaves the target layer's activations as they were.
        if step == 1 {
            assert_eq!(random.activations, trained.activations);
        } else {
            assert_ne!(random.activations, trained.activations);
        }
    }
}
