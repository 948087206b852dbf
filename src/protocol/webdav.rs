//! Plain WebDAV (RFC 4918) lock discovery.
//!
//! One PROPFIND per watched entry: `Depth: 1` for a folder (its members in one request, never one per
//! file), `Depth: 0` for a file. A file is locked when its own `lockdiscovery` lists a lock *or* an
//! ancestor folder holds a depth-infinity lock.
//!
//! Whether that second case costs requests depends on the server. Apache mod_dav and dav-server repeat an
//! ancestor's depth-infinity lock in the `lockdiscovery` of every resource below it (as RFC 4918's
//! `lockroot` anticipates), so the watched entries' own answers already carry it. WsgiDAV lists only
//! the locks made on the resource itself. So each source learns, from the answers it reads anyway, how
//! its server behaves ([`Inheritance`]): until it knows that the server repeats inherited locks, each
//! distinct ancestor folder (within the server URL) that is not itself a watched folder is also read with
//! `Depth: 0`; once it knows, nothing more is sent, and a poll costs one request per watched entry.
//!
//! A resource whose `lockdiscovery` comes back in a failed propstat, or not at all, is `unsupported` — the
//! server cannot say, so Lockwatch does not guess "unlocked".
//!
//! Taking and releasing locks is not here yet; this module only reads.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{StreamExt, stream};
use url::Url;

use super::multistatus::{self, ActiveLock, Prop, Response};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;

use super::{
    EntryCounts, LockRequest, LockSource, Take, Taken, action_error, dav_classes, propfind,
    propfind_body, relative_path, resource_url, same_path, status_error,
};
use crate::config::{ServerConfig, is_folder};
use crate::error::{Error, ErrorInfo, Result};
use crate::http::{HttpClient, headers};
use crate::model::{
    Ability, Capabilities, Expiry, FileEntry, FileState, Lock, LockKind, LockScope, ServerKind,
};
use crate::secrets::redact_url;

/// The properties asked of plain WebDAV servers.
pub const PROPS: &str = "<D:resourcetype/><D:getetag/><D:lockdiscovery/><D:supportedlock/>";

/// Requests in flight at once per server.
pub(crate) const CONCURRENCY: usize = 4;

/// Entries expected in the folder listings under way at once, past the first (see [`fetch_stream`]):
/// four listings of small folders go together, but the answers of large ones take memory in proportion
/// (about 0.65 MB per thousand entries from Apache, with locks and `supportedlock`), so a server with
/// thousand-file folders is listed three folders at a time and one with larger folders fewer. Two at a
/// time (2,000) saved another megabyte at the peak but made a poll of ten such folders take twice as long
/// (README, Benchmarks).
pub(crate) const ENTRIES_IN_FLIGHT: usize = 3_000;

/// A plain WebDAV server.
#[derive(Debug, Clone)]
pub struct WebDav {
    name: String,
    base: Url,
    http: HttpClient,
    /// What this server has shown about inherited locks ([`Inheritance`] as a number), shared by clones.
    inheritance: Arc<AtomicU8>,
    /// How many entries each folder gave last time: room reserved for the next reading.
    counts: Arc<EntryCounts>,
}

impl WebDav {
    /// A source for `config`, sending requests through `http`.
    pub fn new(config: &ServerConfig, http: HttpClient) -> WebDav {
        WebDav {
            name: config.name.clone(),
            base: config.url.clone(),
            http,
            inheritance: Arc::new(AtomicU8::new(Inheritance::Unknown as u8)),
            counts: Arc::default(),
        }
    }

    /// What the server has shown so far about inherited locks.
    pub fn inheritance(&self) -> Inheritance {
        match self.inheritance.load(Ordering::Relaxed) {
            1 => Inheritance::Repeated,
            2 => Inheritance::Omitted,
            _ => Inheritance::Unknown,
        }
    }

    /// Records new evidence. "Omitted" is final: one server answer that leaves out an inherited lock is
    /// enough to read ancestors from then on.
    fn learn(&self, evidence: Option<Inheritance>) {
        let next = match (self.inheritance(), evidence) {
            (_, None) | (Inheritance::Omitted, _) => return,
            (_, Some(seen)) => seen,
        };
        if next != self.inheritance() {
            tracing::debug!(server = %self.name, inheritance = ?next, "learned how the server reports inherited locks");
            self.inheritance.store(next as u8, Ordering::Relaxed);
        }
    }
}

/// How a server reports a depth-infinity lock on the resources below the locked folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Inheritance {
    /// Not known yet: ancestors are read.
    Unknown = 0,
    /// Every resource below the folder lists the lock in its own `lockdiscovery` (Apache mod_dav,
    /// dav-server): reading the watched entries is enough.
    Repeated = 1,
    /// Only the locked folder lists it (WsgiDAV): ancestors must be read.
    Omitted = 2,
}

