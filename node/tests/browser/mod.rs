//! A small WebDriver client (the W3C protocol, JSON over HTTP) driving headless
//! Chromium through chromedriver, for the web page's tests.
//!
//! Chromium and chromedriver come from the system (Debian's `chromium` and
//! `chromium-driver`). Without them the browser tests skip with a message, except under
//! CI (`CI` set), where they fail.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a condition may take to come true in the page.
pub(crate) const WAIT: Duration = Duration::from_secs(45);
/// How often a condition is looked at again while waiting.
const POLL: Duration = Duration::from_millis(100);
/// The screen the pages are tested on, in CSS pixels: a small phone.
pub(crate) const PHONE: (u32, u32) = (360, 740);
/// The element key of the W3C protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// chromedriver and chromium, or `None` (after saying why) when they are missing
/// outside CI. Under CI their absence fails the test.
pub(crate) fn tools() -> Option<(PathBuf, PathBuf)> {
    let driver = which("chromedriver");
    let browser = which("chromium").or_else(|| which("chromium-browser"));
    match (driver, browser) {
        (Some(d), Some(b)) => Some((d, b)),
        _ => {
            let msg = "browser tests need chromium and chromedriver (Debian: apt-get install chromium chromium-driver)";
            assert!(
                std::env::var_os("CI").is_none(),
                "{msg}; CI must install them"
            );
            eprintln!("SKIPPED: {msg}");
            None
        }
    }
}

/// A running chromedriver; killed when dropped.
#[derive(Debug)]
pub(crate) struct Driver {
    child: Child,
    base: String,
    browser: PathBuf,
    http: reqwest::Client,
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until it answers.
    pub(crate) async fn start(driver: &Path, browser: &Path, log: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let d = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            browser: browser.to_path_buf(),
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(r) = d.http.get(format!("{}/status", d.base)).send().await {
                let v: Value = r.json().await.unwrap_or(Value::Null);
                if v["value"]["ready"] == json!(true) {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(POLL).await;
        }
        d
    }

    /// A new headless browser with a fresh profile in `profile`, sized like a small phone
    /// (360 x 740 CSS pixels).
    pub(crate) async fn browser(&self, profile: &Path) -> Browser {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.browser,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=360,740",
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": {"intl.accept_languages": "en-GB,en"}
            }
        }}});
        let v = post(&self.http, &format!("{}/session", self.base), caps).await;
        let id = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {v}"))
            .to_owned();
        let b = Browser {
            http: self.http.clone(),
            base: format!("{}/session/{id}", self.base),
        };
        // Headless Chromium keeps windows at least 500 px wide: the phone's size is
        // emulated instead, as a touch screen that honours the page's viewport.
        b.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": PHONE.0, "height": PHONE.1, "deviceScaleFactor": 1, "mobile": true}),
        )
        .await;
        b
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post(http: &reqwest::Client, url: &str, body: Value) -> Value {
    let r = http.post(url).json(&body).send().await.expect("webdriver");
    let v: Value = r.json().await.expect("webdriver JSON");
    v["value"].clone()
}

/// One browser (a WebDriver session).
#[derive(Debug)]
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
}

/// An element of the page.
#[derive(Debug, Clone)]
pub(crate) struct El(String);

impl Browser {
    async fn cmd(&self, path: &str, body: Value) -> Value {
        let v = post(&self.http, &format!("{}{path}", self.base), body).await;
        if let Some(e) = v.get("error") {
            panic!("webdriver {path}: {e}: {}", v["message"]);
        }
        v
    }

