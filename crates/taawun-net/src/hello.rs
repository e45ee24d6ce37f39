//! The hello protocol: at connection, peers prove which member key they hold, so that a
//! node serves a cooperative's entries only to the members and requesters of that
//! cooperative.
//!
//! A node's libp2p identity (its `PeerId`, what mDNS, identify, Kademlia and every
//! connection show) is a transport key of its own, not the member's signing key: a network
//! observer cannot link an address to a member. The binding member key -> peer is learned
//! here, and only by peers that prove a role themselves.
//!
//! `/taawun/hello/1`, request-response with CBOR:
//!
//! 1. A member's node sends every peer it connects to a [`Request`]: a fresh random
//!    challenge of [`CHALLENGE_BYTES`].
//! 2. The peer answers with a [`Proof`]: its member public key, the cooperatives it asks
//!    to be admitted to, and an ed25519 signature by that key over [`signed_bytes`]:
//!    [`DOMAIN`], the challenge, the prover's and the verifier's peer ids and the
//!    cooperative ids. Noise authenticates both peer ids, so a proof made for one
//!    connection is worth nothing on another (no replay, no relaying of someone else's
//!    proof); the challenge makes it fresh.
//! 3. **Who reveals first.** The node that dialed the connection answers at once. The node
//!    that was dialed holds its answer until the dialer's own proof has verified and shows
//!    a role in a cooperative it holds; otherwise it answers [`Response::Refused`] and
//!    reveals nothing. So a stranger who dials a member's node learns no member key; a
//!    member's node reveals its key to the nodes it chooses to dial.
//!
//! The functions here are pure ([`prove`], [`verify`]); the network task drives them.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use libp2p::request_response::cbor;
use libp2p::PeerId;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::time::Duration;
use taawun_core::{Id, PublicKey};

/// The protocol name.
pub const PROTOCOL: &str = "/taawun/hello/1";

/// Domain tag of the signed bytes.
pub const DOMAIN: &[u8] = b"taawun/hello/v1";

/// Bytes of a challenge: 32 random bytes never repeat.
pub const CHALLENGE_BYTES: usize = 32;

/// Cooperatives one proof names at most: a node is in a handful; 256 bounds the bytes a
/// peer can make a node verify and keep.
pub const MAX_COOPS: usize = 256;

/// Largest request accepted: a challenge and a flag.
pub const MAX_REQUEST_BYTES: u64 = 256;

/// Largest response accepted: a key, a signature and [`MAX_COOPS`] ids, with framing.
pub const MAX_RESPONSE_BYTES: u64 = (MAX_COOPS as u64) * 40 + 1024;

/// How long a hello may take. The dialed side holds its answer until the dialer has
/// proven itself (one more round trip), so this covers two round trips on a slow link.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Hello streams open at once per connection: one each way is the protocol; a few more
/// cover a renewal after joining a cooperative.
pub const MAX_STREAMS: usize = 4;

/// The request-response codec of this protocol, with its size limits.
pub fn codec() -> cbor::codec::Codec<Request, Response> {
    cbor::codec::Codec::default()
        .set_request_size_maximum(MAX_REQUEST_BYTES)
        .set_response_size_maximum(MAX_RESPONSE_BYTES)
}

/// "Prove which member key you hold."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// [`CHALLENGE_BYTES`] fresh random bytes.
    pub challenge: ByteBuf,
    /// "Challenge me back": the sender's cooperatives changed (it joined one), so it asks
    /// to prove itself again; the receiver answers and sends a hello of its own.
    pub back: bool,
}

impl Request {
    /// A request with `challenge`.
    pub fn new(challenge: [u8; CHALLENGE_BYTES], back: bool) -> Self {
        Self {
            challenge: ByteBuf::from(challenge.to_vec()),
            back,
        }
    }
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// The member key, the cooperatives, the signature.
    Proof(Proof),
    /// Nothing to show: no member key on this node, nothing in common, or the asker has
    /// not proven a role (see the module documentation).
    Refused,
}

/// A proof of holding a member key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The member (or requester) public key.
    pub key: PublicKey,
    /// The cooperatives the prover asks to be admitted to, sorted, without repeats.
    pub coops: Vec<Id>,
    /// ed25519 by `key` over [`signed_bytes`].
    pub signature: ByteBuf,
}

/// A verified proof: the peer holds `key` and asks for `coops`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    /// The member key.
    pub key: PublicKey,
    /// The cooperatives named.
    pub coops: Vec<Id>,
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelloError {
    /// The challenge is not [`CHALLENGE_BYTES`] long.
    #[error("a challenge of {0} bytes")]
    Challenge(usize),
    /// More than [`MAX_COOPS`] cooperatives, or not sorted and distinct.
    #[error("the cooperatives named are too many or not sorted")]
    Coops,
    /// The key is not an ed25519 point.
    #[error("not an ed25519 key")]
    Key,
    /// The signature does not verify over these peer ids and this challenge.
    #[error("the signature does not verify")]
    Signature,
}

