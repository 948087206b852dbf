//! A stand-in poll loop: reads every server each `poll_interval` and publishes the snapshot.
//!
//! Deliberately tiny: the engine's watch engine (change detection, back-off, notifications) replaces it;
//! then this module goes and the shell forwards that engine's events instead. The loop stops when its
//! [`Poller`] is dropped.

use std::sync::Arc;

use chrono::Utc;
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Runtime};

use crate::publish;
use crate::session::Session;

/// The running loop; dropping it stops the loop.
pub struct Poller(JoinHandle<()>);

impl Drop for Poller {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts polling: once at once, then every interval while not paused.
pub fn spawn<R: Runtime>(app: AppHandle<R>, session: Arc<Session>) -> Poller {
    Poller(tauri::async_runtime::spawn(async move {
        loop {
            if !session.is_paused() {
                match session.refresh(Utc::now()).await {
                    Ok(snapshot) => publish(&app, &snapshot),
                    Err(error) => tracing::warn!(%error, "cannot read the servers"),
                }
            }
            tokio::time::sleep(session.poll_interval()).await;
        }
    }))
}
