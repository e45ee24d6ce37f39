//! The commands the [`Network`](super::Network) handle sends the task, each with the
//! `oneshot` its reply goes back through.

use super::event::{PeerSync, Writing};
use crate::error::NetError;
use ed25519_dalek::SigningKey;
use libp2p::{Multiaddr, PeerId};
use std::collections::BTreeMap;
use std::sync::Arc;
use taawun_core::body::{Body, Evidence};
use taawun_core::fold::Coop;
use taawun_core::validate::Head;
use taawun_core::{Id, PublicKey, Verified};
use taawun_ledger::Ingest;
use tokio::sync::oneshot;

/// The reply to a command.
pub(super) type Reply<T> = oneshot::Sender<Result<T, NetError>>;

/// A command to the task.
#[derive(Debug)]
pub(super) enum Command {
    Dial(Multiaddr, Reply<()>),
    Listeners(Reply<Vec<Multiaddr>>),
    AddExternal(Multiaddr, Reply<()>),
    Externals(Reply<Vec<Multiaddr>>),
    Peers(Reply<Vec<PeerId>>),
    Join(Box<Verified>, Reply<Id>),
    Found(Box<Verified>, Reply<Id>),
    Writing(Id, Reply<Writing>),
    AwaitWriting(Id, Reply<Writing>),
    Append {
        coop: Id,
        key: Box<SigningKey>,
        body: Box<Body>,
        gov: Option<Id>,
        reply: Reply<Verified>,
    },
    Ingest {
        coop: Id,
        entries: Vec<Verified>,
        gossip: bool,
        reply: Reply<Vec<Ingest>>,
    },
    Heads(Id, Reply<Vec<(PublicKey, Head)>>),
    State(Id, Reply<Arc<Coop>>),
    Block(PeerId, Reply<()>),
    Unblock(PeerId, Reply<()>),
    Score(PeerId, Reply<Option<f64>>),
    SyncPeer(PeerId, Reply<Option<PeerSync>>),
    Mesh(Id, Reply<Vec<PeerId>>),
    Sync(Reply<()>),
    Frozen(Id, Reply<BTreeMap<PublicKey, u64>>),
    Evidence(Id, Reply<Vec<Evidence>>),
    Export(Id, Reply<Vec<u8>>),
    Coops(Reply<Vec<Id>>),
    SendResult {
        coop: Id,
        submission: Id,
        bytes: Vec<u8>,
        reply: Reply<()>,
    },
    Shutdown(oneshot::Sender<()>),
}
