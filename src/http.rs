//! The HTTP transport shared by all protocols: one connection-reusing client per server, hard limits, and
//! errors a person can act on.
//!
//! Three policies live here so no protocol module can forget them:
//! - **Limits.** Every request has a time limit covering the whole exchange (a server trickling one byte a
//!   second still times out), and bodies are cut off at [`MAX_BODY_BYTES`]. All bodies held in memory at
//!   once, across every server and request of the process, share [`BODY_BUDGET_BYTES`]: fifty servers
//!   answering huge documents together cannot add up to fifty times the per-response limit.
//! - **Redirects** are followed by hand, at most [`MAX_REDIRECTS`] times and only within the same origin,
//!   keeping the method (reqwest would turn a redirected `PROPFIND` into `GET`). A redirect elsewhere is an
//!   error: credentials never travel to a host the user did not configure.
//! - **No secrets in errors.** Errors are reduced to their cause; URLs in messages are redacted.
//!
//! TLS verification is always on. A server with a private CA gets `ca_file`, which makes that CA the only
//! trusted root *for that server*.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode};
use tokio::sync::{Semaphore, SemaphorePermit};
use url::Url;

use crate::config::ServerConfig;
use crate::error::{Error, Result};
use crate::secrets::{Secret, redact_url};

/// Largest response body Lockwatch reads (64 MiB: a Depth-1 listing of ~50,000 files).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Most bytes of response bodies held in memory at once by the whole process (256 MiB: four answers at
/// [`MAX_BODY_BYTES`]). A body holds its share from the moment it is read until its last [`Bytes`] is dropped,
/// that is until it has been parsed.
pub const BODY_BUDGET_BYTES: usize = 4 * MAX_BODY_BYTES;
/// Bodies up to this size wait for budget when it is used up; larger ones are refused at once
/// ([`Error::OverBudget`]). So an ordinary answer is never refused because huge ones are in flight, and the
/// huge ones never wait for each other (which could deadlock until their time limits).
const SMALL_BODY_BYTES: usize = 1024 * 1024;
/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;
/// Time allowed to establish a connection, within the request's time limit.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The process-wide budget for response bodies, one permit per byte.
static BODY_BUDGET: Semaphore = Semaphore::const_new(BODY_BUDGET_BYTES);

/// A body and its share of [`BODY_BUDGET`], which goes back when the last [`Bytes`] of it is dropped.
struct Budgeted {
    body: Vec<u8>,
    _share: Option<SemaphorePermit<'static>>,
}

impl AsRef<[u8]> for Budgeted {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

/// A complete HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The full body (at most [`MAX_BODY_BYTES`]).
    pub body: Bytes,
    /// The URL that answered (after same-origin redirects).
    pub url: Url,
}

impl Reply {
    /// The body as text for messages: the first line of non-markup text, at most 160 characters.
    pub fn excerpt(&self) -> String {
        excerpt(&self.body)
    }
}

/// A short, safe excerpt of an error body for messages: the text of an HTML or XML page without its markup,
/// scripts and styles, on one line, without control or bidi characters, at most 160 characters.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let mut plain = String::new();
    let mut rest: &str = &text;
    while let Some(ch) = rest.chars().next() {
        if ch == '<' {
            let tag_end = rest.find('>').map_or(rest.len(), |i| i + 1);
            let name: String = rest[1..tag_end]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            rest = &rest[tag_end..];
            // What a script or style says is code, not a message.
            if name == "script" || name == "style" {
                let close = format!("</{name}");
                let lower = rest.to_ascii_lowercase();
                rest = lower.find(&close).map_or("", |i| &rest[i..]);
            }
            plain.push(' ');
            continue;
        }
        // Bidi overrides and line separators are not `is_control` but reorder or break what follows.
        plain.push(if crate::display::is_unsafe(ch) {
            ' '
        } else {
            ch
        });
        rest = &rest[ch.len_utf8()..];
    }
    let collapsed = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::display::truncate(&collapsed, 160)
}

