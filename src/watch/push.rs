//! Nextcloud push: the notify_push app's websocket tells which files changed, so a lock taken or released
//! is read at once rather than at the next poll.
//!
//! Where the capabilities advertise `notify_push.endpoints.websocket`, Lockwatch opens that websocket,
//! logs in (a text frame with the user name, then one with the password or app password; the server
//! answers `authenticated`, or `err: …` and closes), asks for file ids with `listen notify_file_id`, and
//! then hears `notify_file_id [ids]` whenever files of the user change (taking or releasing a lock
//! changes the file's etag, which is such a change), or a bare `notify_file` when the server does not know
//! which files. Each announcement goes to the server's task in the [`Watcher`](super::Watcher) through
//! [`Announcements`], which re-reads the watched files with those ids (or all of them). The frames are
//! parsed by the pure [`parse_frame`]; the transcript in `tests/fixtures/nextcloud/notify-push-frames.txt`
//! records them as the notify_push sources define them.
//!
//! Push only speeds things up; polling never stops:
//! - an expiry sends nothing (the server notices it only when the lock is next read), so expiries stay
//!   with the scheduler's timers;
//! - a file the server announces but the latest reading does not know (a file just created in a watched
//!   folder) is found by the next poll;
//! - a broken connection is reopened after 1 s, 2 s, 4 s … up to 5 min, and after reopening every watched
//!   file is read once, for what changed while the channel was down;
//! - a refused login turns push off for that server (one warning in the log, without the password) and
//!   polling goes on as before.
//!
//! The password leaves only towards the host the user configured: an endpoint on another host, or a
//! plain `ws:` endpoint for an `https:` server, is not used. TLS follows the server's HTTP settings (the
//! system's trust store, or only `ca_file` when set).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use url::Url;

use super::schedule::Jitter;
use super::{Announcement, Announcements, ServerReader};
use crate::config::ServerConfig;
use crate::model::ServerKind;
use crate::protocol::nextcloud;
use crate::secrets::redact_url;

/// The push server pings a quiet connection every 30 s; a connection silent for this long is dead.
const SILENCE_LIMIT: Duration = Duration::from_secs(100);
/// First delay before reopening a broken connection; doubles with each failure in a row.
const RETRY_BASE: Duration = Duration::from_secs(1);
/// Longest delay before reopening.
const RETRY_MAX: Duration = Duration::from_secs(300);
/// A session that stayed up this long resets the failure count.
const STABLE_AFTER: Duration = Duration::from_secs(60);
/// Largest frame accepted: the server's frames are short commands and lists of ids.
const MAX_FRAME_BYTES: usize = 1 << 20;

/// One text frame from the push server, as far as Lockwatch cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The login succeeded.
    Authenticated,
    /// The login failed (`err: Invalid credentials`, `err: …`); the text after `err: `.
    Refused(String),
    /// These files changed (`notify_file_id [1,2]`), as file ids.
    Files(Vec<String>),
    /// Some file changed, which one is not said (`notify_file`, or a list that cannot be read).
    AnyFile,
    /// Anything else: activities, notifications, apps' own messages, other errors.
    Other,
}

/// Reads one text frame of the notify_push protocol.
pub fn parse_frame(text: &str) -> Frame {
    let text = text.trim();
    if text == "authenticated" {
        return Frame::Authenticated;
    }
    if let Some(reason) = text.strip_prefix("err:") {
        return Frame::Refused(reason.trim().to_owned());
    }
    if text == "notify_file" {
        return Frame::AnyFile;
    }
    let Some(list) = text.strip_prefix("notify_file_id") else {
        return Frame::Other;
    };
    if !list.is_empty() && !list.starts_with(char::is_whitespace) {
        return Frame::Other;
    }
    let ids: Option<Vec<String>> = serde_json::from_str::<Vec<serde_json::Value>>(list.trim())
        .ok()
        .and_then(|values| {
            values
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    serde_json::Value::String(s) => Some(s),
                    _ => None,
                })
                .collect()
        });
    match ids {
        Some(ids) if !ids.is_empty() => Frame::Files(ids),
        // The file changed but the list is unreadable: any watched file may be concerned.
        _ => Frame::AnyFile,
    }
}

