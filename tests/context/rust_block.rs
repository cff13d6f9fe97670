use std::collections::HashMap;
use std::fmt;

/// A word counter.
pub struct Counter {
    counts: HashMap<String, usize>,
}

impl Counter {
    /// Counts the words of `text`.
    pub fn add(&mut self, text: &str) {
        for word in text.split_whitespace() {$0
    }
}
