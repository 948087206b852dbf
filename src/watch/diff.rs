//! What changed between two readings: the pure function [`diff`] and the [`LockEvent`]s it yields.
//!
//! Everything here is a decision on data: no I/O, no clock (the caller passes `now`), no memory between
//! calls beyond the two snapshots. That makes every rule below table-testable, and it is why the scheduler
//! ([`super::schedule`]) stays a thin loop around this function.
//!
//! # The rules
//!
//! - Locks are matched by **identity**: the token when the server shows one, otherwise the holder, scope,
//!   kind, editor and locked root together (Nextcloud hides the token of other people's locks).
//! - Per file: no lock → some lock is [`LockEvent::Locked`]; some lock → none is [`LockEvent::Unlocked`]
//!   (naming who released it); any other change of the set of locks (a shared holder joins or leaves, a
//!   lock is handed over between two polls) is [`LockEvent::HolderChanged`].
//! - A file whose current state is `error` or `unsupported` yields nothing: "could not read" is not
//!   "unlocked". (The scheduler keeps the last known entry for such files, see there.)
//! - [`LockEvent::Refreshed`]: the same lock's expiry moved later by **more than the time that passed
//!   between the two readings plus a tolerance**. Why: a WebDAV `Second-N` timeout is read as "now + N".
//!   A server that counts its timeouts down reports a steady expiry, so any jump is a refresh. A server that
//!   always repeats the original timeout makes the computed expiry move forward by exactly the time between
//!   polls; that must not be reported as a refresh every poll. The price: on such servers a real refresh is
//!   indistinguishable from that drift and is not reported (its expiry is still shown correctly).
//! - [`LockEvent::ExpiringSoon`]: the moment `expires_at - expiring_soon` falls in `(previous.at, now]`,
//!   or, for a lock seen for the first time, when it is already inside that window.
//! - [`LockEvent::Expired`]: the server *still lists* a lock whose expiry lies at or before `now` — a stale
//!   lock. Reported once per lock: when it is first seen so, or when its expiry crossed since the previous
//!   reading. The scheduler only calls `diff` with `now` past an expiry after a fresh read, so "still lists"
//!   is what the server said, not a guess.
//! - [`LockEvent::ServerDown`] / [`LockEvent::ServerBack`]: on transitions of a server's health only (a
//!   server that stays down does not repeat the event; the engine's state shows the retry countdown).

use std::collections::BTreeMap;
use std::ops::Bound;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{is_folder, owner};
use crate::error::ErrorInfo;
use crate::model::{Expiry, FileEntry, FileState, Lock};

/// The default warning time before a known expiry.
pub const DEFAULT_EXPIRING_SOON_SECS: i64 = 5 * 60;
/// The default slack added to the elapsed time before an expiry jump counts as a refresh.
pub const DEFAULT_REFRESH_TOLERANCE_SECS: i64 = 5;

/// Whether a server could be read in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "health", rename_all = "snake_case")]
pub enum Health {
    /// The last read succeeded.
    Up,
    /// The last read failed; the files are the last known ones.
    Down {
        /// What went wrong.
        error: ErrorInfo,
        /// When the server was first seen down in this outage.
        since: DateTime<Utc>,
        /// Seconds until the next attempt, when one is scheduled.
        retry_in_secs: Option<u64>,
    },
}

/// One server's part of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerReading {
    /// Whether the server answered.
    pub health: Health,
    /// Every known file by path (relative to the server URL).
    pub files: BTreeMap<String, FileEntry>,
}

impl ServerReading {
    /// A reading of a server that answered with `files`.
    pub fn up(files: impl IntoIterator<Item = FileEntry>) -> ServerReading {
        ServerReading {
            health: Health::Up,
            files: files.into_iter().map(|f| (f.path.clone(), f)).collect(),
        }
    }
}

/// What was known about a set of servers at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// When this snapshot was taken (or last evaluated by a timer); the lower bound of the next diff's time
    /// window. `None` before anything was read.
    pub at: Option<DateTime<Utc>>,
    /// Servers by name.
    pub servers: BTreeMap<String, ServerReading>,
}

