//! Tokenizer: special-token ids, byte-exact round trips (whitespace runs, tabs, CRLF, Unicode),
//! special-token strings inside source text stay text, and indentation runs become single tokens.

use ghostline_train::fim::{Piece, SpecialToken};
use ghostline_train::tokenizer::{TextEncoder, special_id, train_tokenizer};

fn corpus() -> Vec<String> {
    let mut docs = Vec::new();
    for i in 0..300 {
        docs.push(format!(
            "fn function_{i}(value: u32) -> u32 {{\n        let doubled = value * 2;\n        if doubled > {i} {{\n                return doubled;\n        }}\n        value\n}}\n"
        ));
        docs.push(format!(
            "def helper_{i}(x):\n    if x:\n        return x + {i}\n    return None\n\t\tpass\n"
        ));
    }
    docs
}

fn encoder() -> TextEncoder {
    let docs = corpus();
    TextEncoder::new(
        train_tokenizer(docs.iter().map(|d| d.as_str()), 400).expect("tokenizer trains"),
    )
}

#[test]
fn special_tokens_have_fixed_ids() {
    let encoder = encoder();
    for (idx, token) in SpecialToken::ALL.iter().enumerate() {
        assert_eq!(
            encoder.tokenizer().token_to_id(token.as_str()),
            Some(idx as u32)
        );
        assert_eq!(special_id(*token), idx as u32);
    }
}

#[test]
fn text_round_trips_byte_for_byte() {
    let encoder = encoder();
    for text in [
        "fn main() {\n    let x = 1;\n}\n",
        "        \n\n\n\t\t\tdeep\t tab  mixed   \n",
        "line\r\nwindows\r\n",
        "unicode: é ü 中文 🎉 ∀x∈ℝ",
        "   leading and trailing   ",
        "",
        "x",
    ] {
        let ids = encoder.encode(text).unwrap();
        assert_eq!(encoder.decode(&ids).unwrap(), text, "ids {ids:?}");
    }
}

#[test]
fn special_token_strings_in_source_text_stay_text() {
    let encoder = encoder();
    let text = "let eot = \"<|endoftext|>\"; // <|fim_middle|>";
    let ids = encoder.encode(text).unwrap();
    assert!(
        ids.iter().all(|&id| id >= SpecialToken::ALL.len() as u32),
        "{ids:?}"
    );
    assert_eq!(encoder.decode(&ids).unwrap(), text);
}

#[test]
fn pieces_encode_special_tokens_by_id() {
    let encoder = encoder();
    let pieces = [
        Piece::Special(SpecialToken::FimPrefix),
        Piece::Text("fn a() {"),
        Piece::Special(SpecialToken::FimSuffix),
        Piece::Text("}\n"),
        Piece::Special(SpecialToken::FimMiddle),
        Piece::Text("\n    1\n"),
        Piece::Special(SpecialToken::EndOfText),
    ];
    let mut ids = Vec::new();
    encoder.encode_pieces(&pieces, &mut ids).unwrap();
    assert_eq!(ids[0], special_id(SpecialToken::FimPrefix));
    assert_eq!(*ids.last().unwrap(), special_id(SpecialToken::EndOfText));
    assert_eq!(
        encoder.decode(&ids).unwrap(),
        "<|fim_prefix|>fn a() {<|fim_suffix|>}\n<|fim_middle|>\n    1\n<|endoftext|>"
    );
}

#[test]
fn frequent_indentation_runs_are_single_tokens() {
    let encoder = encoder();
    // The GPT-2 split keeps a whitespace run (minus the space that starts the next word) together.
    let ids = encoder.encode("\n        let").unwrap();
    assert!(
        ids.len() <= 3,
        "indentation took {} tokens: {ids:?}",
        ids.len()
    );
}
