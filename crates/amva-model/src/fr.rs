//! The face recognition model as amva uses it: one pass gives the embedding and the
//! activations of the CAM target layer; the "head" after the target layer can be run
//! on its own (Ablation-CAM); any tensor can be the input of a cut (SER-FIQ).

use crate::calibrate::Calibration;
use crate::engine::{EngineKind, Net};
use crate::graph::OnnxGraph;
use crate::preprocess::ModelSpec;
use crate::{Error, Result};
use rayon::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// Embeddings and target-layer activations of a batch.
#[derive(Debug, Clone)]
pub struct Forward {
    /// n x D raw (not normalised) embeddings.
    pub embeddings: Vec<f32>,
    /// n x K x h x w activations of the target layer.
    pub activations: Vec<f32>,
}

/// A loaded FR model with its preprocessing.
pub struct FrModel {
    pub spec: ModelSpec,
    pub graph: OnnxGraph,
    full: Net,
    embedding_source: String,
    /// K, h, w of the target layer.
    pub target_shape: [usize; 3],
    /// Embedding length D.
    pub embedding_dim: usize,
    head: OnceLock<std::result::Result<Net, String>>,
}

impl std::fmt::Debug for FrModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrModel")
            .field("graph", &self.graph)
            .field("engine", &self.full.engine())
            .finish()
    }
}

impl FrModel {
    /// The default model (`fr_feature.onnx`) from `$AMVA_MODELS`, the cache, or the registry.
    pub fn load_default(engine: EngineKind) -> Result<Self> {
        let path = amva_io::models::ModelSource::from_env()?.model(amva_io::models::FR_FEATURE)?;
        Self::load(&path, ModelSpec::default_model(), engine)
    }

