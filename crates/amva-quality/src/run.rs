//! `amva quality` as one call: every method over an image list ([`crate::score_images`]),
//! the score file and its sidecar ([`crate::scores`]), and the lists of the images that
//! failed and of the damaged ones used with a warning, beside the score file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use amva_io::images::ImageList;

use crate::scores::{sidecar_path, ScoreOrigin};
use crate::{Direction, QualityMethod, Result, Run, Scores};

/// `scores.csv` -> `scores.failed.csv`.
pub fn failed_path(out: &Path) -> PathBuf {
    out.with_extension("failed.csv")
}

/// `scores.csv` -> `scores.warnings.csv`.
pub fn warnings_path(out: &Path) -> PathBuf {
    out.with_extension("warnings.csv")
}

/// Every file a run writes for the score file `out`: it, its sidecar, the failed and the
/// warnings lists.
pub fn files(out: &Path) -> [PathBuf; 4] {
    [
        out.to_path_buf(),
        sidecar_path(out),
        failed_path(out),
        warnings_path(out),
    ]
}

/// What a run scores and where it writes.
pub struct Job<'a> {
    /// The folder or list the images came from (recorded in the sidecar).
    pub images: &'a Path,
    /// The images.
    pub list: &'a ImageList,
    /// Resize images of the wrong size.
    pub resize: bool,
    /// Refuse damaged files that still decode.
    pub strict: bool,
    /// The score file.
    pub out: &'a Path,
    /// When the run started (for the recorded run time).
    pub started: Instant,
}

/// One method in the brief of a run.
#[derive(Debug, Clone, Serialize)]
pub struct MethodBrief {
    /// Images scored.
    pub scored: usize,
    /// Which way its score points.
    pub direction: Direction,
}

/// The brief of a run (`amva quality --json`).
#[derive(Debug, Clone, Serialize)]
pub struct Brief {
    /// Images in the input.
    pub images: usize,
    /// Images that could not be scored.
    pub failed: usize,
    /// Damaged files scored with a warning.
    pub warnings: usize,
    /// Run time.
    pub seconds: f64,
    /// The score file.
    pub out: PathBuf,
    /// Its sidecar.
    pub meta: PathBuf,
    /// Per method.
    pub methods: BTreeMap<String, MethodBrief>,
}

impl Brief {
    /// The brief of `scores` written to `out`.
    pub fn of(scores: &Scores, origin: &ScoreOrigin, out: &Path) -> Self {
        Brief {
            images: origin.image_count,
            failed: origin.failed.unwrap_or(0),
            warnings: origin.warnings.unwrap_or(0),
            seconds: origin.seconds,
            out: out.to_path_buf(),
            meta: sidecar_path(out),
            methods: scores
                .methods
                .iter()
                .map(|(n, m)| {
                    let b = MethodBrief {
                        scored: m.scores.len(),
                        direction: m.direction,
                    };
                    (n.clone(), b)
                })
                .collect(),
        }
    }
}

/// A finished run: what it scored and what failed.
pub struct Done {
    /// Scores, failures and warnings.
    pub run: Run,
    /// The brief.
    pub brief: Brief,
}

impl Done {
    /// Images scored over all methods.
    pub fn scored(&self) -> usize {
        self.run
            .scores
            .methods
            .values()
            .map(|m| m.scores.len())
            .sum()
    }

    /// Notes for the user: the first `k` failures and warnings, then a count.
    pub fn notes(&self, k: usize) -> Vec<String> {
        let r = &self.run;
        let mut v: Vec<String> = r
            .failed
            .iter()
            .take(k)
            .map(|(id, why)| format!("skipped {id}: {why}"))
            .collect();
        v.extend(
            r.warnings
                .iter()
                .take(k)
                .map(|(id, why)| format!("{id}: {why}")),
        );
        if r.failed.len() > k {
            v.push(format!(
                "... and {} more (see {})",
                r.failed.len() - k,
                failed_path(&self.brief.out).display()
            ));
        }
        v
    }

    /// The one-line summary.
    pub fn line(&self, out: &Path) -> String {
        let per_method: Vec<String> = self
            .run
            .scores
            .methods
            .iter()
            .map(|(name, m)| format!("{name} {} ({})", m.scores.len(), m.direction.describe()))
            .collect();
        format!(
            "scored {} images in {:.1} s: {}; {} failures, {} warnings -> {} (+ {})",
            self.brief.images,
            self.brief.seconds,
            per_method.join(", "),
            self.run.failed.len(),
            self.run.warnings.len(),
            out.display(),
            sidecar_path(out).display()
        )
    }
}

/// Scores every image of `job` with every method and writes the score file, its
/// sidecar and the failed and warnings lists. `progress(n)` follows the images.
pub fn score_to_files(
    methods: &[Box<dyn QualityMethod>],
    job: &Job<'_>,
    progress: impl FnMut(usize),
) -> Result<Done> {
    let run = crate::score_images(methods, &job.list.items, job.resize, job.strict, progress)?;
    let origin = ScoreOrigin {
        images: Some(job.images.to_path_buf()),
        maps: None,
        image_count: job.list.len(),
        resize: Some(job.resize),
        failed: Some(run.failed.len()),
        failed_list: failed_path(job.out)
            .file_name()
            .map(|n| n.to_string_lossy().to_string()),
        warnings: Some(run.warnings.len()),
        strict: Some(job.strict),
        seconds: job.started.elapsed().as_secs_f64(),
    };
    // The score file last (its sidecar just before it): a run stopped on the way leaves
    // no score file, never one without its companions.
    let not_read: Vec<_> = run
        .failed
        .iter()
        .chain(&job.list.skipped)
        .cloned()
        .collect();
    amva_io::image_notes::write_failed(&failed_path(job.out), &not_read)?;
    amva_io::image_notes::write_warnings(&warnings_path(job.out), &run.warnings)?;
    crate::write_scores(job.out, &run.scores, &origin)?;
    let brief = Brief::of(&run.scores, &origin, job.out);
    Ok(Done { run, brief })
}
