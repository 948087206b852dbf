//! WOPI hosts: the locks online office editors (Office for the web, Collabora, ONLYOFFICE) hold.
//!
//! Every call is a `POST {url}{file id}?access_token=…` with the operation in `X-WOPI-Override`. Reading
//! is `GetLock` only — never `Lock`, which would take the lock. `CheckFileInfo` is read once per file (and
//! again when the host reports a new item version) for the file's name and what the host supports.
//!
//! WOPI tells less than WebDAV, and Lockwatch says so instead of guessing: a lock id but no holder, and no
//! expiry — a lock lives 30 minutes after the editor's last refresh, which a watcher cannot see, so the
//! expiry is reported as "at most 30 minutes from now" ([`Expiry::AtMost`]). The editor is guessed from the
//! shape of the lock id and labelled as a guess.
//!
//! The access token is a secret that travels in the URL: it is added only when a request is sent, and
//! every URL that reaches a log line or a message goes through [`crate::secrets::redact_url`].
//! Access tokens are per file, so a rejected token is that file's error, not the server's.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, stream};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use url::Url;

use super::{LockRequest, LockSource, Taken};
use crate::config::{ServerConfig, TokenSource};
use crate::error::{Error, ErrorInfo, Result};
use crate::http::{HttpClient, Reply, headers};
use crate::model::{
    Ability, Capabilities, Expiry, FileEntry, FileState, Lock, LockKind, LockScope, ServerKind,
};
use crate::secrets::{Secret, redact_url};

/// How long a WOPI lock lives after its last Lock or RefreshLock.
pub const LOCK_LIFETIME: TimeDelta = TimeDelta::minutes(30);

/// What `CheckFileInfo` says about a file (the fields Lockwatch uses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FileInfo {
    /// The file's name.
    pub base_file_name: Option<String>,
    /// The host's version of the file.
    pub version: Option<String>,
    /// The host supports Lock / Unlock / RefreshLock.
    pub supports_locks: Option<bool>,
    /// The host supports GetLock.
    pub supports_get_lock: Option<bool>,
    /// The token's user may write (needed to lock or unlock).
    pub user_can_write: Option<bool>,
    /// Where the file is edited in the browser.
    pub host_edit_url: Option<String>,
}

/// Parses a CheckFileInfo answer leniently: unknown fields ignored, wrong types treated as absent.
pub fn parse_file_info(body: &[u8]) -> Option<FileInfo> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    // Hosts differ in key case (`BaseFileName`, `baseFileName`): match case-insensitively.
    let get = |key: &str| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    };
    let text = |key: &str| {
        get(key).and_then(|v| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let flag = |key: &str| {
        get(key).and_then(|v| match v {
            serde_json::Value::Bool(b) => Some(*b),
            serde_json::Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            serde_json::Value::Number(n) => n.as_i64().map(|n| n != 0),
            _ => None,
        })
    };
    Some(FileInfo {
        base_file_name: text("BaseFileName"),
        version: text("Version"),
        supports_locks: flag("SupportsLocks"),
        supports_get_lock: flag("SupportsGetLock"),
        user_can_write: flag("UserCanWrite"),
        host_edit_url: text("HostEditUrl"),
    })
}

/// The editor a lock id's shape suggests, labelled as a guess; `None` when the shape says nothing.
pub fn guess_editor(lock_id: &str, file_id: &str) -> Option<&'static str> {
    let id = lock_id.trim();
    if id.starts_with('{')
        && serde_json::from_str::<serde_json::Value>(id)
            .ok()
            .is_some_and(|v| v.get("S").is_some())
    {
        return Some("Office for the web (guessed from the lock id)");
    }
    let lower = id.to_ascii_lowercase();
    if lower.starts_with("cool-lock") || lower.starts_with("lool-lock") {
        return Some("Collabora Online (guessed from the lock id)");
    }
    if id == file_id || id == onlyoffice_doc_id(file_id) {
        return Some("ONLYOFFICE (guessed from the lock id)");
    }
    if lower.starts_with("lockwatch-") {
        return Some("Lockwatch");
    }
    None
}

