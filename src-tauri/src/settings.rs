//! The app's own settings: starting at login. (The window's size and position are kept by the
//! window-state plugin; what is watched lives in the config file.)
//!
//! Starting at login goes through Tauri's autostart plugin, which writes the platform's entry (on Linux an
//! XDG autostart `.desktop` file) and is the only record of the setting: there is no second copy to drift.
//! The entry starts the app with [`AUTOSTART_ARG`], which keeps the window closed: after login the app
//! belongs in the tray. Without the plugin (the mock runtime in tests) the setting reads as unavailable.

use lockwatch::{ErrorInfo, ErrorKind};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_autostart::AutoLaunchManager;

use crate::dto::AppSettings;

/// The argument the login entry starts the app with.
pub const AUTOSTART_ARG: &str = "--autostart";

/// The current settings.
pub fn read<R: Runtime>(app: &AppHandle<R>) -> AppSettings {
    match app.try_state::<AutoLaunchManager>() {
        Some(autostart) => AppSettings {
            autostart: autostart.is_enabled().unwrap_or(false),
            autostart_available: true,
        },
        None => AppSettings {
            autostart: false,
            autostart_available: false,
        },
    }
}

/// Turns starting at login on or off.
pub fn set_autostart<R: Runtime>(
    app: &AppHandle<R>,
    enabled: bool,
) -> Result<AppSettings, ErrorInfo> {
    let Some(autostart) = app.try_state::<AutoLaunchManager>() else {
        return Err(ErrorInfo {
            kind: ErrorKind::Unsupported,
            message: "Starting at login is not available on this system.".into(),
        });
    };
    let result = if enabled {
        autostart.enable()
    } else {
        autostart.disable()
    };
    result.map_err(|err| ErrorInfo {
        kind: ErrorKind::Internal,
        message: format!(
            "Lockwatch could not {} starting at login: {err}",
            if enabled { "turn on" } else { "turn off" }
        ),
    })?;
    Ok(read(app))
}