    /// Opens `url` and waits for it to load.
    pub(crate) async fn go(&self, url: &str) {
        self.cmd("/url", json!({ "url": url })).await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    pub(crate) async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// The first element matching the CSS selector, waiting for it to appear (and
    /// looking again when a live page took it away between the check and the lookup).
    pub(crate) async fn find(&self, css: &str) -> El {
        let deadline = Instant::now() + WAIT;
        loop {
            self.until(
                &format!("`{css}` on the page"),
                &format!("return document.querySelector({}) !== null", json!(css)),
            )
            .await;
            let url = format!("{}/element", self.base);
            let v = post(
                &self.http,
                &url,
                json!({"using": "css selector", "value": css}),
            )
            .await;
            match v.get("error") {
                None => return El(v[ELEMENT].as_str().expect("element id").to_owned()),
                Some(e) if e == "no such element" && Instant::now() < deadline => {
                    tokio::time::sleep(POLL).await;
                }
                Some(e) => panic!("webdriver /element `{css}`: {e}: {}", v["message"]),
            }
        }
    }

    /// Runs `steps` on the element matching `css`: each a command under the element
    /// (`click`, `value`, ...) with its body, or `None` for a read (GET). Returns the
    /// last step's value.
    ///
    /// A page that renders live (the offer board, the work list) may replace the
    /// element between finding it and using it, which WebDriver reports as a "stale
    /// element reference"; the element is then found again and the steps run again,
    /// until [`WAIT`]. Any other error fails the test.
    async fn on_element(&self, css: &str, steps: &[(&str, Option<Value>)]) -> Value {
        let deadline = Instant::now() + WAIT;
        'again: loop {
            let e = self.find(css).await;
            let mut last = Value::Null;
            for (step, body) in steps {
                let url = format!("{}/element/{}/{step}", self.base, e.0);
                let v = match body {
                    Some(b) => post(&self.http, &url, b.clone()).await,
                    None => {
                        let r = self.http.get(&url).send().await.expect("webdriver");
                        let v: Value = r.json().await.expect("webdriver JSON");
                        v["value"].clone()
                    }
                };
                match v.get("error") {
                    Some(err) if err == "stale element reference" => {
                        assert!(
                            Instant::now() < deadline,
                            "`{css}` kept being replaced: {}",
                            v["message"]
                        );
                        tokio::time::sleep(POLL).await;
                        continue 'again;
                    }
                    Some(err) => panic!("webdriver {step} on `{css}`: {err}: {}", v["message"]),
                    None => last = v,
                }
            }
            return last;
        }
    }

    /// Clicks the element matching `css`.
    pub(crate) async fn click(&self, css: &str) {
        self.on_element(css, &[("click", Some(json!({})))]).await;
    }

    /// Replaces the text of the field matching `css` by `text`, as if typed.
    pub(crate) async fn fill(&self, css: &str, text: &str) {
        self.on_element(
            css,
            &[
                ("clear", Some(json!({}))),
                ("value", Some(json!({ "text": text }))),
            ],
        )
        .await;
    }

    /// Sends `text` to the element matching `css` without clearing it first (a file
    /// input takes the file's path so).
    pub(crate) async fn send(&self, css: &str, text: &str) {
        self.on_element(css, &[("value", Some(json!({ "text": text })))])
            .await;
    }

    /// The visible text of the element matching `css`.
    pub(crate) async fn text(&self, css: &str) -> String {
        let v = self.on_element(css, &[("text", None)]).await;
        v.as_str().unwrap_or_default().to_owned()
    }

    /// The current URL.
    pub(crate) async fn url(&self) -> String {
        let v: Value = self
            .http
            .get(format!("{}/url", self.base))
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("json");
        v["value"].as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the JavaScript `condition` (a function body returning a boolean) holds.
    pub(crate) async fn until(&self, what: &str, condition: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.js(condition, vec![]).await == json!(true) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the page's text contains `needle`.
    pub(crate) async fn until_text(&self, needle: &str) {
        self.until(
            &format!("the page to say {needle:?}"),
            &format!("return document.body.innerText.includes({})", json!(needle)),
        )
        .await;
    }

    /// Saves a PNG screenshot of the page to `path`.
    pub(crate) async fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let v: Value = self
            .http
            .get(format!("{}/screenshot", self.base))
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("json");
        let png = base64::engine::general_purpose::STANDARD
            .decode(v["value"].as_str().expect("screenshot data"))
            .expect("base64");
        std::fs::write(path, png).expect("screenshot written");
    }

    /// Accepts the dialog the page opened (`window.confirm`), waiting for it to appear.
    pub(crate) async fn accept_dialog(&self) {
        self.answer_dialog(true).await;
    }

    /// Answers the dialog the page opened: OK (`true`) or Cancel, waiting for it.
    pub(crate) async fn answer_dialog(&self, ok: bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            let v: Value = self
                .http
                .get(format!("{}/alert/text", self.base))
                .send()
                .await
                .expect("webdriver")
                .json()
                .await
                .expect("json");
            if v["value"].get("error").is_none() {
                break;
            }
            assert!(Instant::now() < deadline, "no dialog opened");
            tokio::time::sleep(POLL).await;
        }
        let answer = if ok {
            "/alert/accept"
        } else {
            "/alert/dismiss"
        };
        self.cmd(answer, json!({})).await;
    }

    /// Runs a Chrome DevTools command (`Emulation.setTimezoneOverride`...) in the page.
    pub(crate) async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.cmd("/goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
            .await
    }

    /// Ends the session (the browser quits).
    pub(crate) async fn quit(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}
