//! Making server-supplied text safe to show: inert, single-line and bounded.
//!
//! Owner names and file names come from servers Lockwatch does not control. On a terminal, control
//! characters can move the cursor or rewrite earlier lines, and bidirectional overrides (U+202E) can make
//! a name ending in `exe.txt` read as something else. [`inert`] replaces all of them with visible stand-ins; [`truncate`]
//! bounds the length. The JSON output keeps the raw values: JSON escaping already makes them inert, and
//! scripts need the real data.

/// Whether `c` is a bidirectional formatting character that can reorder displayed text.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` with control and bidi-override characters replaced by `�`, on one line.
pub fn inert(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '\t' || c == '\n' || c == '\r' {
                ' '
            } else if c.is_control() || is_bidi_control(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// `s` cut to at most `max` characters, ending with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// [`inert`] then [`truncate`]: the form for tables and messages.
pub fn safe(s: &str, max: usize) -> String {
    truncate(&inert(s), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_neutralised() {
        assert_eq!(inert("a\u{1b}[2Jb\u{202E}c\nd"), "a\u{FFFD}[2Jb\u{FFFD}c d");
        assert_eq!(inert("Zoë <b>"), "Zoë <b>");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("ééééé", 5), "ééééé");
        assert_eq!(truncate("éééééé", 5), "éééé…");
        assert_eq!(safe(&"x".repeat(10_000), 40).chars().count(), 40);
    }
}
