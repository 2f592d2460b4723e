//! The streaming, block-wise statistics and the analysis pipeline against naive
//! implementations written here: load every map, finish it, sort every pixel.

use amva_analysis::analyze::numbers as analyze;
use amva_analysis::compare::distribution_shift;
use amva_analysis::groups::{join_and_group, GroupRules};
use amva_analysis::permutation::{OutsideAmvDifference, PooledCollector};
use amva_analysis::setstats::{group_statistics, StatsOptions};
use amva_analysis::summary::Summary;
use amva_analysis::AnalyzeOptions;
use amva_maps::import::write_store;
use amva_maps::source::{MapKind, MapSource};
use amva_math::groups::Direction;
use amva_math::resample::finish_map;
use amva_quality::scores::{read_score_files, MethodScores, ScoreRow};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

const LOW: (usize, usize) = (4, 4);
const FULL: (usize, usize) = (16, 16);

/// Random low-resolution maps with negative values (ReLU matters), ties, and a few
/// constant (flat) maps.
fn random_maps(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let hw = LOW.0 * LOW.1;
    let mut v = Vec::with_capacity(n * hw);
    for i in 0..n {
        let kind = rng.random_range(0..10);
        for _ in 0..hw {
            let x: f32 = rng.random_range(-0.5..1.5);
            v.push(match kind {
                0 if i % 2 == 0 => 0.25,      // constant: flat
                1 => (x * 4.0).round() / 4.0, // coarse: ties
                _ => x,
            });
        }
    }
    v
}

/// A store of `n` random maps (seed `seed`) in `dir/maps`: (folder, ids, low maps).
fn random_store(dir: &Path, n: usize, seed: u64) -> (std::path::PathBuf, Vec<String>, Vec<f32>) {
    let maps_dir = dir.join("maps");
    let id = ids(n);
    let low = random_maps(n, seed);
    write_store(
        &maps_dir,
        &id,
        LOW,
        FULL,
        &low,
        false,
        serde_json::json!({}),
    )
    .unwrap();
    (maps_dir, id, low)
}

fn ids(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("p{:02}/img_{i:04}.png", i % 7))
        .collect()
}

fn finish_all(low: &[f32], n: usize) -> Vec<Vec<f32>> {
    let hw = LOW.0 * LOW.1;
    (0..n)
        .map(|i| {
            finish_map(&low[i * hw..(i + 1) * hw], LOW.0, LOW.1, FULL.0, FULL.1)
                .unwrap()
                .data
        })
        .collect()
}

struct Naive {
    mean: Vec<f64>,
    std: Vec<f64>,
    median: Vec<f64>,
    mad: Vec<f64>,
    median_lower: Vec<f64>,
    mad_lower: Vec<f64>,
    std_mad: Vec<f64>,
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

fn med(s: &[f64]) -> f64 {
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn naive_stats(maps: &[&Vec<f32>]) -> Naive {
    let n = maps.len();
    let p = maps[0].len();
    let mut out = Naive {
        mean: vec![],
        std: vec![],
        median: vec![],
        mad: vec![],
        median_lower: vec![],
        mad_lower: vec![],
        std_mad: vec![],
    };
    for j in 0..p {
        let col: Vec<f64> = maps.iter().map(|m| f64::from(m[j])).collect();
        let mean = col.iter().sum::<f64>() / n as f64;
        let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let s = sorted(col.clone());
        let m = med(&s);
        let lower = s[(n - 1) / 2];
        let mad = 1.4826 * med(&sorted(col.iter().map(|x| (x - m).abs()).collect()));
        let dl = sorted(col.iter().map(|x| (x - lower).abs()).collect());
        let mad_lower = 1.4826 * dl[(n - 1) / 2];
        let sq: Vec<f64> = col.iter().map(|x| (x - lower).powi(2)).collect();
        let sm = sq.iter().sum::<f64>() / n as f64;
        let std_mad = (sq.iter().map(|x| (x - sm).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        out.mean.push(mean);
        out.std.push(var.sqrt());
        out.median.push(m);
        out.mad.push(mad);
        out.median_lower.push(lower);
        out.mad_lower.push(mad_lower);
        out.std_mad.push(std_mad);
    }
    out
}

fn close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{what} pixel {i}: got {g}, naive {w}");
    }
}

fn exact(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g == w,
            "{what} pixel {i}: got {g}, naive {w} (must be equal)"
        );
    }
}

