//! The locks this user took through Lockwatch, remembered across runs.
//!
//! A WebDAV lock can only be refreshed or released with its token, which the server hands out once, in the
//! answer to `LOCK`. So every lock Lockwatch takes is written to a small JSON file in the user's data dir
//! (`$XDG_DATA_HOME/lockwatch/held-locks.json`), and a later run finds the token there. Entries whose lock
//! no longer exists on the server are pruned whenever a read shows the file without it.
//!
//! Writes are atomic (temp file, fsync, rename) and keep the previous version as `held-locks.json.bak`, so a
//! crash mid-write loses nothing. A damaged file is reported and never overwritten. Two Lockwatch processes
//! acting at the very same moment may each miss the other's entry; the server state stays authoritative.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{FileState, Lock, LockScope, ServerKind, StatusReport};

/// One lock taken through Lockwatch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldLock {
    /// Server name from the config.
    pub server: String,
    /// File path relative to the server URL.
    pub path: String,
    /// The lock token, when the protocol has one.
    pub token: Option<String>,
    /// The protocol the lock was taken with.
    pub kind: ServerKind,
    /// Exclusive or shared.
    pub scope: LockScope,
    /// When Lockwatch took it.
    pub taken_at: DateTime<Utc>,
    /// When it ends unless refreshed, when known.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    locks: Vec<HeldLock>,
}

/// The store on disk.
#[derive(Debug, Clone)]
pub struct HeldLocks {
    path: PathBuf,
}

impl HeldLocks {
    /// The store at `path`.
    pub fn at(path: impl Into<PathBuf>) -> HeldLocks {
        HeldLocks { path: path.into() }
    }

    /// The store in the user's data dir.
    pub fn in_data_dir() -> Result<HeldLocks> {
        Ok(HeldLocks::at(data_file("held-locks.json")?))
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry; an absent file is an empty store.
    pub fn load(&self) -> Result<Vec<HeldLock>> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => {
                return Err(Error::io(
                    format!("cannot read {}", self.path.display()),
                    &err,
                ));
            }
        };
        let file: File = serde_json::from_slice(&bytes).map_err(|err| Error::Io {
            context: format!("the held-lock store {} is damaged", self.path.display()),
            detail: format!("{err}; it was left untouched: move it away to start afresh (held locks stay on the server)"),
        })?;
        Ok(file.locks)
    }

    /// The entry for `server` / `path`, if any.
    pub fn find(&self, server: &str, path: &str) -> Result<Option<HeldLock>> {
        Ok(self
            .load()?
            .into_iter()
            .find(|h| h.server == server && h.path == path))
    }

    /// Adds `lock`, replacing an entry with the same server, path and token.
    pub fn insert(&self, lock: HeldLock) -> Result<()> {
        self.update(|locks| {
            locks.retain(|h| {
                !(h.server == lock.server && h.path == lock.path && h.token == lock.token)
            });
            locks.push(lock);
        })
    }

    /// Removes the entries for `server` / `path`.
    pub fn remove(&self, server: &str, path: &str) -> Result<()> {
        self.update(|locks| locks.retain(|h| !(h.server == server && h.path == path)))
    }

    /// Drops entries whose lock a successful read shows gone, and marks the locks that are held here as
    /// `mine` in `report`. Returns how many entries were dropped.
    pub fn reconcile(&self, report: &mut StatusReport) -> Result<usize> {
        let held = self.load()?;
        if held.is_empty() {
            return Ok(0);
        }
        let mut gone = Vec::new();
        for entry in &held {
            let Some(file) = report
                .files
                .iter_mut()
                .find(|f| f.server == entry.server && f.path == entry.path)
            else {
                continue;
            };
            let found = mark_mine(
                std::slice::from_ref(entry),
                &entry.path,
                &entry.server,
                &mut file.locks,
            );
            let readable = matches!(file.state, FileState::Locked | FileState::Unlocked);
            if readable && !found {
                gone.push((
                    entry.server.clone(),
                    entry.path.clone(),
                    entry.token.clone(),
                ));
            }
        }
        if !gone.is_empty() {
            self.update(|locks| {
                locks.retain(|h| {
                    !gone
                        .iter()
                        .any(|(s, p, t)| &h.server == s && &h.path == p && &h.token == t)
                });
            })?;
        }
        Ok(gone.len())
    }

    fn update(&self, change: impl FnOnce(&mut Vec<HeldLock>)) -> Result<()> {
        let mut locks = self.load()?;
        change(&mut locks);
        let bytes =
            serde_json::to_vec_pretty(&File { version: 1, locks }).map_err(|err| Error::Io {
                context: "cannot encode the held-lock store".into(),
                detail: err.to_string(),
            })?;
        crate::config_file::write_atomic(&self.path, &bytes)
    }
}

