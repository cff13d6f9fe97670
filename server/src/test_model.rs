//! A deterministic test double for `CompletionModel` (unit tests only; the product always runs the
//! real engine).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::model::{
    CancelFlag, Completion, CompletionModel, FinishReason, GenerateOutput, GenerateRequest,
    GenerateTimings, ModelCallError, ModelInfo,
};

/// Answers from a script: call `k` returns `replies[k % len]` for its first completion and the
/// following replies for the others. Emits one char per "token", checking `cancel` each time.
pub struct ScriptedModel {
    /// The texts to return, in order.
    pub replies: Vec<String>,
    /// Every request seen.
    pub requests: Arc<Mutex<Vec<GenerateRequest>>>,
    /// Sleep per generated char (to make cancellation observable).
    pub delay_per_char: Duration,
    /// Panic when the prefix contains this text.
    pub panic_on: Option<String>,
    calls: usize,
}

impl ScriptedModel {
    /// A model replying `replies` with no delay.
    pub fn new(replies: &[&str]) -> ScriptedModel {
        ScriptedModel {
            replies: replies.iter().map(|r| r.to_string()).collect(),
            requests: Arc::default(),
            delay_per_char: Duration::ZERO,
            panic_on: None,
            calls: 0,
        }
    }
}

impl CompletionModel for ScriptedModel {
    fn generate(
        &mut self,
        req: &GenerateRequest,
        cancel: &CancelFlag,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<GenerateOutput, ModelCallError> {
        if let Some(trigger) = &self.panic_on
            && req.prefix.contains(trigger.as_str())
        {
            panic!("scripted panic");
        }
        self.requests.lock().unwrap().push(req.clone());
        let mut completions = Vec::new();
        for index in 0..req.n {
            let reply = &self.replies[(self.calls + index) % self.replies.len()];
            let mut text = String::new();
            let mut finish = FinishReason::EndOfText;
            for ch in reply.chars() {
                if cancel.is_cancelled() {
                    finish = FinishReason::Cancelled;
                    break;
                }
                if req
                    .stop
                    .iter()
                    .any(|stop| (text.clone() + &ch.to_string()).ends_with(stop.as_str()))
                {
                    finish = FinishReason::Stop;
                    break;
                }
                std::thread::sleep(self.delay_per_char);
                text.push(ch);
                if index == 0 {
                    on_token(&ch.to_string());
                }
            }
            completions.push(Completion {
                tokens: text.chars().map(|c| c as u32).collect(),
                text,
                finish,
            });
        }
        self.calls += req.n;
        Ok(GenerateOutput {
            completions,
            timings: GenerateTimings {
                tokenize_ms: 0.1,
                prefill_ms: 1.0,
                decode_ms: 2.0,
            },
            prompt_tokens: self.count_tokens(&req.prefix),
            reused_prefix_tokens: 0,
            prefill_tokens: self.count_tokens(&req.prefix),
            decoded_tokens: req.n,
        })
    }

    fn info(&self) -> ModelInfo {
        ModelInfo {
            name: "scripted".to_string(),
            n_params: 0,
            device: "cpu".to_string(),
            context_length: 512,
            fim: true,
        }
    }

    fn count_tokens(&self, text: &str) -> usize {
        text.chars().count().div_ceil(3)
    }
}
