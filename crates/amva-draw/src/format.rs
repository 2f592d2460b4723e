//! Number formatting shared by figures and tables.

/// A number as tables and figures show it: `sig` significant digits, scientific notation
/// for magnitudes below 1e-3 or from 1e5 on, "NaN" / "inf" / "-inf" for non-finite values.
///
/// ```
/// use amva_draw::format_number;
/// assert_eq!(format_number(0.123456, 4), "0.1235");
/// assert_eq!(format_number(1234.56, 4), "1235");
/// assert_eq!(format_number(0.000123456, 4), "1.235e-4");
/// assert_eq!(format_number(0.0, 4), "0");
/// ```
pub fn format_number(x: f64, sig: usize) -> String {
    let sig = sig.max(1);
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let a = x.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{:.*e}", sig - 1, x);
    }
    // Decimals so that `sig` digits are significant; computed on the rounded value so that
    // 9.9996 -> "10.00" and not "10.000".
    let magnitude = a.log10().floor() as i32;
    let mut decimals = (sig as i32 - 1 - magnitude).max(0) as usize;
    let rounded: f64 = format!("{a:.decimals$}").parse().unwrap_or(a);
    if rounded.log10().floor() as i32 > magnitude && decimals > 0 {
        decimals -= 1;
    }
    format!("{x:.decimals$}")
}
