//! Fill-in-the-middle prompt templates per model family.
//!
//! A remote server sees one prompt string (except llama.cpp's `/infill`, which takes prefix and
//! suffix separately). Each family marks the hole with its own special tokens; the template is
//! chosen by name (`qwen2.5-coder`, `starcoder2`, `codellama`, `deepseek-coder`, `codestral`,
//! `prefix`), given explicitly as a string with `{prefix}` and `{suffix}`, or guessed from the
//! remote model's name.
//!
//! The document's own text never gets to spell a template marker: occurrences of the template's
//! markers in the prefix or suffix are removed before rendering (a file that mentions
//! `<fim_suffix>` must not move the hole).

/// A FIM template: literal text with `{prefix}` and `{suffix}` placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FimTemplate {
    /// The family name, or `custom`.
    pub name: String,
    /// The template text.
    pub template: String,
    /// Strings that end a completion for this family (end-of-text and file separators the
    /// server may print when it does not hide special tokens).
    pub stops: Vec<String>,
}

/// Template errors.
#[derive(Debug, thiserror::Error)]
pub enum FimError {
    /// Neither a family we know nor a template with placeholders.
    #[error(
        "fimTemplate {given:?} is neither a known family ({known}) nor a template containing {{prefix}}"
    )]
    Unknown {
        /// What was given.
        given: String,
        /// The family names.
        known: String,
    },
}

struct Family {
    names: &'static [&'static str],
    template: &'static str,
    stops: &'static [&'static str],
}

const FAMILIES: &[Family] = &[
    Family {
        names: &["qwen2.5-coder", "qwen-coder", "qwen"],
        template: "<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>",
        stops: &["<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|im_end|>"],
    },
    Family {
        names: &["starcoder2", "starcoder"],
        template: "<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>",
        stops: &["<|endoftext|>", "<file_sep>"],
    },
    Family {
        names: &["codellama", "code-llama"],
        template: "<PRE> {prefix} <SUF>{suffix} <MID>",
        stops: &["<EOT>", "</s>"],
    },
    Family {
        names: &["deepseek-coder", "deepseek"],
        template: "<｜fim▁begin｜>{prefix}<｜fim▁hole｜>{suffix}<｜fim▁end｜>",
        stops: &["<｜end▁of▁sentence｜>", "<|EOT|>"],
    },
    Family {
        names: &["codestral", "mistral"],
        template: "[SUFFIX]{suffix}[PREFIX]{prefix}",
        stops: &["</s>"],
    },
    Family {
        names: &["prefix", "none"],
        template: "{prefix}",
        stops: &[],
    },
];

impl FimTemplate {
    /// The template for a family name (first name of each family is the canonical one).
    pub fn family(name: &str) -> Option<FimTemplate> {
        let wanted = name.trim().to_ascii_lowercase();
        FAMILIES
            .iter()
            .find(|family| family.names.contains(&wanted.as_str()))
            .map(|family| FimTemplate {
                name: family.names[0].to_string(),
                template: family.template.to_string(),
                stops: family.stops.iter().map(|s| s.to_string()).collect(),
            })
    }