/// How one push session ended.
#[derive(Debug)]
enum Ended {
    /// The server offers no push channel Lockwatch can use; why, for the log.
    Unavailable(String),
    /// The push server refused the login; its reason.
    Refused(String),
    /// Nobody listens any more (the server's task stopped).
    Unwanted,
    /// The connection could not be opened, or broke; whether it had logged in, and what happened.
    Broken { authenticated: bool, error: String },
}

/// Keeps a push session open to the server behind `reader`, reopening it when it breaks, until the
/// server turns out to have no usable push channel, refuses the login, or the watcher stops listening.
pub(super) async fn listen(reader: &ServerReader, announcements: Announcements) {
    let name = reader.config.name.as_str();
    let mut jitter = Jitter::seeded(name);
    let mut failures: u32 = 0;
    let mut opened_before = false;
    loop {
        let started = Instant::now();
        let ended = session(reader, &announcements, opened_before).await;
        match ended {
            Ended::Unavailable(why) => {
                tracing::info!(server = %name, "no push channel: {why}; watching by polling only");
                return;
            }
            Ended::Refused(reason) => {
                tracing::warn!(
                    server = %name,
                    "push notifications are off for this server: the push server refused the login ({reason}); polling goes on (check the user name and password or app password)"
                );
                return;
            }
            Ended::Unwanted => return,
            Ended::Broken {
                authenticated,
                error,
            } => {
                opened_before |= authenticated;
                if authenticated && started.elapsed() >= STABLE_AFTER {
                    failures = 0;
                }
                failures = failures.saturating_add(1);
                let base = RETRY_BASE
                    .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(16)))
                    .min(RETRY_MAX);
                let delay = base + base.mul_f64(jitter.unit() * 0.1);
                tracing::info!(
                    server = %name,
                    error = %error,
                    retry_in_secs = delay.as_secs(),
                    "push channel unavailable; polling meanwhile"
                );
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// One push session: find the endpoint, connect, log in, listen until the connection ends. `catch_up`
/// announces a change of anything once logged in (for a reopened channel: changes were missed while it
/// was down).
async fn session(reader: &ServerReader, announcements: &Announcements, catch_up: bool) -> Ended {
    let broken = |error: String| Ended::Broken {
        authenticated: false,
        error,
    };
    let config = &reader.config;
    let server = match reader.server().await {
        Ok(server) => server,
        Err(err) => return broken(err.to_string()),
    };
    let source = match server.source().await {
        Ok(source) => source,
        Err(err) => return broken(err.to_string()),
    };
    if source.kind() != ServerKind::Nextcloud {
        return Ended::Unavailable(format!("a {} server has none", source.kind()));
    }
    let Some(root) = nextcloud::instance_root(&config.url) else {
        return Ended::Unavailable("the URL is not a Nextcloud WebDAV URL".into());
    };
    let endpoint = match nextcloud::capabilities(server.http(), &root).await {
        Ok(Some(caps)) => caps.push_websocket,
        Ok(None) => None,
        Err(err) => return broken(err.to_string()),
    };
    let Some(endpoint) = endpoint else {
        return Ended::Unavailable("the server does not advertise notify_push".into());
    };
    let url = match endpoint_url(&config.url, &endpoint) {
        Ok(url) => url,
        Err(why) => return Ended::Unavailable(why),
    };
    let (Some(user), Some(password)) = (config.username.as_deref(), server.password()) else {
        return Ended::Unavailable("the push channel needs a user name and password".into());
    };
    let mut socket = match timeout(config.timeout, connect(&url, config)).await {
        Ok(Ok(socket)) => socket,
        Ok(Err(error)) => return broken(error),
        Err(_) => {
            return broken(format!(
                "no connection to {} within {} s",
                redact_url(&url),
                config.timeout.as_secs()
            ));
        }
    };
    let login = async {
        socket.send(Message::text(user)).await?;
        socket.send(Message::text(password.expose())).await
    };
    if let Err(err) = login.await {
        return broken(describe(&err));
    }
    // The answer to the login; the server sends nothing else before it.
    loop {
        let frame = match timeout(config.timeout, socket.next()).await {
            Err(_) => {
                return broken(format!(
                    "no answer to the login within {} s",
                    config.timeout.as_secs()
                ));
            }
            Ok(None | Some(Ok(Message::Close(_)))) => {
                return broken("the push server closed the connection during the login".into());
            }
            Ok(Some(Err(err))) => return broken(describe(&err)),
            Ok(Some(Ok(Message::Text(text)))) => parse_frame(text.as_str()),
            Ok(Some(Ok(_))) => continue,
        };
        match frame {
            Frame::Authenticated => break,
            Frame::Refused(reason) => {
                // The reason is the server's text; make sure it cannot carry the password into a log.
                let reason = if password.expose().is_empty() {
                    reason
                } else {
                    reason.replace(password.expose(), "[redacted]")
                };
                return Ended::Refused(reason);
            }
            _ => continue,
        }
    }
    let broken = |error: String| Ended::Broken {
        authenticated: true,
        error,
    };
    if let Err(err) = socket.send(Message::text("listen notify_file_id")).await {
        return broken(describe(&err));
    }
    tracing::info!(server = %config.name, endpoint = %redact_url(&url), "push channel open");
    if catch_up && !announcements.send(Announcement::Anything) {
        return Ended::Unwanted;
    }
    loop {
        let announcement = match timeout(SILENCE_LIMIT, socket.next()).await {
            Err(_) => {
                return broken(format!(
                    "the push server was silent for {} s",
                    SILENCE_LIMIT.as_secs()
                ));
            }
            Ok(None | Some(Ok(Message::Close(_)))) => {
                return broken("the push server closed the connection".into());
            }
            Ok(Some(Err(err))) => return broken(describe(&err)),
            Ok(Some(Ok(Message::Text(text)))) => match parse_frame(text.as_str()) {
                Frame::Files(ids) => Announcement::Files(ids),
                Frame::AnyFile => Announcement::Anything,
                _ => continue,
            },
            // Pings are answered by the websocket layer.
            Ok(Some(Ok(_))) => continue,
        };
        if !announcements.send(announcement) {
            return Ended::Unwanted;
        }
    }
}

/// The websocket URL to use, or why `endpoint` is not used: it must be a `ws:`/`wss:` URL on the configured
/// server's host, and `wss:` when the server is reached over `https:`.
fn endpoint_url(server: &Url, endpoint: &str) -> Result<Url, String> {
    let url =
        Url::parse(endpoint).map_err(|_| "the advertised push endpoint is not a URL".to_owned())?;
    match (server.scheme(), url.scheme()) {
        (_, "wss") | ("http", "ws") => {}
        ("https", "ws") => {
            return Err(format!(
                "the push endpoint {} is not encrypted while the server is; Lockwatch does not send the password over it",
                redact_url(&url)
            ));
        }
        _ => {
            return Err(format!(
                "the push endpoint {} is not a websocket URL",
                redact_url(&url)
            ));
        }
    }
    let same_host = match (server.host_str(), url.host_str()) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    };
    if !same_host {
        return Err(format!(
            "the push endpoint {} is on another host than the server; Lockwatch does not send the password there",
            redact_url(&url)
        ));
    }
    Ok(url)
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the websocket (TLS for `wss:`), with frames bounded in size.
async fn connect(url: &Url, config: &ServerConfig) -> Result<Socket, String> {
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| describe(&e))?;
    request.headers_mut().insert(
        "User-Agent",
        HeaderValue::from_static(concat!("Lockwatch/", env!("CARGO_PKG_VERSION"))),
    );
    let connector = if url.scheme() == "wss" {
        Connector::Rustls(tls_config(config)?)
    } else {
        Connector::Plain
    };
    let limits = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(limits),
        true,
        Some(connector),
    )
    .await
    .map_err(|e| describe(&e))?;
    Ok(socket)
}

