//! The composed libp2p behaviour of a taawun node.
//!
//! Besides the taawun protocols (gossip, sync, results) it holds what lets nodes behind
//! NATs take part: AutoNAT v2 (a node learns which of its addresses others can dial, and
//! answers such questions for its peers), circuit relay v2 (the client always, so a node
//! can reserve a slot on a relay and be reached through it; the server when configured),
//! DCUtR (two nodes connected through a relay try a direct connection by hole punching),
//! and connection limits (see [`crate::config::MAX_CONNECTIONS`]).

use crate::config::NetConfig;
use crate::config::{
    MAX_CONNECTIONS, MAX_CONNECTIONS_PER_PEER, MAX_PENDING_CONNECTIONS, RELAY_MAX_CIRCUITS,
    RELAY_MAX_CIRCUITS_PER_PEER, RELAY_MAX_CIRCUIT_BYTES, RELAY_MAX_CIRCUIT_DURATION,
    RELAY_MAX_RESERVATIONS,
};
use crate::error::NetError;
use crate::gossip;
use crate::hello;
use crate::result;
use crate::sync::{self, Request, Response};
use libp2p::allow_block_list::{self, BlockedPeers};
use libp2p::connection_limits::{self, ConnectionLimits};
use libp2p::gossipsub::{self, MessageAuthenticity};
use libp2p::request_response::{self, cbor, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{autonat, dcutr, identify, identity::Keypair, kad, mdns, ping, relay, StreamProtocol};
use std::time::Duration;

/// identify's protocol version: peers of another protocol are not ours.
pub(crate) const IDENTIFY_PROTOCOL: &str = "/taawun/id/1";

/// Kademlia's protocol name: a DHT of taawun nodes only, not the public IPFS one.
pub(crate) const KAD_PROTOCOL: &str = "/taawun/kad/1";

/// Peers a DHT lookup is done with (Kademlia's k; libp2p's default is 20). The DHT only
/// finds peers (no records are stored), and every peer a lookup contacts is a connection:
/// 4 finds the closest peers without walking a small network whole.
pub(crate) const DHT_REPLICATION: std::num::NonZeroUsize = match std::num::NonZeroUsize::new(4) {
    Some(n) => n,
    None => std::num::NonZeroUsize::MIN,
};

/// How long a sync request may take: a full range response (about 4 MiB) over a slow
/// mobile link.
pub(crate) const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

/// The behaviours of a node, polled together by the Swarm.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// Peers this node refuses (a partition in tests; a banned peer in life).
    pub(crate) blocked: allow_block_list::Behaviour<BlockedPeers>,
    /// Graylisted peers, refused for their lockout (see [`gossip::lockout`]). Apart from
    /// `blocked`, so that a lockout ending never lets in a peer blocked by hand.
    pub(crate) locked_out: allow_block_list::Behaviour<BlockedPeers>,
    /// Bounds on connections (total, per peer, pending).
    pub(crate) limits: connection_limits::Behaviour,
    /// Refuses other behaviours' dials to peers not chosen once the node has its peers
    /// (see [`crate::dial_gate`]).
    pub(crate) gate: crate::dial_gate::DialGate,
    /// Entries, one topic per cooperative.
    pub(crate) gossip: gossipsub::Behaviour,
    /// Learns peers' listen addresses (fed to Kademlia).
    pub(crate) identify: identify::Behaviour,
    /// Finds peers beyond the bootstrap ones.
    pub(crate) kad: kad::Behaviour<kad::store::MemoryStore>,
    /// Finds peers on the local network, when enabled.
    pub(crate) mdns: Toggle<mdns::tokio::Behaviour>,
    /// `/ipfs/ping/1.0.0` with libp2p's defaults: answers peers' pings, and pings each
    /// connection every 15 s (a ping unanswered after 20 s has failed). Informational
    /// only: ping streams do not keep a connection open, and the node closes nothing on a
    /// failed ping or on a peer without ping (it logs them).
    pub(crate) ping: ping::Behaviour,
    /// Proofs of member keys (see [`crate::hello`]).
    pub(crate) hello: cbor::Behaviour<hello::Request, hello::Response>,
    /// Chain heads and ranges.
    pub(crate) sync: cbor::Behaviour<Request, Response>,
    /// Result bytes, worker to requester.
    pub(crate) results: cbor::Behaviour<result::Request, result::Response>,
    /// Reservations on relays and circuits through them.
    pub(crate) relay_client: relay::client::Behaviour,
    /// Serving as a relay, when [`NetConfig::relay_server`].
    pub(crate) relay: Toggle<relay::Behaviour>,
    /// Hole punching over a relayed connection.
    pub(crate) dcutr: dcutr::Behaviour,
    /// Asks peers to dial this node's candidate addresses back.
    pub(crate) autonat_client: autonat::v2::client::Behaviour,
    /// Dials peers' candidate addresses back for them.
    pub(crate) autonat_server: autonat::v2::server::Behaviour,
}

