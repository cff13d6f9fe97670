//! FIM transform properties: cuts fall on char boundaries and every layout reassembles exactly.

use ghostline_train::fim::{
    FimMode, FimSplit, Piece, SpecialToken, TransformOptions, fim_pieces, reassemble,
    transform_document,
};
use ghostline_train::rng::SplitMix64;

const SAMPLES: &[&str] = &[
    "fn main() {\n    println!(\"hi\");\n}\n",
    "def f(x):\n\treturn x  # é ü 中文 🎉\n",
    "",
    "a",
    "🎉🎉🎉",
    "line1\r\nline2\r\n\n\n        deep indent\n",
];

#[test]
fn random_splits_partition_the_text_on_char_boundaries() {
    let mut rng = SplitMix64::new(1);
    for text in SAMPLES {
        for _ in 0..200 {
            let split = FimSplit::random(text, &mut rng);
            assert_eq!(
                format!("{}{}{}", split.prefix, split.middle, split.suffix),
                *text
            );
        }
    }
}

#[test]
fn psm_and_spm_reassemble_to_the_original() {
    let mut rng = SplitMix64::new(2);
    for text in SAMPLES {
        for _ in 0..100 {
            let split = FimSplit::random(text, &mut rng);
            for mode in [FimMode::Psm, FimMode::Spm] {
                let pieces = fim_pieces(&split, mode);
                assert_eq!(
                    pieces.last(),
                    Some(&Piece::Special(SpecialToken::EndOfText))
                );
                assert_eq!(
                    reassemble(&pieces).as_deref(),
                    Some(*text),
                    "{mode:?} {split:?}"
                );
            }
        }
    }
}

#[test]
fn psm_layout_puts_the_middle_last() {
    let split = FimSplit {
        prefix: "P",
        middle: "M",
        suffix: "S",
    };
    use SpecialToken::*;
    assert_eq!(
        fim_pieces(&split, FimMode::Psm),
        vec![
            Piece::Special(FimPrefix),
            Piece::Text("P"),
            Piece::Special(FimSuffix),
            Piece::Text("S"),
            Piece::Special(FimMiddle),
            Piece::Text("M"),
            Piece::Special(EndOfText)
        ]
    );
    assert_eq!(
        fim_pieces(&split, FimMode::Spm),
        vec![
            Piece::Special(FimPrefix),
            Piece::Special(FimSuffix),
            Piece::Text("S"),
            Piece::Special(FimMiddle),
            Piece::Text("P"),
            Piece::Text("M"),
            Piece::Special(EndOfText)
        ]
    );
}

/// Walks transformed pieces and rebuilds the document: plain runs are copied, each FIM example
/// (from `<|fim_prefix|>` to its `<|endoftext|>`) is reassembled.
fn rebuild(pieces: &[Piece<'_>]) -> String {
    let mut out = String::new();
    let mut idx = 0;
    if pieces.first() == Some(&Piece::Special(SpecialToken::FileSep)) {
        idx = 3; // <|file_sep|>, path, "\n"
    }
    while idx < pieces.len() {
        match &pieces[idx] {
            Piece::Special(SpecialToken::FimPrefix) => {
                let end = idx
                    + pieces[idx..]
                        .iter()
                        .position(|p| *p == Piece::Special(SpecialToken::EndOfText))
                        .unwrap();
                out.push_str(&reassemble(&pieces[idx..=end]).unwrap());
                idx = end + 1;
            }
            Piece::Text(t) => {
                out.push_str(t);
                idx += 1;
            }
            Piece::Special(SpecialToken::EndOfText) => idx += 1,
            other => panic!("unexpected piece {other:?}"),
        }
    }
    out
}

#[test]
fn document_transform_keeps_every_character_and_mixes_layouts() {
    let text: String = (0..300)
        .map(|i| format!("    let x{i} = \"é{i}\";\n"))
        .collect();
    let options = TransformOptions {
        chunk_bytes: 200,
        ..TransformOptions::default()
    };
    let (mut n_fim, mut n_plain, mut n_file_sep) = (0, 0, 0);
    for seed in 0..20 {
        let mut rng = SplitMix64::new(seed);
        let pieces = transform_document("crate/src/lib.rs", &text, &options, &mut rng);
        assert_eq!(rebuild(&pieces), text);
        assert_eq!(
            pieces.last(),
            Some(&Piece::Special(SpecialToken::EndOfText))
        );
        n_fim += pieces
            .iter()
            .filter(|p| **p == Piece::Special(SpecialToken::FimMiddle))
            .count();
        n_plain += pieces
            .iter()
            .filter(|p| matches!(p, Piece::Text(t) if t.len() >= 150))
            .count();
        n_file_sep += usize::from(pieces[0] == Piece::Special(SpecialToken::FileSep));
    }
    // About half the chunks become FIM examples.
    assert!(n_fim > 300 && n_plain > 300, "fim {n_fim}, plain {n_plain}");
    assert!(n_file_sep > 0 && n_file_sep < 20);
}

#[test]
fn no_fim_rate_zero_leaves_the_document_plain() {
    let options = TransformOptions {
        fim_rate: 0.0,
        file_sep_rate: 0.0,
        ..TransformOptions::default()
    };
    let mut rng = SplitMix64::new(3);
    let pieces = transform_document("p", "abc\ndef\n", &options, &mut rng);
    assert_eq!(
        pieces,
        vec![
            Piece::Text("abc\ndef\n"),
            Piece::Special(SpecialToken::EndOfText)
        ]
    );
}