/// The live-property namespace of Apache's mod_dav_fs, declared in every answer it writes. mod_dav lists
/// every lock that applies to a resource, direct or inherited (`dav_lock_query` asks its lock database for
/// resolved locks), so its answers are evidence enough.
const MOD_DAV_FS_NS: &[u8] = b"http://apache.org/dav/props/";

/// What one answer shows about inherited locks, if anything: Apache's own namespace, or a folder's
/// depth-infinity lock next to its members' lock lists.
fn inheritance_evidence(body: &[u8], fetched: &Fetched) -> Option<Inheritance> {
    let head = &body[..body.len().min(4096)];
    let from_members = fetched.own.as_ref().and_then(|own| {
        let members: Vec<&Response> = fetched.members.iter().map(|(_, r)| r).collect();
        repeated_below(&infinity_locks("", own), &members)
    });
    match from_members {
        Some(Inheritance::Omitted) => Some(Inheritance::Omitted),
        _ if head
            .windows(MOD_DAV_FS_NS.len())
            .any(|w| w == MOD_DAV_FS_NS) =>
        {
            Some(Inheritance::Repeated)
        }
        other => other,
    }
}

/// Whether `below`, resources under the folders holding the depth-infinity locks `locks`, list those
/// locks in their own `lockdiscovery`: `Omitted` when any of them leaves one out, `Repeated` when they all
/// list them, `None` when nothing can be compared (no token, no lock list).
fn repeated_below(locks: &[(String, ActiveLock)], below: &[&Response]) -> Option<Inheritance> {
    let mut verdict = None;
    for (_, lock) in locks {
        let Some(token) = lock.token.as_deref() else {
            continue;
        };
        for response in below {
            let Some(own) = response.props.lockdiscovery.found() else {
                continue;
            };
            if own.iter().any(|l| l.token.as_deref() == Some(token)) {
                verdict.get_or_insert(Inheritance::Repeated);
            } else {
                return Some(Inheritance::Omitted);
            }
        }
    }
    verdict
}

impl LockSource for WebDav {
    fn kind(&self) -> ServerKind {
        ServerKind::Webdav
    }

    fn read<'a>(
        &'a self,
        watch: &'a [String],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<FileEntry>>> {
        Box::pin(async move {
            let mut files = Vec::with_capacity(self.counts.expected(watch));
            self.read_each(watch, now, &mut |_: &str, part: Vec<FileEntry>| {
                files.extend(part);
            })
            .await?;
            Ok(files)
        })
    }

    fn poll_each<'a>(
        &'a self,
        watch: &'a [String],
        now: DateTime<Utc>,
        take: &'a mut Take<'_>,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            self.read_each(watch, now, take).await?;
            Ok(Vec::new())
        })
    }

    fn lock<'a>(&'a self, path: &'a str, request: &'a LockRequest) -> BoxFuture<'a, Result<Taken>> {
        Box::pin(async move {
            if request.scope == LockScope::Shared {
                self.check_offers_shared(path).await?;
            }
            let url = resource_url(&self.base, path);
            let timeout = format!("Second-{}", request.timeout.as_secs().max(1));
            let hdrs = headers([
                ("Timeout", timeout.as_str()),
                ("Depth", "0"),
                ("Content-Type", "application/xml; charset=utf-8"),
            ]);
            let reply = self
                .http
                .send(method(b"LOCK")?, url, hdrs, Some(lockinfo(request)))
                .await?;
            if !matches!(reply.status.as_u16(), 200 | 201) {
                return Err(action_error(&self.http, &reply, path, "locking"));
            }
            Ok(Taken {
                token: lock_token_header(&reply.headers),
            })
        })
    }

    fn refresh<'a>(
        &'a self,
        path: &'a str,
        token: Option<&'a str>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let token = token.ok_or_else(no_token)?;
            let url = resource_url(&self.base, path);
            let condition = format!("(<{token}>)");
            let timeout = format!("Second-{}", timeout.as_secs().max(1));
            let hdrs = headers([("If", condition.as_str()), ("Timeout", timeout.as_str())]);
            let reply = self.http.send(method(b"LOCK")?, url, hdrs, None).await?;
            match reply.status.as_u16() {
                200 | 201 | 204 => Ok(()),
                _ => Err(action_error(
                    &self.http,
                    &reply,
                    path,
                    "refreshing the lock on",
                )),
            }
        })
    }

    fn unlock<'a>(&'a self, path: &'a str, token: Option<&'a str>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let token = token.ok_or_else(no_token)?;
            self.send_unlock(resource_url(&self.base, path), path, token, "unlocking")
                .await
        })
    }

    fn force_unlock<'a>(&'a self, path: &'a str, lock: &'a Lock) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let Some(token) = lock.token.as_deref() else {
                return Err(Error::Unsupported {
                    detail: "this server does not reveal lock tokens, so another user's lock cannot be released from here; ask the holder, or the server's administrator".into(),
                });
            };
            // UNLOCK goes to the lock's root when the server names it (a folder for inherited locks):
            // some servers accept only the root, and every server accepts it.
            let url = lock
                .root
                .as_deref()
                .and_then(|root| self.base.join(root).ok())
                .filter(|root| root.origin() == self.base.origin())
                .unwrap_or_else(|| resource_url(&self.base, path));
            self.send_unlock(url, path, token, "releasing the lock on")
                .await
        })
    }

    fn capabilities(&self) -> BoxFuture<'_, Result<Capabilities>> {
        Box::pin(async move {
            let reply = self
                .http
                .send(Method::OPTIONS, self.base.clone(), HeaderMap::new(), None)
                .await?;
            if matches!(reply.status.as_u16(), 401 | 403) {
                return Err(status_error(
                    &self.http,
                    reply.status,
                    &reply,
                    "the server URL",
                ));
            }
            let dav_class2 = dav_classes(&reply.headers).iter().any(|c| c == "2");
            let reply = propfind(
                &self.http,
                self.base.clone(),
                "0",
                propfind_body(PROPS),
                "the server folder",
            )
            .await?;
            let responses = parse(&reply.body)?;
            let props = responses
                .first()
                .map(|r| r.props.clone())
                .unwrap_or_default();
            Ok(Capabilities {
                server: self.name.clone(),
                kind: ServerKind::Webdav,
                dav_class2,
                scopes: props.supportedlock.found().cloned().unwrap_or_default(),
                reports_locks: props.lockdiscovery.found().is_some()
                    || reports_no_lock_props(&props),
                exposes_tokens: Ability::Unknown,
                can_force_unlock: Ability::Unknown,
                nextcloud_locking: None,
                lock_type_feature: false,
            })
        })
    }
}

