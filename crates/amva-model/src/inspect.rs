//! A model seen from outside, for `amva model`: its inputs and outputs, every activation
//! tensor with its shape in graph order, and a proposed settings file. Needs no settings:
//! shapes come from tract's shape inference at batch 1 with the input size the ONNX file
//! declares.
//!
//! An activation tensor is one computed from the image: an output of a node that (through
//! other such nodes) reads the data input. Weights, constants and shape arithmetic
//! (`Shape`, `Size` and what only they feed) are left out.

use crate::graph::OnnxGraph;
use crate::preprocess::{ChannelOrder, Layout, ModelSpec, Preprocess};
use crate::{Error, Result};
use std::collections::{HashMap, HashSet};

/// One tensor of the listing. `shape` is at batch 1; empty when inference could not tell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<usize>,
    /// The ONNX op that produces it (`input` for a graph input).
    pub op: String,
}

impl TensorInfo {
    /// batch x K x h x w with h, w >= 2: usable as a CAM target layer.
    pub fn is_spatial(&self) -> bool {
        self.shape.len() == 4 && self.shape[2] >= 2 && self.shape[3] >= 2
    }
}

/// Inputs, outputs and activation tensors of a model, in graph order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listing {
    /// Data inputs (not initialisers) with their declared dims (None = symbolic).
    pub inputs: Vec<(String, Vec<Option<i64>>)>,
    pub outputs: Vec<TensorInfo>,
    /// Every activation tensor, in the order the graph computes them.
    pub tensors: Vec<TensorInfo>,
    /// Producer op and activation inputs of each tensor.
    #[serde(skip)]
    producers: HashMap<String, (String, Vec<String>)>,
}

impl Listing {
    /// Lists `graph`. `input_shape` (batch first) overrides the declared input size,
    /// which is needed when the ONNX file leaves height or width symbolic.
    pub fn new(graph: &OnnxGraph, input_shape: Option<&[usize]>) -> Result<Self> {
        let g = graph.proto.graph.as_ref().expect("checked on load");
        let inits: HashSet<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs: Vec<(String, Vec<Option<i64>>)> = g
            .input
            .iter()
            .filter(|i| !inits.contains(i.name.as_str()))
            .map(|i| (i.name.clone(), crate::graph::value_dims(i)))
            .collect();
        let (data, dims) = graph.data_input()?;
        let shape = match input_shape {
            Some(s) => s.to_vec(),
            None => concrete_input(graph, &dims)?,
        };
        let shapes = infer_shapes(graph, &shape)?;
        let mut live: HashSet<String> = inputs.iter().map(|(n, _)| n.clone()).collect();
        let mut tensors = vec![TensorInfo {
            name: data.clone(),
            shape: shape.clone(),
            op: "input".into(),
        }];
        let mut producers = HashMap::new();
        for n in &g.node {
            let reads_image = n.input.iter().any(|i| live.contains(i));
            if !reads_image || matches!(n.op_type.as_str(), "Shape" | "Size") {
                continue;
            }
            let ins: Vec<String> = n
                .input
                .iter()
                .filter(|i| live.contains(*i))
                .cloned()
                .collect();
            for o in n.output.iter().filter(|o| !o.is_empty()) {
                live.insert(o.clone());
                producers.insert(o.clone(), (n.op_type.clone(), ins.clone()));
                tensors.push(TensorInfo {
                    name: o.clone(),
                    shape: shapes.get(o).cloned().unwrap_or_default(),
                    op: n.op_type.clone(),
                });
            }
        }
        let outputs = g
            .output
            .iter()
            .map(|o| TensorInfo {
                name: o.name.clone(),
                shape: shapes.get(&o.name).cloned().unwrap_or_default(),
                op: producers
                    .get(&o.name)
                    .map(|p: &(String, Vec<String>)| p.0.clone())
                    .unwrap_or_default(),
            })
            .collect();
        Ok(Listing {
            inputs,
            outputs,
            tensors,
            producers,
        })
    }

