//! Signature verification with one rule for the single and the batch path.
//!
//! Every node must reach the same verdict on every signature, whether it checked it alone
//! (gossip) or in a batch (sync, import, audit). ed25519 implementations disagree on edge
//! cases (small-order points, torsion components), and ed25519-dalek's batch equation is
//! cofactorless with pseudo-random weights, so on a signature crafted with a torsion
//! component its answer would depend on the batch's other members. We therefore fix the
//! rule (see docs/protocol.md, "Signatures"):
//!
//! a signature (R, s) by key A over message M is valid iff A and R decode to curve points,
//! neither is of small order, s < L, and `[8]([s]B - R - [k]A)` is the identity, where
//! `k = SHA-512(R || A || M) mod L` (the cofactored equation).
//!
//! Fast paths that can only say "valid" when the rule does: `verify_strict` (cofactorless,
//! so stricter), and a batch that passes (its random weights make a non-torsion error pass
//! with probability 2^-128). When a fast path fails we decide with the exact cofactored
//! check, so the verdict never depends on the path or the batch.

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha512};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One signature to check.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// The signer's public key bytes.
    pub key: &'a [u8; 32],
    /// The signed message (domain tag included).
    pub msg: &'a [u8],
    /// The 64-byte signature.
    pub sig: &'a [u8; 64],
}

/// Checks one signature by the rule above.
pub fn verify(item: Item<'_>) -> bool {
    let Ok(vk) = VerifyingKey::from_bytes(item.key) else {
        return false;
    };
    let sig = Signature::from_bytes(item.sig);
    if vk.verify_strict(item.msg, &sig).is_ok() {
        return true;
    }
    cofactored(item)
}

/// The exact rule, used when a fast path said no.
fn cofactored(item: Item<'_>) -> bool {
    let Some(a) = CompressedEdwardsY(*item.key).decompress() else {
        return false;
    };
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&item.sig[..32]);
    let Some(r) = CompressedEdwardsY(r_bytes).decompress() else {
        return false;
    };
    if a.is_small_order() || r.is_small_order() {
        return false;
    }
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&item.sig[32..]);
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
        return false;
    };
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(item.key);
    h.update(item.msg);
    let wide: [u8; 64] = h.finalize().into();
    let k = Scalar::from_bytes_mod_order_wide(&wide);
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&-k, &a, &s);
    (sb_minus_ka - r).mul_by_cofactor().is_identity()
}

/// Whether a key may be admitted as a member or requester: it decodes to a curve point
/// with no torsion component. Admitted keys are the only ones whose entries can be valid,
/// so no valid entry's key has small order.
///
/// The check costs a scalar multiplication, as much as verifying a signature, and the same
/// few keys (a cooperative's members and their devices, the recipients of every sealed
/// field) are asked about again and again: each thread remembers its last
/// [`KEY_CACHE`] answers.
pub fn acceptable_key(key: &[u8; 32]) -> bool {
    thread_local! {
        static SEEN: RefCell<HashMap<[u8; 32], bool>> = RefCell::new(HashMap::new());
    }
    SEEN.with(|seen| {
        if let Some(ok) = seen.borrow().get(key) {
            return *ok;
        }
        let ok = acceptable_key_uncached(key);
        let mut seen = seen.borrow_mut();
        if seen.len() >= KEY_CACHE {
            seen.clear();
        }
        seen.insert(*key, ok);
        ok
    })
}

/// Keys whose [`acceptable_key`] answer, and whose parsed form for batches, each thread
/// keeps: a few cooperatives' members and devices, under 300 KB in all.
pub const KEY_CACHE: usize = 1024;

/// [`acceptable_key`], computed.
fn acceptable_key_uncached(key: &[u8; 32]) -> bool {
    CompressedEdwardsY(*key)
        .decompress()
        .is_some_and(|p| p.is_torsion_free() && !p.is_small_order())
}

/// Every 32-byte string that decodes to a point of small order: the 8 torsion points'
/// encodings with either sign bit, and the non-canonical spellings `p + y` of the two
/// small-order `y` values under 19 (0 and 1), with either sign bit. Comparing bytes against
/// this list is much cheaper than decompressing the point.
fn small_order_encodings() -> &'static [[u8; 32]] {
    static LIST: OnceLock<Vec<[u8; 32]>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut out = Vec::new();
        for t in EIGHT_TORSION.iter() {
            let c = t.compress().to_bytes();
            let mut flipped = c;
            flipped[31] ^= 0x80;
            out.extend([c, flipped]);
        }
        // p = 2^255 - 19, little-endian.
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        for y in [0u8, 1] {
            let mut e = p;
            e[0] += y;
            let mut flipped = e;
            flipped[31] ^= 0x80;
            out.extend([e, flipped]);
        }
        out.sort_unstable();
        out.dedup();
        out
    })
}

