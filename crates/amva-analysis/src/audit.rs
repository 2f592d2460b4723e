//! The audit's verdict (ALGORITHMS 1.7): the map audit of amva-maps joined with the
//! analysis agreement (the AMVA finding of each map method for a score file, and how
//! alike their D-AM-V maps are), the recommendation, and audit.json.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use amva_maps::audit::{Equivalence, MapAudit, RandomisationRow, Spread};
use amva_maps::study::IntervalRecord;
use serde::{Deserialize, Serialize};

use crate::stat::Stat;
use crate::verdict::Verdict;
use crate::{AnalyzeOptions, Result};

/// The paper's method: what a cheaper method must be equivalent to.
pub const REFERENCE: &str = "scorecam";
/// Median Spearman of the maps at or above which two methods count as equivalent.
pub const EQUIVALENT: f64 = 0.95;
/// Median step-1 Spearman above which a method's maps do not depend on the decision.
pub const INDEPENDENT: f64 = 0.99;

/// The rule of the recommendation, as audit.json and the page state it.
pub const RULE: &str = "(a) cheapest_equivalent: the method with the fewest model passes per image whose maps have a median Spearman >= 0.95 with scorecam's and, when --scores is given, the same verdict as scorecam for every FIQA method; (b) most_decision_dependent: among the methods whose deletion and insertion 95 % intervals both lie on the better side of the random map's (deletion hi < random's lo, insertion lo > random's hi), the one whose maps change most when the head is randomised (lowest median step-1 Spearman), unless it is decision_independent (median step-1 Spearman above 0.99): then none; ties in (a) go to the method named first in --methods";

/// The AMVA finding of one FIQA method with one map method's maps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub fiqa: String,
    pub map_method: String,
    pub high: usize,
    pub low: usize,
    pub outside_amv_low_minus_high: f64,
    pub p_value: f64,
    pub p_value_reversed: f64,
    pub verdict: Verdict,
    /// Where its numbers are (summary.json of that analysis).
    pub summary: PathBuf,
}

/// How alike two map methods' D-AM-V maps are for one FIQA method.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DamvAgreement {
    pub fiqa: String,
    pub a: String,
    pub b: String,
    pub spearman: Option<f64>,
}

/// The analysis agreement (`--scores`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Agreement {
    pub scores: Vec<PathBuf>,
    pub findings: Vec<Finding>,
    pub damv: Vec<DamvAgreement>,
}

/// Runs the analysis `template` asks (its scores, groups, directions, seed) on each map
/// method's store (`stores`: name, folder), writing each analysis's numbers to
/// `out/<name>/`, and compares the findings.
pub fn analysis_agreement(
    stores: &[(String, PathBuf)],
    template: &AnalyzeOptions,
    out: &Path,
) -> Result<Agreement> {
    let mut findings = Vec::new();
    let mut damv: BTreeMap<String, Vec<(String, Vec<f64>)>> = BTreeMap::new();
    for (name, store) in stores {
        let dir = out.join(crate::keys::file_stem(name));
        let mut opts = template.clone();
        opts.maps = store.clone();
        opts.out = dir.clone();
        opts.map_kind = amva_maps::MapKind::Low;
        let (analysis, _) = crate::analyze::numbers_with_results(&opts, &mut |_, _, _| {})?;
        for (g, m) in analysis.plan.groups.iter().zip(&analysis.methods) {
            let c = &m.comparison;
            let groups = g.all_groups();
            if let Some(d) = c.deviation(Stat::Amv) {
                damv.entry(g.name.clone())
                    .or_default()
                    .push((name.clone(), d.map.clone()));
            }
            let crate::significance::Significance::Run { outcome, .. } = &m.significance else {
                continue;
            };
            let (verdict, p_rev) = Verdict::of(outcome.observed, outcome.p_value, &outcome.null);
            findings.push(Finding {
                fiqa: g.name.clone(),
                map_method: name.clone(),
                high: groups.first().map_or(0, |x| x.rows.len()),
                low: groups.get(1).map_or(0, |x| x.rows.len()),
                outside_amv_low_minus_high: outcome.observed,
                p_value: outcome.p_value,
                p_value_reversed: p_rev,
                verdict,
                summary: dir.join(crate::files::SUMMARY),
            });
        }
    }
    let mut pairs = Vec::new();
    for (fiqa, maps) in damv {
        for i in 0..maps.len() {
            for j in i + 1..maps.len() {
                pairs.push(DamvAgreement {
                    fiqa: fiqa.clone(),
                    a: maps[i].0.clone(),
                    b: maps[j].0.clone(),
                    spearman: amva_math::compare::spearman(&maps[i].1, &maps[j].1).ok(),
                });
            }
        }
    }
    Ok(Agreement {
        scores: template.scores.clone(),
        findings,
        damv: pairs,
    })
}

