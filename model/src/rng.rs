//! A small seeded random number generator (SplitMix64) for weight init and sampling.
//!
//! Kept in-crate so results never depend on a backend's RNG or thread scheduling:
//! the same seed gives the same weights and the same samples on every device.

/// One SplitMix64 step (Steele, Lea, Flood 2014): advances `state` and returns 64 random bits.
/// Shared by every seeded generator in the workspace (the trainer's checkpointable one too).
pub fn splitmix64_next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64: fast, statistically fine for sampling, and trivially reproducible.
#[derive(Debug, Clone)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    /// A generator whose whole output is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRng {
            state: seed ^ 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// A generator derived from a seed and a label (e.g. a tensor name or a stream index),
    /// so independent streams do not depend on the order they are drawn in.
    pub fn derived(seed: u64, label: &str) -> Self {
        // FNV-1a over the label, mixed with the seed.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in label.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        SeededRng::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ hash)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        splitmix64_next(&mut self.state)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller).
    pub fn next_normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_labels_differ() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut rng = SeededRng::new(7);
                move |_| rng.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut rng = SeededRng::new(7);
                move |_| rng.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(
            SeededRng::derived(1, "x").next_u64(),
            SeededRng::derived(1, "y").next_u64()
        );
        let mean: f64 = {
            let mut rng = SeededRng::new(3);
            (0..20_000).map(|_| rng.next_normal()).sum::<f64>() / 20_000.0
        };
        assert!(mean.abs() < 0.05, "normal mean {mean}");
    }
}
