//! The HTML report: one file with inline CSS and no scripts that opens from disk in any
//! browser; figures are embedded as data: URIs ([`Report::figure_png`], a self-contained
//! page) or referenced as files beside it ([`Report::figure_file`], a small page).

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use image::RgbImage;

use crate::error::{DrawError, Result};
use crate::format::format_number;
use crate::output::{encode_png, PNG_SIGNATURE};

/// Escapes text for HTML element content and double- or single-quoted attributes.
///
/// ```
/// assert_eq!(
///     amva_draw::escape_html(r#"<img src=x onerror="a('b')">&"#),
///     "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
/// );
/// ```
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One table cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Text, left-aligned.
    Text(String),
    /// An integer, right-aligned.
    Int(i64),
    /// A real number, right-aligned, shown by [`format_number`] with the table's
    /// significant digits.
    Num(f64),
    /// No value (shown as an en dash).
    Empty,
    /// Text shown in bold (a value to notice), right-aligned like a number.
    Strong(String),
    /// A cell that is a link to `href` (e.g. `#s3`, the section it comes from), shown
    /// as the inner cell.
    Link(Box<Cell>, String),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}
impl From<f64> for Cell {
    fn from(v: f64) -> Self {
        Cell::Num(v)
    }
}
impl From<f32> for Cell {
    fn from(v: f32) -> Self {
        Cell::Num(f64::from(v))
    }
}
impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}
impl From<i32> for Cell {
    fn from(v: i32) -> Self {
        Cell::Int(i64::from(v))
    }
}
impl From<usize> for Cell {
    fn from(v: usize) -> Self {
        Cell::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<u32> for Cell {
    fn from(v: u32) -> Self {
        Cell::Int(i64::from(v))
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, Into::into)
    }
}

impl Cell {
    /// The text shown for the cell.
    pub fn display(&self, sig: usize) -> String {
        match self {
            Cell::Text(s) | Cell::Strong(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Num(v) => format_number(*v, sig),
            Cell::Empty => "\u{2013}".to_string(),
            Cell::Link(c, _) => c.display(sig),
        }
    }

    /// This cell as a link to `href`.
    pub fn link(self, href: impl Into<String>) -> Cell {
        Cell::Link(Box::new(self), href.into())
    }

    fn is_numeric(&self) -> bool {
        match self {
            Cell::Link(c, _) => c.is_numeric(),
            c => matches!(c, Cell::Int(_) | Cell::Num(_) | Cell::Strong(_)),
        }
    }

    /// The cell's HTML content (escaped), without the `<td>`.
    fn html(&self, sig: usize) -> String {
        match self {
            Cell::Strong(s) => format!("<strong>{}</strong>", escape_html(s)),
            Cell::Link(c, href) => {
                format!("<a href=\"{}\">{}</a>", escape_html(href), c.html(sig))
            }
            c => escape_html(&c.display(sig)),
        }
    }
}

/// A table: header, rows of cells, optional caption.
#[derive(Clone, Debug)]
pub struct Table {
    caption: Option<String>,
    source: Option<(String, String)>,
    header: Vec<String>,
    rows: Vec<Vec<Cell>>,
    sig: usize,
}

impl Table {
    /// A table with these column names.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Table {
            caption: None,
            source: None,
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
            sig: 4,
        }
    }

