//! Nextcloud with the files_lock app ("Temporary files lock").
//!
//! Nextcloud reports its locks best through its own `nc:lock*` properties, which name the holder (user id
//! and display name), the editor app, the lock type and the lock time and timeout; its `DAV:lockdiscovery`
//! hides the caller's own lock and shows never-expiring locks as `Second--60`. So Lockwatch asks for both and
//! prefers `nc:`; only when a file has no `nc:lock` property at all does it fall back to `lockdiscovery`.
//! There is no API to list all locks: folders are read with one `Depth: 1` PROPFIND each.
//!
//! # Polls skip folders whose etag stayed
//! files_lock gives a file a new etag when it is locked or unlocked, through any API, and Nextcloud
//! propagates a new etag to every folder above it. So between two polls, a watched folder whose etag is
//! the same has members whose locks are the same, and a `Depth: 0` PROPFIND of its etag (a few hundred
//! bytes) replaces its `Depth: 1` listing (about 100 bytes per member): see [`Nextcloud::poll`]. Two
//! things move no etag, and both are covered:
//! - a lock that reaches its timeout is dropped without an etag change; but its expiry is known, and the
//!   watch engine re-reads a file whose lock expired by itself;
//! - servers whose files_lock is older than the etag change, or anything else that bends the rule: every
//!   [`CHECK_EVERY`]th poll lists every folder in full anyway, and a folder found with the same etag but
//!   other locks (not explained by an expiry) turns the shortcut off for the server.

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::BoxFuture;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use url::Url;

use super::multistatus::{NcProps, Prop, Response};
use std::time::Duration;

use super::webdav::{fetch, fetch_each, method, propfind_each, response_error, to_lock};
use super::{
    EntryCounts, LockRequest, LockSource, Take, Taken, action_error, dav_classes, propfind_body,
    resource_url, status_error,
};
use crate::config::{ServerConfig, is_folder};
use crate::error::{Error, ErrorInfo, Result};
use crate::http::{HttpClient, headers};
use crate::model::{
    Ability, AskChannel, Capabilities as ServerCapabilities, Expiry, FileEntry, FileState, Lock,
    LockKind, LockScope, ServerKind,
};
use crate::secrets::redact_url;
use crate::sync::guard;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

/// The properties asked of Nextcloud: the WebDAV ones plus `oc:fileid` and every `nc:lock*` property
/// (Nextcloud returns them only when asked by name).
pub const PROPS: &str = "<D:resourcetype/><D:getetag/><D:lockdiscovery/><D:supportedlock/><oc:fileid/>\
<nc:lock/><nc:lock-owner-type/><nc:lock-owner/><nc:lock-owner-displayname/><nc:lock-owner-editor/>\
<nc:lock-time/><nc:lock-timeout/><nc:lock-token/>";

/// The Nextcloud instance root of a WebDAV URL (`https://h/nc/remote.php/dav/files/u/` → `https://h/nc/`),
/// or `None` when the URL is not a Nextcloud WebDAV URL.
pub fn instance_root(base: &Url) -> Option<Url> {
    let path = base.path();
    let index = path.find("/remote.php/")?;
    let mut root = base.clone();
    root.set_path(&path[..=index]);
    root.set_query(None);
    Some(root)
}

/// What Lockwatch uses from Nextcloud's capabilities.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// `files.locking` (the files_lock version, e.g. "1.0"), when the app is enabled.
    pub locking: Option<String>,
    /// Whether `files.api-feature-lock-type` is present (lock types can be requested).
    pub lock_type_feature: bool,
    /// The notify_push websocket endpoint, when advertised.
    pub push_websocket: Option<String>,
    /// The Talk app (`spreed`) is installed.
    pub talk: bool,
}

#[derive(Deserialize)]
struct OcsEnvelope {
    ocs: OcsBody,
}

#[derive(Deserialize)]
struct OcsBody {
    data: OcsData,
}

#[derive(Deserialize)]
struct OcsData {
    #[serde(default)]
    capabilities: serde_json::Value,
}