    /// Resolves the `fimTemplate` setting: a family name, an explicit template, or (when unset)
    /// a guess from the model name, else the prefix alone.
    pub fn resolve(setting: Option<&str>, model: Option<&str>) -> Result<FimTemplate, FimError> {
        match setting.map(str::trim).filter(|s| !s.is_empty()) {
            Some(given) if given.contains("{prefix}") => Ok(FimTemplate {
                name: "custom".to_string(),
                template: given.to_string(),
                stops: Vec::new(),
            }),
            Some(given) => FimTemplate::family(given).ok_or_else(|| FimError::Unknown {
                given: given.to_string(),
                known: FAMILIES
                    .iter()
                    .map(|family| family.names[0])
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
            None => Ok(FimTemplate::family(guess_family(model.unwrap_or_default()))
                .expect("guess_family names a family")),
        }
    }

    /// Whether the template shows the model the suffix at all.
    pub fn uses_suffix(&self) -> bool {
        self.template.contains("{suffix}")
    }

    /// The prompt for `prefix` and `suffix`. Placeholders are substituted in one pass, so a
    /// `{suffix}` typed in the document stays text.
    pub fn render(&self, prefix: &str, suffix: &str) -> String {
        let prefix = self.scrub(prefix);
        let suffix = self.scrub(suffix);
        let mut out = String::with_capacity(self.template.len() + prefix.len() + suffix.len());
        let mut rest = self.template.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let tail = &rest[open..];
            if let Some(after) = tail.strip_prefix("{prefix}") {
                out.push_str(&prefix);
                rest = after;
            } else if let Some(after) = tail.strip_prefix("{suffix}") {
                out.push_str(&suffix);
                rest = after;
            } else {
                out.push('{');
                rest = &tail[1..];
            }
        }
        out.push_str(rest);
        out
    }

    /// The template's literal markers (the text between placeholders, trimmed).
    fn markers(&self) -> Vec<&str> {
        self.template
            .split("{prefix}")
            .flat_map(|piece| piece.split("{suffix}"))
            .map(str::trim)
            .filter(|marker| !marker.is_empty())
            .collect()
    }

    /// Removes the template's markers from document text.
    fn scrub(&self, text: &str) -> String {
        let markers = self.markers();
        let mut text = text.to_string();
        // Until nothing changes: removing one marker can join the pieces of another.
        while let Some(marker) = markers.iter().find(|marker| text.contains(**marker)) {
            text = text.replace(marker, "");
        }
        text
    }
}

/// The family a model name suggests (`prefix` when nothing matches).
pub fn guess_family(model: &str) -> &'static str {
    let model = model.to_ascii_lowercase();
    let coder = model.contains("coder") || model.contains("code");
    if model.contains("qwen") && coder {
        "qwen2.5-coder"
    } else if model.contains("starcoder") {
        "starcoder2"
    } else if model.contains("codellama") || model.contains("code-llama") {
        "codellama"
    } else if model.contains("deepseek") && coder {
        "deepseek-coder"
    } else if model.contains("codestral") {
        "codestral"
    } else {
        "prefix"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(template: &str, prefix: &str, suffix: &str, expected: Expect) {
        let template = FimTemplate::resolve(Some(template), None).unwrap();
        expected.assert_eq(&template.render(prefix, suffix));
    }

    #[test]
    fn each_family_renders_its_tokens() {
        let (p, s) = ("def f(x):\n    return ", "\n\nprint(f(2))\n");
        check(
            "qwen2.5-coder",
            p,
            s,
            expect![[r#"
                <|fim_prefix|>def f(x):
                    return <|fim_suffix|>

                print(f(2))
                <|fim_middle|>"#]],
        );
        check(
            "starcoder2",
            p,
            s,
            expect![[r#"
                <fim_prefix>def f(x):
                    return <fim_suffix>

                print(f(2))
                <fim_middle>"#]],
        );
        check(
            "codellama",
            p,
            s,
            expect![[r#"
                <PRE> def f(x):
                    return  <SUF>

                print(f(2))
                 <MID>"#]],
        );
        check(
            "deepseek-coder",
            p,
            s,
            expect![[r#"
                <｜fim▁begin｜>def f(x):
                    return <｜fim▁hole｜>

                print(f(2))
                <｜fim▁end｜>"#]],
        );
        check(
            "codestral",
            p,
            s,
            expect![[r#"
                [SUFFIX]

                print(f(2))
                [PREFIX]def f(x):
                    return "#]],
        );
        check("prefix", p, s, expect!["def f(x):\n    return "]);
    }

    #[test]
    fn explicit_templates_and_document_text_that_looks_like_a_template() {
        check(
            "<A>{prefix}<B>{suffix}<C>",
            "x = \"{suffix}\" <B> ",
            " # {prefix}",
            expect![[r#"<A>x = "{suffix}"  <B> # {prefix}<C>"#]],
        );
        check(
            "starcoder2",
            "s = '<fim_suffix>'",
            "<fim_middle>",
            expect!["<fim_prefix>s = ''<fim_suffix><fim_middle>"],
        );
        // A marker split by the removal of another one is removed too.
        check(
            "starcoder2",
            "<fim_<fim_middle>prefix>",
            "",
            expect!["<fim_prefix><fim_suffix><fim_middle>"],
        );
    }

    #[test]
    fn names_guesses_and_errors() {
        let pick = |setting: Option<&str>, model: Option<&str>| {
            FimTemplate::resolve(setting, model).map(|t| t.name)
        };
        assert_eq!(
            pick(None, Some("Qwen/Qwen2.5-Coder-1.5B")).unwrap(),
            "qwen2.5-coder"
        );
        assert_eq!(
            pick(None, Some("bigcode/starcoder2-3b")).unwrap(),
            "starcoder2"
        );
        assert_eq!(pick(None, Some("codellama:7b-code")).unwrap(), "codellama");
        assert_eq!(
            pick(None, Some("deepseek-coder:1.3b-base")).unwrap(),
            "deepseek-coder"
        );
        assert_eq!(pick(None, Some("codestral-latest")).unwrap(), "codestral");
        assert_eq!(pick(None, Some("SmolLM2-135M")).unwrap(), "prefix");
        assert_eq!(pick(None, None).unwrap(), "prefix");
        assert_eq!(
            pick(Some("StarCoder"), Some("qwen-coder")).unwrap(),
            "starcoder2"
        );
        assert_eq!(pick(Some("{prefix}"), None).unwrap(), "custom");
        let error = pick(Some("gpt4"), None).unwrap_err().to_string();
        assert!(
            error.contains("\"gpt4\"") && error.contains("codestral"),
            "{error}"
        );
        assert!(!FimTemplate::family("prefix").unwrap().uses_suffix());
        assert!(FimTemplate::family("codestral").unwrap().uses_suffix());
    }
}
