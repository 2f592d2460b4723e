//! The built-in FIQA methods by name: parsing `--fiqa magnitude,serfiq,...` and building
//! each method from what it needs (the FR model, the pose model, the BRISQUE model).
//! Downloads are the caller's: it hands in files that exist.

use std::path::PathBuf;
use std::sync::Arc;

use amva_model::{EngineKind, FrModel};

use crate::serfiq::{SerFiq, SerFiqOptions};
use crate::{QualityError, QualityMethod, Result};

/// A method named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodSpec {
    Magnitude,
    Serfiq,
    Brisque,
    Pose,
    /// `onnx:PATH`: a user's model with preprocessing in `PATH.toml`.
    Onnx(PathBuf),
}

/// The method names [`parse_methods`] knows, for messages.
pub const KNOWN_METHODS: &str = "magnitude, serfiq, brisque, pose, onnx:PATH";

impl std::str::FromStr for MethodSpec {
    type Err = QualityError;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        Ok(match t.to_ascii_lowercase().as_str() {
            "magnitude" => MethodSpec::Magnitude,
            "serfiq" | "ser-fiq" => MethodSpec::Serfiq,
            "brisque" => MethodSpec::Brisque,
            "pose" => MethodSpec::Pose,
            l if l.starts_with("onnx:") && t.len() > 5 => MethodSpec::Onnx(PathBuf::from(&t[5..])),
            _ => {
                return Err(QualityError::UnknownMethod {
                    name: t.to_string(),
                    known: KNOWN_METHODS.into(),
                })
            }
        })
    }
}

/// The direction of amva's built-in methods by the name their scores carry (`amva
/// quality` and `--fiqa typicality`), for score files whose sidecar is missing.
pub fn known_direction(name: &str) -> Option<crate::Direction> {
    use crate::Direction::{Higher, Lower};
    match name {
        "magnitude" | "serfiq" | "pose" => Some(Higher),
        "brisque" | "typicality" => Some(Lower),
        _ => None,
    }
}

/// Parses a comma-separated method list (`magnitude,serfiq,onnx:q.onnx`); names each
/// unknown or repeated method.
pub fn parse_methods(list: &str) -> Result<Vec<MethodSpec>> {
    let mut out: Vec<MethodSpec> = Vec::new();
    for part in list.split(',').filter(|p| !p.trim().is_empty()) {
        let m: MethodSpec = part.parse()?;
        if out.contains(&m) {
            return Err(QualityError::Parameter {
                what: "--fiqa",
                value: list.to_string(),
                expected: "each method at most once",
            });
        }
        out.push(m);
    }
    if out.is_empty() {
        return Err(QualityError::UnknownMethod {
            name: list.to_string(),
            known: KNOWN_METHODS.into(),
        });
    }
    Ok(out)
}

impl MethodSpec {
    /// True when the method runs the FR model (magnitude, SER-FIQ).
    pub fn needs_fr(&self) -> bool {
        matches!(self, MethodSpec::Magnitude | MethodSpec::Serfiq)
    }
}

/// What building the methods needs: the loaded FR model (when a method needs it, see
/// [`MethodSpec::needs_fr`]), SER-FIQ's settings, the head-pose model file, the engine.
/// The BRISQUE model must be in the cache (`amva_fetch::brisque::ensure`).
pub struct Resources {
    /// The FR model, loaded once for every method that needs it.
    pub fr: Option<Arc<FrModel>>,
    /// SER-FIQ's head, passes, dropout and seed.
    pub serfiq: SerFiqOptions,
    /// The head-pose model (`pose`).
    pub pose_model: Option<PathBuf>,
    /// The engine for the pose and user models.
    pub engine: EngineKind,
}

/// The methods named by `specs`, ready to run, in order.
pub fn build_methods(specs: &[MethodSpec], res: &Resources) -> Result<Vec<Box<dyn QualityMethod>>> {
    let missing = |what: &str| QualityError::Model {
        what: what.into(),
        reason: "not given to build_methods".into(),
    };
    let fr = || res.fr.clone().ok_or_else(|| missing("the FR model"));
    let mut out: Vec<Box<dyn QualityMethod>> = Vec::new();
    for s in specs {
        out.push(match s {
            MethodSpec::Magnitude => Box::new(crate::magnitude::Magnitude::new(fr()?)),
            MethodSpec::Serfiq => Box::new(SerFiq::new(fr()?, res.serfiq.clone())?),
            MethodSpec::Brisque => Box::new(crate::brisque::Brisque::load_default()?),
            MethodSpec::Pose => {
                let path = res
                    .pose_model
                    .as_ref()
                    .ok_or_else(|| missing("the pose model"))?;
                Box::new(crate::pose::Pose::open(path, res.engine)?)
            }
            MethodSpec::Onnx(path) => Box::new(crate::onnx::OnnxQuality::open(path, res.engine)?),
        });
    }
    Ok(out)
}