impl WebDav {
    /// Reads every entry of `watch`, handing each entry's part to `take` as soon as its answer is in.
    async fn read_each(
        &self,
        watch: &[String],
        now: DateTime<Utc>,
        take: &mut Take<'_>,
    ) -> Result<()> {
        let body = propfind_body(PROPS);
        // Each answer becomes entries as soon as it arrives (a few answers in memory, not all), which
        // needs the depth-infinity locks of the ancestors first. Which ancestors depends on what the
        // server has shown: every server's first reading waits for its first answer to tell.
        let mut inherited = match self.inheritance() {
            Inheritance::Unknown => None,
            known => Some(self.read_ancestors(watch, known, body.clone()).await?),
        };
        let mut waiting = Vec::new();
        let answers = fetch_stream(&self.http, &self.base, watch, body.clone(), &self.counts);
        let mut answers = std::pin::pin!(answers);
        while let Some((index, result)) = answers.next().await {
            let entry = &watch[index];
            if let Ok(fetched) = &result {
                self.learn(fetched.inheritance);
            }
            if let Some(inherited) = &inherited {
                take(entry, self.assemble_one(entry, result, inherited, now)?);
                continue;
            }
            match result {
                Err(err) if err.is_server_wide() => return Err(err),
                result => waiting.push((entry, result)),
            }
            let learned = self.inheritance();
            if learned != Inheritance::Unknown {
                let known = self.read_ancestors(watch, learned, body.clone()).await?;
                for (entry, result) in waiting.drain(..) {
                    take(entry, self.assemble_one(entry, result, &known, now)?);
                }
                inherited = Some(known);
            }
        }
        if !waiting.is_empty() {
            // No answer told how the server reports inherited locks: every ancestor is read.
            let known = self
                .read_ancestors(watch, Inheritance::Unknown, body)
                .await?;
            for (entry, result) in waiting {
                take(entry, self.assemble_one(entry, result, &known, now)?);
            }
        }
        Ok(())
    }

    /// The depth-infinity locks on the ancestors of `watch`'s entries, by folder; a server-wide failure is
    /// `Err`. The ancestors are read with `Depth: 0`, [`CONCURRENCY`] at a time. A server known to repeat
    /// inherited locks in every member's own entry (`inheritance`) needs only a watched file's ancestors
    /// read, to tell a lock on the file from one it inherits (Apache names no lock root).
    async fn read_ancestors(
        &self,
        watch: &[String],
        inheritance: Inheritance,
        body: bytes::Bytes,
    ) -> Result<Vec<(String, ActiveLock)>> {
        let ancestors = ancestors_to_check(watch, inheritance == Inheritance::Repeated);
        let replies = propfind_each(&self.http, &self.base, &ancestors, body).await;
        let mut inherited: Vec<(String, ActiveLock)> = Vec::new();
        for (folder, reply) in ancestors.iter().zip(replies) {
            match reply {
                Ok(responses) => {
                    if let Some(r) = responses.first() {
                        inherited.extend(infinity_locks(folder, r));
                    }
                }
                Err(err) if err.is_server_wide() => return Err(err),
                // An unreadable ancestor only means inherited locks from it stay unknown.
                Err(err) => {
                    tracing::debug!(server = %self.name, folder = %folder, error = %err, "ancestor not readable")
                }
            }
        }
        Ok(inherited)
    }