#[test]
fn block_wise_statistics_equal_naive_ones_for_any_budget() {
    let n = 61;
    let dir = tempfile::tempdir().unwrap();
    let low = random_maps(n, 7);
    write_store(
        dir.path(),
        &ids(n),
        LOW,
        FULL,
        &low,
        false,
        serde_json::json!({}),
    )
    .unwrap();
    let src = MapSource::open(dir.path(), MapKind::Low).unwrap();
    let full = finish_all(&low, n);
    let groups: Vec<Vec<usize>> = vec![
        (0..n).collect(),                        // odd n
        (0..n).filter(|i| i % 3 == 0).collect(), // 21
        (5..13).collect(),                       // even n = 8
        vec![3, 40],                             // n = 2
    ];
    let refs: Vec<&[usize]> = groups.iter().map(|g| g.as_slice()).collect();
    let p = FULL.0 * FULL.1;
    let total: usize = groups.iter().map(|g| g.len()).sum();
    // From one pass (ample budget) down to one pixel per pass; chunk sizes that split groups.
    for (budget, chunk) in [(1 << 30, 256), (4 * total * 37, 5), (4 * total, 1), (1, 13)] {
        let opts = StatsOptions {
            robust: true,
            compat_paper: true,
            budget_bytes: budget,
            chunk_rows: chunk,
        };
        let (stats, report) = group_statistics(&src, &refs, &opts, None, &mut |_| {}).unwrap();
        let expected_passes = p.div_ceil((budget / (4 * total)).clamp(1, p));
        assert_eq!(report.passes, expected_passes, "budget {budget}");
        assert_eq!(
            report.welford_bytes,
            groups.len() * p * 16,
            "Welford state does not depend on N"
        );
        for (g, st) in groups.iter().zip(&stats) {
            let maps: Vec<&Vec<f32>> = g.iter().map(|&i| &full[i]).collect();
            let nv = naive_stats(&maps);
            let what =
                |s: &str| format!("{s} (group of {}, budget {budget}, chunk {chunk})", g.len());
            assert_eq!(st.n, g.len());
            close(&what("mean"), &st.mean, &nv.mean, 1e-9);
            close(&what("std"), &st.std, &nv.std, 1e-9);
            exact(&what("median"), st.median.as_ref().unwrap(), &nv.median);
            exact(
                &what("lower median"),
                st.median_lower.as_ref().unwrap(),
                &nv.median_lower,
            );
            close(&what("mad"), st.mad.as_ref().unwrap(), &nv.mad, 1e-12);
            close(
                &what("mad lower"),
                st.mad_lower.as_ref().unwrap(),
                &nv.mad_lower,
                1e-12,
            );
            close(
                &what("std_mad"),
                st.std_mad.as_ref().unwrap(),
                &nv.std_mad,
                1e-9,
            );
            let flat = g
                .iter()
                .filter(|&&i| full[i].iter().all(|&v| v == 0.0))
                .count();
            assert_eq!(st.flat, flat, "{}", what("flat count"));
        }
    }
}

