//! When the adaptation pulls a generation into something post-processing drops (typically the
//! document's own next lines, removed as a duplicate of the suffix), an invoked request would
//! answer nothing where the model alone had a suggestion. [`complete`] then asks once more with
//! the model alone (the rejection memory still applies: a suggestion rejected here stays out).

use std::sync::{Arc, Mutex};

use super::{Adaptation, AdaptedModel};
use crate::completion::{CompletionError, CompletionOutcome, Trigger};
use crate::model::{CancelFlag, CompletionModel};

/// Runs `complete` with `model` through `adaptation` (as is when `None`); an invoked request
/// whose adapted answer has no item and was not cancelled runs once more without the caches.
/// `recent` are the texts the cache searches as newest (see [`AdaptedModel::with_recent_texts`]).
pub fn complete(
    model: &mut dyn CompletionModel,
    adaptation: Option<Arc<Mutex<Adaptation>>>,
    recent: Vec<String>,
    trigger: Trigger,
    cancel: &CancelFlag,
    mut complete: impl FnMut(&mut dyn CompletionModel) -> Result<CompletionOutcome, CompletionError>,
) -> Result<CompletionOutcome, CompletionError> {
    let Some(adaptation) = adaptation else {
        return complete(model);
    };
    let adapted =
        complete(&mut AdaptedModel::new(model, adaptation.clone()).with_recent_texts(recent))?;
    if !adapted.items.is_empty()
        || adapted.cancelled
        || cancel.is_cancelled()
        || trigger != Trigger::Invoked
    {
        return Ok(adapted);
    }
    tracing::debug!(
        raw = ?adapted.raw_completions,
        "the adapted suggestion was dropped by post-processing; asking the model alone"
    );
    let mut alone = complete(&mut AdaptedModel::without_caches(model, adaptation))?;
    // The stages add up to the request's time: both passes count.
    alone.timings.add(&adapted.timings);
    Ok(alone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::completion::{CompletionConfig, complete_text};
    use crate::model::{GenerateOutput, GenerateRequest, LogitsAdjuster, ModelCallError};
    use crate::test_model::ScriptedModel;

    /// Answers `pulled` when the caches are mixed in, `alone` otherwise.
    struct Pulled {
        pulled: ScriptedModel,
        alone: ScriptedModel,
    }

    impl CompletionModel for Pulled {
        fn generate(
            &mut self,
            req: &GenerateRequest,
            cancel: &CancelFlag,
            on_token: &mut dyn FnMut(&str),
        ) -> Result<GenerateOutput, ModelCallError> {
            self.alone.generate(req, cancel, on_token)
        }

        fn generate_adjusted(
            &mut self,
            req: &GenerateRequest,
            adjuster: Option<&dyn LogitsAdjuster>,
            cancel: &CancelFlag,
            on_token: &mut dyn FnMut(&str),
        ) -> Result<GenerateOutput, ModelCallError> {
            match adjuster {
                Some(_) => self.pulled.generate(req, cancel, on_token),
                None => self.alone.generate(req, cancel, on_token),
            }
        }

        fn info(&self) -> crate::model::ModelInfo {
            self.alone.info()
        }

        fn count_tokens(&self, text: &str) -> usize {
            self.alone.count_tokens(text)
        }
    }

    /// Longer than the rejection memory's place (the last 80 chars), as the prompt may start
    /// with more than the document.
    const BEFORE: &str = "# geometry helpers used by the drawing code; small and simple on purpose\n\ndef area(r):\n    ";
    const SUFFIX: &str = "\n    return 3.14 * r * r\n";

    fn ask(adaptation: &Arc<Mutex<Adaptation>>, trigger: Trigger) -> Vec<String> {
        // The caches pull the generation into the suffix (dropped as a duplicate of it).
        let mut model = Pulled {
            pulled: ScriptedModel::new(&["\n    return 3.14 * r * r"]),
            alone: ScriptedModel::new(&["r2 = r * r"]),
        };
        let text = format!("{BEFORE}{SUFFIX}");
        let cursor = BEFORE.chars().count();
        let config = CompletionConfig::default();
        let cancel = CancelFlag::new();
        let outcome = complete(
            &mut model,
            Some(adaptation.clone()),
            Vec::new(),
            trigger,
            &cancel,
            |m| complete_text(m, &text, cursor, "python", trigger, &config, &cancel),
        )
        .unwrap();
        outcome.items.into_iter().map(|i| i.insert_text).collect()
    }

    #[test]
    fn an_invoked_request_falls_back_to_the_model_alone_when_the_adapted_answer_is_dropped() {
        let adaptation = Arc::new(Mutex::new(Adaptation::new()));
        assert_eq!(ask(&adaptation, Trigger::Invoked), ["r2 = r * r"]);
        // Automatic requests do not pay for a second generation.
        assert!(ask(&adaptation, Trigger::Automatic).is_empty());
        // The fallback keeps the rejection memory: rejected here, still not offered.
        let inbox = adaptation.lock().unwrap().inbox();
        inbox.push(super::super::Learnt::Rejected {
            before: BEFORE.to_string(),
            text: "r2 = r * r".to_string(),
        });
        assert!(ask(&adaptation, Trigger::Invoked).is_empty());
    }
}
