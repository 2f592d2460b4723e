//! The HTML report: escaping, embedded figures, tables, self-containment, atomic write.

use amva_draw::Styled;
use amva_draw::{encode_png, escape_html, Cell, DrawError, Heatmap, Report, RgbImage, Table};

fn tiny_png(seed: u8) -> Vec<u8> {
    encode_png(&RgbImage::from_pixel(3, 2, image::Rgb([seed, 0, 0]))).unwrap()
}

#[test]
fn escape_html_escapes_the_five_special_characters() {
    assert_eq!(
        escape_html("a<b>c&d\"e'f"),
        "a&lt;b&gt;c&amp;d&quot;e&#39;f"
    );
    assert_eq!(escape_html("plain text é"), "plain text é");
    // Escaping is not idempotent by design: '&' of an entity is escaped again.
    assert_eq!(escape_html("&lt;"), "&amp;lt;");
}

#[test]
fn every_figure_is_embedded_as_a_data_uri() {
    let mut r = Report::new("figures");
    r.section("one");
    for i in 0..5 {
        r.figure_png(tiny_png(i), format!("figure {i}")).unwrap();
    }
    r.figure(&RgbImage::new(2, 2), "from an image").unwrap();
    assert_eq!(r.figure_count(), 6);
    let html = r.to_html();
    assert_eq!(html.matches("src=\"data:image/png;base64,").count(), 6);
    assert_eq!(html.matches("<figure").count(), 6);
    // The bytes round-trip.
    use base64::Engine as _;
    let start = html.find("base64,").unwrap() + 7;
    let end = start + html[start..].find('"').unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&html[start..end])
        .unwrap();
    assert_eq!(bytes, tiny_png(0));
}

#[test]
fn tables_contain_every_cell_formatted_and_escaped() {
    let table = Table::new(["image id", "n", "score", "missing"])
        .caption("scores <raw>")
        .row(vec![
            "a/b.jpg".into(),
            12usize.into(),
            0.123456.into(),
            Cell::Empty,
        ])
        .unwrap()
        .row(vec![
            "x\"><script>alert(1)</script>".into(),
            (-3i64).into(),
            1.0e-6.into(),
            None::<f64>.into(),
        ])
        .unwrap();
    let mut r = Report::new("tables");
    r.table(table);
    let html = r.to_html();
    for expected in [
        "<th scope=\"col\">image id</th>",
        "<td>a/b.jpg</td>",
        "<td class=\"num\">12</td>",
        "<td class=\"num\">0.1235</td>",
        "<td class=\"num\">-3</td>",
        "<td class=\"num\">1.000e-6</td>",
        "<td>x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</td>",
        "<caption>scores &lt;raw&gt;</caption>",
    ] {
        assert!(html.contains(expected), "missing {expected}");
    }
    assert_eq!(html.matches("<td>\u{2013}</td>").count(), 2);
}

#[test]
fn user_text_never_becomes_markup() {
    let evil = "<img src=x onerror=alert(1)>";
    let mut r = Report::new(evil);
    r.param(evil, evil)
        .section(evil)
        .subsection(evil)
        .paragraph(evil)
        .code(evil);
    r.figure_png(tiny_png(1), evil).unwrap();
    r.table(
        Table::new([evil])
            .caption(evil)
            .row(vec![evil.into()])
            .unwrap(),
    );
    let html = r.to_html();
    assert!(!html.contains("<img src=x"), "raw markup leaked");
    assert!(!html.contains("onerror=alert(1)>"), "raw markup leaked");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[test]
fn report_is_self_contained_with_no_scripts_or_external_resources() {
    let mut r = Report::new("self-contained");
    r.param("model", "fr_feature.onnx")
        .section("A")
        .paragraph("text")
        .section("B");
    let png = Heatmap::new(vec![0.1, 0.2, 0.3, 0.4], 2, 2)
        .unwrap()
        .title("hm")
        .render()
        .unwrap();
    r.figure(&png, "heatmap").unwrap();
    let html = r.to_html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<link rel=\"stylesheet\""));
    // Every src= and href= is a data: URI or an in-page anchor.
    for attr in ["src=\"", "href=\""] {
        for (i, _) in html.match_indices(attr) {
            let v = &html[i + attr.len()..];
            assert!(
                v.starts_with("data:") || v.starts_with('#'),
                "external {attr}{}",
                &v[..20.min(v.len())]
            );
        }
    }
    // Contents list links each section heading.
    assert!(html.contains("<a href=\"#s1\">A</a>") && html.contains("<h2 id=\"s2\">B</h2>"));
}