impl Behaviour {
    /// Builds the behaviour for `key` under `config`.
    pub(crate) fn new(
        key: &Keypair,
        config: &NetConfig,
        relay_client: relay::client::Behaviour,
    ) -> Result<Self, NetError> {
        let peer = key.public().to_peer_id();
        let gossip_config = gossip::config_builder(config.heartbeat)
            .validate_messages()
            .build()
            .map_err(|e| NetError::Build(format!("gossipsub config: {e}")))?;
        let mut gossip = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config)
            .map_err(|e| NetError::Build(format!("gossipsub: {e}")))?;
        gossip
            .with_peer_score(
                gossip::score_params(config.graylist_lockout),
                gossip::thresholds(),
            )
            .map_err(|e| NetError::Build(format!("gossipsub scoring: {e}")))?;

        let identify = identify::Behaviour::new(identify::Config::new(
            IDENTIFY_PROTOCOL.to_string(),
            key.public(),
        ));

        let mut kad_config = kad::Config::new(StreamProtocol::new(KAD_PROTOCOL));
        // Kademlia's bootstrap (a lookup of the node's own id after each routing-table
        // insert while the table is small, and every 5 minutes) dials every peer the lookup
        // walks through. With every connected peer inserted, each node of a network of a
        // few dozen ended up connected to all the others. So: only peers the node chose go
        // into the table (`config::MAX_CHOSEN_PEERS`), lookups stop at a few peers
        // (`DHT_REPLICATION`), no periodic bootstrap (the node looks for peers itself when
        // it has too few, `config::MIN_PEERS`).
        kad_config.set_kbucket_inserts(kad::BucketInserts::Manual);
        kad_config.set_replication_factor(DHT_REPLICATION);
        kad_config.set_periodic_bootstrap_interval(None);
        let mut kad =
            kad::Behaviour::with_config(peer, kad::store::MemoryStore::new(peer), kad_config);
        // A node answers DHT queries once it is reachable: a relay or a node with a known
        // public address serves from the start, the others switch to serving when AutoNAT
        // confirms an external address (libp2p's automatic mode). Peers behind NATs stay
        // clients, so lookups do not stall on addresses nobody can dial.
        if config.relay_server || !config.external_addresses.is_empty() {
            kad.set_mode(Some(kad::Mode::Server));
        }

        let mdns = if config.mdns {
            Some(
                mdns::tokio::Behaviour::new(mdns::Config::default(), peer)
                    .map_err(|e| NetError::Build(format!("mdns: {e}")))?,
            )
        } else {
            None
        };

        let sync = request_response::Behaviour::with_codec(
            sync::codec(),
            [(StreamProtocol::new(sync::PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(SYNC_TIMEOUT)
                .with_max_concurrent_streams(sync::MAX_STREAMS),
        );

        let hello = request_response::Behaviour::with_codec(
            hello::codec(),
            [(StreamProtocol::new(hello::PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(hello::TIMEOUT)
                .with_max_concurrent_streams(hello::MAX_STREAMS),
        );

        let results = request_response::Behaviour::with_codec(
            result::codec(),
            [(StreamProtocol::new(result::PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(result::TIMEOUT)
                .with_max_concurrent_streams(result::MAX_STREAMS),
        );

        let limits = ConnectionLimits::default()
            .with_max_established(Some(MAX_CONNECTIONS))
            .with_max_established_per_peer(Some(MAX_CONNECTIONS_PER_PEER))
            .with_max_pending_incoming(Some(MAX_PENDING_CONNECTIONS))
            .with_max_pending_outgoing(Some(MAX_PENDING_CONNECTIONS));

        let relay = config.relay_server.then(|| {
            let relay_config = relay::Config {
                max_reservations: RELAY_MAX_RESERVATIONS,
                max_circuits: RELAY_MAX_CIRCUITS,
                max_circuits_per_peer: RELAY_MAX_CIRCUITS_PER_PEER,
                max_circuit_duration: RELAY_MAX_CIRCUIT_DURATION,
                max_circuit_bytes: RELAY_MAX_CIRCUIT_BYTES,
                ..relay::Config::default()
            };
            relay::Behaviour::new(peer, relay_config)
        });

        Ok(Self {
            blocked: allow_block_list::Behaviour::default(),
            locked_out: allow_block_list::Behaviour::default(),
            limits: connection_limits::Behaviour::new(limits),
            gate: crate::dial_gate::DialGate::default(),
            gossip,
            identify,
            kad,
            mdns: Toggle::from(mdns),
            ping: ping::Behaviour::default(),
            hello,
            sync,
            results,
            relay_client,
            relay: Toggle::from(relay),
            dcutr: dcutr::Behaviour::new(peer),
            autonat_client: autonat::v2::client::Behaviour::default(),
            autonat_server: autonat::v2::server::Behaviour::default(),
        })
    }
}
