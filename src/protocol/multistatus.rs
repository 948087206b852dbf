//! A streaming, namespace-aware parser for WebDAV `207 Multi-Status` answers to PROPFIND.
//!
//! It reads exactly the properties Lockwatch asks for (`DAV:lockdiscovery`, `supportedlock`, `getetag`,
//! `resourcetype`, Nextcloud's `nc:lock*` and `oc:fileid`) and ignores everything else, so it builds no DOM
//! and allocates only for values it keeps. Elements are matched by namespace URI, never by prefix, because
//! servers use `D:`, `d:`, `ns0:`, `lp1:` or default namespaces interchangeably.
//!
//! It keeps the difference between a property that was *absent*, one that came back in a failed propstat
//! (typically `404`), and one that was *found* — "the server cannot report locks" is not "unlocked".
//! It refuses any `DOCTYPE` (no entity expansion, no external entities: quick-xml never fetches, and we never
//! let a server define entities) and undeclared namespace prefixes. Interpreting values (timeouts, owners)
//! is left to the protocol modules.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, BytesText, Event};
use quick_xml::name::{NamespaceError, PrefixDeclaration};

use crate::model::LockScope;

mod scan;

const DAV: &[u8] = b"DAV:";
const OC: &[u8] = b"http://owncloud.org/ns";
const NC: &[u8] = b"http://nextcloud.org/ns";

/// Deepest element nesting accepted. A multistatus with a lock owner is about ten levels deep; the limit only
/// stops documents built to exhaust the parser.
pub const MAX_DEPTH: usize = 256;
/// Most namespace declarations in scope at once. quick-xml resolves each prefix by a linear search over the
/// declarations in scope, so a document declaring a million prefixes on its root and then using the first
/// one a million times would take hours to parse; real servers declare fewer than ten.
pub const MAX_NAMESPACES_IN_SCOPE: usize = 64;
/// Longest piece of server text (an element name, a prefix) quoted in an error message.
const QUOTE_MAX: usize = 60;

/// Why a body is not a usable multistatus document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// How a requested property came back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Prop<T> {
    /// Not mentioned at all.
    #[default]
    Absent,
    /// Listed in a propstat with a non-2xx status (usually 404).
    Failed(u16),
    /// Present with this value.
    Found(T),
}

impl<T> Prop<T> {
    /// The value when found.
    pub fn found(&self) -> Option<&T> {
        match self {
            Prop::Found(v) => Some(v),
            _ => None,
        }
    }
}

/// One `DAV:activelock`, values as the server wrote them (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActiveLock {
    /// `lockscope`; `None` when missing or unknown.
    pub scope: Option<LockScope>,
    /// `depth` text (`0`, `infinity`, ...).
    pub depth: Option<String>,
    /// `owner` as found.
    pub owner: Option<Owner>,
    /// `timeout` text.
    pub timeout: Option<String>,
    /// First `locktoken/href`.
    pub token: Option<String>,
    /// `lockroot/href`.
    pub root: Option<String>,
}

/// A lock's `DAV:owner` element: arbitrary XML the locking client sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Owner {
    /// The first `DAV:href` inside, trimmed.
    pub href: Option<String>,
    /// All text inside, whitespace-collapsed.
    pub text: String,
    /// The inner XML exactly as sent.
    pub raw: String,
}

/// Nextcloud files_lock properties (`nc:` namespace), raw text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NcProps {
    /// `nc:lock`: `1` when locked, empty when not.
    pub lock: Prop<String>,
    /// `nc:lock-owner-type`.
    pub owner_type: Prop<String>,
    /// `nc:lock-owner`.
    pub owner: Prop<String>,
    /// `nc:lock-owner-displayname`.
    pub displayname: Prop<String>,
    /// `nc:lock-owner-editor`.
    pub editor: Prop<String>,
    /// `nc:lock-time`.
    pub time: Prop<String>,
    /// `nc:lock-timeout`.
    pub timeout: Prop<String>,
    /// `nc:lock-token`.
    pub token: Prop<String>,
}

/// The properties of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Props {
    /// `resourcetype`: true for collections.
    pub collection: Prop<bool>,
    /// `getetag`.
    pub etag: Prop<String>,
    /// `lockdiscovery`.
    pub lockdiscovery: Prop<Vec<ActiveLock>>,
    /// `supportedlock` scopes.
    pub supportedlock: Prop<Vec<LockScope>>,
    /// `oc:fileid`.
    pub fileid: Prop<String>,
    /// Nextcloud lock properties.
    pub nc: NcProps,
}

/// One `DAV:response`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// The `href` exactly as sent (may be absolute or a path, encoded or not).
    pub href: String,
    /// A response-level status (responses without propstats), when present.
    pub status: Option<u16>,
    /// The properties.
    pub props: Props,
}

/// Elements the parser cares about; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum El {
    Multistatus,
    Response,
    Href,
    Status,
    Propstat,
    Prop,
    LockDiscovery,
    ActiveLock,
    LockScope,
    Exclusive,
    Shared,
    Depth,
    Owner,
    Timeout,
    LockToken,
    LockRoot,
    SupportedLock,
    LockEntry,
    ResourceType,
    Collection,
    GetEtag,
    FileId,
    NcLock,
    NcOwnerType,
    NcOwner,
    NcDisplayName,
    NcEditor,
    NcTime,
    NcTimeout,
    NcToken,
    Other,
}

