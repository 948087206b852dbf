//! The IPC commands: each one adapts one [`Session`] call, publishes what changed, and lets errors cross
//! as the engine's `{kind, message}` ([`ErrorInfo`]).
//!
//! Every command here is listed in `build.rs` and granted in `capabilities/main.json`. Actions that change a
//! file or the config publish the changed snapshot at once, so the table and the tray do not wait for the
//! next poll.

use std::sync::Arc;

use chrono::Utc;
use lockwatch::ErrorInfo;
use lockwatch::actions::{Action, ActionReport};
use lockwatch::config_file::ServerEdit;
use lockwatch::history::Hold;
use lockwatch::model::{AskChannel, Capabilities};
use lockwatch::protocol::DEFAULT_LOCK_TIMEOUT;
use tauri::{AppHandle, Runtime, State};

use crate::dto::{AppSettings, AskSent, FocusFile, ServerSettings, Snapshot};
use crate::session::Session;
use crate::settings;
use crate::{PendingFocus, publish};

/// The latest snapshot (read now when there is none yet).
#[tauri::command]
pub async fn snapshot(session: State<'_, Arc<Session>>) -> Result<Snapshot, ErrorInfo> {
    session.snapshot(Utc::now()).await
}

/// Reads every server now and pushes the result to every listener.
#[tauri::command]
pub async fn refresh_now<R: Runtime>(
    app: AppHandle<R>,
    session: State<'_, Arc<Session>>,
) -> Result<Snapshot, ErrorInfo> {
    let snapshot = session.refresh(Utc::now()).await?;
    publish(&app, &snapshot);
    Ok(snapshot)
}

/// Pauses or resumes watching.
#[tauri::command]
pub fn set_paused<R: Runtime>(app: AppHandle<R>, session: State<'_, Arc<Session>>, paused: bool) {
    if let Some(snapshot) = session.set_paused(paused) {
        publish(&app, &snapshot);
    }
}

/// The configured servers, without passwords.
#[tauri::command]
pub async fn list_servers(
    session: State<'_, Arc<Session>>,
) -> Result<Vec<ServerSettings>, ErrorInfo> {
    session.servers().await
}

/// Leaves the demo (for the config file's servers, or for none).
#[tauri::command]
pub async fn exit_demo<R: Runtime>(
    app: AppHandle<R>,
    session: State<'_, Arc<Session>>,
) -> Result<(), ErrorInfo> {
    session.exit_demo().await;
    publish(&app, &session.refresh(Utc::now()).await?);
    Ok(())
}

/// Shows the built-in demo server.
#[tauri::command]
pub async fn enter_demo<R: Runtime>(
    app: AppHandle<R>,
    session: State<'_, Arc<Session>>,
) -> Result<(), ErrorInfo> {
    session.enter_demo().await?;
    publish(&app, &session.refresh(Utc::now()).await?);
    Ok(())
}

/// Marks a file as wanted (tell me when it is free) or not, in the config file.
#[tauri::command]
pub async fn set_wanted<R: Runtime>(
    app: AppHandle<R>,
    session: State<'_, Arc<Session>>,
    server: String,
    path: String,
    wanted: bool,
) -> Result<(), ErrorInfo> {
    if let Some(snapshot) = session.set_wanted(&server, &path, wanted).await? {
        publish(&app, &snapshot);
    }
    Ok(())
}

/// What a server supports.
#[tauri::command]
pub async fn capabilities(
    session: State<'_, Arc<Session>>,
    server: String,
) -> Result<Capabilities, ErrorInfo> {
    session.capabilities(&server).await
}

async fn act<R: Runtime>(
    app: &AppHandle<R>,
    session: &Session,
    server: &str,
    path: &str,
    action: Action,
) -> Result<ActionReport, ErrorInfo> {
    let (report, snapshot) = session.act(server, path, action).await?;
    if let Some(snapshot) = snapshot {
        publish(app, &snapshot);
    }
    Ok(report)
}