/// Something that happened to a watched file or a server: one JSON line of `lockwatch watch --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LockEvent {
    /// A file that was free is now locked.
    Locked {
        /// Server name.
        server: String,
        /// File path relative to the server URL.
        path: String,
        /// When it was noticed.
        at: DateTime<Utc>,
        /// Whether the user waits for this file.
        wanted: bool,
        /// Every lock that now applies.
        locks: Vec<Lock>,
    },
    /// A file that was locked is now free.
    Unlocked {
        /// Server name.
        server: String,
        /// File path relative to the server URL.
        path: String,
        /// When it was noticed.
        at: DateTime<Utc>,
        /// Whether the user waits for this file.
        wanted: bool,
        /// The locks that were released (who held it).
        released: Vec<Lock>,
    },
    /// A locked file is still locked, but by a different set of holders.
    HolderChanged {
        /// Server name.
        server: String,
        /// File path relative to the server URL.
        path: String,
        /// When it was noticed.
        at: DateTime<Utc>,
        /// Whether the user waits for this file.
        wanted: bool,
        /// The locks before.
        before: Vec<Lock>,
        /// The locks now.
        after: Vec<Lock>,
    },
    /// A lock's expiry was pushed later by its holder.
    Refreshed {
        /// Server name.
        server: String,
        /// File path relative to the server URL.
        path: String,
        /// When it was noticed.
        at: DateTime<Utc>,
        /// Whether the user waits for this file.
        wanted: bool,
        /// The lock, with its new expiry.
        lock: Lock,
        /// The expiry before the refresh.
        previous_expires_at: Option<DateTime<Utc>>,
    },
    /// A lock ends soon (by default within five minutes).
    ExpiringSoon {
        /// Server name.
        server: String,
        /// File path relative to the server URL.
        path: String,
        /// When it was noticed.
        at: DateTime<Utc>,
        /// Whether the user waits for this file.
        wanted: bool,
        /// The lock.
        lock: Lock,
        /// When it ends.
        expires_at: DateTime<Utc>,
    },
    /// A lock's expiry has passed but the server still lists it: a stale lock.
    Expired {
        /// Server name.
        server: String,
        /// File path relative to the server URL.
        path: String,
        /// When it was noticed.
        at: DateTime<Utc>,
        /// Whether the user waits for this file.
        wanted: bool,
        /// The lock.
        lock: Lock,
        /// When it should have ended.
        expired_at: DateTime<Utc>,
    },
    /// A server could not be read.
    ServerDown {
        /// Server name.
        server: String,
        /// When it was noticed.
        at: DateTime<Utc>,
        /// What went wrong.
        error: ErrorInfo,
        /// Seconds until the next attempt.
        retry_in_secs: Option<u64>,
    },
    /// A server that was down answers again.
    ServerBack {
        /// Server name.
        server: String,
        /// When it was noticed.
        at: DateTime<Utc>,
        /// When the outage was first noticed.
        down_since: DateTime<Utc>,
    },
}

impl LockEvent {
    /// The server the event concerns.
    pub fn server(&self) -> &str {
        match self {
            LockEvent::Locked { server, .. }
            | LockEvent::Unlocked { server, .. }
            | LockEvent::HolderChanged { server, .. }
            | LockEvent::Refreshed { server, .. }
            | LockEvent::ExpiringSoon { server, .. }
            | LockEvent::Expired { server, .. }
            | LockEvent::ServerDown { server, .. }
            | LockEvent::ServerBack { server, .. } => server,
        }
    }

    /// The file the event concerns; `None` for server events.
    pub fn path(&self) -> Option<&str> {
        match self {
            LockEvent::Locked { path, .. }
            | LockEvent::Unlocked { path, .. }
            | LockEvent::HolderChanged { path, .. }
            | LockEvent::Refreshed { path, .. }
            | LockEvent::ExpiringSoon { path, .. }
            | LockEvent::Expired { path, .. } => Some(path),
            LockEvent::ServerDown { .. } | LockEvent::ServerBack { .. } => None,
        }
    }