fn classify(ns: Ns, local: &[u8]) -> El {
    match ns {
        Ns::Dav => match local {
            b"multistatus" => El::Multistatus,
            b"response" => El::Response,
            b"href" => El::Href,
            b"status" => El::Status,
            b"propstat" => El::Propstat,
            b"prop" => El::Prop,
            b"lockdiscovery" => El::LockDiscovery,
            b"activelock" => El::ActiveLock,
            b"lockscope" => El::LockScope,
            b"exclusive" => El::Exclusive,
            b"shared" => El::Shared,
            b"depth" => El::Depth,
            b"owner" => El::Owner,
            b"timeout" => El::Timeout,
            b"locktoken" => El::LockToken,
            b"lockroot" => El::LockRoot,
            b"supportedlock" => El::SupportedLock,
            b"lockentry" => El::LockEntry,
            b"resourcetype" => El::ResourceType,
            b"collection" => El::Collection,
            b"getetag" => El::GetEtag,
            _ => El::Other,
        },
        Ns::Oc if local == b"fileid" => El::FileId,
        Ns::Nc => match local {
            b"lock" => El::NcLock,
            b"lock-owner-type" => El::NcOwnerType,
            b"lock-owner" => El::NcOwner,
            b"lock-owner-displayname" => El::NcDisplayName,
            b"lock-owner-editor" => El::NcEditor,
            b"lock-time" => El::NcTime,
            b"lock-timeout" => El::NcTimeout,
            b"lock-token" => El::NcToken,
            _ => El::Other,
        },
        _ => El::Other,
    }
}

/// A propstat being read: its properties and status arrive in either order.
#[derive(Default)]
struct PropstatBuilder {
    props: Props,
    /// The properties named in this propstat, one bit per [`El`] (a set without an allocation per file).
    names: u64,
    status: Option<u16>,
}

impl El {
    fn bit(self) -> u64 {
        1 << (self as u32)
    }

    /// Whether the parser keeps this element's text (everything else is only checked, never copied).
    fn keeps_text(self) -> bool {
        matches!(
            self,
            El::Href
                | El::Status
                | El::Depth
                | El::Timeout
                | El::GetEtag
                | El::FileId
                | El::NcLock
                | El::NcOwnerType
                | El::NcOwner
                | El::NcDisplayName
                | El::NcEditor
                | El::NcTime
                | El::NcTimeout
                | El::NcToken
        )
    }
}

/// The namespaces the parser tells apart. A declaration is classified once, where it is made; elements then
/// resolve to one of these without comparing namespace URIs again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Dav,
    Oc,
    Nc,
    Other,
    /// `xmlns=""` / `xmlns:p=""`: the binding is removed.
    Unset,
}

impl Ns {
    fn of(uri: &[u8]) -> Ns {
        match uri {
            DAV => Ns::Dav,
            OC => Ns::Oc,
            NC => Ns::Nc,
            b"" => Ns::Unset,
            _ => Ns::Other,
        }
    }
}

const XML_NS: &[u8] = b"http://www.w3.org/XML/1998/namespace";
const XMLNS_NS: &[u8] = b"http://www.w3.org/2000/xmlns/";

/// One `xmlns` / `xmlns:p` declaration in scope: the prefix (`len` bytes at `start` of
/// [`Namespaces::prefixes`], empty for the default namespace), its namespace, and the depth of the element
/// that made it.
struct Binding {
    start: usize,
    len: usize,
    /// The prefix packed into an integer when it is short (see [`pack`]), so the usual lookups compare
    /// one word instead of calling `memcmp`.
    key: Option<u64>,
    ns: Ns,
    depth: usize,
}

/// A prefix of at most 7 bytes as one integer (bytes and length); `None` for longer ones.
fn pack(prefix: &[u8]) -> Option<u64> {
    if prefix.len() > 7 {
        return None;
    }
    // Byte by byte into a register: copying into a stack array and reading it back as a word made the
    // CPU wait for the store on every element.
    let bytes = prefix
        .iter()
        .enumerate()
        .fold(0u64, |word, (i, &b)| word | (u64::from(b) << (8 * i)));
    Some(bytes | (prefix.len() as u64) << 56)
}

/// The namespace declarations in scope, with quick-xml's rules (the `xml` and `xmlns` prefixes are
/// reserved; a prefix bound to `""` is undeclared) but classified once per declaration. Elements without
/// attributes, almost all of them, cost nothing here.
#[derive(Default)]
struct Namespaces {
    prefixes: Vec<u8>,
    bindings: Vec<Binding>,
    /// The last short prefix resolved to a namespace, until the declarations in scope change: nearly
    /// every element of a response uses the same prefix, and the search goes past each response's own
    /// declarations (five bindings deep in mod_dav's answers).
    recent: Option<(u64, Ns)>,
}

impl Namespaces {
    /// Adds the declarations of `start`, an element at `depth`.
    fn declare(&mut self, start: &BytesStart<'_>, depth: usize) -> Result<(), ParseError> {
        for attribute in start.attributes().with_checks(false) {
            let Ok(attribute) = attribute else { break };
            let Some(declaration) = attribute.key.as_namespace_binding() else {
                continue;
            };
            let uri: &[u8] = &attribute.value;
            let prefix: &[u8] = match declaration {
                PrefixDeclaration::Default => b"",
                PrefixDeclaration::Named(b"xml") if uri == XML_NS => continue,
                PrefixDeclaration::Named(b"xml") => {
                    return Err(namespace_error(NamespaceError::InvalidXmlPrefixBind(
                        uri.to_vec(),
                    )));
                }
                PrefixDeclaration::Named(b"xmlns") => {
                    return Err(namespace_error(NamespaceError::InvalidXmlnsPrefixBind(
                        uri.to_vec(),
                    )));
                }
                PrefixDeclaration::Named(prefix) if uri == XML_NS => {
                    return Err(namespace_error(NamespaceError::InvalidPrefixForXml(
                        prefix.to_vec(),
                    )));
                }
                PrefixDeclaration::Named(prefix) if uri == XMLNS_NS => {
                    return Err(namespace_error(NamespaceError::InvalidPrefixForXmlns(
                        prefix.to_vec(),
                    )));
                }
                PrefixDeclaration::Named(prefix) => prefix,
            };
            if self.bindings.len() >= MAX_NAMESPACES_IN_SCOPE {
                return Err(ParseError(format!(
                    "the XML declares more than {MAX_NAMESPACES_IN_SCOPE} namespaces at once"
                )));
            }
            self.recent = None;
            let start = self.prefixes.len();
            self.prefixes.extend_from_slice(prefix);
            self.bindings.push(Binding {
                start,
                len: prefix.len(),
                key: pack(prefix),
                ns: Ns::of(uri),
                depth,
            });
        }
        Ok(())
    }

