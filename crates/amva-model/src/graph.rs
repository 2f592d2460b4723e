//! ONNX graph surgery on the protobuf, shared by both engines.
//!
//! The same edits make a model usable everywhere: expose intermediate tensors (the CAM
//! target) as outputs, make the batch dimension symbolic, cut the graph at a tensor to get
//! the "head" after it (Ablation-CAM, SER-FIQ), and prune what is not needed. Reshape or
//! Flatten nodes that produce the embedding are skipped (their shape constants often fix
//! the batch at 1); the caller flattens each item instead.

use crate::{Error, Result};
use prost::Message;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use tract_onnx::pb::{self, type_proto, ModelProto, ValueInfoProto};

/// The ONNX protobuf types (to build or edit a model in code).
pub use tract_onnx::pb as onnx;

/// A loaded ONNX model and where it came from.
#[derive(Clone)]
pub struct OnnxGraph {
    pub path: PathBuf,
    pub proto: ModelProto,
    /// SHA-256 of the file, recorded in every output's metadata.
    pub sha256: String,
}

impl std::fmt::Debug for OnnxGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxGraph")
            .field("path", &self.path)
            .field("sha256", &self.sha256)
            .finish()
    }
}

impl OnnxGraph {
    /// Reads and parses an ONNX file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::Load {
            path: path.into(),
            reason: format!("cannot read the model file: {e}"),
        })?;
        Self::from_bytes(&bytes, path)
    }

    /// A model from a protobuf built or edited in memory; `path` names it in messages.
    pub fn from_proto(proto: ModelProto, path: &Path) -> Result<Self> {
        let bytes = proto.encode_to_vec();
        Self::from_bytes(&bytes, path)
    }

    fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let proto = ModelProto::decode(bytes).map_err(|e| Error::Load {
            path: path.into(),
            reason: format!("not an ONNX model: {e}"),
        })?;
        if proto.graph.is_none() {
            return Err(Error::Load {
                path: path.into(),
                reason: "the ONNX file has no graph".into(),
            });
        }
        Ok(OnnxGraph {
            path: path.into(),
            proto,
            sha256: amva_io::cache::sha256_hex(bytes),
        })
    }

    /// Writes the model as an ONNX file (temporary name, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        amva_io::atomic::write_atomic(path, &self.proto.encode_to_vec()).map_err(|e| Error::Load {
            path: path.into(),
            reason: format!("cannot write the model: {e}"),
        })
    }

    fn graph(&self) -> &pb::GraphProto {
        self.proto.graph.as_ref().expect("checked on load")
    }

    fn initializers(&self) -> HashSet<&str> {
        self.graph()
            .initializer
            .iter()
            .map(|t| t.name.as_str())
            .collect()
    }

    /// Name and dimensions (None = symbolic) of the image input: the first graph input
    /// that is not an initializer.
    pub fn data_input(&self) -> Result<(String, Vec<Option<i64>>)> {
        let inits = self.initializers();
        let input = self
            .graph()
            .input
            .iter()
            .find(|i| !inits.contains(i.name.as_str()))
            .ok_or_else(|| Error::Load {
                path: self.path.clone(),
                reason: "the graph has no data input".into(),
            })?;
        Ok((input.name.clone(), value_dims(input)))
    }

    /// Every tensor produced by a node, in graph order, plus the data input.
    pub fn tensor_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if let Ok((input, _)) = self.data_input() {
            names.push(input);
        }
        for n in &self.graph().node {
            names.extend(n.output.iter().filter(|o| !o.is_empty()).cloned());
        }
        names
    }

    /// The node that produces `tensor`.
    pub fn producer(&self, tensor: &str) -> Option<&pb::NodeProto> {
        self.graph()
            .node
            .iter()
            .find(|n| n.output.iter().any(|o| o == tensor))
    }

    /// Checks that `tensor` exists; the error lists the names nearest to it.
    pub fn check_tensor(&self, tensor: &str) -> Result<()> {
        let names = self.tensor_names();
        if names.iter().any(|n| n == tensor) {
            return Ok(());
        }
        Err(Error::UnknownTensor {
            path: self.path.clone(),
            name: tensor.into(),
            candidates: nearest(tensor, &names, 10).join(", "),
        })
    }

    /// The tensor to read the embedding from: `name` itself, or the input of the
    /// Reshape/Flatten/Squeeze that produces it (those often hard-code batch 1).
    pub fn embedding_source(&self, name: &str) -> Result<String> {
        self.check_tensor(name)?;
        let mut current = name.to_string();
        while let Some(node) = self.producer(&current) {
            if matches!(node.op_type.as_str(), "Reshape" | "Flatten" | "Squeeze")
                && !node.input.is_empty()
            {
                current = node.input[0].clone();
            } else {
                break;
            }
        }
        Ok(current)
    }

    /// A copy of the model that computes `outputs` from `input` (`None`: the data input).
    /// A new input tensor needs its per-item shape. The batch dimension becomes the
    /// symbolic `N`; nodes not needed for the outputs are removed.
    pub fn cut(&self, input: Option<(&str, &[usize])>, outputs: &[&str]) -> Result<ModelProto> {
        for o in outputs {
            self.check_tensor(o)?;
        }
        let mut proto = self.proto.clone();
        let inits: HashSet<String> = self.initializers().into_iter().map(String::from).collect();
        let (data_name, data_dims) = self.data_input()?;
        let (in_name, item_dims): (String, Vec<Option<i64>>) = match input {
            Some((name, shape)) => {
                self.check_tensor(name)?;
                (
                    name.to_string(),
                    shape.iter().map(|d| Some(*d as i64)).collect(),
                )
            }
            None => (
                data_name.clone(),
                data_dims.iter().skip(1).copied().collect(),
            ),
        };
        let graph = proto.graph.as_mut().expect("checked on load");
        // Keep only nodes needed for the outputs, stopping at the (new) input.
        let producers = producers(graph);
        let mut keep = vec![false; graph.node.len()];
        let mut stack: Vec<&str> = outputs.to_vec();
        let mut seen: HashSet<&str> = HashSet::new();
        while let Some(t) = stack.pop() {
            if t == in_name || inits.contains(t) || !seen.insert(t) {
                continue;
            }
            match producers.get(t) {
                Some(&i) => {
                    keep[i] = true;
                    stack.extend(graph.node[i].input.iter().filter(|s| !s.is_empty()).map(String::as_str));
                }
                None if t == data_name => {
                    return Err(Error::Load {
                        path: self.path.clone(),
                        reason: format!("output '{t}' needs the image input, not only '{in_name}': the graph cannot be cut there"),
                    })
                }
                None => {}
            }
        }
        let nodes = std::mem::take(&mut graph.node);
        graph.node = nodes
            .into_iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(n, _)| n)
            .collect();
        graph.input.retain(|i| inits.contains(&i.name));
        let mut dims = vec![None];
        dims.extend(item_dims);
        graph.input.insert(0, float_value(&in_name, Some(&dims)));
        graph.output = outputs.iter().map(|o| float_value(o, None)).collect();
        // Shapes recorded for intermediate tensors would contradict the new batch size.
        graph.value_info.clear();
        Ok(proto)
    }
}

