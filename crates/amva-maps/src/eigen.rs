//! The leading eigenvector of a small symmetric matrix, for Eigen-CAM.
//!
//! Eigen-CAM needs the first right singular vector v of the (h*w) x K activation
//! matrix M and the projection M v. With the Gram matrix G = M M^T (h*w x h*w, 49 x 49
//! for the default model) and its leading eigenpair (lambda, u): M v = sigma u with
//! sigma = sqrt(lambda). The cyclic Jacobi method diagonalises G to machine precision
//! with no iteration count to tune, which power iteration on a small eigengap would need.

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

/// Eigen-CAM's map from activations `a` (K x hw, channel-major as the model returns
/// them): the projection of each position on the first right singular vector of the
/// hw x K matrix, without centring, signed so that its sum is >= 0.
pub(crate) fn eigencam(a: &[f32], k: usize, hw: usize) -> Vec<f32> {
    // G[p][q] = sum_k A[k][p] A[k][q]
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
    let (values, vectors) = symmetric_eigen(&g, hw);
    let top = (0..hw)
        .max_by(|&i, &j| values[i].total_cmp(&values[j]))
        .unwrap_or(0);
    let sigma = values[top].max(0.0).sqrt();
    let mut m: Vec<f64> = (0..hw).map(|p| sigma * vectors[p * hw + top]).collect();
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
    fn eigencam_of_a_rank_one_tensor_is_its_spatial_pattern() {
        // A[k][p] = c_k * s_p: the projection is |c| * s (up to sign, fixed by the sum).
        let (k, hw) = (6, 9);
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
