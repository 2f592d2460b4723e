//! `amva`: Activation Map Variation Analysis. Explains face image quality through the
//! face recognition model. The command line as a library: [`main`] parses, calls one
//! command, prints (exit code 0 on success, 1 on failure, 2 on bad usage); [`run`] is
//! the same for a caller that wants the error back (the Python module).

mod cmd;
mod common;
mod renamed;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "amva",
    version = common::LONG_VERSION,
    about = "Explain face image quality through the face recognition model (Activation Map Variation Analysis)",
    long_about = None,
    after_help = "Start with `amva demo`. Every command has --help with examples."
)]
struct Cli {
    #[command(flatten)]
    global: common::Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole pipeline on sample data with the default model; ends with a report.
    Demo(cmd::demo::Args),
    /// Photos -> aligned 112x112 crops (detector + landmarks, or given landmarks).
    Align(cmd::align::Args),
    /// Embeddings (.npy) and an image index.
    Embed(cmd::embed::Args),
    /// Face verification on a pairs file: scores, best accuracy, FNMR at fixed FMR.
    Verify(cmd::verify::Args),
    /// Built-in FIQA scores -> CSV (image,method,score).
    Quality(cmd::quality::Args),
    /// Activation maps for a set of images (resumable, shardable).
    Maps(cmd::maps::Args),
    /// Why pairs of faces match or fail: similar and dissimilar maps of each comparison.
    Compare(cmd::compare::Args),
    /// Joins the outputs of `amva maps --shard i/n` or `amva compare --shard i/n` runs.
    Merge(cmd::merge::Args),
    /// Maps + FIQA scores -> groups, statistics, figures and an HTML report.
    Analyze(cmd::analyze::Args),
    /// One or more images against a reference from `analyze`.
    Explain(cmd::explain::Args),
    /// EDC curves and pAUC of each FIQA method on a pairs file.
    Edc(cmd::edc::Args),
    /// Deletion/insertion faithfulness of each map method.
    Faithfulness(cmd::faithfulness::Args),
    /// How far each map method's maps can be trusted on a model: randomisation, equivalence, faithfulness.
    Audit(cmd::audit::Args),
    /// Inference engines: install ONNX Runtime, calibrate, show which engine auto picks.
    #[command(subcommand)]
    Engine(cmd::engine::EngineCmd),
    /// Benchmarks: throughput of the engines and map methods, with ratios.
    Bench(cmd::bench::Args),
    /// Shows a model's tensors and shapes (to pick a target layer).
    Model(cmd::model::Args),
}

/// The command line parsed, the old spellings of renamed flags included; their notes.
fn parse(args: &[std::ffi::OsString]) -> Result<(Cli, Vec<String>), clap::Error> {
    let mut command = renamed::with_aliases(Cli::command());
    let matches = command.try_get_matches_from_mut(args)?;
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
    Ok((cli, renamed::notes(&matches, args)))
}

/// The `amva` program on `args` (the program's name first): what it prints, and its exit
/// code (0 success, 1 failure, 2 bad usage).
pub fn main(args: &[std::ffi::OsString]) -> u8 {
    common::show_library_log();
    let (cli, notes) = match parse(args) {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let ui = common::Ui::new(&cli.global);
    for n in &notes {
        ui.note(n);
    }
    match dispatch(cli.command, &ui) {
        Ok(()) => 0,
        Err(e) => {
            ui.error(&e);
            1
        }
    }
}

/// One command on `args` (the program's name first), as [`main`] runs it, with its
/// error (usage errors included, as clap words them) returned instead of printed.
pub fn run(args: &[std::ffi::OsString]) -> anyhow::Result<()> {
    common::show_library_log();
    let (cli, notes) = parse(args).map_err(|e| anyhow::anyhow!("{}", e.render()))?;
    let ui = common::Ui::new(&cli.global);
    for n in &notes {
        ui.note(n);
    }
    dispatch(cli.command, &ui)
}

/// Runs the command.
fn dispatch(command: Command, ui: &common::Ui) -> anyhow::Result<()> {
    match command {
        Command::Demo(a) => cmd::demo::run(a, ui),
        Command::Align(a) => cmd::align::run(a, ui),
        Command::Embed(a) => cmd::embed::run(a, ui),
        Command::Verify(a) => cmd::verify::run(a, ui),
        Command::Quality(a) => cmd::quality::run(a, ui),
        Command::Maps(a) => cmd::maps::run(a, ui),
        Command::Compare(a) => cmd::compare::run(a, ui),
        Command::Merge(a) => cmd::merge::run(a, ui),
        Command::Analyze(a) => cmd::analyze::run(a, ui),
        Command::Explain(a) => cmd::explain::run(a, ui),
        Command::Edc(a) => cmd::edc::run(a, ui),
        Command::Faithfulness(a) => cmd::faithfulness::run(a, ui),
        Command::Audit(a) => cmd::audit::run(a, ui),
        Command::Engine(a) => cmd::engine::run(a, ui),
        Command::Bench(a) => cmd::bench::run(a, ui),
        Command::Model(a) => cmd::model::run(a, ui),
    }
}
