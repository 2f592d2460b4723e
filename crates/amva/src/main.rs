//! `amva`: Activation Map Variation Analysis. Explains face image quality through the
//! face recognition model. `main` parses, calls one command, prints; exit code 0 on
//! success, 1 on failure, 2 on bad usage.

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
fn parse() -> Result<(Cli, Vec<String>), clap::Error> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut command = renamed::with_aliases(Cli::command());
    let matches = command.try_get_matches_from_mut(&args)?;
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
    Ok((cli, renamed::notes(&matches, &args)))
}

fn main() -> std::process::ExitCode {
    common::show_library_log();
    let (cli, notes) = match parse() {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            return std::process::ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let ui = common::Ui::new(&cli.global);
    for n in &notes {
        ui.note(n);
    }
    let result = match cli.command {
        Command::Demo(a) => cmd::demo::run(a, &ui),
        Command::Align(a) => cmd::align::run(a, &ui),
        Command::Embed(a) => cmd::embed::run(a, &ui),
        Command::Verify(a) => cmd::verify::run(a, &ui),
        Command::Quality(a) => cmd::quality::run(a, &ui),
        Command::Maps(a) => cmd::maps::run(a, &ui),
        Command::Compare(a) => cmd::compare::run(a, &ui),
        Command::Merge(a) => cmd::merge::run(a, &ui),
        Command::Analyze(a) => cmd::analyze::run(a, &ui),
        Command::Explain(a) => cmd::explain::run(a, &ui),
        Command::Edc(a) => cmd::edc::run(a, &ui),
        Command::Faithfulness(a) => cmd::faithfulness::run(a, &ui),
        Command::Audit(a) => cmd::audit::run(a, &ui),
        Command::Engine(a) => cmd::engine::run(a, &ui),
        Command::Bench(a) => cmd::bench::run(a, &ui),
        Command::Model(a) => cmd::model::run(a, &ui),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            ui.error(&e);
            std::process::ExitCode::from(1)
        }
    }
}