    /// Drops the declarations of the element at `depth` that just ended.
    fn end(&mut self, depth: usize) {
        while let Some(last) = self.bindings.last()
            && last.depth >= depth
        {
            self.recent = None;
            self.prefixes.truncate(last.start);
            self.bindings.pop();
        }
    }

    /// The namespace of an element name with `prefix`: `Ok(None)` when it has none (no default namespace),
    /// an error naming the prefix when it is not declared.
    fn resolve(&mut self, prefix: Option<&[u8]>) -> Result<Option<Ns>, ParseError> {
        let wanted = prefix.unwrap_or(b"");
        let key = pack(wanted);
        if let (Some(key), Some((recent, ns))) = (key, self.recent)
            && key == recent
        {
            return Ok(Some(ns));
        }
        let found = match key {
            Some(key) => self.bindings.iter().rev().find(|b| b.key == Some(key)),
            None => self.bindings.iter().rev().find(|b| {
                b.len == wanted.len() && &self.prefixes[b.start..b.start + b.len] == wanted
            }),
        };
        match (found.map(|b| b.ns), prefix) {
            (Some(Ns::Unset), None) | (None, None) => Ok(None),
            (Some(ns), _) if ns != Ns::Unset => {
                self.recent = key.map(|key| (key, ns));
                Ok(Some(ns))
            }
            // The reserved prefixes are always bound (and never to a namespace Lockwatch reads).
            (_, Some(b"xml" | b"xmlns")) => Ok(Some(Ns::Other)),
            (_, Some(prefix)) => Err(ParseError(format!(
                "XML uses the undeclared namespace prefix `{}`",
                quote(prefix)
            ))),
            (Some(_), None) => Ok(None),
        }
    }
}

/// An element name's prefix (if any) and local part. Names are short, so a plain loop beats `memchr` (as
/// in quick-xml's `QName::decompose`), whose setup costs more than the scan.
fn split_name(qname: &[u8]) -> (Option<&[u8]>, &[u8]) {
    match qname.iter().position(|&b| b == b':') {
        Some(colon) => (Some(&qname[..colon]), &qname[colon + 1..]),
        None => (None, qname),
    }
}

fn namespace_error(err: NamespaceError) -> ParseError {
    ParseError(format!(
        "not well-formed XML: {}",
        crate::display::safe(&quick_xml::Error::from(err).to_string(), 2 * QUOTE_MAX)
    ))
}

fn utf8_error(what: &str, err: impl std::fmt::Display) -> ParseError {
    ParseError(format!("{what} is not valid UTF-8: {err}"))
}

/// Parses a multistatus body.
pub fn parse(body: &[u8]) -> Result<Vec<Response>, ParseError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'<') {
        return Err(ParseError(describe_non_xml(body)));
    }

    match scan::parse(body) {
        Some(responses) => Ok(responses),
        None => parse_events(body),
    }
}

/// Parses a multistatus body with quick-xml's reader: any XML, and the error messages. The fast scan
/// ([`scan::parse`]) hands every document it declines over to this.
fn parse_events(body: &[u8]) -> Result<Vec<Response>, ParseError> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().check_end_names = true;

    let mut doc = Document::new(body);
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|err| {
            ParseError(format!(
                "not well-formed XML: {}",
                crate::display::safe(&err.to_string(), 2 * QUOTE_MAX)
            ))
        })?;
        let after = || usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        match event {
            Event::Start(start) => doc.start_tag(&start, after())?,
            // An empty element is a start and an end at once; handled here rather than expanded by the
            // reader into two events, which costs a reader call per `<D:write/>`.
            Event::Empty(start) => {
                let at = after();
                doc.start_tag(&start, at)?;
                doc.end(at)?;
            }
            Event::End(_) => doc.end(before)?,
            Event::Text(t) => doc.text(&t)?,
            Event::CData(t) if !doc.keep_text => {
                std::str::from_utf8(&t).map_err(|err| utf8_error("CDATA", err))?;
            }
            Event::CData(t) => {
                let decoded = t.decode().map_err(|err| utf8_error("CDATA", err))?;
                doc.push_text(&decoded);
            }
            Event::GeneralRef(r) => {
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|err| ParseError(format!("bad character reference: {err}")))?
                } else {
                    match &*r {
                        b"amp" => Some('&'),
                        b"lt" => Some('<'),
                        b"gt" => Some('>'),
                        b"quot" => Some('"'),
                        b"apos" => Some('\''),
                        other => {
                            return Err(ParseError(format!(
                                "XML uses the undefined entity &{};",
                                quote(other)
                            )));
                        }
                    }
                };
                if let Some(ch) = ch {
                    doc.reference(ch);
                }
            }
            Event::DocType(doctype) => {
                // `<!DOCTYPE html>` opens almost every web page: name it for what it is.
                if doctype
                    .trim_ascii_start()
                    .get(..4)
                    .is_some_and(|name| name.eq_ignore_ascii_case(b"html"))
                {
                    return Err(ParseError("an HTML page instead of WebDAV XML".into()));
                }
                return Err(ParseError(
                    "the answer contains a DOCTYPE declaration, which Lockwatch refuses (entity expansion risk)".into(),
                ));
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    doc.finish()
}