/// The recommendation (see [`RULE`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recommendation {
    pub cheapest_equivalent: Option<String>,
    pub most_decision_dependent: Option<String>,
    pub coincide: bool,
    pub rule: String,
    /// Why a field is empty, when one is.
    pub notes: Vec<String>,
}

/// Each method in one line of audit.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MethodVerdict {
    pub method: String,
    pub passes_per_image: f64,
    /// Median Spearman of its maps with the trained model's after step 1 (the head).
    pub step1_spearman_median: Option<f64>,
    pub decision_independent: bool,
    pub beats_random: bool,
    pub deletion: IntervalRecord,
    pub insertion: IntervalRecord,
}

/// Per method: cost, step-1 dependence and faithfulness against the random map.
pub fn method_verdicts(audit: &MapAudit) -> Vec<MethodVerdict> {
    let study = &audit.faithfulness;
    let random = study.methods.iter().find(|m| m.name == "random");
    audit
        .methods
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let f = study
                .methods
                .iter()
                .find(|r| r.name == m.name)
                .expect("studied");
            let step1 = audit
                .row(1, &m.name)
                .and_then(|r| r.spearman)
                .map(|s| s.median);
            let beats_random = random
                .is_some_and(|r| f.deletion.hi < r.deletion.lo && f.insertion.lo > r.insertion.hi);
            MethodVerdict {
                method: m.name.clone(),
                passes_per_image: audit.passes(i),
                step1_spearman_median: step1,
                decision_independent: step1.is_some_and(|s| s > INDEPENDENT),
                beats_random,
                deletion: (&f.deletion).into(),
                insertion: (&f.insertion).into(),
            }
        })
        .collect()
}

