//! The negotiated `positionEncoding`: what a `Position.character` counts.

use tower_lsp_server::ls_types::{InitializeParams, PositionEncodingKind};

/// The unit of `Position.character` agreed with the client at `initialize`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PositionEncoding {
    /// UTF-8 code units (bytes).
    Utf8,
    /// UTF-16 code units: the LSP default every client supports.
    #[default]
    Utf16,
    /// Unicode scalar values (what our internal char offsets count).
    Utf32,
}

impl PositionEncoding {
    /// Picks from the client's preference list the first encoding we support; UTF-16 when the
    /// client says nothing (the spec's default).
    pub fn negotiate(params: &InitializeParams) -> PositionEncoding {
        let offered = params
            .capabilities
            .general
            .as_ref()
            .and_then(|general| general.position_encodings.as_ref());
        offered
            .into_iter()
            .flatten()
            .find_map(PositionEncoding::from_kind)
            .unwrap_or_default()
    }

    /// Parses an LSP encoding name.
    pub fn from_kind(kind: &PositionEncodingKind) -> Option<PositionEncoding> {
        match kind.as_str() {
            "utf-8" => Some(PositionEncoding::Utf8),
            "utf-16" => Some(PositionEncoding::Utf16),
            "utf-32" => Some(PositionEncoding::Utf32),
            _ => None,
        }
    }

    /// The LSP name, for the `initialize` result.
    pub fn kind(self) -> PositionEncodingKind {
        match self {
            PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
            PositionEncoding::Utf16 => PositionEncodingKind::UTF16,
            PositionEncoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    /// How many units of this encoding `ch` takes.
    pub fn width(self, ch: char) -> u32 {
        match self {
            PositionEncoding::Utf8 => ch.len_utf8() as u32,
            PositionEncoding::Utf16 => ch.len_utf16() as u32,
            PositionEncoding::Utf32 => 1,
        }
    }
}
