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
//! A signature checked alone is checked by that equation itself, with the key decoded once
//! per thread (a ledger is a few authors' entries). A batch is a fast path that can only
//! say "valid" when the rule does (its random weights make a non-torsion error pass with
//! probability 2^-128); when it fails, each item is checked alone, so the verdict never
//! depends on the path or the batch.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
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
///
/// It costs about a fifth less than ed25519-dalek's `verify_strict` (8 µs of about 40 on
/// the development VM): the key's square root is taken once per thread ([`key_point`]),
/// and the equation is compared with the identity in projective coordinates, where
/// `verify_strict` compresses its result (an inversion) to compare it with R's bytes.
pub fn verify(item: Item<'_>) -> bool {
    let (Some(a), Some(p)) = (key_point(item.key), parts(item)) else {
        return false;
    };
    cofactored(&a, &p)
}

/// The cofactored equation of one signature by key `a`.
fn cofactored(a: &EdwardsPoint, p: &Parts) -> bool {
    let k = Scalar::from_bytes_mod_order_wide(&p.hram);
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&-k, a, &p.s);
    (sb_minus_ka - p.r).mul_by_cofactor().is_identity()
}

/// A signature's R and S, and the hash its equation needs, as the rule reads them.
struct Parts {
    /// R's point.
    r: EdwardsPoint,
    /// S, below L.
    s: Scalar,
    /// SHA-512(R || A || M), over the bytes as given.
    hram: [u8; 64],
}

/// [`Parts`] of `item`, or `None` when the rule refuses it outright: R is no point or of
/// small order, or S is not below L. The single check and the batch share it.
fn parts(item: Item<'_>) -> Option<Parts> {
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&item.sig[..32]);
    if small_order(&r_bytes) {
        return None;
    }
    let r = CompressedEdwardsY(r_bytes).decompress()?;
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&item.sig[32..]);
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(item.key);
    h.update(item.msg);
    Some(Parts {
        r,
        s,
        hram: h.finalize().into(),
    })
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
        static SEEN: KeyCache<bool> = RefCell::new(HashMap::new());
    }
    remembered(&SEEN, key, acceptable_key_uncached)
}

/// Keys whose [`acceptable_key`] answer, and whose decoded point, each thread keeps: a few
/// cooperatives' members and devices, under 300 KB in all.
pub const KEY_CACHE: usize = 1024;

/// One thread's answers on keys, at most [`KEY_CACHE`] of them.
type KeyCache<V> = RefCell<HashMap<[u8; 32], V>>;

/// `compute(key)`, remembered in `cache` (cleared when full).
fn remembered<V: Copy + 'static>(
    cache: &'static std::thread::LocalKey<KeyCache<V>>,
    key: &[u8; 32],
    compute: fn(&[u8; 32]) -> V,
) -> V {
    cache.with(|cache| {
        if let Some(v) = cache.borrow().get(key) {
            return *v;
        }
        let v = compute(key);
        let mut cache = cache.borrow_mut();
        if cache.len() >= KEY_CACHE {
            cache.clear();
        }
        cache.insert(*key, v);
        v
    })
}

