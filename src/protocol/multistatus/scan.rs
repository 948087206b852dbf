//! A fast path for the documents servers actually send: elements, namespace declarations, text and the
//! predefined and character references, read straight from the bytes instead of through quick-xml's
//! general-purpose reader, into the same [`Document`] the reader feeds.
//!
//! It declines (returns `None`) rather than decide anything the reader decides: comments, CDATA,
//! processing instructions other than the XML declaration, `DOCTYPE`, names outside a plain ASCII set,
//! attribute values with references or `<`, any error at all (the reader then reads the document again and
//! words the error). Whatever it accepts, the reader accepts too and reads into the same events at the same
//! offsets, so both give the same answer: the tests compare them on every document they have.
//!
//! On the benchmark's 10,000-response bodies it reads markup several times faster than the reader, which
//! checks and classifies every byte for the whole of XML; the time left is the [`Document`]'s own work.

use quick_xml::events::{BytesRef, BytesStart};

use super::{Document, Response};

/// Reads `body` (byte order mark stripped, starting with markup after optional whitespace), or declines.
pub(super) fn parse(body: &[u8]) -> Option<Vec<Response>> {
    let mut doc = Document::new(body);
    // The open elements' names, to check each end tag as the reader does.
    let mut open: Vec<&[u8]> = Vec::with_capacity(16);
    let mut at = 0;
    while let Some(&byte) = body.get(at) {
        // Character data up to the next markup or reference.
        if byte != b'<' && byte != b'&' {
            let end = memchr::memchr2(b'<', b'&', &body[at..]).map_or(body.len(), |i| at + i);
            doc.text(&body[at..end]).ok()?;
            at = end;
            continue;
        }
        if byte == b'&' {
            at = reference(body, at, &mut doc)?;
            continue;
        }
        match body.get(at + 1)? {
            b'/' => {
                let name = open.pop()?;
                let after_name = at + 2 + name.len();
                // Nearly always `</` + the open element's name + `>`; anything else is compared the way
                // the reader compares it, spaces before the `>` allowed.
                let gt = if body.get(at + 2..after_name) == Some(name)
                    && body.get(after_name) == Some(&b'>')
                {
                    after_name
                } else {
                    let gt = at + 2 + memchr::memchr(b'>', &body[at + 2..])?;
                    if trim_end(&body[at + 2..gt]) != name {
                        return None;
                    }
                    gt
                };
                doc.end(at).ok()?;
                at = gt + 1;
            }
            b'?' => at = declaration(body, at)?,
            b'!' => return None,
            _ => at = start_tag(body, at, &mut doc, &mut open)?,
        }
    }
    doc.finish().ok()
}

/// The start tag or empty-element tag at `lt`; returns the offset after it.
fn start_tag<'a>(
    body: &'a [u8],
    lt: usize,
    doc: &mut Document<'_>,
    open: &mut Vec<&'a [u8]>,
) -> Option<usize> {
    let name_start = lt + 1;
    let name_end = name_start + body[name_start..].iter().position(|&b| !is_name_byte(b))?;
    let name = &body[name_start..name_end];
    if name.is_empty() || name[0] == b':' || name[0].is_ascii_digit() {
        return None;
    }
    let (gt, empty, attributes) = match body[name_end] {
        b'>' => (name_end, false, None),
        b'/' if body.get(name_end + 1) == Some(&b'>') => (name_end + 1, true, None),
        b' ' | b'\t' | b'\r' | b'\n' => {
            let gt = tag_end(body, name_end)?;
            let content = &body[name_start..gt];
            let (content, empty) = match content.strip_suffix(b"/") {
                Some(content) => (content, true),
                None => (content, false),
            };
            let attributes = &content[name.len()..];
            if attributes.iter().all(u8::is_ascii_whitespace) {
                (gt, empty, None)
            } else if attributes.iter().any(|&b| b == b'&' || b == b'<') {
                return None;
            } else {
                let content = std::str::from_utf8(content).ok()?;
                (
                    gt,
                    empty,
                    Some(BytesStart::from_content(content, name.len())),
                )
            }
        }
        _ => return None,
    };
    doc.start(name, attributes.as_ref(), gt + 1).ok()?;
    if empty {
        doc.end(gt + 1).ok()?;
    } else {
        open.push(name);
    }
    Some(gt + 1)
}

/// The `>` closing the tag whose attributes start at `from`, skipping quoted values as the reader does.
fn tag_end(body: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let i = at + memchr::memchr3(b'>', b'"', b'\'', &body[at..])?;
        match body[i] {
            b'>' => return Some(i),
            quote => at = i + 1 + memchr::memchr(quote, &body[i + 1..])? + 1,
        }
    }
}

/// The XML declaration (`<?xml version="1.0"?>`) at `lt`; other processing instructions are declined.
fn declaration(body: &[u8], lt: usize) -> Option<usize> {
    let rest = &body[lt..];
    if !(rest.starts_with(b"<?xml") && rest.get(5).is_some_and(|&b| is_whitespace(b))) {
        return None;
    }
    let end = memchr::memmem::find(&rest[5..], b"?>")?;
    Some(lt + 5 + end + 2)
}

/// The reference at `amp` (`&amp;`, `&#x263A;`); returns the offset after it.
fn reference(body: &[u8], amp: usize, doc: &mut Document<'_>) -> Option<usize> {
    let end = amp + 1 + memchr::memchr3(b';', b'&', b'<', &body[amp + 1..])?;
    if body[end] != b';' {
        return None;
    }
    let ch = match &body[amp + 1..end] {
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        name if name.first() == Some(&b'#') => {
            let name = std::str::from_utf8(name).ok()?;
            BytesRef::new(name).resolve_char_ref().ok()??
        }
        _ => return None,
    };
    doc.reference(ch);
    Some(end + 1)
}