    /// Turns the answer for watch entry `entry` into its entries: each member with its
    /// own locks and those it inherits from `inherited`; a folder's member count is remembered for the next
    /// reading. A server-wide failure is `Err`.
    fn assemble_one(
        &self,
        entry: &str,
        result: Result<Fetched>,
        inherited: &[(String, ActiveLock)],
        now: DateTime<Utc>,
    ) -> Result<Vec<FileEntry>> {
        let mut files = Vec::new();
        match result {
            Ok(fetched) => {
                let mut applicable: Vec<(String, ActiveLock)> = inherited
                    .iter()
                    .filter(|(folder, _)| is_below(folder, entry))
                    .cloned()
                    .collect();
                // The ancestors' locks against what the entry itself lists: evidence for next time.
                let own: Vec<&Response> = fetched.own.iter().collect();
                self.learn(repeated_below(&applicable, &own));
                if is_folder(entry) {
                    if let Some(own) = &fetched.own {
                        applicable.extend(infinity_locks(entry, own));
                    }
                    files.extend(
                        fetched
                            .members
                            .iter()
                            .map(|(path, response)| self.entry(path, response, &applicable, now)),
                    );
                    self.counts.record(entry, fetched.members.len());
                } else if let Some(own) = &fetched.own {
                    files.push(self.entry(entry, own, &applicable, now));
                }
            }
            Err(err) if err.is_server_wide() => return Err(err),
            Err(err) => files.push(super::unreadable(&self.name, &self.base, entry, &err)),
        }
        Ok(files)
    }

    /// Refuses a shared lock up front when the file's `supportedlock` lists only exclusive locks (a server
    /// that does not say is asked anyway).
    async fn check_offers_shared(&self, path: &str) -> Result<()> {
        let url = resource_url(&self.base, path);
        let reply = propfind(&self.http, url, "0", propfind_body(PROPS), path).await?;
        let responses = parse(&reply.body)?;
        let scopes = responses
            .first()
            .and_then(|r| r.props.supportedlock.found().cloned());
        match scopes {
            Some(scopes) if !scopes.is_empty() && !scopes.contains(&LockScope::Shared) => {
                Err(Error::Unsupported {
                    detail: format!(
                        "this server offers only exclusive locks on {path}, not shared ones"
                    ),
                })
            }
            _ => Ok(()),
        }
    }

    async fn send_unlock(&self, url: Url, path: &str, token: &str, doing: &str) -> Result<()> {
        let header = format!("<{token}>");
        let hdrs = headers([("Lock-Token", header.as_str())]);
        let reply = self.http.send(method(b"UNLOCK")?, url, hdrs, None).await?;
        match reply.status.as_u16() {
            200 | 204 => Ok(()),
            _ => Err(action_error(&self.http, &reply, path, doing)),
        }
    }

    fn entry(
        &self,
        path: &str,
        response: &Response,
        inherited: &[(String, ActiveLock)],
        now: DateTime<Utc>,
    ) -> FileEntry {
        let url = redact_url(&resource_url(&self.base, path));
        if let Some(err) = response_error(response, path) {
            return FileEntry::failed(
                &self.name,
                path,
                &url,
                ErrorInfo::for_server(&self.name, &err),
            );
        }
        let own = response.props.lockdiscovery.found();
        let mut locks: Vec<Lock> = Vec::new();
        let mut tokens: Vec<Option<String>> = Vec::new();
        for active in own.into_iter().flatten() {
            let from_elsewhere = active
                .root
                .as_deref()
                .and_then(|root| relative_path(&self.base, root))
                .is_some_and(|root| !same_path(&root, path));
            let from_ancestor =
                active.token.is_some() && inherited.iter().any(|(_, a)| a.token == active.token);
            tokens.push(active.token.clone());
            locks.push(to_lock(active, from_elsewhere || from_ancestor, now));
        }
        for (_, active) in inherited {
            let known = match &active.token {
                Some(token) => tokens.iter().any(|t| t.as_deref() == Some(token)),
                None => locks.iter().any(|l| l.inherited && l.root == active.root),
            };
            if !known {
                tokens.push(active.token.clone());
                locks.push(to_lock(active, true, now));
            }
        }
        // Entries stay in memory for as long as the file is watched: no spare capacity.
        locks.shrink_to_fit();
        let state = if !locks.is_empty() {
            FileState::Locked
        } else if own.is_some() || reports_no_lock(response) {
            FileState::Unlocked
        } else {
            FileState::Unsupported
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
            file_id: None,
        }
    }
}

/// An HTTP method from its name (WebDAV methods are not among reqwest's constants).
pub(crate) fn method(name: &'static [u8]) -> Result<Method> {
    Method::from_bytes(name).map_err(|_| Error::Malformed {
        detail: "invalid method name".into(),
    })
}

fn no_token() -> Error {
    Error::Conflict {
        detail: "Lockwatch has no token for this lock (it was not taken through Lockwatch on this computer); use --force to release another user's lock".into(),
    }
}

/// The token in a `Lock-Token: <uri>` header.
pub(crate) fn lock_token_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get("lock-token")
        .and_then(|v| v.to_str().ok())
        .map(|v| unwrap_angle(v).to_owned())
        .filter(|v| !v.is_empty())
}