/// The recommendation from the methods' verdicts, the equivalence table and the findings.
pub fn recommend(
    verdicts: &[MethodVerdict],
    equivalence: &[Equivalence],
    agreement: Option<&Agreement>,
) -> Recommendation {
    let mut notes = Vec::new();
    let rho = |m: &str| {
        equivalence
            .iter()
            .find(|e| (e.a == REFERENCE && e.b == m) || (e.b == REFERENCE && e.a == m))
            .and_then(|e| e.spearman)
            .map(|s| s.median)
    };
    let same_finding = |m: &str| {
        agreement.is_none_or(|a| {
            let of = |name: &str| -> BTreeMap<String, Verdict> {
                a.findings
                    .iter()
                    .filter(|f| f.map_method == name)
                    .map(|f| (f.fiqa.clone(), f.verdict))
                    .collect()
            };
            of(m) == of(REFERENCE)
        })
    };
    let mut by_cost: Vec<&MethodVerdict> =
        verdicts.iter().filter(|v| v.method != REFERENCE).collect();
    by_cost.sort_by(|a, b| a.passes_per_image.total_cmp(&b.passes_per_image));
    let cheapest_equivalent = if verdicts.iter().any(|v| v.method == REFERENCE) {
        by_cost
            .iter()
            .find(|v| rho(&v.method).is_some_and(|r| r >= EQUIVALENT) && same_finding(&v.method))
            .map(|v| v.method.clone())
    } else {
        notes.push(format!(
            "{REFERENCE} was not audited: no method can be equivalent to it"
        ));
        None
    };
    if cheapest_equivalent.is_none() && verdicts.iter().any(|v| v.method == REFERENCE) {
        notes.push(format!("no cheaper method is equivalent to {REFERENCE}"));
    }
    let beating: Vec<&MethodVerdict> = verdicts.iter().filter(|v| v.beats_random).collect();
    let most_decision_dependent = beating
        .iter()
        .filter(|v| !v.decision_independent)
        .filter_map(|v| v.step1_spearman_median.map(|s| (v, s)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(v, _)| v.method.clone());
    if beating.is_empty() {
        notes.push("no method beats the random map on both deletion and insertion".into());
    } else if most_decision_dependent.is_none() {
        notes.push(format!(
            "every method that beats the random map ({}) is decision independent: its maps barely change when the head is randomised",
            beating.iter().map(|v| v.method.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    Recommendation {
        coincide: cheapest_equivalent.is_some() && cheapest_equivalent == most_decision_dependent,
        cheapest_equivalent,
        most_decision_dependent,
        rule: RULE.into(),
        notes,
    }
}

/// audit.json: every number of the audit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Always "audit".
    pub kind: String,
    pub amva_version: String,
    pub model: PathBuf,
    pub model_sha256: String,
    pub layer: String,
    pub engine: String,
    pub images: PathBuf,
    /// Images audited, and those that could not be read.
    pub count: usize,
    pub failed: Vec<(String, String)>,
    pub seed: u64,
    /// Each method's map parameters, by name.
    pub map_parameters: BTreeMap<String, serde_json::Value>,
    pub methods: Vec<MethodVerdict>,
    pub equivalence: Vec<EquivalenceRecord>,
    pub randomisation: Vec<RandomisationRecord>,
    pub cascade: Vec<CascadeStep>,
    pub faithfulness: FaithfulnessRecord,
    pub analysis: Option<Agreement>,
    pub recommendation: Recommendation,
    pub seconds: f64,
}

/// One pair of methods in audit.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EquivalenceRecord {
    pub a: String,
    pub b: String,
    pub spearman_median: Option<f64>,
    pub spearman_p5: Option<f64>,
    /// Passes per image of a and b.
    pub passes_a: f64,
    pub passes_b: f64,
}

/// One method at one step in audit.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RandomisationRecord {
    pub step: usize,
    /// The nodes randomised at this step (those of earlier steps stay random).
    pub nodes: Vec<String>,
    pub method: String,
    pub spearman_median: Option<f64>,
    pub spearman_p5: Option<f64>,
    pub ssim_median: Option<f64>,
    pub hog_pearson_median: Option<f64>,
    pub output_cosine_median: f64,
}

/// One step of the cascade in audit.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CascadeStep {
    pub step: usize,
    pub nodes: usize,
    pub weights: usize,
    /// Share of all weights random after this step.
    pub cumulative_share: f64,
}

/// The faithfulness study in audit.json (the full study is in faithfulness/).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaithfulnessRecord {
    pub steps: usize,
    pub bootstrap_resamples: usize,
    pub random_map: String,
    pub methods: BTreeMap<String, (IntervalRecord, IntervalRecord)>,
}

fn median(s: &Option<Spread>) -> Option<f64> {
    s.map(|s| s.median)
}

