//! Flags renamed so that one flag name means one kind of value in every command
//! (tests/flags.rs checks it). For one release the old spellings still parse, as hidden
//! aliases of the new flags in the commands that had them, and a one-line note on stderr
//! says what to write instead. The table below is the only place that knows them: to end
//! the grace period, empty it.

use clap::{ArgMatches, Command};
use std::ffi::OsString;

/// A flag's old spelling in some commands.
pub struct Renamed {
    /// Command paths (`"bench quality"`) in which `old` meant what `new` means now.
    pub commands: &'static [&'static str],
    /// The old long name, without the dashes.
    pub old: &'static str,
    /// The new long name, without the dashes.
    pub new: &'static str,
}

/// Every command with the model options (`common::ModelArgs`) but no Score-CAM channels:
/// there `--channels` was the input colour order.
const COLOUR_ORDER: &[&str] = &[
    "embed",
    "verify",
    "quality",
    "analyze",
    "edc",
    "model",
    "engine status",
    "engine calibrate",
    "bench quality",
];

/// The renamed flags, by the commands that took the old spelling.
pub const RENAMED: &[Renamed] = &[
    Renamed {
        commands: COLOUR_ORDER,
        old: "channels",
        new: "channel-order",
    },
    Renamed {
        commands: &["maps", "faithfulness", "demo"],
        old: "channels",
        new: "cam-channels",
    },
    Renamed {
        commands: &["quality", "edc", "bench quality"],
        old: "methods",
        new: "fiqa",
    },
    Renamed {
        commands: &["explain"],
        old: "method",
        new: "fiqa",
    },
    Renamed {
        commands: &["demo"],
        old: "qualities",
        new: "fiqa",
    },
    Renamed {
        commands: &["engine install"],
        old: "version",
        new: "ort-version",
    },
    Renamed {
        commands: &["faithfulness"],
        old: "boot",
        new: "bootstrap",
    },
];

/// `cli` with every old spelling as a hidden alias of its new flag, in its commands.
///
/// Panics (on every run, so any test finds it) when the table names a command or flag
/// that does not exist.
pub fn with_aliases(mut cli: Command) -> Command {
    for r in RENAMED {
        for path in r.commands {
            let path: Vec<&str> = path.split(' ').collect();
            cli = alias_in(cli, &path, r);
        }
    }
    cli
}

fn alias_in(cmd: Command, path: &[&str], r: &Renamed) -> Command {
    match path.split_first() {
        // clap's id of a derived flag is its field name.
        None => cmd.mut_arg(r.new.replace('-', "_"), |a| a.alias(r.old)),
        Some((name, rest)) => cmd.mut_subcommand(name, |c| alias_in(c, rest, r)),
    }
}

/// The deprecation notes for the old spellings among `args` (the command line as typed),
/// in the command `matches` parsed.
pub fn notes(matches: &ArgMatches, args: &[OsString]) -> Vec<String> {
    let mut path = Vec::new();
    let mut m = matches;
    while let Some((name, sub)) = m.subcommand() {
        path.push(name);
        m = sub;
    }
    let command = path.join(" ");
    // Only flags before a `--` are flags.
    let flags: Vec<&str> = args
        .iter()
        .filter_map(|a| a.to_str())
        .take_while(|a| *a != "--")
        .collect();
    RENAMED
        .iter()
        .filter(|r| r.commands.contains(&command.as_str()))
        .filter(|r| {
            let old = format!("--{}", r.old);
            flags
                .iter()
                .any(|a| *a == old || a.starts_with(&format!("{old}=")))
        })
        .map(|r| {
            format!(
                "--{} is deprecated, use --{}; the old name goes in the next release",
                r.old, r.new
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::parser::ValueSource;
    use clap::CommandFactory;

    /// A value each renamed flag accepts.
    fn example(new: &str) -> &'static str {
        match new {
            "channel-order" => "bgr",
            "cam-channels" => "top:4",
            "fiqa" => "magnitude",
            "ort-version" => "1.0.0",
            "bootstrap" => "10",
            other => panic!("no example value for --{other}"),
        }
    }

    #[test]
    fn the_command_line_with_the_aliases_is_well_formed() {
        with_aliases(crate::Cli::command()).debug_assert();
    }

    #[test]
    fn every_old_spelling_sets_its_new_flag_in_each_of_its_commands() {
        // Other required flags are left out: only this flag's parsing is looked at.
        let cli = with_aliases(crate::Cli::command()).ignore_errors(true);
        for r in RENAMED {
            for path in r.commands {
                let value = example(r.new);
                let mut args: Vec<OsString> = vec!["amva".into()];
                args.extend(path.split(' ').map(OsString::from));
                args.extend([format!("--{}", r.old).into(), value.into()]);
                let matches = cli.clone().try_get_matches_from(&args).unwrap();
                let mut m = &matches;
                for name in path.split(' ') {
                    m = m.subcommand_matches(name).unwrap();
                }
                let id = r.new.replace('-', "_");
                assert_eq!(
                    m.value_source(&id),
                    Some(ValueSource::CommandLine),
                    "amva {path} --{}",
                    r.old
                );
                let raw: Vec<_> = m.get_raw(&id).unwrap().collect();
                assert_eq!(raw, [value], "amva {path} --{}", r.old);
                assert_eq!(
                    notes(&matches, &args),
                    [format!(
                        "--{} is deprecated, use --{}; the old name goes in the next release",
                        r.old, r.new
                    )]
                );
            }
        }
    }

    #[test]
    fn the_new_spelling_brings_no_note() {
        let cli = with_aliases(crate::Cli::command()).ignore_errors(true);
        let args: Vec<OsString> = [
            "amva",
            "maps",
            "--cam-channels",
            "top:4",
            "--",
            "--channels",
        ]
        .map(OsString::from)
        .to_vec();
        let matches = cli.try_get_matches_from(&args).unwrap();
        assert!(notes(&matches, &args).is_empty());
    }
}