/// The `lockinfo` body of a LOCK request. The owner is an e-mail address as a `mailto:` href, or text.
pub(crate) fn lockinfo(request: &LockRequest) -> bytes::Bytes {
    let scope = match request.scope {
        LockScope::Exclusive => "exclusive",
        LockScope::Shared => "shared",
    };
    let owner = request.owner.trim();
    let owner_xml = if owner.contains('@') && !owner.contains(char::is_whitespace) {
        format!(
            "<D:href>mailto:{}</D:href>",
            quick_xml::escape::escape(owner.trim_start_matches("mailto:"))
        )
    } else {
        quick_xml::escape::escape(owner).into_owned()
    };
    bytes::Bytes::from(format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:{scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>{owner_xml}</D:owner></D:lockinfo>"#
    ))
}

fn reports_no_lock_props(props: &multistatus::Props) -> bool {
    matches!(props.lockdiscovery, Prop::Failed(_))
        && props.supportedlock.found().is_some_and(|s| !s.is_empty())
}

/// Whether a resource without a readable `lockdiscovery` is nevertheless known to be unlocked.
///
/// Apache mod_dav answers `lockdiscovery` with `404` on a file whose lock has expired, until the file is
/// next written, while still offering `supportedlock`. A resource that can be locked and whose lock list
/// the server declines to produce has no active lock; a resource with no lock support at all stays
/// `unsupported`.
fn reports_no_lock(response: &Response) -> bool {
    matches!(response.props.lockdiscovery, Prop::Failed(_))
        && response
            .props
            .supportedlock
            .found()
            .is_some_and(|scopes| !scopes.is_empty())
}

/// A watched entry's PROPFIND answer, matched to paths.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    /// The entry itself (the file, or the folder of a Depth-1 listing).
    pub own: Option<Response>,
    /// A folder's members with their decoded relative paths (sub-folders end with `/`).
    pub members: Vec<(String, Response)>,
    /// What the answer shows about how the server reports inherited locks.
    pub inheritance: Option<Inheritance>,
}

/// PROPFINDs every watch entry, [`CONCURRENCY`] at a time and, past the first, no more than
/// [`ENTRIES_IN_FLIGHT`] entries expected in the answers under way (`counts`, from the previous reading):
/// each answer with its entry's index in `watch`, as soon as it is in, so only the answers under way are
/// held and a large folder's slow answer holds back neither the others nor their room.
pub(crate) fn fetch_stream<'a>(
    http: &'a HttpClient,
    base: &'a Url,
    watch: &'a [String],
    body: bytes::Bytes,
    counts: &EntryCounts,
) -> impl futures_util::Stream<Item = (usize, Result<Fetched>)> + Send + 'a {
    // Futures are built first and then buffered: a closure inside the stream would need a
    // higher-ranked lifetime the compiler cannot prove for a boxed, Send future.
    let futures: Vec<_> = watch
        .iter()
        .map(|entry| (counts.of(entry), fetch(http, base, entry, body.clone())))
        .collect();
    buffered_within(futures, CONCURRENCY, ENTRIES_IN_FLIGHT)
}

/// Runs `futures` at most `count` at a time, and starts one past the first under way only while the
/// weights of those under way, its own included, stay within `weight`. Each output comes with its
/// future's index as soon as it is ready, and its weight is free for the next from then on.
fn buffered_within<F: Future + Send>(
    futures: Vec<(usize, F)>,
    count: usize,
    weight: usize,
) -> impl futures_util::Stream<Item = (usize, F::Output)> + Send
where
    F::Output: Send,
{
    let waiting = futures.into_iter().enumerate().peekable();
    let running = (FuturesUnordered::new(), 0usize);
    stream::unfold(
        (waiting, running),
        move |(mut waiting, (mut running, mut under_way))| async move {
            while let Some((_, (next, _))) = waiting.peek() {
                if !running.is_empty() && (running.len() >= count || under_way + next > weight) {
                    break;
                }
                let (index, (next, future)) = waiting.next()?;
                under_way += next;
                running.push(async move { (index, next, future.await) });
            }
            let (index, done, output) = running.next().await?;
            under_way -= done;
            Some(((index, output), (waiting, (running, under_way))))
        },
    )
}

/// [`fetch_stream`], handing each answer to `take` with its watch entry. Stops at the first `Err` from
/// `take` (the requests still under way are dropped).
pub(crate) async fn fetch_each(
    http: &HttpClient,
    base: &Url,
    watch: &[String],
    body: bytes::Bytes,
    counts: &EntryCounts,
    mut take: impl FnMut(&str, Result<Fetched>) -> Result<()>,
) -> Result<()> {
    let mut answers = std::pin::pin!(fetch_stream(http, base, watch, body, counts));
    while let Some((index, answer)) = answers.next().await {
        take(&watch[index], answer)?;
    }
    Ok(())
}