/// Reads `/ocs/v2.php/cloud/capabilities`. `Ok(None)` when the answer is not Nextcloud's (another server at
/// that path); errors only for failures that would stop any other request too.
pub async fn capabilities(http: &HttpClient, root: &Url) -> Result<Option<Capabilities>> {
    let Ok(url) = root.join("ocs/v2.php/cloud/capabilities?format=json") else {
        return Ok(None);
    };
    let hdrs: HeaderMap = headers([("OCS-APIRequest", "true"), ("Accept", "application/json")]);
    let reply = http.send(Method::GET, url, hdrs, None).await?;
    if reply.status == StatusCode::UNAUTHORIZED {
        return Err(status_error(http, reply.status, &reply, "the capabilities"));
    }
    if !reply.status.is_success() {
        return Ok(None);
    }
    Ok(parse_capabilities(&reply.body))
}

/// Parses a capabilities answer; `None` when it is not an OCS capabilities document.
pub fn parse_capabilities(body: &[u8]) -> Option<Capabilities> {
    let envelope: OcsEnvelope = serde_json::from_slice(body).ok()?;
    let caps = envelope.ocs.data.capabilities;
    if !caps.is_object() {
        return None;
    }
    let files = &caps["files"];
    let locking = match &files["locking"] {
        serde_json::Value::String(v) => Some(v.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(true) => Some("1.0".into()),
        _ => None,
    };
    Some(Capabilities {
        locking,
        lock_type_feature: files.get("api-feature-lock-type").is_some(),
        push_websocket: caps["notify_push"]["endpoints"]["websocket"]
            .as_str()
            .map(str::to_owned),
        talk: caps["spreed"].is_object(),
    })
}

/// A Nextcloud server with files_lock.
#[derive(Debug)]
pub struct Nextcloud {
    name: String,
    base: Url,
    http: HttpClient,
    /// What the previous polls saw of each watched folder.
    marks: Mutex<Marks>,
    /// How many entries each folder gave last time: room reserved for the next reading.
    counts: EntryCounts,
}

/// Every how many polls every folder is listed in full, whatever its etag says.
pub const CHECK_EVERY: u32 = 10;

/// What polls remember of the watched folders.
#[derive(Debug, Default)]
struct Marks {
    /// By watched folder, as of its latest full listing.
    folders: HashMap<String, FolderMark>,
    /// Polls since every folder was last listed in full.
    since_check: u32,
    /// Set once a folder's etag stayed while its members' locks changed: from then on every poll lists
    /// everything.
    distrusted: bool,
}

/// A watched folder as one full listing showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FolderMark {
    /// The folder's etag.
    etag: String,
    /// A hash of its members' lock state.
    fingerprint: u64,
    /// The earliest expiry among its members' locks: after it, a changed fingerprint is explained.
    first_expiry: Option<DateTime<Utc>>,
}

impl FolderMark {
    /// The mark of a listing of a folder with etag `etag` whose members read as `members`.
    fn of(etag: String, members: &[FileEntry]) -> FolderMark {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let mut first_expiry: Option<DateTime<Utc>> = None;
        for file in members {
            file.path.hash(&mut hasher);
            file.state.as_str().hash(&mut hasher);
            for lock in &file.locks {
                (&lock.owner_id, &lock.token, &lock.editor, &lock.timeout).hash(&mut hasher);
                lock.acquired_at.hash(&mut hasher);
                if let Some(at) = lock.expires_at {
                    first_expiry = Some(first_expiry.map_or(at, |e| e.min(at)));
                }
            }
        }
        FolderMark {
            etag,
            fingerprint: hasher.finish(),
            first_expiry,
        }
    }
}

impl Nextcloud {
    /// A source for `config`, sending requests through `http`.
    pub fn new(config: &ServerConfig, http: HttpClient) -> Nextcloud {
        Nextcloud {
            name: config.name.clone(),
            base: config.url.clone(),
            http,
            marks: Mutex::new(Marks::default()),
            counts: EntryCounts::default(),
        }
    }