    /// When the event was noticed.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            LockEvent::Locked { at, .. }
            | LockEvent::Unlocked { at, .. }
            | LockEvent::HolderChanged { at, .. }
            | LockEvent::Refreshed { at, .. }
            | LockEvent::ExpiringSoon { at, .. }
            | LockEvent::Expired { at, .. }
            | LockEvent::ServerDown { at, .. }
            | LockEvent::ServerBack { at, .. } => *at,
        }
    }

    /// The event's name as in JSON (`locked`, `server_down`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            LockEvent::Locked { .. } => "locked",
            LockEvent::Unlocked { .. } => "unlocked",
            LockEvent::HolderChanged { .. } => "holder_changed",
            LockEvent::Refreshed { .. } => "refreshed",
            LockEvent::ExpiringSoon { .. } => "expiring_soon",
            LockEvent::Expired { .. } => "expired",
            LockEvent::ServerDown { .. } => "server_down",
            LockEvent::ServerBack { .. } => "server_back",
        }
    }
}

/// Tunables of [`diff_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffOptions {
    /// How long before a known expiry [`LockEvent::ExpiringSoon`] fires.
    pub expiring_soon: Duration,
    /// Slack on top of the elapsed time before an expiry jump counts as a refresh (poll jitter, clock
    /// granularity of the server's seconds).
    pub refresh_tolerance: Duration,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            expiring_soon: Duration::seconds(DEFAULT_EXPIRING_SOON_SECS),
            refresh_tolerance: Duration::seconds(DEFAULT_REFRESH_TOLERANCE_SECS),
        }
    }
}

/// The events between `previous` and `current`, evaluated at `now`, with default options.
pub fn diff(previous: &Snapshot, current: &Snapshot, now: DateTime<Utc>) -> Vec<LockEvent> {
    diff_with(previous, current, now, &DiffOptions::default())
}

/// The identity a lock keeps across readings.
fn same_lock(a: &Lock, b: &Lock) -> bool {
    match (&a.token, &b.token) {
        (Some(x), Some(y)) => x == y,
        _ => {
            a.owner_id == b.owner_id
                && a.owner == b.owner
                && a.scope == b.scope
                && a.kind == b.kind
                && a.editor == b.editor
                && a.root == b.root
        }
    }
}

/// The events between `previous` and `current`, evaluated at `now`.
pub fn diff_with(
    previous: &Snapshot,
    current: &Snapshot,
    now: DateTime<Utc>,
    options: &DiffOptions,
) -> Vec<LockEvent> {
    let mut events = Vec::new();
    let since = previous.at;
    let elapsed = since.map_or(Duration::zero(), |s| now - s);
    for (name, reading) in &current.servers {
        let before = previous.servers.get(name);
        health_events(
            name,
            before.map(|b| &b.health),
            &reading.health,
            now,
            &mut events,
        );
        for (path, file) in &reading.files {
            let old = before.and_then(|b| b.files.get(path));
            file_events(file, old, since, elapsed, now, options, &mut events);
        }
    }
    events
}

/// A new reading of some of one server's files, for [`apply`]. The default changes nothing: only time
/// passes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Change {
    /// The server's health now; `None` keeps it as it was.
    pub health: Option<Health>,
    /// The files read: they replace the known files of the same paths.
    pub files: Vec<FileEntry>,
}

/// Folds `change` into `known`, one server's part of a snapshot taken at `since`, in place, and returns
/// exactly the events [`diff_with`] reports between the snapshot before and after, evaluated at `now`.
///
/// The same result as cloning the snapshot, changing the clone and diffing the two, without the clone:
/// the scheduler keeps a single copy of each server's files this way, which matters for a server with
/// tens of thousands of them read every few seconds. Files that `change` does not name are the same
/// entries as before, so only time produces events for them (warnings, expiries). A server never read
/// before is an empty `known` that is up. A reading of everything goes through [`Fold`] instead.
pub fn apply(
    known: &mut ServerReading,
    name: &str,
    since: Option<DateTime<Utc>>,
    change: Change,
    now: DateTime<Utc>,
    options: &DiffOptions,
) -> Vec<LockEvent> {
    let mut events = Vec::new();
    if let Some(health) = change.health {
        health_events(name, Some(&known.health), &health, now, &mut events);
        known.health = health;
    }
    let elapsed = since.map_or(Duration::zero(), |s| now - s);
    // The entries replaced, by path; a path named twice keeps the entry from before the change.
    let mut replaced: BTreeMap<String, Option<FileEntry>> = BTreeMap::new();
    for file in change.files {
        let path = file.path.clone();
        let old = known.files.insert(path.clone(), file);
        replaced.entry(path).or_insert(old);
    }
    for (path, file) in &known.files {
        let old = match replaced.get(path) {
            Some(old) => old.as_ref(),
            None => Some(file),
        };
        file_events(file, old, since, elapsed, now, options, &mut events);
    }
    events
}