    fn info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    fn position(&self, name: &str) -> usize {
        self.tensors
            .iter()
            .position(|t| t.name == name)
            .unwrap_or(0)
    }

    /// The embedding: the graph output with one dimension > 1 per item (the first such).
    pub fn embedding(&self) -> Option<&TensorInfo> {
        self.outputs
            .iter()
            .find(|o| o.shape.iter().skip(1).filter(|&&d| d > 1).count() == 1)
            .or_else(|| self.outputs.first())
    }

    /// The last spatial tensors before the head: walking back from `output` through
    /// non-spatial tensors, the spatial tensors where the walk stops (latest first).
    pub fn head_inputs(&self, output: &str) -> Vec<&TensorInfo> {
        let mut stack = vec![output.to_string()];
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        while let Some(t) = stack.pop() {
            if !seen.insert(t.clone()) {
                continue;
            }
            let Some(info) = self.info(&t) else { continue };
            if info.is_spatial() {
                found.push(info);
            } else if let Some((_, ins)) = self.producers.get(&t) {
                stack.extend(ins.iter().cloned());
            }
        }
        found.sort_by_key(|t| std::cmp::Reverse(self.position(&t.name)));
        found
    }

    /// When `tensor` is only a per-channel pooling of one larger spatial tensor X
    /// (MaxPool/AveragePool of X, or a sum/max of such pools, as LightCNN's
    /// `max_pool2d(x) + avg_pool2d(x)`), X: it carries the same channels at a higher
    /// resolution, so it makes the finer map.
    pub fn unpooled(&self, tensor: &str) -> Option<&TensorInfo> {
        let pool_source = |t: &str| -> Option<String> {
            let (op, ins) = self.producers.get(t)?;
            matches!(op.as_str(), "MaxPool" | "AveragePool" | "LpPool")
                .then(|| ins.first().cloned())
                .flatten()
        };
        let (op, ins) = self.producers.get(tensor)?;
        let source = match op.as_str() {
            "MaxPool" | "AveragePool" | "LpPool" => ins.first().cloned()?,
            "Add" | "Sum" | "Max" | "Mean" => {
                let sources: HashSet<Option<String>> = ins.iter().map(|i| pool_source(i)).collect();
                match sources.into_iter().collect::<Vec<_>>().as_slice() {
                    [Some(x)] if ins.len() >= 2 => x.clone(),
                    _ => return None,
                }
            }
            _ => return None,
        };
        self.info(&source).filter(|t| t.is_spatial())
    }

    /// The input of the last linear layer (Gemm, MatMul, or a Conv on a 1x1 map) that the
    /// embedding depends on: what SER-FIQ perturbs.
    pub fn last_linear_input(&self, output: &str) -> Option<&TensorInfo> {
        let mut current = output.to_string();
        for _ in 0..self.tensors.len() {
            let (op, ins) = self.producers.get(&current)?;
            let first = self.info(ins.first()?)?;
            if first.is_spatial() {
                return None;
            }
            if matches!(op.as_str(), "Gemm" | "MatMul" | "Conv") {
                return Some(first);
            }
            current = first.name.clone();
        }
        None
    }
}

/// The declared input shape with a symbolic batch set to 1; an error names a symbolic
/// height or width.
fn concrete_input(graph: &OnnxGraph, dims: &[Option<i64>]) -> Result<Vec<usize>> {
    let mut shape = Vec::with_capacity(dims.len());
    for (i, d) in dims.iter().enumerate() {
        match d {
            Some(v) => shape.push(*v as usize),
            None if i == 0 => shape.push(1),
            None => {
                return Err(Error::Load {
                    path: graph.path.clone(),
                    reason: format!(
                        "the input shape {dims:?} has a symbolic size besides the batch; \
                         give the size with a settings file (--model-config)"
                    ),
                })
            }
        }
    }
    if shape.len() != 4 {
        return Err(Error::Load {
            path: graph.path.clone(),
            reason: format!("the input has shape {dims:?}; an image model needs 4 dimensions"),
        });
    }
    Ok(shape)
}