#[test]
fn permutation_statistic_equals_naive_recomputation() {
    let n = 40;
    let dir = tempfile::tempdir().unwrap();
    let low = random_maps(n, 11);
    write_store(
        dir.path(),
        &ids(n),
        LOW,
        FULL,
        &low,
        false,
        serde_json::json!({}),
    )
    .unwrap();
    // The same maps as a store of finished maps, for the direct form.
    let full = finish_all(&low, n);
    let dir_full = tempfile::tempdir().unwrap();
    let flat_full: Vec<f32> = full.concat();
    write_store(
        dir_full.path(),
        &ids(n),
        LOW,
        FULL,
        &flat_full,
        true,
        serde_json::json!({}),
    )
    .unwrap();
    let inside = amva_math::region::face_region_mask(FULL.0, FULL.1, 1.0).unwrap();
    let outside: Vec<bool> = inside.iter().map(|i| !i).collect();
    let pool: Vec<usize> = (0..n).filter(|i| i % 4 != 1).collect();
    let naive = |labels: &[bool]| -> f64 {
        let mean_out_std = |want: bool| {
            let members: Vec<&Vec<f32>> = pool
                .iter()
                .zip(labels)
                .filter(|(_, l)| **l == want)
                .map(|(&r, _)| &full[r])
                .collect();
            let st = naive_stats(&members);
            let (mut s, mut k) = (0.0, 0);
            for (j, o) in outside.iter().enumerate() {
                if *o {
                    s += st.std[j];
                    k += 1;
                }
            }
            s / k as f64
        };
        mean_out_std(true) - mean_out_std(false)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (kind, dir) in [(MapKind::Low, dir.path()), (MapKind::Full, dir_full.path())] {
        let src = MapSource::open(dir, kind).unwrap();
        let mut c = PooledCollector::new(
            pool.clone(),
            (kind == MapKind::Low).then(|| src.upsampler()),
            &outside,
        );
        let groups: Vec<&[usize]> = vec![&pool];
        group_statistics(
            &src,
            &groups,
            &StatsOptions::default(),
            Some(&mut c),
            &mut |_| {},
        )
        .unwrap();
        let pooled = c.finish().unwrap();
        let stat = OutsideAmvDifference::new(
            &pooled,
            (0..pool.len()).collect(),
            src.upsampler(),
            &outside,
        )
        .unwrap();
        for _ in 0..20 {
            let labels: Vec<bool> = (0..pool.len()).map(|_| rng.random_bool(0.4)).collect();
            let (got, want) = (stat.statistic(&labels), naive(&labels));
            assert!((got - want).abs() < 1e-6, "{kind:?}: {got} vs naive {want}");
        }
    }
}

fn score_file(dir: &Path, name: &str, rows: &[(String, f64)]) -> std::path::PathBuf {
    let p = dir.join(name);
    let mut s = String::from("image,score\n");
    for (id, v) in rows {
        s.push_str(&format!("{id},{v}\n"));
    }
    std::fs::write(&p, s).unwrap();
    p
}

fn read_npy(path: &Path) -> Vec<f64> {
    amva_io::npy::read_f32(path)
        .unwrap()
        .iter()
        .map(|&v| f64::from(v))
        .collect()
}

/// The whole pipeline: every array and number against naive recomputation, and the
/// permutation p-value against a naive test with the same seed.
#[test]
fn analyze_outputs_match_naive_recomputation() {
    let n = 90;
    let dir = tempfile::tempdir().unwrap();
    let maps_dir = dir.path().join("maps");
    let low = random_maps(n, 21);
    let id = ids(n);
    write_store(
        &maps_dir,
        &id,
        LOW,
        FULL,
        &low,
        false,
        serde_json::json!({"method": "synthetic"}),
    )
    .unwrap();
    let full = finish_all(&low, n);
    // Score: outside activation plus noise, with ties, 3 NaN, 2 unknown ids, 4 maps unscored.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut rows: Vec<(String, f64)> = Vec::new();
    for (i, name) in id.iter().enumerate().skip(4) {
        let s: f64 = if i % 29 == 0 {
            f64::NAN
        } else {
            (rng.random_range(0.0..10.0f64)).round()
        };
        rows.push((name.clone(), s));
    }
    rows.push(("nobody.png".into(), 1.0));
    rows.push(("ghost.png".into(), 2.0));
    let scores = score_file(dir.path(), "q.csv", &rows);
    let out = dir.path().join("out");
    let mut opts = AnalyzeOptions::new(&maps_dir, vec![scores.clone()], &out);
    opts.rules.high = "top:20%".parse().unwrap();
    opts.rules.low = "bottom:15".parse().unwrap();
    opts.rules.bins = Some(4);
    opts.region_margin = 20.0;
    opts.permutations = 99;
    opts.seed = 9;
    opts.budget_bytes = 4096; // many passes
    let outcome = analyze(&opts, &mut |_, _, _| {}).unwrap();
    assert!(outcome.passes.passes > 10, "{:?}", outcome.passes);
    let s = Summary::read(&out).unwrap();
    // Read back as written (numbers are checked below; serde_json's default float
    // parsing may differ from the written value in the last bit).
    assert_eq!(s.figures, outcome.summary.figures);
    assert_eq!(s.notes, outcome.summary.notes);
    assert_eq!(
        s.methods.keys().collect::<Vec<_>>(),
        outcome.summary.methods.keys().collect::<Vec<_>>()
    );
    let m = &s.methods["q"];
    assert_eq!(m.images.non_finite_scores, 3);
    assert_eq!(m.images.scores_without_map, 2);
    assert_eq!(m.images.maps_without_score, 4);
    assert_eq!(m.images.matched, n - 4 - 3);
    let unmatched = std::fs::read_to_string(out.join("unmatched.csv")).unwrap();
    for needle in ["nobody.png", "ghost.png", &id[0], &id[29], "not finite"] {
        assert!(
            unmatched.contains(needle),
            "{needle} missing from unmatched.csv:\n{unmatched}"
        );
    }

    // Groups by a naive sort (higher is better, ties by id).
    let mut valid: Vec<(usize, f64)> = (4..n)
        .filter(|i| i % 29 != 0)
        .map(|i| (i, rows[i - 4].1))
        .collect();
    valid.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then(id[a.0].cmp(&id[b.0])));
    let k_high = (valid.len() * 20).div_ceil(100);
    let mut high: Vec<usize> = valid[..k_high].iter().map(|v| v.0).collect();
    let mut low_g: Vec<usize> = valid[valid.len() - 15..].iter().map(|v| v.0).collect();
    high.sort();
    low_g.sort();
    let groups_csv = std::fs::read_to_string(out.join("groups/q.csv")).unwrap();
    for (gname, g) in [("high", &high), ("low", &low_g)] {
        let listed: Vec<usize> = groups_csv
            .lines()
            .skip(1)
            .filter(|l| l.split(',').nth(3).unwrap().split(';').any(|x| x == gname))
            .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert_eq!(&listed, g, "{gname} group");
    }
    let inside: Vec<bool> = read_npy(&out.join("arrays/region_mask.npy"))
        .iter()
        .map(|&v| v == 1.0)
        .collect();
    let out_mean = |v: &[f64]| {
        let o: Vec<f64> = v
            .iter()
            .zip(&inside)
            .filter(|(_, i)| !**i)
            .map(|(x, _)| *x)
            .collect();
        o.iter().sum::<f64>() / o.len() as f64
    };
    let in_mean = |v: &[f64]| {
        let o: Vec<f64> = v
            .iter()
            .zip(&inside)
            .filter(|(_, i)| **i)
            .map(|(x, _)| *x)
            .collect();
        o.iter().sum::<f64>() / o.len() as f64
    };
    let nh = naive_stats(&high.iter().map(|&i| &full[i]).collect::<Vec<_>>());
    let nl = naive_stats(&low_g.iter().map(|&i| &full[i]).collect::<Vec<_>>());
    for (gk, nv) in [("high", &nh), ("low", &nl)] {
        for (stat, want) in [
            ("mam", &nv.mean),
            ("amv", &nv.std),
            ("median", &nv.median),
            ("mad", &nv.mad),
        ] {
            let got = read_npy(&out.join(format!("arrays/q/{gk}_{stat}.npy")));
            close(&format!("{gk} {stat}.npy"), &got, want, 1e-6);
        }
        let g = &m.groups[if gk == "high" { 0 } else { 1 }];
        let r = g.region.amv.unwrap();
        assert!(
            (r.outside - out_mean(&nv.std)).abs() < 1e-9,
            "{gk} outside AM-V"
        );
        assert!(
            (r.inside - in_mean(&nv.std)).abs() < 1e-9,
            "{gk} inside AM-V"
        );
        assert!(
            (g.region.mam.unwrap().ratio - out_mean(&nv.mean) / in_mean(&nv.mean)).abs() < 1e-9
        );
    }
    // Deviation map, its max, KS and W1.
    let d: Vec<f64> = nh
        .std
        .iter()
        .zip(&nl.std)
        .map(|(a, b)| (a - b).abs())
        .collect();
    close(
        "d_amv.npy",
        &read_npy(&out.join("arrays/q/d_amv.npy")),
        &d,
        1e-6,
    );
    let dmax = d.iter().copied().fold(0.0, f64::max);
    assert!((m.deviation.amv.as_ref().unwrap().max - dmax).abs() < 1e-9);
    let shift = m.distribution_shift.amv.as_ref().unwrap();
    let ks = shift.ks;
    let mut diffs = 0.0f64;
    for &x in nh.std.iter().chain(&nl.std) {
        let fa = nh.std.iter().filter(|&&v| v <= x).count() as f64 / nh.std.len() as f64;
        let fb = nl.std.iter().filter(|&&v| v <= x).count() as f64 / nl.std.len() as f64;
        diffs = diffs.max((fa - fb).abs());
    }
    assert!((ks - diffs).abs() < 1e-12, "KS {ks} vs naive {diffs}");
    let sh = distribution_shift(&nh.std, &nl.std, "naive").unwrap();
    assert!((shift.wasserstein - sh.wasserstein).abs() < 1e-9);

    // Permutation test: observed and p against a naive test with the same seed.
    let pool: Vec<usize> = high.iter().chain(&low_g).copied().collect();
    let labels: Vec<bool> = (0..pool.len()).map(|i| i >= high.len()).collect();
    let naive_stat = |l: &[bool]| {
        let pick = |want: bool| {
            naive_stats(
                &pool
                    .iter()
                    .zip(l)
                    .filter(|(_, x)| **x == want)
                    .map(|(&r, _)| &full[r])
                    .collect::<Vec<_>>(),
            )
        };
        out_mean(&pick(true).std) - out_mean(&pick(false).std)
    };
    let r = amva_math::compare::permutation_test(
        &labels,
        naive_stat,
        &amva_math::compare::PermutationOptions {
            n_perm: 99,
            seed: 9,
            alternative: amva_math::compare::Alternative::Greater,
        },
    )
    .unwrap();
    let pt = m.permutation_test.run().unwrap();
    assert!((pt.observed - r.observed).abs() < 1e-6);
    assert_eq!(pt.extreme, r.extreme, "{pt:?}");
    assert_eq!(pt.p_value, r.p_value);
    let perm = read_npy(&out.join("arrays/q/permutation.npy"));
    assert_eq!(perm.len(), 100);

    // Trend over 4 bins: outside AM-V of each bin by naive sort.
    let worst_first: Vec<usize> = valid.iter().rev().map(|v| v.0).collect();
    let nb = worst_first.len();
    let outs: Vec<f64> = (0..4)
        .map(|b| {
            let g: Vec<&Vec<f32>> = worst_first[b * nb / 4..(b + 1) * nb / 4]
                .iter()
                .map(|&i| &full[i])
                .collect();
            out_mean(&naive_stats(&g).std)
        })
        .collect();
    let trend = m.trend.as_ref().unwrap();
    close("trend", &trend.outside_amv, &outs, 1e-9);
    let rho = amva_math::compare::spearman(&[1.0, 2.0, 3.0, 4.0], &outs).unwrap();
    assert!((trend.spearman_bin_vs_outside_amv - rho).abs() < 1e-12);
}

