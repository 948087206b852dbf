//! Taking, refreshing, releasing and breaking locks, with honest outcomes.
//!
//! Servers do not always mean what their status codes say: some answer `204` to an `UNLOCK` and remove
//! nothing, some answer `500` for a conflict. So every action here is followed by a fresh read of the
//! file, and the [`Outcome`] describes what is true afterwards — "Budget.xlsx is locked by Bob until
//! 10:30" — not what the status code suggested. The held-lock store ([`crate::held`]) keeps the token of
//! every lock taken here so a later run can refresh or release it.
//!
//! Confirmation before breaking someone else's lock is the front end's job; the warning text is here
//! ([`force_unlock_warning`]) so every front end says the same thing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{Error, ErrorInfo, ErrorKind, Result};
use crate::held::{HeldLock, HeldLocks};
use crate::model::{Expiry, FileEntry, FileState, Lock, LockScope, ServerKind};
use crate::protocol::{LockRequest, LockSource, Server, resource_url};
use crate::secrets::redact_url;

/// What to do to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Take a lock.
    Lock {
        /// Shared instead of exclusive.
        shared: bool,
        /// Requested timeout.
        timeout: Duration,
    },
    /// Extend a lock taken through Lockwatch.
    Refresh {
        /// Requested timeout.
        timeout: Duration,
    },
    /// Release a lock taken through Lockwatch.
    Unlock,
    /// Release other users' locks on the file.
    ForceUnlock,
}

impl Action {
    /// What "Lock it now" and auto-lock take: an exclusive lock with the default timeout.
    pub const LOCK_NOW: Action = Action::Lock {
        shared: false,
        timeout: crate::protocol::DEFAULT_LOCK_TIMEOUT,
    };
}

/// What an action achieved.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// True when the file is now as the user asked.
    pub ok: bool,
    /// One sentence: what is true now.
    pub message: String,
    /// Why it did not work, when it did not.
    pub error: Option<ErrorInfo>,
}

impl Outcome {
    /// Why the action did not work, as an error to show the user: [`Outcome::error`], or for an action
    /// the server did not carry out without an error of its own (someone else holds the file), a
    /// conflict saying [`Outcome::message`]. `None` when it worked.
    pub fn problem(&self) -> Option<ErrorInfo> {
        if self.ok {
            return None;
        }
        Some(self.error.clone().unwrap_or_else(|| ErrorInfo {
            kind: ErrorKind::Conflict,
            message: self.message.clone(),
        }))
    }
}

/// The file after the action, and the outcome (`status --json` entry plus `outcome`).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionReport {
    /// The file as read after the action.
    #[serde(flatten)]
    pub file: FileEntry,
    /// What the action achieved.
    pub outcome: Outcome,
}

/// The warning to show (and confirm) before breaking other users' locks on `file`.
pub fn force_unlock_warning(file: &FileEntry) -> String {
    let holders = holders(file.locks.iter().filter(|l| !l.mine));
    format!(
        "This releases {holders}'s lock on {}. If they are still editing, they may lose unsaved work, and their editor may not notice.",
        file.name()
    )
}

/// The who-for of locks this user takes: the configured owner, else the server's user name.
pub fn lock_owner(config_owner: Option<&str>, server: &Server) -> String {
    config_owner
        .map(str::to_owned)
        .or_else(|| server.config().username.clone())
        .unwrap_or_else(|| "Lockwatch user".to_owned())
}

/// Reads the current state of one file (the entry for an error when it cannot be read).
pub async fn read_file(server: &Server, path: &str, now: DateTime<Utc>) -> FileEntry {
    let failed = |err: &Error| {
        let url = redact_url(&resource_url(&server.config().url, path));
        FileEntry::failed(
            &server.config().name,
            path,
            &url,
            ErrorInfo::for_server(&server.config().name, err),
        )
    };
    let source = match server.source().await {
        Ok(source) => source,
        Err(err) => return failed(&err),
    };
    let mut file = match source.read(&[path.to_owned()], now).await {
        Ok(files) => files
            .into_iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| {
                failed(&Error::NotFound {
                    what: path.to_owned(),
                })
            }),
        Err(err) => failed(&err),
    };
    file.wanted = server.config().is_wanted(path);
    file
}

