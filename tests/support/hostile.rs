//! A misbehaving HTTP server on 127.0.0.1, one [`Case`] per way a server can hurt a client.
//!
//! It is raw tokio TCP on purpose: an HTTP library would refuse to trickle, to reset a connection mid-answer
//! or to send a body that contradicts its headers. Every connection reads one request head (bounded), records
//! what it saw ([`Seen`]: method, target, `Authorization`), answers as its case says and closes. The same
//! handler runs behind TLS ([`HostileServer::start_tls`]) with certificates the tests make with `rcgen`.
//!
//! [`Listener`] is the other half of the "no fetch" and "no forwarding" cases: a port that only counts
//! connections, so a test can assert that Lockwatch never went there.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use super::Background;

/// What the server does with every request.
#[derive(Debug, Clone)]
pub enum Case {
    /// `207` whose body is not well-formed XML (mismatched end tag).
    MalformedXml,
    /// `207` whose body stops in the middle of a document.
    TruncatedXml,
    /// `207` with well-formed XML that uses an undeclared namespace prefix.
    UndeclaredPrefix,
    /// `200` with a web server's HTML error page (a proxy or login page in front of the DAV folder).
    HtmlPage,
    /// `207` whose DOCTYPE defines "billion laughs" entities and uses them.
    BillionLaughs,
    /// `207` whose DOCTYPE defines an external entity pointing at `target` and uses it.
    Xxe {
        /// The SYSTEM identifier: a URL of a [`Listener`], or a local file.
        target: String,
    },
    /// `207` with a body of `bytes` bytes for the watched file `Budget.xlsx`, streamed (no Content-Length, so
    /// the client cannot refuse early); `404` for anything else.
    Huge {
        /// Body size in bytes.
        bytes: u64,
    },
    /// A valid answer sent one byte per second.
    Trickle,
    /// Accepts the connection, reads the request, never answers.
    Silent,
    /// Reads the request and resets the connection (TCP RST) without answering.
    Reset,
    /// Sends the head and part of the body, then resets the connection.
    ResetMidBody,
    /// Answers `code` with `headers` and an HTML `body`.
    Status {
        /// HTTP status code.
        code: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: String,
    },
    /// `307` to `location` (absolute or relative).
    Redirect {
        /// The Location header.
        location: String,
    },
    /// `307` to the same path with a counter appended, forever.
    RedirectLoop,
    /// A valid Depth-1 listing of the watched folder with one member named `name`, locked by `owner`
    /// (written as plain text inside `DAV:owner`, XML-escaped).
    Names {
        /// The member's file name (decoded; it is percent-encoded into the href).
        name: String,
        /// The lock owner's text.
        owner: String,
    },
}

impl Case {
    /// A status answer with an HTML page and optional extra headers.
    pub fn status(code: u16, headers: &[(&str, &str)]) -> Case {
        Case::Status {
            code,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: format!(
                "<!DOCTYPE html><html><head><title>{code}</title><script>alert('x')</script></head><body><h1>Error {code}</h1><p>Something went wrong</p></body></html>"
            ),
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Request method.
    pub method: String,
    /// Request target (path and query).
    pub target: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

#[derive(Default)]
struct Log {
    connections: AtomicUsize,
    requests: Mutex<Vec<Seen>>,
}

/// The hostile server. Stops when dropped.
pub struct HostileServer {
    _guard: Background,
    addr: SocketAddr,
    tls: bool,
    log: Arc<Log>,
}

/// A certificate chain and key for [`HostileServer::start_tls`], in PEM.
#[derive(Clone)]
pub struct TlsIdentity {
    /// The server certificate (and intermediates), PEM.
    pub chain_pem: String,
    /// The private key, PEM.
    pub key_pem: String,
}

impl HostileServer {
    /// Starts a plain-HTTP server for `case`.
    pub fn start(case: Case) -> HostileServer {
        HostileServer::spawn(case, None)
    }

    /// Starts an HTTPS server for `case` presenting `identity`.
    pub fn start_tls(case: Case, identity: &TlsIdentity) -> HostileServer {
        use rustls::pki_types::pem::PemObject;
        let certs: Vec<_> =
            rustls::pki_types::CertificateDer::pem_slice_iter(identity.chain_pem.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        let key =
            rustls::pki_types::PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).unwrap();
        // An explicit provider: installing a process-wide default could change what the client under test uses.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        HostileServer::spawn(
            case,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
    }

    fn spawn(case: Case, tls: Option<tokio_rustls::TlsAcceptor>) -> HostileServer {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let log = Arc::new(Log::default());
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let is_tls = tls.is_some();
        let thread_log = log.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            thread_log.connections.fetch_add(1, Ordering::SeqCst);
                            let case = case.clone();
                            let log = thread_log.clone();
                            let tls = tls.clone();
                            tokio::spawn(async move {
                                if matches!(case, Case::Reset | Case::ResetMidBody) {
                                    // Closing the socket then sends RST instead of an orderly FIN.
                                    let _ = stream.set_zero_linger();
                                }
                                match tls {
                                    None => serve(stream, &case, &log, addr, false).await,
                                    Some(acceptor) => {
                                        // A client that refuses the certificate ends the handshake: fine.
                                        if let Ok(stream) = acceptor.accept(stream).await {
                                            serve(stream, &case, &log, addr, true).await;
                                        }
                                    }
                                }
                            });
                        }
                    }
                }
            });
        });
        HostileServer {
            _guard: Background {
                shutdown: Some(tx),
                thread: Some(thread),
            },
            addr,
            tls: is_tls,
            log,
        }
    }

    /// `http(s)://127.0.0.1:PORT/dav/`.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/dav/", self.addr)
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.log.connections.load(Ordering::SeqCst)
    }

    /// Requests read so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.log.requests.lock().unwrap().clone()
    }
}