/// A reading of everything a server's task reads (its read list), folded into the server's part of the
/// snapshot one entry of the list at a time, as the answers arrive: a server with ten folders of a
/// thousand files never holds a second copy of all its files, only the folder being folded in.
///
/// Each [`part`](Fold::part) is everything one entry of the read list gave: a file's entry, or a folder's
/// members (or the folder's own entry in error). Each path belongs to one entry of the list, by
/// [`owner`]: a part replaces that entry's known paths, so the ones it no longer lists are gone, and
/// ignores paths that belong to another entry. [`finish`](Fold::finish) ends the reading: the folders
/// the server showed unchanged keep their members, whose events only time makes, and a path no entry of
/// the list reads is dropped.
///
/// The events are [`diff_with`]'s between the snapshot before and after, evaluated at `now` and taken at
/// the snapshot's time `since` before the reading (so a reading that fails half-way has judged its
/// parts against the same window as a whole one); each part's are in path order. The server is up from
/// the first part on.
#[derive(Debug)]
pub struct Fold<'a> {
    name: &'a str,
    read: &'a [String],
    since: Option<DateTime<Utc>>,
    elapsed: Duration,
    now: DateTime<Utc>,
    options: DiffOptions,
}

impl<'a> Fold<'a> {
    /// A reading of server `name`'s read list `read`, at `now`, of a snapshot taken at `since`.
    pub fn new(
        name: &'a str,
        read: &'a [String],
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        options: &DiffOptions,
    ) -> Fold<'a> {
        Fold {
            name,
            read,
            since,
            elapsed: since.map_or(Duration::zero(), |s| now - s),
            now,
            options: *options,
        }
    }

    /// Folds in what read-list entry `entry` gave, and returns its events.
    pub fn part(
        &self,
        known: &mut ServerReading,
        entry: &str,
        files: Vec<FileEntry>,
    ) -> Vec<LockEvent> {
        let mut events = Vec::new();
        self.up(known, &mut events);
        let mut fresh = files;
        fresh.retain(|f| owner(self.read, &f.path) == Some(entry));
        fresh.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        // A path given twice counts once.
        fresh.dedup_by(|a, b| a.path == b.path);
        let gone: Vec<String> = self
            .known_of(known, entry)
            .filter(|path| {
                fresh
                    .binary_search_by(|f| f.path.as_str().cmp(path))
                    .is_err()
            })
            .map(str::to_owned)
            .collect();
        for path in gone {
            known.files.remove(&path);
        }
        let mut added = Vec::new();
        for file in fresh {
            let (since, elapsed, now, options) =
                (self.since, self.elapsed, self.now, &self.options);
            match known.files.get_mut(&file.path) {
                Some(slot) => {
                    file_events(&file, Some(slot), since, elapsed, now, options, &mut events);
                    *slot = file;
                }
                None => {
                    file_events(&file, None, since, elapsed, now, options, &mut events);
                    added.push(file);
                }
            }
        }
        add_all(&mut known.files, added);
        events
    }

    /// Ends the reading: `unchanged` are the folders of the read list that were not read because the
    /// server shows them unchanged. Returns the events only time makes for their members.
    pub fn finish(&self, known: &mut ServerReading, unchanged: &[String]) -> Vec<LockEvent> {
        let mut events = Vec::new();
        self.up(known, &mut events);
        known
            .files
            .retain(|path, _| owner(self.read, path).is_some());
        let first_file_event = events.len();
        for folder in unchanged {
            let members: Vec<&str> = self.known_of(known, folder).collect();
            for path in members {
                let file = &known.files[path];
                let (since, elapsed, now) = (self.since, self.elapsed, self.now);
                file_events(
                    file,
                    Some(file),
                    since,
                    elapsed,
                    now,
                    &self.options,
                    &mut events,
                );
            }
        }
        events[first_file_event..].sort_by(|a, b| a.path().cmp(&b.path()));
        events
    }

    /// The server answered: [`LockEvent::ServerBack`] if it was down.
    fn up(&self, known: &mut ServerReading, events: &mut Vec<LockEvent>) {
        if known.health != Health::Up {
            health_events(
                self.name,
                Some(&known.health),
                &Health::Up,
                self.now,
                events,
            );
            known.health = Health::Up;
        }
    }

    /// The known paths that belong to read-list entry `entry`, in order.
    fn known_of<'k>(
        &self,
        known: &'k ServerReading,
        entry: &'k str,
    ) -> impl Iterator<Item = &'k str> + use<'k, 'a> {
        let read = self.read;
        known
            .files
            .range::<str, _>((Bound::Included(entry), Bound::Unbounded))
            .map(|(path, _)| path.as_str())
            .take_while(move |path| path.starts_with(entry) && (is_folder(entry) || *path == entry))
            .filter(move |path| owner(read, path) == Some(entry))
    }
}

