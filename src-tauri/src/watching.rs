//! The app's background watching: the engine's monitor, started through the [`Session`], and what its
//! updates mean for the window, the tray and the desktop.
//!
//! The monitor records the history, shows desktop notifications (notify-rust) when a wanted file frees up,
//! takes `auto_lock` files, and marks the user's own locks. Edits of the config file made outside the app
//! are picked up within a few seconds. This loop publishes the table when something
//! changed (and every few seconds, for health and countdowns, but only when the snapshot differs), and
//! handles the notification buttons: "Open" brings the window to the file's row, "Lock it now" locks it.
//! The loop stops when its [`Watch`] is dropped.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lockwatch::actions::Action;
use lockwatch::monitor::Update;
use lockwatch::watch::notice::{ACTION_LOCK, ACTION_OPEN, DesktopNotifier, NoticeAction};
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Runtime};
use tokio::sync::mpsc;

use crate::dto::FocusFile;
use crate::session::Session;
use crate::{publish, reveal};

/// How often the table is checked for changes that come without an event (a server's first reading,
/// retry countdowns).
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// The running loop; dropping it stops watching.
pub struct Watch(JoinHandle<()>);

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts watching in the background.
pub fn spawn<R: Runtime>(app: AppHandle<R>, session: Arc<Session>) -> Watch {
    Watch(tauri::async_runtime::spawn(async move {
        let (buttons_tx, mut buttons) = mpsc::unbounded_channel::<NoticeAction>();
        let notifier = Arc::new(DesktopNotifier::new(Some(buttons_tx)));
        let mut updates = session.start_watching(notifier);
        let mut check = tokio::time::interval(CHECK_EVERY);
        loop {
            tokio::select! {
                update = updates.recv() => match update {
                    None => return,
                    Some(Update::Problem { message }) => tracing::warn!(%message, "watching"),
                    Some(Update::Notified(_)) => {}
                    Some(Update::Event(_) | Update::Reconfigured) => publish_if_changed(&app, &session),
                },
                Some(button) = buttons.recv() => pressed(&app, &session, button).await,
                _ = check.tick() => {
                    // An edit from outside (`lockwatch want`) reaches the monitor as a reload.
                    session.follow_config_file();
                    publish_if_changed(&app, &session);
                }
            }
        }
    }))
}

/// Publishes the monitor's snapshot when it differs from the latest one (apart from its time).
fn publish_if_changed<R: Runtime>(app: &AppHandle<R>, session: &Session) {
    if let Some(snapshot) = session.watched_change(Utc::now()) {
        publish(app, &snapshot);
    }
}

/// A notification button: "Open" shows the file's row, "Lock it now" takes the lock.
async fn pressed<R: Runtime>(app: &AppHandle<R>, session: &Session, button: NoticeAction) {
    let focus = FocusFile {
        server: button.server.clone(),
        path: button.path.clone(),
        problem: None,
    };
    match button.action.as_str() {
        ACTION_OPEN => reveal(app, focus),
        ACTION_LOCK => {
            let problem = match session
                .act(&button.server, &button.path, Action::LOCK_NOW)
                .await
            {
                Ok((report, snapshot)) => {
                    if let Some(snapshot) = snapshot {
                        publish(app, &snapshot);
                    }
                    report.outcome.problem()
                }
                Err(error) => Some(error),
            };
            // The notification is gone; the window says why the lock was not taken.
            if let Some(problem) = problem {
                tracing::warn!(message = %problem.message, "Lock it now");
                reveal(
                    app,
                    FocusFile {
                        problem: Some(problem),
                        ..focus
                    },
                );
            }
        }
        _ => {}
    }
}
