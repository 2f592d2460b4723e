//! The audit (ALGORITHMS 1.7) on a model built here: a head that ignores the target
//! layer's activations, so that every map is decision independent by construction; and
//! the equivalence table against a naive recomputation.

use std::path::Path;

use amva_analysis::audit::{run, AuditRecord, AuditRun, AUDIT_FILE};
use amva_maps::audit::{AuditMethod, AuditOptions};
use amva_maps::study::StudyOptions;
use amva_maps::{MapParams, Method};
use amva_model::graph::onnx as pb;
use amva_model::graph::OnnxGraph;
use amva_model::preprocess::{ChannelOrder, Layout, Preprocess};
use amva_model::{EngineKind, FrModel, ModelSpec};

fn tensor(name: &str, dims: &[i64], values: Vec<f32>) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        float_data: values,
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attrs: Vec<pb::AttributeProto>) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute: attrs,
        ..Default::default()
    }
}

fn ints(name: &str, v: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ..Default::default()
    }
}

fn value(name: &str, dims: &[i64]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value, Dimension};
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(if d < 0 {
                Value::DimParam("N".into())
            } else {
                Value::DimValue(d)
            }),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Deterministic weights with some spread.
fn weights(n: usize, salt: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (((i * 7919 + salt * 104_729) % 1000) as f32 / 1000.0 - 0.5) * 0.6)
        .collect()
}

/// 3 x 16 x 16 image -> target `act` (Conv stride 4 + Relu: 4 x 4 x 4); a second branch
/// (Conv stride 4, global average pool, flatten: 8 values) is the embedding, to which the
/// head adds 0 x (its MatMul of the pooled activations): the head's weights never reach
/// the output.
fn constant_head_model(dir: &Path) -> FrModel {
    let graph = pb::GraphProto {
        name: "constant-head".into(),
        node: vec![
            node(
                "Conv",
                &["x", "w1"],
                "conv1",
                vec![ints("kernel_shape", &[4, 4]), ints("strides", &[4, 4])],
            ),
            node("Relu", &["conv1"], "act", vec![]),
            node(
                "Conv",
                &["x", "wb"],
                "convb",
                vec![ints("kernel_shape", &[4, 4]), ints("strides", &[4, 4])],
            ),
            node("GlobalAveragePool", &["convb"], "poolb", vec![]),
            node("Flatten", &["poolb"], "b", vec![]),
            node("GlobalAveragePool", &["act"], "poola", vec![]),
            node("Flatten", &["poola"], "flata", vec![]),
            node("MatMul", &["flata", "wh"], "h", vec![]),
            node("Mul", &["h", "zero"], "hz", vec![]),
            node("Add", &["b", "hz"], "emb", vec![]),
        ],
        initializer: vec![
            tensor("w1", &[4, 3, 4, 4], weights(192, 1)),
            tensor("wb", &[8, 3, 4, 4], weights(384, 2)),
            tensor("wh", &[4, 8], weights(32, 3)),
            tensor("zero", &[], vec![0.0]),
        ],
        input: vec![value("x", &[-1, 3, 16, 16])],
        output: vec![value("emb", &[-1, 8])],
        ..Default::default()
    };
    let proto = pb::ModelProto {
        ir_version: 7,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(graph),
        ..Default::default()
    };
    let path = dir.join("constant_head.onnx");
    OnnxGraph::from_proto(proto, &path)
        .unwrap()
        .save(&path)
        .unwrap();
    let spec = ModelSpec {
        preprocess: Preprocess {
            width: 16,
            height: 16,
            channel_order: ChannelOrder::Rgb,
            mean: [127.5; 3],
            std: [127.5; 3],
            layout: Layout::Nchw,
        },
        embedding: "emb".into(),
        target: "act".into(),
        serfiq_input: None,
    };
    FrModel::load(&path, spec, EngineKind::Tract).unwrap()
}