/// The lock id ONLYOFFICE Docs takes for file `file_id` when editing: its document key, the file id with every
/// character outside `0-9 A-Z a-z - . _ =` replaced by `_`, cut to 240 characters (ONLYOFFICE/server,
/// `DocService/sources/wopiClient.js` `createDocId` and `Common/sources/constants.js` `DOC_ID_*`).
fn onlyoffice_doc_id(file_id: &str) -> String {
    file_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '=') {
                c
            } else {
                '_'
            }
        })
        .take(240)
        .collect()
}

/// A WOPI host.
pub struct Wopi {
    name: String,
    base: Url,
    http: HttpClient,
    tokens: BTreeMap<String, Secret>,
    missing_tokens: BTreeMap<String, Error>,
    infos: Arc<Mutex<HashMap<String, FileInfo>>>,
}

impl std::fmt::Debug for Wopi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wopi")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Wopi {
    /// A source for `config`; `tokens` holds the access token of every file id that has one (the others'
    /// lookups failed with the errors in `missing`).
    pub fn new(
        config: &ServerConfig,
        http: HttpClient,
        tokens: BTreeMap<String, Secret>,
        missing: BTreeMap<String, Error>,
    ) -> Wopi {
        Wopi {
            name: config.name.clone(),
            base: config.url.clone(),
            http,
            tokens,
            missing_tokens: missing,
            infos: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn file_url(&self, id: &str) -> Url {
        super::resource_url(&self.base, id)
    }

    /// Sends one WOPI request for file `id` (adding the token only here) with `override_op` and `extra`
    /// headers; `None` for CheckFileInfo (a GET).
    async fn call(
        &self,
        id: &str,
        override_op: Option<&str>,
        extra: &[(&'static str, &str)],
    ) -> Result<Reply> {
        let token = match self.tokens.get(id) {
            Some(token) => token,
            None => {
                return Err(self.missing_tokens.get(id).cloned().unwrap_or_else(|| {
                    Error::MissingSecret {
                        detail: format!("no access token is configured for WOPI file {id}"),
                    }
                }));
            }
        };
        let mut url = self.file_url(id);
        url.query_pairs_mut()
            .append_pair("access_token", token.expose());
        let mut hdrs = HeaderMap::new();
        for (name, value) in extra {
            hdrs.extend(headers([(name, value)]));
        }
        let method = match override_op {
            Some(op) => {
                hdrs.extend(headers([("X-WOPI-Override", op)]));
                Method::POST
            }
            None => Method::GET,
        };
        let body = override_op.map(|_| bytes::Bytes::new());
        self.http.send(method, url, hdrs, body).await
    }

    fn error(&self, id: &str, reply: &Reply, doing: &str) -> Error {
        match reply.status.as_u16() {
            401 => Error::MissingSecret {
                detail: format!(
                    "the host rejected the access token for WOPI file {id} (HTTP 401); tokens expire: get a new one from the host"
                ),
            },
            403 => Error::Forbidden {
                what: format!("{doing} WOPI file {id}"),
            },
            404 => Error::NotFound {
                what: format!("WOPI file {id}"),
            },
            409 => conflict_error(id, &reply.headers, doing),
            501 => Error::Unsupported {
                detail: format!("this WOPI host does not support {doing} (HTTP 501)"),
            },
            code => Error::Status {
                status: code,
                detail: format!("while {doing} WOPI file {id}: {}", reply.excerpt()),
            },
        }
    }

    /// CheckFileInfo, cached per file until the host reports another version.
    async fn file_info(&self, id: &str, version_seen: Option<&str>) -> Option<FileInfo> {
        let cached = self.infos.lock().ok().and_then(|m| m.get(id).cloned());
        if let Some(info) = &cached
            && (version_seen.is_none() || info.version.as_deref() == version_seen)
        {
            return cached;
        }
        let reply = self.call(id, None, &[]).await.ok()?;
        if !reply.status.is_success() {
            return cached;
        }
        let info = parse_file_info(&reply.body)?;
        if let Ok(mut map) = self.infos.lock() {
            map.insert(id.to_owned(), info.clone());
        }
        Some(info)
    }

    async fn read_one(&self, id: &str, now: DateTime<Utc>) -> Result<FileEntry> {
        let url = redact_url(&self.file_url(id));
        let reply = self.call(id, Some("GET_LOCK"), &[]).await?;
        // Hosts answer "not locked" with 200 and an empty or missing X-WOPI-Lock; some with 409 and an
        // empty one. A non-empty id in either is the lock.
        let lock_id = match reply.status.as_u16() {
            200 | 204 | 409 => lock_header(&reply.headers),
            _ => return Err(self.error(id, &reply, "reading the lock of")),
        };
        let version = reply
            .headers
            .get("x-wopi-itemversion")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let info = self.file_info(id, version.as_deref()).await;
        let locks = match &lock_id {
            Some(lock_id) => vec![Lock {
                owner: reason_header(&reply.headers),
                owner_id: None,
                editor: guess_editor(lock_id, id).map(str::to_owned),
                scope: LockScope::Exclusive,
                kind: LockKind::Wopi,
                token: Some(lock_id.clone()),
                depth: "0".to_owned(),
                root: None,
                acquired_at: None,
                expires_at: now.checked_add_signed(LOCK_LIFETIME),
                expiry: Expiry::AtMost,
                timeout: None,
                inherited: false,
                mine: lock_id.starts_with("lockwatch-"),
            }],
            None => Vec::new(),
        };
        Ok(FileEntry {
            server: self.name.clone(),
            path: id.to_owned(),
            name: info.and_then(|i| i.base_file_name),
            url,
            state: if locks.is_empty() {
                FileState::Unlocked
            } else {
                FileState::Locked
            },
            locks,
            error: None,
            wanted: false,
            file_id: None,
        })
    }
}

/// The error for a `409` answer to `doing` file `id`: locked by someone else when the host names the current
/// lock; otherwise the host's `X-WOPI-LockFailureReason` when it gives one. A 409 without a lock id does not
/// always mean "not locked": SharePoint answers `LOCK` on a checked-out file with `409`, no `X-WOPI-Lock` and
/// `X-WOPI-LockFailureReason: ExistingCheckout` (microsoft/Office-Online-Test-Tools-and-Documentation#421).
fn conflict_error(id: &str, headers: &HeaderMap, doing: &str) -> Error {
    let reason = reason_header(headers);
    match lock_header(headers) {
        Some(current) => Error::Locked {
            what: format!("WOPI file {id}"),
            detail: format!(
                "by another session ({}){}",
                guess_editor(&current, id).unwrap_or("editor unknown"),
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            ),
        },
        None => Error::Conflict {
            detail: match reason {
                Some(reason) => format!(
                    "the host refused {doing} WOPI file {id} (HTTP 409) without naming a lock: {reason}"
                ),
                None => format!(
                    "the host refused {doing} WOPI file {id} (HTTP 409): it is not locked with that id"
                ),
            },
        },
    }
}

/// A non-empty `X-WOPI-Lock` header value (header names are case-insensitive).
fn lock_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-wopi-lock")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `X-WOPI-LockFailureReason`, made safe to show.
fn reason_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-wopi-lockfailurereason")
        .and_then(|v| v.to_str().ok())
        .map(|v| crate::display::safe(v.trim(), 200))
        .filter(|v| !v.is_empty())
}

impl LockSource for Wopi {
    fn kind(&self) -> ServerKind {
        ServerKind::Wopi
    }

    fn read<'a>(
        &'a self,
        watch: &'a [String],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<FileEntry>>> {
        Box::pin(async move {
            let futures: Vec<_> = watch.iter().map(|id| self.read_one(id, now)).collect();
            let results: Vec<Result<FileEntry>> = stream::iter(futures)
                .buffered(super::webdav::CONCURRENCY)
                .collect()
                .await;
            // The host as a whole is down only when no file could be reached at all; a rejected token or
            // a missing file concerns that file alone.
            let unreachable = |r: &Result<FileEntry>| matches!(r, Err(e) if matches!(e.kind(), crate::ErrorKind::Network | crate::ErrorKind::Timeout | crate::ErrorKind::Tls));
            if !results.is_empty() && results.iter().all(unreachable) {
                if let Some(Err(err)) = results.into_iter().next() {
                    return Err(err);
                }
                return Ok(Vec::new());
            }
            let files = watch
                .iter()
                .zip(results)
                .map(|(id, result)| {
                    result.unwrap_or_else(|err| {
                        let url = redact_url(&self.file_url(id));
                        FileEntry::failed(
                            &self.name,
                            id,
                            &url,
                            ErrorInfo::for_server(&self.name, &err),
                        )
                    })
                })
                .collect();
            Ok(files)
        })
    }

    fn lock<'a>(
        &'a self,
        path: &'a str,
        _request: &'a LockRequest,
    ) -> BoxFuture<'a, Result<Taken>> {
        // WOPI locks have a fixed 30-minute lifetime and no scope or owner: only the id is ours to choose.
        Box::pin(async move {
            let id = format!("lockwatch-{}", uuid::Uuid::new_v4());
            let reply = self
                .call(path, Some("LOCK"), &[("X-WOPI-Lock", id.as_str())])
                .await?;
            if reply.status == StatusCode::OK {
                Ok(Taken { token: Some(id) })
            } else {
                Err(self.error(path, &reply, "locking"))
            }
        })
    }

    fn refresh<'a>(
        &'a self,
        path: &'a str,
        token: Option<&'a str>,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let token = token.ok_or_else(|| Error::Conflict {
                detail: "Lockwatch has no lock id for this file".into(),
            })?;
            let reply = self
                .call(path, Some("REFRESH_LOCK"), &[("X-WOPI-Lock", token)])
                .await?;
            if reply.status == StatusCode::OK {
                Ok(())
            } else {
                Err(self.error(path, &reply, "refreshing the lock on"))
            }
        })
    }

    fn unlock<'a>(&'a self, path: &'a str, token: Option<&'a str>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let token = token.ok_or_else(|| Error::Conflict {
                detail: "Lockwatch has no lock id for this file".into(),
            })?;
            let reply = self
                .call(path, Some("UNLOCK"), &[("X-WOPI-Lock", token)])
                .await?;
            if reply.status == StatusCode::OK {
                Ok(())
            } else {
                Err(self.error(path, &reply, "unlocking"))
            }
        })
    }

    fn force_unlock<'a>(&'a self, path: &'a str, lock: &'a Lock) -> BoxFuture<'a, Result<()>> {
        // WOPI locks belong to no user: anyone with a write token and the lock id may unlock. The editor
        // will usually take the lock again on its next refresh.
        Box::pin(async move {
            let current = match &lock.token {
                Some(token) => token.clone(),
                None => {
                    let reply = self.call(path, Some("GET_LOCK"), &[]).await?;
                    lock_header(&reply.headers).ok_or_else(|| Error::Conflict {
                        detail: format!("WOPI file {path} is not locked"),
                    })?
                }
            };
            self.unlock(path, Some(&current)).await
        })
    }

    fn capabilities(&self) -> BoxFuture<'_, Result<Capabilities>> {
        Box::pin(async move {
            let first = self.tokens.keys().next().cloned();
            let info = match &first {
                Some(id) => self.file_info(id, None).await.unwrap_or_default(),
                None => FileInfo::default(),
            };
            let yes_no = |b: Option<bool>| match b {
                Some(true) => Ability::Yes,
                Some(false) => Ability::No,
                None => Ability::Unknown,
            };
            Ok(Capabilities {
                server: self.name.clone(),
                kind: ServerKind::Wopi,
                dav_class2: false,
                scopes: if info.supports_locks == Some(false) {
                    vec![]
                } else {
                    vec![LockScope::Exclusive]
                },
                reports_locks: info.supports_get_lock.unwrap_or(true),
                exposes_tokens: Ability::Yes,
                can_force_unlock: match (info.supports_locks, info.user_can_write) {
                    (Some(false), _) | (_, Some(false)) => Ability::No,
                    (_, write) => yes_no(write),
                },
                nextcloud_locking: None,
                lock_type_feature: false,
            })
        })
    }
}

