//! Counts a user sets (`--permutations`, `--bootstrap`, `--serfiq-passes`, ...) checked
//! against the memory the machine has free before anything is allocated, so a typo
//! (`--permutations 10000000000`) is a clear message, not an allocation abort.

use crate::{Error, Result};

/// Bytes of memory available for new allocations now (`MemAvailable` in
/// /proc/meminfo), when the system says.
pub fn available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_meminfo(&text)
}

/// `MemAvailable` of a /proc/meminfo text, in bytes.
fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Refuses `count` of `flag` when `count` x `bytes_each` (what the run would hold in
/// memory for it; `what` says what that is) exceeds the memory available now. Nothing
/// is checked where the system does not say what is available.
pub fn check_count(flag: &str, count: usize, bytes_each: u64, what: &str) -> Result<()> {
    match available() {
        Some(free) => check_against(flag, count, bytes_each, what, free),
        None => Ok(()),
    }
}

/// [`check_count`] against `free` bytes.
pub fn check_against(
    flag: &str,
    count: usize,
    bytes_each: u64,
    what: &str,
    free: u64,
) -> Result<()> {
    let need = (count as u128) * u128::from(bytes_each.max(1));
    if need <= u128::from(free) {
        return Ok(());
    }
    let most = free / bytes_each.max(1);
    Err(Error::Other(format!(
        "{flag} {count}: {what} would need {} ({} each), more than the {} of memory available now; use at most {most}",
        bytes(need),
        bytes(u128::from(bytes_each)),
        bytes(u128::from(free)),
    )))
}

/// A byte count for people: "512 B", "3.2 GB" (powers of 1000).
fn bytes(n: u128) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_is_read_in_bytes() {
        let text = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n";
        assert_eq!(parse_meminfo(text), Some(20_480_000_000));
        assert_eq!(parse_meminfo("MemTotal: 5 kB\n"), None);
        assert!(available().is_some(), "this machine has /proc/meminfo");
    }

    /// Issue 26, item 4: a count whose memory exceeds what is free is refused naming the
    /// flag, what it would need, and the largest count that fits.
    #[test]
    fn counts_beyond_free_memory_are_refused_with_the_largest_that_fits() {
        let free = 8_000_000_000;
        check_against("--permutations", 1_000_000, 16, "the null statistics", free).unwrap();
        let err = check_against(
            "--permutations",
            10_000_000_000,
            16,
            "the null statistics",
            free,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(
                "--permutations 10000000000: the null statistics would need 160.0 GB (16 B each)"
            ) && err.contains("8.0 GB")
                && err.ends_with("use at most 500000000"),
            "{err}"
        );
        // No overflow at the largest count.
        assert!(check_against("--bootstrap", usize::MAX, u64::MAX, "x", free).is_err());
    }
}