/// Which node (index) produces each tensor of `graph`.
pub(crate) fn producers(graph: &pb::GraphProto) -> HashMap<&str, usize> {
    graph
        .node
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i)))
        .collect()
}

/// Rewrites every `PRelu` whose slope is a constant as `a*x + (1-a)*relu(x)`
/// (`Relu`, two `Mul`s, `Add`; the output keeps its name, so taps on it still work).
///
/// The result is the same function up to float rounding (for x > 0 the sum is
/// a*x + (1-a)*x), but ONNX Runtime runs it about 1.7x faster on the default model:
/// its `PRelu` kernel is scalar and, having no blocked-layout (NCHWc) version, forces
/// layout conversions around each of the 33 PRelus; the rewritten ops stay in the
/// blocked layout and the multiply-adds fuse into the convolutions. Returns how many
/// nodes were rewritten.
pub fn rewrite_prelu(proto: &mut ModelProto) -> usize {
    let Some(graph) = proto.graph.as_mut() else {
        return 0;
    };
    // Decode only the slope tensors, not every weight of the model.
    let slope_names: HashSet<&str> = graph
        .node
        .iter()
        .filter(|n| n.op_type == "PRelu" && n.domain.is_empty() && n.input.len() == 2)
        .map(|n| n.input[1].as_str())
        .collect();
    let slopes: HashMap<String, (Vec<i64>, Vec<f32>)> = graph
        .initializer
        .iter()
        .filter(|t| slope_names.contains(t.name.as_str()))
        .filter_map(|t| Some((t.name.clone(), (t.dims.clone(), tensor_f32(t)?))))
        .collect();
    let mut nodes = Vec::with_capacity(graph.node.len());
    let mut added = Vec::new();
    let mut count = 0;
    for node in std::mem::take(&mut graph.node) {
        let slope = (node.op_type == "PRelu" && node.domain.is_empty() && node.input.len() == 2)
            .then(|| slopes.get(&node.input[1]))
            .flatten();
        let (Some((dims, a)), Some(y)) = (slope, node.output.first()) else {
            nodes.push(node);
            continue;
        };
        count += 1;
        let x = node.input[0].clone();
        let t = |suffix: &str| format!("{y}__amva_prelu_{suffix}");
        let op = |op: &str, inputs: &[String], output: String| pb::NodeProto {
            op_type: op.into(),
            name: format!("{output}__node"),
            input: inputs.to_vec(),
            output: vec![output],
            ..Default::default()
        };
        let one_minus: Vec<f32> = a.iter().map(|v| 1.0 - v).collect();
        added.push(f32_tensor(t("a"), dims, a.clone()));
        added.push(f32_tensor(t("b"), dims, one_minus));
        nodes.push(op("Relu", std::slice::from_ref(&x), t("r")));
        nodes.push(op("Mul", &[x, t("a")], t("ax")));
        nodes.push(op("Mul", &[t("r"), t("b")], t("br")));
        let mut add = op("Add", &[t("ax"), t("br")], y.clone());
        add.name = if node.name.is_empty() {
            t("add")
        } else {
            node.name
        };
        nodes.push(add);
    }
    graph.node = nodes;
    graph.initializer.extend(added);
    // Drop slopes nothing reads any more (ONNX Runtime warns about unused initializers).
    let used: HashSet<String> = graph
        .node
        .iter()
        .flat_map(|n| n.input.iter().cloned())
        .chain(graph.output.iter().map(|o| o.name.clone()))
        .collect();
    graph
        .initializer
        .retain(|t| !slopes.contains_key(&t.name) || used.contains(&t.name));
    // Older models also list initializers as graph inputs; drop the removed ones there too.
    let kept: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    graph
        .input
        .retain(|i| !slopes.contains_key(&i.name) || kept.contains(i.name.as_str()));
    count
}

