//! Size, first contentful paint and load time of pages in headless Chromium, each
//! opened `--runs` times in a fresh browser (median printed), with the CPU model:
//!
//! ```text
//! cargo run --release -p amva-browser --example page_timing -- [--runs 5] a/report.html b/report.html
//! ```

fn main() -> Result<(), String> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 5;
    if let Some(i) = args.iter().position(|a| a == "--runs") {
        runs = args
            .get(i + 1)
            .and_then(|r| r.parse().ok())
            .ok_or("--runs N")?;
        args.drain(i..i + 2);
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!("CPU: {cpu}; {runs} runs per page, medians");
    for page in &args {
        let path = std::fs::canonicalize(page).map_err(|e| format!("{page}: {e}"))?;
        let bytes = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
        let (mut fcp, mut load) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let mut b = amva_browser::Browser::launch("/usr/bin/chromium".as_ref())?;
            b.open(&format!("file://{}", path.display()))?;
            let (f, l) = b.paint_timing()?;
            fcp.push(f);
            load.push(l);
            let errors = b.errors();
            if !errors.is_empty() {
                return Err(format!("{page}: {errors:?}"));
            }
        }
        println!(
            "{page}: {:.2} MB, first contentful paint {:.0} ms, load {:.0} ms",
            bytes as f64 / 1e6,
            median(&mut fcp),
            median(&mut load)
        );
    }
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