/// The equivalence and randomisation rows of audit.json.
pub fn records(
    audit: &MapAudit,
) -> (
    Vec<EquivalenceRecord>,
    Vec<RandomisationRecord>,
    Vec<CascadeStep>,
) {
    let passes = |name: &str| {
        let i = audit
            .methods
            .iter()
            .position(|m| m.name == name)
            .expect("audited");
        audit.passes(i)
    };
    let eq = audit
        .equivalence
        .iter()
        .map(|e| EquivalenceRecord {
            a: e.a.clone(),
            b: e.b.clone(),
            spearman_median: median(&e.spearman),
            spearman_p5: e.spearman.map(|s| s.p5),
            passes_a: passes(&e.a),
            passes_b: passes(&e.b),
        })
        .collect();
    let rnd = audit
        .randomisation
        .iter()
        .map(|r: &RandomisationRow| RandomisationRecord {
            step: r.step,
            nodes: audit.cascade.steps[r.step - 1].nodes.clone(),
            method: r.method.clone(),
            spearman_median: median(&r.spearman),
            spearman_p5: r.spearman.map(|s| s.p5),
            ssim_median: median(&r.ssim),
            hog_pearson_median: median(&r.hog_pearson),
            output_cosine_median: r.output_cosine_median,
        })
        .collect();
    let mut running = 0usize;
    let total = audit.cascade.total_weights.max(1) as f64;
    let steps = audit
        .cascade
        .steps
        .iter()
        .map(|s| {
            running += s.weights;
            CascadeStep {
                step: s.step,
                nodes: s.nodes.len(),
                weights: s.weights,
                cumulative_share: running as f64 / total,
            }
        })
        .collect();
    (eq, rnd, steps)
}

/// The faithfulness part of audit.json.
/// `boot`: the bootstrap resamples the study's intervals came from.
pub fn faithfulness_record(audit: &MapAudit, boot: usize) -> FaithfulnessRecord {
    let s = &audit.faithfulness;
    FaithfulnessRecord {
        steps: s.steps,
        bootstrap_resamples: boot,
        random_map: amva_maps::study::RANDOM_MAP.into(),
        methods: s
            .methods
            .iter()
            .map(|m| {
                (
                    m.name.clone(),
                    ((&m.deletion).into(), (&m.insertion).into()),
                )
            })
            .collect(),
    }
}

impl AuditRecord {
    /// Reads audit.json of an audit folder (`amva analyze --audit DIR`).
    pub fn read(dir: &Path) -> std::result::Result<Self, String> {
        let path = dir.join(AUDIT_FILE);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{}: not an audit.json of amva audit: {e}", path.display()))
    }

    /// The verdict line for a report on maps of `method` (None: not audited here).
    pub fn method(&self, method: &str) -> Option<&MethodVerdict> {
        self.methods.iter().find(|m| m.method == method)
    }
}

/// The audit's record file.
pub const AUDIT_FILE: &str = "audit.json";

/// What `amva audit` is asked.
#[derive(Debug, Clone)]
pub struct AuditRun<'a> {
    pub model: &'a amva_model::FrModel,
    pub methods: Vec<amva_maps::audit::AuditMethod>,
    /// The images (already chosen) and the folder or list they came from.
    pub items: Vec<amva_io::images::ImageItem>,
    pub images: PathBuf,
    pub options: amva_maps::audit::AuditOptions,
    /// The analysis of `--scores` (None: no analysis agreement); its maps and out are
    /// replaced per map method.
    pub analysis: Option<AnalyzeOptions>,
    pub out: PathBuf,
}

/// The audit's results: the map audit and its record (audit.json).
#[derive(Debug, Clone)]
pub struct Audited {
    pub audit: MapAudit,
    pub record: AuditRecord,
}

/// Subfolders of an audit's output.
pub const STORES_DIR: &str = "maps";
pub const ANALYSIS_DIR: &str = "analysis";
pub const FAITHFULNESS_DIR: &str = "faithfulness";

