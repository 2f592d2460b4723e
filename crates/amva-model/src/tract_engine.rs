//! tract: the pure-Rust engine. A plan with a symbolic batch runs about 2x slower than a
//! fixed-size one (ENGINES.md), so one optimised plan is built per batch size and cached.
//! Plans run single-threaded; callers use both cores by running batches in parallel.

use crate::backend::{Backend, Output};
use crate::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;

pub(crate) struct TractBackend {
    path: PathBuf,
    model: InferenceModel,
    item_shape: Vec<usize>,
    plans: Mutex<HashMap<usize, Arc<TypedRunnableModel>>>,
}

fn err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Load {
        path: path.into(),
        reason: format!("tract: {e}"),
    }
}

impl TractBackend {
    pub(crate) fn new(proto: &ModelProto, path: &Path, item_shape: &[usize]) -> Result<Self> {
        let model = tract_onnx::onnx()
            .model_for_proto_model(proto)
            .map_err(|e| err(path, e))?;
        let backend = TractBackend {
            path: path.into(),
            model,
            item_shape: item_shape.to_vec(),
            plans: Mutex::new(HashMap::new()),
        };
        // Build the batch-1 plan now so that a broken model fails here, not mid-run.
        backend.plan(1)?;
        Ok(backend)
    }

    fn plan(&self, n: usize) -> Result<Arc<TypedRunnableModel>> {
        if let Some(p) = self.plans.lock().expect("plan cache poisoned").get(&n) {
            return Ok(p.clone());
        }
        let mut dims = vec![n];
        dims.extend_from_slice(&self.item_shape);
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact(&dims).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| err(&self.path, e))?;
        self.plans
            .lock()
            .expect("plan cache poisoned")
            .insert(n, plan.clone());
        Ok(plan)
    }
}

impl Backend for TractBackend {
    fn run(&self, input: &[f32], shape: &[usize]) -> Result<Vec<Output>> {
        let run_err = |e: TractError| Error::Run {
            engine: "tract",
            reason: format!("{e:?}"),
        };
        let plan = self.plan(shape[0])?;
        let tensor = Tensor::from_shape(shape, input).map_err(run_err)?;
        let outs = plan.run(tvec!(tensor.into())).map_err(run_err)?;
        outs.iter()
            .map(|t| {
                let view = t.to_plain_array_view::<f32>().map_err(run_err)?;
                Ok(Output {
                    shape: view.shape().to_vec(),
                    data: view.iter().copied().collect(),
                })
            })
            .collect()
    }
}

/// Shapes at batch 1 of every named tensor (for error messages and `amva model`).
pub(crate) fn tensor_shapes(
    graph: &crate::graph::OnnxGraph,
    spec: &crate::ModelSpec,
) -> Result<Vec<(String, Vec<usize>)>> {
    shapes_at(graph, &spec.preprocess.batch_shape(1))
}

/// The graph with its input at `dims`, every shape inferred.
fn typed(graph: &crate::graph::OnnxGraph, dims: &[usize]) -> Result<TypedModel> {
    tract_onnx::onnx()
        .model_for_proto_model(&graph.proto)
        .and_then(|m| m.with_input_fact(0, f32::fact(dims).into()))
        .and_then(|m| m.into_typed())
        .map_err(|e| err(&graph.path, e))
}

/// Multiply-adds of one pass of the graph with its input at `dims`, as tract's cost
/// model counts them: convolutions and matrix products, and its per-element work
/// (normalisations, activations, additions).
pub(crate) fn multiply_adds(graph: &crate::graph::OnnxGraph, dims: &[usize]) -> Result<u64> {
    let model = typed(graph, dims)?;
    let mut total = 0u64;
    for node in model.nodes() {
        let inputs = model
            .node_input_facts(node.id)
            .map_err(|e| err(&graph.path, e))?;
        for (cost, n) in node.op.cost(&inputs).map_err(|e| err(&graph.path, e))? {
            if matches!(cost, tract_onnx::tract_core::ops::Cost::FMA(_)) {
                let n = n.to_i64().map_err(|e| err(&graph.path, e))?;
                total += u64::try_from(n).unwrap_or(0);
            }
        }
    }
    Ok(total)
}

/// Shapes of every named tensor, in graph order, with the input at `dims` (empty where
/// tract cannot make a shape concrete).
pub(crate) fn shapes_at(
    graph: &crate::graph::OnnxGraph,
    dims: &[usize],
) -> Result<Vec<(String, Vec<usize>)>> {
    let model = typed(graph, dims)?;
    let mut out = Vec::new();
    for node in model.nodes() {
        for (ix, o) in node.outputs.iter().enumerate() {
            let label = model
                .outlet_label(OutletId::new(node.id, ix))
                .map(str::to_string)
                .unwrap_or_else(|| node.name.clone());
            let shape = o
                .fact
                .shape
                .as_concrete()
                .map(|s| s.to_vec())
                .unwrap_or_default();
            out.push((label, shape));
        }
    }
    Ok(out)
}