/// Adds `files`, in path order and new to `map`. Many at once are merged in one go, which packs the map's
/// nodes full (inserted one by one in order, they stay about half full, and so would the map for as long
/// as it lives: a server's first reading adds every file).
fn add_all(map: &mut BTreeMap<String, FileEntry>, files: Vec<FileEntry>) {
    if files.len() < 16 {
        for file in files {
            map.insert(file.path.clone(), file);
        }
    } else {
        let mut more: BTreeMap<String, FileEntry> =
            files.into_iter().map(|f| (f.path.clone(), f)).collect();
        map.append(&mut more);
    }
}

/// [`LockEvent::ServerDown`] / [`LockEvent::ServerBack`] on a transition of a server's health.
fn health_events(
    name: &str,
    before: Option<&Health>,
    health: &Health,
    now: DateTime<Utc>,
    events: &mut Vec<LockEvent>,
) {
    match (health, before) {
        (
            Health::Down {
                error,
                retry_in_secs,
                ..
            },
            None | Some(Health::Up),
        ) => events.push(LockEvent::ServerDown {
            server: name.to_owned(),
            at: now,
            error: error.clone(),
            retry_in_secs: *retry_in_secs,
        }),
        (Health::Up, Some(Health::Down { since, .. })) => events.push(LockEvent::ServerBack {
            server: name.to_owned(),
            at: now,
            down_since: *since,
        }),
        _ => {}
    }
}