    pub(crate) fn entry(&self, path: &str, response: &Response, now: DateTime<Utc>) -> FileEntry {
        let url = redact_url(&resource_url(&self.base, path));
        if let Some(err) = response_error(response, path) {
            return FileEntry::failed(
                &self.name,
                path,
                &url,
                ErrorInfo::for_server(&self.name, &err),
            );
        }
        let (state, locks) = match &response.props.nc.lock {
            Prop::Found(flag) => {
                let locked = matches!(flag.trim(), "1" | "true");
                if locked {
                    let mut lock = nc_lock(&response.props.nc, &response.href);
                    lock.mine = lock.kind != LockKind::App
                        && lock.owner_id.is_some()
                        && lock.owner_id.as_deref() == self.http.user();
                    (FileState::Locked, vec![lock])
                } else {
                    (FileState::Unlocked, Vec::new())
                }
            }
            // No files_lock property for this resource: what lockdiscovery says is the best left.
            Prop::Failed(_) | Prop::Absent => match response.props.lockdiscovery.found() {
                Some(active) => {
                    let locks: Vec<Lock> = active.iter().map(|a| to_lock(a, false, now)).collect();
                    let state = if locks.is_empty() {
                        FileState::Unlocked
                    } else {
                        FileState::Locked
                    };
                    (state, locks)
                }
                None => (FileState::Unsupported, Vec::new()),
            },
        };
        FileEntry {
            server: self.name.clone(),
            path: path.to_owned(),
            name: None,
            url,
            state,
            locks,
            error: None,
            wanted: false,
            file_id: response
                .props
                .fileid
                .found()
                .cloned()
                .filter(|id| !id.is_empty()),
        }
    }
}

impl Nextcloud {
    /// Reads `watch` in full: the entries, and the mark of each folder listed.
    async fn list(
        &self,
        watch: &[String],
        now: DateTime<Utc>,
        take: &mut Take<'_>,
    ) -> Result<Vec<(String, FolderMark)>> {
        let body = propfind_body(PROPS);
        // Each answer becomes entries as soon as it arrives, and goes on at once: a few answers in
        // memory, not all.
        let mut listings = Vec::new();
        fetch_each(
            &self.http,
            &self.base,
            watch,
            body,
            &self.counts,
            |entry, result| {
                let files = match result {
                    Ok(fetched) if is_folder(entry) => {
                        let files: Vec<FileEntry> = fetched
                            .members
                            .iter()
                            .map(|(path, r)| self.entry(path, r, now))
                            .collect();
                        self.counts.record(entry, files.len());
                        let etag = fetched.own.as_ref().and_then(|own| own.props.etag.found());
                        if let Some(etag) = etag {
                            listings.push((entry.to_owned(), FolderMark::of(etag.clone(), &files)));
                        }
                        files
                    }
                    Ok(fetched) => fetched
                        .own
                        .iter()
                        .map(|own| self.entry(entry, own, now))
                        .collect(),
                    Err(err) if err.is_server_wide() => return Err(err),
                    Err(err) => vec![super::unreadable(&self.name, &self.base, entry, &err)],
                };
                take(entry, files);
                Ok(())
            },
        )
        .await?;
        Ok(listings)
    }

    /// The etags of `folders` (`Depth: 0`); `None` where one cannot be had, which lists that folder in
    /// full (and reports its problem there).
    async fn etags(&self, folders: &[String]) -> Vec<Option<String>> {
        let body = propfind_body("<D:getetag/>");
        let replies = propfind_each(&self.http, &self.base, folders, body).await;
        replies
            .into_iter()
            .map(|reply| reply.ok()?.first()?.props.etag.found().cloned())
            .collect()
    }
}

impl LockSource for Nextcloud {
    fn kind(&self) -> ServerKind {
        ServerKind::Nextcloud
    }