    /// A caption shown above the table.
    pub fn caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }

    /// The file that holds the table's numbers, relative to the report (`summary.json`,
    /// `edc/pauc.csv`), and where in it (`methods.*.images`; may be empty): shown at the
    /// end of the caption ("Source: file, where.") and kept in the table's
    /// `data-source` and `data-place` attributes, so that a reader or a test can trace
    /// every number. A place in a JSON file is a path of keys separated by dots, keys
    /// with dots in quotes, `*` for every value of an object and `key[]` for every
    /// element of an array (`methods."x".groups[].stats`).
    pub fn source(mut self, file: impl Into<String>, place: impl Into<String>) -> Self {
        self.source = Some((file.into(), place.into()));
        self
    }

    /// The file named by [`Table::source`], if any.
    pub fn source_file(&self) -> Option<&str> {
        self.source.as_ref().map(|(f, _)| f.as_str())
    }

    /// Significant digits of real numbers (default 4).
    pub fn significant_digits(mut self, sig: usize) -> Self {
        self.sig = sig.max(1);
        self
    }

    /// Appends a row; it must have one cell per header column.
    pub fn row(mut self, cells: Vec<Cell>) -> Result<Self> {
        if cells.len() != self.header.len() {
            return Err(DrawError::TableRow {
                table: self.caption.clone().unwrap_or_default(),
                row: self.rows.len(),
                expected: self.header.len(),
                got: cells.len(),
            });
        }
        self.rows.push(cells);
        Ok(self)
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn write_html(&self, out: &mut String) {
        let attr = self.source.as_ref().map_or(String::new(), |(f, place)| {
            format!(
                " data-source=\"{}\" data-place=\"{}\"",
                escape_html(f),
                escape_html(place)
            )
        });
        let _ = writeln!(out, "<div class=\"table-wrap\"><table{attr}>");
        let source = self.source.as_ref().map(|(f, place)| match place.as_str() {
            "" => format!("Source: {f}."),
            p => format!("Source: {f}, {p}."),
        });
        let caption = match (&self.caption, source) {
            (Some(c), Some(s)) => Some(format!("{} {s}", c.trim_end())),
            (c, s) => c.clone().or(s),
        };
        if let Some(c) = caption {
            let _ = writeln!(out, "<caption>{}</caption>", escape_html(&c));
        }
        out.push_str("<thead><tr>");
        for h in &self.header {
            let _ = write!(out, "<th scope=\"col\">{}</th>", escape_html(h));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in &self.rows {
            out.push_str("<tr>");
            for cell in row {
                let class = if cell.is_numeric() {
                    " class=\"num\""
                } else {
                    ""
                };
                let _ = write!(out, "<td{class}>{}</td>", cell.html(self.sig));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></div>\n");
    }
}

/// One block of report content.
#[derive(Clone, Debug)]
enum Block {
    Heading {
        level: u8,
        text: String,
        id: String,
    },
    Paragraph(String),
    Code(String),
    Table(Table),
    /// A figure: embedded from `png`, or (with `href`) a file beside the report whose
    /// size `png` gives.
    Figure {
        png: Vec<u8>,
        caption: String,
        href: Option<String>,
    },
    Link {
        text: String,
        href: String,
    },
    /// Where the parameters and the contents go (default: under the title).
    Front,
}

/// Builder of the HTML report.
///
/// ```
/// use amva_draw::{Report, Table, Cell};
/// # fn main() -> Result<(), amva_draw::DrawError> {
/// let mut report = Report::new("amva analyze: MagFace on LFW");
/// report.param("FR model", "fr_feature.onnx (sha256 1a2b...)").param("groups", "top/bottom 20%");
/// report.section("Region table");
/// report.table(
///     Table::new(["group", "mean AM-V inside", "mean AM-V outside"])
///         .row(vec!["high".into(), 0.1234.into(), 0.0567.into()])?,
/// );
/// let html = report.to_html();
/// assert!(html.contains("0.1234"));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Report {
    title: String,
    params: Vec<(String, String)>,
    blocks: Vec<Block>,
    sections: usize,
    subsections: usize,
}

impl Report {
    /// An empty report with a title.
    pub fn new(title: impl Into<String>) -> Self {
        Report {
            title: title.into(),
            params: Vec::new(),
            blocks: Vec::new(),
            sections: 0,
            subsections: 0,
        }
    }

    /// Adds a row to the parameters table shown under the title (inputs, model, options,
    /// version: what someone needs to reproduce the run).
    pub fn param(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Starts a section (listed in the contents), with the anchor `s<n>`.
    pub fn section(&mut self, heading: impl Into<String>) -> &mut Self {
        let id = format!("s{}", self.sections + 1);
        self.section_id(heading, id)
    }

    /// Starts a section whose anchor is `id` (letters, digits, `-` and `_`), for links
    /// from elsewhere in the page (`#id`); its subsections are `id-1`, `id-2`, ...
    pub fn section_id(&mut self, heading: impl Into<String>, id: impl Into<String>) -> &mut Self {
        self.sections += 1;
        self.subsections = 0;
        self.blocks.push(Block::Heading {
            level: 2,
            text: heading.into(),
            id: id.into(),
        });
        self
    }

    /// Puts the parameters table and the contents here instead of under the title:
    /// what comes before (a key-findings section) is the first thing a reader sees.
    pub fn front_here(&mut self) -> &mut Self {
        self.blocks.push(Block::Front);
        self
    }

    /// Starts a subsection of the current section.
    pub fn subsection(&mut self, heading: impl Into<String>) -> &mut Self {
        self.subsections += 1;
        let section = self.blocks.iter().rev().find_map(|b| match b {
            Block::Heading { level: 2, id, .. } => Some(id.clone()),
            _ => None,
        });
        let id = format!(
            "{}-{}",
            section.unwrap_or_else(|| "s0".into()),
            self.subsections
        );
        self.blocks.push(Block::Heading {
            level: 3,
            text: heading.into(),
            id,
        });
        self
    }

    /// A paragraph of plain text (escaped; blank lines are not special).
    pub fn paragraph(&mut self, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Paragraph(text.into()));
        self
    }

    /// A paragraph that is one link to `href` (a relative path to a file beside the
    /// report, e.g. `explorer.html`); both are escaped.
    pub fn link(&mut self, text: impl Into<String>, href: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Link {
            text: text.into(),
            href: href.into(),
        });
        self
    }

    /// Preformatted text, e.g. the command line of the run.
    pub fn code(&mut self, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Code(text.into()));
        self
    }

    /// A table.
    pub fn table(&mut self, table: Table) -> &mut Self {
        self.blocks.push(Block::Table(table));
        self
    }

    /// A figure from PNG bytes, embedded as a data: URI, with a caption.
    pub fn figure_png(&mut self, png: Vec<u8>, caption: impl Into<String>) -> Result<&mut Self> {
        let caption = caption.into();
        if !png.starts_with(&PNG_SIGNATURE) {
            return Err(DrawError::NotPng { caption });
        }
        self.blocks.push(Block::Figure {
            png,
            caption,
            href: None,
        });
        Ok(self)
    }

    /// A figure that stays a file beside the report (`href`, e.g. `figures/edc.png`),
    /// referenced rather than embedded: the page stays small and paints fast (figures
    /// after the first few load lazily, as the reader scrolls to them). `png` is that
    /// file's bytes (for its size; not embedded).
    pub fn figure_file(
        &mut self,
        png: &[u8],
        href: impl Into<String>,
        caption: impl Into<String>,
    ) -> Result<&mut Self> {
        let caption = caption.into();
        if !png.starts_with(&PNG_SIGNATURE) {
            return Err(DrawError::NotPng { caption });
        }
        self.blocks.push(Block::Figure {
            png: png.get(..24).unwrap_or_default().to_vec(),
            caption,
            href: Some(href.into()),
        });
        Ok(self)
    }

    /// A figure from an image (encoded as PNG), with a caption.
    pub fn figure(&mut self, image: &RgbImage, caption: impl Into<String>) -> Result<&mut Self> {
        let png = encode_png(image)?;
        self.figure_png(png, caption)
    }

    /// Number of figures added.
    pub fn figure_count(&self) -> usize {
        self.blocks
            .iter()
            .filter(|b| matches!(b, Block::Figure { .. }))
            .count()
    }

    /// The whole report as one HTML document.
    pub fn to_html(&self) -> String {
        let mut out = String::new();
        let title = escape_html(&self.title);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"amva-draw {}\">\n\
             <link rel=\"icon\" href=\"data:,\">\n<title>{title}</title>\n<style>{CSS}</style>\n\
             </head>\n<body>\n<main>\n<h1>{title}</h1>\n",
            env!("CARGO_PKG_VERSION")
        );
        let has_front = self.blocks.iter().any(|b| matches!(b, Block::Front));
        if !has_front {
            self.write_front(&mut out);
        }
        let engine = base64::engine::general_purpose::STANDARD;
        let mut figure_no = 0;
        for block in &self.blocks {
            match block {
                Block::Heading { level, text, id } => {
                    let _ = writeln!(
                        out,
                        "<h{level} id=\"{id}\">{}</h{level}>",
                        escape_html(text)
                    );
                }
                Block::Paragraph(text) => {
                    let _ = writeln!(out, "<p>{}</p>", escape_html(text));
                }
                Block::Code(text) => {
                    let _ = writeln!(out, "<pre><code>{}</code></pre>", escape_html(text));
                }
                Block::Link { text, href } => {
                    let _ = writeln!(
                        out,
                        "<p><a href=\"{}\">{}</a></p>",
                        escape_html(href),
                        escape_html(text)
                    );
                }
                Block::Table(t) => t.write_html(&mut out),
                Block::Front => self.write_front(&mut out),
                Block::Figure { png, caption, href } => {
                    figure_no += 1;
                    let cap = escape_html(caption);
                    let size = match png_size(png) {
                        // Small images (a 112 x 112 face) are shown enlarged, pixels kept sharp.
                        Some((w, h)) if w > 0 && w < SMALL_FIGURE => {
                            let k = SMALL_FIGURE.div_ceil(w).min(4);
                            format!(" width=\"{}\" height=\"{}\" class=\"small\"", w * k, h * k)
                        }
                        Some((w, h)) => format!(" width=\"{w}\" height=\"{h}\""),
                        None => String::new(),
                    };
                    // A file beside the page: fetched lazily below the first screens,
                    // so the page paints before all its figures are read.
                    let src = match href {
                        Some(h) if figure_no > EAGER_FIGURES => {
                            format!("{}\" loading=\"lazy\" decoding=\"async", escape_html(h))
                        }
                        Some(h) => escape_html(h),
                        None => format!("data:image/png;base64,{}", engine.encode(png)),
                    };
                    let _ = writeln!(
                        out,
                        "<figure id=\"fig{figure_no}\"><img src=\"{src}\"{size} alt=\"{cap}\">\
                         <figcaption><span class=\"fig-no\">Figure {figure_no}.</span> {cap}</figcaption></figure>"
                    );
                }
            }
        }
        out.push_str("</main>\n</body>\n</html>\n");
        out
    }

    /// The parameters table and the contents.
    fn write_front(&self, out: &mut String) {
        if !self.params.is_empty() {
            out.push_str("<table class=\"params\">\n<tbody>\n");
            for (k, v) in &self.params {
                let _ = writeln!(
                    out,
                    "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                    escape_html(k),
                    escape_html(v)
                );
            }
            out.push_str("</tbody></table>\n");
        }
        let toc: Vec<(&str, &str)> = self
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Heading { level: 2, text, id } => Some((id.as_str(), text.as_str())),
                _ => None,
            })
            .collect();
        if toc.len() > 1 {
            out.push_str("<nav class=\"toc\"><h2>Contents</h2><ol>\n");
            for (id, text) in toc {
                let _ = writeln!(out, "<li><a href=\"#{id}\">{}</a></li>", escape_html(text));
            }
            out.push_str("</ol></nav>\n");
        }
    }

    /// Writes the report to `path` atomically (temporary file, then rename).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        Ok(amva_io::atomic::write_atomic(
            path.as_ref(),
            self.to_html().as_bytes(),
        )?)
    }
}

