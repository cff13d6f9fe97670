//! Rules for prose (comments, docstrings, strings, Markdown text): stop at a sentence end on a
//! line, at a paragraph end in a block; no code bracket rules.

/// One sentence at a time: a single-line prose suggestion ends after the first sentence end
/// (`.`, `!`, `?` followed by a space) when more text follows it.
pub fn cut_at_sentence_end(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    for index in 0..chars.len().saturating_sub(1) {
        let ends_sentence = matches!(chars[index], '.' | '!' | '?' | '。' | '！' | '？');
        let before_is_word = index > 0 && chars[index - 1].is_alphanumeric();
        let next_is_space = chars[index + 1] == ' ' || matches!(chars[index], '。' | '！' | '？');
        let rest_has_text = chars[index + 1..].iter().any(|c| c.is_alphanumeric());
        if ends_sentence
            && before_is_word
            && next_is_space
            && rest_has_text
            && !is_abbreviation(&chars[..index])
        {
            return chars[..=index].iter().collect();
        }
    }
    text.to_string()
}

/// `e.g.`, `i.e.`, `etc.`, `vs.` do not end sentences.
fn is_abbreviation(before: &[char]) -> bool {
    let word: String = before
        .iter()
        .rev()
        .take_while(|c| c.is_alphanumeric() || **c == '.')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    matches!(
        word.to_lowercase().as_str(),
        "e.g" | "i.e" | "etc" | "vs" | "cf" | "approx"
    )
}

/// A prose block ends at the first blank line (the end of a paragraph).
pub fn cut_at_paragraph_end(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    // The first line may be empty (the suggestion starts a new line): skip it.
    for (index, line) in lines.iter().enumerate().skip(1) {
        if line.trim().is_empty() && lines[..index].iter().any(|l| !l.trim().is_empty()) {
            return lines[..index].join("\n");
        }
    }
    text.to_string()
}

/// A block comment or docstring suggestion stops before a closer (`*/`, `"""`) that is already
/// right of the cursor or on the next lines.
pub fn cut_before_existing_closer(text: &str, following: &str) -> String {
    for closer in ["*/", "\"\"\"", "'''", "-->"] {
        if following.contains(closer)
            && let Some(position) = text.find(closer)
        {
            return text[..position].trim_end().to_string();
        }
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_and_paragraphs() {
        assert_eq!(cut_at_sentence_end("the sum. It panics if"), "the sum.");
        assert_eq!(
            cut_at_sentence_end("the sum of a and b."),
            "the sum of a and b."
        );
        assert_eq!(
            cut_at_sentence_end("see e.g. the docs. More"),
            "see e.g. the docs."
        );
        assert_eq!(
            cut_at_sentence_end("version 1.2 is out"),
            "version 1.2 is out"
        );
        assert_eq!(cut_at_sentence_end("日本語です。次の文"), "日本語です。");
        assert_eq!(
            cut_at_paragraph_end("\nOne line.\nTwo.\n\n# Next"),
            "\nOne line.\nTwo."
        );
        assert_eq!(cut_before_existing_closer("the sum */", " */"), "the sum");
        assert_eq!(cut_before_existing_closer("the sum */", ""), "the sum */");
    }
}