/// A cheap-to-clone HTTP client bound to one server's credentials and limits.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    auth: Option<(String, Secret)>,
    timeout: Duration,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("user", &self.auth.as_ref().map(|(u, _)| u))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for `server`, authenticating as its user with `password` (when there is a user).
    pub fn new(server: &ServerConfig, password: Option<Secret>) -> Result<HttpClient> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("Lockwatch/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT.min(server.timeout))
            .timeout(server.timeout)
            .pool_idle_timeout(Duration::from_secs(90));
        if let Some(path) = &server.ca_file {
            let pem = std::fs::read(path).map_err(|err| {
                Error::io(format!("cannot read ca_file {}", path.display()), &err)
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| Error::Tls {
                host: host_of(&server.url),
                detail: format!("{} holds no usable PEM certificate", path.display()),
            })?;
            if certs.is_empty() {
                // An empty trust list would refuse every certificate with a misleading "unknown issuer".
                return Err(Error::Tls {
                    host: host_of(&server.url),
                    detail: format!("{} holds no PEM certificate", path.display()),
                });
            }
            builder = builder.tls_certs_only(certs);
        }
        let inner = builder.build().map_err(|err| Error::Tls {
            host: host_of(&server.url),
            detail: cause(&err),
        })?;
        Ok(HttpClient {
            inner,
            auth: server.username.clone().zip(password),
            timeout: server.timeout,
        })
    }

    /// The configured user name, if any.
    pub fn user(&self) -> Option<&str> {
        self.auth.as_ref().map(|(u, _)| u.as_str())
    }

    /// Whether requests carry credentials.
    pub fn has_credentials(&self) -> bool {
        self.auth.is_some()
    }

    /// Sends one request and reads the whole answer, following same-origin redirects.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Reply> {
        let origin = url.origin();
        let mut url = url;
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self
                .inner
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if let Some((user, password)) = &self.auth {
                request = request.basic_auth(user, Some(password.expose()));
            }
            if let Some(body) = &body {
                request = request.body(body.clone());
            }
            tracing::debug!(method = %method, url = %redact_url(&url), "request");
            let response = request
                .send()
                .await
                .map_err(|err| self.map_error(&url, &err))?;
            let status = response.status();
            tracing::debug!(status = status.as_u16(), url = %redact_url(&url), "response");
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let target = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| url.join(loc).ok());
                let Some(target) = target else {
                    return Err(Error::Status {
                        status: status.as_u16(),
                        detail: "a redirect without a usable Location header".into(),
                    });
                };
                if target.origin() != origin {
                    return Err(Error::Redirected {
                        to: redact_url(&target),
                    });
                }
                url = target;
                continue;
            }
            let headers = response.headers().clone();
            let body = self.read_body(response, &url).await?;
            tracing::trace!(bytes = body.len(), "body");
            return Ok(Reply {
                status,
                headers,
                body,
                url,
            });
        }
        Err(Error::RedirectLoop)
    }

    async fn read_body(&self, mut response: reqwest::Response, url: &Url) -> Result<Bytes> {
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY_BYTES as u64)
        {
            return Err(too_large());
        }
        // Each chunk is copied out at once, so the transport's read buffers are freed as they go (keeping
        // them would hold about twice the data). The buffer is a `Vec`: large ones grow by `realloc`, which
        // moves pages instead of copying them, so resident memory stays close to the bytes read.
        let mut body: Vec<u8> = Vec::with_capacity(
            response
                .content_length()
                .map_or(64 * 1024, |len| len as usize),
        );
        let mut share: Option<SemaphorePermit<'static>> = None;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| self.map_error(url, &err))?
        {
            let grown = body.len() + chunk.len();
            if grown > MAX_BODY_BYTES {
                return Err(too_large());
            }
            // A chunk is at most MAX_BODY_BYTES (checked above), which fits the permit count.
            let bytes = u32::try_from(chunk.len()).map_err(|_| too_large())?;
            let more = if grown <= SMALL_BODY_BYTES {
                // Waits only for bodies that are past the small size, which never wait themselves: each
                // either finishes, fails, or hits its time limit, and gives its share back.
                BODY_BUDGET.acquire_many(bytes).await.ok()
            } else {
                Some(
                    BODY_BUDGET
                        .try_acquire_many(bytes)
                        .map_err(|_| Error::OverBudget {
                            budget_mb: (BODY_BUDGET_BYTES / (1024 * 1024)) as u64,
                        })?,
                )
            };
            match (&mut share, more) {
                (Some(held), Some(more)) => held.merge(more),
                (held, more) => *held = held.take().or(more),
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Bytes::from_owner(Budgeted {
            body,
            _share: share,
        }))
    }

    fn map_error(&self, url: &Url, err: &reqwest::Error) -> Error {
        let host = host_of(url);
        let detail = cause(err);
        if err.is_timeout() {
            return Error::Timeout {
                host,
                secs: self.timeout.as_secs(),
            };
        }
        if let Some(explained) = tls_failure(err) {
            return Error::Tls {
                host,
                detail: explained,
            };
        }
        if err.is_connect() {
            return Error::Unreachable { host, detail };
        }
        if (err.is_body() || err.is_decode())
            && let Some(how) = broken_connection(err)
        {
            return Error::ConnectionBroken { host, detail: how };
        }
        if err.is_body() || err.is_decode() {
            return Error::Malformed {
                detail: format!("the answer broke off: {detail}"),
            };
        }
        Error::Unreachable { host, detail }
    }
}

/// When the body of `err` failed because the connection ended (a reset, a close before the announced end):
/// a transport failure, not a malformed answer.
fn broken_connection(err: &reqwest::Error) -> Option<String> {
    use std::io::ErrorKind as K;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                K::ConnectionReset => return Some("the server reset the connection".into()),
                K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                    return Some("the connection closed early".into());
                }
                _ => {}
            }
        }
        if let Some(hyper) = s.downcast_ref::<hyper::Error>()
            && (hyper.is_incomplete_message() || hyper.is_closed())
        {
            return Some("the connection closed before the answer was complete".into());
        }
        source = s.source();
    }
    None
}