#[test]
fn errors_for_non_png_bytes_and_ragged_rows() {
    let mut r = Report::new("x");
    let e = r
        .figure_png(b"GIF89a....".to_vec(), "not a png")
        .unwrap_err();
    assert!(matches!(e, DrawError::NotPng { .. }), "{e}");
    assert_eq!(r.figure_count(), 0);
    let e = Table::new(["a", "b"])
        .caption("t")
        .row(vec!["only".into()])
        .unwrap_err();
    assert!(
        matches!(
            e,
            DrawError::TableRow {
                row: 0,
                expected: 2,
                got: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn write_replaces_the_file_atomically_and_leaves_no_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    std::fs::write(&path, "old").unwrap();
    let mut r = Report::new("new report");
    r.figure_png(tiny_png(2), "f").unwrap();
    r.write(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), r.to_html());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("report.html")]);
    // Missing folders are made; a folder that cannot be made is an error naming it.
    r.write(dir.path().join("new/dir/report.html")).unwrap();
    let bad = dir.path().join("report.html/inside/report.html");
    let e = r.write(&bad).unwrap_err();
    assert!(e.to_string().contains("report.html/inside"), "{e}");
}

/// Opens a full report in a headless Chromium when one is installed and checks that the
/// page logs nothing to the console (no failed resources, no script errors).
#[test]
fn headless_browser_logs_no_console_messages() {
    let browser = [
        "chromium-headless-shell",
        "chromium",
        "chromium-browser",
        "google-chrome",
    ]
    .into_iter()
    .find(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(browser) = browser else {
        amva_testkit::skip("no headless Chromium on PATH (Debian package `chromium`)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    let mut r = Report::new("browser check <&>");
    r.param("a", "b").section("S1").paragraph("p").section("S2");
    let hm = Heatmap::new(vec![0.0, 1.0, 0.5, 0.25], 2, 2)
        .unwrap()
        .title("t")
        .render()
        .unwrap();
    r.figure(&hm, "heatmap").unwrap();
    r.figure_png(tiny_png(9), "tiny").unwrap();
    r.table(Table::new(["x"]).row(vec![1.5.into()]).unwrap());
    r.write(&path).unwrap();
    // A page that does log, to prove the check can fail.
    let bad = dir.path().join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><title>x</title><script>console.error('boom')</script>",
    )
    .unwrap();
    let console_lines = |p: &std::path::Path| {
        let out = std::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--enable-logging=stderr",
                "--v=0",
                "--dump-dom",
            ])
            .arg(format!("file://{}", p.display()))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let dom = String::from_utf8_lossy(&out.stdout).to_string();
        (
            stderr
                .lines()
                .filter(|l| l.contains(":CONSOLE"))
                .map(String::from)
                .collect::<Vec<_>>(),
            dom,
        )
    };
    let (bad_lines, _) = console_lines(&bad);
    assert!(
        !bad_lines.is_empty(),
        "{browser} does not report console messages; check is void"
    );
    let (lines, dom) = console_lines(&path);
    assert!(lines.is_empty(), "console messages: {lines:?}");
    assert!(
        dom.contains("browser check &lt;&amp;&gt;"),
        "page did not load"
    );
}
