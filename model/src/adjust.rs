//! [`LogitsAdjuster`]: a hook that changes the next-token logits during decoding (the server's
//! local caches of the user's code interpolate their own distribution here).

/// What an adjuster sees of one alternative before its next token is picked.
#[derive(Debug, Clone, Copy)]
pub struct AdjustInput<'a> {
    /// The text before the first generated token: the text before the cursor, less the end
    /// that token healing took back (the generated text then starts with it again).
    pub prefix: &'a str,
    /// `prefix` encoded alone, so `prefix_ids` + `generated` is one tokenization.
    pub prefix_ids: &'a [u32],
    /// Tokens generated so far.
    pub generated: &'a [u32],
    /// Their text, so `prefix` + `generated_text` is the text so far.
    pub generated_text: &'a str,
}

/// Changes the next-token logits of one alternative before the token is picked.
pub trait LogitsAdjuster: Send + Sync {
    /// `logits` has one entry per vocabulary id.
    fn adjust(&self, input: &AdjustInput<'_>, logits: &mut [f32]);
}
