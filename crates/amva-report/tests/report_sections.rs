//! The report of an analysis: it shows every figure written, and extra report sections
//! (`ReportOptions::sections`) are how a caller, such as the demo with its degradation
//! table, adds its own results to the one analysis report.

use amva_analysis::summary::Summary;
use amva_analysis::AnalyzeOptions;
use amva_draw::{Cell, RgbImage, Table};
use amva_report::{analyze, Item, ReportOptions, ReportSection};

#[test]
fn extra_sections_are_rendered_into_the_report_before_the_file_list() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("maps");
    let scores = amva_analysis::synthetic::write_synthetic_store(&store, 60, 7).unwrap();
    let out = dir.path().join("out");
    let mut opts = AnalyzeOptions::new(&store, vec![scores], &out);
    opts.permutations = 10;
    opts.rules.bins = Some(3);
    let mut shown = ReportOptions::default();
    let table = Table::new(["method", "blur"])
        .row(vec!["m".into(), Cell::Strong("-0.81".into())])
        .unwrap();
    let image = RgbImage::from_pixel(320, 240, image::Rgb([10, 200, 30]));
    shown.sections.push(
        ReportSection::new("Ground truth <check>")
            .paragraph("Spearman of each quality with the level.")
            .item(Item::Table(table))
            .item(Item::Figure {
                name: "extra_fig".into(),
                caption: "An extra figure.".into(),
                image,
            }),
    );
    analyze(&opts, &shown, &mut |_, _, _| {}).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("the report lacks {needle}"))
    };
    assert!(at("Across methods</h2>") < at("Ground truth &lt;check&gt;</h2>"));
    assert!(at("Ground truth &lt;check&gt;</h2>") < at("<strong>-0.81</strong>"));
    assert!(at("<strong>-0.81</strong>") < at("An extra figure."));
    assert!(at("An extra figure.") < at("Files</h2>"));
    let s = Summary::read(&out).unwrap();
    // The report shows every figure written (and only those), as files beside it in
    // report order, and names its sources.
    let figures = s.figures.clone().unwrap();
    assert!(figures.len() >= 15, "{} figures", figures.len());
    assert_eq!(html.matches("data:image/png;base64,").count(), 0);
    let srcs: Vec<&str> = html
        .split("<img src=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    let files: Vec<&str> = figures.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(srcs, files);
    for f in &figures {
        assert!(out.join(&f.file).is_file(), "{}", f.file);
    }
    assert!(html.contains("summary.json"));
    let last = s.figures.unwrap().pop().unwrap();
    assert_eq!(last.file, "figures/extra_fig.png");
    let png = image::open(out.join(&last.file)).unwrap().to_rgb8();
    assert_eq!(png.get_pixel(5, 5).0, [10, 200, 30]);
}
