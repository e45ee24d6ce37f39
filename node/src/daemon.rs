//! `taawun run`: the daemon. Starts the network on the node's ledger, serves the local
//! API, runs the requester's lottery when claim windows close, and stops cleanly on
//! Ctrl-C or SIGTERM (the network task flushes every ledger before it ends).

use crate::api;
use crate::config::Config;
use crate::datadir::{self, API_ADDRESS_FILE};
use crate::service::Node;
use crate::state::{AppState, LIVE_CAPACITY};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;
use taawun_api::views::LiveEvent;
use taawun_ledger::Ledger;
use taawun_net::libp2p::Multiaddr;
use taawun_net::{Event, NetConfig, Network, Via};
use tokio::sync::{broadcast, mpsc, watch};
use tracing::{debug, info, warn};

/// How often a requester's node looks for offers whose claim window has closed, to run
/// the lottery. A claim window is minutes long; a few seconds of delay is invisible.
pub(crate) const POLICY_INTERVAL: Duration = Duration::from_secs(2);

/// How long the daemon waits for its listen addresses to be bound at start.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(5);

/// Parses configured multiaddrs, naming the setting at fault.
pub(crate) fn multiaddrs(what: &str, list: &[String]) -> Result<Vec<Multiaddr>> {
    list.iter()
        .map(|s| {
            s.parse::<Multiaddr>().with_context(|| {
                format!("{what}: `{s}` is not a multiaddr (e.g. /ip4/1.2.3.4/tcp/4001/p2p/12D3...)")
            })
        })
        .collect()
}

/// The network configuration of a data folder. The member's writes wait for a peer to
/// confirm its latest entry unless the configuration or `write_before_sync` says not to.
pub(crate) fn net_config(dir: &Path, cfg: &Config, write_before_sync: bool) -> Result<NetConfig> {
    Ok(NetConfig {
        confirm_own_chain: !(write_before_sync || cfg.network.write_before_sync),
        listen: multiaddrs("network.listen", &cfg.network.listen)?,
        bootstrap: multiaddrs("network.bootstrap", &cfg.network.bootstrap)?,
        mdns: cfg.network.mdns,
        external_addresses: multiaddrs("network.external", &cfg.network.external)?,
        results_dir: Some(dir.join(datadir::RESULTS_DIR)),
        ..NetConfig::default()
    })
}

/// Turns network events into live events for the API's stream, until the network stops.
pub(crate) async fn forward(mut events: mpsc::Receiver<Event>, live: broadcast::Sender<LiveEvent>) {
    let mut peers: usize = 0;
    while let Some(ev) = events.recv().await {
        let out = match ev {
            Event::Stored { coop, id, via } => Some(LiveEvent::Entry {
                coop: coop.to_hex(),
                id: id.to_hex(),
                via: match via {
                    Via::Local => "local",
                    Via::Gossip => "gossip",
                    Via::Sync => "sync",
                    Via::Released => "released",
                }
                .into(),
            }),
            Event::ResultReceived {
                coop, submission, ..
            } => Some(LiveEvent::Result {
                coop: coop.to_hex(),
                submission: submission.to_hex(),
            }),
            Event::PeerConnected(_) => {
                peers += 1;
                Some(LiveEvent::Peers { count: peers })
            }
            Event::PeerDisconnected(_) => {
                peers = peers.saturating_sub(1);
                Some(LiveEvent::Peers { count: peers })
            }
            _ => None,
        };
        if let Some(ev) = out {
            // No subscriber is fine: nobody is watching.
            let _ = live.send(ev);
        }
    }
}

/// Runs the requester's lottery policy, and witnesses others' entries with ticks, every
/// [`POLICY_INTERVAL`].
pub(crate) async fn policy(node: Node) {
    let mut tick = tokio::time::interval(POLICY_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match node.assign_due().await {
            Ok(done) => {
                for w in done {
                    info!(entry = %w.id, "lottery drawn for an offer whose claim window closed");
                }
            }
            Err(crate::service::Error::Stopped) => return,
            Err(e) => warn!(error = %e, "lottery policy"),
        }
        match node.enroll_due().await {
            Ok(done) => {
                for w in done {
                    info!(entry = %w.id, "this device enrolled: its entries count as its member's");
                }
            }
            Err(crate::service::Error::Stopped) => return,
            Err(e) => warn!(error = %e, "device enrollment"),
        }
        match node.witness_due().await {
            Ok(done) => {
                for w in done {
                    debug!(entry = %w.id, "tick written");
                }
            }
            Err(crate::service::Error::Stopped) => return,
            Err(e) => warn!(error = %e, "witnessing"),
        }
    }
}