#[test]
fn scores_join_and_group_like_a_naive_sort() {
    use proptest::prelude::*;
    let cfg = ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    };
    proptest!(cfg, |(vals in proptest::collection::vec(proptest::option::of(0u8..6), 6..60),
                    lower in any::<bool>(), pct in 1u32..60, missing in 0usize..4)| {
        let n = vals.len();
        let id: Vec<String> = (0..n).map(|i| format!("i{:03}", (i * 37) % 1000)).collect();
        let mut uniq = id.clone(); uniq.sort(); uniq.dedup();
        prop_assume!(uniq.len() == n);
        // Maps for all but the last `missing` images; None scores are NaN.
        let store_ids: Vec<String> = id[..n - missing.min(n)].to_vec();
        let scores = MethodScores {
            name: "m".into(),
            direction: if lower { Direction::Lower } else { Direction::Higher },
            direction_source: amva_quality::scores::DirectionSource::Default,
            source: "m.csv".into(),
            scores: vals.iter().enumerate().filter_map(|(i, v)| v.map(|s| ScoreRow { image: id[i].clone(), score: f64::from(s), line: i + 2 })).collect(),
            non_finite: vals.iter().enumerate().filter(|(_, v)| v.is_none()).map(|(i, _)| ScoreRow { image: id[i].clone(), score: f64::NAN, line: i + 2 }).collect(),
            repeated: 0,
            params: serde_json::json!({}),
        };
        let rules = GroupRules { high: format!("top:{pct}%").parse().unwrap(), low: format!("bottom:{pct}%").parse().unwrap(), bins: Some(2) };
        let valid: Vec<usize> = (0..store_ids.len()).filter(|&i| vals[i].is_some()).collect();
        let res = join_and_group(&store_ids, Path::new("maps"), &scores, &rules);
        let k = (valid.len() * pct as usize).div_ceil(100);
        if valid.is_empty() {
            prop_assert!(res.is_err());
            return Ok(());
        }
        if k < 2 || valid.len() < 4 {
            let err = res.unwrap_err().to_string();
            prop_assert!(err.contains("method 'm'") && (err.contains("top:") || err.contains("bins") || err.contains("bottom:")), "{}", err);
            return Ok(());
        }
        let g = res.unwrap();
        let mut order = valid.clone();
        order.sort_by(|&a, &b| {
            let (x, y) = (f64::from(vals[a].unwrap()), f64::from(vals[b].unwrap()));
            let c = if lower { x.partial_cmp(&y).unwrap() } else { y.partial_cmp(&x).unwrap() };
            c.then(id[a].cmp(&id[b]))
        });
        let mut high: Vec<usize> = order[..k].to_vec(); high.sort();
        let mut low: Vec<usize> = order[order.len() - k..].to_vec(); low.sort();
        prop_assert_eq!(&g.high.rows, &high);
        prop_assert_eq!(&g.low.rows, &low);
        prop_assert_eq!(g.without_map.len(), vals[store_ids.len()..].iter().filter(|v| v.is_some()).count());
        prop_assert_eq!(g.non_finite.len(), vals.iter().filter(|v| v.is_none()).count());
        prop_assert_eq!(g.bins.len(), 2);
        prop_assert_eq!(g.bins[0].rows.len() + g.bins[1].rows.len(), valid.len());
    });
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let maps_dir = dir.path().join("maps");
    let n = 10;
    write_store(
        &maps_dir,
        &ids(n),
        LOW,
        FULL,
        &random_maps(n, 1),
        false,
        serde_json::json!({}),
    )
    .unwrap();
    let run = |scores: &Path, high: &str| {
        let mut o = AnalyzeOptions::new(&maps_dir, vec![scores.into()], dir.path().join("out"));
        o.rules.high = high.parse().unwrap();
        o.permutations = 10;
        analyze(&o, &mut |_, _, _| {}).unwrap_err().to_string()
    };
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let e = run(&empty, "top:10%");
    assert!(e.contains("empty.csv") && e.contains("empty"), "{e}");
    let dup = dir.path().join("dup.csv");
    std::fs::write(
        &dup,
        format!(
            "image,score\n{},1\n{},2\n{},3\n",
            ids(n)[0],
            ids(n)[1],
            ids(n)[0]
        ),
    )
    .unwrap();
    let e = run(&dup, "top:10%");
    assert!(
        e.contains("line 2") && e.contains("line 4") && e.contains(&ids(n)[0]),
        "{e}"
    );
    let none = score_file(dir.path(), "none.csv", &[("x.png".into(), 1.0)]);
    let e = run(&none, "top:10%");
    assert!(e.contains("'none'") && e.contains("none of its 1"), "{e}");
    let ok = score_file(
        dir.path(),
        "few.csv",
        &ids(n).into_iter().map(|i| (i, 1.0)).collect::<Vec<_>>(),
    );
    let e = run(&ok, "top:1");
    assert!(
        e.contains("method 'few'") && e.contains("top:1") && e.contains("at least 2"),
        "{e}"
    );
    let e = run(&ok, "above:5");
    assert!(
        e.contains("method 'few'") && e.contains("above:5") && e.contains("selects no image"),
        "{e}"
    );
    // Nothing was left half-written as a report.
    assert!(!dir.path().join("out/report.html").exists());
    let _ = read_score_files(&[ok], &[]).unwrap();
}