/// The bytes a proof signs: [`DOMAIN`], the challenge (32 bytes), the prover's peer id and
/// the verifier's peer id (each as its multihash bytes after a big-endian u16 length),
/// the count of cooperatives (big-endian u32) and their ids (32 bytes each).
pub fn signed_bytes(challenge: &[u8], prover: &PeerId, verifier: &PeerId, coops: &[Id]) -> Vec<u8> {
    let p = prover.to_bytes();
    let v = verifier.to_bytes();
    let mut out = Vec::with_capacity(
        DOMAIN.len() + challenge.len() + p.len() + v.len() + 8 + 32 * coops.len(),
    );
    out.extend_from_slice(DOMAIN);
    out.extend_from_slice(challenge);
    for id in [&p, &v] {
        let len = u16::try_from(id.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(id);
    }
    let n = u32::try_from(coops.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_be_bytes());
    for c in coops {
        out.extend_from_slice(c.as_bytes());
    }
    out
}

/// The proof `key` gives `verifier` for `challenge` on the connection of `prover` (this
/// node) to it, naming `coops` (sorted, deduplicated and cut to [`MAX_COOPS`] here).
pub fn prove(
    key: &SigningKey,
    challenge: &[u8],
    prover: &PeerId,
    verifier: &PeerId,
    coops: impl IntoIterator<Item = Id>,
) -> Proof {
    let mut coops: Vec<Id> = coops.into_iter().collect();
    coops.sort();
    coops.dedup();
    coops.truncate(MAX_COOPS);
    let sig = key.sign(&signed_bytes(challenge, prover, verifier, &coops));
    Proof {
        key: PublicKey(key.verifying_key().to_bytes()),
        coops,
        signature: ByteBuf::from(sig.to_bytes().to_vec()),
    }
}

/// Checks `proof`, made by `prover` for `verifier` (this node) over `challenge` (the one
/// this node sent).
pub fn verify(
    proof: &Proof,
    challenge: &[u8],
    prover: &PeerId,
    verifier: &PeerId,
) -> Result<Proven, HelloError> {
    if challenge.len() != CHALLENGE_BYTES {
        return Err(HelloError::Challenge(challenge.len()));
    }
    if proof.coops.len() > MAX_COOPS || !proof.coops.windows(2).all(|w| w[0] < w[1]) {
        return Err(HelloError::Coops);
    }
    let key = VerifyingKey::from_bytes(proof.key.as_bytes()).map_err(|_| HelloError::Key)?;
    let sig = Signature::from_slice(&proof.signature).map_err(|_| HelloError::Signature)?;
    key.verify(
        &signed_bytes(challenge, prover, verifier, &proof.coops),
        &sig,
    )
    .map_err(|_| HelloError::Signature)?;
    Ok(Proven {
        key: proof.key,
        coops: proof.coops.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::identity::Keypair;

    fn peer(seed: u8) -> PeerId {
        Keypair::ed25519_from_bytes([seed; 32])
            .expect("key")
            .public()
            .to_peer_id()
    }

    #[test]
    fn a_proof_verifies_only_for_its_connection_and_challenge() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let (a, b, c) = (peer(1), peer(2), peer(3));
        let challenge = [9u8; CHALLENGE_BYTES];
        let coops = [Id([2; 32]), Id([1; 32]), Id([2; 32])];
        let p = prove(&key, &challenge, &a, &b, coops);
        assert_eq!(p.coops, vec![Id([1; 32]), Id([2; 32])]);
        let ok = verify(&p, &challenge, &a, &b).expect("verifies");
        assert_eq!(ok.key, PublicKey(key.verifying_key().to_bytes()));
        // Replayed by another peer, to another peer, or for another challenge.
        assert_eq!(verify(&p, &challenge, &c, &b), Err(HelloError::Signature));
        assert_eq!(verify(&p, &challenge, &a, &c), Err(HelloError::Signature));
        assert_eq!(verify(&p, &challenge, &b, &a), Err(HelloError::Signature));
        assert_eq!(
            verify(&p, &[8u8; CHALLENGE_BYTES], &a, &b),
            Err(HelloError::Signature)
        );
        // Another cooperative list.
        let mut q = p.clone();
        q.coops.pop();
        assert_eq!(verify(&q, &challenge, &a, &b), Err(HelloError::Signature));
        let mut q = p.clone();
        q.coops.reverse();
        assert_eq!(verify(&q, &challenge, &a, &b), Err(HelloError::Coops));
        assert_eq!(verify(&p, &[1, 2], &a, &b), Err(HelloError::Challenge(2)));
    }

    #[test]
    fn signed_bytes_layout() {
        let (a, b) = (peer(1), peer(2));
        let bytes = signed_bytes(&[5; 32], &a, &b, &[Id([1; 32])]);
        let (pa, pb) = (a.to_bytes(), b.to_bytes());
        let mut want = b"taawun/hello/v1".to_vec();
        want.extend_from_slice(&[5; 32]);
        want.extend_from_slice(&(pa.len() as u16).to_be_bytes());
        want.extend_from_slice(&pa);
        want.extend_from_slice(&(pb.len() as u16).to_be_bytes());
        want.extend_from_slice(&pb);
        want.extend_from_slice(&1u32.to_be_bytes());
        want.extend_from_slice(&[1; 32]);
        assert_eq!(bytes, want);
        // An ed25519 peer id is 38 bytes (identity multihash of the protobuf key).
        assert_eq!(pa.len(), 38);
    }

    #[test]
    fn wire_is_small() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let coops: Vec<Id> = (0..=255u8).map(|i| Id([i; 32])).collect();
        let r = Response::Proof(prove(&key, &[1; 32], &peer(1), &peer(2), coops));
        let mut buf = Vec::new();
        ciborium::into_writer(&r, &mut buf).expect("encodes");
        assert!((buf.len() as u64) < MAX_RESPONSE_BYTES, "{}", buf.len());
        let q = Request::new([3; 32], true);
        let mut buf = Vec::new();
        ciborium::into_writer(&q, &mut buf).expect("encodes");
        assert!((buf.len() as u64) < MAX_REQUEST_BYTES);
    }
}
