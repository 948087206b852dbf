//! The local lock history: who held which file, from when to when, in a small SQLite database.
//!
//! [`History::record`] takes the watch engine's [`LockEvent`]s and keeps two tables: `holds` (one row per
//! lock a holder had on a file, open until the lock goes) and `events` (every event as its JSON line, for
//! auditing and for the desktop app's timeline). Times are stored as Unix seconds; the caller passes `now`.
//!
//! A hold is **stale** when it lasted (or, still open, has lasted) longer than `stale_after`, or when the
//! server kept listing it after its expiry ([`LockEvent::Expired`]). Retention is bounded: rows older than
//! the retention period are pruned on open and every few hundred writes.
//!
//! The database lives at `dirs::data_dir()/lockwatch/history.sqlite3` (overridable for tests and with
//! `LOCKWATCH_HISTORY`), in WAL mode so `lockwatch history` can read while `lockwatch watch` writes. This
//! module does not interpret locks beyond the events: it trusts the diff's judgement.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::ask::{AskLog, AskRecord};
use crate::error::{Error, Result};
use crate::model::{AskChannel, Lock, LockKind, LockScope};
use crate::watch::LockEvent;

/// How many writes between two pruning passes.
const PRUNE_EVERY: u32 = 500;

/// One lock a holder had on a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Hold {
    /// Server name.
    pub server: String,
    /// File path relative to the server URL.
    pub path: String,
    /// Best readable holder name.
    pub holder: Option<String>,
    /// The holder's id (user id or raw owner).
    pub holder_id: Option<String>,
    /// Editor app, for app locks.
    pub editor: Option<String>,
    /// Lock kind.
    pub kind: LockKind,
    /// Lock scope.
    pub scope: LockScope,
    /// When the lock was taken (the server's time when known, else when Lockwatch first saw it).
    pub from: DateTime<Utc>,
    /// When it went; `None` while it is still held.
    pub until: Option<DateTime<Utc>>,
    /// Held longer than the stale threshold, or listed by the server after its expiry.
    pub stale: bool,
}

/// The history database. Shareable between threads (`Arc<History>`): the connection sits behind a mutex,
/// and every write is one short transaction.
pub struct History {
    conn: Mutex<Connection>,
    stale_after: Duration,
    retention: Duration,
    writes: AtomicU32,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History").finish_non_exhaustive()
    }
}

fn db_err(context: &str, err: rusqlite::Error) -> Error {
    Error::Io {
        context: format!("history database: {context}"),
        detail: err.to_string(),
    }
}

/// The default database path: `$XDG_DATA_HOME/lockwatch/history.sqlite3` (or the platform's equivalent).
pub fn default_path() -> Option<PathBuf> {
    dirs::data_dir().map(|dir| dir.join("lockwatch").join("history.sqlite3"))
}

/// The database every front end uses: `LOCKWATCH_HISTORY` when set, else [`default_path`].
pub fn path() -> Option<PathBuf> {
    std::env::var_os("LOCKWATCH_HISTORY")
        .map(PathBuf::from)
        .or_else(default_path)
}

/// The identity of a lock across events (same rule as the diff: token, else holder and kind).
fn identity(lock: &Lock) -> String {
    match &lock.token {
        Some(token) => format!("token:{token}"),
        None => format!(
            "holder:{}|{}|{:?}|{:?}|{}|{}",
            lock.owner_id.as_deref().unwrap_or(""),
            lock.owner.as_deref().unwrap_or(""),
            lock.kind,
            lock.scope,
            lock.editor.as_deref().unwrap_or(""),
            lock.root.as_deref().unwrap_or(""),
        ),
    }
}

