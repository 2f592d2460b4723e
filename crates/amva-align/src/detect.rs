//! The face detector's arithmetic, without the model: anchor ("prior") boxes, box
//! decoding, score filtering, non-maximum suppression and the square face box
//! (ALGORITHMS 8.1).
//!
//! The detector (`fr_detect.onnx`, an Ultra-Light-Fast-Generic-Face-Detector "RFB-320")
//! sees the whole image resized to 320 x 240 and scores 4,420 anchors: on feature maps
//! with strides 8, 16, 32, 64 (40x30, 20x15, 10x8, 5x4 cells), each cell has anchors of
//! side 10/16/24, 32/48, 64/96 or 128/192/256 px. The ONNX graph already applies the
//! softmax and the box decoding (its constants are exactly [`priors`] for
//! [`PriorConfig::RFB_320`]); its `boxes` output is `[x1, y1, x2, y2]` as fractions of the
//! input. That is why the faceplugin JS scales the raw `boxes` output and never uses
//! the decode it computes. [`decode`] is kept for the raw regression (tensor `462`), and
//! the tests check that both routes agree.
//!
//! The anchors are those of Ultra-Light's `generate_priors`, read back from the graph's
//! constants: on a feature map of `fw x fh` cells (`ceil(320 / step) x ceil(240 / step)`)
//! the centres are `((i + 0.5) / fw, (j + 0.5) / fh)` - not `(i + 0.5) · step / 320`,
//! which differs where 240 is not a multiple of the step (strides 32 and 64) - and every
//! coordinate is clamped to `[0, 1]` (the 256 px anchors are 1.0 high, not 1.07). Order
//! follows the network's outputs (NHWC flattening): per stride, rows outer, columns
//! inner, anchor sizes innermost. The JS `definePriorBox` differs in all three respects
//! (steps, `clip: false`, rows and columns swapped), harmlessly, as its result is unused.

/// Anchor layout of an SSD-style detector.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorConfig {
    /// Network input width and height in pixels.
    pub width: u32,
    pub height: u32,
    /// Anchor sides (pixels) per feature map.
    pub min_sizes: &'static [&'static [f32]],
    /// Stride of each feature map in pixels.
    pub steps: &'static [u32],
    /// Variances of the centre and size regression.
    pub variances: [f32; 2],
    /// Clamp anchor coordinates to `[0, 1]`.
    pub clip: bool,
}

impl PriorConfig {
    /// `fr_detect.onnx`: 320 x 240 input, 4,420 anchors (the JS's `onnx_config`).
    pub const RFB_320: PriorConfig = PriorConfig {
        width: 320,
        height: 240,
        min_sizes: &[
            &[10.0, 16.0, 24.0],
            &[32.0, 48.0],
            &[64.0, 96.0],
            &[128.0, 192.0, 256.0],
        ],
        steps: &[8, 16, 32, 64],
        variances: [0.1, 0.2],
        clip: true,
    };

    /// Number of anchors.
    pub fn len(&self) -> usize {
        self.steps
            .iter()
            .zip(self.min_sizes)
            .map(|(&s, m)| (self.width.div_ceil(s) * self.height.div_ceil(s)) as usize * m.len())
            .sum()
    }

