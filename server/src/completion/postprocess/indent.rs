//! Rule: re-indent a block suggestion to the file's style (tabs or spaces, and the width).

use ropey::Rope;

/// How the file indents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndentStyle {
    /// One tab per level.
    Tabs,
    /// This many spaces per level.
    Spaces(usize),
}

/// Lines sampled around the cursor to detect the style (a huge file costs no more).
const SAMPLE_LINES: usize = 400;

/// Detects the indentation style from the lines around `line`; `None` when no line is indented
/// (then the suggestion keeps its own style).
pub fn detect(rope: &Rope, line: usize) -> Option<IndentStyle> {
    let first = line.saturating_sub(SAMPLE_LINES);
    let last = (line + SAMPLE_LINES / 4).min(rope.len_lines());
    let (mut tabs, mut spaces) = (0usize, 0usize);
    let mut deltas = [0usize; 9];
    let mut previous = 0usize;
    for index in first..last {
        let text = rope.line(index);
        let first_char = text.chars().next();
        if text.chars().all(char::is_whitespace) {
            continue;
        }
        let width = text.chars().take_while(|c| *c == ' ').count();
        match first_char {
            Some('\t') => tabs += 1,
            Some(' ') => spaces += 1,
            _ => {}
        }
        if first_char != Some('\t') && width > previous && width - previous < deltas.len() {
            deltas[width - previous] += 1;
        }
        if first_char != Some('\t') {
            previous = width;
        }
    }
    if tabs == 0 && spaces == 0 {
        return None;
    }
    if tabs > spaces {
        return Some(IndentStyle::Tabs);
    }
    let best = [2usize, 4, 8, 3]
        .into_iter()
        .max_by_key(|&width| (deltas[width], width == 4))
        .unwrap_or(4);
    Some(IndentStyle::Spaces(if deltas[best] == 0 {
        4
    } else {
        best
    }))
}

/// Re-indents the lines after the first (the first continues the cursor's line) to `style`.
/// Tabs in a spaces file become `width` spaces; spaces in a tabs file become tabs (one per the
/// suggestion's own unit); in a spaces file, levels deeper than `base` (the cursor line's
/// leading whitespace) are rescaled from the suggestion's unit to the file's width.
pub fn normalize_indentation(text: &str, style: IndentStyle, base: &str) -> String {
    if !text.contains('\n') {
        return text.to_string();
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let split = |line: &str| -> (usize, usize, String) {
        let content = line.trim_start_matches([' ', '\t']);
        let leading = &line[..line.len() - content.len()];
        let tabs = leading.chars().filter(|c| *c == '\t').count();
        let spaces = leading.chars().filter(|c| *c == ' ').count();
        (tabs, spaces, content.to_string())
    };
    let mut out = vec![lines[0].to_string()];
    match style {
        IndentStyle::Tabs => {
            let space_widths: Vec<usize> = lines[1..]
                .iter()
                .map(|line| split(line))
                .filter(|(_, spaces, content)| *spaces > 0 && !content.is_empty())
                .map(|(_, spaces, _)| spaces)
                .collect();
            let unit = smallest_step(space_widths, 0);
            for line in &lines[1..] {
                let (tabs, spaces, content) = split(line);
                if content.is_empty() {
                    out.push(String::new());
                } else {
                    let levels = tabs + spaces / unit;
                    out.push("\t".repeat(levels) + &" ".repeat(spaces % unit) + &content);
                }
            }
        }
        IndentStyle::Spaces(width) => {
            let base_width = base
                .chars()
                .map(|c| if c == '\t' { width } else { 1 })
                .sum::<usize>();
            let columns: Vec<(usize, String)> = lines[1..]
                .iter()
                .map(|line| {
                    let (tabs, spaces, content) = split(line);
                    (tabs * width + spaces, content)
                })
                .collect();
            let deeper: Vec<usize> = columns
                .iter()
                .filter(|(cols, content)| *cols > base_width && !content.is_empty())
                .map(|(cols, _)| cols - base_width)
                .collect();
            let unit = smallest_step(deeper, 0);
            for (cols, content) in columns {
                if content.is_empty() {
                    out.push(String::new());
                    continue;
                }
                let cols = if cols > base_width && unit != width {
                    let relative = cols - base_width;
                    base_width + relative / unit * width + relative % unit
                } else {
                    cols
                };
                out.push(" ".repeat(cols) + &content);
            }
        }
    }
    out.join("\n")
}

/// The indentation unit of a set of widths: the smallest positive difference between them
/// (or from `origin`), when it is between 2 and 8; else 4.
fn smallest_step(mut widths: Vec<usize>, origin: usize) -> usize {
    widths.push(origin);
    widths.sort_unstable();
    widths.dedup();
    widths
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .filter(|step| (2..=8).contains(step))
        .min()
        .unwrap_or(4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn detection() {
        assert_eq!(
            detect(&Rope::from_str("fn f() {\n\tx;\n\t\ty;\n}\n"), 1),
            Some(IndentStyle::Tabs)
        );
        assert_eq!(
            detect(&Rope::from_str("a:\n  b:\n    c\n  d\n"), 1),
            Some(IndentStyle::Spaces(2))
        );
        assert_eq!(detect(&Rope::from_str("x\ny\n"), 0), None);
    }

    #[test]
    fn spaces_to_tabs_and_width_changes() {
        let suggestion = "if x {\n        y();\n    }";
        expect![[r#""if x {\n\t\ty();\n\t}""#]].assert_eq(&format!(
            "{:?}",
            normalize_indentation(suggestion, IndentStyle::Tabs, "\t")
        ));
        // A 2-space file, cursor line at 2: the model's 4-space levels become 2-space ones.
        expect![[r#""if x {\n    y();\n      z();\n  }""#]].assert_eq(&format!(
            "{:?}",
            normalize_indentation(
                "if x {\n      y();\n          z();\n  }",
                IndentStyle::Spaces(2),
                "  "
            )
        ));
        expect![[r#""if x:\n        y()""#]].assert_eq(&format!(
            "{:?}",
            normalize_indentation("if x:\n\t\ty()", IndentStyle::Spaces(4), "\t")
        ));
        // Already in the file's style: unchanged.
        expect![[r#""a\n    b\n        c""#]].assert_eq(&format!(
            "{:?}",
            normalize_indentation("a\n    b\n        c", IndentStyle::Spaces(4), "")
        ));
    }
}
