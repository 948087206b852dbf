//! The protocols Lockwatch speaks, behind one trait.
//!
//! [`LockSource`] is the only thing the rest of the engine knows about a server: read the lock state of a
//! set of watched paths. Each protocol module implements it: [`webdav`] for RFC 4918 servers, [`nextcloud`]
//! for Nextcloud's files_lock. [`Server`] turns a config entry into a ready source, resolving the password
//! and detecting the protocol once (`kind = "auto"`), then caching the result.
//!
//! Parsing is pure and lives in [`multistatus`]; protocol modules move bytes and map statuses.

pub mod multistatus;
pub mod nextcloud;
pub mod webdav;
pub mod wopi;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use tokio::sync::OnceCell;
use url::Url;

use crate::config::{PasswordSource, ServerConfig};
use crate::error::{Error, Result};
use crate::http::{HttpClient, Reply, headers};
use crate::model::{AskChannel, Capabilities, FileEntry, Lock, LockScope, ServerKind};
use crate::secrets::{Secret, SecretStore};

/// What a [`LockSource::poll`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Polled {
    /// The entries read.
    pub files: Vec<FileEntry>,
    /// Watched folders that were not read because they have not changed since the previous poll.
    pub unchanged: Vec<String>,
}

/// Where [`LockSource::poll_each`] hands over each entry of the read list's part as soon as it is read:
/// the entry, and every entry of the reading that belongs to it by [`owner`](crate::config::owner) (a
/// file's own entry, or a folder's members).
pub type Take<'a> = dyn FnMut(&str, Vec<FileEntry>) + Send + 'a;

/// Hands `files`, a reading of the read list `watch`, to `take` entry by entry of the list, each entry
/// once and with what belongs to it; entries of no entry are left out.
pub(crate) fn hand_out(watch: &[String], files: Vec<FileEntry>, take: &mut Take<'_>) {
    let mut parts: Vec<Vec<FileEntry>> = watch.iter().map(|_| Vec::new()).collect();
    for file in files {
        let index = crate::config::owner(watch, &file.path)
            .and_then(|entry| watch.iter().position(|w| w == entry));
        if let Some(index) = index {
            parts[index].push(file);
        }
    }
    for (index, (entry, part)) in watch.iter().zip(parts).enumerate() {
        if !watch[..index].contains(entry) {
            take(entry, part);
        }
    }
}

/// How many entries each watched folder gave last time, so a reading reserves room for what it will hold
/// once instead of growing (and copying) its list by doubling. Folders only: a file is one entry. Kept
/// per folder because readings of different watch lists share a source (a wanted file every few seconds,
/// every folder every 30 s).
#[derive(Debug, Default)]
pub(crate) struct EntryCounts(std::sync::Mutex<std::collections::HashMap<String, usize>>);

impl EntryCounts {
    /// The entries a reading of `watch` is expected to give.
    pub(crate) fn expected(&self, watch: &[String]) -> usize {
        watch.iter().map(|entry| self.of(entry)).sum()
    }

    /// The entries a reading of watch entry `entry` is expected to give (1 when it is not known).
    pub(crate) fn of(&self, entry: &str) -> usize {
        crate::sync::guard(&self.0).get(entry).copied().unwrap_or(1)
    }

    /// Remembers that watched folder `folder` gave `count` entries.
    pub(crate) fn record(&self, folder: &str, count: usize) {
        let mut counts = crate::sync::guard(&self.0);
        match counts.get_mut(folder) {
            Some(known) => *known = count,
            None => {
                counts.insert(folder.to_owned(), count);
            }
        }
    }
}

/// A server Lockwatch can read lock state from.
pub trait LockSource: Send + Sync {
    /// The protocol this source speaks.
    fn kind(&self) -> ServerKind;

    /// Reads the lock state of every entry in `watch` (paths relative to the server URL; a trailing `/`
    /// means "the folder's members"). File-level problems (a missing file) come back as entries in state
    /// `error`; problems that concern the whole server (credentials, network) are returned as `Err`.
    /// `now` anchors relative timeouts.
    fn read<'a>(
        &'a self,
        watch: &'a [String],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<FileEntry>>>;