/// `n` 16 x 16 PNG images with different patterns.
fn images(dir: &Path, n: usize) -> Vec<amva_io::images::ImageItem> {
    std::fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|k| {
            let img = image::RgbImage::from_fn(16, 16, |x, y| {
                let v = |c: u32| {
                    (((x * (3 + k as u32 + c) + y * (5 + 2 * k as u32)) * 37 + c * 50) % 256) as u8
                };
                image::Rgb([v(0), v(1), v(2)])
            });
            let path = dir.join(format!("img{k}.png"));
            img.save(&path).unwrap();
            amva_io::images::ImageItem {
                id: format!("img{k}.png"),
                path,
            }
        })
        .collect()
}

fn audit_of(
    model: &FrModel,
    items: Vec<amva_io::images::ImageItem>,
    dir: &Path,
    out: &Path,
) -> amva_analysis::audit::Audited {
    audit_with(model, items, dir, out, 3, &|_, _, _| {})
}

fn audit_with(
    model: &FrModel,
    items: Vec<amva_io::images::ImageItem>,
    dir: &Path,
    out: &Path,
    seed: u64,
    progress: amva_maps::audit::AuditProgress<'_>,
) -> amva_analysis::audit::Audited {
    let methods = [Method::ScoreCam, Method::Activation, Method::EigenCam]
        .into_iter()
        .map(|m| AuditMethod {
            name: m.to_string(),
            params: MapParams {
                batch: 1,
                ..MapParams::new(m)
            },
        })
        .collect();
    let a = AuditRun {
        model,
        methods,
        items,
        images: dir.to_path_buf(),
        options: AuditOptions {
            shares: 2,
            seed,
            study: StudyOptions {
                steps: 4,
                seed: 3,
                boot: 200,
                resize: false,
                batch: 2,
            },
        },
        analysis: None,
        out: out.to_path_buf(),
    };
    run(&a, progress, &|_| {}).unwrap()
}

#[test]
fn a_head_that_ignores_the_activations_makes_every_map_decision_independent() {
    let tmp = tempfile::tempdir().unwrap();
    let model = constant_head_model(tmp.path());
    let items = images(&tmp.path().join("faces"), 6);
    let out = tmp.path().join("audit");
    let audited = audit_of(&model, items, &tmp.path().join("faces"), &out);
    // The cascade: the head's MatMul (the zero scalar is not a weight), then the body.
    let steps = &audited.audit.cascade.steps;
    assert_eq!(steps[0].tensors, ["wh"]);
    assert_eq!(steps.len(), 3, "{steps:?}");
    let record = AuditRecord::read(&out).unwrap();
    assert!(out.join(AUDIT_FILE).is_file());
    for m in &record.methods {
        let rho = m.step1_spearman_median.unwrap();
        assert!(rho > 0.99, "{}: step-1 Spearman {rho}", m.method);
        assert!(m.decision_independent, "{}", m.method);
    }
    // The maps are not trivial: Score-CAM's differ from image to image.
    let sc = &audited.audit.trained.full[0];
    assert_ne!(sc[0], sc[1]);
    assert!(sc[0].iter().any(|&v| v > 0.0));
    // Step 2 randomises the convolutions: the output changes, and with it Score-CAM.
    let step2 = record
        .randomisation
        .iter()
        .find(|r| r.step == 2 && r.method == "scorecam")
        .unwrap();
    assert!(
        step2.output_cosine_median < 0.999,
        "{}",
        step2.output_cosine_median
    );
    let step1 = record.randomisation.iter().find(|r| r.step == 1).unwrap();
    assert!(
        step1.output_cosine_median > 0.999_999,
        "{}",
        step1.output_cosine_median
    );
}

