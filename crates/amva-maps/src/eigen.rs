//! Eigen-CAM's projection (ALGORITHMS 1.2), from the smaller of the two Gram matrices.
//!
//! Eigen-CAM needs M v, where v is the first right singular vector of the (h*w) x K
//! activation matrix M. Either Gram matrix gives it: v is the leading eigenvector of
//! M^T M (K x K), and with the leading eigenpair (lambda, u) of M M^T (hw x hw),
//! M v = sqrt(lambda) u. The smaller one is used: 49 x 49 for the default model (512 x 7
//! x 7), 128 x 128 instead of 256 x 256 for LightCNN-V4 (128 x 16 x 16), which makes the
//! O(n^3) eigensolver 8x cheaper there. The leading eigenpair comes from power iteration
//! (n^2 work a step), certified by an inertia test (no eigenvalue above it); where that
//! fails (a small eigengap), the cyclic Jacobi method diagonalises the matrix to machine
//! precision with no iteration count to tune.

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

/// The leading eigenvalue and its unit eigenvector of the symmetric positive
/// semi-definite `g` (a Gram matrix, row-major n x n). Power iteration finds it in a few
/// dozen products of n^2 work when the leading eigenvalue stands apart; that answer is
/// then certified: no eigenvalue lies above it (Cholesky factors of (lambda' I - g) exist
/// for lambda' just above lambda, so that matrix is positive definite). A small eigengap
/// (no convergence) or an uncertified answer falls back to the cyclic Jacobi method,
/// which costs ~100x more at n = 128.
pub(crate) fn leading_eigen(g: Vec<f64>, n: usize) -> (f64, Vec<f64>) {
    match power_iteration(&g, n) {
        Some((lambda, v)) if nothing_above(&g, n, lambda) => (lambda, v),
        _ => jacobi_leading(g, n),
    }
}

/// Products with `g` before power iteration gives up.
const POWER_STEPS: usize = 500;