    fn read<'a>(
        &'a self,
        watch: &'a [String],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<FileEntry>>> {
        Box::pin(async move {
            let mut files = Vec::with_capacity(self.counts.expected(watch));
            self.list(watch, now, &mut |_: &str, part: Vec<FileEntry>| {
                files.extend(part);
            })
            .await?;
            Ok(files)
        })
    }

    /// Lists every folder of `watch` whose etag moved since the previous poll (or all of them, every
    /// [`CHECK_EVERY`]th poll): see the module documentation.
    fn poll_each<'a>(
        &'a self,
        watch: &'a [String],
        now: DateTime<Utc>,
        take: &'a mut Take<'_>,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            let (check, known) = {
                let marks = guard(&self.marks);
                let check = marks.distrusted || marks.since_check + 1 >= CHECK_EVERY;
                (check, marks.folders.clone())
            };
            let mut unchanged = Vec::new();
            if !check {
                let probed: Vec<String> = watch
                    .iter()
                    .filter(|w| is_folder(w) && known.contains_key(*w))
                    .cloned()
                    .collect();
                let etags = self.etags(&probed).await;
                for (folder, etag) in probed.into_iter().zip(etags) {
                    if etag.is_some_and(|e| known.get(&folder).is_some_and(|m| m.etag == e)) {
                        unchanged.push(folder);
                    }
                }
            }
            let listed: Vec<String> = watch
                .iter()
                .filter(|w| !unchanged.contains(w))
                .cloned()
                .collect();
            let listings = self.list(&listed, now, take).await?;
            let mut marks = guard(&self.marks);
            for (folder, mark) in listings {
                if check
                    && !marks.distrusted
                    && let Some(old) = marks.folders.get(&folder)
                    && old.etag == mark.etag
                    && old.fingerprint != mark.fingerprint
                    && old.first_expiry.is_none_or(|e| e > now)
                {
                    tracing::warn!(server = %self.name, folder = %folder, "a folder's etag stayed while its locks changed; listing every folder in full from now on");
                    marks.distrusted = true;
                }
                marks.folders.insert(folder, mark);
            }
            marks.folders.retain(|folder, _| watch.contains(folder));
            marks.since_check = if check { 0 } else { marks.since_check + 1 };
            Ok(unchanged)
        })
    }

    fn lock<'a>(
        &'a self,
        path: &'a str,
        _request: &'a LockRequest,
    ) -> BoxFuture<'a, Result<Taken>> {
        // A user lock (`X-User-Lock`) shows the person, not a token. Its scope is always exclusive and its
        // timeout is the server's setting: files_lock takes neither from the request.
        Box::pin(async move {
            let reply = self.user_lock_request(b"LOCK", path).await?;
            match reply.status.as_u16() {
                200 | 201 => Ok(Taken {
                    token: user_lock_token(&reply.body),
                }),
                _ => Err(action_error(&self.http, &reply, path, "locking")),
            }
        })
    }

    fn refresh<'a>(
        &'a self,
        path: &'a str,
        _token: Option<&'a str>,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let reply = self.user_lock_request(b"LOCK", path).await?;
            match reply.status.as_u16() {
                200 | 201 => Ok(()),
                _ => Err(action_error(
                    &self.http,
                    &reply,
                    path,
                    "refreshing the lock on",
                )),
            }
        })
    }

    fn unlock<'a>(&'a self, path: &'a str, _token: Option<&'a str>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let reply = self.user_lock_request(b"UNLOCK", path).await?;
            match reply.status.as_u16() {
                200 | 204 => Ok(()),
                423 => Err(Error::Forbidden {
                    what: format!("unlocking {path}: the lock is not yours"),
                }),
                _ => Err(action_error(&self.http, &reply, path, "unlocking")),
            }
        })
    }

    fn force_unlock<'a>(&'a self, path: &'a str, lock: &'a Lock) -> BoxFuture<'a, Result<()>> {
        // The user-lock route works for the lock owner and for the owner of the file (on their own storage);
        // token locks can also be released by presenting their token.
        Box::pin(async move {
            let reply = self.user_lock_request(b"UNLOCK", path).await?;
            if matches!(reply.status.as_u16(), 200 | 204) {
                return Ok(());
            }
            if matches!(reply.status.as_u16(), 403 | 423)
                && let Some(token) = lock.token.as_deref()
            {
                let header = format!("<{token}>");
                let url = resource_url(&self.base, path);
                let token_reply = self
                    .http
                    .send(
                        method(b"UNLOCK")?,
                        url,
                        headers([("Lock-Token", header.as_str())]),
                        None,
                    )
                    .await?;
                if matches!(token_reply.status.as_u16(), 200 | 204) {
                    return Ok(());
                }
            }
            match reply.status.as_u16() {
                403 | 423 => Err(Error::Forbidden {
                    what: format!(
                        "releasing {}'s lock on {path}: Nextcloud lets only the lock's owner or the file's owner release it (an administrator can, with `occ files:lock`)",
                        lock.owner.as_deref().unwrap_or("another user")
                    ),
                }),
                _ => Err(action_error(
                    &self.http,
                    &reply,
                    path,
                    "releasing the lock on",
                )),
            }
        })
    }

    fn capabilities(&self) -> BoxFuture<'_, Result<ServerCapabilities>> {
        Box::pin(async move {
            let caps = match instance_root(&self.base) {
                Some(root) => capabilities(&self.http, &root).await?.unwrap_or_default(),
                None => Capabilities::default(),
            };
            let reply = self
                .http
                .send(Method::OPTIONS, self.base.clone(), HeaderMap::new(), None)
                .await?;
            Ok(ServerCapabilities {
                server: self.name.clone(),
                kind: ServerKind::Nextcloud,
                dav_class2: dav_classes(&reply.headers).iter().any(|c| c == "2"),
                scopes: vec![LockScope::Exclusive],
                reports_locks: caps.locking.is_some(),
                exposes_tokens: Ability::Yes,
                can_force_unlock: Ability::Unknown,
                nextcloud_locking: caps.locking,
                lock_type_feature: caps.lock_type_feature,
            })
        })
    }

    fn ask_channels(&self) -> BoxFuture<'_, Result<Vec<AskChannel>>> {
        Box::pin(async move {
            let caps = match instance_root(&self.base) {
                Some(root) => capabilities(&self.http, &root).await?.unwrap_or_default(),
                None => Capabilities::default(),
            };
            let mut channels = Vec::new();
            if caps.talk {
                channels.push(AskChannel::Talk);
            }
            channels.push(AskChannel::Comment);
            Ok(channels)
        })
    }

    fn send_ask<'a>(
        &'a self,
        path: &'a str,
        holder_id: &'a str,
        channel: AskChannel,
        message: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            match channel {
                AskChannel::Comment => self.comment(path, holder_id, message).await,
                AskChannel::Talk => self.talk(holder_id, message).await,
                other => Err(Error::Unsupported {
                    detail: format!("Nextcloud offers no {} channel", other.as_str()),
                }),
            }
        })
    }
}