/// Shapes of the named tensors from tract's inference with the input at `shape`.
fn infer_shapes(graph: &OnnxGraph, shape: &[usize]) -> Result<HashMap<String, Vec<usize>>> {
    Ok(crate::tract_engine::shapes_at(graph, shape)?
        .into_iter()
        .filter(|(_, s)| !s.is_empty())
        .collect())
}

/// A settings file proposed from the graph, with the reasons as TOML comments.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub spec: ModelSpec,
    /// The settings as TOML with a comment above each choice.
    pub toml: String,
    /// True when the preprocessing is amva's preset for a model it knows (by SHA-256).
    pub known_model: bool,
    /// Alternatives worth knowing (one line each).
    pub notes: Vec<String>,
}

/// What `amva model` reports: the model's tensors and the settings proposed for it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelReport<'a> {
    pub model: &'a std::path::Path,
    pub sha256: &'a str,
    pub inputs: &'a [(String, Vec<Option<i64>>)],
    pub outputs: &'a [TensorInfo],
    pub tensors: Vec<TensorRow<'a>>,
    pub proposal: &'a ModelSpec,
    pub proposal_toml: &'a str,
    /// "built-in preset" for a model amva knows, else "guess".
    pub preprocessing_from: &'static str,
    pub notes: &'a [String],
}

/// An activation tensor in the report, with whether it can be a CAM target layer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TensorRow<'a> {
    pub name: &'a str,
    pub shape: &'a [usize],
    pub op: &'a str,
    pub spatial: bool,
}

impl<'a> ModelReport<'a> {
    pub fn new(graph: &'a OnnxGraph, listing: &'a Listing, proposal: &'a Proposal) -> Self {
        ModelReport {
            model: &graph.path,
            sha256: &graph.sha256,
            inputs: &listing.inputs,
            outputs: &listing.outputs,
            tensors: listing
                .tensors
                .iter()
                .map(|t| TensorRow {
                    name: &t.name,
                    shape: &t.shape,
                    op: &t.op,
                    spatial: t.is_spatial(),
                })
                .collect(),
            proposal: &proposal.spec,
            proposal_toml: &proposal.toml,
            preprocessing_from: if proposal.known_model {
                "built-in preset"
            } else {
                "guess"
            },
            notes: &proposal.notes,
        }
    }
}

