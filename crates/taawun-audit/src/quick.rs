//! A quick hash for the audit's maps keyed by positions, author numbers and the bytes of
//! ids: the keys are numbers the audit gives out or BLAKE3 output, which whoever wrote the
//! file can only steer by grinding, and the hash starts from a secret drawn per process,
//! so SipHash's stronger defence buys little here and costs a few percent of the audit's
//! time. Maps keyed by public keys, which anyone can choose, keep SipHash.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// The multiply-rotate hash of rustc's `FxHasher`: one rotation, exclusive or and
/// multiplication per word.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Quick(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Quick {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for Quick {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            self.add(u64::from_le_bytes(a));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut a = [0u8; 8];
            a[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(a));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`Quick`] hashers starting from a secret drawn once per process, so that a
/// file cannot be made of ids ground offline to fall in the same buckets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QuickBuild(u64);

impl Default for QuickBuild {
    fn default() -> Self {
        static SECRET: OnceLock<u64> = OnceLock::new();
        Self(*SECRET.get_or_init(|| RandomState::new().hash_one(0x7461_6177_756e_u64)))
    }
}

impl BuildHasher for QuickBuild {
    type Hasher = Quick;

    fn build_hasher(&self) -> Quick {
        Quick(self.0)
    }
}

/// A `HashMap` with the [`Quick`] hash.
pub(crate) type QuickMap<K, V> = HashMap<K, V, QuickBuild>;

/// A `HashSet` with the [`Quick`] hash.
pub(crate) type QuickSet<K> = HashSet<K, QuickBuild>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_ids_spread_over_the_table() {
        let mut m: QuickMap<(u32, u32), u32> = QuickMap::default();
        for p in 0..100_000u32 {
            m.insert((p, p % 24), p);
        }
        for p in (0..100_000u32).step_by(997) {
            assert_eq!(m.get(&(p, p % 24)), Some(&p));
        }
        // Low bits, which pick the bucket, differ for consecutive positions.
        let h = |p: u32| {
            let mut q = QuickBuild::default().build_hasher();
            q.write_u32(p);
            q.finish() & 0xfff
        };
        let distinct: QuickSet<u64> = (0..4096u32).map(h).collect();
        assert!(distinct.len() > 2500, "{}", distinct.len());
    }
}
