//! Agreement of the FIQA methods (ALGORITHMS 4.7): Spearman correlation of their
//! direction-corrected scores over the images both scored, and Jaccard indices of their
//! high and low groups.

use std::collections::HashMap;

use amva_math::compare::{jaccard, spearman};

use crate::groups::MethodGroups;
use crate::summary::{AcrossMethods, PairJaccard, PairSpearman};

/// Every pair of `groups` (empty with fewer than two methods).
pub fn across_methods(groups: &[MethodGroups]) -> AcrossMethods {
    let mut across = AcrossMethods::default();
    if groups.len() < 2 {
        return across;
    }
    for a in 0..groups.len() {
        for b in a + 1..groups.len() {
            let (ga, gb) = (&groups[a], &groups[b]);
            let sb: HashMap<usize, f64> = gb
                .rows
                .iter()
                .copied()
                .zip(gb.scores.iter().copied())
                .collect();
            let (mut xa, mut xb) = (Vec::new(), Vec::new());
            for (r, s) in ga.rows.iter().zip(&ga.scores) {
                if let Some(t) = sb.get(r) {
                    xa.push(ga.direction.corrected(*s));
                    xb.push(gb.direction.corrected(*t));
                }
            }
            let (rho, note) = match spearman(&xa, &xb) {
                Ok(r) => (r, None),
                Err(e) => (f64::NAN, Some(e.to_string())),
            };
            let jac = |x: &[usize], y: &[usize]| PairJaccard {
                a: ga.name.clone(),
                b: gb.name.clone(),
                jaccard: jaccard(x, y).unwrap_or(f64::NAN),
            };
            across.spearman.push(PairSpearman {
                a: ga.name.clone(),
                b: gb.name.clone(),
                n: xa.len(),
                spearman: rho,
                note,
            });
            across.jaccard_high.push(jac(&ga.high.rows, &gb.high.rows));
            across.jaccard_low.push(jac(&ga.low.rows, &gb.low.rows));
        }
    }
    across.note = Some("Spearman over the images with a map and a finite score in both methods, scores turned so that higher is better".into());
    across
}
