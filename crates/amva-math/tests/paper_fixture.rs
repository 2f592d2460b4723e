//! `--compat paper` statistics against values computed by NumPy, emulating the
//! paper's PyTorch code (torch.mean, torch.std with n - 1, torch.median = lower
//! middle, std_mad = torch.std((x - median) ** 2)).
//!
//! The fixture `fixtures/paper_stats.json` is committed. To regenerate it (from the
//! repository root; it only changes if the script changes):
//!
//! ```text
//! python3 -m venv .venv-np && .venv-np/bin/pip install numpy
//! .venv-np/bin/python crates/amva-math/fixtures/paper_stats.py
//! ```

use amva_math::stats::{robust_stats, MedianKind, Welford};
use serde_json::Value;

fn floats(case: &Value, key: &str) -> Vec<f64> {
    case[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture key {key} missing"))
        .iter()
        .map(|v| {
            v.as_f64()
                .unwrap_or_else(|| panic!("fixture key {key}: not a number"))
        })
        .collect()
}

fn assert_close(what: &str, n: usize, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what} (n = {n})");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-6,
            "{what} (n = {n}) pixel {i}: got {g}, numpy {w}"
        );
    }
}

#[test]
fn paper_statistics_match_numpy_fixture() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/paper_stats.json");
    let text = std::fs::read_to_string(path).expect("committed fixture fixtures/paper_stats.json");
    let fixture: Value = serde_json::from_str(&text).expect("fixture is JSON");
    let cases = fixture["cases"].as_array().expect("cases array");
    let mut seen_n = Vec::new();
    for case in cases {
        let n = case["n"].as_u64().expect("n") as usize;
        let p = (case["h"].as_u64().expect("h") * case["w"].as_u64().expect("w")) as usize;
        // The maps are float32 values written exactly; narrowing is lossless.
        let maps: Vec<f32> = floats(case, "maps").into_iter().map(|v| v as f32).collect();
        assert_eq!(maps.len(), n * p);

        let acc = Welford::from_stack(&maps, n, p).unwrap();
        assert_close("mean", n, acc.mean().unwrap(), &floats(case, "mean"));
        assert_close("std", n, &acc.std().unwrap(), &floats(case, "std"));

        let paper = robust_stats(&maps, n, p, MedianKind::LowerMiddle, true).unwrap();
        assert_close(
            "median (lower middle)",
            n,
            &paper.median,
            &floats(case, "median_lower"),
        );
        assert_close(
            "std_mad",
            n,
            paper.std_mad.as_ref().unwrap(),
            &floats(case, "std_mad"),
        );
        assert_close(
            "mad (lower middles)",
            n,
            &paper.mad,
            &floats(case, "mad_lower"),
        );

        let sound = robust_stats(&maps, n, p, MedianKind::Middle, false).unwrap();
        assert_close("median", n, &sound.median, &floats(case, "median"));
        assert_close("mad", n, &sound.mad, &floats(case, "mad"));
        seen_n.push(n);
    }
    // Both parities, so the lower-middle rule is really exercised.
    assert!(
        seen_n.iter().any(|n| n % 2 == 0) && seen_n.iter().any(|n| n % 2 == 1),
        "{seen_n:?}"
    );
}
