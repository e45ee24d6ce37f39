//! `taawun ui`: asks the running node for a one-time login code and prints (and, when a
//! browser is at hand, opens) the page's login link.

use super::UiLogin;
use crate::datadir::{self, API_ADDRESS_FILE};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};

/// Prints the login link of the node whose data folder is `dir`; opens it with
/// `xdg-open` when `open` and a graphical session seem to exist. Never fails for want
/// of a browser: the link is printed first. The link names the node by its own name under
/// `localhost` ([`page_base`]) unless `by_address`.
pub(crate) async fn ui(dir: &Path, open: bool, by_address: bool) -> Result<()> {
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
    let page = if by_address {
        base.clone()
    } else {
        page_base(&addr)
    };
    let url = format!("{page}{}", login.path);
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

/// The page's address for a node whose API listens on `addr`. Browsers send the cookies
/// of a host name to every port of it, so a page opened as `127.0.0.1` would hand its
/// session cookie to any other program serving pages there that the browser visits (on a
/// phone, any app). On a loopback address the page is named after its port under
/// `localhost` (`http://node7420.localhost:7420`), a name browsers resolve to this machine
/// and that only this node answers; its cookie goes nowhere else. Other addresses (a node
/// reached over the network) stay as they are.
pub(crate) fn page_base(addr: &str) -> String {
    match addr.parse::<std::net::SocketAddr>() {
        Ok(a) if a.ip().is_loopback() => {
            format!("http://node{port}.localhost:{port}", port = a.port())
        }
        _ => format!("http://{addr}"),
    }
}

/// Whether a browser can probably be opened here: a graphical session and `xdg-open`.
fn graphical() -> bool {
    let has = |v: &str| std::env::var_os(v).is_some_and(|x| !x.is_empty());
    (has("DISPLAY") || has("WAYLAND_DISPLAY"))
        && std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("xdg-open").is_file()))
}

#[cfg(test)]
mod tests {
    use super::page_base;

    #[test]
    fn a_loopback_node_gets_a_name_of_its_own_and_others_keep_their_address() {
        assert_eq!(
            page_base("127.0.0.1:7420"),
            "http://node7420.localhost:7420"
        );
        assert_eq!(page_base("[::1]:7421"), "http://node7421.localhost:7421");
        assert_eq!(page_base("192.168.1.5:7420"), "http://192.168.1.5:7420");
    }
}
