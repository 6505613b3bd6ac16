//! A fast hasher for the writer's dictionaries and FSST symbol counting, which hash millions
//! of short keys per page: std's SipHash costs more than the rest of that work.
//!
//! Each map gets a seed from std's random state, so crafted data cannot aim collisions at a
//! known hash function.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// Multiplier of the word-at-a-time mix (from the FxHash family of hashers).
const MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;

/// A `HashMap` with [`FastState`].
pub type FastMap<K, V> = HashMap<K, V, FastState>;

/// Creates an empty [`FastMap`] with room for `capacity` keys.
pub fn fast_map<K, V>(capacity: usize) -> FastMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, FastState::new())
}

/// Builds [`FastHasher`]s from a random seed.
#[derive(Clone, Debug)]
pub struct FastState {
    seed: u64,
}

impl FastState {
    /// A state with a fresh random seed.
    pub fn new() -> Self {
        Self {
            seed: std::collections::hash_map::RandomState::new().hash_one(0u64),
        }
    }
}

impl Default for FastState {
    fn default() -> Self {
        Self::new()
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(self.seed)
    }
}

/// Mixes the input 8 bytes at a time.
#[derive(Clone, Debug)]
pub struct FastHasher(u64);

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(MULTIPLIER);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        // A final avalanche so that the high bits hashbrown uses depend on every input bit.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_hash_equal_and_maps_work() {
        let state = FastState::new();
        assert_eq!(
            state.hash_one(b"abc".as_slice()),
            state.hash_one(b"abc".as_slice())
        );
        assert_ne!(
            state.hash_one(b"abc".as_slice()),
            state.hash_one(b"abd".as_slice())
        );
        let mut map: FastMap<&[u8], u32> = fast_map(4);
        for (i, key) in [b"x".as_slice(), b"", b"a longer key than eight bytes"]
            .iter()
            .enumerate()
        {
            map.insert(key, i as u32);
        }
        assert_eq!(map.get(b"".as_slice()), Some(&1));
        assert_eq!(
            map.get(b"a longer key than eight bytes".as_slice()),
            Some(&2)
        );
        assert_eq!(map.len(), 3);
    }
}
