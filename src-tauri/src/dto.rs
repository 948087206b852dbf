//! The shell's IPC types: what crosses to the UI besides the engine's own model.
//!
//! The engine's types (`FileEntry`, `Lock`, `ServerStatus`, `ErrorInfo`, ...) cross unchanged; these add what
//! only the shell knows — whether the demo is showing, whether watching is paused — a config view without
//! secrets, and what an ask-to-release request achieved as the window shows it. Every type here derives
//! ts-rs's `TS`, so `ui/src/bindings/` is generated from this file and the engine's types (see
//! `scripts/check-bindings`).

use chrono::{DateTime, Utc};
use lockwatch::config::{KindSetting, PasswordSource, ServerConfig};
use lockwatch::config_file::ServerEntry;
use lockwatch::model::{AskChannel, FileEntry, ServerStatus};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Everything the window shows at one moment; pushed as the `snapshot` event after every poll.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Snapshot {
    /// One entry per configured server, in config order.
    pub servers: Vec<ServerHealth>,
    /// Watched files, grouped by server in config order.
    pub files: Vec<FileEntry>,
    /// True while the built-in demo server is showing.
    pub demo: bool,
    /// True while watching is paused: nothing is polled and the table may be out of date.
    pub paused: bool,
    /// When the servers were read.
    pub generated_at: DateTime<Utc>,
    /// The config file the app reads (or would read, when it does not exist yet).
    pub config_path: String,
}

/// A server's health as the window shows it: the engine's status plus when it was read and when it is
/// read next.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ServerHealth {
    /// The engine's status of the server.
    #[serde(flatten)]
    pub status: ServerStatus,
    /// For a server in error: seconds (from `generated_at`) until it is read again; null otherwise.
    pub retry_in_secs: Option<u32>,
    /// When the server was last read.
    pub checked_at: Option<DateTime<Utc>>,
}

/// How a server's protocol is chosen (the config's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum ServerKindSetting {
    /// Detect once per server.
    Auto,
    /// Plain WebDAV.
    Webdav,
    /// Nextcloud with files_lock.
    Nextcloud,
    /// A WOPI host.
    Wopi,
}

impl From<KindSetting> for ServerKindSetting {
    fn from(kind: KindSetting) -> Self {
        match kind {
            KindSetting::Auto => ServerKindSetting::Auto,
            KindSetting::Webdav => ServerKindSetting::Webdav,
            KindSetting::Nextcloud => ServerKindSetting::Nextcloud,
            KindSetting::Wopi => ServerKindSetting::Wopi,
        }
    }
}

/// One configured server as the servers view shows it. Never carries a password: only whether one is
/// available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ServerSettings {
    /// Unique name.
    pub name: String,
    /// Configured protocol or auto-detection.
    pub kind: ServerKindSetting,
    /// Base URL of the WebDAV folder.
    pub url: String,
    /// User name, or null for anonymous access.
    pub username: Option<String>,
    /// The environment variable the password comes from, when the config names one.
    pub password_env: Option<String>,
    /// Whether a password is available (from the variable or the OS keyring).
    pub has_password: bool,
    /// Watched paths.
    pub watch: Vec<String>,
    /// Files the user waits for.
    pub wanted: Vec<String>,
}

impl From<ServerKindSetting> for KindSetting {
    fn from(kind: ServerKindSetting) -> Self {
        match kind {
            ServerKindSetting::Auto => KindSetting::Auto,
            ServerKindSetting::Webdav => KindSetting::Webdav,
            ServerKindSetting::Nextcloud => KindSetting::Nextcloud,
            ServerKindSetting::Wopi => KindSetting::Wopi,
        }
    }
}

impl ServerSettings {
    /// The config file entry these settings describe (blank optional fields count as absent).
    pub fn entry(&self) -> ServerEntry {
        let optional = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        ServerEntry {
            name: self.name.trim().to_owned(),
            kind: self.kind.into(),
            url: self.url.trim().to_owned(),
            username: optional(&self.username),
            password_env: optional(&self.password_env),
            watch: self.watch.clone(),
            wanted: self.wanted.clone(),
        }
    }

    /// The settings of `config`; `in_keyring` says whether the keyring holds its password.
    pub fn new(config: &ServerConfig, in_keyring: bool) -> ServerSettings {
        let (password_env, has_password) = match &config.password {
            PasswordSource::Anonymous => (None, false),
            PasswordSource::Env { var, .. } => (Some(var.clone()), true),
            PasswordSource::Keyring => (None, in_keyring),
        };
        ServerSettings {
            name: config.name.clone(),
            kind: config.kind.into(),
            url: config.url.to_string(),
            username: config.username.clone(),
            password_env,
            has_password,
            watch: config.watch.clone(),
            wanted: config.wanted.clone(),
        }
    }
}

/// A file whose row the window should reveal (a wanted file chosen in the tray, a notification's "Open"):
/// what `take_focus` answers after the `focus-file` event, or when the window starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct FocusFile {
    /// Server name.
    pub server: String,
    /// Path relative to the server URL.
    pub path: String,
    /// Why the row is revealed, when an action taken outside the window failed (a notification's "Lock it
    /// now"): the window shows it next to the row, as it shows a failure of the row's own buttons.
    #[serde(default)]
    pub problem: Option<lockwatch::ErrorInfo>,
}

/// A request to release a file went out (`ask_to_release`); failures cross as `{kind, message}` instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct AskSent {
    /// How it went out.
    pub channel: Option<AskChannel>,
    /// Who was asked.
    pub holder: Option<String>,
    /// What happened, in one sentence ("Sent Bob a Talk message about Budget.xlsx.").
    pub message: String,
}

/// The app's own settings (not the watch config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct AppSettings {
    /// Lockwatch starts when the user logs in.
    pub autostart: bool,
    /// Whether this system offers starting at login at all.
    pub autostart_available: bool,
}
