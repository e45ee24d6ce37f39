//! Errors of the network handle and task.

use taawun_core::Id;

/// Why a request to the network task failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The network task has stopped (shut down, or its runtime is gone).
    #[error("the network task has stopped")]
    Stopped,
    /// Building the libp2p transport or a behaviour failed.
    #[error("could not build the libp2p swarm: {0}")]
    Build(String),
    /// A listen address could not be bound.
    #[error("could not listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// A dial could not be started.
    #[error("could not dial {addr}: {reason}")]
    Dial {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// This node does not hold the cooperative.
    #[error("cooperative {0} is not held by this node")]
    UnknownCoop(Id),
    /// The ledger refused or failed.
    #[error(transparent)]
    Ledger(#[from] taawun_ledger::LedgerError),
    /// A local write was refused.
    #[error(transparent)]
    Append(#[from] taawun_ledger::AppendError),
    /// gossipsub refused a subscription.
    #[error("gossipsub: {0}")]
    Gossip(String),
    /// A result was refused (by this node's own check, or by the receiver).
    #[error("result refused: {0}")]
    Result(#[from] crate::result::Refusal),
    /// The node has no results folder ([`crate::NetConfig::results_dir`]).
    #[error("this node keeps no results (no results folder configured)")]
    NoResultsDir,
    /// The outbox holds [`crate::result::MAX_OUTBOX`] results already.
    #[error("{0} results wait for delivery already")]
    OutboxFull(usize),
    /// This node holds its member's writes in the cooperative until a peer confirmed the
    /// member's latest entry ([`crate::Writing::Waiting`]).
    #[error("waiting to confirm this member's latest entry with the cooperative's other nodes ({peers} connected) before writing")]
    Unconfirmed {
        /// The cooperative.
        coop: Id,
        /// Peers admitted to it connected now.
        peers: usize,
    },
    /// Reading or writing the results folder failed.
    #[error("results folder: {0}")]
    Io(#[from] std::io::Error),
}