/// Reads one request head (at most 64 KiB) and its Content-Length body.
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Seen> {
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let mut authorization = None;
    let mut length = 0usize;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("authorization") {
            authorization = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().unwrap_or(0);
        }
    }
    let mut have = buf.len() - head_end;
    while have < length.min(1024 * 1024) {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        have += n;
    }
    Some(Seen {
        method,
        target,
        authorization,
    })
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    case: &Case,
    log: &Log,
    addr: SocketAddr,
    tls: bool,
) {
    let Some(seen) = read_request(&mut stream).await else {
        return;
    };
    log.requests.lock().unwrap().push(seen.clone());
    let _ = answer(&mut stream, case, &seen, addr, tls).await;
}

/// A complete response with Content-Length and `Connection: close`.
fn response(code: u16, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {code} {}\r\n", reason(code));
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        207 => "Multi-Status",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        423 => "Locked",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

fn xml_headers() -> Vec<(String, String)> {
    vec![(
        "Content-Type".to_owned(),
        "application/xml; charset=utf-8".to_owned(),
    )]
}

/// A well-formed, valid answer to the Depth-0 PROPFIND of `/dav/Budget.xlsx`: unlocked.
pub const VALID_FILE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:"><D:response><D:href>/dav/Budget.xlsx</D:href><D:propstat><D:prop><D:lockdiscovery/><D:supportedlock><D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry></D:supportedlock><D:getetag>"e1"</D:getetag><D:resourcetype/></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>
"#;

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Depth-1 listing of `/dav/Evil/` with one member `name`, locked by `owner`.
pub fn names_listing(name: &str, owner: &str) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let href = format!("/dav/Evil/{}", utf8_percent_encode(name, NON_ALPHANUMERIC));
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:"><D:response><D:href>/dav/Evil/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype><D:lockdiscovery/></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
<D:response><D:href>{href}</D:href><D:propstat><D:prop><D:resourcetype/><D:getetag>"e2"</D:getetag><D:lockdiscovery><D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:exclusive/></D:lockscope><D:depth>0</D:depth><D:owner>{owner}</D:owner><D:timeout>Second-600</D:timeout><D:locktoken><D:href>opaquelocktoken:evil-1</D:href></D:locktoken></D:activelock></D:lockdiscovery></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>
"#,
        owner = xml_escape(owner)
    )
}

