//! The libsvm epsilon-SVR with an RBF kernel, as `svm_predict` evaluates it:
//! `sum_i coef_i * exp(-gamma * |x - sv_i|^2) - rho`.

use super::features::FEATURES;

/// A libsvm regression model with an RBF kernel over [`FEATURES`] dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct RbfSvr {
    pub gamma: f64,
    pub rho: f64,
    /// (coefficient, support vector) pairs; missing libsvm indices are 0.
    pub support: Vec<(f64, [f64; FEATURES])>,
}

impl RbfSvr {
    /// Parses a libsvm model file (`svm_save_model` text). Only `epsilon_svr` /
    /// `nu_svr` with `kernel_type rbf` are accepted; `what` names the file in errors.
    pub fn parse(text: &str) -> Result<RbfSvr, String> {
        let mut lines = text.lines().enumerate();
        let (mut gamma, mut rho, mut svm_type, mut kernel, mut total) =
            (None, None, None, None, None);
        for (i, line) in lines.by_ref() {
            let line = line.trim();
            if line == "SV" {
                break;
            }
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            let num = |v: &str| {
                v.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("line {}: {key} '{v}' is not a number", i + 1))
            };
            match key {
                "svm_type" => svm_type = Some(value.trim().to_string()),
                "kernel_type" => kernel = Some(value.trim().to_string()),
                "gamma" => gamma = Some(num(value)?),
                "rho" => rho = Some(num(value)?),
                "total_sv" => total = Some(num(value)? as usize),
                _ => {}
            }
        }
        match svm_type.as_deref() {
            Some("epsilon_svr") | Some("nu_svr") => {}
            other => {
                return Err(format!(
                    "svm_type {other:?}: expected epsilon_svr or nu_svr"
                ))
            }
        }
        if kernel.as_deref() != Some("rbf") {
            return Err(format!("kernel_type {kernel:?}: expected rbf"));
        }
        let gamma = gamma.ok_or("no gamma line")?;
        let rho = rho.ok_or("no rho line")?;
        let mut support = Vec::new();
        for (i, line) in lines {
            let mut parts = line.split_whitespace();
            let Some(coef) = parts.next() else { continue };
            let coef: f64 = coef
                .parse()
                .map_err(|_| format!("line {}: coefficient '{coef}' is not a number", i + 1))?;
            let mut sv = [0.0; FEATURES];
            for p in parts {
                let bad = || {
                    format!(
                        "line {}: '{p}' is not index:value with index 1..={FEATURES}",
                        i + 1
                    )
                };
                let (idx, v) = p.split_once(':').ok_or_else(bad)?;
                let idx: usize = idx.parse().map_err(|_| bad())?;
                if !(1..=FEATURES).contains(&idx) {
                    return Err(bad());
                }
                sv[idx - 1] = v.parse().map_err(|_| bad())?;
            }
            support.push((coef, sv));
        }
        if support.is_empty() || total.is_some_and(|t| t != support.len()) {
            return Err(format!(
                "total_sv {total:?} but {} support vectors",
                support.len()
            ));
        }
        Ok(RbfSvr {
            gamma,
            rho,
            support,
        })
    }

    /// The regression value at `x`.
    pub fn predict(&self, x: &[f64; FEATURES]) -> f64 {
        let mut sum = 0.0;
        for (coef, sv) in &self.support {
            let d2: f64 = x.iter().zip(sv).map(|(a, b)| (a - b) * (a - b)).sum();
            sum += coef * (-self.gamma * d2).exp();
        }
        sum - self.rho
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_predicts_a_tiny_model() {
        let text = "svm_type epsilon_svr\nkernel_type rbf\ngamma 0.5\nnr_class 2\ntotal_sv 2\nrho -1.5\nSV\n2 1:1 3:-1 \n-0.5 2:2\n";
        let m = RbfSvr::parse(text).unwrap();
        let mut x = [0.0; FEATURES];
        x[0] = 1.0;
        // |x - sv1|^2 = 1 (index 3), |x - sv2|^2 = 1 + 4.
        let want = 2.0 * (-0.5f64).exp() - 0.5 * (-2.5f64).exp() + 1.5;
        assert!((m.predict(&x) - want).abs() < 1e-15);
    }

    #[test]
    fn rejects_other_kernels_and_bad_rows() {
        assert!(
            RbfSvr::parse("svm_type c_svc\nkernel_type rbf\ngamma 1\nrho 0\nSV\n1 1:1\n")
                .unwrap_err()
                .contains("svm_type")
        );
        assert!(RbfSvr::parse(
            "svm_type epsilon_svr\nkernel_type linear\ngamma 1\nrho 0\nSV\n1 1:1\n"
        )
        .unwrap_err()
        .contains("kernel"));
        let err =
            RbfSvr::parse("svm_type epsilon_svr\nkernel_type rbf\ngamma 1\nrho 0\nSV\n1 99:1\n")
                .unwrap_err();
        assert!(err.contains("line 6") && err.contains("99:1"), "{err}");
    }
}