/// Takes a lock (exclusive unless `shared`) for the default timeout.
#[tauri::command]
pub async fn lock_file<R: Runtime>(
    app: AppHandle<R>,
    session: State<'_, Arc<Session>>,
    server: String,
    path: String,
    shared: bool,
) -> Result<ActionReport, ErrorInfo> {
    let action = Action::Lock {
        shared,
        timeout: DEFAULT_LOCK_TIMEOUT,
    };
    act(&app, &session, &server, &path, action).await
}

/// Releases a lock taken through Lockwatch.
#[tauri::command]
pub async fn unlock_file<R: Runtime>(
    app: AppHandle<R>,
    session: State<'_, Arc<Session>>,
    server: String,
    path: String,
) -> Result<ActionReport, ErrorInfo> {
    act(&app, &session, &server, &path, Action::Unlock).await
}

/// The warning to confirm before breaking other users' locks on the file.
#[tauri::command]
pub async fn force_unlock_warning(
    session: State<'_, Arc<Session>>,
    server: String,
    path: String,
) -> Result<String, ErrorInfo> {
    session
        .force_unlock_warning(&server, &path, Utc::now())
        .await
}

/// Releases other users' locks on the file (after the UI's confirmation).
#[tauri::command]
pub async fn force_unlock<R: Runtime>(
    app: AppHandle<R>,
    session: State<'_, Arc<Session>>,
    server: String,
    path: String,
) -> Result<ActionReport, ErrorInfo> {
    act(&app, &session, &server, &path, Action::ForceUnlock).await
}

/// The ways to reach the file's current holder.
#[tauri::command]
pub async fn ask_channels(
    session: State<'_, Arc<Session>>,
    server: String,
    path: String,
) -> Result<Vec<AskChannel>, ErrorInfo> {
    session.ask_channels(&server, &path, Utc::now()).await
}

/// Asks the file's holder to release it.
#[tauri::command]
pub async fn ask_to_release(
    session: State<'_, Arc<Session>>,
    server: String,
    path: String,
    via: Option<AskChannel>,
    message: Option<String>,
) -> Result<AskSent, ErrorInfo> {
    session
        .ask(&server, &path, via, message.as_deref(), Utc::now())
        .await
}

/// Who held the file when.
#[tauri::command]
pub async fn history(
    session: State<'_, Arc<Session>>,
    server: String,
    path: String,
) -> Result<Vec<Hold>, ErrorInfo> {
    session.history(&server, &path, Utc::now()).await
}

/// Adds (`create`) or changes a server; `password` goes to the keyring.
#[tauri::command]
pub async fn save_server<R: Runtime>(
    app: AppHandle<R>,
    session: State<'_, Arc<Session>>,
    settings: ServerSettings,
    create: bool,
    password: Option<String>,
) -> Result<(), ErrorInfo> {
    let edit = if create {
        ServerEdit::Add
    } else {
        ServerEdit::Change
    };
    session.save_server(settings, edit, password).await?;
    publish(&app, &session.refresh(Utc::now()).await?);
    Ok(())
}

/// Removes a server and its stored password.
#[tauri::command]
pub async fn remove_server<R: Runtime>(
    app: AppHandle<R>,
    session: State<'_, Arc<Session>>,
    name: String,
) -> Result<(), ErrorInfo> {
    let removed = session.remove_server(&name).await;
    publish(&app, &session.refresh(Utc::now()).await?);
    removed
}

/// Connects with unsaved settings and reports the detected kind and capabilities.
#[tauri::command]
pub async fn test_connection(
    session: State<'_, Arc<Session>>,
    settings: ServerSettings,
    password: Option<String>,
) -> Result<Capabilities, ErrorInfo> {
    session.test_connection(settings, password).await
}

/// The app's own settings.
#[tauri::command]
pub fn app_settings<R: Runtime>(app: AppHandle<R>) -> AppSettings {
    settings::read(&app)
}

/// Starts Lockwatch at login, or stops doing so.
#[tauri::command]
pub fn set_autostart<R: Runtime>(
    app: AppHandle<R>,
    enabled: bool,
) -> Result<AppSettings, ErrorInfo> {
    settings::set_autostart(&app, enabled)
}

/// The file whose row the window should reveal, once (asked when the window starts and after each
/// `focus-file` event).
#[tauri::command]
pub fn take_focus(pending: State<'_, PendingFocus>) -> Option<FocusFile> {
    pending.take()
}
