//! Incremental edit application (`server/src/lsp/changes.rs` + `server/src/documents.rs`, the
//! code `didChange` runs) against the reference model: after any sequence of changes — valid,
//! out of range, inverted, mid-character — the Rope holds exactly the reference text, the same
//! changes were skipped, and the Rope's internal invariants hold; for the tree-sitter languages the
//! syntax tree is edited and reparsed along the way (a panic there is a crash).
#![no_main]

use arbitrary::Arbitrary;
use ghostline_fuzz::documents::Document;
use ghostline_fuzz::lsp::changes;
use ghostline_fuzz::lsp::encoding::PositionEncoding;
use ghostline_fuzz::reference_doc::{self, Unit};
use libfuzzer_sys::fuzz_target;
use tower_lsp_server::ls_types::{Position, Range, TextDocumentContentChangeEvent};

#[derive(Arbitrary, Debug)]
struct Input {
    text: String,
    encoding: u8,
    batches: Vec<Vec<Change>>,
}

#[derive(Arbitrary, Debug)]
struct Change {
    range: Option<((u32, u32), (u32, u32))>,
    /// Most ranges use small coordinates so they land inside the text.
    small: bool,
    text: String,
}

fn encodings(selector: u8) -> (PositionEncoding, Unit) {
    match selector % 3 {
        0 => (PositionEncoding::Utf8, Unit::Utf8),
        1 => (PositionEncoding::Utf16, Unit::Utf16),
        _ => (PositionEncoding::Utf32, Unit::Utf32),
    }
}

fuzz_target!(|input: Input| {
    let (encoding, unit) = encodings(input.encoding);
    // The selector's upper part picks a language, so edits also drive the incremental reparse.
    let language = ["plaintext", "rust", "python", "markdown"][usize::from(input.encoding / 3 % 4)];
    let mut document = Document::new(&input.text, 1, language);
    let mut reference = input.text.clone();
    for batch in input.batches {
        let batch: Vec<Change> = batch
            .into_iter()
            .map(|change| {
                let range = change.range.map(|((a, b), (c, d))| {
                    if change.small {
                        ((a % 6, b % 10), (c % 6, d % 10))
                    } else {
                        ((a, b), (c, d))
                    }
                });
                Change { range, ..change }
            })
            .collect();
        let mut expected_skipped = Vec::new();
        for (index, change) in batch.iter().enumerate() {
            if !reference_doc::apply(&mut reference, change.range, &change.text, unit) {
                expected_skipped.push(index);
            }
        }
        let events = batch
            .into_iter()
            .map(|change| TextDocumentContentChangeEvent {
                range: change.range.map(|((a, b), (c, d))| Range {
                    start: Position {
                        line: a,
                        character: b,
                    },
                    end: Position {
                        line: c,
                        character: d,
                    },
                }),
                range_length: None,
                text: change.text,
            })
            .collect();
        let skipped: Vec<usize> = changes::apply(&mut document, events, encoding)
            .into_iter()
            .map(|(index, _)| index)
            .collect();
        assert_eq!(skipped, expected_skipped);
        assert_eq!(document.rope.to_string(), reference);
        document.rope.assert_integrity();
        document.rope.assert_invariants();
    }
});
