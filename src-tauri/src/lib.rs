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
//!
//! The window exists only while it is open. Closing it destroys it with its webview, and WebKit ends the
//! web process that rendered it; a few seconds later [`rest`] ends WebKit's network process and gives
//! back the pages that drew the window, so the app spends the day in the tray at the cost of its own
//! process and what the tray and the engine use. [`show_window`] creates it again from the config's
//! window entry; [`reveal`] keeps the file to show until the window's UI takes it
//! ([`commands::take_focus`]), because a window that is just being created does not listen to events
//! yet. Without a window nothing is sent to it: the UI reads the latest snapshot when it starts.

pub mod commands;
pub mod dto;
pub mod rest;
pub mod session;
pub mod settings;
pub mod tray;
pub mod watching;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tauri::{Emitter, Manager, RunEvent, Runtime, WebviewWindowBuilder, WindowEvent};

use crate::dto::{FocusFile, Snapshot};
use crate::session::{Environment, Session};

/// The label of the app's one window (`tauri.conf.json`'s window entry).
pub const MAIN_WINDOW: &str = "main";

/// The file the window should reveal, kept until its UI takes it.
#[derive(Default)]
pub struct PendingFocus(Mutex<Option<FocusFile>>);

impl PendingFocus {
    /// The file to reveal, once: the next call answers `None` until another file is asked for.
    pub fn take(&self) -> Option<FocusFile> {
        lockwatch::sync::guard(&self.0).take()
    }
}

/// The names of the registered commands, as `build.rs` declares them (for tests).
pub const COMMANDS: &str = env!("LOCKWATCH_COMMANDS");

/// Registers the session, the file waiting to be revealed, and the commands.
pub fn run_app<R: Runtime>(builder: tauri::Builder<R>, session: Arc<Session>) -> tauri::Builder<R> {
    builder
        .manage(session)
        .manage(PendingFocus::default())
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
            commands::take_focus,
        ])
}

/// Tells the window (when it is open) and the tray about a new snapshot. With the window closed the
/// snapshot is not serialised at all: the tray reads it as it is, and a window opened later asks for the
/// latest one.
pub fn publish<R: Runtime>(app: &tauri::AppHandle<R>, snapshot: &Snapshot) {
    if app.get_webview_window(MAIN_WINDOW).is_some()
        && let Err(err) = app.emit_to(MAIN_WINDOW, "snapshot", snapshot)
    {
        tracing::warn!(%err, "cannot send the snapshot to the window");
    }
    if let Err(err) = tray::update(app, snapshot) {
        tracing::warn!(%err, "cannot update the tray");
    }
}

/// Brings the main window to the front, creating it when it is closed (from the config's window entry;
/// the window-state plugin then restores its size and position).
pub fn show_window<R: Runtime>(app: &tauri::AppHandle<R>) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
        return;
    }
    let Some(config) = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == MAIN_WINDOW)
    else {
        tracing::warn!("the app's config has no main window");
        return;
    };
    match WebviewWindowBuilder::from_config(app, config).and_then(|builder| builder.build()) {
        Ok(window) => {
            let _ = window.set_focus();
        }
        Err(err) => tracing::warn!(%err, "cannot open the window"),
    }
}

/// Shows the window at `file`'s row: the file waits in [`PendingFocus`] until the window's UI takes it,
/// and the `focus-file` event tells a window that is already listening to take it now.
pub fn reveal<R: Runtime>(app: &tauri::AppHandle<R>, file: FocusFile) {
    *lockwatch::sync::guard(&app.state::<PendingFocus>().0) = Some(file);
    show_window(app);
    if let Err(err) = app.emit_to(MAIN_WINDOW, "focus-file", ()) {
        tracing::warn!(%err, "cannot reveal the file");
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
    lockwatch::memory::release_freed_memory_promptly();
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
            // Started at login, the tray is enough until the user opens the window.
            if at_login {
                rest::soon(app.handle());
            } else {
                show_window(app.handle());
            }
            app.manage(watching::spawn(app.handle().clone(), session));
            Ok(())
        })
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|app, event| match event {
            // Closing the window is "out of sight", not "stop watching": the app stays in the tray.
            // Quit in the tray menu exits with a code, which is let through.
            RunEvent::ExitRequested {
                code: None, api, ..
            } => api.prevent_exit(),
            RunEvent::WindowEvent {
                label,
                event: WindowEvent::Destroyed,
                ..
            } if label == MAIN_WINDOW => rest::soon(app),
            _ => {}
        }),
        Err(err) => {
            eprintln!("lockwatch-app: cannot start: {err}");
            std::process::exit(1);
        }
    }
}
