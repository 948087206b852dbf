//! Telling the user that a wanted file is free: the notification's words ([`notice_for`]), the
//! [`Announcer`] that sends each release at most once, and the [`Notifier`] trait with its desktop
//! implementation ([`DesktopNotifier`], freedesktop notifications over D-Bus via notify-rust).
//!
//! The trait keeps D-Bus out of the engine's tests and out of any front end that shows notifications its
//! own way. Wording is decided here, purely, so it is tested without a notification server.
//!
//! Auto-lock ("take the lock the moment it frees") is an extension point only: an [`Announcer`] given a
//! [`LockTaker`] calls it for files marked auto-lock and says "… is now locked for you" when it worked. This
//! module does not lock anything itself; lock actions live with the protocol layer.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, mpsc};

use super::diff::LockEvent;
use crate::display;
use crate::error::{Error, Result};
use crate::model::Lock;

/// Action key of "Lock it now".
pub const ACTION_LOCK: &str = "lock";
/// Action key of "Open".
pub const ACTION_OPEN: &str = "open";

/// A desktop notification, before it is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Server of the file.
    pub server: String,
    /// Path of the file.
    pub path: String,
    /// One line: "Budget.xlsx is free".
    pub summary: String,
    /// Who released it, and when.
    pub body: String,
    /// Buttons as (key, label), shown where the notification server supports actions.
    pub actions: Vec<(String, String)>,
}

/// The user pressed a notification button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeAction {
    /// Server of the file.
    pub server: String,
    /// Path of the file.
    pub path: String,
    /// [`ACTION_LOCK`] or [`ACTION_OPEN`].
    pub action: String,
}

/// Shows notices to the user.
pub trait Notifier: Send + Sync {
    /// Shows `notice`; an error means it could not be delivered (no notification server, ...).
    fn show<'a>(&'a self, notice: &'a Notice) -> BoxFuture<'a, Result<()>>;
}

/// Takes a lock on a file for the user: the auto-lock extension point, implemented by the lock actions.
pub trait LockTaker: Send + Sync {
    /// Locks `path` on `server` for the user.
    fn take<'a>(&'a self, server: &'a str, path: &'a str) -> BoxFuture<'a, Result<()>>;
}

