//! Lockwatch's desktop app: a thin Tauri 2 shell over the `lockwatch` engine.
//!
//! The shell owns windows, the tray and IPC, and nothing else: what is watched and how it is read lives in
//! the engine, and every command in [`commands`] is a few lines adapting one engine call. The pieces:
//! [`session`] (config file or built-in demo, paused or not, the latest snapshot, the actions),
//! [`commands`] (IPC), [`tray`] (icon, tooltip, menu), [`settings`] (start at login), [`watching`] (the
//! engine's monitor in the background: notifications, history, auto-lock) and [`dto`] (the shell's IPC
//! types, generated into the UI with ts-rs).
//!
//! Every change of state goes through [`publish`], the one place that tells the window (the `snapshot`
//! event) and the tray. [`run_app`] builds the app on any [`Runtime`] so tests use Tauri's mock runtime;
//! [`run`] adds what needs a real desktop (tray, single instance, window state, background watching).

pub mod commands;
pub mod dto;
pub mod session;
pub mod settings;
pub mod tray;
pub mod watching;

use std::path::PathBuf;
use std::sync::Arc;

use tauri::{Emitter, Manager, Runtime, WindowEvent};

use crate::dto::Snapshot;
use crate::session::{Environment, Session};

/// The names of the registered commands, as `build.rs` declares them (for tests).
pub const COMMANDS: &str = env!("LOCKWATCH_COMMANDS");

/// Registers the session and the commands, and keeps the app in the tray when the window is closed.
pub fn run_app<R: Runtime>(builder: tauri::Builder<R>, session: Arc<Session>) -> tauri::Builder<R> {
    builder
        .manage(session)
        .invoke_handler(tauri::generate_handler![
            commands::snapshot,
            commands::refresh_now,
            commands::set_paused,
            commands::list_servers,
            commands::exit_demo,
            commands::enter_demo,
            commands::set_wanted,
            commands::capabilities,
            commands::lock_file,
            commands::unlock_file,
            commands::force_unlock_warning,
            commands::force_unlock,
            commands::ask_channels,
            commands::ask_to_release,
            commands::history,
            commands::save_server,
            commands::remove_server,
            commands::test_connection,
            commands::app_settings,
            commands::set_autostart,
        ])
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                // Closing the window is "out of sight", not "stop watching": Quit is in the tray menu.
                api.prevent_close();
                let _ = window.hide();
            }
        })
}

/// Tells the window and the tray about a new snapshot.
pub fn publish<R: Runtime>(app: &tauri::AppHandle<R>, snapshot: &Snapshot) {
    if let Err(err) = app.emit("snapshot", snapshot) {
        tracing::warn!(%err, "cannot send the snapshot to the window");
    }
    if let Err(err) = tray::update(app, snapshot) {
        tracing::warn!(%err, "cannot update the tray");
    }
}

/// Brings the main window to the front.
pub fn show_window<R: Runtime>(app: &tauri::AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// The config file: `LOCKWATCH_CONFIG`, else the engine's default path.
fn config_path() -> PathBuf {
    std::env::var_os("LOCKWATCH_CONFIG")
        .map(PathBuf::from)
        .or_else(lockwatch::config::default_path)
        .unwrap_or_else(|| PathBuf::from("lockwatch.toml"))
}

/// Runs the desktop app until the user quits.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOCKWATCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    // The one place the app's stores are chosen: the keyring and the command line's data files.
    let env = match Environment::for_user() {
        Ok(env) => env,
        Err(err) => {
            eprintln!("lockwatch-app: cannot start: {}", err.message);
            std::process::exit(1);
        }
    };
    let session = Arc::new(tauri::async_runtime::block_on(Session::open(
        config_path(),
        env,
    )));
    let at_login = std::env::args().any(|arg| arg == settings::AUTOSTART_ARG);
    let builder = tauri::Builder::default()
        // First, so a second launch exits before starting anything else.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            show_window(app)
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![settings::AUTOSTART_ARG]),
        ));
    let app = run_app(builder, session.clone())
        .setup(move |app| {
            tray::create(app.handle())?;
            if at_login && let Some(window) = app.get_webview_window("main") {
                // Started at login: the tray is enough until the user opens the window.
                let _ = window.hide();
            }
            app.manage(watching::spawn(app.handle().clone(), session));
            Ok(())
        })
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(err) => {
            eprintln!("lockwatch-app: cannot start: {err}");
            std::process::exit(1);
        }
    }
}