fn enum_text<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn from_unix(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

impl History {
    /// Opens (creating when needed) the database at `path`.
    pub fn open(
        path: &Path,
        stale_after: std::time::Duration,
        retention: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<History> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|err| Error::io(format!("creating {}", dir.display()), &err))?;
        }
        let conn = Connection::open(path).map_err(|e| db_err("opening", e))?;
        // SQLite's page cache (2 MB by default) fills as `watch` records its first reading and then stays
        // with the process all day. The database lives in the OS's file cache anyway, and its queries touch
        // a few index pages, so 128 KiB is plenty. (Not for in-memory databases: their pages are the data.)
        conn.pragma_update(None, "cache_size", -128)
            .map_err(|e| db_err("setting the cache size", e))?;
        Self::with_connection(conn, stale_after, retention, now)
    }

    /// Opens the database at [`path()`] with `config`'s stale threshold and retention.
    pub fn for_config(config: &crate::config::Config, now: DateTime<Utc>) -> Result<History> {
        let path = path().ok_or_else(|| Error::Io {
            context: "cannot find the user's data directory".into(),
            detail: "set LOCKWATCH_HISTORY to the history database's path".into(),
        })?;
        History::open(&path, config.stale_after, config.history_retention, now)
    }

    /// An in-memory history (tests, or when the data dir is unusable).
    pub fn in_memory(
        stale_after: std::time::Duration,
        retention: std::time::Duration,
    ) -> Result<History> {
        let conn = Connection::open_in_memory().map_err(|e| db_err("opening", e))?;
        Self::with_connection(conn, stale_after, retention, DateTime::UNIX_EPOCH)
    }

    fn with_connection(
        conn: Connection,
        stale_after: std::time::Duration,
        retention: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<History> {
        // WAL lets `lockwatch history` read while the watcher writes. With WAL, NORMAL keeps every committed
        // event when the process dies (the log is in the OS's cache) and never corrupts the database; only a
        // power cut can drop the last commits. FULL would fsync each event (about 4 ms against 0.05 ms on
        // ext4), and `watch` records one event per locked file at start.
        // The pragma answers with the mode in effect ("memory" for in-memory databases).
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(|e| db_err("enabling WAL", e))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| db_err("setting synchronous", e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| db_err("setting the busy timeout", e))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS holds (
                id INTEGER PRIMARY KEY,
                server TEXT NOT NULL,
                path TEXT NOT NULL,
                identity TEXT NOT NULL,
                holder TEXT,
                holder_id TEXT,
                editor TEXT,
                kind TEXT NOT NULL,
                scope TEXT NOT NULL,
                since INTEGER NOT NULL,
                until INTEGER,
                expired_listed INTEGER NOT NULL DEFAULT 0
            );
            CREATE INDEX IF NOT EXISTS holds_file ON holds (server, path, until);
            CREATE TABLE IF NOT EXISTS events (
                id INTEGER PRIMARY KEY,
                at INTEGER NOT NULL,
                server TEXT NOT NULL,
                path TEXT,
                event TEXT NOT NULL,
                json TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS events_at ON events (at);
            CREATE TABLE IF NOT EXISTS asks (
                id INTEGER PRIMARY KEY,
                at INTEGER NOT NULL,
                server TEXT NOT NULL,
                path TEXT NOT NULL,
                holder_id TEXT NOT NULL,
                holder TEXT,
                channel TEXT NOT NULL,
                ok INTEGER NOT NULL,
                detail TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS asks_file ON asks (server, path, holder_id, at);",
        )
        .map_err(|e| db_err("creating tables", e))?;
        let history = History {
            conn: Mutex::new(conn),
            stale_after: Duration::from_std(stale_after).unwrap_or(Duration::MAX),
            retention: Duration::from_std(retention).unwrap_or(Duration::MAX),
            writes: AtomicU32::new(0),
        };
        history.prune(now)?;
        Ok(history)
    }

    /// The connection; a panic in another thread mid-transaction left SQLite consistent (the transaction
    /// rolled back when dropped), so a poisoned lock is still usable.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        crate::sync::guard(&self.conn)
    }

    /// Counts a write and prunes every [`PRUNE_EVERY`] writes.
    fn wrote(&self, at: DateTime<Utc>) -> Result<()> {
        let writes = self.writes.fetch_add(1, Ordering::Relaxed) + 1;
        if writes.is_multiple_of(PRUNE_EVERY) {
            self.prune(at)?;
        }
        Ok(())
    }

    /// Records one event.
    pub fn record(&self, event: &LockEvent) -> Result<()> {
        let at = event.at().timestamp();
        let json = serde_json::to_string(event).unwrap_or_default();
        let mut conn = self.conn();
        let tx = conn
            .transaction()
            .map_err(|e| db_err("starting a transaction", e))?;
        tx.execute(
            "INSERT INTO events (at, server, path, event, json) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![at, event.server(), event.path(), event.name(), json],
        )
        .map_err(|e| db_err("recording an event", e))?;
        let server = event.server();
        let open_hold = |lock: &Lock, path: &str| -> rusqlite::Result<()> {
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT id FROM holds WHERE server = ?1 AND path = ?2 AND identity = ?3 AND until IS NULL",
                    params![server, path, identity(lock)],
                    |row| row.get(0),
                )
                .optional()?;
            if exists.is_none() {
                tx.execute(
                    "INSERT INTO holds (server, path, identity, holder, holder_id, editor, kind, scope, since)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        server,
                        path,
                        identity(lock),
                        lock.owner,
                        lock.owner_id,
                        lock.editor,
                        enum_text(&lock.kind),
                        enum_text(&lock.scope),
                        lock.acquired_at.map_or(at, |a| a.timestamp().min(at)),
                    ],
                )?;
            }
            Ok(())
        };
        let result = match event {
            LockEvent::Locked { path, locks, .. } => {
                locks.iter().try_for_each(|lock| open_hold(lock, path))
            }
            LockEvent::HolderChanged { path, after, .. } => {
                let keep: Vec<String> = after.iter().map(identity).collect();
                close_except(&tx, server, path, &keep, at)
                    .and_then(|()| after.iter().try_for_each(|lock| open_hold(lock, path)))
            }
            LockEvent::Unlocked { path, .. } => close_except(&tx, server, path, &[], at),
            LockEvent::Expired { path, lock, .. } => open_hold(lock, path).and_then(|()| {
                tx.execute(
                    "UPDATE holds SET expired_listed = 1 WHERE server = ?1 AND path = ?2 AND identity = ?3 AND until IS NULL",
                    params![server, path, identity(lock)],
                )
                .map(|_| ())
            }),
            _ => Ok(()),
        };
        result.map_err(|e| db_err("recording a hold", e))?;
        tx.commit().map_err(|e| db_err("committing", e))?;
        drop(conn);
        self.wrote(event.at())
    }

    /// Deletes finished holds and events older than the retention period; returns how many rows went.
    pub fn prune(&self, now: DateTime<Utc>) -> Result<usize> {
        let cutoff = now
            .checked_sub_signed(self.retention)
            .map_or(i64::MIN, |c| c.timestamp());
        let conn = self.conn();
        let holds = conn
            .execute(
                "DELETE FROM holds WHERE until IS NOT NULL AND until < ?1",
                params![cutoff],
            )
            .map_err(|e| db_err("pruning", e))?;
        let events = conn
            .execute("DELETE FROM events WHERE at < ?1", params![cutoff])
            .map_err(|e| db_err("pruning", e))?;
        let asks = conn
            .execute("DELETE FROM asks WHERE at < ?1", params![cutoff])
            .map_err(|e| db_err("pruning", e))?;
        Ok(holds + events + asks)
    }

    /// Holds, newest first, optionally of one server or one file; `now` decides staleness of open holds.
    pub fn holds(
        &self,
        server: Option<&str>,
        path: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Hold>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT server, path, holder, holder_id, editor, kind, scope, since, until, expired_listed
                 FROM holds
                 WHERE (?1 IS NULL OR server = ?1) AND (?2 IS NULL OR path = ?2)
                 ORDER BY since DESC, id DESC",
            )
            .map_err(|e| db_err("querying", e))?;
        let rows = stmt
            .query_map(params![server, path], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, String>(5)?,
                    row.get::<_, String>(6)?,
                    row.get::<_, i64>(7)?,
                    row.get::<_, Option<i64>>(8)?,
                    row.get::<_, bool>(9)?,
                ))
            })
            .map_err(|e| db_err("querying", e))?;
        let mut out = Vec::new();
        for row in rows {
            let (server, path, holder, holder_id, editor, kind, scope, since, until, expired) =
                row.map_err(|e| db_err("reading a row", e))?;
            let from = from_unix(since);
            let until = until.map(from_unix);
            let held = until.unwrap_or(now) - from;
            out.push(Hold {
                server,
                path,
                holder,
                holder_id,
                editor,
                kind: serde_json::from_value(serde_json::Value::String(kind))
                    .unwrap_or(LockKind::Webdav),
                scope: serde_json::from_value(serde_json::Value::String(scope))
                    .unwrap_or(LockScope::Exclusive),
                from,
                until,
                stale: expired || held > self.stale_after,
            });
        }
        Ok(out)
    }
}