/// TLS like the server's HTTP client: only `ca_file`'s certificates when set, else the system's trust
/// store (rustls-platform-verifier, as reqwest uses).
fn tls_config(config: &ServerConfig) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    use rustls_platform_verifier::BuilderVerifierExt;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let tls = match &config.ca_file {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert
                    .map_err(|_| format!("{} holds no usable PEM certificate", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!("{} holds no PEM certificate", path.display()));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => builder
            .with_platform_verifier()
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .with_no_client_auth(),
    };
    Ok(Arc::new(tls))
}

/// A websocket error for a person. tungstenite's messages name no credentials (the password travels in
/// a frame, never in the URL or a header).
fn describe(err: &tungstenite::Error) -> String {
    match err {
        tungstenite::Error::Http(response) => {
            format!("the push endpoint answered HTTP {}", response.status())
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frames of a notify_push session as its sources define them (see the fixture's header).
    #[test]
    fn frames_of_a_recorded_session() {
        let transcript = include_str!("../../tests/fixtures/nextcloud/notify-push-frames.txt");
        let mut seen = Vec::new();
        for line in transcript.lines() {
            // `< ` is a frame from the server; `> ` one from the client; `#` comments.
            if let Some(frame) = line.strip_prefix("< ") {
                seen.push(parse_frame(frame));
            }
        }
        assert_eq!(
            seen,
            [
                Frame::Authenticated,
                Frame::AnyFile,
                Frame::Files(vec!["123".into()]),
                Frame::Files(vec!["1".into(), "2".into()]),
                Frame::Other,
                Frame::Other,
                Frame::Other,
                Frame::Refused("Invalid credentials".into()),
                Frame::Other,
                Frame::Other,
            ]
        );
    }

    #[test]
    fn odd_frames() {
        assert_eq!(parse_frame("notify_file_id []"), Frame::AnyFile);
        assert_eq!(parse_frame("notify_file_id [1,"), Frame::AnyFile);
        assert_eq!(parse_frame("notify_file_id"), Frame::AnyFile);
        assert_eq!(parse_frame("notify_file_ids [1]"), Frame::Other);
        assert_eq!(
            parse_frame(" notify_file_id [\"7\", 8]\n"),
            Frame::Files(vec!["7".into(), "8".into()])
        );
        assert_eq!(parse_frame("notify_file_id [null]"), Frame::AnyFile);
        assert_eq!(parse_frame(""), Frame::Other);
    }

    #[test]
    fn endpoints_the_password_may_go_to() {
        let https = Url::parse("https://cloud.example.com/remote.php/dav/files/a/").unwrap();
        let http = Url::parse("http://127.0.0.1:8080/remote.php/dav/files/a/").unwrap();
        assert!(endpoint_url(&https, "wss://cloud.example.com/push/ws").is_ok());
        assert!(endpoint_url(&https, "wss://CLOUD.example.com:8443/push/ws").is_ok());
        assert!(endpoint_url(&http, "ws://127.0.0.1:7867/ws").is_ok());
        assert!(endpoint_url(&http, "wss://127.0.0.1/push/ws").is_ok());
        let refused = [
            (&https, "ws://cloud.example.com/push/ws", "not encrypted"),
            (&https, "wss://push.elsewhere.net/ws", "another host"),
            (
                &https,
                "https://cloud.example.com/push/ws",
                "not a websocket",
            ),
            (&https, "/push/ws", "not a URL"),
        ];
        for (server, endpoint, why) in refused {
            let err = endpoint_url(server, endpoint).unwrap_err();
            assert!(err.contains(why), "{endpoint}: {err}");
        }
    }

    #[test]
    fn tls_follows_the_servers_ca_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = |ca: &str| {
            format!(
                "[[servers]]\nname = \"s\"\nurl = \"https://h/remote.php/dav/files/a/\"\n{ca}\n"
            )
        };
        let parse = |t: &str| {
            crate::config::Config::parse(t, "t", &|_| None)
                .unwrap()
                .servers
                .remove(0)
        };
        assert!(tls_config(&parse(&text(""))).is_ok());
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let err = tls_config(&parse(&text(&format!(
            "ca_file = {:?}",
            empty.to_str().unwrap()
        ))))
        .unwrap_err();
        assert!(err.contains("no PEM certificate"), "{err}");
    }
}