fn too_large() -> Error {
    Error::TooLarge {
        limit_mb: (MAX_BODY_BYTES / (1024 * 1024)) as u64,
    }
}

/// `host:port` of a URL, for messages.
pub fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => redact_url(url),
    }
}

/// The innermost cause of an error, without URLs: hyper / io / rustls messages name no URL.
fn cause(err: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    let text = last.unwrap_or_else(|| err_without_url(err));
    crate::display::truncate(&text, 200)
}

fn err_without_url(err: &reqwest::Error) -> String {
    // reqwest::Error::without_url consumes; rebuild the kind description instead.
    if err.is_timeout() {
        "timed out".into()
    } else if err.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

/// The rustls error inside `err`, also when `io::Error`s wrap it (the TLS connector wraps it twice, and an
/// `io::Error`'s `source()` skips the error it wraps, so the plain source chain never reaches it).
fn rustls_error(err: &reqwest::Error) -> Option<&rustls::Error> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(s) = source {
        let mut inner: &(dyn std::error::Error + 'static) = s;
        loop {
            if let Some(found) = inner.downcast_ref::<rustls::Error>() {
                return Some(found);
            }
            match inner
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                Some(wrapped) => inner = wrapped,
                None => break,
            }
        }
        source = s.source();
    }
    None
}

/// A name from a certificate as rustls describes it (`DnsName("files.example")`), as a person writes it.
fn certificate_name(described: &str) -> String {
    let plain = described
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map_or(described, |inner| inner.trim_matches('"'));
    crate::display::safe(plain, 80)
}

/// When `err` is a TLS failure: what went wrong, in words, and what the user can do about it.
///
/// Each certificate problem gets its own advice: `ca_file` helps with a private CA, never with an expired
/// certificate or a wrong host name, and the advice must not invite anyone to trust a broken certificate.
fn tls_failure(err: &reqwest::Error) -> Option<String> {
    use rustls::CertificateError as C;
    const PRIVATE_CA: &str =
        "if the server uses a private CA, set `ca_file` for it to that CA's PEM file";
    let Some(tls) = rustls_error(err) else {
        // Not a rustls error value, but its text says it is one (another TLS layer, or a changed wrapping).
        let text = cause(err);
        let lower = text.to_ascii_lowercase();
        let tls_words = ["certificate", "tls handshake", "invalid peer"];
        return tls_words
            .iter()
            .any(|w| lower.contains(w))
            .then(|| format!("{text}; {PRIVATE_CA}"));
    };
    Some(match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::Expired | C::ExpiredContext { .. } => {
                "its certificate has expired; the server's administrator must renew it (Lockwatch does not accept expired certificates)".to_owned()
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "its certificate is not valid yet; check this computer's clock".to_owned()
            }
            C::UnknownIssuer => format!(
                "its certificate is not signed by an authority this computer trusts (self-signed, or from a private CA); {PRIVATE_CA}"
            ),
            C::NotValidForName => {
                "its certificate was issued for another host name; use a host name the certificate names in the server URL".to_owned()
            }
            C::NotValidForNameContext { presented, .. } => {
                // The names come from the server: shown inert and short.
                let names: Vec<String> = presented.iter().take(5).map(|n| certificate_name(n)).collect();
                let names = crate::display::truncate(&names.join(", "), 160);
                format!(
                    "its certificate was issued for another host name ({names}); use a host name the certificate names in the server URL"
                )
            }
            C::Revoked => "its certificate has been revoked".to_owned(),
            other => format!(
                "its certificate was refused ({}); {PRIVATE_CA}",
                crate::display::truncate(&format!("{other:?}"), 120)
            ),
        },
        other => format!(
            "the TLS handshake failed ({})",
            crate::display::truncate(&other.to_string(), 160)
        ),
    })
}

/// Builds a header map from static pairs.
pub fn headers<const N: usize>(pairs: [(&'static str, &str); N]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(value) {
            map.insert(name, value);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_plain_short_and_inert() {
        assert_eq!(
            excerpt(b"<html><head><title>503</title><style>p{x:1}</style><SCRIPT>alert('x')</script></head><body><h1>Service\nUnavailable</h1>\xe2\x80\xaeevil</body></html>"),
            "503 Service Unavailable evil"
        );
        assert_eq!(excerpt(b"plain <b>bold"), "plain bold");
        assert_eq!(excerpt(b"<unclosed"), "");
        assert_eq!(excerpt("x".repeat(10_000).as_bytes()).chars().count(), 160);
    }

    #[test]
    fn certificate_names_are_shown_plain_and_inert() {
        assert_eq!(
            certificate_name("DnsName(\"other.example\")"),
            "other.example"
        );
        assert_eq!(certificate_name("IpAddress(10.0.0.1)"), "10.0.0.1");
        assert_eq!(certificate_name("plain.example"), "plain.example");
        assert!(!certificate_name("DnsName(\"a\u{202e}b\")").contains('\u{202e}'));
    }
}