/// Proposes settings for `graph` from `listing`.
pub fn propose(graph: &OnnxGraph, listing: &Listing) -> Result<Proposal> {
    let no = |what: &str| Error::Load {
        path: graph.path.clone(),
        reason: format!("cannot propose settings: {what}"),
    };
    let input = listing.tensors.first().ok_or_else(|| no("no data input"))?;
    let (layout, height, width) = match input.shape.as_slice() {
        [_, 3, h, w] => (Layout::Nchw, *h, *w),
        [_, h, w, 3] => (Layout::Nhwc, *h, *w),
        s => {
            return Err(no(&format!(
                "the input has shape {s:?}, not 3 colour channels"
            )))
        }
    };
    let emb = listing
        .embedding()
        .ok_or_else(|| no("the graph has no output"))?;
    let heads = listing.head_inputs(&emb.name);
    let last = *heads.first().ok_or_else(|| {
        no(&format!(
            "no spatial tensor (K x h x w) feeds '{}'",
            emb.name
        ))
    })?;
    let mut notes = Vec::new();
    let (target, why) = match listing.unpooled(&last.name) {
        Some(x) => {
            notes.push(format!(
                "alternative target: '{}' {:?}, the pooled tensor the head reads: maps at {}x{} instead of {}x{}; \
                 the head from there is linear (faster Ablation-CAM)",
                last.name, last.shape, last.shape[2], last.shape[3], x.shape[2], x.shape[3]
            ));
            (x, format!(
                "'{}' {:?} is the last spatial tensor before the head, but it only pools '{}' per channel: \
                 the same channels at {}x{} make a finer map",
                last.name, last.shape, x.name, x.shape[2], x.shape[3]
            ))
        }
        None => (
            last,
            "the last spatial tensor before the first non-spatial op".to_string(),
        ),
    };
    if heads.len() > 1 {
        let others: Vec<String> = heads[1..].iter().map(|t| format!("'{}'", t.name)).collect();
        notes.push(format!("the head also reads {}", others.join(", ")));
    }
    let serfiq = listing.last_linear_input(&emb.name);
    let known = graph.sha256
        == amva_io::models::DEFAULT_MODELS
            .iter()
            .find(|(n, _)| *n == amva_io::models::FR_FEATURE)
            .map_or("", |(_, s)| *s);
    let preprocess = if known {
        ModelSpec::default_model().preprocess
    } else {
        Preprocess {
            width: width as u32,
            height: height as u32,
            channel_order: ChannelOrder::Rgb,
            mean: [0.0; 3],
            std: [255.0; 3],
            layout,
        }
    };
    let spec = ModelSpec {
        preprocess,
        embedding: emb.name.clone(),
        target: target.name.clone(),
        serfiq_input: serfiq.map(|t| t.name.clone()),
    };
    let toml = proposal_toml(graph, &spec, [input, emb, target], &why, serfiq, known);
    Ok(Proposal {
        spec,
        toml,
        known_model: known,
        notes,
    })
}

fn proposal_toml(
    graph: &OnnxGraph,
    spec: &ModelSpec,
    [input, emb, target]: [&TensorInfo; 3],
    why: &str,
    serfiq: Option<&TensorInfo>,
    known: bool,
) -> String {
    let p = &spec.preprocess;
    let file = graph
        .path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let layout = match p.layout {
        Layout::Nchw => "nchw",
        Layout::Nhwc => "nhwc",
    };
    let order = match p.channel_order {
        ChannelOrder::Rgb => "rgb",
        ChannelOrder::Bgr => "bgr",
    };
    let prep_note = if known {
        "# from amva's built-in preset for this model (recognised by its SHA-256): an ONNX file\n\
         # does not record its channel order, mean or std."
            .to_string()
    } else {
        "# GUESSED: an ONNX file does not record its channel order, mean or std. This is RGB\n\
         # scaled to [0, 1], usual for PyTorch exports; other common ones: mean 127.5, std 127.5\n\
         # (insightface), or BGR. Check with `amva verify --pairs FILE --images DIR` and keep the\n\
         # best accuracy."
            .to_string()
    };
    let f = |v: &[f32; 3]| format!("[{:?}, {:?}, {:?}]", v[0], v[1], v[2]);
    let mut s = format!(
        "# Settings for {file} proposed by `amva model` from the ONNX graph (sha256 {sha}).\n\
         # Input size and layout: from the model's input '{input}' {shape:?}.\n\
         width = {w}\nheight = {h}\nlayout = \"{layout}\"\n{prep_note}\n\
         channel_order = \"{order}\"\nmean = {mean}\nstd = {std}\n\
         # The graph output ({d:?}).\nembedding = \"{emb}\"\n\
         # CAM target layer {tshape:?}: {why}.\ntarget = \"{target}\"\n",
        sha = graph.sha256,
        input = input.name,
        shape = input.shape,
        w = p.width,
        h = p.height,
        mean = f(&p.mean),
        std = f(&p.std),
        d = emb.shape,
        emb = spec.embedding,
        tshape = target.shape,
        target = spec.target,
    );
    if let Some(t) = serfiq {
        s += &format!(
            "# Input of the last linear layer {:?}: what SER-FIQ perturbs.\nserfiq_input = \"{}\"\n",
            t.shape, t.name
        );
    }
    s
}