/// Performs `action` on `path` and reports what is true afterwards. `owner` is who the lock is for.
pub async fn perform(
    server: &Server,
    held: &HeldLocks,
    owner: &str,
    path: &str,
    action: Action,
) -> ActionReport {
    let name = server.config().name.clone();
    let source = match server.source().await {
        Ok(source) => source,
        Err(err) => {
            let file = read_file(server, path, Utc::now()).await;
            return failure(file, &name, &err);
        }
    };
    let stored = match held.find(&name, path) {
        Ok(stored) => stored,
        Err(err) => return failure(read_file(server, path, Utc::now()).await, &name, &err),
    };
    match action {
        Action::Lock { shared, timeout } => {
            lock(server, source.as_ref(), held, owner, path, shared, timeout).await
        }
        Action::Refresh { timeout } => {
            refresh(server, source.as_ref(), held, stored, path, timeout).await
        }
        Action::Unlock => unlock(server, source.as_ref(), held, stored, path).await,
        Action::ForceUnlock => force_unlock(server, source.as_ref(), path).await,
    }
}

async fn lock(
    server: &Server,
    source: &dyn LockSource,
    held: &HeldLocks,
    owner: &str,
    path: &str,
    shared: bool,
    timeout: Duration,
) -> ActionReport {
    let name = &server.config().name;
    let scope = if shared {
        LockScope::Shared
    } else {
        LockScope::Exclusive
    };
    if shared && source.kind() == ServerKind::Nextcloud {
        let err = Error::Unsupported {
            detail: "Nextcloud locks are always exclusive; shared locks are not available".into(),
        };
        return failure(read_file(server, path, Utc::now()).await, name, &err);
    }
    let request = LockRequest {
        scope,
        timeout,
        owner: owner.to_owned(),
    };
    let result = source.lock(path, &request).await;
    let mut file = read_file(server, path, Utc::now()).await;
    match result {
        Ok(taken) => {
            let index = file.locks.iter().position(|l| match &taken.token {
                Some(token) => l.token.as_deref() == Some(token.as_str()),
                None => l.mine,
            });
            let Some(index) = index else {
                if file.state == FileState::Unsupported {
                    return stored_ok(
                        held,
                        name,
                        path,
                        &taken.token,
                        source.kind(),
                        scope,
                        None,
                        file,
                        |file| {
                            format!(
                                "Locked {} for you (the server cannot report locks, so this is its word only).",
                                file.name()
                            )
                        },
                    );
                }
                let message = format!(
                    "The server accepted the lock on {} but does not list it; it is {} now.",
                    file.name(),
                    describe_state(&file)
                );
                return not_ok(file, message, None);
            };
            file.locks[index].mine = true;
            let expires_at = file.locks[index].expires_at;
            let until = until(&file.locks[index]);
            stored_ok(
                held,
                name,
                path,
                &taken.token,
                source.kind(),
                scope,
                expires_at,
                file,
                |file| format!("Locked {} for you{until}.", file.name()),
            )
        }
        Err(err) => {
            // WOPI's own message already names the session, the editor guess and the host's reason.
            let err = if matches!(err.kind(), ErrorKind::Locked | ErrorKind::Server)
                && others_hold(&file)
                && source.kind() != ServerKind::Wopi
            {
                // 423, or the 500 some Nextcloud versions answer for the same conflict: say who has it.
                Error::Locked {
                    what: file.name().to_owned(),
                    detail: format!(
                        "by {}{}",
                        holders(file.locks.iter().filter(|l| !l.mine)),
                        soonest_until(&file)
                    ),
                }
            } else {
                err
            };
            failure(file, name, &err)
        }
    }
}

async fn refresh(
    server: &Server,
    source: &dyn LockSource,
    held: &HeldLocks,
    stored: Option<HeldLock>,
    path: &str,
    timeout: Duration,
) -> ActionReport {
    let name = &server.config().name;
    let token = stored.as_ref().and_then(|s| s.token.clone());
    if stored.is_none() && source.kind() == ServerKind::Webdav {
        return failure(
            read_file(server, path, Utc::now()).await,
            name,
            &no_held_lock(path),
        );
    }
    let result = source.refresh(path, token.as_deref(), timeout).await;
    let mut file = read_file(server, path, Utc::now()).await;
    mark_mine(&mut file, token.as_deref());
    match (result, file.locks.iter().position(|l| l.mine)) {
        (Ok(()), Some(index)) => {
            let until = until(&file.locks[index]);
            if let Some(mut entry) = stored {
                entry.expires_at = file.locks[index].expires_at;
                if let Err(err) = held.insert(entry) {
                    return failure(file, name, &err);
                }
            }
            ok(
                file,
                format!("Refreshed your lock on {}{until}.", file_name(path)),
            )
        }
        (_, None) => {
            let _ = held.remove(name, path);
            let message = format!(
                "Your lock on {} has ended (expired or released); it is {} now.",
                file_name(path),
                describe_state(&file)
            );
            not_ok(file, message, Some(ErrorKind::Conflict))
        }
        (Err(err), Some(_)) => failure(file, name, &err),
    }
}