    /// Loads `path` with `spec`; checks that the embedding and target tensors exist and
    /// that the target is spatial (K x h x w).
    pub fn load(path: &Path, spec: ModelSpec, engine: EngineKind) -> Result<Self> {
        let graph = OnnxGraph::load(path)?;
        let (input, dims) = graph.data_input()?;
        spec.preprocess
            .check_input(&dims)
            .map_err(|reason| Error::Load {
                path: path.into(),
                reason: format!("input '{input}': {reason}"),
            })?;
        let with_shapes = |e: Error| match e {
            Error::UnknownTensor { path, name, .. } => {
                let shapes = crate::tract_engine::tensor_shapes(&graph, &spec).unwrap_or_default();
                // Only activations are candidates: tract lists the weights as nodes too.
                let activations: std::collections::HashSet<String> =
                    graph.tensor_names().into_iter().collect();
                let names: Vec<String> = shapes
                    .iter()
                    .map(|(n, _)| n.clone())
                    .filter(|n| activations.contains(n))
                    .collect();
                let candidates = crate::graph::nearest(&name, &names, 10)
                    .into_iter()
                    .map(|n| {
                        let s = shapes
                            .iter()
                            .find(|(m, _)| *m == n)
                            .map(|(_, s)| s.clone())
                            .unwrap_or_default();
                        format!("{n} {s:?}")
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                Error::UnknownTensor {
                    path,
                    name,
                    candidates,
                }
            }
            e => e,
        };
        graph.check_tensor(&spec.target).map_err(with_shapes)?;
        let embedding_source = graph
            .embedding_source(&spec.embedding)
            .map_err(with_shapes)?;
        let _ = input;
        let (proto, item_shape, outputs) = full_net(&graph, &spec, &embedding_source)?;
        let full = Net::new(&proto, path, &graph.sha256, item_shape, outputs, engine)?;
        Self::assemble(graph, spec, full, embedding_source)
    }

    /// The same model with other weights (e.g. randomised, `crate::randomise`): `graph`
    /// must have the tensors of this model; it runs with this model's engine choice.
    pub fn with_graph(&self, graph: OnnxGraph) -> Result<Self> {
        let spec = self.spec.clone();
        let embedding_source = self.embedding_source.clone();
        let (proto, item_shape, outputs) = full_net(&graph, &spec, &embedding_source)?;
        let choice = self.full.choice().clone();
        let full = Net::with_choice(&proto, &graph.path, item_shape, outputs, choice)?;
        Self::assemble(graph, spec, full, embedding_source)
    }

    /// The tensor the embedding is read from (before a Reshape/Flatten that fixes batch 1).
    pub fn embedding_source(&self) -> &str {
        &self.embedding_source
    }

    /// A model from its full net: one probe pass on a grey image gives the shapes.
    fn assemble(
        graph: OnnxGraph,
        spec: ModelSpec,
        full: Net,
        embedding_source: String,
    ) -> Result<Self> {
        let path = graph.path.clone();
        let probe = full.run(&vec![0.0; spec.preprocess.len()], 1)?;
        let embedding_dim = probe[0].data.len();
        let t = &probe[1].shape;
        if t.len() != 4 || t[2] < 2 || t[3] < 2 {
            return Err(Error::BadTensor {
                path,
                name: spec.target.clone(),
                shape: t.clone(),
                expected: "the CAM target layer must be spatial: batch x K x h x w with h, w >= 2"
                    .into(),
            });
        }
        let target_shape = [t[1], t[2], t[3]];
        Ok(FrModel {
            spec,
            graph,
            full,
            embedding_source,
            target_shape,
            embedding_dim,
            head: OnceLock::new(),
        })
    }

    /// The engine that runs the model.
    pub fn engine(&self) -> EngineKind {
        self.full.engine()
    }

    /// The configuration that runs the model and why it was chosen.
    pub fn engine_choice(&self) -> &crate::EngineChoice {
        self.full.choice()
    }

    /// The batch size this engine runs fastest per image: the calibrated one under
    /// `--engine auto`, else tract 1 (fixed-size plans, one per core), ONNX Runtime 8.
    pub fn preferred_batch(&self) -> usize {
        self.full.choice().config.batch
    }

    /// The batch for many full passes run side by side on every core (Score-CAM's masked
    /// images): tract 1, its fixed-size plans one per core; ONNX Runtime 4 (ENGINES.md:
    /// Score-CAM measured 1.48 s/image at batch 4 against 1.58 at 1 and 1.81 at 8,
    /// `amva bench maps --scorecam-batch B`).
    pub fn parallel_pass_batch(&self) -> usize {
        match self.engine() {
            EngineKind::Ort => 4,
            _ => 1,
        }
    }

    /// Values in one preprocessed image.
    pub fn input_len(&self) -> usize {
        self.spec.preprocess.len()
    }

    /// Values in one target activation tensor (K*h*w).
    pub fn activation_len(&self) -> usize {
        self.target_shape.iter().product()
    }

    /// Embeddings and activations of `n` preprocessed images, in one pass.
    pub fn forward(&self, input: &[f32], n: usize) -> Result<Forward> {
        let mut outs = self.full.run(input, n)?;
        let activations = std::mem::take(&mut outs[1].data);
        let embeddings = std::mem::take(&mut outs[0].data);
        Ok(Forward {
            embeddings,
            activations,
        })
    }

    /// Embeddings of `n` images, running chunks of `batch` in parallel on all cores.
    pub fn embed_parallel(&self, input: &[f32], n: usize, batch: usize) -> Result<Vec<f32>> {
        let per = self.input_len();
        let chunks: Vec<Vec<f32>> = input
            .par_chunks(per * batch.max(1))
            .map(|c| self.forward(c, c.len() / per).map(|f| f.embeddings))
            .collect::<Result<_>>()?;
        let out: Vec<f32> = chunks.concat();
        debug_assert_eq!(out.len(), n * self.embedding_dim);
        Ok(out)
    }

    /// The network after the target layer: activations (n x K x h x w) -> embeddings.
    /// Built on first use; an error if the graph cannot be cut at the target.
    pub fn head(&self) -> Result<&Net> {
        self.head
            .get_or_init(|| {
                self.cut(&self.spec.target, self.target_shape.as_ref())
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| Error::Load {
                path: self.graph.path.clone(),
                reason: format!(
                    "cannot run the model from '{}' on: {e}; use scorecam, which needs no head",
                    self.spec.target
                ),
            })
    }

    /// A net from tensor `input` (per-item shape `item_shape`) to the embedding.
    pub fn cut(&self, input: &str, item_shape: &[usize]) -> Result<Net> {
        let proto = self
            .graph
            .cut(Some((input, item_shape)), &[&self.embedding_source])?;
        Net::with_choice(
            &proto,
            &self.graph.path,
            item_shape.to_vec(),
            vec![self.embedding_source.clone()],
            self.full.choice().clone(),
        )
    }

    /// A net from the image to any tensors of the graph (e.g. SER-FIQ's head input).
    pub fn tap(&self, outputs: &[&str]) -> Result<Net> {
        let proto = self.graph.cut(None, outputs)?;
        let item_shape = self.spec.preprocess.batch_shape(1)[1..].to_vec();
        Net::with_choice(
            &proto,
            &self.graph.path,
            item_shape,
            outputs.iter().map(|s| s.to_string()).collect(),
            self.full.choice().clone(),
        )
    }

    /// Multiply-adds of one pass of the whole model on one image (tract's cost model:
    /// convolutions, matrix products and per-element work). A map method's cost is its
    /// passes times this.
    pub fn multiply_adds_per_image(&self) -> Result<u64> {
        crate::tract_engine::multiply_adds(&self.graph, &self.spec.preprocess.batch_shape(1))
    }

    /// Shapes (batch 1) of every named tensor of the model.
    pub fn tensor_shapes(&self) -> Result<Vec<(String, Vec<usize>)>> {
        crate::tract_engine::tensor_shapes(&self.graph, &self.spec)
    }
}

/// The whole model cut to what one pass needs: image -> embedding and target activations.
fn full_net(
    graph: &OnnxGraph,
    spec: &ModelSpec,
    embedding_source: &str,
) -> Result<(tract_onnx::pb::ModelProto, Vec<usize>, Vec<String>)> {
    let proto = graph.cut(None, &[embedding_source, &spec.target])?;
    let item_shape = spec.preprocess.batch_shape(1)[1..].to_vec();
    Ok((
        proto,
        item_shape,
        vec![embedding_source.to_string(), spec.target.clone()],
    ))
}

/// Times every engine configuration on the model's full pass (again, if it was cached)
/// and caches the result: what `--engine auto` then uses (`amva engine calibrate`).
pub fn calibrate(path: &Path, spec: &ModelSpec) -> Result<Calibration> {
    with_full_net(path, spec, |net| crate::calibrate::calibration(net, true))
}

/// The cached calibration of the model's full pass on this machine, if any.
pub fn cached_calibration(path: &Path, spec: &ModelSpec) -> Result<Option<Calibration>> {
    with_full_net(path, spec, |net| {
        let key = crate::calibrate::key(net)?;
        Ok(crate::calibrate::cached()
            .into_iter()
            .find(|c| c.key == key))
    })
}

fn with_full_net<T>(
    path: &Path,
    spec: &ModelSpec,
    f: impl FnOnce(&crate::calibrate::NetSpec) -> Result<T>,
) -> Result<T> {
    let graph = OnnxGraph::load(path)?;
    let source = graph.embedding_source(&spec.embedding)?;
    let (mut proto, item_shape, outputs) = full_net(&graph, spec, &source)?;
    crate::graph::rewrite_prelu(&mut proto);
    f(&crate::calibrate::NetSpec {
        proto: &proto,
        path,
        sha256: &graph.sha256,
        item_shape: &item_shape,
        outputs: &outputs,
    })
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        ab += (*x as f64) * (*y as f64);
        aa += (*x as f64) * (*x as f64);
        bb += (*y as f64) * (*y as f64);
    }
    if aa == 0.0 || bb == 0.0 {
        return 0.0;
    }
    (ab / (aa.sqrt() * bb.sqrt())) as f32
}
