//! Trigger decision: whether to suggest at all, and whether one line or a block.
//!
//! Simple text rules for now; the context engine replaces them with syntax-aware ones.

use ropey::Rope;

use crate::text::line_parts;

/// How the request was triggered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Trigger {
    /// The user asked (a key press): more alternatives, never skipped for taste.
    Invoked,
    /// Typing: one alternative, skipped where a suggestion would be noise.
    Automatic,
}

/// The shape of suggestion wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    /// The rest of the current line.
    SingleLine,
    /// Possibly several lines (a block body, a new statement on a blank line).
    MultiLine,
}

/// The decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerDecision {
    /// Do not call the model.
    Skip {
        /// Why, for the log.
        reason: &'static str,
    },
    /// Call the model for this shape.
    Suggest(Shape),
}

/// More than this many non-blank chars right of the cursor stops automatic suggestions
/// (llama.vim's rule: the user is editing inside existing text).
const MAX_CHARS_RIGHT_OF_CURSOR: usize = 8;

/// Decides for `cursor` (a char offset) in `rope`.
pub fn decide(rope: &Rope, cursor: usize, trigger: Trigger) -> TriggerDecision {
    let (before, after) = line_parts(rope, cursor);
    let after_trimmed = after.trim();
    if trigger == Trigger::Automatic {
        if after
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            return TriggerDecision::Skip {
                reason: "the cursor is inside a word",
            };
        }
        if after_trimmed.chars().count() > MAX_CHARS_RIGHT_OF_CURSOR {
            return TriggerDecision::Skip {
                reason: "too much text right of the cursor",
            };
        }
    }
    let only_closers_after = after_trimmed
        .chars()
        .all(|c| matches!(c, ')' | ']' | '}' | ';' | ','));
    let before_trimmed = before.trim_end();
    let opens_block =
        before_trimmed.ends_with(['{', '(', '[', ':']) || before_trimmed.ends_with("=>");
    if only_closers_after && (before.trim().is_empty() || opens_block) {
        TriggerDecision::Suggest(Shape::MultiLine)
    } else {
        TriggerDecision::Suggest(Shape::SingleLine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide_at(fixture: &str, trigger: Trigger) -> TriggerDecision {
        let cursor_byte = fixture.find("$0").unwrap();
        let rope = Rope::from_str(&fixture.replacen("$0", "", 1));
        decide(&rope, rope.byte_to_char(cursor_byte), trigger)
    }

    #[test]
    fn decisions() {
        use Shape::*;
        use Trigger::*;
        let table: &[(&str, Trigger, TriggerDecision)] = &[
            (
                "fn f() {$0\n}",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                "fn f() {\n    $0\n}",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                "let x = foo($0)",
                Automatic,
                TriggerDecision::Suggest(MultiLine),
            ),
            (
                "let x = fo$0",
                Automatic,
                TriggerDecision::Suggest(SingleLine),
            ),
            (
                "let x = fo$0o",
                Automatic,
                TriggerDecision::Skip {
                    reason: "the cursor is inside a word",
                },
            ),
            (
                "let x = fo$0o",
                Invoked,
                TriggerDecision::Suggest(SingleLine),
            ),
            (
                "x = $0 + long_name_here",
                Automatic,
                TriggerDecision::Skip {
                    reason: "too much text right of the cursor",
                },
            ),
            (
                "print(\"a\"$0)",
                Automatic,
                TriggerDecision::Suggest(SingleLine),
            ),
        ];
        for &(fixture, trigger, expected) in table {
            assert_eq!(
                decide_at(fixture, trigger),
                expected,
                "{fixture:?} {trigger:?}"
            );
        }
    }
}
