//! Position conversion (`server/src/lsp/from_proto.rs`, `to_proto.rs`) against the reference
//! model: every LSP position maps to the char offset the reference computes (or both reject the
//! line), and every char offset round-trips through its LSP position.
#![no_main]

use arbitrary::Arbitrary;
use ghostline_fuzz::lsp::encoding::PositionEncoding;
use ghostline_fuzz::lsp::{from_proto, to_proto};
use ghostline_fuzz::reference_doc::{self, Unit};
use libfuzzer_sys::fuzz_target;
use ropey::Rope;
use tower_lsp_server::ls_types::Position;

#[derive(Arbitrary, Debug)]
struct Input {
    text: String,
    encoding: u8,
    positions: Vec<(u32, u32)>,
}

pub fn encodings(selector: u8) -> (PositionEncoding, Unit) {
    match selector % 3 {
        0 => (PositionEncoding::Utf8, Unit::Utf8),
        1 => (PositionEncoding::Utf16, Unit::Utf16),
        _ => (PositionEncoding::Utf32, Unit::Utf32),
    }
}

fuzz_target!(|input: Input| {
    let (encoding, unit) = encodings(input.encoding);
    let rope = Rope::from_str(&input.text);
    for &(line, character) in &input.positions {
        // Small coordinates hit real lines and columns; big ones exercise the bounds.
        for (line, character) in [(line % 8, character % 16), (line, character)] {
            let actual = from_proto::offset(&rope, Position { line, character }, encoding).ok();
            let expected = reference_doc::byte_index(&input.text, line, character, unit)
                .map(|byte| input.text[..byte].chars().count());
            assert_eq!(actual, expected, "{line}:{character} {encoding:?}");
        }
    }
    let chars: Vec<char> = input.text.chars().collect();
    for char_offset in 0..=chars.len() {
        // An offset between \r and \n has no LSP position of its own.
        if char_offset > 0
            && chars.get(char_offset - 1) == Some(&'\r')
            && chars.get(char_offset) == Some(&'\n')
        {
            continue;
        }
        let position = to_proto::position(&rope, char_offset, encoding);
        let byte: usize = chars[..char_offset].iter().map(|ch| ch.len_utf8()).sum();
        let (line, character) = reference_doc::position(&input.text, byte, unit);
        assert_eq!(
            (position.line, position.character),
            (line, character),
            "offset {char_offset}"
        );
        assert_eq!(
            from_proto::offset(&rope, position, encoding),
            Ok(char_offset)
        );
    }
});
