//! Completion cache with "forwarding" entries, so typing the characters of a suggestion is
//! answered with the rest of it and no model call (typing-as-suggested).
//!
//! A key is a hash of the last [`KEY_PREFIX_CHARS`] chars before the cursor, the first
//! [`KEY_SUFFIX_CHARS`] after it and the language. Storing a suggestion also stores it under the
//! keys the document would have after the user typed its first 1, 2, … [`MAX_FORWARD_CHARS`]
//! chars, each with the remaining text.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use ropey::Rope;

/// Chars of prefix in a key.
pub const KEY_PREFIX_CHARS: usize = 1024;
/// Chars of suffix in a key.
pub const KEY_SUFFIX_CHARS: usize = 256;
/// How far into a suggestion typing is still answered from the cache.
pub const MAX_FORWARD_CHARS: usize = 64;

/// The text around a cursor that identifies a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheKeyText {
    /// The last [`KEY_PREFIX_CHARS`] chars before the cursor.
    pub prefix_tail: String,
    /// The first [`KEY_SUFFIX_CHARS`] chars after the cursor.
    pub suffix_head: String,
    /// The document's language.
    pub language_id: String,
}

impl CacheKeyText {
    /// Reads the key text at `cursor` (a char offset).
    pub fn at(rope: &Rope, cursor: usize, language_id: &str) -> CacheKeyText {
        let cursor = cursor.min(rope.len_chars());
        let start = cursor.saturating_sub(KEY_PREFIX_CHARS);
        let end = (cursor + KEY_SUFFIX_CHARS).min(rope.len_chars());
        CacheKeyText {
            prefix_tail: rope.slice(start..cursor).to_string(),
            suffix_head: rope.slice(cursor..end).to_string(),
            language_id: language_id.to_string(),
        }
    }

    /// The hashed key.
    pub fn key(&self) -> u64 {
        key_of(&self.prefix_tail, &self.suffix_head, &self.language_id)
    }
}

fn key_of(prefix: &str, suffix_head: &str, language_id: &str) -> u64 {
    let skip = prefix.chars().count().saturating_sub(KEY_PREFIX_CHARS);
    let prefix_tail: String = prefix.chars().skip(skip).collect();
    let mut hasher = DefaultHasher::new();
    prefix_tail.hash(&mut hasher);
    suffix_head.hash(&mut hasher);
    language_id.hash(&mut hasher);
    hasher.finish()
}

/// One cached suggestion, relative to the cursor of the key it is stored under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedItem {
    /// Text still to insert.
    pub insert_text: String,
    /// Chars right of the cursor the item replaces.
    pub covers_after_chars: usize,
}

/// What a lookup finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheHit {
    /// The items, best first.
    pub items: Vec<CachedItem>,
    /// How many chars of the original suggestion the user has typed since (0: exact hit).
    pub typed_chars: usize,
}

struct Entry {
    items: Vec<CachedItem>,
    typed_chars: usize,
    alternatives_requested: usize,
    last_used: u64,
}

/// A bounded map from keys to suggestions, least recently used out first.
pub struct CompletionCache {
    entries: HashMap<u64, Entry>,
    capacity: usize,
    clock: u64,
}

impl CompletionCache {
    /// An empty cache holding at most `capacity` keys.
    pub fn new(capacity: usize) -> CompletionCache {
        CompletionCache {
            entries: HashMap::new(),
            capacity: capacity.max(16),
            clock: 0,
        }
    }

    /// Finds suggestions for `key` computed with at least `alternatives_wanted` alternatives
    /// (an invoked request wanting 3 does not settle for an automatic request's 1).
    pub fn lookup(&mut self, key: &CacheKeyText, alternatives_wanted: usize) -> Option<CacheHit> {
        self.clock += 1;
        let entry = self.entries.get_mut(&key.key())?;
        if entry.alternatives_requested < alternatives_wanted {
            return None;
        }
        entry.last_used = self.clock;
        Some(CacheHit {
            items: entry.items.clone(),
            typed_chars: entry.typed_chars,
        })
    }