/// A fixed start with no structure (so not orthogonal to the leading eigenvector by
/// construction, as a constant vector can be): 1 + the fractional parts of i / golden
/// ratio^2, scaled to unit length.
fn power_start(n: usize) -> Vec<f64> {
    let v: Vec<f64> = (0..n)
        .map(|i| 1.0 + (i as f64 * 0.381_966_011_250_105).fract())
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

/// (Rayleigh quotient, unit vector) once |g v - lambda v| <= 1e-12 lambda; None without
/// convergence in [`POWER_STEPS`] products.
fn power_iteration(g: &[f64], n: usize) -> Option<(f64, Vec<f64>)> {
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut v = power_start(n);
    for _ in 0..POWER_STEPS {
        let w: Vec<f64> = g.chunks_exact(n).map(|row| dot(row, &v)).collect();
        let lambda = dot(&v, &w);
        let residual = w
            .iter()
            .zip(&v)
            .map(|(x, y)| (x - lambda * y).powi(2))
            .sum::<f64>()
            .sqrt();
        if residual <= 1e-12 * lambda.abs() {
            return Some((lambda, v));
        }
        let norm = dot(&w, &w).sqrt();
        if norm <= 0.0 || !norm.is_finite() {
            return None;
        }
        v = w.into_iter().map(|x| x / norm).collect();
    }
    None
}

/// True when every eigenvalue of the symmetric `g` is below lambda (1 + 1e-9): the
/// Cholesky factorisation of (lambda (1 + 1e-9) I - g) runs with positive pivots
/// (Sylvester's law of inertia).
fn nothing_above(g: &[f64], n: usize, lambda: f64) -> bool {
    let sigma = lambda * (1.0 + 1e-9) + f64::MIN_POSITIVE;
    let mut l = vec![0.0f64; n * n];
    for j in 0..n {
        let mut d = sigma - g[j * n + j];
        d -= (0..j).map(|k| l[j * n + k] * l[j * n + k]).sum::<f64>();
        if d.is_nan() || d <= 0.0 {
            return false;
        }
        let d = d.sqrt();
        l[j * n + j] = d;
        for i in j + 1..n {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            l[i * n + j] = (-g[i * n + j] - s) / d;
        }
    }
    true
}

/// The leading eigenpair from the full Jacobi diagonalisation.
fn jacobi_leading(g: Vec<f64>, n: usize) -> (f64, Vec<f64>) {
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
    if orientation(&m, a, hw) < 0.0 {
        m.iter_mut().for_each(|x| *x = -*x);
    }
    m.into_iter().map(|x| x as f32).collect()
}

/// Which way the singular vector points (ALGORITHMS 1.2): the sign of the channel
/// weights' sum, 1^T v, computed as the inner product of m = M v with the channel sum
/// M 1 (v^T M^T M 1 = lambda 1^T v, lambda > 0); where that is 0, the sign of sum(m).
/// For non-negative activations both agree with sum(m) >= 0; for activations that are
/// mostly negative (LightCNN-V4's max-feature-map layer: 70 % of the values) sum(m) >= 0
/// picks the projection that is high where the activations are most negative, the
/// opposite of every other map.
fn orientation(m: &[f64], a: &[f32], hw: usize) -> f64 {
    let mut channel_sum = vec![0.0f64; hw];
    for ch in a.chunks_exact(hw) {
        for (s, &x) in channel_sum.iter_mut().zip(ch) {
            *s += x as f64;
        }
    }
    let inner: f64 = m.iter().zip(&channel_sum).map(|(x, y)| x * y).sum();
    if inner != 0.0 {
        inner
    } else {
        m.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Activations that are mostly negative, highest (least negative) on a bump: the
    /// map must peak on the bump, as the mean activation does. With the sign rule
    /// sum(m) >= 0 it peaked where the activations are lowest.
    #[test]
    fn mostly_negative_activations_keep_the_map_where_they_are_highest() {
        let (k, hw) = (6usize, 25usize);
        let bump = |p: usize| {
            let (y, x) = ((p / 5) as f64 - 2.0, (p % 5) as f64 - 2.0);
            (-(x * x + y * y) / 2.0).exp()
        };
        let a: Vec<f32> = (0..k * hw)
            .map(|i| (-3.0 + (1.0 + 0.2 * (i / hw) as f64) * bump(i % hw)) as f32)
            .collect();
        assert!(a.iter().filter(|&&v| v < 0.0).count() > k * hw * 3 / 4);
        let m = eigencam(&a, k, hw);
        let peak = (0..hw).max_by(|&i, &j| m[i].total_cmp(&m[j])).unwrap();
        assert_eq!(peak, 12, "{m:?}");
        // The same with the position Gram matrix (more channels than positions).
        let a2: Vec<f32> = (0..40 * hw)
            .map(|i| (-3.0 + (1.0 + 0.05 * (i / hw) as f64) * bump(i % hw)) as f32)
            .collect();
        let m2 = eigencam(&a2, 40, hw);
        let peak2 = (0..hw).max_by(|&i, &j| m2[i].total_cmp(&m2[j])).unwrap();
        assert_eq!(peak2, 12, "{m2:?}");
    }

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

    /// The certified power iteration and the Jacobi method agree on random Gram
    /// matrices of the sizes Eigen-CAM meets (49 and 128 for the two shared models).
    #[test]
    fn power_iteration_agrees_with_jacobi_on_gram_matrices() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for (n, rows) in [(5usize, 3usize), (49, 512), (128, 256)] {
            let b: Vec<f64> = (0..rows * n).map(|_| rng.random_range(0.0..1.0)).collect();
            let g: Vec<f64> = (0..n * n)
                .map(|ij| {
                    (0..rows)
                        .map(|r| b[r * n + ij / n] * b[r * n + ij % n])
                        .sum()
                })
                .collect();
            let (lp, vp) = power_iteration(&g, n).expect("converges: a clear leading eigenvalue");
            assert!(nothing_above(&g, n, lp));
            let (lj, vj) = jacobi_leading(g.clone(), n);
            assert!((lp - lj).abs() <= 1e-10 * lj, "n = {n}: {lp} vs {lj}");
            let cos: f64 = vp.iter().zip(&vj).map(|(x, y)| x * y).sum();
            assert!((cos.abs() - 1.0).abs() < 1e-10, "n = {n}: cos {cos}");
        }
    }

    /// A start orthogonal to the leading eigenvector makes power iteration settle on
    /// the second one; the certificate refuses it and Jacobi decides.
    #[test]
    fn an_uncertified_power_answer_falls_back_to_jacobi() {
        let n = 4;
        let s = power_start(n);
        // u orthogonal to the start, w = the start: g = 5 u u^T + 2 w w^T.
        let mut u = vec![1.0, -1.0, 0.0, 0.0];
        let su: f64 = s.iter().zip(&u).map(|(x, y)| x * y).sum();
        u.iter_mut().zip(&s).for_each(|(x, y)| *x -= su * y);
        let nu = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        u.iter_mut().for_each(|x| *x /= nu);
        let g: Vec<f64> = (0..n * n)
            .map(|ij| 5.0 * u[ij / n] * u[ij % n] + 2.0 * s[ij / n] * s[ij % n])
            .collect();
        let (lp, _) = power_iteration(&g, n).unwrap();
        assert!((lp - 2.0).abs() < 1e-9, "power iteration found {lp}");
        assert!(!nothing_above(&g, n, lp));
        let (lambda, v) = leading_eigen(g, n);
        assert!((lambda - 5.0).abs() < 1e-9, "{lambda}");
        let cos: f64 = v.iter().zip(&u).map(|(x, y)| x * y).sum();
        assert!((cos.abs() - 1.0).abs() < 1e-9, "{cos}");
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