/// Figures that are files beside the page ([`Report::figure_file`]) load lazily after
/// this many (the first screens load at once).
const EAGER_FIGURES: usize = 3;

/// Figures narrower than this many pixels are shown enlarged.
const SMALL_FIGURE: u32 = 300;

/// Width and height from a PNG's IHDR chunk (right after the signature).
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.len() < 24 || &png[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    let h = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
    Some((w, h))
}

/// The report's style: readable on screen and in print, no external fonts.
const CSS: &str = "\
:root{color-scheme:light;}\
body{margin:0;background:#f6f6f4;color:#1b1b1b;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;}\
main{max-width:1100px;margin:0 auto;padding:24px 32px 64px;background:#fff;box-shadow:0 0 0 1px #e4e4e0;}\
h1{font-size:1.7em;margin:0.4em 0 0.6em;line-height:1.2;}\
h2{font-size:1.35em;margin:1.8em 0 0.6em;padding-bottom:0.2em;border-bottom:2px solid #e4e4e0;}\
h3{font-size:1.1em;margin:1.4em 0 0.5em;}\
p{margin:0.6em 0;max-width:75ch;}\
pre{background:#f3f3f1;border:1px solid #e0e0dc;padding:10px 12px;overflow-x:auto;font-size:0.88em;}\
.table-wrap{overflow-x:auto;margin:0.8em 0 1.2em;}\
table{border-collapse:collapse;font-size:0.92em;}\
caption{caption-side:top;text-align:left;font-weight:600;padding:0 0 6px;}\
th,td{border:1px solid #d9d9d4;padding:4px 10px;vertical-align:top;}\
thead th{background:#eeeeea;text-align:left;}\
tbody tr:nth-child(even){background:#fafaf8;}\
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;}\
table.params{margin:0 0 1.2em;}\
table.params th{background:#f3f3f1;text-align:left;font-weight:600;white-space:nowrap;}\
table.params td{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:0.9em;word-break:break-all;}\
nav.toc{background:#fafaf8;border:1px solid #e4e4e0;padding:6px 18px;margin:1em 0;display:inline-block;}\
nav.toc h2{font-size:1em;border:none;margin:0.4em 0;}\
nav.toc ol{margin:0.2em 0 0.6em;padding-left:1.4em;}\
a{color:#1f5fa8;}\
figure{margin:1.2em 0;}\
figure img{max-width:100%;height:auto;border:1px solid #e4e4e0;}\
figure img.small{image-rendering:pixelated;}\
figcaption{font-size:0.92em;color:#444;max-width:75ch;margin-top:4px;}\
.fig-no{font-weight:600;}\
@media print{body{background:#fff;}main{box-shadow:none;max-width:none;padding:0;}figure{break-inside:avoid;}}\
";
