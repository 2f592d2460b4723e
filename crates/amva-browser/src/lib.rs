//! Headless Chromium driven over the Chrome DevTools Protocol, the way a person uses
//! a page: real mouse events at an element's position, real typing, and every console
//! error, uncaught exception and failed load collected.
//!
//! The protocol runs over `--remote-debugging-pipe` (Chromium reads commands on fd 3
//! and writes replies and events on fd 4, each a JSON message ending in a NUL byte):
//! no port, no network, no WebSocket.
//!
//! ```no_run
//! let mut b = amva_browser::Browser::launch("/usr/bin/chromium".as_ref()).unwrap();
//! b.open("file:///tmp/out/explorer.html").unwrap();
//! b.wait_for("window.amvaReady !== undefined", 10.0).unwrap();
//! b.click("#head div[data-col='magnitude.score']").unwrap();
//! let first = b.eval("window.amvaOrder()[0]").unwrap();
//! assert!(b.errors().is_empty(), "{:?}", b.errors());
//! ```

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// What went wrong, in words.
pub type Error = String;
/// A result of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Longest wait for one reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// One headless Chromium with one page.
pub struct Browser {
    child: Child,
    to: std::fs::File,
    from: Receiver<Value>,
    next: u64,
    session: String,
    events: Vec<Value>,
    _profile: TempProfile,
}

/// A profile folder removed on drop.
struct TempProfile(std::path::PathBuf);