/// Runs the audit: reads the images, audits the maps, writes the trained model's map
/// stores (`maps/<method>/`), the analyses of `--scores` (`analysis/<method>/`), the
/// faithfulness tables and audit.json. Figures and audit.html are amva-report's.
pub fn run(
    a: &AuditRun<'_>,
    progress: amva_maps::audit::AuditProgress<'_>,
    note: &dyn Fn(&str),
) -> Result<Audited> {
    let started = std::time::Instant::now();
    let model = a.model;
    let loaded = amva_model::preprocess::load_batch(
        &a.items,
        &model.spec.preprocess,
        a.options.study.resize,
    );
    for (id, why) in &loaded.failed {
        note(&format!("skipped {id}: {why}"));
    }
    let ids: Vec<String> = loaded.ok.iter().map(|&i| a.items[i].id.clone()).collect();
    if ids.len() < 2 {
        return Err(crate::AnalysisError::Option {
            option: "--images".into(),
            reason: format!(
                "{}: {} of {} images readable; the audit needs at least 2",
                a.images.display(),
                ids.len(),
                a.items.len()
            ),
        });
    }
    let key = serde_json::json!({
        "model_sha256": model.graph.sha256,
        "layer": model.spec.target,
        "engine": model.engine_choice().config.to_string(),
        "images": ids,
        "methods": a.methods.iter().map(|m| (&m.name, &m.params)).collect::<Vec<_>>(),
        "seed": a.options.seed,
        "cascade_shares": a.options.shares,
    });
    let cache = StepFiles::open(&a.out.join(STEPS_DIR), &key)?;
    let audit = amva_maps::audit::audit_maps(
        model,
        &a.methods,
        &loaded.input,
        &ids,
        &a.options,
        &cache,
        progress,
    )?;
    let stores = write_stores(&audit, model, &a.out.join(STORES_DIR))?;
    let agreement = match &a.analysis {
        None => None,
        Some(t) => Some(analysis_agreement(&stores, t, &a.out.join(ANALYSIS_DIR))?),
    };
    write_faithfulness(&audit, &a.out.join(FAITHFULNESS_DIR))?;
    let verdicts = method_verdicts(&audit);
    let recommendation = recommend(&verdicts, &audit.equivalence, agreement.as_ref());
    let (equivalence, randomisation, cascade) = records(&audit);
    let faithfulness = faithfulness_record(&audit, a.options.study.boot);
    let record = AuditRecord {
        kind: "audit".into(),
        amva_version: env!("CARGO_PKG_VERSION").into(),
        model: model.graph.path.clone(),
        model_sha256: model.graph.sha256.clone(),
        layer: model.spec.target.clone(),
        engine: model.engine().to_string(),
        images: a.images.clone(),
        count: ids.len(),
        failed: loaded.failed.clone(),
        seed: a.options.seed,
        map_parameters: a
            .methods
            .iter()
            .map(|m| {
                (
                    m.name.clone(),
                    serde_json::to_value(&m.params).unwrap_or_default(),
                )
            })
            .collect(),
        methods: verdicts,
        equivalence,
        randomisation,
        cascade,
        faithfulness,
        analysis: agreement,
        recommendation,
        seconds: started.elapsed().as_secs_f64(),
    };
    amva_io::atomic::write_json_sorted(&a.out.join(AUDIT_FILE), &record)?;
    Ok(Audited { audit, record })
}

/// The trained model's low-resolution maps of each method as a map store.
fn write_stores(
    audit: &MapAudit,
    model: &amva_model::FrModel,
    dir: &Path,
) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for (i, m) in audit.methods.iter().enumerate() {
        let store = dir.join(crate::keys::file_stem(&m.name));
        let low: Vec<f32> = audit.trained.low[i].concat();
        let extra = serde_json::json!({
            "method": m.name,
            "map_parameters": m.params,
            "model": model.graph.path,
            "model_sha256": model.graph.sha256,
            "layer": model.spec.target,
            "written_by": "amva audit",
        });
        amva_maps::import::write_store(
            &store,
            &audit.ids,
            audit.map_shape,
            audit.full_shape,
            &low,
            false,
            extra,
        )?;
        out.push((m.name.clone(), store));
    }
    Ok(out)
}

/// per_image.csv and summary.csv of the faithfulness study.
fn write_faithfulness(audit: &MapAudit, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| crate::AnalysisError::Io {
        path: dir.into(),
        source,
    })?;
    let s = &audit.faithfulness;
    amva_io::atomic::write_atomic(&dir.join("per_image.csv"), &s.per_image_csv()?)?;
    amva_io::atomic::write_atomic(&dir.join("summary.csv"), &s.summary_csv()?)?;
    Ok(())
}