/// [`acceptable_key`], computed: a key the rule's equation takes, with no torsion
/// component.
fn acceptable_key_uncached(key: &[u8; 32]) -> bool {
    key_point_uncached(key).is_some_and(|p| p.is_torsion_free())
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

/// The key as the rule's equation uses it, alone or in a batch: decoded, and `None` when it
/// is no point or of small order (the equation does not reject small-order points; the
/// rule does).
///
/// A ledger is mostly a few authors' entries: each thread remembers the keys it decoded
/// (up to [`KEY_CACHE`]), which saves a square root per signature checked alone and per
/// author and batch.
fn key_point(key: &[u8; 32]) -> Option<EdwardsPoint> {
    thread_local! {
        static PARSED: KeyCache<Option<EdwardsPoint>> = RefCell::new(HashMap::new());
    }
    remembered(&PARSED, key, key_point_uncached)
}

/// [`key_point`], computed.
fn key_point_uncached(key: &[u8; 32]) -> Option<EdwardsPoint> {
    CompressedEdwardsY(*key)
        .decompress()
        .filter(|a| !a.is_small_order())
}

/// The context under which blake3 derives a batch's weights from its contents.
const WEIGHTS_CONTEXT: &str = "taawun 2026-12 ed25519 batch weights";

/// One signature that could pass, as the batch equation uses it.
struct Term {
    /// Its place in the caller's items.
    index: usize,
    /// The key's point.
    a: EdwardsPoint,
    /// Its R, S and hash.
    p: Parts,
}

/// Checks many signatures; `result[i]` is the verdict on `items[i]`, the same as
/// [`verify`] would give. A batch of valid signatures costs about half as much per
/// signature as checking each alone, and less again when keys repeat (see
/// [`batch_holds`]).
pub fn verify_batch(items: &[Item<'_>]) -> Vec<bool> {
    // A batch of one costs more than checking it alone (the batch's weights, and a
    // multiscalar multiplication where one check needs a double one): a gossip message
    // that arrives alone is the common case.
    if let [one] = items {
        return vec![verify(*one)];
    }
    let mut out = vec![false; items.len()];
    let terms = terms(items);
    if terms.is_empty() {
        return out;
    }
    if batch_holds(items, &terms) {
        for t in &terms {
            out[t.index] = true;
        }
    } else {
        for t in &terms {
            out[t.index] = cofactored(&t.a, &t.p);
        }
    }
    out
}

/// The items that could pass at all, as the batch uses them; the rest are invalid
/// outright, as the rule (and so [`verify`]) finds them: a key or R that is no point or of
/// small order, or S not below L.
fn terms(items: &[Item<'_>]) -> Vec<Term> {
    items
        .iter()
        .enumerate()
        .filter_map(|(index, it)| {
            Some(Term {
                index,
                a: key_point(it.key)?,
                p: parts(*it)?,
            })
        })
        .collect()
}

/// The cofactored batch equation: `[8]([b]B - sum [z_i]R_i - sum [c_A]A) = identity`,
/// where `b = sum z_i S_i` and, for each distinct key `A`, `c_A` is the sum of
/// `z_i k_i` over the signatures by `A`, with `k_i = SHA-512(R_i || A_i || M_i) mod L`.
///
/// - **Exact where it says yes.** If every signature satisfies the cofactored equation
///   of the rule, so does any combination of them: the batch holds. If one does not,
///   what remains after `[8]` is a point of the prime-order group, and the batch holds
///   only if the weights cancel it: probability about 2^-128. So a batch that holds
///   makes every item valid, and one that fails sends each item to [`verify`], and the
///   verdict never depends on the batch.
/// - **Weights.** Each `z_i` is 128 bits of blake3's output over every signature's
///   SHA-512 hash (which binds `R`, `A` and `M`) and `S`, in order: no one can choose
///   signatures after seeing the weights, as in ed25519-dalek's own batch, which draws
///   them from a Merlin transcript of the same.
/// - **Keys merged.** A ledger holds many entries by the same few keys. The terms of one
///   key add up to one, so the multiscalar multiplication has `1 + n + keys` points
///   instead of `1 + 2n` (ed25519-dalek's `verify_batch`): about a third fewer in a
///   cooperative's batch of 128.
fn batch_holds(items: &[Item<'_>], terms: &[Term]) -> bool {
    let mut weights = blake3::Hasher::new_derive_key(WEIGHTS_CONTEXT);
    for t in terms {
        weights.update(&t.p.hram);
        weights.update(&items[t.index].sig[32..]);
    }
    let mut weights = weights.finalize_xof();
    let mut b = Scalar::ZERO;
    let mut scalars = Vec::with_capacity(terms.len() + 1);
    let mut points = Vec::with_capacity(terms.len() + 1);
    scalars.push(Scalar::ZERO); // [b]B, set below
    points.push(ED25519_BASEPOINT_POINT);
    let mut keys: Vec<(EdwardsPoint, Scalar)> = Vec::new();
    let mut key_slot: HashMap<&[u8; 32], usize> = HashMap::with_capacity(terms.len());
    for t in terms {
        let mut z = [0u8; 16];
        weights.fill(&mut z);
        let z = Scalar::from(u128::from_le_bytes(z));
        b += z * t.p.s;
        scalars.push(-z);
        points.push(t.p.r);
        let zk = z * Scalar::from_bytes_mod_order_wide(&t.p.hram);
        let slot = *key_slot.entry(items[t.index].key).or_insert_with(|| {
            keys.push((t.a, Scalar::ZERO));
            keys.len() - 1
        });
        keys[slot].1 += zk;
    }
    scalars[0] = b;
    for (a, c) in keys {
        scalars.push(-c);
        points.push(a);
    }
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        .mul_by_cofactor()
        .is_identity()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

    /// The single check as it was made before [`verify`] checked the equation alone:
    /// ed25519-dalek's `verify_strict`, and the cofactored equation when that says no,
    /// nothing remembered. The rule's reference for [`verify`].
    fn reference(item: Item<'_>) -> bool {
        let strict = VerifyingKey::from_bytes(item.key).is_ok_and(|vk| {
            vk.verify_strict(item.msg, &Signature::from_bytes(item.sig))
                .is_ok()
        });
        strict
            || matches!(
                (key_point_uncached(item.key), parts(item)),
                (Some(a), Some(p)) if cofactored(&a, &p)
            )
    }

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

    /// A signature made by hand: `R = [r]B + r_torsion`, `S = r + k a` where the key is
    /// `[a]B + key_torsion` and `k` hashes the bytes as given. Valid by the cofactored rule
    /// whatever the torsion parts.
    fn by_hand(
        a: u64,
        key_torsion: usize,
        r: u64,
        r_torsion: usize,
        msg: &[u8],
    ) -> ([u8; 32], [u8; 64]) {
        let a = Scalar::from(a);
        let r = Scalar::from(r);
        let key = (EdwardsPoint::mul_base(&a) + EIGHT_TORSION[key_torsion])
            .compress()
            .to_bytes();
        let r_bytes = (EdwardsPoint::mul_base(&r) + EIGHT_TORSION[r_torsion])
            .compress()
            .to_bytes();
        let mut h = Sha512::new();
        h.update(r_bytes);
        h.update(key);
        h.update(msg);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r_bytes);
        sig[32..].copy_from_slice((r + k * a).as_bytes());
        (key, sig)
    }

    /// Whether the batch equation itself holds, fallback aside.
    fn holds(items: &[Item<'_>]) -> bool {
        batch_holds(items, &terms(items))
    }

    /// Forty signatures by five keys, one of them with a torsion component, some with
    /// torsion in R: every one valid by the rule, and the batch equation (keys merged)
    /// holds, so the batch says so without checking any signature alone.
    #[test]
    fn the_batch_equation_holds_on_valid_signatures_by_repeated_keys() {
        let t: Vec<(Vec<u8>, [u8; 32], [u8; 64])> = (0..40u64)
            .map(|i| {
                let m = format!("entry {i}").into_bytes();
                let key_torsion = if i % 5 == 4 { 3 } else { 0 };
                let r_torsion = (i % 3) as usize;
                let (k, s) = by_hand(1000 + i % 5, key_torsion, 77 + i, r_torsion, &m);
                (m, k, s)
            })
            .collect();
        let items = items(&t);
        assert!(items.iter().all(|it| verify(*it)), "each valid alone");
        assert_eq!(terms(&items).len(), 40);
        assert!(holds(&items));
        assert!(verify_batch(&items).iter().all(|ok| *ok));
    }

    /// A requester's forger shifts S by +d on one of a key's signatures and by -d on
    /// another: with equal weights the errors would cancel in the merged key term. The
    /// weights differ, so the equation fails, and each is then refused alone.
    #[test]
    fn errors_that_cancel_with_equal_weights_do_not_pass_a_batch() {
        let mut t = honest(6, 0);
        let d = Scalar::from(12345u64);
        for (msg, shift) in [(b"two".to_vec(), d), (b"three".to_vec(), -d)] {
            let (key, mut sig) = signed(9, &msg);
            let s_bytes: [u8; 32] = sig[32..].try_into().expect("32 bytes");
            let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)).expect("S < L");
            sig[32..].copy_from_slice((s + shift).as_bytes());
            t.push((msg, key, sig));
        }
        let items = items(&t);
        assert!(!holds(&items));
        let v = verify_batch(&items);
        assert_eq!(v, vec![true, true, true, true, true, true, false, false]);
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
                assert_eq!(key_point(k), key_point_uncached(k), "round {round}");
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

    /// The first 32-byte string (a small `y`) that decodes to no curve point.
    fn no_point() -> [u8; 32] {
        (2u8..)
            .map(|y| {
                let mut b = [0u8; 32];
                b[0] = y;
                b
            })
            .find(|b| CompressedEdwardsY(*b).decompress().is_none())
            .expect("half of all y are no point")
    }

    /// What one item of a random batch is.
    #[derive(Debug, Clone, Copy)]
    enum Kind {
        Honest,
        TorsionR,
        TorsionKey,
        FlippedSig,
        FlippedMsg,
        WrongKey,
        SPlusL,
        SmallOrderR,
        NoPointR,
    }

    fn kind() -> impl Strategy<Value = Kind> {
        prop_oneof![
            4 => Just(Kind::Honest),
            1 => Just(Kind::TorsionR),
            1 => Just(Kind::TorsionKey),
            1 => Just(Kind::FlippedSig),
            1 => Just(Kind::FlippedMsg),
            1 => Just(Kind::WrongKey),
            1 => Just(Kind::SPlusL),
            1 => Just(Kind::SmallOrderR),
            1 => Just(Kind::NoPointR),
        ]
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Any batch, valid or not, keys repeated or not: the batch's verdicts are those of
        /// checking each signature alone.
        #[test]
        fn a_batch_gives_each_signature_its_verdict_alone(
            spec in proptest::collection::vec((kind(), 0u64..3, 0usize..8), 2..10)
        ) {
            let t: Vec<(Vec<u8>, [u8; 32], [u8; 64])> = spec
                .iter()
                .enumerate()
                .map(|(i, (kind, key, bits))| {
                    let m = format!("item {i}").into_bytes();
                    let a = 500 + key;
                    let r = 9000 + i as u64;
                    let (mut k, mut s) = match kind {
                        Kind::TorsionR => by_hand(a, 0, r, 1 + bits % 7, &m),
                        Kind::TorsionKey => by_hand(a, 1 + bits % 7, r, 0, &m),
                        _ => by_hand(a, 0, r, 0, &m),
                    };
                    let mut m = m;
                    match kind {
                        Kind::FlippedSig => s[bits * 7 % 64] ^= 1 << (bits % 8),
                        Kind::FlippedMsg => m[0] ^= 1,
                        Kind::SPlusL => {
                            // S + L, spelled as 256-bit little-endian: not below L.
                            let mut carry = 0u16;
                            let l_bytes: [u8; 32] = [
                                0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c,
                                0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0,
                                0, 0, 0, 0, 0, 0, 0, 0x10,
                            ];
                            for j in 0..32 {
                                let v = u16::from(s[32 + j]) + u16::from(l_bytes[j]) + carry;
                                s[32 + j] = v as u8;
                                carry = v >> 8;
                            }
                        }
                        Kind::SmallOrderR => {
                            s[..32].copy_from_slice(&small_order_encodings()[bits % 14]);
                        }
                        Kind::NoPointR => s[..32].copy_from_slice(&no_point()),
                        Kind::WrongKey => k = by_hand(a + 7, 0, 1, 0, b"").0,
                        _ => {}
                    }
                    (m, k, s)
                })
                .collect();
            let items = items(&t);
            let alone: Vec<bool> = items.iter().map(|it| verify(*it)).collect();
            // Valid by the rule: honest, and torsion in R or in the key; every other kind
            // is refused (S + L too: else anyone could make a second signature).
            let expected: Vec<bool> = spec
                .iter()
                .map(|(kind, _, _)| matches!(kind, Kind::Honest | Kind::TorsionR | Kind::TorsionKey))
                .collect();
            prop_assert_eq!(&alone, &expected);
            let reference: Vec<bool> = items.iter().map(|it| reference(*it)).collect();
            prop_assert_eq!(&alone, &reference);
            prop_assert_eq!(verify_batch(&items), alone.clone());
            // The equation itself holds exactly when every item that reaches it is valid.
            let terms = terms(&items);
            if !terms.is_empty() {
                let all_valid = terms.iter().all(|t| alone[t.index]);
                prop_assert_eq!(batch_holds(&items, &terms), all_valid);
            }
        }
    }
}