impl Nextcloud {
    fn root(&self) -> Result<Url> {
        instance_root(&self.base).ok_or_else(|| Error::Unsupported {
            detail: "the server URL is not a Nextcloud WebDAV URL (…/remote.php/dav/files/USER/)"
                .into(),
        })
    }

    /// The file's `oc:fileid`, needed by the comments API.
    async fn file_id(&self, path: &str) -> Result<String> {
        let fetched = fetch(&self.http, &self.base, path, propfind_body("<oc:fileid/>")).await?;
        fetched
            .own
            .and_then(|r| r.props.fileid.found().cloned())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::Malformed {
                detail: format!("the server did not report the file id of {path}"),
            })
    }

    /// A file comment mentioning the holder: Nextcloud notifies them.
    async fn comment(&self, path: &str, holder_id: &str, message: &str) -> Result<()> {
        let id = self.file_id(path).await?;
        let url = self
            .root()?
            .join(&format!("remote.php/dav/comments/files/{id}"))
            .map_err(|err| Error::Malformed {
                detail: err.to_string(),
            })?;
        let body = serde_json::json!({
            "actorType": "users",
            "verb": "comment",
            "message": format!("{} {message}", mention(holder_id)),
        });
        let reply = self
            .http
            .send(
                Method::POST,
                url,
                headers([("Content-Type", "application/json")]),
                Some(body.to_string().into()),
            )
            .await?;
        match reply.status.as_u16() {
            200 | 201 => Ok(()),
            404 => Err(Error::NotFound {
                what: format!("the comments of {path}"),
            }),
            _ => Err(action_error(&self.http, &reply, path, "commenting on")),
        }
    }

    /// A Talk one-to-one message: open (or find) the conversation with the holder, then post.
    async fn talk(&self, holder_id: &str, message: &str) -> Result<()> {
        let root = self.root()?;
        let ocs = |path: &str| {
            root.join(&format!("ocs/v2.php/apps/spreed/{path}?format=json"))
                .map_err(|err| Error::Malformed {
                    detail: err.to_string(),
                })
        };
        let hdrs = headers([
            ("OCS-APIRequest", "true"),
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
        ]);
        let body = serde_json::json!({"roomType": 1, "invite": holder_id});
        let reply = self
            .http
            .send(
                Method::POST,
                ocs("api/v4/room")?,
                hdrs.clone(),
                Some(body.to_string().into()),
            )
            .await?;
        let token = match reply.status.as_u16() {
            200 | 201 => serde_json::from_slice::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v["ocs"]["data"]["token"].as_str().map(str::to_owned))
                .ok_or_else(|| Error::Malformed {
                    detail: "Talk did not return a conversation token".into(),
                })?,
            404 if reply.body.windows(6).any(|w| w == b"invite") => {
                return Err(Error::NotFound {
                    what: format!(
                        "the Nextcloud user \"{holder_id}\" (Talk cannot start a conversation with them)"
                    ),
                });
            }
            404 => {
                return Err(Error::Unsupported {
                    detail: "Talk (the spreed app) is not installed on this Nextcloud".into(),
                });
            }
            _ => {
                return Err(action_error(
                    &self.http,
                    &reply,
                    holder_id,
                    "starting a Talk conversation with",
                ));
            }
        };
        let body = serde_json::json!({"message": message});
        let reply = self
            .http
            .send(
                Method::POST,
                ocs(&format!("api/v1/chat/{token}"))?,
                hdrs,
                Some(body.to_string().into()),
            )
            .await?;
        match reply.status.as_u16() {
            200 | 201 => Ok(()),
            _ => Err(action_error(
                &self.http,
                &reply,
                holder_id,
                "sending a Talk message to",
            )),
        }
    }

    async fn user_lock_request(
        &self,
        name: &'static [u8],
        path: &str,
    ) -> Result<crate::http::Reply> {
        let url = resource_url(&self.base, path);
        self.http
            .send(method(name)?, url, headers([("X-User-Lock", "1")]), None)
            .await
    }
}

