//! Quality groups (ALGORITHMS 2) against a naive sort-and-cut.

use amva_math::groups::{edge_tie, rank, select, Direction, Rule};
use amva_math::MathError;
use proptest::prelude::*;

fn ids(n: usize) -> Vec<String> {
    // Unique (7919 is invertible modulo the prime 100003) and in an order unrelated
    // to the row index, so that tie-breaking by id is really exercised.
    (0..n)
        .map(|i| format!("img{:05}", (i * 7919) % 100_003))
        .collect()
}

/// Naive ranking: sort (quality-as-higher-is-better, id) pairs, best first, by an
/// explicit comparison; ties in quality go to the smaller id.
fn naive_best_first(ids: &[String], scores: &[f64], dir: Direction) -> Vec<usize> {
    let mut rows: Vec<(f64, String, usize)> = scores
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_finite())
        .map(|(i, &s)| {
            (
                if dir == Direction::Lower { -s } else { s },
                ids[i].clone(),
                i,
            )
        })
        .collect();
    rows.sort_by(|a, b| {
        if a.0 > b.0 {
            std::cmp::Ordering::Less
        } else if a.0 < b.0 {
            std::cmp::Ordering::Greater
        } else {
            a.1.cmp(&b.1)
        }
    });
    rows.into_iter().map(|r| r.2).collect()
}

fn sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort();
    v
}

fn scores_strategy() -> impl Strategy<Value = Vec<f64>> {
    // Few distinct values so ties are common; some NaN and infinities.
    prop::collection::vec(
        prop_oneof![
            8 => (0i32..6).prop_map(|v| v as f64 * 0.5),
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
        ],
        1..60,
    )
}

fn dir_strategy() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::Higher), Just(Direction::Lower)]
}