/// The parser's state between events.
struct Document<'a> {
    body: &'a [u8],
    /// The open elements, innermost last.
    stack: Vec<El>,
    namespaces: Namespaces,
    /// The text of the innermost element so far (only while [`Document::keep_text`]).
    text: String,
    /// Whether text at this point is kept (inside an element whose value is read, or inside an owner).
    keep_text: bool,
    responses: Vec<Response>,
    /// Whether a response is open (it is the last of [`Document::responses`]).
    in_response: bool,
    propstat: Option<PropstatBuilder>,
    lock: Option<ActiveLock>,
    /// The owner being read, with the offset where its content starts.
    owner: Option<(usize, Owner)>,
    seen_root: bool,
}

impl<'a> Document<'a> {
    fn new(body: &'a [u8]) -> Self {
        Document {
            body,
            stack: Vec::with_capacity(16),
            namespaces: Namespaces::default(),
            text: String::new(),
            keep_text: false,
            responses: Vec::new(),
            in_response: false,
            propstat: None,
            lock: None,
            owner: None,
            seen_root: false,
        }
    }

    /// The responses, once the whole document was read.
    fn finish(self) -> Result<Vec<Response>, ParseError> {
        if !self.seen_root {
            return Err(ParseError(
                "the answer is empty or has no XML element".into(),
            ));
        }
        if !self.stack.is_empty() {
            return Err(ParseError(
                "the XML document ends before its elements are closed (truncated?)".into(),
            ));
        }
        Ok(self.responses)
    }

    fn push_text(&mut self, piece: &str) {
        push_text(&mut self.text, &mut self.owner, piece);
    }

    /// A piece of character data (between markup and references, raw). Text nobody reads is only
    /// checked (it must still be UTF-8), never decoded or copied.
    fn text(&mut self, raw: &[u8]) -> Result<(), ParseError> {
        let text = std::str::from_utf8(raw).map_err(|err| utf8_error("text", err))?;
        if !self.keep_text {
            return Ok(());
        }
        // Values are short ASCII nearly always: no line ends to normalize then.
        if text.bytes().all(|b| b.is_ascii() && b != b'\r') {
            self.push_text(text);
        } else {
            let decoded = BytesText::from_escaped(text)
                .xml_content()
                .map_err(|err| utf8_error("text", err))?;
            self.push_text(&decoded);
        }
        Ok(())
    }

    /// A character written as a reference (`&amp;`, `&#x263A;`).
    fn reference(&mut self, ch: char) {
        if self.keep_text {
            self.push_text(ch.encode_utf8(&mut [0; 4]));
        }
    }

    /// A start tag, as quick-xml reads it; its content begins at offset `after`.
    fn start_tag(&mut self, start: &BytesStart<'_>, after: usize) -> Result<(), ParseError> {
        let attributes = !start.attributes_raw().iter().all(u8::is_ascii_whitespace);
        self.start(
            start.name().into_inner(),
            attributes.then_some(start),
            after,
        )
    }

    /// An element named `qname` starts, with `attributes` when it has any; its content begins at offset
    /// `after`.
    fn start(
        &mut self,
        qname: &[u8],
        attributes: Option<&BytesStart<'_>>,
        after: usize,
    ) -> Result<(), ParseError> {
        let stack = &mut self.stack;
        if stack.len() >= MAX_DEPTH {
            return Err(ParseError(format!(
                "the XML nests elements more than {MAX_DEPTH} levels deep"
            )));
        }
        if let Some(start) = attributes {
            self.namespaces.declare(start, stack.len())?;
        }
        let (prefix, local) = split_name(qname);
        let el = match self.namespaces.resolve(prefix)? {
            Some(ns) => classify(ns, local),
            None => El::Other,
        };
        if !self.seen_root {
            if local.eq_ignore_ascii_case(b"html") {
                return Err(ParseError("an HTML page instead of WebDAV XML".into()));
            }
            if el != El::Multistatus {
                return Err(ParseError(format!(
                    "expected a DAV:multistatus document, found <{}>",
                    quote(qname)
                )));
            }
            self.seen_root = true;
        }
        let parent = stack.last().copied();
        let grandparent = stack.iter().rev().nth(1).copied();
        let in_prop = parent == Some(El::Prop) && grandparent == Some(El::Propstat);
        match (parent, el) {
            (Some(El::Multistatus), El::Response) => {
                self.responses.push(Response::default());
                self.in_response = true;
            }
            (Some(El::Response), El::Propstat) => self.propstat = Some(PropstatBuilder::default()),
            (Some(El::LockDiscovery), El::ActiveLock) => self.lock = Some(ActiveLock::default()),
            (Some(El::ActiveLock), El::Owner) => self.owner = Some((after, Owner::default())),
            (Some(El::LockScope), El::Exclusive | El::Shared) => {
                let scope = if el == El::Exclusive {
                    LockScope::Exclusive
                } else {
                    LockScope::Shared
                };
                match grandparent {
                    Some(El::ActiveLock) => {
                        if let Some(lock) = self.lock.as_mut() {
                            lock.scope = Some(scope);
                        }
                    }
                    Some(El::LockEntry) => {
                        if let Some(ps) = self.propstat.as_mut()
                            && let Prop::Found(scopes) = &mut ps.props.supportedlock
                            && !scopes.contains(&scope)
                        {
                            scopes.push(scope);
                        }
                    }
                    _ => {}
                }
            }
            (Some(El::ResourceType), El::Collection) => {
                if let Some(ps) = self.propstat.as_mut() {
                    ps.props.collection = Prop::Found(true);
                }
            }
            _ => {}
        }
        if in_prop && let Some(ps) = self.propstat.as_mut() {
            ps.names |= el.bit();
            match el {
                El::LockDiscovery => ps.props.lockdiscovery = Prop::Found(Vec::new()),
                El::SupportedLock => ps.props.supportedlock = Prop::Found(Vec::new()),
                El::ResourceType => ps.props.collection = Prop::Found(false),
                _ => {}
            }
        }
        owner_boundary(&mut self.owner);
        stack.push(el);
        self.text.clear();
        self.keep_text = self.owner.is_some() || el.keeps_text();
        Ok(())
    }

