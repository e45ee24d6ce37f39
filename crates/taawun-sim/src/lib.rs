//! # taawun-sim: the whole network in one process, from a seed
//!
//! Runs N nodes of a cooperative in one process with simulated time, network and disks,
//! all drawn from one seed, and checks the protocol's promises while faults happen. The
//! nodes run the real code: each has a sled ledger (`taawun-ledger`), judges gossip and
//! answers sync requests through `taawun_net::exchange` (the functions the network task
//! routes libp2p's messages through), runs its sync sessions with
//! `taawun_net::session::Sessions`, hands its workers' results to their requesters'
//! nodes with `taawun_net::outbox::Outbox` and serves only the peers admitted by
//! `taawun_net::admission` (one key proven per node and per connection, one peer per
//! key, roles read from its own ledger). The members' entries are a synthetic cooperative's
//! (`taawun_core::synth`): offers, claims, lotteries, work, reviews, payments and
//! governance, each written by its author's node when its clock reaches the entry's time.
//!
//! - [`config`]: what a run is made of, drawn from its seed (nodes, entries, clock
//!   skews, message losses, duplicates and delays, partitions, crashes with torn
//!   writes, a restore from an old backup, a hostile node);
//! - [`world`]: the event loop, the nodes and the invariants (the hostile node's acts in
//!   its `hostile` module, result transfer in its `results` module, peer choice in
//!   networks larger than the peer target in its `peers` module, admission in its
//!   `admission` module).
//!
//! ## Invariants
//!
//! Checked as the run goes:
//! - an honest node forwards a gossip message only after storing its entry, and never
//!   one of the entries the hostile node signed against a rule;
//! - a crash loses no acknowledged local write (an entry stored and flushed by its
//!   author's node), and a torn disk image keeps every whole entry before the tear;
//! - every node's buffers stay within their bounds (pending entries, sync sessions and
//!   requests, remembered message ids);
//! - an honest node never refuses or forks its own author's entry;
//! - in a network larger than the peer target, a node over it keeps no connection it may
//!   close past that connection's grace, and never closes one that must stay or one
//!   within its grace.
//!
//! Checked at the end, after the network is healed (faults stop, every node is up):
//! - within a bound stated in simulated time, every honest node holds the same heads and
//!   folds the same state (frozen authors, balances, requesters' records);
//! - no honest node stored an entry that breaks a rule; every acknowledged write is held
//!   by every honest node (except writes a restore from an old backup lost before any
//!   other node had them);
//! - an honest node's export passes the offline audit (`taawun_ledger::verify`);
//! - every submission's result is on its requester's node, the worker's bytes (not the
//!   hostile node's forgery), and none was refused for good; with appeals
//!   (`Config::appeals`), every appealed one on the node of each juror seated too;
//! - a node that speaks for no key (only with `Config::devices` off: otherwise the nodes
//!   beyond the members' and witnesses' speak for members' devices) was served nothing
//!   by an honest node; such nodes are left out of the checks above.
//!
//! A failure names its seed and the arguments that replay it exactly (`cargo run -p
//! taawun-sim -- --seed S`, with `--nodes` and `--entries` for a larger run), and
//! `TAAWUN_SIM_TRACE=<start of an entry id>` prints every judgement of that entry on the
//! way.

pub mod config;
pub mod world;

pub use config::{Config, Faults};
pub use world::{run, Failure, Report};