    /// [`read`](LockSource::read) of a whole read list (a server task's), as one of a series of polls,
    /// handing each entry's part to `take` as soon as it is read instead of collecting them: the caller
    /// folds each part in ([`Fold`](crate::watch::diff::Fold)), so a reading is never held whole. Every
    /// entry of `watch` is handed over once, except the folders the source can tell have not changed
    /// since its previous poll: it returns those, and their members are as the caller last knew them.
    /// The default reads everything with [`read`](LockSource::read) and hands it out.
    fn poll_each<'a>(
        &'a self,
        watch: &'a [String],
        now: DateTime<Utc>,
        take: &'a mut Take<'_>,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            hand_out(watch, self.read(watch, now).await?, take);
            Ok(Vec::new())
        })
    }

    /// [`poll_each`](LockSource::poll_each), collected.
    fn poll<'a>(
        &'a self,
        watch: &'a [String],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Polled>> {
        Box::pin(async move {
            let mut files = Vec::new();
            let unchanged = self
                .poll_each(watch, now, &mut |_: &str, part: Vec<FileEntry>| {
                    files.extend(part);
                })
                .await?;
            Ok(Polled { files, unchanged })
        })
    }

    /// Takes a lock on the file at `path`. Success means the server said yes; callers re-read the state
    /// to learn what is really true.
    fn lock<'a>(&'a self, path: &'a str, request: &'a LockRequest) -> BoxFuture<'a, Result<Taken>>;

    /// Extends a lock this user holds (`token` as stored when it was taken, when the protocol has one).
    fn refresh<'a>(
        &'a self,
        path: &'a str,
        token: Option<&'a str>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<()>>;

    /// Releases a lock this user holds.
    fn unlock<'a>(&'a self, path: &'a str, token: Option<&'a str>) -> BoxFuture<'a, Result<()>>;

    /// Releases someone else's lock `lock` on `path`, where the server permits it.
    fn force_unlock<'a>(&'a self, path: &'a str, lock: &'a Lock) -> BoxFuture<'a, Result<()>>;

    /// What the server supports, probed with read-only requests.
    fn capabilities(&self) -> BoxFuture<'_, Result<Capabilities>>;

    /// The server's own ways to reach a lock holder (Nextcloud: Talk, file comments). Mail and webhooks
    /// are not the server's business and are handled by [`crate::ask`].
    fn ask_channels(&self) -> BoxFuture<'_, Result<Vec<AskChannel>>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Sends `message` to user `holder_id` about `path` through one of [`LockSource::ask_channels`].
    fn send_ask<'a>(
        &'a self,
        path: &'a str,
        holder_id: &'a str,
        channel: AskChannel,
        message: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        let _ = (path, holder_id, message);
        Box::pin(async move {
            Err(Error::Unsupported {
                detail: format!("this server offers no {} channel", channel.as_str()),
            })
        })
    }
}

/// What to ask for when taking a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRequest {
    /// Exclusive (the default) or shared.
    pub scope: LockScope,
    /// How long the lock should last before it must be refreshed.
    pub timeout: Duration,
    /// Who the lock is for, as others will see it: an e-mail address or a name.
    pub owner: String,
}

/// A lock the server granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The lock token, when the protocol has one (needed to refresh and release it).
    pub token: Option<String>,
}

/// Default lock timeout: 30 minutes.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Maps the status of a failed lock action to an error. `what` names the file; `doing` the action
/// ("locking", "unlocking", ...), for messages.
pub(crate) fn action_error(http: &HttpClient, reply: &Reply, what: &str, doing: &str) -> Error {
    match reply.status.as_u16() {
        401 => status_error(http, reply.status, reply, what),
        403 => Error::Forbidden {
            what: format!("{doing} {what}"),
        },
        404 | 410 => Error::NotFound {
            what: what.to_owned(),
        },
        405 | 501 => Error::Unsupported {
            detail: format!(
                "this server does not support locking (HTTP {} to {doing} {what})",
                reply.status.as_u16()
            ),
        },
        409 => Error::Conflict {
            detail: format!(
                "the server refused {doing} {what} (HTTP 409): the lock token does not match this file, so the lock has probably expired or been released"
            ),
        },
        412 => Error::Conflict {
            detail: format!(
                "the server refused {doing} {what} (HTTP 412): the lock is not held (any more)"
            ),
        },
        423 => Error::Locked {
            what: what.to_owned(),
            detail: String::new(),
        },
        code => Error::Status {
            status: code,
            detail: format!("while {doing} {what}: {}", reply.excerpt()),
        },
    }
}

