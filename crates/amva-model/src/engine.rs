//! One inference trait, two engines. `Net` is a model cut to the tensors a job needs;
//! callers hand it a batch and get the named outputs back, whatever engine runs.

use crate::backend::Backend;
pub use crate::backend::{EngineKind, Output};
use crate::calibrate::EngineChoice;
use crate::runtime::backend;
pub use crate::runtime::{ort_available, ort_version};
use crate::{Error, Result};
use std::path::Path;
use tract_onnx::pb::ModelProto;

/// A model ready to run: one input (batch first), named outputs.
pub struct Net {
    backend: Box<dyn Backend>,
    choice: EngineChoice,
    item_shape: Vec<usize>,
    outputs: Vec<String>,
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net")
            .field("engine", &self.choice.config)
            .field("item_shape", &self.item_shape)
            .field("outputs", &self.outputs)
            .finish()
    }
}

impl Net {
    /// Builds a net for an edited model (see [`crate::graph::OnnxGraph::cut`]); `auto`
    /// picks the configuration by calibration.
    pub(crate) fn new(
        proto: &ModelProto,
        path: &Path,
        sha256: &str,
        item_shape: Vec<usize>,
        outputs: Vec<String>,
        engine: EngineKind,
    ) -> Result<Net> {
        // Both engines run constant-slope PRelus as Relu/Mul/Add (exact): ONNX Runtime's
        // PRelu kernel is slow and keeps its convolutions out of the NCHWc layout (1.7x),
        // and tract gains 1.6x at batch 1. See graph::rewrite_prelu.
        let mut proto = proto.clone();
        crate::graph::rewrite_prelu(&mut proto);
        let spec = crate::calibrate::NetSpec {
            proto: &proto,
            path,
            sha256,
            item_shape: &item_shape,
            outputs: &outputs,
        };
        let choice = crate::calibrate::choose(engine, &spec)?;
        Self::build(proto, path, item_shape, outputs, choice)
    }

    /// Builds a net with a configuration already chosen (nets cut from one model share
    /// the model's choice).
    pub(crate) fn with_choice(
        proto: &ModelProto,
        path: &Path,
        item_shape: Vec<usize>,
        outputs: Vec<String>,
        choice: EngineChoice,
    ) -> Result<Net> {
        let mut proto = proto.clone();
        crate::graph::rewrite_prelu(&mut proto);
        Self::build(proto, path, item_shape, outputs, choice)
    }

    fn build(
        proto: ModelProto,
        path: &Path,
        item_shape: Vec<usize>,
        outputs: Vec<String>,
        choice: EngineChoice,
    ) -> Result<Net> {
        let backend = backend(&proto, path, &item_shape, &choice.config)?;
        Ok(Net {
            backend,
            choice,
            item_shape,
            outputs,
        })
    }

    /// The engine that runs this net.
    pub fn engine(&self) -> EngineKind {
        self.choice.config.engine
    }

    /// The configuration that runs this net and why it was chosen.
    pub fn choice(&self) -> &EngineChoice {
        &self.choice
    }

    /// Shape of one input item (without the batch dimension).
    pub fn item_shape(&self) -> &[usize] {
        &self.item_shape
    }

    /// Names of the outputs, in the order `run` returns them.
    pub fn output_names(&self) -> &[String] {
        &self.outputs
    }

    /// Runs `n` items laid out one after the other in `input`.
    pub fn run(&self, input: &[f32], n: usize) -> Result<Vec<Output>> {
        let per: usize = self.item_shape.iter().product();
        if input.len() != per * n {
            return Err(Error::InputShape {
                got: input.len(),
                expected: per * n,
                what: format!("{n} items of shape {:?}", self.item_shape),
            });
        }
        let mut shape = vec![n];
        shape.extend_from_slice(&self.item_shape);
        self.backend.run(input, &shape)
    }
}

impl Net {
    /// Any ONNX model with one fixed-size image input (detector, landmarks, pose, a
    /// user's quality model): `outputs` by tensor name, or all graph outputs when empty.
    /// The batch dimension is made symbolic, so batches of any size run.
    pub fn open(path: &Path, outputs: &[&str], engine: EngineKind) -> Result<Net> {
        let graph = crate::graph::OnnxGraph::load(path)?;
        let (_, dims) = graph.data_input()?;
        let item_shape: Vec<usize> = dims
            .iter()
            .skip(1)
            .map(|d| d.map(|v| v as usize))
            .collect::<Option<_>>()
            .ok_or_else(|| Error::Load {
                path: path.into(),
                reason: format!(
                    "the input shape {dims:?} is not fixed; amva needs a fixed input size"
                ),
            })?;
        let names: Vec<String> = if outputs.is_empty() {
            graph
                .proto
                .graph
                .as_ref()
                .map(|g| g.output.iter().map(|o| o.name.clone()).collect())
                .unwrap_or_default()
        } else {
            outputs.iter().map(|s| s.to_string()).collect()
        };
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let proto = graph.cut(None, &refs)?;
        Net::new(&proto, path, &graph.sha256, item_shape, names, engine)
    }
}
