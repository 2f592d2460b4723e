//! The numbers of an analysis as files: every array, group list, table and
//! summary.json, each to a temporary name and then renamed. Called only after
//! everything was computed (and drawn), so that a failure leaves no half output; the
//! pictures (figures, report.html, the explorer) are amva-report's.

use std::collections::HashMap;
use std::path::Path;

use crate::compare::to_f32;
use crate::explain::ExplainScores;
use crate::files;
use crate::groups::MethodGroups;
use crate::results::Analysis;
use crate::significance::Significance;
use crate::summary::Summary;
use crate::{AnalysisError, Result};

/// Writes the arrays, group lists, unmatched.csv, images.csv, the label tables, the EDC
/// files, summary.json and maps_meta.json of `analysis` into `out`.
pub fn write_outputs(analysis: &Analysis, summary: &Summary, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| AnalysisError::io(out, e))?;
    write_arrays(analysis, out)?;
    for (g, key) in analysis.plan.groups.iter().zip(&analysis.plan.keys) {
        write_groups_csv(analysis, g, key, out)?;
    }
    write_unmatched(analysis, out)?;
    write_images_csv(analysis, out)?;
    if let (Some(input), Some(r)) = (&analysis.plan.labels, &analysis.labels) {
        write_labels(analysis, input, r, out)?;
    }
    if let Some(f) = &analysis.failures {
        let rows = crate::failures::csv_rows(f);
        let bytes = csv_bytes(files::FAILURES_CSV, crate::failures::HEADER, &rows)?;
        amva_io::atomic::write_atomic(&out.join(files::FAILURES_CSV), &bytes)?;
    }
    if let (Some(input), Some(v)) = (&analysis.plan.labels, &analysis.label_verification) {
        write_label_verification(input, v, out)?;
    }
    if let Some(e) = &analysis.edc {
        let dir = out.join(crate::edc::DIR);
        amva_quality::edc::write_files(&dir, &e.report, &e.excluded, &e.source)?;
    }
    summary.write(out)?;
    // A copy of the maps' meta.json so that `amva explain` finds the model and
    // parameters even if the store moves.
    amva_io::atomic::write_json(&out.join(files::MAPS_META), &summary.maps.meta)?;
    Ok(())
}

fn save(out: &Path, rel: &str, dims: &[usize], data: &[f64]) -> Result<()> {
    let path = out.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| AnalysisError::io(parent, e))?;
    }
    amva_io::npy::write_f32(&path, dims, &to_f32(data))?;
    Ok(())
}

fn write_arrays(analysis: &Analysis, out: &Path) -> Result<()> {
    let geo = &analysis.plan.geometry;
    let (h, w) = geo.shape;
    let mask: Vec<f64> = geo
        .inside
        .iter()
        .map(|&i| if i { 1.0 } else { 0.0 })
        .collect();
    save(out, files::REGION_MASK, &[h, w], &mask)?;
    let t = &analysis.images.typical;
    save(out, files::TYPICAL_MAM, &[h, w], &t.mam)?;
    save(out, files::TYPICAL_AMV, &[h, w], &t.amv)?;
    for ((g, key), r) in analysis
        .plan
        .groups
        .iter()
        .zip(&analysis.plan.keys)
        .zip(&analysis.methods)
    {
        let c = &r.comparison;
        for (grp, res) in g.all_groups().into_iter().zip(&c.groups) {
            for (s, _) in res.ranges.iter() {
                let v = s.of(&res.stats).unwrap_or(&[]);
                save(out, &files::group_stat(key, &grp.key, s), &[h, w], v)?;
            }
        }
        for d in &c.deviations {
            save(out, &files::deviation(key, d.stat), &[h, w], &d.map)?;
        }
        for (s, sh) in &c.shifts {
            if let Some((x, da, db)) = &sh.kde {
                let data: Vec<f64> = x.iter().chain(da).chain(db).copied().collect();
                save(out, &files::kde(key, *s), &[3, x.len()], &data)?;
            }
        }
        let p = &c.profiles;
        save(out, &files::profile(key, "x"), &[2, w], &p.x.concat())?;
        save(out, &files::profile(key, "y"), &[2, h], &p.y.concat())?;
        if let Significance::Run { outcome, .. } = &r.significance {
            let mut all = vec![outcome.observed];
            all.extend(&outcome.null);
            save(out, &files::permutation(key), &[all.len()], &all)?;
        }
        if let Some(t) = &c.trend {
            let data: Vec<f64> = t
                .inside
                .iter()
                .zip(&t.outside)
                .flat_map(|(a, b)| [*a, *b])
                .collect();
            save(out, &files::bins_region(key), &[t.outside.len(), 2], &data)?;
        }
    }
    Ok(())
}