/// PROPFINDs each of `paths` with `Depth: 0` and `body`, [`CONCURRENCY`] at a time; the parsed answers in
/// the order of `paths`.
pub(crate) async fn propfind_each(
    http: &HttpClient,
    base: &Url,
    paths: &[String],
    body: bytes::Bytes,
) -> Vec<Result<Vec<Response>>> {
    // Futures are built first and then buffered: a closure inside the stream would need a
    // higher-ranked lifetime the compiler cannot prove for a boxed, Send future.
    let futures: Vec<_> = paths
        .iter()
        .map(|path| {
            let reply = propfind(http, resource_url(base, path), "0", body.clone(), path);
            async move { reply.await.and_then(|r| parse(&r.body)) }
        })
        .collect();
    stream::iter(futures).buffered(CONCURRENCY).collect().await
}

/// Parses a multistatus body into a result the engine can report.
pub(crate) fn parse(body: &[u8]) -> Result<Vec<Response>> {
    multistatus::parse(body).map_err(|err| Error::Malformed { detail: err.0 })
}

/// PROPFINDs one watch entry (Depth 1 for folders, 0 for files) and sorts the answer into the entry itself
/// and its members.
pub(crate) async fn fetch(
    http: &HttpClient,
    base: &Url,
    entry: &str,
    body: bytes::Bytes,
) -> Result<Fetched> {
    let folder = is_folder(entry);
    let url = resource_url(base, entry);
    let what = if entry.is_empty() {
        "the server folder"
    } else {
        entry
    };
    let reply = propfind(http, url, if folder { "1" } else { "0" }, body, what).await?;
    let mut fetched = sort_listing(base, entry, parse(&reply.body)?)?;
    fetched.inheritance = inheritance_evidence(&reply.body, &fetched);
    Ok(fetched)
}

/// Sorts a PROPFIND answer for watch entry `entry` into the entry itself and (for folders) its members.
pub(crate) fn sort_listing(base: &Url, entry: &str, responses: Vec<Response>) -> Result<Fetched> {
    let folder = is_folder(entry);
    let mut fetched = Fetched::default();
    if !folder {
        // Depth 0 has one response; a server with odd hrefs still means this file.
        let index = responses
            .iter()
            .position(|r| relative_path(base, &r.href).is_some_and(|p| same_path(&p, entry)))
            .unwrap_or(0);
        fetched.own = responses.into_iter().nth(index);
        if fetched.own.is_none() {
            return Err(Error::Malformed {
                detail: "the multistatus answer lists no resource".into(),
            });
        }
        return Ok(fetched);
    }
    for response in responses {
        let rel = relative_path(base, &response.href);
        if fetched.own.is_none() && rel.as_deref().is_some_and(|p| same_path(p, entry)) {
            fetched.own = Some(response);
            continue;
        }
        let mut path = match rel {
            Some(p) if p.starts_with(entry) && p.len() > entry.len() => p,
            // An href outside the configured URL (a proxy rewriting hosts or paths): keep the member name.
            _ => {
                let name = response
                    .href
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or_default();
                format!("{entry}{}", super::decode_segments(name))
            }
        };
        let collection =
            response.props.collection == Prop::Found(true) || response.href.ends_with('/');
        if collection && !path.ends_with('/') {
            path.push('/');
        }
        if !collection {
            path = path.trim_end_matches('/').to_owned();
        }
        fetched.members.push((path, response));
    }
    Ok(fetched)
}

/// The error a response-level status inside a multistatus stands for.
pub(crate) fn response_error(response: &Response, path: &str) -> Option<Error> {
    match response.status {
        Some(code) if !(200..300).contains(&code) => Some(match code {
            404 | 410 => Error::NotFound {
                what: path.to_owned(),
            },
            403 => Error::Forbidden {
                what: path.to_owned(),
            },
            code => Error::Status {
                status: code,
                detail: format!("for {path}"),
            },
        }),
        _ => None,
    }
}

/// The depth-infinity locks in a folder's `lockdiscovery`: they apply to every member.
fn infinity_locks(folder: &str, response: &Response) -> Vec<(String, ActiveLock)> {
    response
        .props
        .lockdiscovery
        .found()
        .into_iter()
        .flatten()
        .filter(|lock| {
            lock.depth
                .as_deref()
                .is_some_and(|d| d.eq_ignore_ascii_case("infinity"))
        })
        .map(|lock| (folder.to_owned(), lock.clone()))
        .collect()
}

/// Whether `path` lies below folder `folder` (which ends with `/` or is the base `""`).
fn is_below(folder: &str, path: &str) -> bool {
    path.len() > folder.len()
        && path.starts_with(folder)
        && (folder.is_empty() || folder.ends_with('/'))
}

