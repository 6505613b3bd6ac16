//! Numbering distinct keys in first-seen order, for the writer's automatic dictionaries.
//!
//! A dictionary probe looks up every value of a page (millions) among few distinct ones.
//! Keys that fit a few machine words ([`WordKey`]) go to [`FirstSeen`], an open-addressing
//! table that stays small enough for the L1 cache and costs a multiply, a load and a compare
//! per lookup; other keys (long strings) to a [`FastMap`]. Both implement [`KeyNumbering`].

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};

use crate::encodings::hashing::FastMap;

/// Numbers keys in first-seen order.
pub trait KeyNumbering<K> {
    /// The number of `key` (0 for the first distinct key, 1 for the second, ...), and whether
    /// it was seen for the first time.
    fn number(&mut self, key: K) -> (u32, bool);
    /// The number of distinct keys seen.
    fn len(&self) -> usize;
}

impl<K: Hash + Eq> KeyNumbering<K> for FastMap<K, u32> {
    fn number(&mut self, key: K) -> (u32, bool) {
        let next = HashMap::len(self) as u32;
        let mut new = false;
        let number = *self.entry(key).or_insert_with(|| {
            new = true;
            next
        });
        (number, new)
    }

    fn len(&self) -> usize {
        HashMap::len(self)
    }
}

/// Keys of one to a few words, hashed with a seed.
pub trait WordKey: Copy + Eq + Default {
    /// The key's hash under `seed` (its high bits are used).
    fn hash_with(&self, seed: u64) -> u64;
}

/// Multiplier of the hash (odd, with well-mixed bits).
const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
fn mix(hash: u64, word: u64) -> u64 {
    (hash.rotate_left(23) ^ word).wrapping_mul(MULTIPLIER)
}

impl WordKey for u64 {
    #[inline]
    fn hash_with(&self, seed: u64) -> u64 {
        mix(seed, *self)
    }
}

impl WordKey for u128 {
    #[inline]
    fn hash_with(&self, seed: u64) -> u64 {
        mix(mix(seed, *self as u64), (*self >> 64) as u64)
    }
}

impl WordKey for [u64; 3] {
    #[inline]
    fn hash_with(&self, seed: u64) -> u64 {
        mix(mix(mix(seed, self[0]), self[1]), self[2])
    }
}

/// An open-addressing table (linear probing, at most half full) from keys to their
/// first-seen numbers. The seed is random per table, as for [`FastMap`].
pub struct FirstSeen<K> {
    /// `(key, number + 1)`; 0 marks an empty slot. The length is a power of two.
    slots: Vec<(K, u32)>,
    /// `64 - log2(slots.len())`: a hash's top bits pick its first slot.
    shift: u32,
    len: usize,
    seed: u64,
}

impl<K: WordKey> FirstSeen<K> {
    /// An empty table with room for about `capacity` keys before it grows.
    pub fn with_capacity(capacity: usize) -> Self {
        let slots = (capacity.max(8) * 2).next_power_of_two();
        Self {
            slots: vec![(K::default(), 0); slots],
            shift: 64 - slots.trailing_zeros(),
            len: 0,
            seed: RandomState::new().hash_one(0u64),
        }
    }

    #[inline]
    fn first_slot(&self, key: &K) -> usize {
        (key.hash_with(self.seed) >> self.shift) as usize
    }

    /// Doubles the slots and places every key again.
    fn grow(&mut self) {
        let doubled = vec![(K::default(), 0); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        self.shift -= 1;
        let mask = self.slots.len() - 1;
        for (key, stored) in old.into_iter().filter(|(_, stored)| *stored != 0) {
            let mut at = self.first_slot(&key);
            while self.slots[at].1 != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = (key, stored);
        }
    }
}

impl<K: WordKey> KeyNumbering<K> for FirstSeen<K> {
    #[inline]
    fn number(&mut self, key: K) -> (u32, bool) {
        let mask = self.slots.len() - 1;
        let mut at = self.first_slot(&key);
        loop {
            let (slot_key, stored) = self.slots[at];
            if stored == 0 {
                let number = self.len as u32;
                self.slots[at] = (key, number + 1);
                self.len += 1;
                if self.len * 2 > self.slots.len() {
                    self.grow();
                }
                return (number, true);
            }
            if slot_key == key {
                return (stored - 1, false);
            }
            at = (at + 1) & mask;
        }
    }

    fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encodings::hashing::fast_map;

    /// Numbers `keys` with both tables and checks them against each other and a plain list.
    fn check<K: WordKey + Hash + std::fmt::Debug>(keys: &[K]) {
        let mut table = FirstSeen::with_capacity(1);
        let mut map: FastMap<K, u32> = fast_map(1);
        let mut distinct: Vec<K> = Vec::new();
        for key in keys {
            let expected = match distinct.iter().position(|k| k == key) {
                Some(at) => (at as u32, false),
                None => {
                    distinct.push(*key);
                    (distinct.len() as u32 - 1, true)
                }
            };
            assert_eq!(table.number(*key), expected, "key {key:?}");
            assert_eq!(map.number(*key), expected, "key {key:?}");
        }
        assert_eq!(table.len(), distinct.len());
        assert_eq!(KeyNumbering::len(&map), distinct.len());
    }

    #[test]
    fn keys_are_numbered_in_first_seen_order_through_growth() {
        // Zero (the empty slots' key) and keys that differ only in high bits included.
        let keys: Vec<u64> = (0..3000u64).map(|i| (i % 700) << 40 | (i % 3)).collect();
        check(&keys);
        let wide: Vec<u128> = (0..2000u128).map(|i| (i % 300) << 64 | (i % 5)).collect();
        check(&wide);
        let words: Vec<[u64; 3]> = (0..2000u64).map(|i| [0, i % 250, 7]).collect();
        check(&words);
    }
}