impl History {
    /// Requests to release, newest first, optionally of one server or one file.
    pub fn asks(&self, server: Option<&str>, path: Option<&str>) -> Result<Vec<AskRecord>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT server, path, holder_id, holder, channel, at, ok, detail FROM asks
                 WHERE (?1 IS NULL OR server = ?1) AND (?2 IS NULL OR path = ?2)
                 ORDER BY at DESC, id DESC",
            )
            .map_err(|e| db_err("querying", e))?;
        let rows = stmt
            .query_map(params![server, path], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, i64>(5)?,
                    row.get::<_, bool>(6)?,
                    row.get::<_, String>(7)?,
                ))
            })
            .map_err(|e| db_err("querying", e))?;
        let mut out = Vec::new();
        for row in rows {
            let (server, path, holder_id, holder, channel, at, ok, detail) =
                row.map_err(|e| db_err("reading a row", e))?;
            // A channel this version does not know (a newer Lockwatch wrote it) is skipped, not fatal.
            let Ok(channel) =
                serde_json::from_value::<AskChannel>(serde_json::Value::String(channel))
            else {
                continue;
            };
            out.push(AskRecord {
                server,
                path,
                holder_id,
                holder,
                channel,
                at: from_unix(at),
                ok,
                detail,
            });
        }
        Ok(out)
    }
}

