//! The whole `amva analyze` run: the computation of amva-analysis, then the pictures
//! drawn in memory, then every file written (see `amva_analysis::analyze` for the
//! stages). The numbers are written before the pictures and report.html last, so a
//! failure never leaves a report that points at missing files.
//!
//! The files:
//!
//! ```text
//! summary.json              every number of the run (the report shows a subset)
//! report.html               one self-contained page: parameters, tables, figures
//! figures/*.png             every figure of the report
//! arrays/region_mask.npy    H x W, 1 inside the central face region
//! arrays/<method>/<group>_<stat>.npy   H x W per-pixel statistics (mam, amv, median, mad, ...)
//! arrays/<method>/d_<stat>.npy         deviation maps |high - low| (not normalised)
//! arrays/<method>/kde_<stat>.npy       3 x G: grid, density of high, density of low
//! arrays/<method>/profile_x.npy, profile_y.npy   2 x W / 2 x H: AM-V of high, low
//! arrays/<method>/permutation.npy      observed statistic, then each permutation's
//! arrays/<method>/bins_region.npy      B x 2: mean AM-V inside, outside per bin
//! groups/<method>.csv       image,row,score,groups
//! images.csv                every image: typicality; each method's score, rank, group and
//!                           explanation against its high group (as `amva explain`)
//! arrays/typicality/all_{mam,amv}.npy  the MAM and AM-V of all maps (typicality's reference)
//! explorer.html, explorer/   every image in one table (see [`crate::explorer`])
//! labels.csv, labels_pairs.csv, labels_crossed.csv, arrays/labels/   with --groups
//! edc/                      with --pairs: the files of `amva edc` (pauc.csv, curves.csv, edc.json, edc.png)
//! unmatched.csv             method,image,reason: every id without a partner, every excluded score
//! maps_meta.json            the maps' meta.json, for `amva explain`
//! ```

use amva_analysis::files;
use amva_analysis::summarise::summarise;
use amva_analysis::{AnalyzeOptions, Outcome, Progress};

use crate::report::ReportOptions;
use crate::{ReportError, Result};

/// Runs the analysis of `opts` and writes its numbers, figures, report and explorer
/// into `opts.out`.
pub fn analyze(
    opts: &AnalyzeOptions,
    report: &ReportOptions,
    progress: Progress<'_>,
) -> Result<Outcome> {
    if !report.figures {
        return Ok(amva_analysis::analyze::numbers(opts, progress)?);
    }
    let started = std::time::Instant::now();
    let opts = AnalyzeOptions {
        faces: true,
        ..opts.clone()
    };
    let analysis = amva_analysis::analyze::compute(&opts, progress)?;
    let (figures, page) = crate::report::render(&analysis, &opts, report)?;
    let seconds = started.elapsed().as_secs_f64();
    let summary = summarise(&analysis, &opts, Some(figures.entries()), seconds);
    amva_analysis::write::write_outputs(&analysis, &summary, &opts.out)?;
    if let Some(e) = &analysis.edc {
        crate::edc::write_figure(&opts.out.join(amva_analysis::edc::DIR), &e.report)?;
    }
    figures.write_all(&opts.out)?;
    crate::explorer::write_explorer(&analysis, &opts)?;
    page.write(opts.out.join(files::REPORT))
        .map_err(ReportError::draw(files::REPORT))?;
    Ok(Outcome {
        summary,
        passes: analysis.passes,
        notes: analysis.plan.notes,
        out: opts.out.clone(),
    })
}
