//! How the simulated user answers a suggestion: accept when its first line is exactly the rest of
//! the real line, partially accept the longest common prefix (cut back to a word boundary, as
//! editors accept word by word), reject otherwise.

/// The simulated user's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The first line matches the real code exactly.
    Accepted {
        /// Chars accepted (the first line).
        chars: usize,
    },
    /// A prefix of the first line matches.
    Partial {
        /// Chars accepted.
        chars: usize,
    },
    /// Nothing usable.
    Rejected,
}

impl Decision {
    /// Chars of the suggestion the user keeps.
    pub fn accepted_chars(self) -> usize {
        match self {
            Decision::Accepted { chars } | Decision::Partial { chars } => chars,
            Decision::Rejected => 0,
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Scores `suggestion` (the text inserted at the cursor) against `target` (the real text from the
/// cursor to the end of the file).
pub fn decide(suggestion: &str, target: &str) -> Decision {
    let first = suggestion.split('\n').next().unwrap_or("").trim_end();
    let real = target.split('\n').next().unwrap_or("").trim_end();
    if first.is_empty() {
        return Decision::Rejected;
    }
    if first == real {
        return Decision::Accepted {
            chars: first.chars().count(),
        };
    }
    let a: Vec<char> = first.chars().collect();
    let b: Vec<char> = real.chars().collect();
    let mut lcp = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    // Do not stop inside a word of the real code.
    while lcp > 0 && lcp < b.len() && is_word(b[lcp - 1]) && is_word(b[lcp]) {
        lcp -= 1;
    }
    if lcp == 0 {
        Decision::Rejected
    } else {
        Decision::Partial { chars: lcp }
    }
}

/// Whether the whole suggestion (all its lines) equals the real code (trailing blanks ignored).
pub fn exact_match(suggestion: &str, target: &str) -> bool {
    let lines: Vec<&str> = suggestion.trim_end_matches('\n').split('\n').collect();
    let real: Vec<&str> = target.split('\n').take(lines.len()).collect();
    !suggestion.trim().is_empty()
        && lines.len() == real.len()
        && lines
            .iter()
            .zip(&real)
            .all(|(a, b)| a.trim_end() == b.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_follow_the_first_line() {
        let target = "x * 2\n    }\n";
        assert_eq!(decide("x * 2", target), Decision::Accepted { chars: 5 });
        assert_eq!(
            decide("x * 2  \n    }", target),
            Decision::Accepted { chars: 5 }
        );
        assert_eq!(decide("x * 3", target), Decision::Partial { chars: 4 });
        assert_eq!(decide("y * 2", target), Decision::Rejected);
        assert_eq!(decide("", target), Decision::Rejected);
        assert_eq!(decide("\nx * 2", target), Decision::Rejected);
        // A partial accept ends at a word boundary of the real code.
        assert_eq!(
            decide("self.count()", "self.counter += 1\n"),
            Decision::Partial { chars: 5 }
        );
        assert_eq!(decide("countdown", "counter\n"), Decision::Rejected);
        assert_eq!(Decision::Partial { chars: 5 }.accepted_chars(), 5);
        assert_eq!(Decision::Rejected.accepted_chars(), 0);
    }

    #[test]
    fn exact_match_needs_every_line() {
        let target = "a + b\n}\n\nfn next() {}\n";
        assert!(exact_match("a + b", target));
        assert!(exact_match("a + b\n}", target));
        assert!(exact_match("a + b\n}\n", target));
        assert!(!exact_match("a + b\n}\nfn", target));
        assert!(!exact_match("a + c", target));
        assert!(!exact_match("", target));
    }
}