/// An `@mention` of a user id, quoted when it holds anything but letters, digits, `_`, `.` and `-`.
pub fn mention(user_id: &str) -> String {
    if !user_id.is_empty()
        && user_id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        format!("@{user_id}")
    } else {
        format!("@\"{}\"", user_id.replace('"', ""))
    }
}

/// The `nc:lock-token` in the `d:prop` body of an `X-User-Lock` answer, when present.
fn user_lock_token(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("lock-token>")? + "lock-token>".len();
    let end = start + text[start..].find('<')?;
    let token = text[start..end].trim();
    (!token.is_empty()).then(|| token.to_owned())
}

/// The model of a files_lock lock from its `nc:` properties.
fn nc_lock(nc: &NcProps, href: &str) -> Lock {
    let text = |p: &Prop<String>| {
        p.found()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let kind = match text(&nc.owner_type).as_deref() {
        Some("1") => LockKind::App,
        Some("2") => LockKind::Token,
        _ => LockKind::User,
    };
    let owner_id = text(&nc.owner);
    let display = text(&nc.displayname);
    let acquired_at = text(&nc.time)
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|t| DateTime::from_timestamp(t, 0));
    let timeout_raw = text(&nc.timeout);
    let (expiry, expires_at) = match timeout_raw.as_deref().map(str::parse::<i64>) {
        // files_lock: a timeout of zero or less, or none at all, never expires.
        None => (Expiry::Never, None),
        Some(Ok(t)) if t <= 0 => (Expiry::Never, None),
        Some(Ok(t)) => match acquired_at
            .and_then(|a| TimeDelta::try_seconds(t).and_then(|d| a.checked_add_signed(d)))
        {
            Some(at) => (Expiry::At, Some(at)),
            None => (Expiry::Unknown, None),
        },
        Some(Err(_)) => (Expiry::Unknown, None),
    };
    Lock {
        owner: display.clone().or_else(|| owner_id.clone()),
        owner_id,
        editor: text(&nc.editor),
        scope: LockScope::Exclusive,
        kind,
        token: text(&nc.token),
        depth: "0".to_owned(),
        root: Some(href.to_owned()),
        acquired_at,
        expires_at,
        expiry,
        timeout: timeout_raw,
        inherited: false,
        mine: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_roots() {
        let root = |u: &str| instance_root(&Url::parse(u).unwrap()).map(|r| r.to_string());
        assert_eq!(
            root("https://h/remote.php/dav/files/a/").as_deref(),
            Some("https://h/")
        );
        assert_eq!(
            root("https://h/nc/remote.php/webdav/").as_deref(),
            Some("https://h/nc/")
        );
        assert_eq!(root("https://h/dav/"), None);
    }

    #[test]
    fn capabilities_variants() {
        let caps = parse_capabilities(br#"{"ocs":{"meta":{"status":"ok"},"data":{"version":{},"capabilities":{"files":{"locking":"1.0","api-feature-lock-type":true},"notify_push":{"type":["files"],"endpoints":{"websocket":"wss://h/push/ws"}}}}}}"#).unwrap();
        assert_eq!(caps.locking.as_deref(), Some("1.0"));
        assert!(caps.lock_type_feature);
        assert_eq!(caps.push_websocket.as_deref(), Some("wss://h/push/ws"));
        let caps = parse_capabilities(
            br#"{"ocs":{"data":{"capabilities":{"files":{"bigfilechunking":true}}}}}"#,
        )
        .unwrap();
        assert_eq!(caps, Capabilities::default());
        assert_eq!(parse_capabilities(b"<html>"), None);
        assert_eq!(parse_capabilities(br#"{"ocs":{"data":[]}}"#), None);
    }

    #[test]
    fn nc_lock_mapping() {
        let p = |s: &str| Prop::Found(s.to_owned());
        let nc = NcProps {
            lock: p("1"),
            owner_type: p("1"),
            owner: Prop::Absent,
            displayname: p(" Nextcloud Office "),
            editor: p("richdocuments"),
            time: p("1700000000"),
            timeout: p("1800"),
            token: p("files_lock/abc"),
        };
        let lock = nc_lock(&nc, "/remote.php/dav/files/a/B.xlsx");
        assert_eq!(lock.kind, LockKind::App);
        assert_eq!(lock.owner.as_deref(), Some("Nextcloud Office"));
        assert_eq!(lock.owner_id, None);
        assert_eq!(lock.editor.as_deref(), Some("richdocuments"));
        assert_eq!(lock.expiry, Expiry::At);
        assert_eq!(lock.expires_at, DateTime::from_timestamp(1_700_001_800, 0));
        for never in ["0", "-60", "-1"] {
            let lock = nc_lock(
                &NcProps {
                    timeout: p(never),
                    ..nc.clone()
                },
                "/x",
            );
            assert_eq!(
                (lock.expiry, lock.expires_at),
                (Expiry::Never, None),
                "{never}"
            );
        }
        let lock = nc_lock(
            &NcProps {
                timeout: Prop::Failed(404),
                ..nc.clone()
            },
            "/x",
        );
        assert_eq!(lock.expiry, Expiry::Never);
        let lock = nc_lock(
            &NcProps {
                timeout: p("soon"),
                owner_type: p("2"),
                owner: p("bob"),
                displayname: p(""),
                ..nc
            },
            "/x",
        );
        assert_eq!(
            (lock.expiry, lock.kind, lock.owner.as_deref()),
            (Expiry::Unknown, LockKind::Token, Some("bob"))
        );
    }
}