/// Whether the bytes decode to a point of small order.
fn small_order(bytes: &[u8; 32]) -> bool {
    small_order_encodings().contains(bytes)
}

/// The key as the batch uses it: parsed, and `None` when it is no point or of small order
/// (the batch equation does not reject small-order points; the rule does).
///
/// A ledger is mostly a few authors' entries: each thread remembers the keys it parsed
/// (up to [`KEY_CACHE`]), which saves a square root per author and batch.
fn batch_key(key: &[u8; 32]) -> Option<VerifyingKey> {
    thread_local! {
        static PARSED: RefCell<HashMap<[u8; 32], Option<VerifyingKey>>> =
            RefCell::new(HashMap::new());
    }
    PARSED.with(|parsed| {
        if let Some(vk) = parsed.borrow().get(key) {
            return *vk;
        }
        let vk = batch_key_uncached(key);
        let mut parsed = parsed.borrow_mut();
        if parsed.len() >= KEY_CACHE {
            parsed.clear();
        }
        parsed.insert(*key, vk);
        vk
    })
}

/// [`batch_key`], computed.
fn batch_key_uncached(key: &[u8; 32]) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(key)
        .ok()
        .filter(|vk| !vk.is_weak())
}

/// Checks many signatures; `result[i]` is the verdict on `items[i]`, the same as
/// [`verify`] would give. Uses ed25519 batch verification, so a batch of valid signatures
/// costs about half as much per signature as checking each alone.
pub fn verify_batch(items: &[Item<'_>]) -> Vec<bool> {
    // A batch of one costs more than checking it alone (about 51 µs against 45 here: the
    // batch's random scalars and its decompression of R): a gossip message that arrives
    // alone is the common case.
    if let [one] = items {
        return vec![verify(*one)];
    }
    let mut out = vec![false; items.len()];
    // Items that could pass at all go to the batch; the rest are invalid outright.
    let mut idx = Vec::with_capacity(items.len());
    let mut msgs = Vec::with_capacity(items.len());
    let mut sigs = Vec::with_capacity(items.len());
    let mut keys = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let Some(vk) = batch_key(it.key) else {
            continue;
        };
        let mut r = [0u8; 32];
        r.copy_from_slice(&it.sig[..32]);
        if small_order(&r) {
            continue;
        }
        idx.push(i);
        msgs.push(it.msg);
        sigs.push(Signature::from_bytes(it.sig));
        keys.push(vk);
    }
    if idx.is_empty() {
        return out;
    }
    if ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok() {
        for i in idx {
            out[i] = true;
        }
    } else {
        for i in idx {
            out[i] = verify(items[i]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn signed(seed: u8, msg: &[u8]) -> ([u8; 32], [u8; 64]) {
        let sk = SigningKey::from_bytes(&[seed; 32]);
        (sk.verifying_key().to_bytes(), sk.sign(msg).to_bytes())
    }

    /// `n` honest (message, key, signature) triples from keys `base..base + n`.
    fn honest(n: u8, base: u8) -> Vec<(Vec<u8>, [u8; 32], [u8; 64])> {
        (0..n)
            .map(|i| {
                let m = vec![i; 10];
                let (k, s) = signed(base + i, &m);
                (m, k, s)
            })
            .collect()
    }

    fn items(t: &[(Vec<u8>, [u8; 32], [u8; 64])]) -> Vec<Item<'_>> {
        t.iter()
            .map(|(m, k, s)| Item {
                key: k,
                msg: m,
                sig: s,
            })
            .collect()
    }

    #[test]
    fn honest_signatures_pass_both_paths() {
        let t = honest(20, 0);
        let items = items(&t);
        assert!(items.iter().all(|it| verify(*it)));
        assert!(verify_batch(&items).iter().all(|ok| *ok));
    }

    #[test]
    fn one_bad_signature_is_named_in_a_batch() {
        let mut t = honest(8, 0);
        t[3].2[40] ^= 1;
        let v = verify_batch(&items(&t));
        assert_eq!(v.iter().filter(|ok| !**ok).count(), 1);
        assert!(!v[3]);
    }

    #[test]
    fn a_batch_of_one_gives_the_verdict_of_one_check() {
        let mut t = honest(3, 40);
        t[1].2[40] ^= 1;
        // The identity point: a weak key, refused on both paths.
        t[2].1 = [0; 32];
        t[2].1[0] = 1;
        for it in items(&t) {
            assert_eq!(verify_batch(&[it]), vec![verify(it)]);
        }
        assert_eq!(
            items(&t).iter().map(|it| verify(*it)).collect::<Vec<_>>(),
            vec![true, false, false]
        );
    }

    /// A signature whose R carries a torsion component is valid by the cofactored rule,
    /// though `verify_strict` refuses it; single and batch paths must agree, whatever else
    /// is in the batch.
    #[test]
    fn torsion_in_r_gets_the_same_verdict_alone_and_in_any_batch() {
        let sk = SigningKey::from_bytes(&[7; 32]);
        let key = sk.verifying_key().to_bytes();
        let a = CompressedEdwardsY(key).decompress().expect("valid key");
        // Build (R + T, s') with s' re-derived so the cofactored equation holds.
        let msg = b"torsion".to_vec();
        let r_scalar = Scalar::from_bytes_mod_order([9; 32]);
        let r_point = EdwardsPoint::mul_base(&r_scalar) + EIGHT_TORSION[1];
        let r_bytes = r_point.compress().to_bytes();
        let mut h = Sha512::new();
        h.update(r_bytes);
        h.update(key);
        h.update(&msg);
        let wide: [u8; 64] = h.finalize().into();
        let k = Scalar::from_bytes_mod_order_wide(&wide);
        // secret scalar a: s = r + k * a where A = [a]B
        let a_scalar = sk.to_scalar();
        assert_eq!(EdwardsPoint::mul_base(&a_scalar), a);
        let s = r_scalar + k * a_scalar;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r_bytes);
        sig[32..].copy_from_slice(s.as_bytes());
        let item = Item {
            key: &key,
            msg: &msg,
            sig: &sig,
        };
        assert!(VerifyingKey::from_bytes(&key)
            .expect("key")
            .verify_strict(&msg, &Signature::from_bytes(&sig))
            .is_err());
        assert!(verify(item), "valid under the cofactored rule");
        for n in 0..12u8 {
            let others = honest(n, 100);
            let mut items = items(&others);
            items.push(item);
            assert!(verify_batch(&items).iter().all(|ok| *ok), "batch of {n}");
        }
    }

    #[test]
    fn the_small_order_list_is_exactly_the_small_order_encodings() {
        let list = small_order_encodings();
        assert_eq!(list.len(), 14);
        for e in list {
            let p = CompressedEdwardsY(*e).decompress().expect("decodes");
            assert!(p.is_small_order(), "{}", hex::encode(e));
        }
        // Any other encoding of a torsion point would be y < 19 spelled as y + p; only 0
        // and 1 are small-order y values under 19, and both are listed. Random points are
        // never on the list.
        for i in 0..200u64 {
            let p = EdwardsPoint::mul_base(&Scalar::from(i + 1));
            let c = p.compress().to_bytes();
            assert!(!small_order(&c));
            for t in EIGHT_TORSION.iter().skip(1) {
                assert!(!small_order(&(p + t).compress().to_bytes()));
            }
        }
    }

    #[test]
    fn the_remembered_answers_on_a_key_are_the_computed_ones() {
        let mut keys: Vec<[u8; 32]> = (0..40u8)
            .map(|i| SigningKey::from_bytes(&[i; 32]).verifying_key().to_bytes())
            .collect();
        let p = EdwardsPoint::mul_base(&Scalar::from(5u64));
        keys.push((p + EIGHT_TORSION[1]).compress().to_bytes());
        keys.push(EIGHT_TORSION[2].compress().to_bytes());
        keys.push([0xff; 32]);
        keys.extend(small_order_encodings().iter().copied());
        // Past the cache's size, so it is also cleared along the way.
        for i in 0..(KEY_CACHE as u64 + 100) {
            keys.push(
                EdwardsPoint::mul_base(&Scalar::from(i + 7))
                    .compress()
                    .to_bytes(),
            );
        }
        for round in 0..2 {
            for k in &keys {
                assert_eq!(
                    acceptable_key(k),
                    acceptable_key_uncached(k),
                    "round {round}"
                );
                assert_eq!(batch_key(k), batch_key_uncached(k), "round {round}");
            }
        }
        assert!(!acceptable_key(&keys[40]), "a key with a torsion component");
        assert!(acceptable_key(&keys[0]));
    }

    #[test]
    fn small_order_key_is_refused_on_both_paths() {
        let key = EIGHT_TORSION[1].compress().to_bytes();
        let sig = [0u8; 64];
        let item = Item {
            key: &key,
            msg: b"x",
            sig: &sig,
        };
        assert!(!verify(item));
        assert_eq!(verify_batch(&[item]), vec![false]);
        // A small-order R, alone or beside an honest signature.
        let (k, good) = signed(1, b"m");
        for r in small_order_encodings() {
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(r);
            let bad = Item {
                key: &k,
                msg: b"m",
                sig: &sig,
            };
            let ok = Item {
                key: &k,
                msg: b"m",
                sig: &good,
            };
            assert!(!verify(bad));
            assert_eq!(verify_batch(&[ok, bad]), vec![true, false]);
        }
    }
}