/// The ancestor folders of all watched entries (of the watched files only, with `files_only`) that no
/// Depth-1 listing already covers.
fn ancestors_to_check(watch: &[String], files_only: bool) -> Vec<String> {
    let mut set = BTreeSet::new();
    for entry in watch {
        if entry.is_empty() || (files_only && is_folder(entry)) {
            continue;
        }
        let trimmed = entry.trim_end_matches('/');
        let mut prefix = String::new();
        set.insert(String::new());
        let segments: Vec<&str> = trimmed.split('/').collect();
        for segment in &segments[..segments.len().saturating_sub(1)] {
            prefix.push_str(segment);
            prefix.push('/');
            set.insert(prefix.clone());
        }
    }
    set.into_iter()
        .filter(|folder| !watch.iter().any(|w| is_folder(w) && w == folder))
        .collect()
}

/// The model of one `activelock`. `inherited` marks locks rooted at an ancestor folder.
pub(crate) fn to_lock(active: &ActiveLock, inherited: bool, now: DateTime<Utc>) -> Lock {
    let (owner, owner_id) = match &active.owner {
        Some(o) => {
            let raw_id = o
                .href
                .clone()
                .or_else(|| (!o.text.is_empty()).then(|| o.text.clone()));
            let shown = match &o.href {
                Some(href) => Some(strip_mailto(href).to_owned()),
                None => (!o.text.is_empty()).then(|| o.text.clone()),
            };
            (shown.filter(|s| !s.is_empty()), raw_id)
        }
        None => (None, None),
    };
    let (expiry, expires_at) = expiry_of(active.timeout.as_deref(), now);
    Lock {
        owner,
        owner_id,
        editor: None,
        scope: active.scope.unwrap_or(LockScope::Exclusive),
        kind: LockKind::Webdav,
        token: active.token.as_deref().map(unwrap_angle).map(str::to_owned),
        depth: active
            .depth
            .as_deref()
            .map(str::to_ascii_lowercase)
            .unwrap_or_else(|| "0".to_owned()),
        root: active.root.clone(),
        acquired_at: None,
        expires_at,
        expiry,
        timeout: active.timeout.clone(),
        inherited,
        mine: false,
    }
}

fn strip_mailto(href: &str) -> &str {
    match href.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("mailto:") => &href[7..],
        _ => href,
    }
}

fn unwrap_angle(token: &str) -> &str {
    token.trim().trim_start_matches('<').trim_end_matches('>')
}

/// Interprets a WebDAV `timeout` value: `Second-N` counts from now (servers report the remaining time);
/// `Infinite` and `Second-0` never expire; anything else (`Second--60`, garbage, missing) is unknown.
pub fn expiry_of(timeout: Option<&str>, now: DateTime<Utc>) -> (Expiry, Option<DateTime<Utc>>) {
    let Some(raw) = timeout else {
        return (Expiry::Unknown, None);
    };
    let first = raw.split(',').next().unwrap_or_default().trim();
    if first.eq_ignore_ascii_case("infinite") {
        return (Expiry::Never, None);
    }
    let secs = first
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("second-"))
        .and_then(|_| first[7..].parse::<u64>().ok());
    match secs {
        Some(0) => (Expiry::Never, None),
        Some(n) => match i64::try_from(n)
            .ok()
            .and_then(TimeDelta::try_seconds)
            .and_then(|d| now.checked_add_signed(d))
        {
            Some(at) => (Expiry::At, Some(at)),
            // Further away than the calendar can hold: as good as never.
            None => (Expiry::Never, None),
        },
        None => (Expiry::Unknown, None),
    }
}