/// Resolves every file's access token: from its environment variable (read at config load) or the
/// keyring (`server/id`, then `server`). Failures are kept per file.
pub(crate) async fn resolve_tokens(
    config: &ServerConfig,
    secrets: Arc<dyn crate::secrets::SecretStore>,
) -> (BTreeMap<String, Secret>, BTreeMap<String, Error>) {
    let mut tokens = BTreeMap::new();
    let mut missing = BTreeMap::new();
    for (id, source) in &config.access_tokens {
        match source {
            TokenSource::Env { value, .. } => {
                tokens.insert(id.clone(), value.clone());
            }
            TokenSource::Keyring => {
                let store = secrets.clone();
                let keys = [format!("{}/{id}", config.name), config.name.clone()];
                let found = tokio::task::spawn_blocking(move || {
                    for key in keys {
                        match store.get(&key) {
                            Ok(Some(secret)) => return Ok(Some(secret)),
                            Ok(None) => {}
                            Err(err) => return Err(err),
                        }
                    }
                    Ok(None)
                })
                .await
                .unwrap_or_else(|err| {
                    Err(Error::Keyring {
                        detail: err.to_string(),
                    })
                });
                match found {
                    Ok(Some(secret)) => {
                        tokens.insert(id.clone(), secret);
                    }
                    Ok(None) => {
                        missing.insert(
                            id.clone(),
                            Error::MissingSecret {
                                detail: format!(
                                    "no access token for WOPI file {id}: set `access_token_env` for it, or store one with `lockwatch password set {}`",
                                    config.name
                                ),
                            },
                        );
                    }
                    Err(err) => {
                        missing.insert(id.clone(), err);
                    }
                }
            }
        }
    }
    (tokens, missing)
}