fn file_events(
    file: &FileEntry,
    old: Option<&FileEntry>,
    since: Option<DateTime<Utc>>,
    elapsed: Duration,
    now: DateTime<Utc>,
    options: &DiffOptions,
    events: &mut Vec<LockEvent>,
) {
    if !matches!(file.state, FileState::Locked | FileState::Unlocked) {
        return;
    }
    let known_old = old.filter(|o| matches!(o.state, FileState::Locked | FileState::Unlocked));
    let old_locks: &[Lock] = known_old.map_or(&[], |o| &o.locks);
    let server = || file.server.clone();
    let path = || file.path.clone();
    let wanted = file.wanted;

    let added = file
        .locks
        .iter()
        .any(|l| !old_locks.iter().any(|o| same_lock(o, l)));
    let removed = old_locks
        .iter()
        .any(|o| !file.locks.iter().any(|l| same_lock(o, l)));
    if old_locks.is_empty() && !file.locks.is_empty() {
        events.push(LockEvent::Locked {
            server: server(),
            path: path(),
            at: now,
            wanted,
            locks: file.locks.clone(),
        });
    } else if !old_locks.is_empty() && file.locks.is_empty() {
        events.push(LockEvent::Unlocked {
            server: server(),
            path: path(),
            at: now,
            wanted,
            released: old_locks.to_vec(),
        });
    } else if added || removed {
        events.push(LockEvent::HolderChanged {
            server: server(),
            path: path(),
            at: now,
            wanted,
            before: old_locks.to_vec(),
            after: file.locks.clone(),
        });
    }

    for lock in &file.locks {
        let previous = old_locks.iter().find(|o| same_lock(o, lock));
        // The lower bound of the time window: the previous reading for a known lock, "forever" for a
        // lock seen for the first time (so a lock first seen inside its warning window still warns).
        let window_start = previous.and(since);
        // An upper bound (WOPI) is not an expiry: the editor may refresh the lock before it.
        let Some(expires_at) = lock.expires_at.filter(|_| lock.expiry != Expiry::AtMost) else {
            continue;
        };
        if let Some(prev_expiry) = previous.and_then(|p| p.expires_at)
            && expires_at - prev_expiry > elapsed + options.refresh_tolerance
        {
            events.push(LockEvent::Refreshed {
                server: server(),
                path: path(),
                at: now,
                wanted,
                lock: lock.clone(),
                previous_expires_at: Some(prev_expiry),
            });
            // A refreshed lock starts a new life: its warning and expiry are judged afresh below,
            // against its new expiry only.
        }
        let crossed = |moment: DateTime<Utc>| {
            moment <= now && window_start.is_none_or(|start| moment > start)
        };
        if expires_at <= now {
            // Reported once: when first seen expired, or when the expiry passed since the last reading
            // (including a reading whose lock had a different, earlier-judged expiry).
            let already = previous
                .and_then(|p| p.expires_at)
                .zip(since)
                .is_some_and(|(prev_expiry, s)| prev_expiry <= s);
            if !already {
                events.push(LockEvent::Expired {
                    server: server(),
                    path: path(),
                    at: now,
                    wanted,
                    lock: lock.clone(),
                    expired_at: expires_at,
                });
            }
        } else if crossed(expires_at - options.expiring_soon) {
            events.push(LockEvent::ExpiringSoon {
                server: server(),
                path: path(),
                at: now,
                wanted,
                lock: lock.clone(),
                expires_at,
            });
        }
    }
}

/// The next moments at which [`diff`] would say something new about `snapshot` without a new reading:
/// the start of each lock's warning window, and each expiry (after which the scheduler reads again to
/// learn whether the server dropped the lock). Sorted, all after `now`.
pub fn next_deadlines(
    snapshot: &Snapshot,
    now: DateTime<Utc>,
    options: &DiffOptions,
) -> Vec<Deadline> {
    let files = snapshot.servers.values().flat_map(|r| r.files.values());
    let mut out: Vec<Deadline> = deadlines_of(files, now, options)
        .map(|(at, file, reread)| Deadline {
            at,
            path: file.path.clone(),
            reread,
        })
        .collect();
    out.sort_by_key(|d| d.at);
    out
}

/// The first of the [`next_deadlines`] of `files`, without collecting them.
pub fn earliest_deadline<'a>(
    files: impl Iterator<Item = &'a FileEntry>,
    now: DateTime<Utc>,
    options: &DiffOptions,
) -> Option<DateTime<Utc>> {
    deadlines_of(files, now, options).map(|(at, _, _)| at).min()
}

/// Every deadline of `files` after `now`: (when, which file, whether it is an expiry).
fn deadlines_of<'a>(
    files: impl Iterator<Item = &'a FileEntry>,
    now: DateTime<Utc>,
    options: &DiffOptions,
) -> impl Iterator<Item = (DateTime<Utc>, &'a FileEntry, bool)> {
    let expiring_soon = options.expiring_soon;
    files.flat_map(move |file| {
        file.locks.iter().flat_map(move |lock| {
            // An upper bound (WOPI) is not an expiry: the editor may refresh the lock before it.
            let expires_at = lock.expires_at.filter(|_| lock.expiry != Expiry::AtMost);
            let warn = expires_at
                .map(|e| e - expiring_soon)
                .filter(|w| *w > now)
                .map(|w| (w, file, false));
            let expiry = expires_at.filter(|e| *e > now).map(|e| (e, file, true));
            warn.into_iter().chain(expiry)
        })
    })
}

/// A moment when something is due without a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// When.
    pub at: DateTime<Utc>,
    /// The file it concerns.
    pub path: String,
    /// True for an expiry: the file must be read again (the server decides whether the lock is gone);
    /// false for a warning, which needs no reading.
    pub reread: bool,
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