async fn answer<S: AsyncWrite + Unpin>(
    stream: &mut S,
    case: &Case,
    seen: &Seen,
    addr: SocketAddr,
    tls: bool,
) -> std::io::Result<()> {
    let multistatus = |body: String| response(207, &xml_headers(), body.as_bytes());
    let bytes = match case {
        Case::MalformedXml => multistatus(
            r#"<?xml version="1.0"?><D:multistatus xmlns:D="DAV:"><D:response><D:href>/dav/Budget.xlsx</D:propstat></D:response></D:multistatus>"#.into(),
        ),
        Case::TruncatedXml => multistatus(VALID_FILE[..VALID_FILE.len() / 2].to_owned()),
        Case::UndeclaredPrefix => multistatus(VALID_FILE.replace("<D:getetag>", "<Z:getetag>").replace("</D:getetag>", "</Z:getetag>")),
        Case::HtmlPage => response(
            200,
            &[("Content-Type".into(), "text/html".into())],
            b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>Please sign in to the portal</form></body></html>",
        ),
        Case::BillionLaughs => {
            let mut dtd = String::from(r#"<!ENTITY lol0 "lollollollollollollollollollol">"#);
            for i in 1..10 {
                let prev = format!("&lol{};", i - 1);
                dtd.push_str(&format!(r#"<!ENTITY lol{i} "{}">"#, prev.repeat(10)));
            }
            multistatus(format!(
                r#"<?xml version="1.0"?><!DOCTYPE D:multistatus [{dtd}]><D:multistatus xmlns:D="DAV:"><D:response><D:href>/dav/Budget.xlsx</D:href><D:propstat><D:prop><D:getetag>&lol9;</D:getetag><D:lockdiscovery/></D:prop></D:propstat></D:response></D:multistatus>"#
            ))
        }
        Case::Xxe { target } => multistatus(format!(
            r#"<?xml version="1.0"?><!DOCTYPE D:multistatus [<!ENTITY xxe SYSTEM "{target}">]><D:multistatus xmlns:D="DAV:"><D:response><D:href>/dav/Budget.xlsx</D:href><D:propstat><D:prop><D:getetag>&xxe;</D:getetag><D:lockdiscovery><D:activelock><D:lockscope><D:exclusive/></D:lockscope><D:owner>&xxe;</D:owner></D:activelock></D:lockdiscovery></D:prop></D:propstat></D:response></D:multistatus>"#
        )),
        // Only the watched file is huge (the server folder, read for inherited locks, is not found): one
        // big answer at a time, so the client's memory can be measured against one limit.
        Case::Huge { .. } if !seen.target.contains("Budget.xlsx") => {
            response(404, &[], b"not here")
        }
        Case::Huge { bytes } => {
            let head = "HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n";
            stream.write_all(head.as_bytes()).await?;
            stream
                .write_all(br#"<?xml version="1.0"?><D:multistatus xmlns:D="DAV:"><D:response><D:href>/dav/Budget.xlsx</D:href><D:propstat><D:prop><D:getetag>"#)
                .await?;
            // Streamed from one reused buffer: the test process never holds the whole body.
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0u64;
            while sent < *bytes {
                let n = chunk.len().min((*bytes - sent) as usize);
                stream.write_all(&chunk[..n]).await?;
                sent += n as u64;
            }
            return stream.flush().await;
        }
        Case::Trickle => {
            let bytes = multistatus(VALID_FILE.to_owned());
            for byte in bytes {
                stream.write_all(&[byte]).await?;
                stream.flush().await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            return Ok(());
        }
        Case::Silent => {
            // Hold the connection open far longer than any client time limit; the runtime ends it.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return Ok(());
        }
        // The socket has zero linger: returning without an answer drops it with a reset.
        Case::Reset => return Ok(()),
        Case::ResetMidBody => {
            let full = multistatus(VALID_FILE.to_owned());
            stream.write_all(&full[..full.len() - 100]).await?;
            stream.flush().await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
            return Ok(());
        }
        Case::Status {
            code,
            headers,
            body,
        } => {
            let mut headers = headers.clone();
            headers.push(("Content-Type".into(), "text/html".into()));
            response(*code, &headers, body.as_bytes())
        }
        Case::Redirect { location } => response(
            307,
            &[("Location".into(), location.clone())],
            b"moved",
        ),
        Case::RedirectLoop => {
            let scheme = if tls { "https" } else { "http" };
            let path = seen.target.split('?').next().unwrap_or("/");
            let n = seen
                .target
                .split("?hop=")
                .nth(1)
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0);
            let location = format!("{scheme}://{addr}{path}?hop={}", n + 1);
            response(307, &[("Location".into(), location)], b"again")
        }
        Case::Names { name, owner } => multistatus(names_listing(name, owner)),
    };
    stream.write_all(&bytes).await?;
    stream.flush().await?;
    stream.shutdown().await
}

/// A loopback port that only counts the connections it accepts (and answers nothing).
pub struct Listener {
    _guard: Background,
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl Listener {
    /// Starts listening.
    pub fn start() -> Listener {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        accepted = listener.accept() => {
                            if accepted.is_ok() {
                                counter.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                }
            });
        });
        Listener {
            _guard: Background {
                shutdown: Some(tx),
                thread: Some(thread),
            },
            addr,
            connections,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Certificates for the TLS cases, made fresh by `rcgen`: a private CA and leaves for 127.0.0.1.
pub struct Pki {
    /// The private CA certificate, PEM (what `ca_file` points at).
    pub ca_pem: String,
    /// A leaf for 127.0.0.1 signed by the CA, valid now.
    pub good: TlsIdentity,
    /// A leaf for 127.0.0.1 signed by the CA, expired in 2020.
    pub expired: TlsIdentity,
    /// A self-signed certificate for 127.0.0.1.
    pub self_signed: TlsIdentity,
    /// A leaf signed by the CA, valid now, for `other.example` only (not for 127.0.0.1).
    pub other_name: TlsIdentity,
}

impl Pki {
    /// Generates all of them.
    pub fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Lockwatch test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let leaf = |names: &[&str], expired: bool| {
            let key = KeyPair::generate().unwrap();
            let mut params =
                CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                    .unwrap();
            if expired {
                params.not_before = rcgen::date_time_ymd(2019, 1, 1);
                params.not_after = rcgen::date_time_ymd(2020, 1, 1);
            }
            let cert = params.signed_by(&key, &issuer).unwrap();
            TlsIdentity {
                chain_pem: cert.pem(),
                key_pem: key.serialize_pem(),
            }
        };
        let good = leaf(&["127.0.0.1", "localhost"], false);
        let expired = leaf(&["127.0.0.1", "localhost"], true);
        let other_name = leaf(&["other.example"], false);
        let self_key = KeyPair::generate().unwrap();
        let self_cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .self_signed(&self_key)
            .unwrap();
        Pki {
            ca_pem: ca_cert.pem(),
            good,
            expired,
            self_signed: TlsIdentity {
                chain_pem: self_cert.pem(),
                key_pem: self_key.serialize_pem(),
            },
            other_name,
        }
    }
}