#[cfg(test)]
#[path = "wopi_recorded_tests.rs"]
mod wopi_recorded_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_guesses() {
        assert_eq!(
            guess_editor(r#"{"S":"1d1e7c5e","F":6}"#, "f"),
            Some("Office for the web (guessed from the lock id)")
        );
        assert_eq!(
            guess_editor("cool-lock-123", "f"),
            Some("Collabora Online (guessed from the lock id)")
        );
        assert_eq!(
            guess_editor("LOOL-LOCK:abc", "f"),
            Some("Collabora Online (guessed from the lock id)")
        );
        assert_eq!(
            guess_editor("doc42", "doc42"),
            Some("ONLYOFFICE (guessed from the lock id)")
        );
        assert_eq!(guess_editor(r#"{"T":1}"#, "f"), None);
        assert_eq!(guess_editor("{not json", "f"), None);
        assert_eq!(guess_editor("abc", "f"), None);
    }

    #[test]
    fn file_info_in_every_shape_hosts_send() {
        let info = parse_file_info(br#"{"BaseFileName":"Budget.xlsx","Version":"v7","SupportsLocks":true,"SupportsGetLock":true,"UserCanWrite":true,"HostEditUrl":"https://h/edit","Size":12}"#).unwrap();
        assert_eq!(info.base_file_name.as_deref(), Some("Budget.xlsx"));
        assert_eq!(info.supports_get_lock, Some(true));
        let info = parse_file_info(br#"{"baseFileName":"a.docx","version":42,"supportsLocks":"true","userCanWrite":0,"LastModifiedTime":"2026-11-21T10:00:00.0000000Z"}"#).unwrap();
        assert_eq!(
            (info.base_file_name.as_deref(), info.version.as_deref()),
            (Some("a.docx"), Some("42"))
        );
        assert_eq!(
            (
                info.supports_locks,
                info.user_can_write,
                info.supports_get_lock
            ),
            (Some(true), Some(false), None)
        );
        assert_eq!(parse_file_info(b"<html>"), None);
        assert_eq!(parse_file_info(b"[1,2]"), None);
    }
}