/// The history is where ask-to-release requests are remembered: the rate limit reads it, and
/// `lockwatch history` and the app show it.
impl AskLog for History {
    fn last_sent(
        &self,
        server: &str,
        path: &str,
        holder_id: &str,
    ) -> Result<Option<DateTime<Utc>>> {
        self.conn()
            .query_row(
                "SELECT MAX(at) FROM asks WHERE server = ?1 AND path = ?2 AND holder_id = ?3 AND ok = 1",
                params![server, path, holder_id],
                |row| row.get::<_, Option<i64>>(0),
            )
            .map(|at| at.map(from_unix))
            .map_err(|e| db_err("querying", e))
    }

    fn record(&self, record: &AskRecord) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO asks (at, server, path, holder_id, holder, channel, ok, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    record.at.timestamp(),
                    record.server,
                    record.path,
                    record.holder_id,
                    record.holder,
                    enum_text(&record.channel),
                    record.ok,
                    record.detail,
                ],
            )
            .map_err(|e| db_err("recording a request", e))?;
        self.wrote(record.at)
    }

    fn all(&self) -> Result<Vec<AskRecord>> {
        let mut all = self.asks(None, None)?;
        all.reverse();
        Ok(all)
    }
}

/// Closes every open hold on a file except those with an identity in `keep`.
fn close_except(
    tx: &rusqlite::Transaction<'_>,
    server: &str,
    path: &str,
    keep: &[String],
    at: i64,
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare(
        "SELECT id, identity FROM holds WHERE server = ?1 AND path = ?2 AND until IS NULL",
    )?;
    let open: Vec<(i64, String)> = stmt
        .query_map(params![server, path], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, ident) in open {
        if !keep.contains(&ident) {
            tx.execute("UPDATE holds SET until = ?1 WHERE id = ?2", params![at, id])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Expiry;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn lock(owner: &str) -> Lock {
        Lock {
            owner: Some(owner.into()),
            owner_id: Some(owner.into()),
            editor: None,
            scope: LockScope::Exclusive,
            kind: LockKind::Webdav,
            token: Some(format!("tok-{owner}")),
            depth: "0".into(),
            root: None,
            acquired_at: None,
            expires_at: None,
            expiry: Expiry::Never,
            timeout: None,
            inherited: false,
            mine: false,
        }
    }

    fn hours(h: u64) -> std::time::Duration {
        std::time::Duration::from_secs(h * 3600)
    }

    #[test]
    fn holds_run_from_lock_to_unlock_and_handover() {
        let h = History::in_memory(hours(8), hours(24 * 90)).unwrap();
        let (s, p) = ("team".to_owned(), "a.odt".to_owned());
        h.record(&LockEvent::Locked {
            server: s.clone(),
            path: p.clone(),
            at: t(0),
            wanted: false,
            locks: vec![lock("alice")],
        })
        .unwrap();
        h.record(&LockEvent::HolderChanged {
            server: s.clone(),
            path: p.clone(),
            at: t(60),
            wanted: false,
            before: vec![lock("alice")],
            after: vec![lock("bob")],
        })
        .unwrap();
        h.record(&LockEvent::Unlocked {
            server: s.clone(),
            path: p.clone(),
            at: t(120),
            wanted: false,
            released: vec![lock("bob")],
        })
        .unwrap();
        let holds = h.holds(Some("team"), Some("a.odt"), t(200)).unwrap();
        let got: Vec<(&str, i64, Option<i64>)> = holds
            .iter()
            .map(|x| {
                (
                    x.holder.as_deref().unwrap(),
                    x.from.timestamp() - t(0).timestamp(),
                    x.until.map(|u| u.timestamp() - t(0).timestamp()),
                )
            })
            .collect();
        assert_eq!(got, vec![("bob", 60, Some(120)), ("alice", 0, Some(60))]);
        assert!(holds.iter().all(|x| !x.stale));
        assert!(h.holds(Some("other"), None, t(200)).unwrap().is_empty());
    }

    #[test]
    fn long_or_expired_holds_are_stale_and_old_ones_are_pruned() {
        let h = History::in_memory(hours(8), hours(24)).unwrap();
        let locked = |path: &str, owner: &str, at| LockEvent::Locked {
            server: "s".into(),
            path: path.into(),
            at,
            wanted: false,
            locks: vec![lock(owner)],
        };
        h.record(&locked("long", "alice", t(0))).unwrap();
        h.record(&locked("short", "bob", t(0))).unwrap();
        h.record(&locked("listed", "carol", t(0))).unwrap();
        h.record(&LockEvent::Expired {
            server: "s".into(),
            path: "listed".into(),
            at: t(60),
            wanted: false,
            lock: lock("carol"),
            expired_at: t(30),
        })
        .unwrap();
        h.record(&LockEvent::Unlocked {
            server: "s".into(),
            path: "short".into(),
            at: t(600),
            wanted: false,
            released: vec![lock("bob")],
        })
        .unwrap();
        let stale = |h: &History, now| -> Vec<(String, bool)> {
            let mut v: Vec<_> = h
                .holds(None, None, now)
                .unwrap()
                .into_iter()
                .map(|x| (x.path, x.stale))
                .collect();
            v.sort();
            v
        };
        // Still open after 9 h: stale; closed after 10 min: not; listed after expiry: stale at once.
        assert_eq!(
            stale(&h, t(9 * 3600)),
            vec![
                ("listed".into(), true),
                ("long".into(), true),
                ("short".into(), false)
            ]
        );
        assert_eq!(
            stale(&h, t(3600)),
            vec![
                ("listed".into(), true),
                ("long".into(), false),
                ("short".into(), false)
            ]
        );
        // Retention 24 h: the finished hold goes, open ones stay.
        assert_eq!(h.prune(t(2 * 86_400)).unwrap(), 1 + 5);
        assert_eq!(stale(&h, t(3600)).len(), 2);
    }

    #[test]
    fn a_file_database_uses_wal_a_small_cache_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/history.sqlite3");
        {
            let h = History::open(&path, hours(8), hours(24), t(0)).unwrap();
            h.record(&LockEvent::Locked {
                server: "s".into(),
                path: "a".into(),
                at: t(0),
                wanted: false,
                locks: vec![lock("alice")],
            })
            .unwrap();
            let mode: String = h
                .conn()
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
            let cache: i64 = h
                .conn()
                .query_row("PRAGMA cache_size", [], |r| r.get(0))
                .unwrap();
            assert_eq!(cache, -128, "a small page cache (in KiB)");
        }
        let h = History::open(&path, hours(8), hours(24), t(10)).unwrap();
        assert_eq!(h.holds(None, None, t(10)).unwrap().len(), 1);
    }

    #[test]
    fn requests_to_release_are_recorded_queried_and_rate_limited_by_holder() {
        let h = History::in_memory(hours(8), hours(24)).unwrap();
        let ask = |path: &str, holder: &str, at, ok| AskRecord {
            server: "team".into(),
            path: path.into(),
            holder_id: holder.into(),
            holder: Some(format!("{holder} (display)")),
            channel: AskChannel::Comment,
            at,
            ok,
            detail: if ok {
                "sent".into()
            } else {
                "webhook answered 500".into()
            },
        };
        AskLog::record(&h, &ask("a.odt", "alice", t(0), true)).unwrap();
        AskLog::record(&h, &ask("a.odt", "alice", t(60), false)).unwrap();
        AskLog::record(&h, &ask("a.odt", "bob", t(120), true)).unwrap();
        AskLog::record(&h, &ask("b.odt", "alice", t(180), true)).unwrap();
        // Only successful requests count, per file and holder.
        assert_eq!(h.last_sent("team", "a.odt", "alice").unwrap(), Some(t(0)));
        assert_eq!(h.last_sent("team", "a.odt", "bob").unwrap(), Some(t(120)));
        assert_eq!(h.last_sent("team", "c.odt", "alice").unwrap(), None);
        let a = h.asks(Some("team"), Some("a.odt")).unwrap();
        assert_eq!(
            a.iter()
                .map(|r| (r.holder_id.as_str(), r.ok))
                .collect::<Vec<_>>(),
            vec![("bob", true), ("alice", false), ("alice", true)]
        );
        assert_eq!(a[1], ask("a.odt", "alice", t(60), false));
        assert_eq!(
            h.all().unwrap().first(),
            Some(&ask("a.odt", "alice", t(0), true))
        );
        // Retention covers requests too.
        assert_eq!(h.prune(t(86_400 + 150)).unwrap(), 3);
        assert_eq!(h.asks(None, None).unwrap().len(), 1);
    }
}