/// A node that listens only on loopback can be reached only there (a local cooperative,
/// tests): announce those addresses, so it serves the DHT and peers can find it to hand
/// it results. Elsewhere AutoNAT, relays or `network.external` say how it is reached.
async fn announce_loopback(net: &Network, cfg: &Config) -> Result<()> {
    use taawun_net::libp2p::multiaddr::Protocol;
    let loopback = |a: &Multiaddr| {
        a.iter().any(|p| match p {
            Protocol::Ip4(ip) => ip.is_loopback(),
            Protocol::Ip6(ip) => ip.is_loopback(),
            _ => false,
        })
    };
    let listen = multiaddrs("network.listen", &cfg.network.listen)?;
    if listen.is_empty() || !listen.iter().all(loopback) {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
    loop {
        let bound = net.listeners().await?;
        if !bound.is_empty() {
            for a in bound.into_iter().filter(loopback) {
                net.add_external_address(a).await?;
            }
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            warn!("no listen address after {LISTEN_TIMEOUT:?}; not announcing any");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C still stops the node");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// `taawun run`; `write_before_sync`: write in each cooperative without waiting for a
/// peer to confirm the member's latest entry (docs/member.md).
pub(crate) async fn run(dir: PathBuf, write_before_sync: bool) -> Result<()> {
    let key = datadir::load_key(&dir)?;
    let token = datadir::load_token(&dir)?;
    let cfg = Config::load(&dir)?;
    let ledger_path = dir.join(datadir::LEDGER_DIR);
    let ledger = Ledger::open(&ledger_path).with_context(|| {
        format!(
            "opening the ledger in {} (is another taawun node running on this data folder?)",
            ledger_path.display()
        )
    })?;
    let net_cfg = net_config(&dir, &cfg, write_before_sync)?;
    if !net_cfg.confirm_own_chain {
        warn!("writing without waiting for peers to confirm this member's latest entry: if this data folder is an old backup or a copy, a write may fork the member");
    }
    let transport = datadir::net_key(&dir)?;
    let (net, events, net_task) = Network::spawn_member(net_cfg, transport, key.clone(), ledger)
        .context("starting the network")?;
    announce_loopback(&net, &cfg).await?;
    let node = Node::new(
        net.clone(),
        key,
        taawun_net::config::system_now,
        dir.clone(),
    );
    let (live, _) = broadcast::channel(LIVE_CAPACITY);
    tokio::spawn(forward(events, live.clone()));
    let policy_task = tokio::spawn(policy(node.clone()));

    let listener = tokio::net::TcpListener::bind(cfg.api.listen)
        .await
        .with_context(|| format!("binding the API to {}", cfg.api.listen))?;
    let addr = listener.local_addr()?;
    let addr_file = dir.join(API_ADDRESS_FILE);
    std::fs::write(&addr_file, addr.to_string())
        .with_context(|| format!("writing {}", addr_file.display()))?;
    if !addr.ip().is_loopback() {
        warn!(%addr, "the API listens beyond this machine: anyone who can reach it and holds the token acts as this node");
    }
    info!(%addr, key = %node.me().to_hex(), peer = %net.peer_id(), "taawun node running");
    eprintln!(
        "taawun node {} running; API on http://{addr} (Ctrl-C stops it)",
        node.me().short()
    );
    let (stop_tx, stop) = watch::channel(false);
    let app = api::router(AppState {
        node,
        token: blake3::hash(token.as_bytes()),
        live,
        stop,
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        })
        .await
        .context("serving the API")?;
    info!("stopping");
    policy_task.abort();
    let _ = std::fs::remove_file(&addr_file);
    net.shutdown().await.ok();
    let _ = net_task.await;
    eprintln!("taawun node stopped; ledger flushed");
    Ok(())
}
