//! Token choice from logits: greedy, or seeded temperature + nucleus (top-p) sampling.

use crate::rng::SeededRng;

/// How to pick each next token.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Sampling {
    /// Always the most likely token (ties → lowest id). Deterministic.
    #[default]
    Greedy,
    /// Sample from the smallest set of most likely tokens whose probability reaches `top_p`,
    /// after dividing logits by `temperature`. Same seed + same logits → same tokens.
    TopP {
        /// Softmax temperature; `<= 0` means greedy.
        temperature: f32,
        /// Nucleus mass in `(0, 1]`.
        top_p: f32,
        /// Random seed; alternative `i` of a request uses a stream derived from it.
        seed: u64,
    },
}

impl Sampling {
    /// Whether every alternative would be identical (greedy, or zero temperature).
    pub fn is_deterministic(&self) -> bool {
        match self {
            Sampling::Greedy => true,
            Sampling::TopP { temperature, .. } => *temperature <= 0.0,
        }
    }
}

/// Index of the largest logit (lowest index among ties; NaN never wins).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0usize;
    let mut best_value = f32::NEG_INFINITY;
    for (index, &value) in logits.iter().enumerate() {
        if value > best_value {
            best = index;
            best_value = value;
        }
    }
    best as u32
}

/// Picks the next token from one position's logits.
pub fn pick(logits: &[f32], sampling: &Sampling, rng: &mut SeededRng) -> u32 {
    let Sampling::TopP {
        temperature, top_p, ..
    } = *sampling
    else {
        return argmax(logits);
    };
    if temperature <= 0.0 || logits.is_empty() {
        return argmax(logits);
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut candidates: Vec<(u32, f64)> = logits
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| (i as u32, f64::from((v - max) / temperature).exp()))
        .collect();
    let total: f64 = candidates.iter().map(|(_, p)| p).sum();
    if candidates.is_empty() || total <= 0.0 {
        return argmax(logits);
    }
    // Most likely first; ties by id so the order never depends on the sort algorithm.
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let nucleus_mass = f64::from(top_p.clamp(f32::EPSILON, 1.0)) * total;
    let mut kept = 0;
    let mut cumulative = 0.0;
    for (_, p) in &candidates {
        cumulative += p;
        kept += 1;
        if cumulative >= nucleus_mass {
            break;
        }
    }
    let candidates = &candidates[..kept];
    let mut target = rng.next_f64() * cumulative;
    for (id, p) in candidates {
        if target < *p {
            return *id;
        }
        target -= p;
    }
    candidates[candidates.len() - 1].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_first_maximum() {
        assert_eq!(argmax(&[0.1, 3.0, 3.0, -1.0]), 1);
        assert_eq!(
            pick(&[0.0, 1.0], &Sampling::Greedy, &mut SeededRng::new(0)),
            1
        );
    }

    #[test]
    fn top_p_keeps_only_the_nucleus_and_is_reproducible() {
        // Token 2 holds ~0.84 of the mass: with top_p 0.5 only it survives.
        let logits = [0.0f32, 1.0, 3.0, -5.0];
        let sampling = Sampling::TopP {
            temperature: 1.0,
            top_p: 0.5,
            seed: 9,
        };
        let mut rng = SeededRng::new(9);
        assert!((0..50).all(|_| pick(&logits, &sampling, &mut rng) == 2));
        // With the full distribution, draws vary but repeat exactly for the same seed.
        let sampling = Sampling::TopP {
            temperature: 2.0,
            top_p: 1.0,
            seed: 4,
        };
        let draw = |seed| {
            let mut rng = SeededRng::new(seed);
            (0..64)
                .map(|_| pick(&logits, &sampling, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(4), draw(4));
        assert_ne!(draw(4), draw(5));
        assert!(
            draw(4)
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len()
                > 1
        );
    }
}