async fn unlock(
    server: &Server,
    source: &dyn LockSource,
    held: &HeldLocks,
    stored: Option<HeldLock>,
    path: &str,
) -> ActionReport {
    let name = &server.config().name;
    let token = stored.as_ref().and_then(|s| s.token.clone());
    if stored.is_none() && source.kind() == ServerKind::Webdav {
        return failure(
            read_file(server, path, Utc::now()).await,
            name,
            &no_held_lock(path),
        );
    }
    let result = source.unlock(path, token.as_deref()).await;
    let mut file = read_file(server, path, Utc::now()).await;
    mark_mine(&mut file, token.as_deref());
    let still_mine = file.locks.iter().any(|l| l.mine);
    let readable = matches!(file.state, FileState::Locked | FileState::Unlocked);
    if readable && !still_mine {
        let _ = held.remove(name, path);
        let message = match (&result, file.state) {
            (Ok(()), FileState::Unlocked) => {
                format!("Released your lock on {}; it is unlocked now.", file.name())
            }
            (Ok(()), _) => format!(
                "Released your lock on {}; it is still {}.",
                file.name(),
                describe_state(&file)
            ),
            (Err(_), _) => format!(
                "Your lock on {} had already ended (expired or released elsewhere); it is {} now.",
                file.name(),
                describe_state(&file)
            ),
        };
        return ok(file, message);
    }
    match result {
        Ok(()) if still_mine => {
            let message = format!(
                "The server answered that the lock on {} was released, but it is still there.",
                file.name()
            );
            not_ok(file, message, Some(ErrorKind::Conflict))
        }
        Ok(()) => {
            let message = format!(
                "The server released the lock on {}, but its state cannot be read to confirm it.",
                file_name(path)
            );
            ok(file, message)
        }
        Err(err) => failure(file, name, &err),
    }
}

async fn force_unlock(server: &Server, source: &dyn LockSource, path: &str) -> ActionReport {
    let name = &server.config().name;
    let before = read_file(server, path, Utc::now()).await;
    let targets: Vec<Lock> = before.locks.iter().filter(|l| !l.mine).cloned().collect();
    if before.state == FileState::Error {
        return ActionReport {
            outcome: Outcome {
                ok: false,
                message: before
                    .error
                    .as_ref()
                    .map(|e| e.message.clone())
                    .unwrap_or_default(),
                error: before.error.clone(),
            },
            file: before,
        };
    }
    if targets.is_empty() {
        let message = format!(
            "{} is not locked by anyone else; nothing to release.",
            before.name()
        );
        return ok(before, message);
    }
    let mut refusal = None;
    for lock in &targets {
        if let Err(err) = source.force_unlock(path, lock).await {
            refusal = Some(err);
            break;
        }
    }
    let file = read_file(server, path, Utc::now()).await;
    let remaining: Vec<&Lock> = file
        .locks
        .iter()
        .filter(|l| targets.iter().any(|t| same_lock(t, l)))
        .collect();
    let who = holders(targets.iter());
    match (refusal, remaining.is_empty()) {
        (_, true) => ok(
            file.clone(),
            format!(
                "Released {who}'s lock on {}. If they were still editing, they may lose unsaved work.",
                file.name()
            ),
        ),
        (Some(err), false) => failure(file, name, &err),
        (None, false) => {
            let message = format!(
                "The server answered success, but {who}'s lock on {} is still there: this server does not let other users release locks.",
                file.name()
            );
            not_ok(file, message, Some(ErrorKind::Forbidden))
        }
    }
}

fn same_lock(a: &Lock, b: &Lock) -> bool {
    match (&a.token, &b.token) {
        (Some(x), Some(y)) => x == y,
        _ => a.owner_id == b.owner_id && a.scope == b.scope && a.root == b.root,
    }
}

fn mark_mine(file: &mut FileEntry, token: Option<&str>) {
    if let Some(token) = token {
        for lock in &mut file.locks {
            if lock.token.as_deref() == Some(token) {
                lock.mine = true;
            }
        }
    }
}