fn csv_bytes<const N: usize>(
    what: &str,
    header: [&str; N],
    rows: &[[String; N]],
) -> Result<Vec<u8>> {
    let err = |e: csv::Error| AnalysisError::store(what, e.to_string());
    let mut wr = csv::Writer::from_writer(Vec::new());
    wr.write_record(header).map_err(err)?;
    for r in rows {
        wr.write_record(r).map_err(err)?;
    }
    wr.into_inner()
        .map_err(|e| AnalysisError::store(what, e.to_string()))
}

/// `groups/<key>.csv`: image, store row, score, the groups it is in.
fn write_groups_csv(analysis: &Analysis, g: &MethodGroups, key: &str, out: &Path) -> Result<()> {
    let ids = analysis.plan.source.ids();
    let mut member: HashMap<usize, Vec<&str>> = HashMap::new();
    for grp in g.all_groups() {
        for &r in &grp.rows {
            member.entry(r).or_default().push(grp.key.as_str());
        }
    }
    let rows: Vec<[String; 4]> = g
        .rows
        .iter()
        .zip(&g.scores)
        .map(|(r, s)| {
            let m = member.get(r).map(|v| v.join(";")).unwrap_or_default();
            [ids[*r].clone(), r.to_string(), format!("{s}"), m]
        })
        .collect();
    let rel = files::groups_csv(key);
    let bytes = csv_bytes("groups csv", ["image", "row", "score", "groups"], &rows)?;
    let path = out.join(&rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| AnalysisError::io(dir, e))?;
    }
    Ok(amva_io::atomic::write_atomic(&path, &bytes)?)
}

/// `unmatched.csv`: every id without a partner and every excluded score, per method.
fn write_unmatched(analysis: &Analysis, out: &Path) -> Result<()> {
    let ids = analysis.plan.source.ids();
    let mut rows: Vec<[String; 3]> = Vec::new();
    for g in &analysis.plan.groups {
        let name = &g.name;
        for s in &g.without_map {
            let why = format!("score on line {} but no map", s.line);
            rows.push([name.clone(), s.image.clone(), why]);
        }
        for s in &g.non_finite {
            let why = format!(
                "score {} on line {} is not finite: excluded",
                s.score, s.line
            );
            rows.push([name.clone(), s.image.clone(), why]);
        }
        for &r in &g.without_score {
            rows.push([name.clone(), ids[r].clone(), "map but no score".into()]);
        }
    }
    if let Some(l) = &analysis.plan.labels {
        for (image, why) in &l.unmatched {
            rows.push(["--groups".into(), image.clone(), why.clone()]);
        }
    }
    let bytes = csv_bytes(files::UNMATCHED, ["method", "image", "reason"], &rows)?;
    Ok(amva_io::atomic::write_atomic(
        &out.join(files::UNMATCHED),
        &bytes,
    )?)
}

/// `images.csv`: every image of the store with its typicality and, per method, its
/// score, rank, groups and explanation against the method's high group.
fn write_images_csv(analysis: &Analysis, out: &Path) -> Result<()> {
    let what = files::IMAGES_CSV;
    let err = |e: csv::Error| AnalysisError::store(what, e.to_string());
    let mut wr = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["image", "row", "flat", "typicality"]
        .map(String::from)
        .into();
    let labels = analysis.plan.labels.as_ref();
    if labels.is_some() {
        header.push("label".into());
    }
    for key in &analysis.plan.keys {
        header.extend(
            crate::images::method_columns()
                .iter()
                .map(|c| format!("{key}.{c}")),
        );
    }
    wr.write_record(&header).map_err(err)?;
    let per = &analysis.images;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for (row, (id, img)) in analysis
        .plan
        .source
        .ids()
        .iter()
        .zip(&per.images)
        .enumerate()
    {
        let mut rec = vec![
            id.clone(),
            row.to_string(),
            img.flat.to_string(),
            format!("{}", img.typical.mean_abs_z),
        ];
        if let Some(l) = labels {
            rec.push(
                l.of_row[row]
                    .map(|i| l.labels[i].name.clone())
                    .unwrap_or_default(),
            );
        }
        for (st, e) in per.standings.iter().map(|s| &s[row]).zip(&img.methods) {
            rec.push(opt(st.score.map(|v| format!("{v}"))));
            rec.push(opt(st.rank.map(|v| v.to_string())));
            rec.push(st.groups.join(";"));
            let kept = &e.values()[..ExplainScores::KEPT];
            rec.extend(kept.iter().map(|v| format!("{v}")));
        }
        wr.write_record(&rec).map_err(err)?;
    }
    let bytes = wr
        .into_inner()
        .map_err(|e| AnalysisError::store(what, e.to_string()))?;
    Ok(amva_io::atomic::write_atomic(&out.join(what), &bytes)?)
}