    /// The innermost element ends at offset `before`.
    fn end(&mut self, before: usize) -> Result<(), ParseError> {
        let Some(el) = self.stack.pop() else {
            return Err(ParseError("unbalanced end tag".into()));
        };
        let stack = &self.stack;
        self.namespaces.end(stack.len());
        owner_boundary(&mut self.owner);
        let parent = stack.last().copied();
        let value = trim(&self.text);
        let lock = &mut self.lock;
        match (parent, el) {
            (Some(El::Multistatus), El::Response) => {
                self.in_response = false;
            }
            (Some(El::Response), El::Href) => {
                if let Some(r) = open_response(&mut self.responses, self.in_response)
                    && r.href.is_empty()
                {
                    r.href = value.to_owned();
                }
            }
            (Some(El::Response), El::Status) => {
                if let Some(r) = open_response(&mut self.responses, self.in_response) {
                    r.status = status_code(value);
                }
            }
            (Some(El::Propstat), El::Status) => {
                if let Some(ps) = self.propstat.as_mut() {
                    ps.status = status_code(value);
                }
            }
            (Some(El::Response), El::Propstat) => {
                if let (Some(ps), Some(r)) = (
                    self.propstat.take(),
                    open_response(&mut self.responses, self.in_response),
                ) {
                    merge(&mut r.props, ps);
                }
            }
            (Some(El::LockDiscovery), El::ActiveLock) => {
                if let (Some(l), Some(ps)) = (lock.take(), self.propstat.as_mut())
                    && let Prop::Found(locks) = &mut ps.props.lockdiscovery
                {
                    locks.push(l);
                }
            }
            (Some(El::ActiveLock), El::Depth) => set(lock, |l| l.depth = Some(value.to_owned())),
            (Some(El::ActiveLock), El::Timeout) => {
                set(lock, |l| l.timeout = Some(value.to_owned()))
            }
            (Some(El::LockToken), El::Href) => set(lock, |l| {
                if l.token.is_none() && !value.is_empty() {
                    l.token = Some(value.to_owned());
                }
            }),
            (Some(El::LockRoot), El::Href) => set(lock, |l| {
                if !value.is_empty() {
                    l.root = Some(value.to_owned());
                }
            }),
            (Some(El::ActiveLock), El::Owner) => {
                if let Some((start, mut o)) = self.owner.take() {
                    o.raw = self
                        .body
                        .get(start..before)
                        .map(|raw| String::from_utf8_lossy(raw).trim().to_owned())
                        .unwrap_or_default();
                    o.text = collapse_whitespace(&o.text);
                    set(lock, |l| l.owner = Some(o));
                }
            }
            (Some(El::Owner), El::Href) => {
                if let Some((_, o)) = self.owner.as_mut()
                    && o.href.is_none()
                    && !value.is_empty()
                {
                    o.href = Some(value.to_owned());
                }
            }
            (Some(El::Prop), leaf) if stack.iter().rev().nth(1) == Some(&El::Propstat) => {
                if let Some(ps) = self.propstat.as_mut() {
                    let v = || Prop::Found(value.to_owned());
                    match leaf {
                        El::GetEtag => ps.props.etag = v(),
                        El::FileId => ps.props.fileid = v(),
                        El::NcLock => ps.props.nc.lock = v(),
                        El::NcOwnerType => ps.props.nc.owner_type = v(),
                        El::NcOwner => ps.props.nc.owner = v(),
                        El::NcDisplayName => ps.props.nc.displayname = v(),
                        El::NcEditor => ps.props.nc.editor = v(),
                        El::NcTime => ps.props.nc.time = v(),
                        El::NcTimeout => ps.props.nc.timeout = v(),
                        El::NcToken => ps.props.nc.token = v(),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        self.text.clear();
        self.keep_text = self.owner.is_some() || stack.last().is_some_and(|el| el.keeps_text());
        Ok(())
    }
}

/// The response being read: the last one, while it is open.
fn open_response(responses: &mut [Response], open: bool) -> Option<&mut Response> {
    responses.last_mut().filter(|_| open)
}

/// Server-supplied bytes for an error message: inert, one line, bounded.
fn quote(bytes: &[u8]) -> String {
    crate::display::safe(
        &String::from_utf8_lossy(&bytes[..bytes.len().min(4 * QUOTE_MAX)]),
        QUOTE_MAX,
    )
}

fn set(lock: &mut Option<ActiveLock>, f: impl FnOnce(&mut ActiveLock)) {
    if let Some(lock) = lock.as_mut() {
        f(lock);
    }
}

fn push_text(text: &mut String, owner: &mut Option<(usize, Owner)>, piece: &str) {
    text.push_str(piece);
    if let Some((_, o)) = owner.as_mut() {
        o.text.push_str(piece);
    }
}

/// Separates the texts of different elements inside an owner (`<a>x</a><b>y</b>` reads `x y`). Only at
/// element boundaries: the pieces of one text (`AT&amp;T` arrives as `AT`, `&`, `T`) stay together.
fn owner_boundary(owner: &mut Option<(usize, Owner)>) {
    if let Some((_, o)) = owner.as_mut() {
        o.text.push(' ');
    }
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The properties a propstat can carry.
const PROPERTIES: [El; 13] = [
    El::ResourceType,
    El::GetEtag,
    El::LockDiscovery,
    El::SupportedLock,
    El::FileId,
    El::NcLock,
    El::NcOwnerType,
    El::NcOwner,
    El::NcDisplayName,
    El::NcEditor,
    El::NcTime,
    El::NcTimeout,
    El::NcToken,
];

/// Merges a finished propstat into the response: found values win over failures. Values are moved, not
/// cloned (a lock list per file adds up over a 10,000-file listing).
fn merge(props: &mut Props, ps: PropstatBuilder) {
    let ok = ps.status.is_none_or(|s| (200..300).contains(&s));
    let failed = ps.status.unwrap_or(0);
    fn put<T>(slot: &mut Prop<T>, new: &mut Prop<T>, ok: bool, failed: u16) {
        match (ok, &slot) {
            (true, _) => {
                if let Prop::Found(_) = new {
                    *slot = std::mem::take(new);
                }
            }
            (false, Prop::Found(_)) => {}
            (false, _) => *slot = Prop::Failed(failed),
        }
    }
    let PropstatBuilder {
        props: mut p,
        names,
        ..
    } = ps;
    for name in PROPERTIES.into_iter().filter(|el| names & el.bit() != 0) {
        match name {
            El::ResourceType => put(&mut props.collection, &mut p.collection, ok, failed),
            El::GetEtag => put(&mut props.etag, &mut p.etag, ok, failed),
            El::LockDiscovery => put(&mut props.lockdiscovery, &mut p.lockdiscovery, ok, failed),
            El::SupportedLock => put(&mut props.supportedlock, &mut p.supportedlock, ok, failed),
            El::FileId => put(&mut props.fileid, &mut p.fileid, ok, failed),
            El::NcLock => put(&mut props.nc.lock, &mut p.nc.lock, ok, failed),
            El::NcOwnerType => put(&mut props.nc.owner_type, &mut p.nc.owner_type, ok, failed),
            El::NcOwner => put(&mut props.nc.owner, &mut p.nc.owner, ok, failed),
            El::NcDisplayName => put(&mut props.nc.displayname, &mut p.nc.displayname, ok, failed),
            El::NcEditor => put(&mut props.nc.editor, &mut p.nc.editor, ok, failed),
            El::NcTime => put(&mut props.nc.time, &mut p.nc.time, ok, failed),
            El::NcTimeout => put(&mut props.nc.timeout, &mut p.nc.timeout, ok, failed),
            El::NcToken => put(&mut props.nc.token, &mut p.nc.token, ok, failed),
            _ => {}
        }
    }
}

/// The code in a status line such as `HTTP/1.1 404 Not Found` (lenient: the first 3-digit number).
fn status_code(line: &str) -> Option<u16> {
    // `HTTP/1.1 200 OK` as servers write it, read without splitting the line into words.
    let bytes = line.as_bytes();
    if bytes.starts_with(b"HTTP/")
        && let Some(space) = bytes.iter().position(|&b| !b.is_ascii_graphic())
        && bytes[space] == b' '
        && let Some(digits) = bytes.get(space + 1..space + 4)
        && digits.iter().all(u8::is_ascii_digit)
        && bytes.get(space + 4).is_none_or(|&b| b == b' ')
    {
        return digits
            .iter()
            .try_fold(0u16, |code, &d| Some(code * 10 + u16::from(d - b'0')));
    }
    line.split_whitespace()
        .find_map(|tok| (tok.len() == 3).then(|| tok.parse::<u16>().ok()).flatten())
}

/// `text` without surrounding whitespace; values rarely have any, and seeing that takes two bytes.
fn trim(text: &str) -> &str {
    let solid = |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii() && !char::from(b).is_whitespace());
    if solid(text.as_bytes().first()) && solid(text.as_bytes().last()) {
        text
    } else {
        text.trim()
    }
}

/// A short description of a body that is not XML at all.
fn describe_non_xml(body: &[u8]) -> String {
    if body.iter().all(u8::is_ascii_whitespace) {
        return "an empty answer instead of WebDAV XML".into();
    }
    let head = String::from_utf8_lossy(&body[..body.len().min(200)]).to_ascii_lowercase();
    if head.contains("<html") || head.contains("<!doctype html") {
        "an HTML page instead of WebDAV XML".into()
    } else {
        "text that is not XML".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(body: &str) -> Response {
        let mut all = parse(body.as_bytes()).unwrap();
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    #[test]
    fn prefixes_do_not_matter_namespaces_do() {
        let body = r#"<?xml version="1.0"?>
<ns0:multistatus xmlns:ns0="DAV:"><ns0:response><ns0:href>/a</ns0:href>
<ns0:propstat><ns0:prop><lp1:getetag xmlns:lp1="DAV:">"e1"</lp1:getetag>
<lockdiscovery xmlns="DAV:"><activelock><lockscope><exclusive/></lockscope><depth>0</depth>
<owner><href>mailto:bob@example.com</href></owner><timeout>Second-600</timeout>
<locktoken><href>opaquelocktoken:1</href></locktoken></activelock></lockdiscovery>
<x:lockdiscovery xmlns:x="urn:not-dav"/></ns0:prop><ns0:status>HTTP/1.1 200 OK</ns0:status></ns0:propstat></ns0:response></ns0:multistatus>"#;
        let r = one(body);
        assert_eq!(r.href, "/a");
        assert_eq!(r.props.etag, Prop::Found("\"e1\"".into()));
        let locks = r.props.lockdiscovery.found().unwrap();
        assert_eq!(locks.len(), 1);
        let l = &locks[0];
        assert_eq!(l.scope, Some(LockScope::Exclusive));
        assert_eq!(l.token.as_deref(), Some("opaquelocktoken:1"));
        assert_eq!(l.timeout.as_deref(), Some("Second-600"));
        let owner = l.owner.as_ref().unwrap();
        assert_eq!(owner.href.as_deref(), Some("mailto:bob@example.com"));
        assert_eq!(owner.raw, "<href>mailto:bob@example.com</href>");
    }

    #[test]
    fn failed_propstats_are_not_unlocked() {
        let body = r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/a</d:href>
<d:propstat><d:prop><d:getetag>x</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
<d:propstat><d:prop><d:lockdiscovery/><d:supportedlock/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>
</d:response></d:multistatus>"#;
        let r = one(body);
        assert_eq!(r.props.lockdiscovery, Prop::Failed(404));
        assert_eq!(r.props.supportedlock, Prop::Failed(404));
        assert_eq!(r.props.collection, Prop::Absent);
    }

    #[test]
    fn empty_lockdiscovery_is_found_and_empty() {
        let r = one(
            r#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/a/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype><D:lockdiscovery/><D:supportedlock><D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry><D:lockentry><D:lockscope><D:shared/></D:lockscope></D:lockentry></D:supportedlock></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"#,
        );
        assert_eq!(r.props.lockdiscovery, Prop::Found(vec![]));
        assert_eq!(r.props.collection, Prop::Found(true));
        assert_eq!(
            r.props.supportedlock,
            Prop::Found(vec![LockScope::Exclusive, LockScope::Shared])
        );
    }

    #[test]
    fn text_owner_entities_and_cdata() {
        let r = one(
            r#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/a%20b</D:href><D:propstat><D:prop><D:lockdiscovery><D:activelock><D:lockscope><D:shared/></D:lockscope><D:owner>  Bob &amp; <![CDATA[Co]]>
 &#x263A; </D:owner></D:activelock><D:activelock><D:lockscope><D:shared/></D:lockscope><D:owner/></D:activelock></D:lockdiscovery></D:prop></D:propstat></D:response></D:multistatus>"#,
        );
        let locks = r.props.lockdiscovery.found().unwrap();
        assert_eq!(locks.len(), 2);
        assert_eq!(locks[0].owner.as_ref().unwrap().text, "Bob & Co ☺");
        assert_eq!(locks[1].owner.as_ref().unwrap().text, "");
        assert_eq!(locks[0].depth, None);
    }

    #[test]
    fn owner_text_keeps_entities_inside_words_and_separates_elements() {
        let r = one(
            r#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/a</D:href><D:propstat><D:prop><D:lockdiscovery><D:activelock><D:owner>AT&amp;T &lt;img&gt;<D:href>x</D:href><o:n xmlns:o="urn:o">Ann</o:n>Lee</D:owner></D:activelock></D:lockdiscovery></D:prop></D:propstat></D:response></D:multistatus>"#,
        );
        let owner = r.props.lockdiscovery.found().unwrap()[0]
            .owner
            .clone()
            .unwrap();
        assert_eq!(owner.text, "AT&T <img> x Ann Lee");
    }

    #[test]
    fn nextcloud_props() {
        let r = one(
            r#"<d:multistatus xmlns:d="DAV:" xmlns:nc="http://nextcloud.org/ns" xmlns:oc="http://owncloud.org/ns"><d:response><d:href>/remote.php/dav/files/alice/B.xlsx</d:href><d:propstat><d:prop><oc:fileid>42</oc:fileid><nc:lock>1</nc:lock><nc:lock-owner-type>0</nc:lock-owner-type><nc:lock-owner>bob</nc:lock-owner><nc:lock-owner-displayname> Bob </nc:lock-owner-displayname><nc:lock-time>1700000000</nc:lock-time><nc:lock-timeout>-60</nc:lock-timeout></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat><d:propstat><d:prop><nc:lock-owner-editor/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response></d:multistatus>"#,
        );
        assert_eq!(r.props.fileid, Prop::Found("42".into()));
        assert_eq!(r.props.nc.lock, Prop::Found("1".into()));
        assert_eq!(r.props.nc.displayname, Prop::Found("Bob".into()));
        assert_eq!(r.props.nc.timeout, Prop::Found("-60".into()));
        assert_eq!(r.props.nc.editor, Prop::Failed(404));
    }

    #[test]
    fn hostile_and_broken_documents_are_errors() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("<html><body>Error</body></html>", "HTML"),
            (
                "<!DOCTYPE html>\n<html><head><title>Sign in</title></head></html>",
                "an HTML page",
            ),
            (
                r#"<?xml version="1.0"?><!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN"><HTML></HTML>"#,
                "an HTML page",
            ),
            ("Internal Server Error", "not XML"),
            (r#"<d:multistatus xmlns:d="DAV:"><d:response>"#, "truncated"),
            (
                r#"<d:multistatus xmlns:d="DAV:"><d:response></d:multistatus>"#,
                "well-formed",
            ),
            (r#"<x:multistatus xmlns:d="DAV:"/>"#, "undeclared"),
            (
                r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><d:multistatus xmlns:d="DAV:">&lol2;</d:multistatus>"#,
                "DOCTYPE",
            ),
            (
                r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>&xxe;</d:href></d:response></d:multistatus>"#,
                "undefined entity",
            ),
            (r#"<d:error xmlns:d="DAV:"/>"#, "expected a DAV:multistatus"),
        ];
        for (body, needle) in cases {
            let err = parse(body.as_bytes()).unwrap_err();
            assert!(err.0.contains(needle), "{body:?}: {err}");
        }
    }

    /// Documents shaped to make the parser slow or its error messages huge: each is refused quickly, with a
    /// short message. Without the namespace limit, this 20,000-declaration case alone took 3 s (prefix
    /// resolution is quadratic), and a 64 MiB document of that shape would take hours.
    #[test]
    fn adversarial_shapes_fail_fast_with_short_messages() {
        let many_ns = {
            let decls: String = (0..20_000).map(|i| format!(" xmlns:p{i}=\"u\"")).collect();
            let uses = "<p0:x/>".repeat(20_000);
            format!(r#"<d:multistatus xmlns:d="DAV:"{decls}>{uses}</d:multistatus>"#)
        };
        let deep = format!(
            r#"<d:multistatus xmlns:d="DAV:">{}"#,
            "<d:x>".repeat(100_000)
        );
        let long_name = format!("<{0}>x</{0}>", "n".repeat(100_000));
        let long_prefix = format!(r#"<{0}:m xmlns:d="DAV:"/>"#, "p".repeat(100_000));
        let long_entity = format!(
            r#"<d:multistatus xmlns:d="DAV:">&{};</d:multistatus>"#,
            "e".repeat(100_000)
        );
        let cases: [(&str, &str); 5] = [
            (&many_ns, "namespaces at once"),
            (&deep, "levels deep"),
            (&long_name, "expected a DAV:multistatus"),
            (&long_prefix, "undeclared namespace prefix"),
            (&long_entity, "undefined entity"),
        ];
        for (body, needle) in cases {
            let started = std::time::Instant::now();
            let err = parse(body.as_bytes()).unwrap_err();
            assert!(err.0.contains(needle), "{needle}: {err}");
            assert!(
                err.0.chars().count() < 200,
                "{needle}: {} chars",
                err.0.len()
            );
            assert!(
                started.elapsed() < std::time::Duration::from_secs(2),
                "{needle}: {:?}",
                started.elapsed()
            );
        }
    }

    #[test]
    fn namespaces_redeclared_per_element_stay_within_the_limit() {
        // Apache declares `lp1`/`lp2` on every property of every response: thousands in a document, few at once.
        let response = r#"<D:response xmlns:lp1="DAV:" xmlns:lp2="http://apache.org/dav/props/"><D:href>/a</D:href><D:propstat><D:prop><lp1:getetag>"e"</lp1:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"#;
        let body = format!(
            r#"<D:multistatus xmlns:D="DAV:" xmlns:ns0="DAV:">{}</D:multistatus>"#,
            response.repeat(5_000)
        );
        assert_eq!(parse(body.as_bytes()).unwrap().len(), 5_000);
    }

    #[test]
    fn namespace_rules_follow_xml_names() {
        // A default namespace, undone by `xmlns=""` below it; a prefix redeclared inside an element.
        let r = one(
            r#"<multistatus xmlns="DAV:"><response><href>/a</href><propstat><prop><getetag>"e"</getetag><p:getetag xmlns:p="urn:x">no</p:getetag><lockdiscovery xmlns=""/><q:x xmlns:q="DAV:"><q:y/></q:x></prop></propstat></response></multistatus>"#,
        );
        assert_eq!(r.props.etag, Prop::Found("\"e\"".into()));
        assert_eq!(r.props.lockdiscovery, Prop::Absent, "not in DAV: any more");
        let cases: &[(&str, &str)] = &[
            // `xmlns:p=""` undeclares p (XML 1.1); using it afterwards is an undeclared prefix.
            (
                r#"<d:multistatus xmlns:d="DAV:"><d:response xmlns:d=""/></d:multistatus>"#,
                "undeclared namespace prefix `d`",
            ),
            // A prefix declared on an element is gone after it.
            (
                r#"<d:multistatus xmlns:d="DAV:"><x:a xmlns:x="urn:x"/><x:b/></d:multistatus>"#,
                "undeclared namespace prefix `x`",
            ),
            (
                r#"<d:multistatus xmlns:d="DAV:" xmlns:xml="urn:not-xml"/>"#,
                "not well-formed",
            ),
            (
                r#"<d:multistatus xmlns:d="DAV:" xmlns:xmlns="urn:x"/>"#,
                "not well-formed",
            ),
        ];
        for (body, needle) in cases {
            let err = parse(body.as_bytes()).unwrap_err();
            assert!(err.0.contains(needle), "{body}: {err}");
        }
        // The reserved `xml` prefix needs no declaration.
        let r = one(
            r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href xml:lang="en">/a</d:href><xml:note/></d:response></d:multistatus>"#,
        );
        assert_eq!(r.href, "/a");
    }

    #[test]
    fn text_inside_skipped_elements_is_still_checked() {
        let mut body =
            br#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/a</d:href><d:x>"#.to_vec();
        body.extend_from_slice(b"\xff\xfe");
        body.extend_from_slice(br#"</d:x></d:response></d:multistatus>"#);
        let err = parse(&body).unwrap_err();
        assert!(err.0.contains("not valid UTF-8"), "{err}");
        let err = parse(
            br#"<d:multistatus xmlns:d="DAV:"><d:response><d:x>&nope;</d:x></d:response></d:multistatus>"#,
        )
        .unwrap_err();
        assert!(err.0.contains("undefined entity"), "{err}");
    }

    #[test]
    fn status_lines_as_servers_write_them_and_otherwise() {
        let cases: &[(&str, Option<u16>)] = &[
            ("HTTP/1.1 200 OK", Some(200)),
            ("HTTP/1.1 404 Not Found", Some(404)),
            ("HTTP/1.1 423", Some(423)),
            ("HTTP/1.1  207 Multi-Status", Some(207)),
            ("HTTP/1.1\t424 Failed Dependency", Some(424)),
            ("HTTP/1.1 2000 x 403", Some(403)),
            ("HTTP/1.1 20 OK", None),
            ("HTTP/1.1 +20 OK", Some(20)),
            ("HTTP/1.1 200\u{a0}OK", Some(200)),
            ("502 Bad Gateway", Some(502)),
            ("", None),
        ];
        for (line, code) in cases {
            assert_eq!(status_code(line), *code, "{line:?}");
        }
    }

    #[test]
    fn values_are_trimmed_of_any_whitespace() {
        for (text, trimmed) in [
            ("e", "e"),
            ("", ""),
            (" e\t", "e"),
            ("\u{b}e\u{b}", "e"),
            ("\u{a0}é\u{2028}", "é"),
            ("a b", "a b"),
        ] {
            assert_eq!(trim(text), trimmed, "{text:?}");
        }
    }

    #[test]
    fn response_level_status() {
        let r = one(
            r#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/gone</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response></D:multistatus>"#,
        );
        assert_eq!(r.status, Some(404));
        assert_eq!(r.props, Props::default());
    }
}