impl Drop for TempProfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe writes two new file descriptors into `fds`, which we then own.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(format!("pipe: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

impl Browser {
    /// Starts `chromium` headless with a fresh profile and a 1400 x 900 window, and
    /// attaches to its page.
    pub fn launch(chromium: &Path) -> Result<Self> {
        let (cmd_read, cmd_write) = pipe()?;
        let (ev_read, ev_write) = pipe()?;
        static LAUNCHED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = LAUNCHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile = std::env::temp_dir().join(format!("amva-browser-{}-{n}", std::process::id()));
        let (r, w) = (cmd_read.as_raw_fd(), ev_write.as_raw_fd());
        let mut cmd = Command::new(chromium);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--remote-debugging-pipe",
            "--window-size=1400,900",
            "--allow-file-access-from-files",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls (dup2) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(r, 3) < 0 || libc::dup2(w, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("{}: {e}", chromium.display()))?;
        drop(cmd_read);
        drop(ev_write);
        let (tx, rx) = channel();
        let reader = std::fs::File::from(ev_read);
        std::thread::spawn(move || {
            let mut r = BufReader::new(reader);
            let mut buf = Vec::new();
            while matches!(r.read_until(0, &mut buf), Ok(n) if n > 0) {
                buf.pop_if(|b| *b == 0);
                if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
                buf.clear();
            }
        });
        let mut b = Browser {
            child,
            to: std::fs::File::from(cmd_write),
            from: rx,
            next: 0,
            session: String::new(),
            events: Vec::new(),
            _profile: TempProfile(profile),
        };
        b.attach()?;
        Ok(b)
    }

    fn attach(&mut self) -> Result<()> {
        let targets = self.browser_call("Target.getTargets", json!({}))?;
        let page = targets["targetInfos"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .ok_or_else(|| format!("no page target: {targets}"))?;
        let id = page["targetId"].clone();
        let s = self.browser_call(
            "Target.attachToTarget",
            json!({"targetId": id, "flatten": true}),
        )?;
        self.session = s["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session: {s}"))?
            .to_string();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            self.call(domain, json!({}))?;
        }
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        )?;
        Ok(())
    }

    fn send(&mut self, method: &str, params: Value, session: bool) -> Result<Value> {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if session {
            msg["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&msg).map_err(|e| e.to_string())?;
        bytes.push(0);
        self.to
            .write_all(&bytes)
            .map_err(|e| format!("{method}: chromium's pipe: {e}"))?;
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .map_err(|e| format!("{method}: no reply from chromium ({e})"))?;
            if v["id"] == id {
                if let Some(err) = v.get("error") {
                    return Err(format!("{method}: {err}"));
                }
                return Ok(v["result"].clone());
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    fn browser_call(&mut self, method: &str, params: Value) -> Result<Value> {
        self.send(method, params, false)
    }

    /// Calls a DevTools method on the page.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        self.send(method, params, true)
    }

    /// Navigates to `url` and waits for its load event.
    pub fn open(&mut self, url: &str) -> Result<()> {
        self.call("Page.navigate", json!({"url": url}))?;
        self.wait_for("document.readyState === 'complete'", 60.0)
            .map(|_| ())
    }

    /// How fast the open page showed itself, in ms from the start of its navigation (the
    /// browser's own Paint and Navigation Timing): first contentful paint, and the end
    /// of the load event (every image decoded).
    pub fn paint_timing(&mut self) -> Result<(f64, f64)> {
        let v = self.wait_for(
            "(function(){var p=performance.getEntriesByName('first-contentful-paint')[0];\
             var n=performance.getEntriesByType('navigation')[0];\
             return p&&n&&n.loadEventEnd>0?[p.startTime,n.loadEventEnd]:null;})()",
            60.0,
        )?;
        let ms = |i: usize| v[i].as_f64().ok_or_else(|| format!("paint timing: {v}"));
        Ok((ms(0)?, ms(1)?))
    }

    /// The value of a JavaScript expression (awaited if it is a promise).
    pub fn eval(&mut self, expr: &str) -> Result<Value> {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        )?;
        if let Some(e) = r.get("exceptionDetails") {
            return Err(format!("{expr}: {e}"));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Polls `expr` until it is truthy (returns its value) or `seconds` pass.
    pub fn wait_for(&mut self, expr: &str, seconds: f64) -> Result<Value> {
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        loop {
            let v = self.eval(expr)?;
            let truthy =
                !matches!(&v, Value::Null | Value::Bool(false)) && v != json!(0) && v != json!("");
            if truthy {
                return Ok(v);
            }
            if Instant::now() > deadline {
                return Err(format!("{expr}: still {v} after {seconds} s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Scrolls the first element matching `selector` into view and clicks its centre
    /// with real mouse events (press, release).
    pub fn click(&mut self, selector: &str) -> Result<()> {
        let sel = serde_json::to_string(selector).map_err(|e| e.to_string())?;
        let rect = self.eval(&format!(
            "(function(){{var e=document.querySelector({sel}); if(!e) return null; e.scrollIntoView({{block:'center',inline:'center'}}); var r=e.getBoundingClientRect(); return [r.left+r.width/2, r.top+r.height/2];}})()"
        ))?;
        let (x, y) = match (rect[0].as_f64(), rect[1].as_f64()) {
            (Some(x), Some(y)) => (x, y),
            _ => return Err(format!("no element matches {selector}")),
        };
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseMoved", "x": x, "y": y}),
        )?;
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            )?;
        }
        Ok(())
    }

    /// Clicks `selector` (to focus it) and types `text` as keystrokes.
    pub fn type_text(&mut self, selector: &str, text: &str) -> Result<()> {
        self.click(selector)?;
        for c in text.chars() {
            let s = c.to_string();
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": "keyDown", "text": s, "key": s, "unmodifiedText": s}),
            )?;
            self.call("Input.dispatchKeyEvent", json!({"type": "keyUp", "key": s}))?;
        }
        Ok(())
    }

    /// Every console error, uncaught exception and failed load seen so far.
    pub fn errors(&mut self) -> Vec<String> {
        while let Ok(v) = self.from.try_recv() {
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
        self.events
            .iter()
            .filter_map(|e| {
                let p = &e["params"];
                match e["method"].as_str()? {
                    "Runtime.exceptionThrown" => {
                        Some(format!("exception: {}", p["exceptionDetails"]))
                    }
                    "Runtime.consoleAPICalled" if p["type"] == "error" => {
                        Some(format!("console.error: {}", p["args"]))
                    }
                    "Log.entryAdded" if p["entry"]["level"] == "error" => {
                        Some(format!("log: {}", p["entry"]["text"]))
                    }
                    _ => None,
                }
            })
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