    /// Whether the layout has no anchors.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Anchor boxes `[cx, cy, w, h]` as fractions of the input size, in output order.
pub fn priors(cfg: &PriorConfig) -> Vec<[f32; 4]> {
    let (w, h) = (cfg.width as f32, cfg.height as f32);
    let mut out = Vec::with_capacity(cfg.len());
    for (&step, sizes) in cfg.steps.iter().zip(cfg.min_sizes) {
        let (cols, rows) = (cfg.width.div_ceil(step), cfg.height.div_ceil(step));
        for r in 0..rows {
            for c in 0..cols {
                let cx = (c as f32 + 0.5) / cols as f32;
                let cy = (r as f32 + 0.5) / rows as f32;
                for &m in sizes.iter() {
                    let p = [cx, cy, m / w, m / h];
                    out.push(if cfg.clip {
                        p.map(|v| v.clamp(0.0, 1.0))
                    } else {
                        p
                    });
                }
            }
        }
    }
    out
}

/// Decodes SSD regressions `loc` (`n x 4`: dcx, dcy, dw, dh) against `priors` into
/// corner boxes `[x1, y1, x2, y2]` (fractions of the input):
/// centre = prior centre + d · variance₀ · prior size, size = prior size · exp(d · variance₁).
pub fn decode(loc: &[f32], priors: &[[f32; 4]], variances: [f32; 2]) -> Vec<[f32; 4]> {
    loc.chunks_exact(4)
        .zip(priors)
        .map(|(l, p)| {
            let cx = p[0] + l[0] * variances[0] * p[2];
            let cy = p[1] + l[1] * variances[0] * p[3];
            let w = p[2] * (l[2] * variances[1]).exp();
            let h = p[3] * (l[3] * variances[1]).exp();
            [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0]
        })
        .collect()
}

/// An axis-aligned box in pixels (`x2 > x1`, `y2 > y1` for a non-empty box).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxF {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BoxF {
    pub fn width(&self) -> f32 {
        self.x2 - self.x1
    }
    pub fn height(&self) -> f32 {
        self.y2 - self.y1
    }
    /// Area; 0 for an empty or inverted box.
    pub fn area(&self) -> f32 {
        self.width().max(0.0) * self.height().max(0.0)
    }
    /// Intersection over union; 0 when both are empty.
    pub fn iou(&self, o: &BoxF) -> f32 {
        let iw = (self.x2.min(o.x2) - self.x1.max(o.x1)).max(0.0);
        let ih = (self.y2.min(o.y2) - self.y1.max(o.y1)).max(0.0);
        let inter = iw * ih;
        let union = self.area() + o.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }
}

/// One detected face: its box in image pixels and the detector's face probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub bbox: BoxF,
    pub score: f32,
}

/// Detections with face probability `>= threshold`, best first, at most `top_k`, with
/// boxes scaled from input fractions to an image of `img_w` x `img_h` pixels.
/// `scores` is `n x 2` (background, face), `boxes` is `n x 4` corner boxes.
pub fn candidates(
    scores: &[f32],
    boxes: &[f32],
    threshold: f32,
    top_k: usize,
    img_w: u32,
    img_h: u32,
) -> Vec<Detection> {
    let (w, h) = (img_w as f32, img_h as f32);
    let mut out: Vec<Detection> = scores
        .chunks_exact(2)
        .zip(boxes.chunks_exact(4))
        .filter(|(s, _)| s[1] >= threshold)
        .map(|(s, b)| Detection {
            bbox: BoxF {
                x1: b[0] * w,
                y1: b[1] * h,
                x2: b[2] * w,
                y2: b[3] * h,
            },
            score: s[1],
        })
        .collect();
    // Stable sort: equal scores keep anchor order, so results are deterministic.
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out.truncate(top_k);
    out
}

/// Greedy non-maximum suppression: going from the best score down, keep a box unless
/// it overlaps an already kept box with IoU `> iou_threshold`. Empty boxes are dropped.
/// Returns the kept detections, best first.
///
/// (The faceplugin JS orders by the bottom edge instead of the score and measures overlap
/// relative to one box only; that drops high-scoring faces behind lower ones, so amva
/// uses the standard rule with the JS's threshold, 0.4.)
pub fn nms(dets: &[Detection], iou_threshold: f32) -> Vec<Detection> {
    let mut order: Vec<&Detection> = dets.iter().filter(|d| d.bbox.area() > 0.0).collect();
    order.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in order {
        if kept.iter().all(|k| k.bbox.iou(&d.bbox) <= iou_threshold) {
            kept.push(*d);
        }
    }
    kept
}

/// The square face box the landmark model is fed (the JS's `scaleResult`): side = the
/// box's height, same centre, clipped to `[0, w-1] x [0, h-1]`.
pub fn square_box(b: &BoxF, img_w: u32, img_h: u32) -> BoxF {
    let side = b.height();
    let (cx, cy) = ((b.x1 + b.x2) / 2.0, (b.y1 + b.y2) / 2.0);
    let (maxx, maxy) = (img_w as f32 - 1.0, img_h as f32 - 1.0);
    BoxF {
        x1: (cx - side / 2.0).max(0.0),
        y1: (cy - side / 2.0).max(0.0),
        x2: (cx + side / 2.0).min(maxx),
        y2: (cy + side / 2.0).min(maxy),
    }
}
