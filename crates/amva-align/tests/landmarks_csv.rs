//! The landmark file reader: both layouts, and errors that name the line.

use amva_align::landmarks_csv::{parse_landmarks_csv, read_landmarks_csv};
use amva_align::AlignError;
use std::path::Path;

fn parse(text: &str) -> Result<amva_align::landmarks_csv::LandmarkTable, AlignError> {
    parse_landmarks_csv(text, Path::new("marks.csv"))
}

fn err_line(text: &str) -> (usize, String) {
    match parse(text) {
        Err(AlignError::LandmarksCsv { line, reason, .. }) => (line, reason),
        other => panic!("expected a landmarks error, got {other:?}"),
    }
}

#[test]
fn separate_columns_with_and_without_header() {
    let body = "a/1.jpg,1,2,3,4,5,6,7,8,9,10\nb.png,10,20,30,40,50,60,70,80,90,100\n";
    for text in [
        format!("image,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\n{body}"),
        body.to_string(),
    ] {
        let t = parse(&text).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            t.get("a/1.jpg"),
            Some(Some([
                [1.0, 2.0],
                [3.0, 4.0],
                [5.0, 6.0],
                [7.0, 8.0],
                [9.0, 10.0]
            ]))
        );
        assert_eq!(t.get("b.png").unwrap().unwrap()[4], [90.0, 100.0]);
        assert_eq!(t.get("c.png"), None);
    }
}

#[test]
fn packed_column_like_the_lfw_index() {
    let text = "relpath,identity,landmarks5_in_raw250_deepfunneled(x1 y1 .. x5 y5; leye reye nose lmouth rmouth),landmarks5_in_original_lfw250,ecc\n\
                A/A_0001.jpg,A,101.55 111.73 142.99 111.18 124.84 140.86 103.23 155.33 146.83 153.65,1 2 3 4 5 6 7 8 9 10,0.99\n\
                A/A_0002.jpg,A,,1 2 3 4 5 6 7 8 9 10,0.5\n";
    let t = parse(text).unwrap();
    assert_eq!(t.get("A/A_0001.jpg").unwrap().unwrap()[0], [101.55, 111.73]);
    // Empty landmark field: listed without landmarks.
    assert_eq!(t.get("A/A_0002.jpg"), Some(None));
    // Tab-separated, headerless, packed.
    let t = parse("x.jpg\t1 2 3 4 5 6 7 8 9 10\n").unwrap();
    assert_eq!(t.get("x.jpg").unwrap().unwrap()[2], [5.0, 6.0]);
}

#[test]
fn errors_name_the_line() {
    let head = "image,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\n";
    let (line, why) = err_line(&format!("{head}a.jpg,1,2,3,4,5,6,7,8,9,10\nb.jpg,1,2,3\n"));
    assert_eq!(line, 3);
    assert!(why.contains("columns"), "{why}");
    let (line, why) = err_line(&format!(
        "{head}a.jpg,1,2,3,4,5,6,7,8,9,10\nb.jpg,1,2,3,4,5,six,7,8,9,10\n"
    ));
    assert_eq!(line, 3);
    assert!(
        why.contains("'six' is not a number") && why.contains("'ny'"),
        "{why}"
    );
    let (line, why) = err_line(&format!("{head}a.jpg,1,2,3,4,5,,7,8,9,10\n"));
    assert_eq!(line, 2);
    assert!(why.contains("empty"), "{why}");
    let (line, why) = err_line("image,landmarks\na.jpg,1 2 3 4 5 6 7 8 9\n");
    assert_eq!(line, 2);
    assert!(why.contains("9 numbers"), "{why}");
    let (line, why) = err_line("image,landmarks\na.jpg,1 2 3 4 5 6 7 8 9 x\n");
    assert_eq!(line, 2);
    assert!(why.contains("'x' is not a number"), "{why}");
    let (line, _) = err_line("image,a,b\nx.jpg,1,2\n");
    assert_eq!(line, 1);
    let (line, why) = err_line("a.jpg,1,2,3,4,5,6,7,8,9,10\na.jpg,1,2,3,4,5,6,7,8,9,10\n");
    assert_eq!(line, 2);
    assert!(why.contains("twice"), "{why}");
    let (_, why) = err_line("");
    assert!(why.contains("empty"));
    // The message names the file and the line.
    let msg = parse(&format!("{head}a.jpg,1,2,3,4,5,six,7,8,9,10\n"))
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("marks.csv: line 2:"), "{msg}");
}

#[test]
fn reads_the_shared_lfw_index() {
    let Some(shared) = amva_testkit::shared_with(&["faces/lfw-dev/index.csv"]) else {
        return;
    };
    let t = read_landmarks_csv(&shared.join("faces/lfw-dev/index.csv")).unwrap();
    assert_eq!(t.len(), 2810);
    let without = t.by_image.values().filter(|v| v.is_none()).count();
    assert_eq!(
        without, 17,
        "rows with an empty deep-funneled landmark field"
    );
    // First data row, checked against the file's text.
    assert_eq!(
        t.get("Aaron_Peirsol/Aaron_Peirsol_0001.jpg")
            .unwrap()
            .unwrap()[4],
        [146.83, 153.65]
    );
}
