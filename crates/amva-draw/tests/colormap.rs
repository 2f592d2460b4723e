//! Colour maps against matplotlib's own output.
//!
//! The reference files in tests/reference/ were written by
//! tests/reference/colormap_reference.py with matplotlib 3.10.9 (see its docstring for how
//! to rerun it); they are matplotlib's bytes, not this crate's.

use amva_draw::{jet, rdbu_r, viridis, Colormap};
use proptest::prelude::*;

fn parse_rows(text: &str) -> Vec<Vec<f64>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            l.split_whitespace()
                .map(|t| t.parse::<f64>().unwrap())
                .collect()
        })
        .collect()
}

fn rgb(row: &[f64]) -> [u8; 3] {
    [row[0] as u8, row[1] as u8, row[2] as u8]
}

#[test]
fn jet_lookup_table_equals_matplotlib() {
    let rows = parse_rows(include_str!("reference/jet_matplotlib.txt"));
    assert_eq!(rows.len(), 256);
    for (i, row) in rows.iter().enumerate() {
        let v = i as f32 / 255.0;
        assert_eq!(jet(v), rgb(row), "jet entry {i} (v = {v})");
    }
}

#[test]
fn jet_samples_equal_matplotlib_including_out_of_range() {
    let rows = parse_rows(include_str!("reference/jet_samples.txt"));
    assert!(rows.len() > 30);
    for row in rows {
        let v = row[0] as f32;
        assert_eq!(jet(v), rgb(&row[1..]), "jet({v})");
    }
}

#[test]
fn rdbu_r_lookup_table_equals_matplotlib() {
    let rows = parse_rows(include_str!("reference/RdBu_r_matplotlib.txt"));
    assert_eq!(rows.len(), 256);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(rdbu_r(i as f32 / 255.0), rgb(row), "RdBu_r entry {i}");
    }
    assert_eq!(Colormap::RdBuR.map(0.25), rdbu_r(0.25));
    assert_eq!(Colormap::RdBuR.name(), "RdBu_r");
}

#[test]
fn viridis_equals_matplotlib_and_known_end_colours() {
    let rows = parse_rows(include_str!("reference/viridis_matplotlib.txt"));
    assert_eq!(rows.len(), 256);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(viridis(i as f32 / 255.0), rgb(row), "viridis entry {i}");
    }
    // The published end colours of viridis are #440154 and #fde725, rounded from floats;
    // matplotlib's bytes truncate, so a channel may be one lower.
    for (v, hex) in [(0.0, [0x44u8, 0x01, 0x54]), (1.0, [0xfd, 0xe7, 0x25])] {
        let c = viridis(v);
        for k in 0..3 {
            assert!(
                c[k] == hex[k] || c[k] + 1 == hex[k],
                "viridis({v}) = {c:?}, published {hex:?}"
            );
        }
    }
}

#[test]
fn nan_is_black_and_colormap_enum_dispatches() {
    assert_eq!(jet(f32::NAN), [0, 0, 0]);
    assert_eq!(Colormap::Jet.map(0.3), jet(0.3));
    assert_eq!(Colormap::Viridis.map(0.3), viridis(0.3));
    assert_eq!(Colormap::default(), Colormap::Jet);
}

/// matplotlib's jet segment data evaluated the obvious way: pick the LUT entry
/// floor(v * 256) (clamped), evaluate the piecewise-linear function at its x = i / 255,
/// truncate to a byte.
fn naive_jet(v: f32) -> [u8; 3] {
    let red = [
        (0.0, 0.0),
        (0.35, 0.0),
        (0.66, 1.0),
        (0.89, 1.0),
        (1.0, 0.5),
    ];
    let green = [
        (0.0, 0.0),
        (0.125, 0.0),
        (0.375, 1.0),
        (0.64, 1.0),
        (0.91, 0.0),
        (1.0, 0.0),
    ];
    let blue = [
        (0.0, 0.5),
        (0.11, 1.0),
        (0.34, 1.0),
        (0.65, 0.0),
        (1.0, 0.0),
    ];
    let i = ((f64::from(v) * 256.0).floor()).clamp(0.0, 255.0);
    let x = i / 255.0;
    let eval = |pts: &[(f64, f64)]| {
        for w in pts.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            if x >= x0 && x <= x1 {
                return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
            }
        }
        unreachable!()
    };
    [red.as_slice(), green.as_slice(), blue.as_slice()].map(|p| (eval(p) * 255.0) as u8)
}

proptest! {
    /// Off by at most one: the naive evaluation rounds differently from numpy's, and a
    /// value sitting on a byte boundary may truncate either way.
    #[test]
    fn jet_matches_naive_segment_evaluation(v in -0.2f32..1.2) {
        let (a, b) = (jet(v), naive_jet(v));
        for k in 0..3 {
            prop_assert!((i16::from(a[k]) - i16::from(b[k])).abs() <= 1, "v={v}: {a:?} vs {b:?}");
        }
    }
}