    /// Stores `items` for `key`, plus forwarding entries for typing into each item.
    /// An empty `items` is stored too: the same context would give the same nothing.
    pub fn store(
        &mut self,
        key: &CacheKeyText,
        items: &[CachedItem],
        alternatives_requested: usize,
    ) {
        self.clock += 1;
        self.insert(key.key(), items.to_vec(), 0, alternatives_requested);
        let mut forwarded: HashMap<u64, (usize, Vec<CachedItem>)> = HashMap::new();
        for item in items {
            let mut typed = key.prefix_tail.clone();
            for (typed_chars, ch) in item.insert_text.chars().enumerate().take(MAX_FORWARD_CHARS) {
                typed.push(ch);
                let rest: String = item.insert_text.chars().skip(typed_chars + 1).collect();
                if rest.trim().is_empty() {
                    break;
                }
                let forward_key = key_of(&typed, &key.suffix_head, &key.language_id);
                let slot = forwarded
                    .entry(forward_key)
                    .or_insert((typed_chars + 1, Vec::new()));
                let cached = CachedItem {
                    insert_text: rest,
                    covers_after_chars: item.covers_after_chars,
                };
                if !slot.1.contains(&cached) {
                    slot.1.push(cached);
                }
            }
        }
        for (forward_key, (typed_chars, items)) in forwarded {
            self.insert(forward_key, items, typed_chars, alternatives_requested);
        }
        self.evict_if_full();
    }

    /// Forgets everything (settings or model changed).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn insert(
        &mut self,
        key: u64,
        items: Vec<CachedItem>,
        typed_chars: usize,
        alternatives: usize,
    ) {
        self.entries.insert(
            key,
            Entry {
                items,
                typed_chars,
                alternatives_requested: alternatives,
                last_used: self.clock,
            },
        );
    }

    fn evict_if_full(&mut self) {
        if self.entries.len() <= self.capacity {
            return;
        }
        // Drop the least recently used quarter at once so eviction stays rare.
        let mut ages: Vec<u64> = self.entries.values().map(|entry| entry.last_used).collect();
        ages.sort_unstable();
        let cutoff = ages[ages.len() - self.capacity * 3 / 4];
        self.entries.retain(|_, entry| entry.last_used >= cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(text: &str) -> CachedItem {
        CachedItem {
            insert_text: text.to_string(),
            covers_after_chars: 0,
        }
    }

    #[test]
    fn typing_the_suggestion_is_answered_with_its_rest() {
        let mut cache = CompletionCache::new(1000);
        let rope = Rope::from_str("fn main() {\n    let x = \n}\n");
        let cursor = 24;
        let key = CacheKeyText::at(&rope, cursor, "rust");
        cache.store(&key, &[item("compute(1, 2);"), item("compute(3);")], 1);
        assert_eq!(cache.lookup(&key, 1).unwrap().items.len(), 2);

        let mut typed = rope.clone();
        typed.insert(cursor, "compute(");
        let hit = cache
            .lookup(&CacheKeyText::at(&typed, cursor + 8, "rust"), 1)
            .unwrap();
        assert_eq!(hit.items, vec![item("1, 2);"), item("3);")]);
        assert_eq!(hit.typed_chars, 8);

        typed.insert(cursor + 8, "1");
        let hit = cache
            .lookup(&CacheKeyText::at(&typed, cursor + 9, "rust"), 1)
            .unwrap();
        assert_eq!(hit.items, vec![item(", 2);")]);

        let mut diverged = rope.clone();
        diverged.insert(cursor, "other");
        assert!(
            cache
                .lookup(&CacheKeyText::at(&diverged, cursor + 5, "rust"), 1)
                .is_none()
        );
        assert!(
            cache
                .lookup(&CacheKeyText::at(&rope, cursor, "python"), 1)
                .is_none()
        );
    }

    #[test]
    fn more_alternatives_than_cached_is_a_miss_and_capacity_is_bounded() {
        let mut cache = CompletionCache::new(16);
        let rope = Rope::from_str("x = ");
        let key = CacheKeyText::at(&rope, 4, "python");
        cache.store(&key, &[item("1")], 1);
        assert!(cache.lookup(&key, 3).is_none());
        for n in 0..100 {
            let rope = Rope::from_str(&format!("value_{n} = "));
            let key = CacheKeyText::at(&rope, rope.len_chars(), "python");
            cache.store(&key, &[item("a long suggestion text")], 1);
        }
        assert!(cache.len() <= 16 + MAX_FORWARD_CHARS, "{}", cache.len());
    }
}