/// Characters escaped in one path segment (RFC 3986 `pchar` minus what servers handle poorly).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The URL of `path` (decoded, relative, folders ending with `/`) below `base`.
pub fn resource_url(base: &Url, path: &str) -> Url {
    let encoded: Vec<String> = path
        .split('/')
        .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
        .collect();
    let mut url = base.clone();
    let joined = format!("{}{}", base.path(), encoded.join("/"));
    url.set_path(&joined);
    url
}

/// The decoded path of `href` relative to `base`, or `None` when it lies outside. Accepts absolute URLs,
/// absolute paths, encoded or not; the result keeps a trailing `/` when the href has one.
pub fn relative_path(base: &Url, href: &str) -> Option<String> {
    let path = match Url::parse(href) {
        Ok(url) => url.path().to_owned(),
        Err(_) => base.join(href).ok()?.path().to_owned(),
    };
    let decoded = decode_segments(&path);
    let base_decoded = decode_segments(base.path());
    if let Some(rest) = decoded.strip_prefix(base_decoded.as_str()) {
        return Some(rest.to_owned());
    }
    // The base itself without its trailing slash.
    if decoded == base_decoded.trim_end_matches('/') {
        return Some(String::new());
    }
    None
}

/// The entry for a watch entry that could not be read, with the error that says why.
pub(crate) fn unreadable(server: &str, base: &Url, entry: &str, err: &Error) -> FileEntry {
    let url = crate::secrets::redact_url(&resource_url(base, entry));
    FileEntry::failed(
        server,
        entry,
        &url,
        crate::error::ErrorInfo::for_server(server, err),
    )
}