/// Marks as `mine` the locks among `locks` (of `path` on `server`) that an entry of `held` was taken for;
/// returns whether any was. An entry without a token (a server that names none) can only confirm a lock
/// already marked by the protocol layer.
pub fn mark_mine(held: &[HeldLock], path: &str, server: &str, locks: &mut [Lock]) -> bool {
    let mut found = false;
    for entry in held.iter().filter(|h| h.server == server && h.path == path) {
        for lock in locks.iter_mut() {
            let matches = match &entry.token {
                Some(token) => lock.token.as_deref() == Some(token),
                None => lock.mine,
            };
            if matches {
                lock.mine = true;
                found = true;
            }
        }
    }
    found
}

/// `name` in Lockwatch's folder of the user's data dir (`$XDG_DATA_HOME/lockwatch/` on Linux).
pub fn data_file(name: &str) -> Result<PathBuf> {
    let dir = dirs::data_dir().ok_or_else(|| Error::Io {
        context: "cannot find the user's data directory".into(),
        detail: "set XDG_DATA_HOME or HOME".into(),
    })?;
    Ok(dir.join("lockwatch").join(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Expiry, FileEntry, Lock, LockKind};

    fn held(path: &str, token: &str) -> HeldLock {
        HeldLock {
            server: "s".into(),
            path: path.into(),
            token: Some(token.into()),
            kind: ServerKind::Webdav,
            scope: LockScope::Exclusive,
            taken_at: Utc::now(),
            expires_at: None,
        }
    }

    fn entry(path: &str, state: FileState, tokens: &[&str]) -> FileEntry {
        FileEntry {
            server: "s".into(),
            path: path.into(),
            name: None,
            url: String::new(),
            state,
            locks: tokens
                .iter()
                .map(|t| Lock {
                    owner: None,
                    owner_id: None,
                    editor: None,
                    scope: LockScope::Exclusive,
                    kind: LockKind::Webdav,
                    token: Some((*t).into()),
                    depth: "0".into(),
                    root: None,
                    acquired_at: None,
                    expires_at: None,
                    expiry: Expiry::Unknown,
                    timeout: None,
                    inherited: false,
                    mine: false,
                })
                .collect(),
            error: None,
            wanted: false,
            file_id: None,
        }
    }

    #[test]
    fn survives_a_restart_and_keeps_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let store = HeldLocks::at(dir.path().join("sub/held.json"));
        assert_eq!(store.load().unwrap(), vec![]);
        store.insert(held("a", "t1")).unwrap();
        store.insert(held("b", "t2")).unwrap();
        let reopened = HeldLocks::at(dir.path().join("sub/held.json"));
        assert_eq!(
            reopened.find("s", "b").unwrap().unwrap().token.as_deref(),
            Some("t2")
        );
        let backup = std::fs::read_to_string(dir.path().join("sub/held.json.bak")).unwrap();
        assert!(backup.contains("t1") && !backup.contains("t2"), "{backup}");
        reopened.remove("s", "a").unwrap();
        assert_eq!(reopened.load().unwrap().len(), 1);
    }

    #[test]
    fn a_damaged_store_is_reported_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("held.json");
        std::fs::write(&path, "{not json").unwrap();
        let store = HeldLocks::at(&path);
        let err = store.insert(held("a", "t")).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{not json");
    }

    #[test]
    fn reconcile_marks_mine_and_prunes_vanished_locks() {
        let dir = tempfile::tempdir().unwrap();
        let store = HeldLocks::at(dir.path().join("held.json"));
        store.insert(held("kept", "t1")).unwrap();
        store.insert(held("gone", "t2")).unwrap();
        store.insert(held("unreadable", "t3")).unwrap();
        let mut report = StatusReport {
            servers: vec![],
            files: vec![
                entry("kept", FileState::Locked, &["other", "t1"]),
                entry("gone", FileState::Unlocked, &[]),
                entry("unreadable", FileState::Error, &[]),
            ],
        };
        assert_eq!(store.reconcile(&mut report).unwrap(), 1);
        assert_eq!(
            report.files[0]
                .locks
                .iter()
                .map(|l| l.mine)
                .collect::<Vec<_>>(),
            [false, true]
        );
        let left: Vec<String> = store.load().unwrap().into_iter().map(|h| h.path).collect();
        assert_eq!(left, ["kept", "unreadable"]);
    }
}