/// Two methods, one per file shape, one of them lower-is-better by its sidecar:
/// Spearman and Jaccard across methods against naive versions.
#[test]
fn agreement_across_methods_matches_naive() {
    let n = 50;
    let dir = tempfile::tempdir().unwrap();
    let maps_dir = dir.path().join("maps");
    let id = ids(n);
    write_store(
        &maps_dir,
        &id,
        LOW,
        FULL,
        &random_maps(n, 4),
        false,
        serde_json::json!({}),
    )
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let a: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..1.0)).collect();
    // b: lower is better and roughly agrees with a; two images unscored.
    let b: Vec<f64> = a.iter().map(|x| -x + rng.random_range(-0.3..0.3)).collect();
    let fa = score_file(
        dir.path(),
        "alpha.csv",
        &id.iter()
            .cloned()
            .zip(a.iter().copied())
            .collect::<Vec<_>>(),
    );
    let fb = dir.path().join("long.csv");
    let mut body = String::from("image,method,score\n");
    for i in 2..n {
        body.push_str(&format!("{},beta,{}\n", id[i], b[i]));
    }
    std::fs::write(&fb, body).unwrap();
    std::fs::write(
        dir.path().join("long.meta.json"),
        r#"{"methods": {"beta": {"direction": "lower"}}}"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let mut opts = AnalyzeOptions::new(&maps_dir, vec![fa, fb], &out);
    opts.rules.high = "top:30%".parse().unwrap();
    opts.rules.low = "bottom:30%".parse().unwrap();
    opts.permutations = 10;
    analyze(&opts, &mut |_, _, _| {}).unwrap();
    let s = Summary::read(&out).unwrap();
    assert_eq!(s.methods["beta"].direction, "lower");
    assert_eq!(s.methods["beta"].direction_source, "sidecar");
    let across = &s.across_methods;
    let sp = &across.spearman[0];
    assert_eq!(sp.n, n - 2);
    // Naive Spearman: Pearson of ranks (no ties in continuous data) of a and -b.
    let rank = |v: &[f64]| -> Vec<f64> {
        let mut o: Vec<usize> = (0..v.len()).collect();
        o.sort_by(|&i, &j| v[i].partial_cmp(&v[j]).unwrap());
        let mut r = vec![0.0; v.len()];
        for (k, &i) in o.iter().enumerate() {
            r[i] = k as f64;
        }
        r
    };
    let (ra, rb) = (
        rank(&a[2..]),
        rank(&b[2..].iter().map(|x| -x).collect::<Vec<_>>()),
    );
    let m = (n - 2) as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / m, rb.iter().sum::<f64>() / m);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    let rho = cov / (va * vb).sqrt();
    assert!((sp.spearman - rho).abs() < 1e-12, "{sp:?} vs naive {rho}");
    assert!(rho > 0.5, "the scores agree by construction: {rho}");
    // Naive Jaccard of the groups, from groups/*.csv.
    let members = |m: &str, g: &str| -> std::collections::BTreeSet<String> {
        std::fs::read_to_string(out.join(format!("groups/{m}.csv")))
            .unwrap()
            .lines()
            .skip(1)
            .filter(|l| l.rsplit(',').next().unwrap().split(';').any(|x| x == g))
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect()
    };
    for (g, pairs) in [("high", &across.jaccard_high), ("low", &across.jaccard_low)] {
        let (x, y) = (members("alpha", g), members("beta", g));
        let j = x.intersection(&y).count() as f64 / x.union(&y).count() as f64;
        let got = pairs[0].jaccard;
        assert!((got - j).abs() < 1e-12, "{g}: {got} vs naive {j}");
    }
    // beta's high group holds its lowest scores.
    let high_b = members("beta", "high");
    let worst_in_high = high_b
        .iter()
        .map(|i| b[id.iter().position(|x| x == i).unwrap()])
        .fold(f64::NEG_INFINITY, f64::max);
    let best_outside = (2..n)
        .filter(|&i| !high_b.contains(&id[i]))
        .map(|i| b[i])
        .fold(f64::INFINITY, f64::min);
    assert!(worst_in_high <= best_outside);
}

