//! The IPC commands: each one adapts one [`Session`] call, publishes what changed, and lets errors cross
//! as the engine's `{kind, message}` ([`ErrorInfo`]).
//!
//! Every command here is listed in `build.rs` and granted in `capabilities/main.json`. Commands the UI
//! knows but the engine cannot serve yet (lock actions, ask-to-release, history, editing servers and
//! wanted files) are deliberately absent: the snapshot's `features` tells the UI what exists.

use std::sync::Arc;

use chrono::Utc;
use lockwatch::ErrorInfo;
use tauri::{AppHandle, Runtime, State};

use crate::dto::{ServerSettings, Snapshot};
use crate::publish;
use crate::session::Session;

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
