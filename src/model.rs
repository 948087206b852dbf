//! The lock model every protocol maps into and every front end reads.
//!
//! These types are the stable contract of `lockwatch status --json` (and of the desktop app's IPC): field
//! names and enum spellings here are what scripts parse, so they change only deliberately. The model records
//! what a server *said* as faithfully as it can (raw timeout, raw owner id) next to the best human-readable
//! reading of it (display name, computed expiry). It deliberately carries no behaviour beyond small
//! derivations; fetching and diffing live elsewhere.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ErrorInfo;

/// The protocol a server speaks, as configured or as detected.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerKind {
    /// Plain RFC 4918 WebDAV (Apache mod_dav, IIS, SharePoint, sabre/dav, ...).
    Webdav,
    /// Nextcloud with the files_lock ("Temporary files lock") app.
    Nextcloud,
    /// A WOPI host (the protocol behind online office editors).
    Wopi,
}

impl ServerKind {
    /// The spelling used in the config file and in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerKind::Webdav => "webdav",
            ServerKind::Nextcloud => "nextcloud",
            ServerKind::Wopi => "wopi",
        }
    }
}

impl std::fmt::Display for ServerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is known about one watched file.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileState {
    /// At least one lock applies to the file (its own or a folder's depth-infinity lock).
    Locked,
    /// The server reports lock discovery and lists no lock.
    Unlocked,
    /// The server answered but cannot report locks on this file; "unlocked" would be a guess.
    Unsupported,
    /// The file's state could not be read; see the entry's `error`.
    Error,
}

impl FileState {
    /// The spelling used in JSON and in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Locked => "locked",
            FileState::Unlocked => "unlocked",
            FileState::Unsupported => "unsupported",
            FileState::Error => "error",
        }
    }
}

/// RFC 4918 lock scope.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockScope {
    /// Only the holder may write.
    Exclusive,
    /// Several holders may coexist.
    Shared,
}

/// Where a lock comes from, which decides who can see and release it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockKind {
    /// A plain WebDAV lock with a token.
    Webdav,
    /// A Nextcloud user lock, taken by a person (manual lock).
    User,
    /// A Nextcloud app lock, held by an online editor session.
    App,
    /// A Nextcloud token lock (a WebDAV LOCK, e.g. the desktop client's automatic lock).
    Token,
    /// A WOPI lock held by an online editor.
    Wopi,
}

/// How much is known about when a lock ends.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expiry {
    /// `expires_at` holds the server-reported (or computed) end.
    At,
    /// The server says the lock does not time out.
    Never,
    /// The server gave no usable timeout.
    Unknown,
    /// The lock ends no later than `expires_at` (WOPI: 30 minutes after the editor's last refresh, which
    /// a watcher cannot see), and may be refreshed before then.
    #[serde(rename = "at_most")]
    AtMost,
}

/// One lock that applies to a file.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// Best human-readable holder (display name, e-mail address, owner text), or null.
    pub owner: Option<String>,
    /// The holder's user id, or the raw owner (href or text) as the server sent it.
    pub owner_id: Option<String>,
    /// The editor application holding the lock (Nextcloud app locks, WOPI guesses).
    pub editor: Option<String>,
    /// Exclusive or shared.
    pub scope: LockScope,
    /// Where the lock comes from.
    pub kind: LockKind,
    /// The lock token, or null when the server hides it.
    pub token: Option<String>,
    /// `0` or `infinity`, as the server reported it.
    pub depth: String,
    /// The locked resource (may be an ancestor folder), or null when not reported.
    pub root: Option<String>,
    /// When the lock was taken, when the server says.
    pub acquired_at: Option<DateTime<Utc>>,
    /// When the lock ends; null for never or unknown (see `expiry`).
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether `expires_at` is a time, "never", or unknown.
    pub expiry: Expiry,
    /// The raw timeout the server sent (`Second-1800`, `Infinite`, Nextcloud seconds), or null.
    pub timeout: Option<String>,
    /// True when the lock sits on an ancestor folder (depth infinity) rather than the file itself.
    pub inherited: bool,
    /// True when the lock is this user's: taken through Lockwatch (its token is in the held-lock store),
    /// or a Nextcloud lock owned by the configured user.
    #[serde(default)]
    pub mine: bool,
}

