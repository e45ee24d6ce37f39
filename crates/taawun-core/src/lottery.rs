//! The assignment lottery: who wins an offer with more claims than assignments.
//!
//! Rule: rank the claimants by `blake3(offer id || claimant public key)` as a 32-byte
//! big-endian number, lowest first; the first `assignments` win. The ranking is fixed the
//! moment the offer exists, so claiming early or late inside the claim window changes
//! nothing (nobody gains by being awake at 3 a.m.), the requester cannot pick favourites,
//! and anyone can recompute it.

use crate::id::{Id, PublicKey};

/// A claimant's lottery ticket for an offer: lower wins.
pub fn ticket(offer: &Id, claimant: &PublicKey) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(offer.as_bytes());
    h.update(claimant.as_bytes());
    *h.finalize().as_bytes()
}

/// The winners among `claimants` (duplicates count once), in rank order.
pub fn winners(offer: &Id, claimants: &[PublicKey], assignments: u32) -> Vec<PublicKey> {
    let mut ranked: Vec<([u8; 32], PublicKey)> =
        claimants.iter().map(|c| (ticket(offer, c), *c)).collect();
    ranked.sort();
    ranked.dedup();
    ranked
        .into_iter()
        .take(usize::try_from(assignments).unwrap_or(usize::MAX))
        .map(|(_, c)| c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn order_of_claims_does_not_matter(keys in proptest::collection::vec(any::<[u8; 32]>(), 0..20), n in 0u32..25, seed: [u8; 32]) {
            let offer = Id(seed);
            let ks: Vec<PublicKey> = keys.into_iter().map(PublicKey).collect();
            let mut rev = ks.clone();
            rev.reverse();
            let w = winners(&offer, &ks, n);
            prop_assert_eq!(&w, &winners(&offer, &rev, n));
            prop_assert!(w.len() <= n as usize);
        }
    }
}