/// labels_verification.csv and labels_fdr.csv (`--groups` with `--pairs`).
fn write_label_verification(
    input: &crate::labels::LabelInput,
    v: &crate::labels::LabelVerification,
    out: &Path,
) -> Result<()> {
    use crate::labels::{verification_csv, VERIFICATION_HEADER};
    let name = files::LABELS_VERIFICATION_CSV;
    let bytes = csv_bytes(name, VERIFICATION_HEADER, &verification_csv(input, v))?;
    amva_io::atomic::write_atomic(&out.join(name), &bytes)?;
    let rows: Vec<[String; 3]> = v
        .fdr
        .iter()
        .map(|(t, f)| {
            [
                format!("{t}"),
                f.map(|f| format!("{f}")).unwrap_or_default(),
                format!("{}", v.threshold(*t)),
            ]
        })
        .collect();
    let header = ["fmr_target", "fdr", "threshold"];
    let bytes = csv_bytes(files::LABELS_FDR_CSV, header, &rows)?;
    Ok(amva_io::atomic::write_atomic(
        &out.join(files::LABELS_FDR_CSV),
        &bytes,
    )?)
}

/// labels.csv, labels_pairs.csv, labels_crossed.csv and arrays/labels/ (`--groups`).
fn write_labels(
    analysis: &Analysis,
    input: &crate::labels::LabelInput,
    r: &crate::labels::LabelResults,
    out: &Path,
) -> Result<()> {
    use crate::labels::{labels_csv, LABELS_HEADER};
    let (h, w) = analysis.plan.geometry.shape;
    for (l, s) in input.labels.iter().zip(&r.labels) {
        let st = &s.stats;
        let robust = [("median", &st.median), ("mad", &st.mad)];
        for (name, v) in [("mam", Some(&st.mean)), ("amv", Some(&st.std))]
            .into_iter()
            .chain(robust.map(|(n, v)| (n, v.as_ref())))
        {
            if let Some(v) = v {
                save(out, &files::label_stat(&l.key, name), &[h, w], v)?;
            }
        }
    }
    let bytes = csv_bytes(files::LABELS_CSV, LABELS_HEADER, &labels_csv(input, r))?;
    amva_io::atomic::write_atomic(&out.join(files::LABELS_CSV), &bytes)?;
    let f = |x: f64| format!("{x}");
    let mut pairs = Vec::new();
    for p in &r.pairs {
        let (a, b) = (&input.labels[p.a], &input.labels[p.b]);
        save(out, &files::label_d_amv(&a.key, &b.key), &[h, w], &p.d_amv)?;
        let mean = p.d_amv.iter().sum::<f64>() / p.d_amv.len() as f64;
        pairs.push([
            a.name.clone(),
            b.name.clone(),
            f(mean),
            f(p.region.inside),
            f(p.region.outside),
        ]);
    }
    let header = [
        "label_a",
        "label_b",
        "d_amv_mean",
        "d_amv_inside",
        "d_amv_outside",
    ];
    let bytes = csv_bytes(files::LABELS_PAIRS_CSV, header, &pairs)?;
    amva_io::atomic::write_atomic(&out.join(files::LABELS_PAIRS_CSV), &bytes)?;
    let opt = |x: Option<f64>| x.map(f).unwrap_or_default();
    let crossed: Vec<[String; 6]> = r
        .crossed
        .iter()
        .map(|c| {
            [
                analysis.plan.groups[c.method].name.clone(),
                input.labels[c.label].name.clone(),
                c.n.0.to_string(),
                c.n.1.to_string(),
                opt(c.outside_amv.0),
                opt(c.outside_amv.1),
            ]
        })
        .collect();
    let header = [
        "method",
        "label",
        "images_high",
        "images_low",
        "amv_outside_high",
        "amv_outside_low",
    ];
    let bytes = csv_bytes(files::LABELS_CROSSED_CSV, header, &crossed)?;
    Ok(amva_io::atomic::write_atomic(
        &out.join(files::LABELS_CROSSED_CSV),
        &bytes,
    )?)
}