/// The lock state of one watched file.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Name of the server in the config.
    pub server: String,
    /// Path relative to the server URL, decoded (folders end with `/`); for WOPI, the file id.
    pub path: String,
    /// The file's name where the path does not show it (WOPI's `BaseFileName`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    /// Full URL of the file (without credentials or tokens).
    pub url: String,
    /// Summary state.
    pub state: FileState,
    /// Every lock that applies, own and inherited.
    pub locks: Vec<Lock>,
    /// Why the state could not be read, when `state` is `error`.
    pub error: Option<ErrorInfo>,
    /// Whether the user waits for this file (from the config's `wanted`).
    pub wanted: bool,
    /// The server's stable id of the file where it has one (Nextcloud's `oc:fileid`), which is how push
    /// announcements name files (internal, not part of the JSON).
    #[serde(skip)]
    pub file_id: Option<String>,
}

impl FileEntry {
    /// An entry in error: the state could not be read.
    pub fn failed(server: &str, path: &str, url: &str, error: ErrorInfo) -> FileEntry {
        FileEntry {
            server: server.to_owned(),
            path: path.to_owned(),
            name: None,
            url: url.to_owned(),
            state: FileState::Error,
            locks: Vec::new(),
            error: Some(error),
            wanted: false,
            file_id: None,
        }
    }

    /// The file's display name: the server-given name, else the last path segment.
    pub fn name(&self) -> &str {
        if let Some(name) = &self.name {
            return name;
        }
        let trimmed = self.path.trim_end_matches('/');
        trimmed.rsplit('/').next().unwrap_or(trimmed)
    }
}

/// A way to ask a lock's holder to release it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AskChannel {
    /// A Nextcloud Talk one-to-one message (private).
    Talk,
    /// A Nextcloud file comment mentioning the holder (visible to everyone who sees the file).
    Comment,
    /// An e-mail, written in the user's own mail client.
    Mail,
    /// A message posted to a configured webhook (Slack, Mattermost, Rocket.Chat, or generic JSON).
    Webhook,
}

impl AskChannel {
    /// The spelling used in the config, the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AskChannel::Talk => "talk",
            AskChannel::Comment => "comment",
            AskChannel::Mail => "mail",
            AskChannel::Webhook => "webhook",
        }
    }

    /// All channels, in the default order of preference.
    pub const ALL: [AskChannel; 4] = [
        AskChannel::Talk,
        AskChannel::Comment,
        AskChannel::Mail,
        AskChannel::Webhook,
    ];
}

/// A yes / no answer that may not be known yet.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ability {
    /// Known to be possible.
    Yes,
    /// Known to be impossible.
    No,
    /// Not known (varies by server and cannot be probed without side effects).
    Unknown,
}

/// What a server supports, as probed with read-only requests: front ends show or hide actions from
/// this, not from guesses.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The server's name in the config.
    pub server: String,
    /// The protocol in use.
    pub kind: ServerKind,
    /// `OPTIONS` advertises DAV class 2 (locking).
    pub dav_class2: bool,
    /// Lock scopes the server offers (`supportedlock`).
    pub scopes: Vec<LockScope>,
    /// The server reports `lockdiscovery` (or Nextcloud's lock properties).
    pub reports_locks: bool,
    /// Lock tokens of other users' locks are visible (needed to force-unlock WebDAV locks).
    pub exposes_tokens: Ability,
    /// Whether breaking another user's lock can work here.
    pub can_force_unlock: Ability,
    /// Nextcloud: the files_lock version from `files.locking`.
    pub nextcloud_locking: Option<String>,
    /// Nextcloud: `files.api-feature-lock-type` is present.
    pub lock_type_feature: bool,
}

/// The health of one configured server in a report.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerStatus {
    /// Name from the config.
    pub name: String,
    /// The protocol in use (configured or detected), null when detection failed.
    pub kind: Option<ServerKind>,
    /// True when the server answered and its lock state could be read.
    pub ok: bool,
    /// What went wrong for the server as a whole.
    pub error: Option<ErrorInfo>,
}

/// Everything `lockwatch status` knows at one moment.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// One entry per selected server, in config order.
    pub servers: Vec<ServerStatus>,
    /// Watched files, grouped by server in config order, then in watch order.
    pub files: Vec<FileEntry>,
}

impl StatusReport {
    /// True when any server or file is in error (the CLI's exit code 1).
    pub fn has_errors(&self) -> bool {
        self.servers.iter().any(|s| !s.ok) || self.files.iter().any(|f| f.state == FileState::Error)
    }
}
