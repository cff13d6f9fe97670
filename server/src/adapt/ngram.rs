//! A local token n-gram cache (the "localness of software"): counts of which token followed each
//! short token context in the text the user wrote and accepted, interpolated with the neural
//! model's next-token distribution during decoding.
//!
//! Interpolation: `p = (1 - λ) · p_model + λ · p_cache`, where `p_cache` comes from the longest
//! context (2..=[`MAX_CONTEXT`] tokens) seen before, and `λ = LAMBDA_MAX · sqrt(k / MAX_CONTEXT) ·
//! n / (n + 1)` grows with the matched context length `k` and how often it was seen (`n`).
//! Where no context of at least 2 tokens matches, the model's logits are left untouched.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use ghostline_model::{AdjustInput, LogitsAdjuster};

/// Longest context, in tokens.
pub const MAX_CONTEXT: usize = 6;
/// Shortest context that is trusted.
pub const MIN_CONTEXT: usize = 2;
/// Largest weight the cache gets.
pub const LAMBDA_MAX: f32 = 0.9;

#[derive(Clone, Debug, Default)]
struct Followers {
    total: u32,
    next: HashMap<u32, u32>,
}

/// Token n-gram counts, updated incrementally with [`NgramCache::add`].
#[derive(Clone, Debug, Default)]
pub struct NgramCache {
    contexts: HashMap<u64, Followers>,
    tokens_seen: usize,
}

fn key(context: &[u32]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    context.hash(&mut hasher);
    hasher.finish()
}

/// What the cache predicts after a history.
#[derive(Clone, Debug, PartialEq)]
pub struct CachePrediction {
    /// Tokens of context matched.
    pub context_len: usize,
    /// Times that context was seen.
    pub total: u32,
    /// `(token, count)` pairs, most frequent first (ties by token id).
    pub next: Vec<(u32, u32)>,
}

impl NgramCache {
    /// An empty cache.
    pub fn new() -> NgramCache {
        NgramCache::default()
    }

    /// Counts every n-gram of `tokens` (one contiguous piece of text).
    pub fn add(&mut self, tokens: &[u32]) {
        for end in 1..tokens.len() {
            for len in MIN_CONTEXT..=MAX_CONTEXT.min(end) {
                let followers = self
                    .contexts
                    .entry(key(&tokens[end - len..end]))
                    .or_default();
                followers.total += 1;
                *followers.next.entry(tokens[end]).or_default() += 1;
            }
        }
        self.tokens_seen += tokens.len();
    }

    /// Tokens added so far.
    pub fn tokens_seen(&self) -> usize {
        self.tokens_seen
    }

    /// The prediction of the longest context of `history` seen before.
    pub fn predict(&self, history: &[u32]) -> Option<CachePrediction> {
        (MIN_CONTEXT..=MAX_CONTEXT.min(history.len()))
            .rev()
            .find_map(|len| {
                let followers = self.contexts.get(&key(&history[history.len() - len..]))?;
                let mut next: Vec<(u32, u32)> =
                    followers.next.iter().map(|(&t, &c)| (t, c)).collect();
                next.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                Some(CachePrediction {
                    context_len: len,
                    total: followers.total,
                    next,
                })
            })
    }

    /// The interpolation weight for a prediction.
    pub fn lambda(prediction: &CachePrediction) -> f32 {
        let n = prediction.total as f32;
        LAMBDA_MAX * (prediction.context_len as f32 / MAX_CONTEXT as f32).sqrt() * n / (n + 1.0)
    }
}

/// Replaces `logits` by `ln((1 - λ) · softmax(logits) + λ · p_cache)` with the prediction's λ.
pub fn interpolate(logits: &mut [f32], prediction: &CachePrediction) {
    mix(
        logits,
        NgramCache::lambda(prediction),
        &prediction.next,
        prediction.total,
    );
}

