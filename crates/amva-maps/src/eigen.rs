//! Eigen-CAM's projection, from the smaller of the two Gram matrices.
//!
//! Eigen-CAM needs M v, where v is the first right singular vector of the (h*w) x K
//! activation matrix M. Either Gram matrix gives it: v is the leading eigenvector of
//! M^T M (K x K), and with the leading eigenpair (lambda, u) of M M^T (hw x hw),
//! M v = sqrt(lambda) u. The smaller one is used: 49 x 49 for the default model (512 x 7
//! x 7), 128 x 128 instead of 256 x 256 for LightCNN-V4 (128 x 16 x 16), which makes the
//! O(n^3) eigensolver 8x cheaper there. The cyclic Jacobi method diagonalises it to
//! machine precision with no iteration count to tune, which power iteration on a small
//! eigengap would need.

/// Eigenvalues and eigenvectors (columns, row-major `n x n`) of the symmetric `a`
/// (row-major `n x n`), by cyclic Jacobi rotations.
pub(crate) fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    if scale == 0.0 {
        return (vec![0.0; n], v);
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-15 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (a[p * n + p], a[q * n + q]);
                // Rotation angle that zeroes a[p][q] (Golub & Van Loan, Algorithm 8.4.1).
                let tau = (aqq - app) / (2.0 * apq);
                let t = tau.signum() / (tau.abs() + (1.0 + tau * tau).sqrt());
                let t = if tau == 0.0 { 1.0 } else { t };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// The leading eigenvalue and its unit eigenvector of the symmetric `g` (row-major n x n).
pub(crate) fn leading_eigen(g: Vec<f64>, n: usize) -> (f64, Vec<f64>) {
    let (values, vectors) = symmetric_eigen(&g, n);
    let top = (0..n)
        .max_by(|&i, &j| values[i].total_cmp(&values[j]))
        .unwrap_or(0);
    let value = values.get(top).copied().unwrap_or(0.0);
    (value, (0..n).map(|r| vectors[r * n + top]).collect())
}

/// G[c][d] = sum_p A[c][p] A[d][p]: the K x K Gram matrix of the channels (M^T M).
fn channel_gram(a: &[f32], k: usize, hw: usize) -> Vec<f64> {
    let rows: Vec<Vec<f64>> = a
        .chunks_exact(hw)
        .take(k)
        .map(|r| r.iter().map(|&v| v as f64).collect())
        .collect();
    let mut g = vec![0.0f64; k * k];
    for c in 0..k {
        for d in c..k {
            let s: f64 = rows[c].iter().zip(&rows[d]).map(|(x, y)| x * y).sum();
            g[c * k + d] = s;
            g[d * k + c] = s;
        }
    }
    g
}

/// G[p][q] = sum_k A[k][p] A[k][q]: the hw x hw Gram matrix of the positions (M M^T).
fn position_gram(a: &[f32], k: usize, hw: usize) -> Vec<f64> {
    let mut g = vec![0.0f64; hw * hw];
    for ch in a.chunks_exact(hw).take(k) {
        for p in 0..hw {
            let ap = ch[p] as f64;
            if ap == 0.0 {
                continue;
            }
            for q in p..hw {
                g[p * hw + q] += ap * ch[q] as f64;
            }
        }
    }
    for p in 0..hw {
        for q in 0..p {
            g[p * hw + q] = g[q * hw + p];
        }
    }
    g
}

/// Eigen-CAM's map from activations `a` (K x hw, channel-major as the model returns
/// them): the projection of each position on the first right singular vector of the
/// hw x K matrix, without centring, signed so that its sum is >= 0.
pub(crate) fn eigencam(a: &[f32], k: usize, hw: usize) -> Vec<f32> {
    let mut m: Vec<f64> = if k < hw {
        let (_, v) = leading_eigen(channel_gram(a, k, hw), k);
        let mut m = vec![0.0f64; hw];
        for (ch, &vc) in a.chunks_exact(hw).zip(&v) {
            for (mp, &x) in m.iter_mut().zip(ch) {
                *mp += vc * x as f64;
            }
        }
        m
    } else {
        let (lambda, u) = leading_eigen(position_gram(a, k, hw), hw);
        let sigma = lambda.max(0.0).sqrt();
        u.into_iter().map(|x| sigma * x).collect()
    };
    if m.iter().sum::<f64>() < 0.0 {
        m.iter_mut().for_each(|x| *x = -*x);
    }
    m.into_iter().map(|x| x as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn jacobi_diagonalises_random_symmetric_matrices() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for n in [1usize, 2, 5, 20] {
            let b: Vec<f64> = (0..n * n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let mut a = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] = b[i * n + j] + b[j * n + i];
                }
            }
            let (vals, vecs) = symmetric_eigen(&a, n);
            // A v_i = lambda_i v_i and V^T V = I.
            for i in 0..n {
                for r in 0..n {
                    let av: f64 = (0..n).map(|c| a[r * n + c] * vecs[c * n + i]).sum();
                    assert!((av - vals[i] * vecs[r * n + i]).abs() < 1e-10);
                }
                for j in 0..n {
                    let d: f64 = (0..n).map(|r| vecs[r * n + i] * vecs[r * n + j]).sum();
                    assert!((d - if i == j { 1.0 } else { 0.0 }).abs() < 1e-10);
                }
            }
        }
    }

    #[test]
    fn leading_eigenpair_of_random_symmetric_matrices() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for n in [1usize, 2, 5, 20] {
            let b: Vec<f64> = (0..n * n).map(|_| rng.random_range(-1.0..1.0)).collect();
            // B^T B is symmetric positive semi-definite, as a Gram matrix is.
            let a: Vec<f64> = (0..n * n)
                .map(|ij| (0..n).map(|r| b[r * n + ij / n] * b[r * n + ij % n]).sum())
                .collect();
            let (lambda, v) = leading_eigen(a.clone(), n);
            // A v = lambda v, |v| = 1, and lambda is the largest Rayleigh quotient of
            // many random vectors.
            for r in 0..n {
                let av: f64 = (0..n).map(|c| a[r * n + c] * v[c]).sum();
                assert!((av - lambda * v[r]).abs() < 1e-10);
            }
            assert!((v.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-12);
            for _ in 0..200 {
                let x: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
                let xax: f64 = (0..n * n).map(|ij| x[ij / n] * a[ij] * x[ij % n]).sum();
                let xx: f64 = x.iter().map(|v| v * v).sum();
                assert!(xax / xx <= lambda + 1e-10);
            }
        }
    }

    /// Both Gram routes give the same map: a tensor with K < hw and its transpose-shaped
    /// twin K > hw are checked against a direct power iteration on M^T M.
    #[test]
    fn both_gram_routes_match_power_iteration() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (k, hw) in [(8usize, 30usize), (30, 8), (16, 16)] {
            let a: Vec<f32> = (0..k * hw).map(|_| rng.random_range(0.0f32..2.0)).collect();
            let mut v = vec![1.0f64; k];
            for _ in 0..5000 {
                let mv: Vec<f64> = (0..hw)
                    .map(|p| (0..k).map(|c| a[c * hw + p] as f64 * v[c]).sum())
                    .collect();
                let nv: Vec<f64> = (0..k)
                    .map(|c| (0..hw).map(|p| a[c * hw + p] as f64 * mv[p]).sum())
                    .collect();
                let norm = nv.iter().map(|x| x * x).sum::<f64>().sqrt();
                v = nv.into_iter().map(|x| x / norm).collect();
            }
            let naive: Vec<f64> = (0..hw)
                .map(|p| (0..k).map(|c| a[c * hw + p] as f64 * v[c]).sum())
                .collect();
            let m = eigencam(&a, k, hw);
            let scale = naive.iter().fold(0.0f64, |s, x| s.max(x.abs()));
            for (x, y) in m.iter().zip(&naive) {
                assert!((*x as f64 - y).abs() < 1e-5 * scale, "{k}x{hw}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn eigencam_of_a_rank_one_tensor_is_its_spatial_pattern() {
        // A[k][p] = c_k * s_p: the projection is |c| * s (up to sign, fixed by the sum),
        // for both K < hw and K > hw.
        for (k, hw) in [(6usize, 9usize), (9, 6)] {
            let c: Vec<f32> = (0..k).map(|i| i as f32 - 2.0).collect();
            let s: Vec<f32> = (0..hw).map(|p| (p as f32 * 0.7).sin() + 0.5).collect();
            let a: Vec<f32> = c
                .iter()
                .flat_map(|&ci| s.iter().map(move |&sp| ci * sp))
                .collect();
            let norm_c = c.iter().map(|x| x * x).sum::<f32>().sqrt();
            let m = eigencam(&a, k, hw);
            let sign = if s.iter().sum::<f32>() >= 0.0 {
                1.0
            } else {
                -1.0
            };
            for p in 0..hw {
                assert!(
                    (m[p] - sign * norm_c * s[p]).abs() < 1e-4,
                    "{p}: {} {}",
                    m[p],
                    s[p]
                );
            }
            assert_eq!(eigencam(&vec![0.0; k * hw], k, hw), vec![0.0; hw]);
        }
    }
}
