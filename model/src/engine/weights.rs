//! Switching what the engine multiplies by: 8-bit decode blocks, llama.cpp's roundings, FIM
//! order, and whole replacement weights (a tuned overlay merged onto the base).

use std::path::PathBuf;

use super::{Engine, guard};
use crate::error::ModelError;
use crate::llama::Llama;
use crate::tokenizer::FimMode;

impl Engine {
    /// Reproduces llama.cpp's activation roundings (diagnostic; see `Llama::set_llama_cpp_rounding`).
    /// Clears the cache, whose keys/values were computed the other way.
    pub fn set_llama_cpp_rounding(&mut self, on: bool) {
        self.model.set_llama_cpp_rounding(on);
        self.cache.reset();
        self.batch_cache = None;
    }

    /// Makes decode multiply by the f32 weights even where quantized blocks are kept (GGUF
    /// models; see `crate::quant`): for before/after measurements and comparisons.
    pub fn drop_quantized_decode(&mut self) {
        self.model.drop_quantized_decode();
    }

    /// Chooses PSM (default) or SPM FIM prompts.
    pub fn set_fim_mode(&mut self, mode: FimMode) {
        self.fim_mode = mode;
    }

    /// Decodes on the CPU from 8-bit blocks made from the float weights (`on`), or from the
    /// float weights (`!on`); see [`crate::quant::from_f32`]. Models loaded from quantized GGUF
    /// files always keep their own blocks; on a GPU nothing changes. Returns whether decode now
    /// runs from blocks.
    pub fn set_q8_decode(&mut self, on: bool) -> bool {
        if self.gguf_blocks {
            return self.model.has_quantized_decode();
        }
        if on {
            // Only the CPU backend multiplies from blocks; elsewhere they would be dead weight.
            crate::cache::native_gqa(&self.device) && self.model.attach_q8_decode()
        } else {
            self.model.drop_quantized_decode();
            false
        }
    }

    /// Swaps in other weights of the same configuration (a tuned overlay merged onto the base,
    /// see `ghostline-train`'s `tune`): the inference caches are rebuilt, cached keys/values
    /// dropped, and 8-bit decode blocks made again from the new weights when decode used them.
    /// Models that came with their own quantized blocks (GGUF) cannot take float weights.
    pub fn replace_weights(&mut self, mut model: Llama) -> Result<(), ModelError> {
        if self.gguf_blocks {
            return Err(ModelError::Config {
                path: PathBuf::from(&self.info.name),
                message: "a GGUF model keeps its quantized blocks; its weights cannot be replaced"
                    .into(),
            });
        }
        if model.vocab_size() != self.model.vocab_size()
            || model.layers.len() != self.model.layers.len()
        {
            return Err(ModelError::Config {
                path: PathBuf::from(&self.info.name),
                message: "the replacement weights have another shape than the loaded model".into(),
            });
        }
        let q8 = self.model.has_quantized_decode();
        guard(|| {
            model.prepare_for_inference();
            Ok(())
        })?;
        self.model = model;
        if q8 {
            self.set_q8_decode(true);
        }
        self.cache.reset();
        self.batch_cache = None;
        Ok(())
    }

    /// Whether CPU decode steps run from 8-bit blocks.
    pub fn has_quantized_decode(&self) -> bool {
        self.model.has_quantized_decode()
    }
}
