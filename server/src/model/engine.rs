//! `CompletionModel` for the real `ghostline_model::Engine` (the only model the product uses).

use ghostline_model::Engine;

use super::{
    DecodeWeights, CancelFlag, LogitsAdjuster, CompletionModel, GenerateOutput, GenerateRequest, LoadOptions, ModelCallError,
    ModelInfo, ModelLoadError, ModelSpec,
};

/// Loads the real engine described by `spec`: the embedded default unless a path is given.
pub fn load(spec: &ModelSpec) -> Result<Box<dyn CompletionModel>, ModelLoadError> {
    load_engine(spec).map(|engine| Box::new(engine) as Box<dyn CompletionModel>)
}

/// [`load`], as the concrete engine (for `ghostline tune` and tuned replays).
pub fn load_engine(spec: &ModelSpec) -> Result<Engine, ModelLoadError> {
    let options = LoadOptions {
        device: spec.device,
    };
    let engine = match &spec.path {
        None => Engine::load_embedded(&options),
        Some(path) => Engine::load(path, &options),
    };
    engine
        .map(|mut engine| {
            // Before the 8-bit blocks are made, so they are made once, from the tuned weights.
            if let Some(overlay) = &spec.tuned_overlay {
                crate::adapt::tuned::load_if_present(&mut engine, overlay);
            }
            engine.set_q8_decode(spec.decode_weights == DecodeWeights::Q8);
            engine
        })
        .map_err(|error| ModelLoadError::Load {
            source_name: spec.describe(),
            message: error.to_string(),
        })
}

impl CompletionModel for Engine {
    fn generate(
        &mut self,
        req: &GenerateRequest,
        cancel: &CancelFlag,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<GenerateOutput, ModelCallError> {
        Engine::generate(self, req, cancel, on_token).map_err(|error| ModelCallError::Generation {
            message: error.to_string(),
        })
    }

    fn generate_adjusted(
        &mut self,
        req: &GenerateRequest,
        adjuster: Option<&dyn LogitsAdjuster>,
        cancel: &CancelFlag,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<GenerateOutput, ModelCallError> {
        Engine::generate_adjusted(self, req, adjuster, cancel, on_token).map_err(|error| {
            ModelCallError::Generation {
                message: error.to_string(),
            }
        })
    }

    fn forget_reusable_state(&mut self) {
        self.reset_cache();
    }

    fn tokenize(&self, text: &str) -> Option<Vec<u32>> {
        Some(self.tokenizer().encode(text))
    }

    fn token_texts(&self) -> Option<Vec<String>> {
        let tokenizer = self.tokenizer();
        Some((0..tokenizer.vocab_size() as u32).map(|id| tokenizer.decode(&[id])).collect())
    }

    fn info(&self) -> ModelInfo {
        Engine::info(self).clone()
    }

    fn count_tokens(&self, text: &str) -> usize {
        Engine::count_tokens(self, text)
    }
}
