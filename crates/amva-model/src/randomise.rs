//! Cascading model randomisation (ALGORITHMS 1.7; Adebayo et al., NeurIPS 2018): the
//! weights of the model replaced by random values, the head after the target layer
//! first, then the layers before it, from the top down to the input.
//!
//! [`Cascade::plan`] splits the weighted nodes into steps; [`Cascade::randomised`]
//! returns a copy of the graph whose weights up to a step are random (every other byte
//! of the model unchanged). Each weight tensor is replaced by Gaussian values with mean
//! 0 and the tensor's own standard deviation, from ChaCha8 seeded with the seed XOR the
//! FNV-1a hash of the tensor's name, so a tensor gets the same values at every step.

use crate::graph::{f32_tensor, tensor_f32, OnnxGraph};
use crate::{Error, Result};
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};

/// One step of the cascade: the nodes whose weights it randomises (besides those of the
/// steps before it).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Step {
    /// 1 = the head after the target layer; 2.. = shares of the layers before it.
    pub step: usize,
    /// Names (or, for unnamed nodes, first outputs) of the nodes randomised at this step.
    pub nodes: Vec<String>,
    /// Their weight tensors.
    pub tensors: Vec<String>,
    /// Weight values randomised at this step.
    pub weights: usize,
}

/// The steps of a cascading randomisation of one model at one target layer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cascade {
    pub steps: Vec<Step>,
    /// Weight values of the nodes that lead to the embedding (every step together).
    pub total_weights: usize,
}

/// A node's weights: float initializers that are parameters, not shapes or constants.
/// Convolutions, matrix products, PReLU slopes, normalisation scale and shift, and
/// per-channel affine operations (Add, Sub, Mul, Div by a tensor of 2 or more values).
/// A batch norm's running mean and variance are statistics, not weights: never touched.
fn weight_inputs(node: &tract_onnx::pb::NodeProto) -> Vec<usize> {
    let all = |from: usize| (from..node.input.len()).collect::<Vec<_>>();
    match node.op_type.as_str() {
        "Conv" | "ConvTranspose" | "Gemm" | "MatMul" | "PRelu" => all(1),
        "BatchNormalization" | "InstanceNormalization" | "LayerNormalization" => vec![1, 2],
        "Add" | "Sub" | "Mul" | "Div" => all(0),
        _ => Vec::new(),
    }
}

/// Which elementwise ops count only with tensors of 2 or more values (a scalar there is
/// a constant of the architecture, e.g. 0.5 or an epsilon).
fn needs_many(op: &str) -> bool {
    matches!(op, "Add" | "Sub" | "Mul" | "Div")
}

impl Cascade {
    /// The cascade of `graph` at tensor `target` towards tensor `embedding`: step 1 =
    /// the weighted nodes after the target (on the way to the embedding), then the
    /// weighted nodes before it in reverse topological order, in `shares` steps of about
    /// equal weight count (a node is never split). Errors when the head has no weights.
    pub fn plan(graph: &OnnxGraph, target: &str, embedding: &str, shares: usize) -> Result<Self> {
        let g = graph.proto.graph.as_ref().expect("checked on load");
        let sizes: HashMap<&str, usize> = g
            .initializer
            .iter()
            .filter(|t| t.data_type == tract_onnx::pb::tensor_proto::DataType::Float as i32)
            .map(|t| {
                (
                    t.name.as_str(),
                    t.dims.iter().product::<i64>().max(0) as usize,
                )
            })
            .collect();
        let needed = ancestors(g, embedding);
        let after = descendants(g, target);
        let mut seen: HashSet<&str> = HashSet::new();
        let mut head = Vec::new();
        let mut body = Vec::new();
        // ONNX stores nodes in topological order; the body is walked backwards.
        for (i, node) in g.node.iter().enumerate().rev() {
            if !needed.contains(&i) {
                continue;
            }
            let tensors: Vec<&str> = weight_inputs(node)
                .into_iter()
                .filter_map(|k| node.input.get(k).map(String::as_str))
                .filter(|t| {
                    sizes
                        .get(t)
                        .is_some_and(|&n| n >= 2 || !needs_many(&node.op_type))
                })
                .filter(|t| seen.insert(*t))
                .collect();
            if tensors.is_empty() {
                continue;
            }
            let weights: usize = tensors.iter().map(|t| sizes[t]).sum();
            let item = (node_name(node), tensors, weights);
            if after.contains(&i) {
                head.push(item);
            } else {
                body.push(item);
            }
        }
        if head.is_empty() {
            return Err(Error::Load {
                path: graph.path.clone(),
                reason: format!("no weighted node between '{target}' and '{embedding}': the head has nothing to randomise"),
            });
        }
        head.reverse();
        let mut steps = vec![step_of(1, head)];
        steps.extend(split_equal(body, shares.max(1)));
        let total_weights = steps.iter().map(|s| s.weights).sum();
        Ok(Cascade {
            steps,
            total_weights,
        })
    }

    /// Weight tensors randomised at steps 1..=`step`.
    pub fn tensors_up_to(&self, step: usize) -> HashSet<&str> {
        self.steps
            .iter()
            .filter(|s| s.step <= step)
            .flat_map(|s| s.tensors.iter().map(String::as_str))
            .collect()
    }