/// `explain` against a reference read back from an analysis: deviation, z-map and
/// scores against naive ones; a model with another checksum refused naming both.
#[test]
#[allow(clippy::needless_range_loop)] // pixel p of five aligned maps
fn explanation_against_a_reference_matches_naive() {
    use amva_analysis::explain::{explain_map, Reference};
    let n = 30;
    let dir = tempfile::tempdir().unwrap();
    let maps_dir = dir.path().join("maps");
    let id = ids(n);
    let low = random_maps(n, 12);
    write_store(
        &maps_dir,
        &id,
        LOW,
        FULL,
        &low,
        false,
        serde_json::json!({"model_sha256": "aa11"}),
    )
    .unwrap();
    let scores = score_file(
        dir.path(),
        "q.csv",
        &id.iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as f64))
            .collect::<Vec<_>>(),
    );
    let out = dir.path().join("out");
    let mut opts = AnalyzeOptions::new(&maps_dir, vec![scores], &out);
    opts.rules.high = "top:10".parse().unwrap();
    opts.permutations = 0;
    analyze(&opts, &mut |_, _, _| {}).unwrap();
    let r = Reference::open(&out, None).unwrap();
    assert_eq!((r.method.as_str(), r.n, r.shape), ("q", 10, FULL));
    r.check_model(Path::new("m.onnx"), "AA11").unwrap();
    let e = r
        .check_model(Path::new("m.onnx"), "bb22")
        .unwrap_err()
        .to_string();
    assert!(e.contains("aa11") && e.contains("bb22"), "{e}");
    let err = Reference::open(&out, Some("nope")).unwrap_err().to_string();
    assert!(err.contains("'nope'") && err.contains("q"), "{err}");

    // The reference is the top 10 by score: ids 20..30.
    let full = finish_all(&low, n);
    let nv = naive_stats(&(20..30).map(|i| &full[i]).collect::<Vec<_>>());
    close("reference MAM", &r.mam, &nv.mean, 1e-6);
    close("reference AM-V", &r.amv, &nv.std, 1e-6);
    let map = &full[3];
    let ex = explain_map(&r, map, 0.01).unwrap();
    let (mut sum, mut si, mut so, mut ni, mut no, mut zmax) = (0.0, 0.0, 0.0, 0, 0, 0.0f64);
    for p in 0..map.len() {
        let d = (f64::from(map[p]) - r.mam[p]).abs();
        let z = (f64::from(map[p]) - r.mam[p]) / r.amv[p].max(0.01);
        assert!(
            (ex.deviation[p] - d).abs() < 1e-12 && (ex.z[p] - z).abs() < 1e-9,
            "pixel {p}"
        );
        sum += d;
        zmax = zmax.max(z.abs());
        if r.inside[p] {
            si += d;
            ni += 1;
        } else {
            so += d;
            no += 1;
        }
    }
    let s = ex.scores;
    assert!((s.mean_abs_deviation - sum / map.len() as f64).abs() < 1e-12);
    assert!(
        (s.inside - si / ni as f64).abs() < 1e-12 && (s.outside - so / no as f64).abs() < 1e-12
    );
    assert!((s.outside_share - so / sum).abs() < 1e-12);
    assert!((s.max_abs_z - zmax).abs() < 1e-9);
}