#[cfg(test)]
#[path = "recorded_tests.rs"]
mod recorded_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn timeouts() {
        let at = |s: &str| expiry_of(Some(s), now());
        assert_eq!(
            at("Second-1800"),
            (Expiry::At, Some(now() + TimeDelta::seconds(1800)))
        );
        assert_eq!(
            at("second-60, Infinite"),
            (Expiry::At, Some(now() + TimeDelta::seconds(60)))
        );
        assert_eq!(at("Infinite"), (Expiry::Never, None));
        assert_eq!(at("Second-0"), (Expiry::Never, None));
        assert_eq!(at("Second--60"), (Expiry::Unknown, None));
        assert_eq!(at("Second-"), (Expiry::Unknown, None));
        assert_eq!(at("soon"), (Expiry::Unknown, None));
        assert_eq!(at("Second-18446744073709551615"), (Expiry::Never, None));
        assert_eq!(expiry_of(None, now()), (Expiry::Unknown, None));
    }

    #[test]
    fn a_server_that_cannot_report_locks_gives_unsupported() {
        let (config, http) = {
            let config = crate::config::Config::parse(
                "[[servers]]\nname = \"s\"\nurl = \"http://h/dav/\"\n",
                "t",
                &|_| None,
            )
            .unwrap();
            let server = config.servers[0].clone();
            let http = HttpClient::new(&server, None).unwrap();
            (server, http)
        };
        let source = WebDav::new(&config, http);
        let state = |props: multistatus::Props| {
            let response = Response {
                href: "/dav/a.txt".into(),
                status: None,
                props,
            };
            source.entry("a.txt", &response, &[], now()).state
        };
        assert_eq!(
            state(multistatus::Props::default()),
            FileState::Unsupported,
            "lockdiscovery never reported"
        );
        let failed = multistatus::Props {
            lockdiscovery: Prop::Failed(404),
            ..multistatus::Props::default()
        };
        assert_eq!(
            state(failed.clone()),
            FileState::Unsupported,
            "404 and no supportedlock"
        );
        let lockable = multistatus::Props {
            supportedlock: Prop::Found(vec![LockScope::Exclusive]),
            ..failed
        };
        assert_eq!(
            state(lockable),
            FileState::Unlocked,
            "Apache's 404 after a lock expired"
        );
    }

    #[test]
    fn ancestors_skip_watched_folders() {
        let watch: Vec<String> = ["Reports/", "Reports/Q3/x.docx", "Budget.xlsx", "A/B/C/"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            ancestors_to_check(&watch, false),
            vec!["", "A/", "A/B/", "Reports/Q3/"]
        );
        assert_eq!(
            ancestors_to_check(&watch, true),
            vec!["", "Reports/Q3/"],
            "a watched file's ancestors only"
        );
        assert!(is_below("", "a"));
        assert!(is_below("A/", "A/b"));
        assert!(!is_below("A/", "AB/c"));
    }

    #[test]
    fn owners_in_every_shape() {
        use super::multistatus::Owner;
        let lock = |owner: Option<Owner>| {
            to_lock(
                &ActiveLock {
                    owner,
                    token: Some("<urn:uuid:1>".into()),
                    ..ActiveLock::default()
                },
                false,
                now(),
            )
        };
        let l = lock(Some(Owner {
            href: Some("MAILTO:bob@example.com".into()),
            text: "MAILTO:bob@example.com".into(),
            raw: String::new(),
        }));
        assert_eq!(l.owner.as_deref(), Some("bob@example.com"));
        assert_eq!(l.owner_id.as_deref(), Some("MAILTO:bob@example.com"));
        assert_eq!(l.token.as_deref(), Some("urn:uuid:1"));
        assert_eq!(l.scope, LockScope::Exclusive);
        assert_eq!(l.depth, "0");
        let l = lock(Some(Owner {
            href: None,
            text: "Bob Builder".into(),
            raw: "Bob Builder".into(),
        }));
        assert_eq!(
            (l.owner.as_deref(), l.owner_id.as_deref()),
            (Some("Bob Builder"), Some("Bob Builder"))
        );
        let l = lock(Some(Owner::default()));
        assert_eq!((l.owner, l.owner_id), (None, None));
        let l = lock(None);
        assert_eq!(l.owner, None);
    }

    #[tokio::test(start_paused = true)]
    async fn large_listings_go_fewer_at_a_time_and_each_answer_frees_its_room_when_in() {
        use std::sync::Mutex;
        // (index, requests under way, their weight) whenever one starts.
        let seen: Arc<Mutex<Vec<(usize, usize, usize)>>> = Arc::default();
        let under_way: Arc<Mutex<(usize, usize)>> = Arc::default();
        let weights = [1000, 1000, 1000, 10, 10, 10, 10, 10, 5000, 1];
        let futures: Vec<_> = weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| {
                let (seen, under_way) = (seen.clone(), under_way.clone());
                let future = async move {
                    {
                        let mut now = under_way.lock().unwrap();
                        *now = (now.0 + 1, now.1 + weight);
                        seen.lock().unwrap().push((i, now.0, now.1));
                    }
                    // The first folder is slow; every other answer takes 10 ms.
                    let millis = if i == 0 { 100 } else { 10 };
                    tokio::time::sleep(Duration::from_millis(millis)).await;
                    let mut now = under_way.lock().unwrap();
                    *now = (now.0 - 1, now.1 - weight);
                    i * 100
                };
                (weight, future)
            })
            .collect();
        let out: Vec<(usize, usize)> = buffered_within(futures, 4, 2000).collect().await;
        // Every output once, with its own index.
        assert!(out.iter().all(|&(index, output)| output == index * 100));
        let mut indices: Vec<usize> = out.iter().map(|o| o.0).collect();
        // The quick answers came out while the slow first one was still under way.
        assert_eq!(indices[7], 0, "{out:?}");
        indices.sort_unstable();
        assert_eq!(indices, (0..weights.len()).collect::<Vec<_>>());
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), weights.len());
        // Never more than four, and past the first never more than 2,000 entries under way.
        assert!(
            seen.iter()
                .all(|&(_, n, w)| n <= 4 && (n == 1 || w <= 2000)),
            "{seen:?}"
        );
        // The thousand-entry folders went two at a time, the small ones four; the 5,000 alone.
        assert_eq!(seen.iter().map(|s| s.1).max(), Some(4));
        assert!(seen[..3].iter().all(|s| s.1 <= 2), "{seen:?}");
        assert!(seen.contains(&(8, 1, 5000)), "{seen:?}");
        // The third folder started as soon as the second was in, beside the slow first.
        assert_eq!(seen[2], (2, 2, 2000), "{seen:?}");
    }
}