/// Percent-decodes a URL path one segment at a time. A segment whose name contains an encoded `/` keeps
/// it as `%2F`, so a hostile file name cannot pose as a path into another folder.
pub(crate) fn decode_segments(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let decoded = percent_decode_str(segment).decode_utf8_lossy();
            if decoded.contains('/') {
                decoded.replace('/', "%2F")
            } else {
                decoded.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether two relative paths name the same resource, ignoring a trailing slash.
pub fn same_path(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// A PROPFIND request body asking for exactly `props` (inner XML of `D:prop`, namespaces declared here).
fn propfind_body(props: &str) -> bytes::Bytes {
    bytes::Bytes::from(format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"><D:prop>{props}</D:prop></D:propfind>"#
    ))
}

/// Sends a PROPFIND and maps every non-207 answer to an error. `what` names the path in messages.
async fn propfind(
    http: &HttpClient,
    url: Url,
    depth: &str,
    body: bytes::Bytes,
    what: &str,
) -> Result<Reply> {
    let method = Method::from_bytes(b"PROPFIND").map_err(|_| Error::Malformed {
        detail: "PROPFIND".into(),
    })?;
    let mut hdrs = headers([
        ("Depth", depth),
        ("Content-Type", "application/xml; charset=utf-8"),
    ]);
    hdrs.insert(
        "Accept",
        reqwest::header::HeaderValue::from_static("application/xml, text/xml"),
    );
    let reply = http.send(method, url, hdrs, Some(body)).await?;
    match reply.status {
        StatusCode::MULTI_STATUS => Ok(reply),
        // A 200 happens on a few servers (and on web servers that are not WebDAV at all): the parser
        // decides, and says "an HTML page instead of WebDAV XML" when that is what came back.
        StatusCode::OK => Ok(reply),
        status => Err(status_error(http, status, &reply, what)),
    }
}

/// Maps an unexpected HTTP status to the error a person should see.
pub(crate) fn status_error(
    http: &HttpClient,
    status: StatusCode,
    reply: &Reply,
    what: &str,
) -> Error {
    match status.as_u16() {
        401 if !http.has_credentials() => Error::LoginRequired,
        401 => Error::Unauthorized {
            user: http.user().map(str::to_owned),
        },
        403 => Error::Forbidden {
            what: what.to_owned(),
        },
        404 | 410 => Error::NotFound {
            what: what.to_owned(),
        },
        423 => Error::Locked {
            what: what.to_owned(),
            detail: String::new(),
        },
        405 | 501 => Error::Unsupported {
            detail: format!(
                "the server does not support WebDAV PROPFIND at {what} (HTTP {}); is the URL a WebDAV folder?",
                status.as_u16()
            ),
        },
        code => Error::Status {
            status: code,
            detail: reply.excerpt(),
        },
    }
}

/// What auto-detection found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The protocol to use.
    pub kind: ServerKind,
}

/// Decides a server's protocol: Nextcloud when its capabilities list `files.locking`, WebDAV when `OPTIONS`
/// shows DAV class 2, otherwise an error saying what was found.
pub async fn detect(http: &HttpClient, base: &Url) -> Result<Detected> {
    if let Some(root) = nextcloud::instance_root(base) {
        match nextcloud::capabilities(http, &root).await? {
            Some(caps) if caps.locking.is_some() => {
                return Ok(Detected {
                    kind: ServerKind::Nextcloud,
                });
            }
            // Nextcloud without files_lock has no locks to watch, whatever its OPTIONS may claim
            // (its FakeLockerPlugin pretends to lock for some desktop clients).
            Some(_) => {
                return Err(Error::Unsupported {
                    detail: "this is a Nextcloud server without the files_lock app (\"Temporary files lock\"), so it has no file locks to watch; ask its administrator to enable the app".into(),
                });
            }
            None => {}
        }
    }
    let reply = http
        .send(Method::OPTIONS, base.clone(), HeaderMap::new(), None)
        .await?;
    if reply.status == StatusCode::UNAUTHORIZED || reply.status == StatusCode::FORBIDDEN {
        return Err(status_error(http, reply.status, &reply, "the server URL"));
    }
    let classes = dav_classes(&reply.headers);
    if classes.iter().any(|c| c == "2") {
        return Ok(Detected {
            kind: ServerKind::Webdav,
        });
    }
    let detail = if classes.is_empty() {
        format!(
            "not a WebDAV server: OPTIONS answered HTTP {} without a DAV header; check the URL (it must point at a WebDAV folder)",
            reply.status.as_u16()
        )
    } else {
        format!(
            "the server speaks WebDAV class {} but not class 2, so it cannot lock files",
            classes.join(", ")
        )
    };
    Err(Error::Unsupported { detail })
}

/// The compliance classes in every `DAV` header (it may come several times, with extra tokens).
pub fn dav_classes(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("dav")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

/// A configured server, ready to be read: credentials resolved, protocol detected on first use.
pub struct Server {
    config: ServerConfig,
    http: HttpClient,
    /// Kept for channels other than HTTP (the Nextcloud push websocket logs in with it).
    password: Option<Secret>,
    secrets: Arc<dyn SecretStore>,
    source: OnceCell<Arc<dyn LockSource>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("name", &self.config.name)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Prepares `config`, taking the password from its environment variable or from `secrets`.
    pub async fn connect(config: ServerConfig, secrets: Arc<dyn SecretStore>) -> Result<Server> {
        let password = match &config.password {
            PasswordSource::Anonymous => None,
            PasswordSource::Env { value, .. } => Some(value.clone()),
            PasswordSource::Keyring => Some(keyring_password(&config.name, secrets.clone()).await?),
        };
        let http = HttpClient::new(&config, password.clone())?;
        Ok(Server {
            config,
            http,
            password,
            secrets,
            source: OnceCell::new(),
        })
    }

    /// The server's configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The HTTP client every request to this server goes through.
    pub(crate) fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The password the server's requests authenticate with, if any.
    pub(crate) fn password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }

    /// The lock source, detecting the protocol on first use when the config says `auto`.
    pub async fn source(&self) -> Result<Arc<dyn LockSource>> {
        self.source
            .get_or_try_init(|| async {
                let kind = match self.config.kind.fixed() {
                    Some(kind) => kind,
                    None => detect(&self.http, &self.config.url).await?.kind,
                };
                let source: Arc<dyn LockSource> = match kind {
                    ServerKind::Webdav => {
                        Arc::new(webdav::WebDav::new(&self.config, self.http.clone()))
                    }
                    ServerKind::Nextcloud => {
                        Arc::new(nextcloud::Nextcloud::new(&self.config, self.http.clone()))
                    }
                    ServerKind::Wopi => {
                        let (tokens, missing) =
                            wopi::resolve_tokens(&self.config, self.secrets.clone()).await;
                        Arc::new(wopi::Wopi::new(
                            &self.config,
                            self.http.clone(),
                            tokens,
                            missing,
                        ))
                    }
                };
                Ok(source)
            })
            .await
            .cloned()
    }

    /// Reads every watched and wanted path, marking wanted files.
    pub async fn read(&self, now: DateTime<Utc>) -> Result<(ServerKind, Vec<FileEntry>)> {
        let source = self.source().await?;
        let mut files = source.read(&self.config.read_set(), now).await?;
        for file in &mut files {
            file.wanted = self.config.is_wanted(&file.path);
        }
        Ok((source.kind(), files))
    }
}

async fn keyring_password(server: &str, secrets: Arc<dyn SecretStore>) -> Result<Secret> {
    let name = server.to_owned();
    let found = tokio::task::spawn_blocking(move || secrets.get(&name))
        .await
        .map_err(|err| Error::Keyring {
            detail: err.to_string(),
        })??;
    found.ok_or_else(|| Error::MissingSecret {
        detail: format!(
            "no password is stored for this server in the OS keyring; run `lockwatch password set {server}` or set `password_env` in the config"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_each_segment() {
        let base = Url::parse("https://h/remote.php/dav/files/alice/").unwrap();
        assert_eq!(
            resource_url(&base, "Reports/Budget 2026 (final)#1.xlsx").as_str(),
            "https://h/remote.php/dav/files/alice/Reports/Budget%202026%20(final)%231.xlsx"
        );
        assert_eq!(
            resource_url(&base, "Ünï/").as_str(),
            "https://h/remote.php/dav/files/alice/%C3%9Cn%C3%AF/"
        );
        assert_eq!(resource_url(&base, "").as_str(), base.as_str());
    }

    #[test]
    fn hrefs_resolve_in_every_form() {
        let base = Url::parse("http://h:8080/dav/").unwrap();
        for href in [
            "/dav/Reports/a%20b.txt",
            "http://h:8080/dav/Reports/a%20b.txt",
            "http://other-name/dav/Reports/a b.txt",
            "/dav/Reports/a b.txt",
        ] {
            assert_eq!(
                relative_path(&base, href).as_deref(),
                Some("Reports/a b.txt"),
                "{href}"
            );
        }
        assert_eq!(
            relative_path(&base, "/dav/Reports").as_deref(),
            Some("Reports")
        );
        assert_eq!(relative_path(&base, "/dav").as_deref(), Some(""));
        assert_eq!(relative_path(&base, "/elsewhere/x"), None);
        assert_eq!(
            relative_path(&base, "/dav/Reports/..%2F..%2Fetc%2Fpasswd").as_deref(),
            Some("Reports/..%2F..%2Fetc%2Fpasswd")
        );
        assert_eq!(
            relative_path(&base, "/dav/a%2Fb.txt").as_deref(),
            Some("a%2Fb.txt")
        );
        assert!(same_path("Reports/", "Reports"));
    }

    #[test]
    fn dav_classes_from_repeated_headers() {
        let mut h = HeaderMap::new();
        h.append("DAV", "1,2".parse().unwrap());
        h.append(
            "DAV",
            "<http://apache.org/dav/propset/fs/1>, extended-mkcol"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            dav_classes(&h),
            vec![
                "1",
                "2",
                "<http://apache.org/dav/propset/fs/1>",
                "extended-mkcol"
            ]
        );
    }
}
