//! The composed libp2p behaviour of a taawun node.

use crate::config::NetConfig;
use crate::error::NetError;
use crate::gossip;
use crate::result;
use crate::sync::{self, Request, Response};
use libp2p::allow_block_list::{self, BlockedPeers};
use libp2p::gossipsub::{self, MessageAuthenticity};
use libp2p::request_response::{self, cbor, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{identify, identity::Keypair, kad, mdns, ping, StreamProtocol};
use std::time::Duration;

/// identify's protocol version: peers of another protocol are not ours.
pub(crate) const IDENTIFY_PROTOCOL: &str = "/taawun/id/1";

/// Kademlia's protocol name: a DHT of taawun nodes only, not the public IPFS one.
pub(crate) const KAD_PROTOCOL: &str = "/taawun/kad/1";

/// How long a sync request may take: a full range response (about 4 MiB) over a slow
/// mobile link.
pub(crate) const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

/// The behaviours of a node, polled together by the Swarm.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// Peers this node refuses (a partition in tests; a banned peer in life).
    pub(crate) blocked: allow_block_list::Behaviour<BlockedPeers>,
    /// Entries, one topic per cooperative.
    pub(crate) gossip: gossipsub::Behaviour,
    /// Learns peers' listen addresses (fed to Kademlia).
    pub(crate) identify: identify::Behaviour,
    /// Finds peers beyond the bootstrap ones.
    pub(crate) kad: kad::Behaviour<kad::store::MemoryStore>,
    /// Finds peers on the local network, when enabled.
    pub(crate) mdns: Toggle<mdns::tokio::Behaviour>,
    /// Liveness of connections.
    pub(crate) ping: ping::Behaviour,
    /// Chain heads and ranges.
    pub(crate) sync: cbor::Behaviour<Request, Response>,
    /// Result bytes, worker to requester.
    pub(crate) results: cbor::Behaviour<result::Request, result::Response>,
}

impl Behaviour {
    /// Builds the behaviour for `key` under `config`.
    pub(crate) fn new(key: &Keypair, config: &NetConfig) -> Result<Self, NetError> {
        let peer = key.public().to_peer_id();
        let gossip_config = gossip::config_builder(config.heartbeat)
            .validate_messages()
            .build()
            .map_err(|e| NetError::Build(format!("gossipsub config: {e}")))?;
        let mut gossip = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config)
            .map_err(|e| NetError::Build(format!("gossipsub: {e}")))?;
        gossip
            .with_peer_score(gossip::score_params(), gossip::thresholds())
            .map_err(|e| NetError::Build(format!("gossipsub scoring: {e}")))?;

        let identify = identify::Behaviour::new(identify::Config::new(
            IDENTIFY_PROTOCOL.to_string(),
            key.public(),
        ));

        let mut kad = kad::Behaviour::with_config(
            peer,
            kad::store::MemoryStore::new(peer),
            kad::Config::new(StreamProtocol::new(KAD_PROTOCOL)),
        );
        // Without a confirmed external address (always so on loopback and behind NAT)
        // Kademlia stays a client and answers no queries; every node serves here.
        kad.set_mode(Some(kad::Mode::Server));

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

        let results = request_response::Behaviour::with_codec(
            result::codec(),
            [(StreamProtocol::new(result::PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(result::TIMEOUT)
                .with_max_concurrent_streams(result::MAX_STREAMS),
        );

        Ok(Self {
            blocked: allow_block_list::Behaviour::default(),
            gossip,
            identify,
            kad,
            mdns: Toggle::from(mdns),
            ping: ping::Behaviour::default(),
            sync,
            results,
        })
    }
}