/// The bytes the scan accepts in names: ASCII letters, digits, `_`, `-`, `.` and `:` (the reader accepts
/// more; the scan declines those documents).
fn is_name_byte(b: u8) -> bool {
    NAME_BYTES[usize::from(b)]
}

/// [`is_name_byte`] as a table: one load per byte of every name.
static NAME_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.' | b':');
        b += 1;
    }
    table
};

/// XML whitespace, as the reader splits names from attributes.
fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim_end(name: &[u8]) -> &[u8] {
    let len = name
        .iter()
        .rposition(|&b| !is_whitespace(b))
        .map_or(0, |i| i + 1);
    &name[..len]
}

#[cfg(test)]
mod tests {
    use super::super::{ParseError, parse_events};
    use super::*;

    /// The scan's answer, checked against the reader's: equal when the scan accepts the document.
    fn agree(body: &[u8]) -> Option<Vec<Response>> {
        let fast = parse(body);
        if let Some(fast) = &fast {
            let reader: Result<Vec<Response>, ParseError> = parse_events(body);
            assert_eq!(
                reader.as_ref(),
                Ok(fast),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        fast
    }

    fn fixtures() -> Vec<(String, Vec<u8>)> {
        let mut found = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "xml") {
                    found.push((path.display().to_string(), std::fs::read(&path).unwrap()));
                }
            }
        }
        assert!(found.len() > 50, "{} fixtures", found.len());
        found
    }

    #[test]
    fn reads_every_recorded_propfind_answer_as_the_reader_does() {
        for (name, body) in fixtures() {
            let fast = agree(&body);
            if name.contains("/propfind") {
                assert!(fast.is_some(), "{name}: declined");
            }
        }
    }

    const HEAD: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:"><D:response><D:href>/a</D:href><D:propstat><D:prop>"#;
    const TAIL: &str = r#"</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"#;

    fn doc(props: &str) -> String {
        format!("{HEAD}{props}{TAIL}")
    }

    #[test]
    fn reads_what_servers_write_and_declines_the_rest_to_the_reader() {
        let accepted = [
            // Quoted `>` and `/>` in attribute values, both quote styles, spaces before `>` and `/>`.
            r#"<x:p xmlns:x="urn:a>b" y='/>' ><x:q/></x:p ><D:getetag >"e"</D:getetag	>"#,
            // Predefined and character references, in values and in skipped text.
            r#"<D:getetag>&quot;a&amp;b&#x263A;&#65;&lt;&gt;&apos;</D:getetag><y:z xmlns:y="urn:y">&amp;</y:z>"#,
            // A prefix redeclared inside a skipped property, nested same-named elements, a default
            // namespace and its removal.
            r#"<y:d xmlns:y="urn:y"><y:d><D:x xmlns:D="urn:not-dav"><D:lockdiscovery/></D:x></y:d></y:d><D:lockdiscovery/>"#,
            r#"<lockdiscovery xmlns="DAV:"><activelock><owner xmlns=""><href>me</href></owner></activelock></lockdiscovery>"#,
            // Line ends and non-ASCII text in kept values, normalized as the reader does.
            "<D:getetag>a\r\nb\rc\u{85}d\u{2028}é</D:getetag>",
            "\n  <D:getetag>\n    \"e\"\n  </D:getetag>\n",
        ];
        for props in accepted {
            let body = doc(props);
            assert!(agree(body.as_bytes()).is_some(), "declined: {body}");
        }
        let declined = [
            "<D:getetag><!-- c -->e</D:getetag>",
            "<D:getetag><![CDATA[</D:prop>]]></D:getetag>",
            "<?pi x?><D:getetag>e</D:getetag>",
            "<D:getetag>&nbsp;</D:getetag>",
            "<D:getetag>&#0;</D:getetag>",
            "<D:getetag>a & b</D:getetag>",
            "<D:getetag>e</D:getetagx>",
            "<D:getetag>e</D:prop>",
            r#"<x:p xmlns:x="urn:&amp;"/>"#,
        ];
        for props in declined {
            let body = doc(props);
            assert!(agree(body.as_bytes()).is_none(), "accepted: {body}");
        }
        let mut invalid_utf8 = doc("<D:getetag>e</D:getetag>").into_bytes();
        let at = invalid_utf8.len() - TAIL.len() - "e</D:getetag>".len();
        invalid_utf8[at] = 0xFF;
        assert!(agree(&invalid_utf8).is_none());
        let with_doctype = format!("<!DOCTYPE x>{}", doc(""));
        assert!(agree(with_doctype.as_bytes()).is_none());
    }

    /// Every truncation and many one-byte changes of a real answer: the scan either declines or reads
    /// exactly what the reader reads.
    #[test]
    fn damaged_documents_are_declined_or_read_as_the_reader_reads_them() {
        for fixture in [
            "webdav/apache/propfind-depth0-owner-text.xml",
            "nextcloud/propfind-depth0-locked-file.xml",
        ] {
            let path = format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
            let body = std::fs::read(path).unwrap();
            for end in 0..body.len() {
                agree(&body[..end]);
            }
            for at in 0..body.len() {
                for byte in [
                    b'<', b'>', b'/', b'&', b';', b'"', b'\'', b' ', b':', b'=', b'#', b'!', b'?',
                    0x85, 0xFF,
                ] {
                    let mut changed = body.clone();
                    changed[at] = byte;
                    agree(&changed);
                }
            }
        }
    }
}
