//! Making server-supplied text safe to show: inert, single-line and bounded.
//!
//! Owner names and file names come from servers Lockwatch does not control. On a terminal, control
//! characters can move the cursor or rewrite earlier lines, and bidirectional overrides (U+202E) can make
//! a name ending in `exe.txt` read as something else. [`inert`] replaces all of them with visible stand-ins; [`truncate`]
//! bounds the length. The JSON output keeps the raw values, because scripts need the real data; JSON
//! escaping makes them inert, provided it escapes more than `serde_json` does ([`escape_json_text`]).

/// Whether `c` is a bidirectional formatting character that can reorder displayed text.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` must not reach a terminal or a one-line message as is: control characters (C0, DEL, C1),
/// bidirectional formatting characters and the Unicode line and paragraph separators.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || c == '\u{2028}' || c == '\u{2029}'
}

/// `s` with control and bidi-override characters replaced by `�`, on one line.
pub fn inert(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r' | '\u{2028}' | '\u{2029}') {
                ' '
            } else if is_unsafe(c) {
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

/// `json` (serialized by `serde_json`) with every character [`is_unsafe`] written as a `\uXXXX` escape.
///
/// `serde_json` escapes C0 controls only; DEL, C1 controls (U+009B is a one-character CSI on some
/// terminals), bidi overrides and line separators pass through raw, so `lockwatch status --json` printed to a
/// terminal could still be rewritten by a hostile name. All of them are outside ASCII's printable range, so
/// they can only occur inside JSON strings, where the escape keeps the value exact.
pub fn escape_json_text(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_unsafe(c) && !matches!(c, '\n' | '\r' | '\t') {
            // Every unsafe character is in the Basic Multilingual Plane: one escape suffices.
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_neutralised() {
        assert_eq!(inert("a\u{1b}[2Jb\u{202E}c\nd"), "a\u{FFFD}[2Jb\u{FFFD}c d");
        assert_eq!(inert("Zoë <b>"), "Zoë <b>");
        // C1 controls (U+009B is a one-character CSI on some terminals) and line separators too.
        assert_eq!(
            inert("a\u{9b}31mb\u{2028}c\u{7f}"),
            "a\u{FFFD}31mb c\u{FFFD}"
        );
    }

    #[test]
    fn json_text_escapes_what_serde_json_leaves_raw() {
        let value = "a\u{1b}b\u{9b}c\u{202E}d\u{2028}e\u{7f}f\ng é";
        let json = serde_json::to_string_pretty(&serde_json::json!({ "name": value })).unwrap();
        assert!(json.contains('\u{202E}'), "serde_json changed: {json}");
        let escaped = escape_json_text(&json);
        assert!(
            escaped.chars().all(|c| c == '\n' || !is_unsafe(c)),
            "{escaped}"
        );
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back["name"], value);
        assert!(
            escaped.contains("é") && escaped.contains("\\u202e"),
            "{escaped}"
        );
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("ééééé", 5), "ééééé");
        assert_eq!(truncate("éééééé", 5), "éééé…");
        assert_eq!(safe(&"x".repeat(10_000), 40).chars().count(), 40);
    }
}
