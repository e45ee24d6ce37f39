//! The JSON of taawun's local API, shared by the node (server, web page, CLI client) and
//! the fuzz targets.
//!
//! - [`views`]: request bodies and the views routes return (docs/api.md documents each);
//! - [`request`]: reading untrusted requests: JSON decoding, amounts, keys, limit names,
//!   invites, and the entry bodies requests turn into. Pure: no I/O, no node state;
//! - [`states`]: the names of offer and review states, read by both of the above
//!   (and re-exported by [`request`]);
//! - [`appeals`]: the bodies and views of appeals, replies and jurors' votes;
//! - [`limits`]: the longest text each typed field takes, from the core's rules;
//! - `fuzzing` (hidden, feature `fuzzing`): the checks the `api` fuzz target in `fuzz/` runs, shared with the
//!   tests that replay its corpus.

pub mod appeals;
#[doc(hidden)]
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod limits;
pub mod request;
pub mod states;
pub mod views;