/// The values of a float32 initializer (`float_data` or little-endian `raw_data`).
pub(crate) fn tensor_f32(t: &pb::TensorProto) -> Option<Vec<f32>> {
    if t.data_type != pb::tensor_proto::DataType::Float as i32 {
        return None;
    }
    if !t.float_data.is_empty() {
        return Some(t.float_data.clone());
    }
    let n: i64 = t.dims.iter().product();
    (t.raw_data.len() == 4 * n as usize).then(|| {
        t.raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    })
}

pub(crate) fn f32_tensor(name: String, dims: &[i64], data: Vec<f32>) -> pb::TensorProto {
    pb::TensorProto {
        name,
        dims: dims.to_vec(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        float_data: data,
        ..Default::default()
    }
}

pub(crate) fn value_dims(v: &ValueInfoProto) -> Vec<Option<i64>> {
    let Some(type_proto::Value::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Vec::new();
    };
    t.shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) if v > 0 => Some(v),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A float tensor value; `None` dims are symbolic (`N`).
fn float_value(name: &str, dims: Option<&[Option<i64>]>) -> ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value as D, Dimension};
    let shape = dims.map(|dims| pb::TensorShapeProto {
        dim: dims
            .iter()
            .map(|d| Dimension {
                value: Some(match d {
                    Some(v) => D::DimValue(*v),
                    None => D::DimParam("N".into()),
                }),
                ..Default::default()
            })
            .collect(),
    });
    ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape,
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The `k` names closest to `name` (edit distance, then graph order).
pub fn nearest(name: &str, names: &[String], k: usize) -> Vec<String> {
    let mut scored: Vec<(usize, usize, &String)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (levenshtein(name, n), i, n))
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(k)
        .map(|(_, _, n)| n.clone())
        .collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Serialises a (possibly edited) model.
