//! # taawun-net: the network of a taawun node
//!
//! libp2p (over tokio) carrying signed ledger entries between the nodes of worker
//! cooperatives. The protocol itself lives in `taawun-core` and the store in
//! `taawun-ledger`; this crate moves bytes and reports verdicts.
//!
//! - [`config`]: the [`NetConfig`] (listen and bootstrap addresses, mDNS, timeouts, the clock,
//!   relays, relay service, external addresses, whether the member's writes wait for a
//!   peer to confirm its latest entry) and the bounds of every channel, buffer,
//!   connection count and relay circuit;
//! - [`gossip`]: topics, message ids, the gossipsub configuration and peer-scoring
//!   parameters, and [`gossip::verdict`], the one function mapping what became of a
//!   message to accept / reject / ignore;
//! - [`sync`]: the request-response sync protocol: its wire types, the digest of chain
//!   heads and the plan of ranges to fetch (pure functions);
//! - [`exchange`]: what a cooperative's ledger makes of the protocol's messages (judging a
//!   gossip message, ingesting a sync batch, answering a sync request), as plain
//!   functions the network task and the simulator (`taawun-sim`) both call;
//! - [`session`]: sync sessions as a machine without I/O (what to ask a peer next, when
//!   a session ends); the network task carries out what it says;
//! - [`conduct`]: peers' conduct as a machine without I/O: lockouts of graylisted peers
//!   and counts of invalid sync entries (who to lock out, let back in, or block);
//! - [`peering`]: which peers a node keeps, as a machine without I/O (how many to dial
//!   when it has too few, which connections to close when it has too many);
//! - [`outbox`]: the result outbox as a machine without I/O: what waits for its recipient,
//!   when to try again, whom to dial or look up, what was delivered or refused;
//! - [`guard`]: the write guard as a machine without I/O: when the member's writes in a
//!   cooperative open, and the evidence held until then (the simulator runs it too);
//! - [`admission`]: admission as a machine without I/O: the key each peer proved (one
//!   peer per key, the last to prove it) and the roles read from a ledger that admit it;
//! - [`hello`]: the hello protocol: peers prove which member key they hold, and a node
//!   serves a cooperative's entries (sync, gossip, results) only to peers proven to hold a
//!   key with a role in it;
//! - [`result`]: the result transfer protocol (a worker's node hands result bytes to the
//!   requester's node, checked against the `Submit` entry; never gossiped), its wire
//!   types, limits, retry schedule and results folder;
//! - `fuzzing` (hidden, feature `fuzzing`): the checks the `sync` and `result` fuzz targets in `fuzz/` run,
//!   shared with the tests that replay their corpus;
//! - `dial_gate` (private): a behaviour that, once the node has its peers, refuses other
//!   behaviours' dials (Kademlia's lookups) to peers it did not choose;
//! - `behaviour` (private): the composed libp2p behaviour (TCP and QUIC; AutoNAT v2,
//!   circuit relay v2 and DCUtR for nodes behind NATs; connection limits);
//! - [`node`]: the task that owns the `Swarm` and the cooperative ledgers, and
//!   [`Network`], the cloneable handle the rest of the node talks to it through; [`Writing`]
//!   says whether the member's writes in a cooperative go ahead. A module directory:
//!   `node/mod.rs` holds [`Network`], `command.rs` the commands it sends, `event.rs`
//!   [`Event`], [`Via`], [`PeerSync`], [`Writing`] and the mapping from an ingest outcome to
//!   what the task reports, `task.rs` the task (its state, event loop, command dispatch and
//!   tick) and `task/` one `impl` of it per concern: `writes` (local writes, published
//!   once flushed), `gossiping`, `syncing`, `results` (with the result files' jobs on the
//!   blocking pool), `reading` (the state readers ask for, refreshed off the task when
//!   large), `peers` (dialing, relays, lockouts) and `admission` (hello, roles, scores).
//!
//! ## Ownership
//!
//! One tokio task owns the `Swarm` *and* every open [`taawun_ledger::CoopLedger`]: a
//! gossip message is decoded, verified and ingested synchronously in that task (an ingest
//! costs about 50 µs), so the verdict is reported to gossipsub without a round trip and the
//! ledger has a single writer. Local writes go through the same task
//! ([`Network::append`], [`Network::ingest`]): the node never holds a ledger handle while
//! the network runs. Nothing is behind a `Mutex`. The disk work that would stall the task
//! runs beside it: each ledger's groups on its committing thread (the flush of a local
//! write too: the task publishes and answers once it is done), exports, large state
//! refreshes, the entries sync serves, result files and the outbox's marks on tokio's
//! blocking pool, each fixed on the task first.

pub mod admission;
pub mod conduct;
pub mod config;
pub mod error;
pub mod exchange;
#[doc(hidden)]
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod gossip;
pub mod guard;
pub mod hello;
pub mod node;
pub mod outbox;
pub mod peering;
pub mod result;
pub mod session;
pub mod sync;

mod behaviour;
mod dial_gate;

pub use config::NetConfig;
pub use error::NetError;
pub use node::{Event, Network, PeerSync, Via, Writing};

/// The libp2p this crate is built on, for callers (and tests) that need its types.
pub use libp2p;
