//! Incremental completion text: stop strings, and streaming that never shows text it may retract.

/// Tracks one completion's decoded text, cuts it at the first stop string, and emits only
/// text that is final: no trailing partial UTF-8 character (decoded as U+FFFD) and no tail
/// that could still grow into a stop string.
pub(crate) struct TextStream<'a> {
    stop: &'a [String],
    /// Cut before the line break that would start line `max_lines + 1`.
    max_lines: Option<usize>,
    text: String,
    emitted: usize,
    /// A stop string was found: everything before it is final, replacement characters included.
    stopped: bool,
}

impl<'a> TextStream<'a> {
    pub(crate) fn new(stop: &'a [String], max_lines: Option<usize>) -> Self {
        TextStream {
            stop,
            max_lines,
            text: String::new(),
            emitted: 0,
            stopped: false,
        }
    }

    /// Takes the full decoded text so far; returns true when it now contains a stop string
    /// (the text is then cut before it). Emits newly final text when `emit`.
    pub(crate) fn update(
        &mut self,
        full_text: &str,
        emit: bool,
        on_text: &mut dyn FnMut(&str),
    ) -> bool {
        self.text.clear();
        self.text.push_str(full_text);
        let line_limit = self.max_lines.and_then(|lines| {
            self.text
                .match_indices('\n')
                .nth(lines.max(1) - 1)
                .map(|(position, _)| position)
        });
        let first_stop = self
            .stop
            .iter()
            .filter(|stop| !stop.is_empty())
            .filter_map(|stop| self.text.find(stop.as_str()))
            .chain(line_limit)
            .min();
        if let Some(position) = first_stop {
            self.text.truncate(position);
            self.stopped = true;
            return true;
        }
        let mut safe_end = self.text.trim_end_matches('\u{FFFD}').len();
        safe_end -= self.held_back(&self.text[..safe_end]);
        if emit && safe_end > self.emitted {
            on_text(&self.text[self.emitted..safe_end]);
            self.emitted = safe_end;
        }
        false
    }

    /// Final text (a trailing partial character dropped unless a stop string followed it);
    /// emits whatever was held back.
    pub(crate) fn finish(mut self, emit: bool, on_text: &mut dyn FnMut(&str)) -> String {
        let end = if self.stopped {
            self.text.len()
        } else {
            self.text.trim_end_matches('\u{FFFD}').len()
        };
        self.text.truncate(end);
        if emit && end > self.emitted {
            on_text(&self.text[self.emitted..]);
        }
        self.text
    }

    /// Length of the longest tail of `text` that is a proper prefix of some stop string.
    fn held_back(&self, text: &str) -> usize {
        let mut longest = 0;
        for stop in self.stop {
            for (index, _) in stop.char_indices().skip(1) {
                if index > longest && text.ends_with(&stop[..index]) {
                    longest = index;
                }
            }
        }
        longest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds successive full decodes (as the engine does) and collects what is streamed.
    fn run(decodes: &[&str], stop: &[&str]) -> (Vec<String>, String, bool) {
        let stop: Vec<String> = stop.iter().map(|s| s.to_string()).collect();
        let mut stream = TextStream::new(&stop, None);
        let mut emitted = Vec::new();
        let mut stopped = false;
        for full in decodes {
            if stream.update(full, true, &mut |t| emitted.push(t.to_string())) {
                stopped = true;
                break;
            }
        }
        let text = stream.finish(true, &mut |t| emitted.push(t.to_string()));
        (emitted, text, stopped)
    }

    #[test]
    fn stop_string_split_across_tokens_is_never_shown() {
        let (emitted, text, stopped) = run(
            &[
                "let x",
                "let x = 1;\n",
                "let x = 1;\n\n",
                "let x = 1;\n\nfn",
            ],
            &["\n\n"],
        );
        assert!(stopped);
        assert_eq!(text, "let x = 1;");
        assert_eq!(emitted.concat(), "let x = 1;");
        assert_eq!(emitted, vec!["let x", " = 1;"]);
    }

    #[test]
    fn max_lines_cuts_before_the_line_break_that_starts_one_more_line() {
        let stop: Vec<String> = Vec::new();
        let mut stream = TextStream::new(&stop, Some(2));
        let mut emitted = String::new();
        assert!(!stream.update("a\nb", true, &mut |t| emitted.push_str(t)));
        assert!(stream.update("a\nb\nc", true, &mut |t| emitted.push_str(t)));
        let text = stream.finish(true, &mut |t| emitted.push_str(t));
        assert_eq!(text, "a\nb");
        assert_eq!(emitted, "a\nb");
        // A leading line break counts: the completion's first line is empty.
        let mut stream = TextStream::new(&stop, Some(1));
        assert!(stream.update("\nx", false, &mut |_| {}));
        assert_eq!(stream.finish(false, &mut |_| {}), "");
    }

    #[test]
    fn invalid_bytes_before_a_stop_string_are_kept() {
        let (emitted, text, stopped) = run(&["a\u{FFFD}", "a\u{FFFD}\u{FFFD};;"], &[";;"]);
        assert!(stopped);
        assert_eq!(text, "a\u{FFFD}\u{FFFD}");
        assert_eq!(emitted.concat(), text);
    }

    #[test]
    fn partial_utf8_is_held_until_complete() {
        let (emitted, text, stopped) = run(&["a", "a\u{FFFD}", "aé", "aéb", "aéb\u{FFFD}"], &[]);
        assert!(!stopped);
        assert_eq!(emitted, vec!["a", "é", "b"]);
        assert_eq!(text, "aéb");
    }
}
