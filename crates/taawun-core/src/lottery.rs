//! The assignment lottery: who wins an offer with more claims than assignments.
//!
//! Rule (docs/protocol.md section 7): the offer carries `commit = blake3(COMMIT_TAG ||
//! secret)` for a 32-byte secret only the requester knows; the `Assign` reveals it. The
//! draw's seed is `blake3(SEED_TAG || secret || offer id || the named claims' ids,
//! sorted)`, and claimants are ranked by `blake3(seed || claimant key)` as a 32-byte
//! big-endian number, lowest first; the first `assignments` win.
//!
//! Why: in version 1 the ticket was `blake3(offer id || key)`, and the requester chooses
//! the offer's bytes, so it could try variants of an offer until a favourite ranked first.
//! Now the secret is fixed by the commitment before any claim exists, and the claim ids,
//! which the members write, enter the seed: the requester can no longer compute anyone's
//! rank when it posts, and members cannot know theirs before the window closes. The
//! requester's one remaining lever, not assigning at all, is visible on its record.

use crate::id::{Hash, Id, PublicKey};

/// Domain tag of the commitment.
pub const COMMIT_TAG: &[u8] = b"taawun/lottery/commit/v2";
/// Domain tag of the seed.
pub const SEED_TAG: &[u8] = b"taawun/lottery/seed/v2";

/// The commitment an offer carries for `secret`.
pub fn commit(secret: &Hash) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(COMMIT_TAG);
    h.update(secret.as_bytes());
    Hash(*h.finalize().as_bytes())
}

/// The draw's seed: the secret, the offer and every named claim (order and duplicates
/// do not matter).
pub fn seed(secret: &Hash, offer: &Id, claims: &[Id]) -> Hash {
    let mut ids: Vec<&Id> = claims.iter().collect();
    ids.sort();
    ids.dedup();
    let mut h = blake3::Hasher::new();
    h.update(SEED_TAG);
    h.update(secret.as_bytes());
    h.update(offer.as_bytes());
    for c in ids {
        h.update(c.as_bytes());
    }
    Hash(*h.finalize().as_bytes())
}

/// A claimant's lottery ticket under `seed`: lower wins.
pub fn ticket(seed: &Hash, claimant: &PublicKey) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(seed.as_bytes());
    h.update(claimant.as_bytes());
    *h.finalize().as_bytes()
}

/// Every claimant (duplicates count once) in rank order under `seed`.
pub fn ranking(seed: &Hash, claimants: &[PublicKey]) -> Vec<PublicKey> {
    let mut ranked: Vec<([u8; 32], PublicKey)> =
        claimants.iter().map(|c| (ticket(seed, c), *c)).collect();
    ranked.sort();
    ranked.dedup();
    ranked.into_iter().map(|(_, c)| c).collect()
}

/// The winners among `claimants` under `seed`, in rank order.
pub fn winners(seed: &Hash, claimants: &[PublicKey], assignments: u32) -> Vec<PublicKey> {
    let mut r = ranking(seed, claimants);
    r.truncate(usize::try_from(assignments).unwrap_or(usize::MAX));
    r
}

/// The winners an `Assign` over `claims` (each with its claimant) must name.
pub fn draw(
    secret: &Hash,
    offer: &Id,
    claims: &[(Id, PublicKey)],
    assignments: u32,
) -> Vec<PublicKey> {
    let ids: Vec<Id> = claims.iter().map(|(id, _)| *id).collect();
    let who: Vec<PublicKey> = claims.iter().map(|(_, k)| *k).collect();
    winners(&seed(secret, offer, &ids), &who, assignments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn order_of_claims_does_not_matter(keys in proptest::collection::vec(any::<[u8; 32]>(), 0..20), n in 0u32..25, secret: [u8; 32], offer: [u8; 32]) {
            let claims: Vec<(Id, PublicKey)> = keys.iter().map(|k| (Id(*blake3::hash(k).as_bytes()), PublicKey(*k))).collect();
            let mut rev = claims.clone();
            rev.reverse();
            let w = draw(&Hash(secret), &Id(offer), &claims, n);
            prop_assert_eq!(&w, &draw(&Hash(secret), &Id(offer), &rev, n));
            prop_assert!(w.len() <= n as usize);
        }
    }

    #[test]
    fn the_seed_depends_on_the_secret_and_every_claim() {
        let (s, o) = (Hash([1; 32]), Id([2; 32]));
        let a = seed(&s, &o, &[Id([3; 32]), Id([4; 32])]);
        assert_eq!(a, seed(&s, &o, &[Id([4; 32]), Id([3; 32])]));
        assert_ne!(a, seed(&s, &o, &[Id([3; 32])]));
        assert_ne!(a, seed(&Hash([9; 32]), &o, &[Id([3; 32]), Id([4; 32])]));
        assert_ne!(commit(&s), s);
    }
}