/// Average ranks, written out: each value's rank is 1 + the values below it + half the
/// other values equal to it.
fn naive_spearman(a: &[f32], b: &[f32]) -> f64 {
    let ranks = |v: &[f32]| -> Vec<f64> {
        v.iter()
            .map(|&x| {
                let below = v.iter().filter(|&&y| y < x).count() as f64;
                let equal = v.iter().filter(|&&y| y == x).count() as f64;
                below + (equal + 1.0) / 2.0
            })
            .collect()
    };
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn the_equivalence_table_matches_a_naive_recomputation() {
    let tmp = tempfile::tempdir().unwrap();
    let model = constant_head_model(tmp.path());
    let items = images(&tmp.path().join("faces"), 7);
    let out = tmp.path().join("audit");
    let audited = audit_of(&model, items, &tmp.path().join("faces"), &out);
    let full = &audited.audit.trained.full;
    let names: Vec<&str> = audited
        .audit
        .methods
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(audited.record.equivalence.len(), 3);
    for e in &audited.record.equivalence {
        let (a, b) = (
            names.iter().position(|n| *n == e.a).unwrap(),
            names.iter().position(|n| *n == e.b).unwrap(),
        );
        let mut rho: Vec<f64> = full[a]
            .iter()
            .zip(&full[b])
            .map(|(x, y)| if x == y { 1.0 } else { naive_spearman(x, y) })
            .collect();
        rho.sort_by(f64::total_cmp);
        // Median and 5th percentile by linear interpolation (numpy's default).
        let q = |p: f64| {
            let h = p * (rho.len() - 1) as f64;
            let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
            rho[lo] + (h - lo as f64) * (rho[hi] - rho[lo])
        };
        let (median, p5) = (e.spearman_median.unwrap(), e.spearman_p5.unwrap());
        assert!(
            (median - q(0.5)).abs() < 1e-9,
            "{} vs {}: {median} vs {}",
            e.a,
            e.b,
            q(0.5)
        );
        assert!(
            (p5 - q(0.05)).abs() < 1e-9,
            "{} vs {}: {p5} vs {}",
            e.a,
            e.b,
            q(0.05)
        );
    }
    // Activation and Eigen-CAM cost one pass; Score-CAM one per channel more.
    let passes = |m: &str| {
        audited
            .record
            .methods
            .iter()
            .find(|v| v.method == m)
            .unwrap()
            .passes_per_image
    };
    assert_eq!(passes("activation"), 1.0);
    assert!(passes("scorecam") > 1.0 && passes("scorecam") <= 5.0);
}

/// The recommendation's rule (ALGORITHMS 1.7) on the numbers `amva audit` measured on
/// 64 LFW dev faces (audit.json of both shared models); the expected answers follow
/// from the rule by hand.
#[test]
fn the_recommendation_follows_its_rule_on_the_measured_audits() {
    use amva_analysis::audit::{recommend, Agreement, Finding, MethodVerdict};
    use amva_analysis::verdict::Verdict;
    use amva_maps::audit::{Equivalence, Spread};
    use amva_maps::study::IntervalRecord;
    let iv = |mean: f64| IntervalRecord {
        mean,
        lo: mean,
        hi: mean,
        level: 0.95,
    };
    let verdict = |method: &str, passes: f64, step1: f64, beats: bool| MethodVerdict {
        method: method.into(),
        passes_per_image: passes,
        step1_spearman_median: Some(step1),
        decision_independent: step1 > 0.99,
        beats_random: beats,
        deletion: iv(0.1),
        insertion: iv(0.4),
    };
    let eq = |a: &str, b: &str, median: f64| Equivalence {
        a: a.into(),
        b: b.into(),
        spearman: Some(Spread {
            median,
            p5: median - 0.05,
            images: 64,
        }),
    };
    let findings = |v: [(&str, Verdict); 4]| Agreement {
        findings: v
            .iter()
            .map(|(m, verdict)| Finding {
                fiqa: "magnitude".into(),
                map_method: m.to_string(),
                high: 16,
                low: 16,
                outside_amv_low_minus_high: 0.02,
                p_value: 0.01,
                p_value_reversed: 0.99,
                verdict: *verdict,
                summary: "summary.json".into(),
            })
            .collect(),
        ..Agreement::default()
    };
    // The default model: every method beats random; Score-CAM's finding is not
    // significant on 16 + 16 faces while the others hold, so nothing cheaper is
    // equivalent; Ablation-CAM moves most when the head is random (0.915).
    let default = [
        verdict("scorecam", 513.0, 0.9974, true),
        verdict("ablation", 2.0, 0.9147, true),
        verdict("eigencam", 1.0, 1.0, true),
        verdict("activation", 1.0, 1.0, true),
    ];
    let default_eq = [
        eq("scorecam", "ablation", 0.932),
        eq("scorecam", "eigencam", 0.985),
        eq("scorecam", "activation", 0.984),
    ];
    let ag = findings([
        ("scorecam", Verdict::NotSignificant),
        ("ablation", Verdict::Holds),
        ("eigencam", Verdict::Holds),
        ("activation", Verdict::Holds),
    ]);
    let r = recommend(&default, &default_eq, Some(&ag));
    assert_eq!(r.cheapest_equivalent, None);
    assert_eq!(r.most_decision_dependent.as_deref(), Some("ablation"));
    assert!(!r.coincide);
    // Without --scores the maps alone decide: Eigen-CAM (1 pass, 0.985, named first).
    let r = recommend(&default, &default_eq, None);
    assert_eq!(r.cheapest_equivalent.as_deref(), Some("eigencam"));
    // LightCNN-V4: only the single-pass maps beat random, and they never see the head.
    let lightcnn = [
        verdict("scorecam", 129.0, 0.9848, false),
        verdict("ablation", 129.0, 0.9945, false),
        verdict("eigencam", 1.0, 1.0, true),
        verdict("activation", 1.0, 1.0, true),
    ];
    let lightcnn_eq = [
        eq("scorecam", "ablation", 0.971),
        eq("scorecam", "eigencam", 0.996),
        eq("scorecam", "activation", 0.997),
    ];
    let ag = findings([
        ("scorecam", Verdict::Holds),
        ("ablation", Verdict::Holds),
        ("eigencam", Verdict::Holds),
        ("activation", Verdict::Holds),
    ]);
    let r = recommend(&lightcnn, &lightcnn_eq, Some(&ag));
    assert_eq!(r.cheapest_equivalent.as_deref(), Some("eigencam"));
    assert_eq!(r.most_decision_dependent, None);
    assert!(
        r.notes.iter().any(|n| n.contains("decision independent")),
        "{:?}",
        r.notes
    );
}

/// An interrupted audit resumes: the steps a run finished are read back (not computed
/// again) and give the same numbers; other inputs start afresh.
#[test]
fn a_second_run_resumes_from_the_finished_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let model = constant_head_model(tmp.path());
    let faces = tmp.path().join("faces");
    let items = images(&faces, 5);
    let out = tmp.path().join("audit");
    let stages = |seed: u64| {
        let seen = std::sync::Mutex::new(std::collections::BTreeSet::new());
        let a = audit_with(&model, items.clone(), &faces, &out, seed, &|stage, _, _| {
            seen.lock().unwrap().insert(stage.to_string());
        });
        (a, seen.into_inner().unwrap())
    };
    let (first, seen) = stages(3);
    assert!(seen.iter().all(|s| !s.contains("done before")), "{seen:?}");
    // A run killed after its steps: only the step files survive.
    std::fs::remove_file(out.join(AUDIT_FILE)).unwrap();
    std::fs::remove_dir_all(out.join("maps")).unwrap();
    let (second, seen) = stages(3);
    let reused = seen.iter().filter(|s| s.contains("done before")).count();
    assert_eq!(reused, 1 + first.audit.cascade.steps.len(), "{seen:?}");
    assert_eq!(second.audit.trained.full, first.audit.trained.full);
    assert_eq!(second.audit.trained.passes, first.audit.trained.passes);
    let json = |r: &AuditRecord| {
        let mut v = serde_json::to_value(r).unwrap();
        v["seconds"] = serde_json::Value::Null;
        v
    };
    assert_eq!(json(&second.record), json(&first.record));
    // Another seed randomises other weights: nothing is reused.
    let (_, seen) = stages(4);
    assert!(seen.iter().all(|s| !s.contains("done before")), "{seen:?}");
}