proptest! {
    #[test]
    fn top_and_bottom_match_naive(scores in scores_strategy(), dir in dir_strategy(), pct in 1u32..=100, k in 1usize..70) {
        let ids = ids(scores.len());
        let naive = naive_best_first(&ids, &scores, dir);
        let n = naive.len();
        let excluded: Vec<usize> = (0..scores.len()).filter(|&i| !scores[i].is_finite()).collect();
        // ceil(pct% * n) in integers
        let kp = (pct as usize * n).div_ceil(100);
        for (text, want) in [
            (format!("top:{pct}%"), naive[..kp].to_vec()),
            (format!("bottom:{pct}%"), naive[n - kp..].to_vec()),
            (format!("top:{k}"), naive[..k.min(n)].to_vec()),
            (format!("bottom:{k}"), naive[n - k.min(n)..].to_vec()),
        ] {
            let rule: Rule = text.parse().unwrap();
            match select(&ids, &scores, dir, &rule) {
                Ok(sel) => {
                    prop_assert_eq!(&sel.groups, &vec![sorted(want)]);
                    prop_assert_eq!(&sel.excluded, &excluded);
                }
                Err(MathError::EmptyGroup { rule: r, valid }) => {
                    prop_assert!(want.is_empty());
                    prop_assert_eq!(r, text);
                    prop_assert_eq!(valid, 0);
                }
                Err(e) => prop_assert!(false, "unexpected error {}", e),
            }
        }
    }

    #[test]
    fn thresholds_and_bins_match_naive(scores in scores_strategy(), dir in dir_strategy(), t in 0i32..6, b in 1usize..8) {
        let ids = ids(scores.len());
        let t = t as f64 * 0.5 - 0.25;
        let finite: Vec<usize> = (0..scores.len()).filter(|&i| scores[i].is_finite()).collect();
        let above: Vec<usize> = finite.iter().copied().filter(|&i| scores[i] >= t).collect();
        let below: Vec<usize> = finite.iter().copied().filter(|&i| scores[i] < t).collect();
        for (rule, want) in [(Rule::Above(t), above), (Rule::Below(t), below)] {
            match select(&ids, &scores, dir, &rule) {
                Ok(sel) => prop_assert_eq!(sel.groups, vec![want]),
                Err(MathError::EmptyGroup { .. }) => prop_assert!(want.is_empty()),
                Err(e) => prop_assert!(false, "unexpected error {}", e),
            }
        }
        // Bins: the naive worst-first order cut at floor(k n / B).
        let mut worst_first = naive_best_first(&ids, &scores, dir);
        worst_first.reverse();
        let n = worst_first.len();
        match select(&ids, &scores, dir, &Rule::Bins(b)) {
            Ok(sel) => {
                prop_assert!(b <= n);
                let want: Vec<Vec<usize>> = (0..b).map(|k| sorted(worst_first[k * n / b..(k + 1) * n / b].to_vec())).collect();
                prop_assert_eq!(sel.groups, want);
            }
            Err(MathError::EmptyGroup { rule, .. }) => {
                prop_assert!(b > n);
                prop_assert_eq!(rule, format!("bins:{b}"));
            }
            Err(e) => prop_assert!(false, "unexpected error {}", e),
        }
    }

    #[test]
    fn top_k_and_bottom_rest_partition(scores in scores_strategy(), dir in dir_strategy(), k in 1usize..60) {
        let ids = ids(scores.len());
        let n = scores.iter().filter(|s| s.is_finite()).count();
        prop_assume!(k < n);
        let top = select(&ids, &scores, dir, &format!("top:{k}").parse().unwrap()).unwrap();
        let bottom = select(&ids, &scores, dir, &format!("bottom:{}", n - k).parse().unwrap()).unwrap();
        let mut all = [top.groups[0].clone(), bottom.groups[0].clone()].concat();
        all.sort();
        let finite: Vec<usize> = (0..scores.len()).filter(|&i| scores[i].is_finite()).collect();
        prop_assert_eq!(all, finite);
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn ties_at_the_cut_go_by_id() {
    let ids = s(&["b", "a", "c", "d"]);
    let scores = [1.0, 1.0, 1.0, 0.0];
    let top1 = select(&ids, &scores, Direction::Higher, &"top:1".parse().unwrap()).unwrap();
    assert_eq!(top1.groups, vec![vec![1]]); // "a" ranks best among the tied
    let top2 = select(&ids, &scores, Direction::Higher, &"top:2".parse().unwrap()).unwrap();
    assert_eq!(top2.groups, vec![vec![0, 1]]); // "a", "b"
    let bottom2 = select(
        &ids,
        &scores,
        Direction::Higher,
        &"bottom:2".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(bottom2.groups, vec![vec![2, 3]]); // "d" (0.0), then "c" (last of the tied)
                                                  // -0.0 and 0.0 are the same score: the id decides.
    let r = rank(&s(&["y", "x"]), &[0.0, -0.0], Direction::Higher).unwrap();
    assert_eq!(r.best_first, vec![1, 0]);
}

#[test]
fn direction_lower_puts_small_scores_on_top() {
    let ids = s(&["a", "b", "c", "d", "e"]);
    let brisque = [50.0, 10.0, 30.0, f64::NAN, 20.0];
    let top = select(
        &ids,
        &brisque,
        Direction::Lower,
        &"top:40%".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(top.groups, vec![vec![1, 4]]); // 10, 20
    assert_eq!(top.excluded, vec![3]);
    let bottom = select(
        &ids,
        &brisque,
        Direction::Lower,
        &"bottom:1".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(bottom.groups, vec![vec![0]]);
    // Thresholds stay on the raw score.
    let above = select(
        &ids,
        &brisque,
        Direction::Lower,
        &"above:30".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(above.groups, vec![vec![0, 2]]);
    let bins = select(&ids, &brisque, Direction::Lower, &"bins:2".parse().unwrap()).unwrap();
    assert_eq!(bins.groups, vec![vec![0, 2], vec![1, 4]]); // worst (50, 30) then best
}

#[test]
fn percent_counts_are_exact_ceilings() {
    let cases = [
        ("10", 30, 3), // 0.1 * 30 is 3.0000000000000004 in f64; must stay 3
        ("10", 31, 4),
        ("0.5", 200, 1),
        ("0.5", 201, 2),
        ("12.5", 8, 1),
        ("12.5", 9, 2),
        ("29", 100, 29), // 0.29 * 100 = 28.999999999999996 in f64
        ("100", 7, 7),
        ("33.333", 3, 1),
    ];
    for (p, n, want) in cases {
        let ids: Vec<String> = (0..n).map(|i| format!("{i:04}")).collect();
        let scores: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let rule: Rule = format!("top:{p}%").parse().unwrap();
        let sel = select(&ids, &scores, Direction::Higher, &rule).unwrap();
        assert_eq!(sel.groups[0].len(), want, "top:{p}% of {n}");
        assert_eq!(rule.to_string(), format!("top:{p}%"));
    }
}

#[test]
fn rule_parsing_accepts_and_rejects() {
    for good in [
        "top:10%",
        "bottom:12.5%",
        "top:5",
        "bottom:1",
        "above:0.3",
        "below:-2",
        "bins:4",
        " TOP : 10 % ",
    ] {
        assert!(good.parse::<Rule>().is_ok(), "{good}");
    }
    assert_eq!("above:0.25".parse::<Rule>().unwrap(), Rule::Above(0.25));
    assert_eq!("bins:3".parse::<Rule>().unwrap(), Rule::Bins(3));
    for bad in [
        "top",
        "top:",
        "top:0",
        "top:0%",
        "top:101%",
        "top:-5",
        "top:1e1%",
        "top:x%",
        "top:.%",
        "mid:3",
        "above:nan",
        "below:inf",
        "bins:0",
        "bins:2.5",
        "top:5.5",
    ] {
        match bad.parse::<Rule>() {
            Err(MathError::InvalidRule { input, reason }) => {
                assert_eq!(input, bad);
                let msg = MathError::InvalidRule { input, reason }.to_string();
                assert!(msg.contains(bad) && msg.contains("top:P%"), "{msg}");
            }
            other => panic!("{bad}: expected InvalidRule, got {other:?}"),
        }
    }
    assert_eq!("Lower".parse::<Direction>().unwrap(), Direction::Lower);
    assert_eq!("higher".parse::<Direction>().unwrap(), Direction::Higher);
    assert!(matches!(
        "up".parse::<Direction>(),
        Err(MathError::InvalidDirection { .. })
    ));
}

#[test]
fn empty_groups_and_bad_inputs_are_errors() {
    let ids = s(&["a", "b", "c"]);
    let scores = [0.1, 0.2, f64::NAN];
    let err = select(
        &ids,
        &scores,
        Direction::Higher,
        &"above:5".parse().unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        MathError::EmptyGroup {
            rule: "above:5".into(),
            valid: 2
        }
    );
    assert!(err.to_string().contains("above:5"));
    let err = select(&ids, &scores, Direction::Higher, &"bins:3".parse().unwrap()).unwrap_err();
    assert!(matches!(err, MathError::EmptyGroup { ref rule, valid: 2 } if rule == "bins:3"));
    let all_nan = [f64::NAN; 3];
    assert!(matches!(
        select(
            &ids,
            &all_nan,
            Direction::Higher,
            &"top:10%".parse().unwrap()
        ),
        Err(MathError::EmptyGroup { valid: 0, .. })
    ));
    assert!(matches!(
        select(
            &ids,
            &[0.1, 0.2],
            Direction::Higher,
            &"top:1".parse().unwrap()
        ),
        Err(MathError::LengthMismatch { .. })
    ));
    assert_eq!(
        select(
            &s(&["a", "b", "a"]),
            &[0.1, 0.2, 0.3],
            Direction::Higher,
            &"top:1".parse().unwrap()
        )
        .unwrap_err(),
        MathError::DuplicateId {
            id: "a".into(),
            first: 0,
            second: 2
        }
    );
}

#[test]
fn all_equal_scores_are_reported_as_a_tie_broken_by_id() {
    let ids: Vec<String> = ["d", "a", "c", "b"].iter().map(|s| s.to_string()).collect();
    let scores = [0.5; 4];
    let top: Rule = "top:50%".parse().unwrap();
    let sel = select(&ids, &scores, Direction::Higher, &top).unwrap();
    // The ids decide: a and b rank first.
    assert_eq!(sel.groups, vec![vec![1, 3]]);
    let tie = edge_tie(&scores, &sel.groups[0]).unwrap();
    assert_eq!((tie.inside, tie.outside, tie.scores), (2, 2, (0.5, 0.5)));
    assert!(tie.note("high").contains("broken by image id"));
    // Distinct scores across the edge: no tie, even with a tie inside the group.
    assert_eq!(edge_tie(&[3.0, 2.0, 2.0, 1.0], &[0, 1, 2]), None);
    let t = edge_tie(&[3.0, 2.0, 2.0, f64::NAN], &[0, 1]).unwrap();
    assert_eq!((t.inside, t.outside, t.scores), (1, 1, (2.0, 2.0)));
}