fn no_held_lock(path: &str) -> Error {
    Error::Conflict {
        detail: format!(
            "Lockwatch holds no lock on {path} (none was taken through Lockwatch on this computer); to release another user's lock, use force-unlock"
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn stored_ok(
    held: &HeldLocks,
    server: &str,
    path: &str,
    token: &Option<String>,
    kind: ServerKind,
    scope: LockScope,
    expires_at: Option<DateTime<Utc>>,
    file: FileEntry,
    message: impl FnOnce(&FileEntry) -> String,
) -> ActionReport {
    let entry = HeldLock {
        server: server.to_owned(),
        path: path.to_owned(),
        token: token.clone(),
        kind,
        scope,
        taken_at: Utc::now(),
        expires_at,
    };
    if let Err(err) = held.insert(entry) {
        let message = format!(
            "Locked {}, but Lockwatch could not remember the lock ({err}); release it before it expires from where you can.",
            file.name()
        );
        return not_ok(file, message, Some(ErrorKind::Internal));
    }
    let message = message(&file);
    ok(file, message)
}

fn ok(file: FileEntry, message: String) -> ActionReport {
    ActionReport {
        file,
        outcome: Outcome {
            ok: true,
            message,
            error: None,
        },
    }
}

fn not_ok(file: FileEntry, message: String, kind: Option<ErrorKind>) -> ActionReport {
    let error = kind.map(|kind| ErrorInfo {
        kind,
        message: message.clone(),
    });
    ActionReport {
        file,
        outcome: Outcome {
            ok: false,
            message,
            error,
        },
    }
}

fn failure(file: FileEntry, server: &str, err: &Error) -> ActionReport {
    let info = ErrorInfo::for_server(server, err);
    ActionReport {
        file,
        outcome: Outcome {
            ok: false,
            message: info.message.clone(),
            error: Some(info),
        },
    }
}

fn others_hold(file: &FileEntry) -> bool {
    file.locks.iter().any(|l| !l.mine)
}

fn file_name(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
}

/// "Bob Builder", "Bob Builder and alice@example.com", or "another user".
fn holders<'l>(locks: impl Iterator<Item = &'l Lock>) -> String {
    let mut names: Vec<String> = Vec::new();
    for lock in locks {
        let name = match (&lock.owner, lock.kind) {
            (Some(owner), _) => owner.clone(),
            (None, crate::model::LockKind::Wopi) => format!(
                "another session ({})",
                lock.editor.as_deref().unwrap_or("editor unknown")
            ),
            (None, _) => "an unnamed user".to_owned(),
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    match names.len() {
        0 => "another user".to_owned(),
        1 => names.remove(0),
        _ => {
            let last = names.pop().unwrap_or_default();
            format!("{} and {last}", names.join(", "))
        }
    }
}

/// " until 10:30 UTC", " with no expiry", or "".
fn until(lock: &Lock) -> String {
    match (lock.expiry, lock.expires_at) {
        (Expiry::At, Some(at)) => format!(" until {}", at.format("%Y-%m-%d %H:%M UTC")),
        (Expiry::Never, _) => " with no expiry".to_owned(),
        _ => String::new(),
    }
}

fn soonest_until(file: &FileEntry) -> String {
    file.locks
        .iter()
        .filter(|l| !l.mine)
        .filter_map(|l| l.expires_at)
        .min()
        .map(|at| format!(" until {}", at.format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default()
}

fn describe_state(file: &FileEntry) -> String {
    match file.state {
        FileState::Locked => format!("locked by {}", holders(file.locks.iter())),
        FileState::Unlocked => "unlocked".to_owned(),
        FileState::Unsupported => "in an unknown state (the server cannot report locks)".to_owned(),
        FileState::Error => "unreadable".to_owned(),
    }
}

/// Probes what `server` supports, refined by what a read of its watched files shows (whether other
/// users' lock tokens are visible).
pub async fn capabilities(server: &Server) -> Result<crate::model::Capabilities> {
    let source = server.source().await?;
    let mut caps = source.capabilities().await?;
    if let Ok(files) = source.read(&server.config().read_set(), Utc::now()).await {
        let locks: Vec<&Lock> = files.iter().flat_map(|f| f.locks.iter()).collect();
        if locks.iter().any(|l| l.token.is_some()) {
            caps.exposes_tokens = crate::model::Ability::Yes;
        } else if !locks.is_empty() {
            caps.exposes_tokens = crate::model::Ability::No;
            if caps.kind == ServerKind::Webdav {
                caps.can_force_unlock = crate::model::Ability::No;
            }
        }
    }
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_that_did_not_work_always_has_a_problem_to_show() {
        let outcome = |ok, error: Option<ErrorInfo>| Outcome {
            ok,
            message: "Plan.pptx is locked by Bob.".into(),
            error,
        };
        assert_eq!(outcome(true, None).problem(), None);
        assert_eq!(
            outcome(false, None).problem(),
            Some(ErrorInfo {
                kind: ErrorKind::Conflict,
                message: "Plan.pptx is locked by Bob.".into()
            })
        );
        let offline = ErrorInfo {
            kind: ErrorKind::Network,
            message: "team: cannot reach the server.".into(),
        };
        assert_eq!(
            outcome(false, Some(offline.clone())).problem(),
            Some(offline)
        );
    }
}
