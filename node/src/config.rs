//! The node's configuration file, `config.toml` in the data folder.
//!
//! `taawun init` writes [`TEMPLATE`], every setting with its default and a comment; a
//! setting left out takes its default, an unknown one is an error (a typo must not be
//! silently ignored).

use anyhow::{Context, Result};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;

/// Name of the configuration file inside the data folder.
pub(crate) const CONFIG_FILE: &str = "config.toml";

/// The API's default address: this machine only.
pub(crate) const DEFAULT_API: &str = "127.0.0.1:7420";

/// What `taawun init` writes.
pub(crate) const TEMPLATE: &str = r#"# taawun node configuration. Every setting shows its default.

[network]
# Addresses to listen on for other nodes (libp2p multiaddrs). Port 0: any free port.
listen = ["/ip4/0.0.0.0/tcp/4001"]
# Nodes to connect to at start (multiaddrs ending in /p2p/<peer id>), e.g. from an invite.
bootstrap = []
# Find other taawun nodes on the local network (Wi-Fi, LAN) with mDNS. Off: it tells
# everyone on the network that a taawun node runs here (it names no member). Turn it on
# in a lab or an office whose local network you trust.
mdns = false
# Addresses others can reach this node at, if you know them (a public IP, or a port
# forwarded on your router), e.g. ["/ip4/203.0.113.7/tcp/4001"]. The node then serves
# the peer directory (DHT) and can relay for members behind NATs. Left empty, AutoNAT
# finds out; a node listening only on 127.0.0.1 announces its loopback addresses.
external = []
# At start the node writes nothing in a cooperative until one of its other nodes has
# confirmed your latest entry: this data folder may be an old backup or a copy, and a new
# entry at a number you already used elsewhere is a fork, which freezes you in the
# cooperative. true writes at once; only if this folder is surely your only, current copy.
write_before_sync = false

[api]
# Where the local HTTP API (and the web page) listens. Keep it on 127.0.0.1 unless you
# know why: anyone who can reach it and holds the token acts as this node.
listen = "127.0.0.1:7420"
"#;

/// The configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    pub(crate) network: Network,
    pub(crate) api: Api,
}

/// `[network]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Network {
    pub(crate) listen: Vec<String>,
    pub(crate) bootstrap: Vec<String>,
    pub(crate) mdns: bool,
    pub(crate) external: Vec<String>,
    pub(crate) write_before_sync: bool,
}

/// `[api]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Api {
    pub(crate) listen: SocketAddr,
}

impl Default for Network {
    fn default() -> Self {
        Self {
            listen: vec!["/ip4/0.0.0.0/tcp/4001".into()],
            bootstrap: Vec::new(),
            mdns: false,
            external: Vec::new(),
            write_before_sync: false,
        }
    }
}

impl Default for Api {
    fn default() -> Self {
        Self {
            listen: DEFAULT_API
                .parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 7420))),
        }
    }
}

impl Config {
    /// Reads `config.toml` of `dir`; a missing file means every default.
    pub(crate) fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(CONFIG_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).with_context(|| format!("in {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Parses configuration text.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| anyhow::anyhow!("bad configuration: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_the_defaults() {
        let c = Config::parse(TEMPLATE).expect("template parses");
        let d = Config::default();
        assert_eq!(c.network.listen, d.network.listen);
        assert_eq!(c.network.mdns, d.network.mdns);
        assert_eq!(c.network.write_before_sync, d.network.write_before_sync);
        assert!(
            !d.network.write_before_sync,
            "a restarted node waits for its peers"
        );
        assert_eq!(c.api.listen, d.api.listen);
        assert!(c.api.listen.ip().is_loopback());
    }

    #[test]
    fn unknown_settings_are_refused() {
        let e = Config::parse("[api]\nlisten = \"127.0.0.1:1\"\nlistne = 3\n")
            .expect_err("a typo must not pass");
        assert!(e.to_string().contains("listne"), "{e}");
    }

    #[test]
    fn missing_settings_take_defaults() {
        let c = Config::parse("[network]\nmdns = true\n").expect("parses");
        assert!(c.network.mdns);
        assert!(
            !Config::default().network.mdns,
            "mDNS is off unless asked for"
        );
        assert_eq!(c.api.listen, Config::default().api.listen);
    }
}
