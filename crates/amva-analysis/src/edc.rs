//! The recognition utility of the analysed FIQA methods (Error versus Discard
//! Characteristic, ALGORITHMS 6) in `amva analyze --pairs`: the same
//! [`amva_quality::edc_report`] as `amva edc`, on the comparisons the caller scored
//! (`amva_quality::pairs`). Its files are [`amva_quality::edc::write_files`]'s.

use std::path::{Path, PathBuf};

use amva_quality::edc::EdcReport;
use amva_quality::pairs::{EmbeddingSource, Excluded, PairSource};

use crate::{AnalysisError, Result};

/// The folder of the EDC files inside an analysis.
pub const DIR: &str = "edc";

/// What `amva analyze --pairs` hands the analysis: the scored comparisons, the pairs
/// left out, the settings, and where they came from (edc.json).
#[derive(Debug, Clone)]
pub struct EdcInput {
    /// Comparisons with both embeddings.
    pub pairs: Vec<amva_quality::PairScore>,
    /// Pairs without an embedding.
    pub excluded: Excluded,
    /// FMR, pAUC limit, seed, random runs.
    pub options: amva_quality::EdcOptions,
    /// Where the pairs and embeddings came from.
    pub source: PairSource,
    /// The comparison store of the failing comparisons' pair maps (`--pair-maps`), if made.
    pub pair_maps: Option<PathBuf>,
    /// Bootstrap resamples for a 95 % interval of each pAUC ratio (0: none; seeded with
    /// the options' seed, as `amva edc --bootstrap`).
    pub bootstrap: usize,
}

impl EdcInput {
    /// The comparisons of the pairs file `pairs`, scored with the embeddings of `source`
    /// (see `amva_quality::pairs`), for an analysis writing into `out`. Returns the input
    /// and what the user should know (images not embedded, pairs left out). Refuses a
    /// pairs file none of whose pairs has both embeddings.
    pub fn from_pairs(
        pairs: &Path,
        source: EmbeddingSource<'_>,
        options: amva_quality::EdcOptions,
        out: &Path,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(Self, Vec<String>)> {
        let scored = amva_quality::pairs::score_pairs_file(pairs, source, progress)?;
        let mut notes = scored.notes;
        if !scored.excluded.is_empty() {
            let listed = out.join(DIR).join(amva_quality::edc::files::EXCLUDED);
            notes.push(format!(
                "{} of {} pairs name images without an embedding; excluded (listed in {})",
                scored.excluded.len(),
                scored.total,
                listed.display()
            ));
        }
        if scored.scored.is_empty() {
            return Err(AnalysisError::Option {
                option: "--pairs".into(),
                reason: format!(
                    "{}: none of the {} pairs has embeddings for both images (ids must match the maps' index.csv)",
                    pairs.display(),
                    scored.total
                ),
            });
        }
        let source = PairSource {
            pairs: pairs.into(),
            scores: None,
            embeddings: source.folder().map(PathBuf::from),
            images: source.images().map(PathBuf::from),
            engine: Some(scored.engine),
            pairs_total: scored.total,
            pairs_excluded_without_embedding: scored.excluded.len(),
        };
        let input = EdcInput {
            pairs: scored.scored,
            excluded: scored.excluded,
            options,
            source,
            pair_maps: None,
            bootstrap: 0,
        };
        Ok((input, notes))
    }
}

/// The images the maps of the store `maps` were made from, when that folder is still
/// there (the faces `--pairs` embeds when neither `--embeddings` nor `--images` is given).
pub fn store_images(maps: &Path) -> Result<Option<PathBuf>> {
    let info = amva_maps::source::read_store_info(maps)?;
    Ok(info.images.map(PathBuf::from).filter(|p| p.exists()))
}

/// The EDC of the analysed methods and what the files need beside it.
#[derive(Debug, Clone)]
pub struct EdcResult {
    /// Every method's curve and pAUC, and the random reference.
    pub report: EdcReport,
    /// Pairs without an embedding.
    pub excluded: Excluded,
    /// Where the comparisons came from.
    pub source: PairSource,
}

/// The EDC of every analysed method on `input`'s comparisons: the same
/// [`amva_quality::edc_report`] as `amva edc`, with its bootstrap intervals when
/// `input.bootstrap` asks for them.
pub fn edc_of_methods(
    input: &EdcInput,
    methods: &[amva_quality::MethodScores],
) -> Result<EdcResult> {
    let scores = amva_quality::Scores {
        methods: methods
            .iter()
            .map(|m| (m.name.clone(), m.clone()))
            .collect(),
    };
    let mut report = amva_quality::edc_report(&input.pairs, &scores, &[], &input.options)?;
    if input.bootstrap > 0 {
        let o = &input.options;
        report.bootstrap = Some(amva_quality::edc::bootstrap_ratios(
            &input.pairs,
            &scores,
            &[],
            o,
            input.bootstrap,
            o.seed,
        )?);
    }
    Ok(EdcResult {
        report,
        excluded: input.excluded.clone(),
        source: input.source.clone(),
    })
}
