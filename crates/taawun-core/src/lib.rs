//! # taawun-core: the protocol, with no async and no I/O
//!
//! Everything every node must agree on lives here, as plain functions of their inputs
//! (time is always a parameter):
//!
//! - [`id`]: entry ids, keys and result hashes;
//! - [`money`]: integer amounts with a currency, exact rate arithmetic;
//! - [`body`]: the bodies of entries (charter, governance, the life of a task, money,
//!   reviews, evidence);
//! - [`entry`]: entries, their CBOR bytes, signing, envelopes, `Unverified -> Verified`;
//! - [`sig`]: the one signature rule, for single and batch verification;
//! - [`seal`]: sealed fields, texts only the parties of an exchange can read;
//! - [`rules`]: the rules in force and how enactments change them;
//! - [`lottery`]: the assignment lottery;
//! - [`appeal`]: appeals of rejections, the jury's draw, votes and outcomes;
//! - [`validate`]: whether an entry may enter the ledger, through a [`validate::Context`];
//! - [`fold`]: the cooperative's state from its entries: offers, balances, records;
//! - [`writer`]: builds the next entry of an author's chain;
//! - [`synth`]: deterministic synthetic cooperatives for tests and benchmarks;
//! - `fuzzing` (hidden, feature `fuzzing`): the checks the fuzz targets in `fuzz/` run, shared with the
//!   tests that replay their corpus.
//!
//! The normative description is `docs/protocol.md`.

pub mod appeal;
pub mod body;
mod cbor;
pub mod entry;
pub mod fold;
#[doc(hidden)]
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod id;
pub mod index;
pub mod lottery;
pub mod money;
pub mod rules;
pub mod seal;
pub mod sig;
pub mod synth;
pub mod validate;
pub mod writer;

pub use body::{Body, Kind};
pub use entry::{Entry, Timestamp, Unverified, Verified};
pub use id::{Hash, Id, PublicKey};
pub use money::Money;
pub use validate::{check, Context, Invalid, Missing, Outcome};
