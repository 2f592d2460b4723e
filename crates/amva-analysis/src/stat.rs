//! The per-pixel statistics of a group by name (MAM, AM-V, median, MAD and the paper's
//! variants): file keys, labels, units, and where each is in [`GroupStats`].

use crate::setstats::GroupStats;

/// A statistic of [`GroupStats`] by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Mean (MAM).
    Mam,
    /// Standard deviation (AM-V).
    Amv,
    /// Median.
    Median,
    /// MAD.
    Mad,
    /// Lower median (`--compat paper`).
    MedianLower,
    /// MAD around the lower median (`--compat paper`).
    MadLower,
    /// The paper's std_mad (`--compat paper`).
    StdMad,
}

impl Stat {
    /// All, in report order.
    pub const ALL: [Stat; 7] = [
        Stat::Mam,
        Stat::Amv,
        Stat::Median,
        Stat::Mad,
        Stat::MedianLower,
        Stat::MadLower,
        Stat::StdMad,
    ];

    /// File and JSON key.
    pub fn key(self) -> &'static str {
        match self {
            Stat::Mam => "mam",
            Stat::Amv => "amv",
            Stat::Median => "median",
            Stat::Mad => "mad",
            Stat::MedianLower => "median_lower",
            Stat::MadLower => "mad_lower",
            Stat::StdMad => "std_mad",
        }
    }

    /// Name in figures and tables.
    pub fn label(self) -> &'static str {
        match self {
            Stat::Mam => "MAM",
            Stat::Amv => "AM-V",
            Stat::Median => "median",
            Stat::Mad => "MAD",
            Stat::MedianLower => "lower median (paper)",
            Stat::MadLower => "MAD, lower median (paper)",
            Stat::StdMad => "std_mad (paper)",
        }
    }

    /// What its values mean (colour-bar label).
    pub fn meaning(self) -> &'static str {
        match self {
            Stat::Mam => "MAM: mean activation (each map min-max scaled: 1 = its strongest pixel)",
            Stat::Amv => "AM-V: std over the maps (n - 1), same 0-1 activation units",
            Stat::Median => "median activation (0-1 activation units)",
            Stat::Mad => "MAD: 1.4826 x median |x - median| (0-1 activation units)",
            Stat::MedianLower => "lower median, torch.median (0-1 activation units)",
            Stat::MadLower => "1.4826 x lower median |x - lower median| (0-1 units)",
            Stat::StdMad => "std of (x - lower median)^2 (squared activation units)",
        }
    }

    /// The values of this statistic in `s`, if computed.
    pub fn of(self, s: &GroupStats) -> Option<&[f64]> {
        match self {
            Stat::Mam => Some(&s.mean),
            Stat::Amv => Some(&s.std),
            Stat::Median => s.median.as_deref(),
            Stat::Mad => s.mad.as_deref(),
            Stat::MedianLower => s.median_lower.as_deref(),
            Stat::MadLower => s.mad_lower.as_deref(),
            Stat::StdMad => s.std_mad.as_deref(),
        }
    }

    /// The statistics of a run: the four robust ones, and the paper's with `compat_paper`.
    pub fn list(compat_paper: bool) -> Vec<Stat> {
        Stat::ALL
            .into_iter()
            .filter(|s| {
                compat_paper || matches!(s, Stat::Mam | Stat::Amv | Stat::Median | Stat::Mad)
            })
            .collect()
    }
}