    /// A copy of `graph` with the weights of steps 1..=`step` replaced by random values
    /// (the module's rule). Its sha256 names the randomisation, not a file.
    pub fn randomised(&self, graph: &OnnxGraph, step: usize, seed: u64) -> Result<OnnxGraph> {
        let chosen = self.tensors_up_to(step);
        let mut out = graph.clone();
        let g = out.proto.graph.as_mut().expect("checked on load");
        for t in g
            .initializer
            .iter_mut()
            .filter(|t| chosen.contains(t.name.as_str()))
        {
            let values = tensor_f32(t).ok_or_else(|| Error::Load {
                path: graph.path.clone(),
                reason: format!(
                    "weight tensor '{}' has no float32 values to randomise",
                    t.name
                ),
            })?;
            *t = f32_tensor(t.name.clone(), &t.dims, random_like(&values, seed, &t.name));
        }
        out.sha256 = format!("{}+randomised-step{step}-seed{seed}", graph.sha256);
        Ok(out)
    }
}

/// Gaussian values with mean 0 and the population standard deviation of `values`.
pub fn random_like(values: &[f32], seed: u64, name: &str) -> Vec<f32> {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    let sd = var.sqrt();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ fnv1a(name));
    (0..values.len())
        .map(|_| (gaussian(&mut rng) * sd) as f32)
        .collect()
}

/// A standard normal value (Box-Muller).
fn gaussian(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// FNV-1a, 64 bit.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

type Item<'a> = (String, Vec<&'a str>, usize);

fn step_of(step: usize, items: Vec<Item<'_>>) -> Step {
    Step {
        step,
        weights: items.iter().map(|i| i.2).sum(),
        tensors: items
            .iter()
            .flat_map(|i| i.1.iter().map(|t| t.to_string()))
            .collect(),
        nodes: items.into_iter().map(|i| i.0).collect(),
    }
}

/// Splits `items` (in order) into `shares` consecutive steps 2.., share j ending where
/// the running weight count first reaches j/shares of the total; empty shares dropped.
fn split_equal(items: Vec<Item<'_>>, shares: usize) -> Vec<Step> {
    let total: usize = items.iter().map(|i| i.2).sum();
    let mut out: Vec<Vec<Item<'_>>> = vec![Vec::new(); shares];
    let mut running = 0usize;
    for item in items {
        // The share whose end the running count has not yet reached.
        let j = ((running * shares) / total.max(1)).min(shares - 1);
        running += item.2;
        out[j].push(item);
    }
    out.into_iter()
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(j, s)| step_of(j + 2, s))
        .collect()
}

fn node_name(n: &tract_onnx::pb::NodeProto) -> String {
    if n.name.is_empty() {
        n.output.first().cloned().unwrap_or_default()
    } else {
        n.name.clone()
    }
}

/// Indices of the nodes that `tensor` depends on.
fn ancestors(g: &tract_onnx::pb::GraphProto, tensor: &str) -> HashSet<usize> {
    let producers = crate::graph::producers(g);
    let mut out = HashSet::new();
    let mut stack = vec![tensor];
    while let Some(t) = stack.pop() {
        if let Some(&i) = producers.get(t) {
            if out.insert(i) {
                stack.extend(g.node[i].input.iter().map(String::as_str));
            }
        }
    }
    out
}

/// Indices of the nodes that depend on `tensor`.
fn descendants(g: &tract_onnx::pb::GraphProto, tensor: &str) -> HashSet<usize> {
    let mut reached: HashSet<&str> = HashSet::from([tensor]);
    let mut out = HashSet::new();
    for (i, n) in g.node.iter().enumerate() {
        if n.input.iter().any(|t| reached.contains(t.as_str())) {
            out.insert(i);
            reached.extend(n.output.iter().map(String::as_str));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, w: usize) -> Item<'static> {
        (name.to_string(), vec![], w)
    }

    #[test]
    fn shares_hold_about_equal_weight_counts() {
        let items = vec![item("a", 10), item("b", 10), item("c", 30), item("d", 50)];
        let steps = split_equal(items, 2);
        // Half of 100 is reached after c (50): d alone makes the second share.
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].nodes, ["a", "b", "c"]);
        assert_eq!(steps[1].nodes, ["d"]);
        assert_eq!((steps[0].step, steps[1].step), (2, 3));
        assert_eq!(steps[0].weights + steps[1].weights, 100);
    }

    #[test]
    fn random_values_have_the_tensors_spread_and_depend_on_the_name() {
        let v: Vec<f32> = (0..4000).map(|i| ((i % 7) as f32 - 3.0) * 0.5).collect();
        let sd = |x: &[f32]| {
            let m = x.iter().map(|&a| a as f64).sum::<f64>() / x.len() as f64;
            (x.iter().map(|&a| (a as f64 - m).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
        };
        let r = random_like(&v, 7, "w");
        assert!(
            (sd(&r) / sd(&v) - 1.0).abs() < 0.05,
            "{} {}",
            sd(&r),
            sd(&v)
        );
        assert_eq!(r, random_like(&v, 7, "w"));
        assert_ne!(r, random_like(&v, 7, "w2"));
        assert_ne!(r, random_like(&v, 8, "w"));
    }
}
