//! What a map run is asked to compute: method, Score-CAM weighting, channel selection,
//! batch size. Parsed from the command line, recorded in `meta.json`, compared on resume.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The activation map methods (ALGORITHMS 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Score-CAM for embeddings: one masked pass per channel (1.1, the paper's method).
    ScoreCam,
    /// Ablation-CAM: one head pass per zeroed channel (1.3).
    Ablation,
    /// First principal direction of the activations, no masked passes (1.2).
    EigenCam,
    /// Mean activation over channels (1.2).
    Activation,
}

impl Method {
    /// All methods, in the order they are documented.
    pub const ALL: [Method; 4] = [
        Method::ScoreCam,
        Method::Ablation,
        Method::EigenCam,
        Method::Activation,
    ];

    /// True when the method runs the network after the target layer on its own.
    pub fn needs_head(self) -> bool {
        self == Method::Ablation
    }
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "scorecam" | "score-cam" => Ok(Method::ScoreCam),
            "ablation" | "ablationcam" | "ablation-cam" => Ok(Method::Ablation),
            "eigencam" | "eigen-cam" => Ok(Method::EigenCam),
            "activation" => Ok(Method::Activation),
            _ => Err(Error::BadParameter {
                what: "method",
                value: s.into(),
                expected: "scorecam, ablation, eigencam or activation",
            }),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::ScoreCam => "scorecam",
            Method::Ablation => "ablation",
            Method::EigenCam => "eigencam",
            Method::Activation => "activation",
        })
    }
}

/// How Score-CAM turns the similarity of a masked image into a channel weight (1.1 step 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Score {
    /// `s_k - cos(f(0), e0)`: a channel that shows nothing scores about 0 (default).
    Baseline,
    /// `s_k`.
    Raw,
    /// Softmax over channels of `s_k / T` (pytorch-grad-cam's weighting).
    Softmax,
}

impl FromStr for Score {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "baseline" => Ok(Score::Baseline),
            "raw" => Ok(Score::Raw),
            "softmax" => Ok(Score::Softmax),
            _ => Err(Error::BadParameter {
                what: "score",
                value: s.into(),
                expected: "baseline, raw or softmax",
            }),
        }
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Score::Baseline => "baseline",
            Score::Raw => "raw",
            Score::Softmax => "softmax",
        })
    }
}

/// Which channels Score-CAM runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    /// Every channel (except constant ones, which cannot matter).
    All,
    /// The N channels whose activations have the highest variance (Faster Score-CAM).
    Top(usize),
    /// The top [`Channels::fast_count`] channels by variance: at most a quarter of the
    /// model passes of `All` (1 + N <= (1 + C) / 4 for the C channels that are not
    /// constant on the image).
    Fast,
}

impl Channels {
    /// Channels `fast` keeps of `k` usable (non-constant) channels: the largest N >= 1
    /// with 1 + N <= (1 + k) / 4 (127 of 512; 31 of 128).
    pub fn fast_count(k: usize) -> usize {
        ((k + 1) / 4).saturating_sub(1).max(1)
    }
}

impl FromStr for Channels {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        let bad = || Error::BadParameter {
            what: "channels",
            value: s.into(),
            expected: "all, fast or top:N with N >= 1",
        };
        match t.as_str() {
            "all" => return Ok(Channels::All),
            "fast" => return Ok(Channels::Fast),
            _ => {}
        }
        match t.strip_prefix("top:").map(|n| n.trim().parse::<usize>()) {
            Some(Ok(n)) if n >= 1 => Ok(Channels::Top(n)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Channels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channels::All => f.write_str("all"),
            Channels::Top(n) => write!(f, "top:{n}"),
            Channels::Fast => f.write_str("fast"),
        }
    }
}

impl Serialize for Channels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Channels {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Everything that decides the values of a map, besides the model and the image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapParams {
    pub method: Method,
    /// Score-CAM weighting.
    pub score: Score,
    /// Softmax temperature T (`--score softmax`).
    pub temperature: f64,
    /// Score-CAM channel selection.
    pub channels: Channels,
    /// Items per model call for the method's extra passes (masked images for Score-CAM,
    /// ablated activations for Ablation-CAM). The unmasked pass always runs one image per
    /// call so that a map never depends on which other images shared its batch.
    pub batch: usize,
}

impl MapParams {
    /// The paper's method: Score-CAM, baseline-corrected scores, all channels.
    pub fn new(method: Method) -> Self {
        MapParams {
            method,
            score: Score::Baseline,
            temperature: 1.0,
            channels: Channels::All,
            batch: 0,
        }
    }

    /// The batch size that suits `model` best for this method when none is given:
    /// Score-CAM's masked images as the model runs many passes side by side
    /// ([`amva_model::FrModel::parallel_pass_batch`]); the Ablation-CAM head is tiny, so
    /// larger batches amortise call overhead.
    pub fn default_batch(method: Method, model: &amva_model::FrModel) -> usize {
        match method {
            Method::ScoreCam => model.parallel_pass_batch(),
            Method::Ablation => 64,
            _ => 1,
        }
    }

    /// Checks the values: a positive finite temperature, a batch of at least one.
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(Error::BadParameter {
                what: "temperature",
                value: self.temperature.to_string(),
                expected: "a positive number",
            });
        }
        if self.batch == 0 {
            return Err(Error::BadParameter {
                what: "batch",
                value: "0".into(),
                expected: "at least 1",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_round_trip_through_text() {
        for m in Method::ALL {
            assert_eq!(m.to_string().parse::<Method>().unwrap(), m);
        }
        for s in [Score::Baseline, Score::Raw, Score::Softmax] {
            assert_eq!(s.to_string().parse::<Score>().unwrap(), s);
        }
        for c in [Channels::All, Channels::Top(7), Channels::Fast] {
            assert_eq!(c.to_string().parse::<Channels>().unwrap(), c);
        }
        assert!("top:0".parse::<Channels>().is_err());
        assert_eq!("FAST".parse::<Channels>().unwrap(), Channels::Fast);
        assert!("top:x".parse::<Channels>().is_err());
        assert!("gradcam".parse::<Method>().is_err());
        let p = MapParams {
            batch: 4,
            channels: Channels::Top(9),
            ..MapParams::new(Method::ScoreCam)
        };
        let j = serde_json::to_string(&p).unwrap();
        assert!(j.contains("\"top:9\""), "{j}");
        assert_eq!(serde_json::from_str::<MapParams>(&j).unwrap(), p);
    }

    /// fast keeps the most channels whose passes (plus the unmasked one) are at most a
    /// quarter of all channels' passes: checked against a search over every N.
    #[test]
    fn fast_count_is_the_largest_n_with_a_quarter_of_the_passes() {
        for k in 1..=2048usize {
            let naive = (1..=k).filter(|&n| 4 * (1 + n) <= 1 + k).max().unwrap_or(1);
            assert_eq!(Channels::fast_count(k), naive, "k = {k}");
        }
        assert_eq!(Channels::fast_count(512), 127);
        assert_eq!(Channels::fast_count(128), 31);
    }
}
