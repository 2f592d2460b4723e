//! Looks up every number of a report's tables in the file its table names:
//!
//! ```text
//! cargo run -p amva-report --example trace_check -- out/report.html
//! ```

fn main() -> std::process::ExitCode {
    let Some(page) = std::env::args().nth(1) else {
        eprintln!("usage: trace_check REPORT.html");
        return std::process::ExitCode::FAILURE;
    };
    match amva_report::trace::check(page.as_ref()) {
        Ok(t) => {
            println!(
                "{page}: {} numbers in {} tables looked up; {} not found in their file, {} tables without a source",
                t.numbers,
                t.tables,
                t.untraced.len(),
                t.unsourced.len()
            );
            for u in &t.untraced {
                println!("  not in {}: {}", u.source, u.shown);
            }
            for c in &t.unsourced {
                println!("  no source: {c}");
            }
            if t.untraced.is_empty() && t.unsourced.is_empty() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("{page}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