/// images.csv (issue 12): typicality against a naive mean |z| over all maps (1e-6),
/// each method's deviation scores equal `explain_map` against the reference read back
/// with `Reference::open` (the code path of `amva explain`, 1e-6), ranks and groups
/// equal a naive sort (ties by image id).
#[test]
fn images_csv_matches_naive_typicality_explain_and_ranks() {
    use amva_analysis::explain::{explain_map, Reference};
    let n = 40;
    let dir = tempfile::tempdir().unwrap();
    let (maps_dir, id, low) = random_store(dir.path(), n, 21);
    // Method a: score = row (ties at rows 0 and 1); method b: lower is better, some ties.
    let a: Vec<(String, f64)> = (0..n).map(|i| (id[i].clone(), (i.max(1)) as f64)).collect();
    let b: Vec<(String, f64)> = (0..n)
        .map(|i| (id[i].clone(), ((i * 7) % 11) as f64))
        .collect();
    let sa = score_file(dir.path(), "a.csv", &a);
    let sb = score_file(dir.path(), "b.csv", &b);
    let out = dir.path().join("out");
    let mut opts = AnalyzeOptions::new(&maps_dir, vec![sa, sb], &out);
    opts.directions = vec![("b".into(), amva_math::groups::Direction::Lower)];
    opts.permutations = 0;
    analyze(&opts, &mut |_, _, _| {}).unwrap();
    let text = std::fs::read_to_string(out.join("images.csv")).unwrap();
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let rows: Vec<Vec<String>> = rd
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), n);
    let full = finish_all(&low, n);
    let all = naive_stats(&full.iter().collect::<Vec<_>>());
    let f32r = |v: &[f64]| v.iter().map(|&x| f64::from(x as f32)).collect::<Vec<f64>>();
    let (mam, amv) = (f32r(&all.mean), f32r(&all.std));
    let num = |s: &str| s.parse::<f64>().unwrap();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[col("image")], id[i]);
        let naive: f64 = full[i]
            .iter()
            .enumerate()
            .map(|(p, &v)| ((f64::from(v) - mam[p]) / amv[p].max(0.01)).abs())
            .sum::<f64>()
            / full[i].len() as f64;
        let got = num(&r[col("typicality")]);
        assert!(
            (got - naive).abs() <= 1e-6,
            "image {i}: typicality {got} vs naive {naive}"
        );
    }
    for (m, scores, lower) in [("a", &a, false), ("b", &b, true)] {
        let reference = Reference::open(&out, Some(m)).unwrap();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&x, &y| {
            let (sx, sy) = (scores[x].1, scores[y].1);
            let c = if lower {
                sx.total_cmp(&sy)
            } else {
                sy.total_cmp(&sx)
            };
            c.then(id[x].cmp(&id[y]))
        });
        for (i, r) in rows.iter().enumerate() {
            let e = explain_map(&reference, &full[i], 0.01).unwrap().scores;
            for (c, want) in [
                ("mean_abs_deviation", e.mean_abs_deviation),
                ("inside", e.inside),
                ("outside", e.outside),
                ("outside_share", e.outside_share),
                ("mean_abs_z", e.mean_abs_z),
            ] {
                let got = num(&r[col(&format!("{m}.{c}"))]);
                assert!(
                    (got - want).abs() <= 1e-6,
                    "{m} image {i} {c}: {got} vs {want}"
                );
            }
            let rank = order.iter().position(|&x| x == i).unwrap() + 1;
            assert_eq!(
                r[col(&format!("{m}.rank"))],
                rank.to_string(),
                "{m} image {i}"
            );
            let groups = r[col(&format!("{m}.group"))].clone();
            assert_eq!(
                groups.split(';').any(|g| g == "high"),
                rank <= 4,
                "{m} {i}: {groups}"
            );
            assert_eq!(
                groups.split(';').any(|g| g == "low"),
                rank > n - 4,
                "{m} {i}: {groups}"
            );
        }
    }
}