/// Where an audit keeps its finished steps (`amva audit` resumes from them).
pub const STEPS_DIR: &str = "steps";

/// The finished steps of an audit as .npy files in `steps/`: per step the low-resolution
/// maps (methods x images x h*w), the passes (methods x images) and the embeddings
/// (images x D), the maps written last. `key.json` names the inputs they belong to; a
/// run with other inputs starts the folder afresh.
pub struct StepFiles {
    dir: PathBuf,
}

impl StepFiles {
    /// Opens `dir` for the inputs described by `key`.
    pub fn open(dir: &Path, key: &serde_json::Value) -> Result<Self> {
        let io = |source| crate::AnalysisError::Io {
            path: dir.into(),
            source,
        };
        let key_file = dir.join("key.json");
        let same = std::fs::read(&key_file)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|k| &k == key);
        if !same {
            if dir.exists() {
                std::fs::remove_dir_all(dir).map_err(io)?;
            }
            std::fs::create_dir_all(dir).map_err(io)?;
            amva_io::atomic::write_json_sorted(&key_file, key)?;
        }
        Ok(StepFiles { dir: dir.into() })
    }

    fn file(&self, step: usize, what: &str) -> PathBuf {
        self.dir.join(format!("step{step}_{what}.npy"))
    }
}

/// Rows of a (rows x per) array.
fn rows(data: Vec<f32>, per: usize) -> Vec<Vec<f32>> {
    data.chunks_exact(per.max(1)).map(<[f32]>::to_vec).collect()
}

impl amva_maps::audit::StepCache for StepFiles {
    fn load(
        &self,
        step: usize,
        shapes: amva_maps::audit::Shapes,
    ) -> amva_maps::Result<Option<amva_maps::audit::MapSet>> {
        let names = ["low", "passes", "embeddings"].map(|w| self.file(step, w));
        if !names.iter().all(|p| p.is_file()) {
            return Ok(None);
        }
        let read = |p: &Path| -> amva_maps::Result<(Vec<usize>, Vec<f32>)> {
            let a = amva_io::npy::read_f32(p)?;
            Ok((a.shape().to_vec(), a.iter().copied().collect()))
        };
        let (ls, low) = read(&names[0])?;
        let (_, passes) = read(&names[1])?;
        let (es, emb) = read(&names[2])?;
        let (m, n, hw) = (ls[0], ls[1], ls[2]);
        let low: Vec<Vec<Vec<f32>>> = rows(low, n * hw)
            .into_iter()
            .map(|per| rows(per, hw))
            .collect();
        let passes = rows(passes, n)
            .into_iter()
            .map(|r| r.into_iter().map(|p| p as usize).collect())
            .collect();
        debug_assert_eq!(low.len(), m);
        let set = amva_maps::audit::MapSet::from_low(low, passes, rows(emb, es[1]), shapes)?;
        Ok(Some(set))
    }

    fn save(&self, step: usize, set: &amva_maps::audit::MapSet) -> amva_maps::Result<()> {
        let (m, n) = (set.low.len(), set.embeddings.len());
        let hw = set.low.first().and_then(|l| l.first()).map_or(0, Vec::len);
        let d = set.embeddings.first().map_or(0, Vec::len);
        let emb: Vec<f32> = set.embeddings.concat();
        amva_io::npy::write_f32(&self.file(step, "embeddings"), &[n, d], &emb)?;
        let passes: Vec<f32> = set.passes.iter().flatten().map(|&p| p as f32).collect();
        amva_io::npy::write_f32(&self.file(step, "passes"), &[m, n], &passes)?;
        let low: Vec<f32> = set.low.iter().flatten().flatten().copied().collect();
        amva_io::npy::write_f32(&self.file(step, "low"), &[m, n, hw], &low)?;
        Ok(())
    }
}
