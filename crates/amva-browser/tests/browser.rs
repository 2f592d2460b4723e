//! The driver against pages whose behaviour is known: a click runs the page's click
//! handler, typing reaches an input, and console errors, exceptions and missing images
//! are reported (a browser test that cannot see errors would pass on a broken page).

use amva_browser::Browser;

fn page(dir: &std::path::Path, body: &str) -> String {
    let p = dir.join("page.html");
    std::fs::write(&p, format!("<!DOCTYPE html><html><head><meta charset=utf-8><link rel=icon href='data:,'></head><body>{body}</body></html>")).unwrap();
    format!("file://{}", p.display())
}

#[test]
fn clicks_and_keys_reach_the_page_and_errors_are_collected() {
    let Some(chromium) = amva_testkit::chromium() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("amva-browser-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut b = Browser::launch(&chromium).unwrap();
    let url = page(
        &dir,
        "<button id=b onclick='window.clicked=(window.clicked||0)+1'>b</button><input id=t>",
    );
    b.open(&url).unwrap();
    b.click("#b").unwrap();
    b.click("#b").unwrap();
    assert_eq!(b.eval("window.clicked").unwrap(), 2);
    b.type_text("#t", "Ab_1").unwrap();
    assert_eq!(
        b.eval("document.getElementById('t').value").unwrap(),
        "Ab_1"
    );
    assert!(b.errors().is_empty(), "{:?}", b.errors());
    assert!(b.click("#nothing").is_err());

    let url = page(
        &dir,
        "<img src='missing.png'><script>console.error('boom'); undefinedFunction();</script>",
    );
    b.open(&url).unwrap();
    b.wait_for("document.images[0].complete", 10.0).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let errors = b.errors();
    let all = errors.join("\n");
    assert!(all.contains("boom"), "{all}");
    assert!(all.contains("undefinedFunction"), "{all}");
    assert!(
        all.contains("missing.png") || all.contains("ERR_FILE_NOT_FOUND"),
        "{all}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
