//! Figures of an analysis: each is kept as PNG bytes, embedded in the HTML report and
//! written under `figures/`, so the report shows exactly the files.

use std::path::Path;

use amva_draw::{encode_png, Corner, Heatmap, LinePlot, Outline, RgbImage, Series};
use amva_draw::{HeatStyled, Styled};

use amva_analysis::compare::to_f32;

use crate::{ReportError, Result};

/// One figure of a run: its file name, caption and PNG bytes.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Path relative to the output folder (`figures/...png`).
    pub file: String,
    /// Caption in the report.
    pub caption: String,
    /// The PNG bytes (as written).
    pub png: Vec<u8>,
}

impl Figure {
    /// Its entry in summary.json.
    pub fn entry(&self) -> amva_analysis::summary::FigureEntry {
        amva_analysis::summary::FigureEntry {
            file: self.file.clone(),
            caption: self.caption.clone(),
        }
    }
}

/// Collects the figures of a run as PNG bytes; [`Figures::write_all`] writes them once
/// everything is rendered, so that a failure leaves no half-written output.
#[derive(Debug, Default)]
pub struct Figures {
    list: Vec<Figure>,
}

impl Figures {
    /// No figures yet.
    pub fn new() -> Self {
        Figures::default()
    }

    /// Encodes `image` as `figures/<name>.png` and records it; returns its index.
    pub fn add(
        &mut self,
        name: &str,
        caption: impl Into<String>,
        image: &RgbImage,
    ) -> Result<usize> {
        let file = format!("figures/{name}.png");
        let png = encode_png(image).map_err(ReportError::draw(&file))?;
        self.list.push(Figure {
            file,
            caption: caption.into(),
            png,
        });
        Ok(self.list.len() - 1)
    }

    /// The figure at `index`.
    pub fn get(&self, index: usize) -> &Figure {
        &self.list[index]
    }

    /// All figures, in the order added.
    pub fn all(&self) -> &[Figure] {
        &self.list
    }

    /// Their entries in summary.json, in the order added.
    pub fn entries(&self) -> Vec<amva_analysis::summary::FigureEntry> {
        self.list.iter().map(Figure::entry).collect()
    }

    /// Writes every figure under `out` (each to a temporary name, then renamed).
    pub fn write_all(&self, out: &Path) -> Result<()> {
        let dir = out.join("figures");
        std::fs::create_dir_all(&dir).map_err(|e| ReportError::file(&dir, e))?;
        for f in &self.list {
            amva_io::atomic::write_atomic(&out.join(&f.file), &f.png)?;
        }
        Ok(())
    }
}

/// A heatmap with the JET colour map, pixel axes, the region outline and a colour
/// bar labelled with what its values mean.
pub fn heatmap(
    data: &[f64],
    (h, w): (usize, usize),
    title: &str,
    colorbar: &str,
    range: (f64, f64),
    outline: Option<&Outline>,
    note: Option<String>,
) -> Result<RgbImage> {
    let (lo, mut hi) = (range.0 as f32, range.1 as f32);
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        hi = lo + 1.0;
    }
    let mut hm = Heatmap::new(to_f32(data), h, w)
        .map_err(ReportError::draw(title))?
        .title(title)
        .colorbar_label(colorbar)
        .range(lo, hi);
    if let Some(o) = outline {
        hm = hm.outline(o.clone());
    }
    if let Some(n) = note {
        hm = hm.note(n);
    }
    hm.render().map_err(ReportError::draw(title))
}

/// A heatmap over an image (alpha blend), for maps shown on a representative face.
pub fn heatmap_over(
    data: &[f64],
    (h, w): (usize, usize),
    face: &RgbImage,
    title: &str,
    colorbar: &str,
    range: (f64, f64),
    note: Option<String>,
) -> Result<RgbImage> {
    let (lo, mut hi) = (range.0 as f32, range.1 as f32);
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        hi = lo + 1.0;
    }
    let mut hm = amva_draw::overlay_figure(face, &to_f32(data), h, w)
        .map_err(ReportError::draw(title))?
        .title(title)
        .colorbar_label(colorbar)
        .range(lo, hi);
    if let Some(n) = note {
        hm = hm.note(n);
    }
    hm.render().map_err(ReportError::draw(title))
}

/// One named curve of a [`Plot`].
#[derive(Debug, Clone)]
pub struct Curve {
    /// Legend text.
    pub name: String,
    /// (x, y) points in order.
    pub points: Vec<(f64, f64)>,
    /// A grey dashed reference line.
    pub dashed: bool,
}

impl Curve {
    /// A solid curve.
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Curve {
            name: name.into(),
            points,
            dashed: false,
        }
    }

    /// A grey dashed reference line.
    pub fn reference(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Curve {
            name: name.into(),
            points,
            dashed: true,
        }
    }
}

/// A line plot of named curves.
pub struct Plot<'a> {
    /// Title.
    pub title: &'a str,
    /// x-axis label with units.
    pub x_label: &'a str,
    /// y-axis label with units.
    pub y_label: &'a str,
    /// The curves.
    pub series: Vec<Curve>,
    /// Lines of the annotation box.
    pub annotations: Vec<String>,
    /// Steps instead of straight lines.
    pub steps: bool,
    /// A note under the plot.
    pub note: Option<String>,
    /// Legend position.
    pub legend: Corner,
    /// Annotation position.
    pub annotation_corner: Corner,
    /// Fixed x range (default: the data's, plus 5 % each side).
    pub x_range: Option<(f64, f64)>,
    /// Room above the highest point, as a fraction of the y span, so that the legend
    /// and annotations do not cover the curves (default 0.3).
    pub headroom: f64,
}

impl<'a> Plot<'a> {
    /// An empty plot.
    pub fn new(title: &'a str, x_label: &'a str, y_label: &'a str) -> Self {
        Plot {
            title,
            x_label,
            y_label,
            series: Vec::new(),
            annotations: Vec::new(),
            steps: false,
            note: None,
            legend: Corner::UpperRight,
            annotation_corner: Corner::UpperLeft,
            x_range: None,
            headroom: 0.3,
        }
    }

    /// Draws it.
    pub fn render(self) -> Result<RgbImage> {
        let mut p = LinePlot::new(self.title)
            .axis_labels(self.x_label, self.y_label)
            .legend_corner(self.legend)
            .annotation_corner(self.annotation_corner);
        let ys = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|q| q.1))
            .filter(|y| y.is_finite());
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
            (a.min(y), b.max(y))
        });
        if lo < hi {
            let span = hi - lo;
            p = p.y_range(lo - 0.05 * span, hi + self.headroom.max(0.05) * span);
        }
        if let Some((a, b)) = self.x_range {
            p = p.x_range(a, b);
        }
        for c in self.series {
            let mut s = if c.dashed {
                Series::reference(c.name, c.points)
            } else {
                Series::line(c.name, c.points)
            };
            if self.steps && !c.dashed {
                s = s.steps();
            }
            p = p.series(s);
        }
        for a in self.annotations {
            p = p.annotation(a);
        }
        if let Some(n) = self.note {
            p = p.note(n);
        }
        p.render().map_err(ReportError::draw(self.title))
    }
}