pub fn encode(proto: &ModelProto) -> Vec<u8> {
    proto.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model `y = PRelu(x, slope)` with the slope stored as raw bytes (as exporters do).
    fn prelu_model(slope: &[f32]) -> ModelProto {
        let c = slope.len() as i64;
        let value = |name: &str| float_value(name, Some(&[None, Some(c), Some(2), Some(3)]));
        ModelProto {
            ir_version: 7,
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: 9,
            }],
            graph: Some(pb::GraphProto {
                node: vec![pb::NodeProto {
                    op_type: "PRelu".into(),
                    name: "p".into(),
                    input: vec!["x".into(), "slope".into()],
                    output: vec!["y".into()],
                    ..Default::default()
                }],
                initializer: vec![pb::TensorProto {
                    name: "slope".into(),
                    dims: vec![c, 1, 1],
                    data_type: pb::tensor_proto::DataType::Float as i32,
                    raw_data: slope.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    ..Default::default()
                }],
                input: vec![value("x")],
                output: vec![value("y")],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn run_tract(proto: &ModelProto, x: &[f32], shape: &[usize]) -> Vec<f32> {
        use tract_onnx::prelude::*;
        let plan = tract_onnx::onnx()
            .model_for_proto_model(proto)
            .unwrap()
            .with_input_fact(0, f32::fact(shape).into())
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let t = Tensor::from_shape(shape, x).unwrap();
        let out = plan.run(tvec!(t.into())).unwrap();
        out[0]
            .to_plain_array_view::<f32>()
            .unwrap()
            .iter()
            .copied()
            .collect()
    }

    #[test]
    fn rewritten_prelu_equals_the_definition() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        // Slopes of both signs and beyond 1, as in the default model (-1.35 .. 1.23).
        let slope = [-1.35f32, 0.0, 0.25, 1.0, 1.23];
        let shape = [2, slope.len(), 2, 3];
        let x: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|_| rng.random_range(-3.0f32..3.0))
            .collect();
        // Naive PRelu: x if x > 0 else slope[c] * x, channel c = (i / 6) % 5.
        let naive: Vec<f32> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| if v > 0.0 { v } else { slope[(i / 6) % 5] * v })
            .collect();
        let original = prelu_model(&slope);
        let mut rewritten = original.clone();
        assert_eq!(rewrite_prelu(&mut rewritten), 1);
        let g = rewritten.graph.as_ref().unwrap();
        let ops: Vec<&str> = g.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["Relu", "Mul", "Mul", "Add"]);
        assert_eq!(g.node[3].output, ["y"]);
        assert!(
            g.initializer.iter().all(|t| t.name != "slope"),
            "unused slope kept"
        );
        for got in [
            run_tract(&original, &x, &shape),
            run_tract(&rewritten, &x, &shape),
        ] {
            for (g, n) in got.iter().zip(&naive) {
                assert!((g - n).abs() <= 1e-6 * n.abs().max(1.0), "{g} vs {n}");
            }
        }
    }

    #[test]
    fn prelu_with_a_computed_slope_is_left_alone() {
        let mut m = prelu_model(&[0.5]);
        m.graph.as_mut().unwrap().initializer.clear();
        assert_eq!(rewrite_prelu(&mut m), 0);
        assert_eq!(m.graph.unwrap().node[0].op_type, "PRelu");
    }

    #[test]
    fn levenshtein_basics() {
        assert_eq!(levenshtein("507", "507"), 0);
        assert_eq!(levenshtein("508", "507"), 1);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        let names: Vec<String> = ["output", "506", "507x", "abc", "5070"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(nearest("507", &names, 3), ["506", "507x", "5070"]);
    }
}
