//! Suggestions handed to the editor, by id, so accept/reject/show events can be tied back to what
//! was suggested and an accept can start the next suggestion speculatively.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ropey::Rope;

use super::{StageTimings, Trigger};

/// Everything remembered about one suggestion.
#[derive(Clone, Debug)]
pub struct SuggestionRecord {
    /// The id sent in the item's command.
    pub id: String,
    /// The document.
    pub uri: String,
    /// Its language.
    pub language_id: String,
    /// The document text the suggestion was made for.
    pub document: Rope,
    /// The chars the suggestion replaces (starts at the cursor).
    pub replace: Range<usize>,
    /// The suggested text.
    pub insert_text: String,
    /// How it was triggered.
    pub trigger: Trigger,
    /// Served from the cache.
    pub from_cache: bool,
    /// When it was created.
    pub created: Instant,
    /// When the request that produced it arrived.
    pub requested: Instant,
    /// The model that made it (`unknown` when no model was ready).
    pub model_id: String,
    /// Prompt length in tokens (`None` when served from the cache).
    pub prompt_tokens: Option<usize>,
    /// Per-stage timings of the request that produced it.
    pub timings: StageTimings,
}

/// The most recent suggestions (bounded).
pub struct SuggestionRegistry {
    records: Mutex<(HashMap<String, SuggestionRecord>, VecDeque<String>)>,
    capacity: usize,
    next_id: AtomicU64,
    id_prefix: String,
}

impl SuggestionRegistry {
    /// A registry remembering up to `capacity` suggestions.
    pub fn new(capacity: usize) -> SuggestionRegistry {
        // Ids differ between server runs so logs from several sessions never collide.
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as u64)
            .unwrap_or_default();
        SuggestionRegistry {
            records: Mutex::new((HashMap::new(), VecDeque::new())),
            capacity: capacity.max(1),
            next_id: AtomicU64::new(1),
            id_prefix: format!("{:x}", started & 0xffff_ffff),
        }
    }

    /// A fresh id.
    pub fn next_id(&self) -> String {
        format!(
            "gl-{}-{}",
            self.id_prefix,
            self.next_id.fetch_add(1, Ordering::SeqCst)
        )
    }

    /// Remembers a suggestion (forgetting the oldest when full).
    pub fn insert(&self, record: SuggestionRecord) {
        let mut guard = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let (records, order) = &mut *guard;
        order.push_back(record.id.clone());
        records.insert(record.id.clone(), record);
        while order.len() > self.capacity {
            if let Some(oldest) = order.pop_front() {
                records.remove(&oldest);
            }
        }
    }

    /// Looks a suggestion up.
    pub fn get(&self, id: &str) -> Option<SuggestionRecord> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .get(id)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_old_records_are_forgotten() {
        let registry = SuggestionRegistry::new(2);
        let ids: Vec<String> = (0..3).map(|_| registry.next_id()).collect();
        assert_ne!(ids[0], ids[1]);
        for id in &ids {
            registry.insert(SuggestionRecord {
                id: id.clone(),
                uri: "file:///a".into(),
                language_id: "rust".into(),
                document: Rope::new(),
                replace: 0..0,
                insert_text: "x".into(),
                trigger: Trigger::Automatic,
                from_cache: false,
                created: Instant::now(),
                requested: Instant::now(),
                model_id: "m".into(),
                prompt_tokens: None,
                timings: StageTimings::default(),
            });
        }
        assert!(registry.get(&ids[0]).is_none());
        assert!(registry.get(&ids[2]).is_some());
    }
}
