//! `taawun ui`: asks the running node for a one-time login code and prints (and, when a
//! browser is at hand, opens) the page's login link.

use super::UiLogin;
use crate::daemon::API_ADDRESS_FILE;
use crate::datadir;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};

/// Prints the login link of the node whose data folder is `dir`; opens it with
/// `xdg-open` when `open` and a graphical session seem to exist. Never fails for want
/// of a browser: the link is printed first.
pub(crate) async fn ui(dir: &Path, open: bool) -> Result<()> {
    let addr_file = dir.join(API_ADDRESS_FILE);
    let addr = match std::fs::read_to_string(&addr_file) {
        Ok(a) if !a.trim().is_empty() => a.trim().to_owned(),
        _ => bail!(
            "the node of {} is not running (no {}); start it with `taawun run`",
            dir.display(),
            addr_file.display()
        ),
    };
    let token = datadir::load_token(dir)?;
    let base = format!("http://{addr}");
    let r = reqwest::Client::new()
        .post(format!("{base}/api/ui-login"))
        .bearer_auth(token.trim())
        .send()
        .await
        .with_context(|| format!("asking the node at {base} for a login code (is it running?)"))?;
    if !r.status().is_success() {
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        bail!("the node refused a login code ({status}): {body}");
    }
    let login: UiLogin = r.json().await.context("reading the node's answer")?;
    let url = format!("{base}{}", login.path);
    println!(
        "open this link in a browser on this machine (it works once, within {} minutes):\n{url}",
        login.expires_in_s / 60
    );
    if open && graphical() {
        // Best effort: a missing or failing opener leaves the printed link.
        let _ = Command::new("xdg-open")
            .arg(&url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }
    Ok(())
}

/// Whether a browser can probably be opened here: a graphical session and `xdg-open`.
fn graphical() -> bool {
    let has = |v: &str| std::env::var_os(v).is_some_and(|x| !x.is_empty());
    (has("DISPLAY") || has("WAYLAND_DISPLAY"))
        && std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("xdg-open").is_file()))
}