/// `--groups` (issue 12): per-label MAM, AM-V, MAD against naive statistics (1e-6,
/// the median exactly, as float32), region means and pairwise D-AM-V against naive
/// ones, labels crossed with quality; a label with one image, an unknown id, an empty
/// label and a repeated image are listed, not fatal; HTML in a label is escaped.
#[test]
fn categorical_groups_match_naive_statistics_and_bad_lines_are_listed() {
    let n = 36;
    let dir = tempfile::tempdir().unwrap();
    let (maps_dir, id, low) = random_store(dir.path(), n, 33);
    let scores = score_file(
        dir.path(),
        "q.csv",
        &(0..n)
            .map(|i| (id[i].clone(), i as f64))
            .collect::<Vec<_>>(),
    );
    let html = "<script>alert(1)</script>";
    let label = |i: usize| match i % 3 {
        0 => "Zoë ñ",
        1 => html,
        _ => "cam-b",
    };
    let mut body = String::from("image,group\n");
    for (i, s) in id.iter().enumerate().take(n - 1) {
        body.push_str(&format!("{s},\"{}\"\n", label(i)));
    }
    body.push_str(&format!("{},lonely\n", id[n - 1]));
    body.push_str("no/such/image.png,cam-b\n");
    body.push_str(&format!("{},\n", id[0]));
    body.push_str(&format!("{},cam-b\n", id[1]));
    let groups = dir.path().join("groups.csv");
    std::fs::write(&groups, body).unwrap();
    let out = dir.path().join("out");
    let mut opts = AnalyzeOptions::new(&maps_dir, vec![scores], &out);
    opts.groups = Some(groups);
    opts.permutations = 99;
    let outcome = analyze(&opts, &mut |_, _, _| {}).unwrap();
    assert!(
        outcome
            .notes
            .iter()
            .any(|n| n.contains("'lonely' has 1 image")),
        "{:?}",
        outcome.notes
    );
    let full = finish_all(&low, n);
    let mask: Vec<bool> = read_npy(&out.join("arrays/region_mask.npy"))
        .iter()
        .map(|&v| v == 1.0)
        .collect();
    let region = |v: &[f64]| {
        let (mut si, mut so, mut ni, mut no) = (0.0, 0.0, 0.0, 0.0);
        for (x, &inside) in v.iter().zip(&mask) {
            if inside {
                si += x;
                ni += 1.0;
            } else {
                so += x;
                no += 1.0;
            }
        }
        (si / ni, so / no)
    };
    let text = std::fs::read_to_string(out.join("labels.csv")).unwrap();
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 3, "{text}");
    let num = |s: &str| s.parse::<f64>().unwrap();
    let mut naive_amv = Vec::new();
    for (k, r) in rows.iter().enumerate() {
        let name = &r[0];
        let members: Vec<usize> = (0..n - 1).filter(|&i| label(i) == name).collect();
        assert_eq!(r[1].parse::<usize>().unwrap(), members.len(), "{name}");
        let nv = naive_stats(&members.iter().map(|&i| &full[i]).collect::<Vec<_>>());
        let key = ["Zo_", "_script_alert_1___script_", "cam-b"][k];
        let arr = |s: &str| {
            let files: Vec<_> = std::fs::read_dir(out.join("arrays/labels"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
                .filter(|f| f.starts_with(key) && f.ends_with(&format!("_{s}.npy")))
                .collect();
            assert_eq!(files.len(), 1, "{key} {s}: {files:?}");
            read_npy(&out.join("arrays/labels").join(&files[0]))
        };
        close(&format!("{name} MAM"), &arr("mam"), &nv.mean, 1e-6);
        close(&format!("{name} AM-V"), &arr("amv"), &nv.std, 1e-6);
        close(&format!("{name} MAD"), &arr("mad"), &nv.mad, 1e-6);
        let f32s = |v: &[f64]| v.iter().map(|&x| f64::from(x as f32)).collect::<Vec<_>>();
        exact(&format!("{name} median"), &arr("median"), &f32s(&nv.median));
        let (ai, ao) = region(&nv.std);
        assert!(
            (num(&r[4]) - ai).abs() < 1e-9 && (num(&r[5]) - ao).abs() < 1e-9,
            "{name}"
        );
        let p = num(&r[7]);
        assert!(
            p > 0.0 && p <= 1.0 && r[8].parse::<usize>().unwrap() == 99,
            "{name}: {p}"
        );
        naive_amv.push((name.to_string(), nv.std));
    }
    let pairs = std::fs::read_to_string(out.join("labels_pairs.csv")).unwrap();
    let prs: Vec<csv::StringRecord> = csv::Reader::from_reader(pairs.as_bytes())
        .records()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(prs.len(), 3);
    for p in &prs {
        let get = |n: &str| &naive_amv.iter().find(|(x, _)| x == n).unwrap().1;
        let d: Vec<f64> = get(&p[0])
            .iter()
            .zip(get(&p[1]))
            .map(|(a, b)| (a - b).abs())
            .collect();
        let (di, dout) = region(&d);
        assert!(
            (num(&p[3]) - di).abs() < 1e-6 && (num(&p[4]) - dout).abs() < 1e-6,
            "{p:?}"
        );
    }
    // Crossed: the high group is the top 10 % by score (rows 32..35 of 36: 4 images).
    let crossed = std::fs::read_to_string(out.join("labels_crossed.csv")).unwrap();
    for r in csv::Reader::from_reader(crossed.as_bytes()).records() {
        let r = r.unwrap();
        let high: Vec<usize> = (n - 4..n - 1).filter(|&i| label(i) == &r[1]).collect();
        assert_eq!(r[2].parse::<usize>().unwrap(), high.len(), "{r:?}");
        if high.len() >= 2 {
            let nv = naive_stats(&high.iter().map(|&i| &full[i]).collect::<Vec<_>>());
            assert!((num(&r[4]) - region(&nv.std).1).abs() < 1e-9, "{r:?}");
        } else {
            assert_eq!(&r[4], "", "{r:?}");
        }
    }
    let unmatched = std::fs::read_to_string(out.join("unmatched.csv")).unwrap();
    for want in [
        "no/such/image.png",
        "empty group label",
        "listed again (first on line 3)",
    ] {
        assert!(unmatched.contains(want), "{want}: {unmatched}");
    }
    let images = std::fs::read_to_string(out.join("images.csv")).unwrap();
    assert!(
        images.lines().next().unwrap().contains(",label,"),
        "{images}"
    );
    // The label as written (HTML and unicode) in labels.csv; the report and the
    // explorer show it as text (crates/amva/tests/analyze.rs, in Chromium).
    let table = std::fs::read_to_string(out.join("labels.csv")).unwrap();
    assert!(table.contains(html) && table.contains("Zoë ñ"), "{table}");
}