/// The holders of `locks` in words: "bob", "bob and carol", "someone".
fn holders(locks: &[Lock]) -> String {
    let mut names: Vec<String> = Vec::new();
    for lock in locks {
        let name = lock
            .owner
            .as_deref()
            .or(lock.owner_id.as_deref())
            .map(|n| display::safe(n, 60))
            .unwrap_or_else(|| "someone".to_owned());
        if !names.contains(&name) {
            names.push(name);
        }
    }
    match names.as_slice() {
        [] => "someone".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The notice for `event`, when it is the release of a wanted file; times shown in `tz`.
pub fn notice_for<Tz: TimeZone>(event: &LockEvent, tz: &Tz, can_lock: bool) -> Option<Notice>
where
    Tz::Offset: std::fmt::Display,
{
    let LockEvent::Unlocked {
        server,
        path,
        at,
        wanted: true,
        released,
    } = event
    else {
        return None;
    };
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path);
    let mut actions = Vec::new();
    if can_lock {
        actions.push((ACTION_LOCK.to_owned(), "Lock it now".to_owned()));
    }
    actions.push((ACTION_OPEN.to_owned(), "Open".to_owned()));
    Some(Notice {
        server: server.clone(),
        path: path.clone(),
        summary: format!("{} is free", display::safe(name, 80)),
        body: format!(
            "{} released it at {} ({}).",
            holders(released),
            local_time(at, tz),
            display::safe(server, 40)
        ),
        actions,
    })
}

fn local_time<Tz: TimeZone>(at: &DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    at.with_timezone(tz).format("%H:%M").to_string()
}

/// Sends a notice for each release of a wanted file, at most once per release, and runs auto-lock where
/// asked to.
pub struct Announcer<Tz: TimeZone> {
    notifier: Arc<dyn Notifier>,
    taker: Option<Arc<dyn LockTaker>>,
    auto_lock: HashSet<(String, String)>,
    /// Files already announced since they were last seen locked: a second `Unlocked` without a `Locked`
    /// in between is the same release (e.g. after a watcher restart or a duplicate watch entry).
    announced: HashSet<(String, String)>,
    tz: Tz,
}

impl<Tz: TimeZone> Announcer<Tz>
where
    Tz::Offset: std::fmt::Display,
{
    /// Announces through `notifier`, with times in `tz`.
    pub fn new(notifier: Arc<dyn Notifier>, tz: Tz) -> Announcer<Tz> {
        Announcer {
            notifier,
            taker: None,
            auto_lock: HashSet::new(),
            announced: HashSet::new(),
            tz,
        }
    }

    /// Enables "Lock it now" and auto-lock for the files in `auto_lock` (server, path).
    pub fn with_taker(
        mut self,
        taker: Arc<dyn LockTaker>,
        auto_lock: impl IntoIterator<Item = (String, String)>,
    ) -> Announcer<Tz> {
        self.taker = Some(taker);
        self.auto_lock = auto_lock.into_iter().collect();
        self
    }

    /// Replaces the set of auto-lock files (after the config changed); what was announced stays announced.
    pub fn set_auto_lock(&mut self, auto_lock: impl IntoIterator<Item = (String, String)>) {
        self.auto_lock = auto_lock.into_iter().collect();
    }

    /// Handles one event; returns the notice that was shown, if any.
    pub async fn handle(&mut self, event: &LockEvent) -> Result<Option<Notice>> {
        let key = match (event.server(), event.path()) {
            (server, Some(path)) => (server.to_owned(), path.to_owned()),
            (_, None) => return Ok(None),
        };
        match event {
            LockEvent::Locked { .. } | LockEvent::HolderChanged { .. } => {
                self.announced.remove(&key);
                return Ok(None);
            }
            LockEvent::Unlocked { .. } => {}
            _ => return Ok(None),
        }
        let Some(mut notice) = notice_for(event, &self.tz, self.taker.is_some()) else {
            return Ok(None);
        };
        if !self.announced.insert(key.clone()) {
            return Ok(None);
        }
        if let Some(taker) = &self.taker
            && self.auto_lock.contains(&key)
        {
            match taker.take(&key.0, &key.1).await {
                Ok(()) => {
                    let name = notice.summary.trim_end_matches(" is free").to_owned();
                    notice.summary = format!("{name} is now locked for you");
                    notice.actions.retain(|(k, _)| k != ACTION_LOCK);
                }
                Err(err) => notice
                    .body
                    .push_str(&format!(" Taking the lock failed: {err}")),
            }
        }
        self.notifier.show(&notice).await?;
        Ok(Some(notice))
    }
}

/// Freedesktop desktop notifications (D-Bus `org.freedesktop.Notifications`) through notify-rust.
pub struct DesktopNotifier {
    actions: Option<mpsc::UnboundedSender<NoticeAction>>,
    supports_actions: OnceCell<bool>,
}

impl DesktopNotifier {
    /// A notifier; button presses are sent to `actions` when given.
    pub fn new(actions: Option<mpsc::UnboundedSender<NoticeAction>>) -> DesktopNotifier {
        DesktopNotifier {
            actions,
            supports_actions: OnceCell::new(),
        }
    }

    async fn supports_actions(&self) -> bool {
        *self
            .supports_actions
            .get_or_init(|| async {
                // notify-rust only offers a blocking capability query; it is asked once.
                tokio::task::spawn_blocking(notify_rust::get_capabilities)
                    .await
                    .ok()
                    .and_then(|caps| caps.ok())
                    .is_some_and(|caps| caps.iter().any(|c| c == "actions"))
            })
            .await
    }
}

impl Notifier for DesktopNotifier {
    fn show<'a>(&'a self, notice: &'a Notice) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let with_actions = self.actions.is_some() && self.supports_actions().await;
            let mut n = notify_rust::Notification::new();
            n.appname("Lockwatch")
                .summary(&notice.summary)
                .body(&notice.body);
            if with_actions {
                for (key, label) in &notice.actions {
                    n.action(key, label);
                }
            }
            let handle = n.show_async().await.map_err(|err| Error::Io {
                context: "showing a desktop notification".into(),
                detail: err.to_string(),
            })?;
            if with_actions && let Some(tx) = self.actions.clone() {
                let (server, path) = (notice.server.clone(), notice.path.clone());
                // Waiting for a button press must not hold up the next event.
                tokio::spawn(async move {
                    handle
                        .wait_for_action_async(|action| {
                            if let notify_rust::NotificationResponse::Action(key) = action {
                                let _ = tx.send(NoticeAction {
                                    server,
                                    path,
                                    action: key.clone(),
                                });
                            }
                        })
                        .await;
                });
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Expiry, LockKind, LockScope};
    use std::sync::Mutex;

    fn bob() -> Lock {
        Lock {
            owner: Some("Bob Builder".into()),
            owner_id: Some("bob".into()),
            editor: None,
            scope: LockScope::Exclusive,
            kind: LockKind::Webdav,
            token: Some("t".into()),
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

    fn unlocked(path: &str, wanted: bool) -> LockEvent {
        LockEvent::Unlocked {
            server: "team".into(),
            path: path.into(),
            at: DateTime::parse_from_rfc3339("2026-11-21T14:05:00Z")
                .unwrap()
                .with_timezone(&Utc),
            wanted,
            released: vec![bob()],
        }
    }

    fn locked(path: &str) -> LockEvent {
        LockEvent::Locked {
            server: "team".into(),
            path: path.into(),
            at: Utc::now(),
            wanted: true,
            locks: vec![bob()],
        }
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Notice>>);

    impl Notifier for Recorder {
        fn show<'a>(&'a self, notice: &'a Notice) -> BoxFuture<'a, Result<()>> {
            self.0.lock().unwrap().push(notice.clone());
            Box::pin(async { Ok(()) })
        }
    }

    struct Taker;

    impl LockTaker for Taker {
        fn take<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<()>> {
            Box::pin(async { Ok(()) })
        }
    }

    #[test]
    fn a_wanted_release_reads_well() {
        let notice = notice_for(&unlocked("Reports/Budget.xlsx", true), &Utc, false).unwrap();
        assert_eq!(notice.summary, "Budget.xlsx is free");
        assert_eq!(notice.body, "Bob Builder released it at 14:05 (team).");
        assert_eq!(notice.actions, vec![("open".to_owned(), "Open".to_owned())]);
        let offset = chrono::FixedOffset::east_opt(3600).unwrap();
        assert!(
            notice_for(&unlocked("a", true), &offset, true)
                .unwrap()
                .body
                .contains("15:05")
        );
        assert_eq!(
            notice_for(&unlocked("a", true), &Utc, true)
                .unwrap()
                .actions[0]
                .1,
            "Lock it now"
        );
        assert_eq!(notice_for(&unlocked("a", false), &Utc, false), None);
        assert_eq!(notice_for(&locked("a"), &Utc, false), None);
    }

    #[test]
    fn hostile_names_are_inert_and_several_holders_are_listed() {
        let mut evil = bob();
        evil.owner = Some("Mallory\u{202e}gpj.exe\n".into());
        let mut carol = bob();
        carol.owner = Some("carol".into());
        carol.token = Some("t2".into());
        let event = LockEvent::Unlocked {
            server: "team".into(),
            path: "a".into(),
            at: Utc::now(),
            wanted: true,
            released: vec![evil, carol, bob()],
        };
        let body = notice_for(&event, &Utc, false).unwrap().body;
        assert!(
            !body.contains('\u{202e}') && !body.contains('\n'),
            "{body:?}"
        );
        assert!(body.contains(", carol and Bob Builder released"), "{body}");
    }

    #[tokio::test]
    async fn each_release_is_announced_once() {
        let recorder = Arc::new(Recorder::default());
        let mut announcer = Announcer::new(recorder.clone(), Utc);
        assert!(
            announcer
                .handle(&unlocked("a", true))
                .await
                .unwrap()
                .is_some()
        );
        // The same release again (no lock in between): silent.
        assert!(
            announcer
                .handle(&unlocked("a", true))
                .await
                .unwrap()
                .is_none()
        );
        // Locked again, then released: a new release.
        announcer.handle(&locked("a")).await.unwrap();
        assert!(
            announcer
                .handle(&unlocked("a", true))
                .await
                .unwrap()
                .is_some()
        );
        // Not wanted: never.
        assert!(
            announcer
                .handle(&unlocked("b", false))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(recorder.0.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn auto_lock_goes_through_the_taker() {
        let recorder = Arc::new(Recorder::default());
        let mut announcer = Announcer::new(recorder.clone(), Utc)
            .with_taker(Arc::new(Taker), [("team".to_owned(), "a".to_owned())]);
        let notice = announcer
            .handle(&unlocked("a", true))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(notice.summary, "a is now locked for you");
        assert!(notice.actions.iter().all(|(k, _)| k != ACTION_LOCK));
        let other = announcer
            .handle(&unlocked("b", true))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(other.summary, "b is free");
    }
}
