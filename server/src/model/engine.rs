//! `CompletionModel` for the real `ghostline_model::Engine` (the only model the product uses).

use super::{CompletionModel, ModelLoadError, ModelSpec};

/// Loads the real engine described by `spec`.
pub fn load(spec: &ModelSpec) -> Result<Box<dyn CompletionModel>, ModelLoadError> {
    Err(ModelLoadError::Load {
        source_name: spec.describe(),
        message: "the ghostline-model engine is not available in this build yet".to_string(),
    })
}