/// Replaces `logits` by `ln((1 - lambda) · softmax(logits) + lambda · count / total)`, where
/// `next` holds `(token, count)` pairs summing to `total`.
pub fn mix(logits: &mut [f32], lambda: f32, next: &[(u32, u32)], total: u32) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return;
    }
    let sum: f32 = logits.iter().map(|&l| (l - max).exp()).sum();
    let mut probs: Vec<f32> = logits
        .iter()
        .map(|&l| (1.0 - lambda) * (l - max).exp() / sum)
        .collect();
    for &(token, count) in next {
        if let Some(p) = probs.get_mut(token as usize) {
            *p += lambda * count as f32 / total as f32;
        }
    }
    for (logit, p) in logits.iter_mut().zip(probs) {
        *logit = if p > 0.0 { p.ln() } else { f32::NEG_INFINITY };
    }
}

impl NgramCache {
    /// Interpolates the prediction after `history` into `logits`; false when there is none.
    pub fn adjust_history(&self, history: &[u32], logits: &mut [f32]) -> bool {
        match self.predict(history) {
            Some(prediction) => {
                interpolate(logits, &prediction);
                true
            }
            None => false,
        }
    }
}

impl LogitsAdjuster for NgramCache {
    fn adjust(&self, input: &AdjustInput<'_>, logits: &mut [f32]) {
        let history = [input.prefix_ids, input.generated].concat();
        self.adjust_history(&history, logits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn softmax(logits: &[f32]) -> Vec<f32> {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = logits.iter().map(|&l| (l - max).exp()).sum();
        logits.iter().map(|&l| (l - max).exp() / sum).collect()
    }

    #[test]
    fn counts_grow_incrementally_and_the_longest_context_wins() {
        let mut cache = NgramCache::new();
        cache.add(&[1, 2, 3, 4]);
        let p = cache.predict(&[9, 1, 2, 3]).unwrap();
        assert_eq!(
            (p.context_len, p.total, p.next.clone()),
            (3, 1, vec![(4, 1)])
        );
        cache.add(&[7, 2, 3, 5]);
        cache.add(&[7, 2, 3, 5]);
        // Context [2, 3] was followed by 4 once and 5 twice; [1, 2, 3] still only by 4.
        assert_eq!(
            cache.predict(&[8, 2, 3]).unwrap().next,
            vec![(5, 2), (4, 1)]
        );
        assert_eq!(cache.predict(&[1, 2, 3]).unwrap().next, vec![(4, 1)]);
        // One token of context is not trusted; unknown contexts predict nothing.
        assert_eq!(cache.predict(&[3]), None);
        assert_eq!(cache.predict(&[42, 43]), None);
        assert_eq!(cache.tokens_seen(), 12);
    }

    #[test]
    fn interpolation_is_a_distribution_mixing_model_and_cache() {
        let prediction = CachePrediction {
            context_len: MAX_CONTEXT,
            total: 3,
            next: vec![(2, 2), (3, 1)],
        };
        let lambda = NgramCache::lambda(&prediction);
        assert!((lambda - LAMBDA_MAX * 0.75).abs() < 1e-6);
        let mut logits = vec![2.0, 1.0, 0.0, -1.0];
        let model = softmax(&logits);
        interpolate(&mut logits, &prediction);
        let mixed: Vec<f32> = logits.iter().map(|l| l.exp()).collect();
        assert!((mixed.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{mixed:?}");
        let cache = [0.0, 0.0, 2.0 / 3.0, 1.0 / 3.0];
        for i in 0..4 {
            let want = (1.0 - lambda) * model[i] + lambda * cache[i];
            assert!(
                (mixed[i] - want).abs() < 1e-5,
                "token {i}: {} vs {want}",
                mixed[i]
            );
        }
        // The cache's favourite now beats the model's.
        let best = (0..4)
            .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
            .unwrap();
        assert_eq!(best, 2);
    }

    #[test]
    fn the_adjuster_leaves_unknown_contexts_alone() {
        let mut cache = NgramCache::new();
        cache.add(&[1, 2, 3]);
        let mut logits = vec![1.0, 0.25, 0.0, 0.5];
        assert!(!cache.adjust_history(&[5, 6], &mut logits));
        assert_eq!(logits, vec![1.0, 0.25, 0.0, 0.5]);
        assert!(cache.adjust_history(&[1, 2], &mut logits));
        let best = (0..4)
            .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
            .unwrap();
        assert_eq!(best, 3);
    }
}
