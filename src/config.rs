//! The configuration file: a small, strict TOML contract.
//!
//! Strict because a lock monitor that silently ignores a misspelt `wanted` never tells its user the file is
//! free: unknown keys, duplicate server names, bad URLs and a missing password variable are errors that name
//! the file, line, column and key. Passwords are never part of the file: `password_env` names an environment
//! variable (read here, once) and everything else comes from the OS keyring at connection time.
//!
//! This module parses and validates; it does not write. Editing the file (`want` / `unwant`) belongs to
//! [`crate::config_file`], which preserves comments.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::model::{AskChannel, ServerKind};
use crate::secrets::Secret;

/// Default interval between two polls of a watched file.
pub const DEFAULT_POLL_INTERVAL_SECS: u64 = 30;
/// Default time limit for one HTTP request.
pub const DEFAULT_TIMEOUT_SECS: u64 = 20;
/// Default interval between two polls of a wanted file (faster than watched files: someone is waiting).
pub const DEFAULT_WANTED_INTERVAL_SECS: u64 = 5;
/// Default age after which a lock counts as stale in the history (a working day).
pub const DEFAULT_STALE_AFTER_SECS: u64 = 8 * 3600;
/// Default number of days the history keeps.
pub const DEFAULT_HISTORY_DAYS: u64 = 90;

/// A configuration problem, located in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// The config file's path, as given.
    pub file: String,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// 1-based column (in characters).
    pub column: Option<usize>,
    /// The offending key, e.g. `servers[1].url`.
    pub key: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigError {
    fn render(&self) -> String {
        let mut out = self.file.clone();
        if let Some(line) = self.line {
            out.push_str(&format!(":{line}"));
            if let Some(column) = self.column {
                out.push_str(&format!(":{column}"));
            }
        }
        out.push_str(": ");
        if let Some(key) = &self.key {
            out.push_str(&format!("{key}: "));
        }
        out.push_str(&self.message);
        out
    }
}

/// How a server's protocol is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KindSetting {
    /// Detect once per server: Nextcloud capabilities first, then WebDAV `OPTIONS`.
    Auto,
    /// Plain WebDAV.
    Webdav,
    /// Nextcloud with files_lock.
    Nextcloud,
    /// A WOPI host.
    Wopi,
}

impl KindSetting {
    /// The fixed kind, or `None` for auto-detection.
    pub fn fixed(self) -> Option<ServerKind> {
        match self {
            KindSetting::Auto => None,
            KindSetting::Webdav => Some(ServerKind::Webdav),
            KindSetting::Nextcloud => Some(ServerKind::Nextcloud),
            KindSetting::Wopi => Some(ServerKind::Wopi),
        }
    }
}

/// Where a server's password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// No user name configured: requests are anonymous.
    Anonymous,
    /// Read from this environment variable when the config was loaded.
    Env {
        /// The variable's name (safe to show).
        var: String,
        /// Its value.
        value: Secret,
    },
    /// Looked up in the OS keyring under the server's name.
    Keyring,
}

/// One validated `[[servers]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Unique name used in CLI arguments and output.
    pub name: String,
    /// Configured protocol or auto-detection.
    pub kind: KindSetting,
    /// Base URL; always ends with `/`, so watch entries resolve below it.
    pub url: Url,
    /// User name for HTTP Basic authentication.
    pub username: Option<String>,
    /// Where the password comes from.
    pub password: PasswordSource,
    /// Watched paths relative to `url` (decoded; a trailing `/` watches a folder's members).
    pub watch: Vec<String>,
    /// Files the user waits for; also watched. Includes every `auto_lock` file.
    pub wanted: Vec<String>,
    /// Wanted files to lock for the user the moment they are free (`auto_lock`).
    pub auto_lock: Vec<String>,
    /// Time limit for one request.
    pub timeout: Duration,
    /// Extra CA certificate (PEM) to trust for this server, in addition to the system roots.
    pub ca_file: Option<PathBuf>,
    /// WOPI servers: where each watched file id's access token comes from.
    pub access_tokens: BTreeMap<String, TokenSource>,
    /// How to ask this server's lock holders to release a file.
    pub ask: AskSettings,
    /// Interval between two polls of the wanted files (`wanted_interval_secs`).
    pub wanted_interval: Duration,
}

/// The `[servers.ask]` table: the ways to reach lock holders on one server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AskSettings {
    /// Channels in order of preference; empty means every channel that applies, in the default order.
    pub via: Vec<AskChannel>,
    /// Where webhook requests go.
    pub webhook: Option<Webhook>,
    /// E-mail addresses of lock holders, by user id or owner name.
    pub emails: BTreeMap<String, String>,
}

/// A webhook for ask-to-release messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// The URL; a secret, since incoming-webhook URLs carry their own credentials.
    pub url: Secret,
    /// The JSON shape to post.
    pub format: WebhookFormat,
}

/// The JSON posted to a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// `{"text": …}`: Slack, Mattermost and Rocket.Chat incoming webhooks.
    Slack,
    /// `{"text", "file", "server", "holder", "holder_id", "requester", "url"}`.
    Generic,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAsk {
    #[serde(default)]
    via: Vec<AskChannel>,
    webhook_url: Option<Spanned<String>>,
    webhook_url_env: Option<Spanned<String>>,
    webhook_format: Option<WebhookFormat>,
    #[serde(default)]
    emails: BTreeMap<String, String>,
}

/// Where a WOPI file's access token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// Read from this environment variable when the config was loaded.
    Env {
        /// The variable's name (safe to show).
        var: String,
        /// Its value.
        value: Secret,
    },
    /// Looked up in the OS keyring: under `server/file id`, else under the server's name.
    Keyring,
}

impl ServerConfig {
    /// Everything to read: the watch list plus wanted files no watch entry covers, without duplicates.
    /// A file listed on its own and in a watched folder is read with the folder; a watched folder inside
    /// another is read on its own (the outer listing shows it, not its members).
    pub fn read_set(&self) -> Vec<String> {
        let all: Vec<&String> = self.watch.iter().chain(&self.wanted).collect();
        let mut out: Vec<String> = Vec::new();
        for path in &all {
            let listed = !is_folder(path) && all.iter().any(|p| is_direct_member(p, path));
            if !listed && !out.contains(path) {
                out.push((*path).clone());
            }
        }
        out
    }

    /// Whether this server watches `path`: one of its watched or wanted paths, or a direct member of a
    /// watched folder.
    pub fn covers(&self, path: &str) -> bool {
        self.watch
            .iter()
            .chain(&self.wanted)
            .any(|p| p == path || is_direct_member(p, path))
    }

    /// Whether `path` is one of the wanted files.
    pub fn is_wanted(&self, path: &str) -> bool {
        self.wanted.iter().any(|w| w == path)
    }

    /// Whether `path` is locked for the user as soon as it is free.
    pub fn is_auto_lock(&self, path: &str) -> bool {
        self.auto_lock.iter().any(|w| w == path)
    }
}

/// Whether a watch entry names a folder (watched through its members): `""` (the server folder) or a path
/// ending in `/`.
pub fn is_folder(entry: &str) -> bool {
    entry.is_empty() || entry.ends_with('/')
}

/// The entry of the read list `entries` that a reading's entry for `path` belongs to: the entry naming
/// `path` itself, else the watched folder `path` is a direct member of. `None` when no entry reads it.
/// A reading of `entries` hands over each entry's part by this rule (see
/// [`LockSource::poll_each`](crate::protocol::LockSource::poll_each)).
pub fn owner<'a>(entries: &'a [String], path: &str) -> Option<&'a str> {
    entries
        .iter()
        .find(|entry| *entry == path)
        .or_else(|| entries.iter().find(|entry| is_direct_member(entry, path)))
        .map(String::as_str)
}

/// Whether `path` is a direct member of folder `folder` (a path ending in `/`, or `""` for the server
/// folder itself); false when `folder` names a file.
pub fn is_direct_member(folder: &str, path: &str) -> bool {
    is_folder(folder)
        && path
            .strip_prefix(folder)
            .is_some_and(|rest| !rest.is_empty() && !rest.trim_end_matches('/').contains('/'))
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Interval between two polls of watched files.
    pub poll_interval: Duration,
    /// Servers in file order.
    pub servers: Vec<ServerConfig>,
    /// Who locks taken through Lockwatch are for (an e-mail address or a name); defaults to the
    /// server's user name.
    pub owner: Option<String>,
    /// At most one ask-to-release request per file and holder within this time.
    pub ask_interval: Duration,
    /// The ask-to-release message template (`{holder}`, `{file}`, `{requester}`, `{server}`, `{link}`).
    pub ask_message: Option<String>,
    /// Locks held longer than this are flagged stale in the history (`stale_after_secs`).
    pub stale_after: Duration,
    /// How long the history keeps finished locks and events (`history_days`).
    pub history_retention: Duration,
}

/// Default for `ask_interval_minutes`.
pub const DEFAULT_ASK_INTERVAL_MINUTES: u64 = 15;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    poll_interval_secs: Option<Spanned<i64>>,
    #[serde(default)]
    servers: Vec<RawServer>,
    owner: Option<Spanned<String>>,
    ask_interval_minutes: Option<Spanned<i64>>,
    ask_message: Option<Spanned<String>>,
    stale_after_secs: Option<Spanned<i64>>,
    history_days: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    name: Spanned<String>,
    #[serde(default = "default_kind")]
    kind: KindSetting,
    url: Spanned<String>,
    username: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    #[serde(default)]
    watch: Vec<Spanned<RawWatch>>,
    #[serde(default)]
    wanted: Vec<Spanned<String>>,
    #[serde(default)]
    auto_lock: Vec<Spanned<String>>,
    timeout_secs: Option<Spanned<i64>>,
    ca_file: Option<Spanned<String>>,
    access_token_env: Option<Spanned<String>>,
    ask: Option<Spanned<RawAsk>>,
    wanted_interval_secs: Option<Spanned<i64>>,
}

/// A watch entry: a path, or (WOPI) a file id with its own token variable.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawWatch {
    Path(String),
    File(RawWopiFile),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWopiFile {
    id: String,
    access_token_env: Option<String>,
}

fn default_kind() -> KindSetting {
    KindSetting::Auto
}

/// Where the config file is looked for when no path is given: `$XDG_CONFIG_HOME/lockwatch/config.toml`
/// (or the platform's equivalent).
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("lockwatch").join("config.toml"))
}

impl Config {
    /// Reads and validates the config file at `path`, taking `password_env` values from the process
    /// environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
            file: path.display().to_string(),
            line: None,
            column: None,
            key: None,
            message: format!("cannot read the config file: {err}"),
        })?;
        Config::parse(&text, &path.display().to_string(), &|var| {
            std::env::var(var).ok()
        })
    }

    /// Parses and validates config text. `file` names it in errors; `env` looks up `password_env` variables.
    pub fn parse(
        text: &str,
        file: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let at = |span: std::ops::Range<usize>, key: Option<String>, message: String| {
            let (line, column) = line_col(text, span.start);
            ConfigError {
                file: file.to_owned(),
                line: Some(line),
                column: Some(column),
                key,
                message,
            }
        };
        let raw: RawConfig = toml::from_str(text).map_err(|err| {
            let message = err.message().trim().to_owned();
            match err.span() {
                Some(span) => {
                    let key = text
                        .get(span.clone())
                        .filter(|s| !s.is_empty() && s.len() < 80 && !s.contains('\n'))
                        .map(|s| s.trim().to_owned());
                    at(span, key, message)
                }
                None => ConfigError {
                    file: file.to_owned(),
                    line: None,
                    column: None,
                    key: None,
                    message,
                },
            }
        })?;

        let poll_interval = match raw.poll_interval_secs {
            None => Duration::from_secs(DEFAULT_POLL_INTERVAL_SECS),
            Some(v) => {
                let secs = positive(&v).ok_or_else(|| {
                    at(
                        v.span(),
                        Some("poll_interval_secs".into()),
                        "must be a whole number of seconds, at least 1".into(),
                    )
                })?;
                Duration::from_secs(secs)
            }
        };

        let mut servers: Vec<ServerConfig> = Vec::new();
        let mut name_spans: Vec<std::ops::Range<usize>> = Vec::new();
        for (index, raw) in raw.servers.into_iter().enumerate() {
            let key = |field: &str| Some(format!("servers[{index}].{field}"));
            let name = raw.name.get_ref().trim().to_owned();
            if name.is_empty() || name.chars().any(|c| c.is_control()) {
                return Err(at(
                    raw.name.span(),
                    key("name"),
                    "must be a non-empty name without control characters".into(),
                ));
            }
            if let Some(first) = servers.iter().position(|s| s.name == name) {
                let (first_line, _) = line_col(text, name_spans[first].start);
                return Err(at(
                    raw.name.span(),
                    key("name"),
                    format!(
                        "duplicate server name \"{name}\" (first used on line {first_line}); names must be unique"
                    ),
                ));
            }

            let url = parse_base_url(raw.url.get_ref())
                .map_err(|message| at(raw.url.span(), key("url"), message))?;

            let username = raw.username.as_ref().map(|u| u.get_ref().clone());
            let password = match (&raw.password_env, &username) {
                (Some(var), Some(_)) => {
                    let value = env(var.get_ref()).ok_or_else(|| {
                        at(
                            var.span(),
                            key("password_env"),
                            format!(
                                "the environment variable {} is not set; set it to the password, or remove `password_env` to use the OS keyring",
                                var.get_ref()
                            ),
                        )
                    })?;
                    PasswordSource::Env {
                        var: var.get_ref().clone(),
                        value: Secret::new(value),
                    }
                }
                (Some(var), None) => {
                    return Err(at(
                        var.span(),
                        key("password_env"),
                        "is set but `username` is missing; add the user name".into(),
                    ));
                }
                (None, Some(_)) => PasswordSource::Keyring,
                (None, None) => PasswordSource::Anonymous,
            };

            let (watch, access_tokens) = if raw.kind == KindSetting::Wopi {
                wopi_files(&raw, index, &at, env)?
            } else {
                let mut paths = Vec::new();
                for (i, entry) in raw.watch.iter().enumerate() {
                    match entry.get_ref() {
                        RawWatch::Path(path) => {
                            paths.push(Spanned::new(entry.span(), path.clone()))
                        }
                        RawWatch::File(_) => {
                            return Err(at(
                                entry.span(),
                                Some(format!("servers[{index}].watch[{i}]")),
                                "a table entry ({ id = …, access_token_env = … }) is only for kind = \"wopi\"; give a path".into(),
                            ));
                        }
                    }
                }
                if let Some(var) = &raw.access_token_env {
                    return Err(at(
                        var.span(),
                        key("access_token_env"),
                        "is only for kind = \"wopi\"".into(),
                    ));
                }
                (
                    normalise_paths(&paths, "watch", index, &at)?,
                    BTreeMap::new(),
                )
            };
            let mut wanted = normalise_paths(&raw.wanted, "wanted", index, &at)?;
            if let Some(folder) = wanted
                .iter()
                .zip(raw.wanted.iter())
                .find(|(p, _)| p.ends_with('/'))
            {
                return Err(at(
                    folder.1.span(),
                    key("wanted"),
                    format!("\"{}\" is a folder; `wanted` lists files", folder.0),
                ));
            }
            let auto_lock = normalise_paths(&raw.auto_lock, "auto_lock", index, &at)?;
            if let Some(folder) = auto_lock
                .iter()
                .zip(raw.auto_lock.iter())
                .find(|(p, _)| p.ends_with('/'))
            {
                return Err(at(
                    folder.1.span(),
                    key("auto_lock"),
                    format!("\"{}\" is a folder; `auto_lock` lists files", folder.0),
                ));
            }
            // A file locked for the user the moment it is free is a file they wait for.
            for path in &auto_lock {
                if !wanted.contains(path) {
                    wanted.push(path.clone());
                }
            }

            let timeout = match &raw.timeout_secs {
                None => Duration::from_secs(DEFAULT_TIMEOUT_SECS),
                Some(v) => Duration::from_secs(positive(v).ok_or_else(|| {
                    at(
                        v.span(),
                        key("timeout_secs"),
                        "must be a whole number of seconds, at least 1".into(),
                    )
                })?),
            };

            let ca_file = raw.ca_file.as_ref().map(|c| PathBuf::from(c.get_ref()));

            let wanted_interval = match &raw.wanted_interval_secs {
                None => Duration::from_secs(DEFAULT_WANTED_INTERVAL_SECS),
                Some(v) => Duration::from_secs(positive(v).ok_or_else(|| {
                    at(
                        v.span(),
                        key("wanted_interval_secs"),
                        "must be a whole number of seconds, at least 1".into(),
                    )
                })?),
            };

            name_spans.push(raw.name.span());
            let ask = match &raw.ask {
                None => AskSettings::default(),
                Some(spanned) => ask_settings(spanned, index, &at, env)?,
            };
            servers.push(ServerConfig {
                name,
                kind: raw.kind,
                url,
                username,
                password,
                watch,
                wanted,
                auto_lock,
                timeout,
                ca_file,
                access_tokens,
                ask,
                wanted_interval,
            });
        }

        let owner = match raw.owner {
            Some(owner)
                if owner.get_ref().trim().is_empty()
                    || owner.get_ref().chars().any(char::is_control) =>
            {
                return Err(at(
                    owner.span(),
                    Some("owner".into()),
                    "must be a name or e-mail address".into(),
                ));
            }
            Some(owner) => Some(owner.into_inner().trim().to_owned()),
            None => None,
        };
        let ask_interval = match &raw.ask_interval_minutes {
            None => Duration::from_secs(DEFAULT_ASK_INTERVAL_MINUTES * 60),
            Some(v) => match u64::try_from(*v.get_ref()) {
                Ok(minutes) => Duration::from_secs(minutes * 60),
                Err(_) => {
                    return Err(at(
                        v.span(),
                        Some("ask_interval_minutes".into()),
                        "must be a whole number of minutes, 0 or more".into(),
                    ));
                }
            },
        };
        let ask_message = raw.ask_message.map(Spanned::into_inner);

        let whole = |v: &Option<Spanned<i64>>, name: &str, default: u64| match v {
            None => Ok(default),
            Some(v) => positive(v).ok_or_else(|| {
                at(
                    v.span(),
                    Some(name.to_owned()),
                    "must be a whole number, at least 1".into(),
                )
            }),
        };
        let stale_after = Duration::from_secs(whole(
            &raw.stale_after_secs,
            "stale_after_secs",
            DEFAULT_STALE_AFTER_SECS,
        )?);
        let history_days = whole(&raw.history_days, "history_days", DEFAULT_HISTORY_DAYS)?;

        Ok(Config {
            poll_interval,
            servers,
            owner,
            ask_interval,
            ask_message,
            stale_after,
            history_retention: Duration::from_secs(history_days.saturating_mul(86_400)),
        })
    }

    /// The configuration of an empty file: no servers, every default.
    pub fn empty() -> Config {
        Config {
            poll_interval: Duration::from_secs(DEFAULT_POLL_INTERVAL_SECS),
            servers: Vec::new(),
            owner: None,
            ask_interval: Duration::from_secs(DEFAULT_ASK_INTERVAL_MINUTES * 60),
            ask_message: None,
            stale_after: Duration::from_secs(DEFAULT_STALE_AFTER_SECS),
            history_retention: Duration::from_secs(DEFAULT_HISTORY_DAYS * 86_400),
        }
    }

    /// The named server.
    pub fn server(&self, name: &str) -> Option<&ServerConfig> {
        self.servers.iter().find(|s| s.name == name)
    }
}

/// The file ids of a WOPI server and where each one's access token comes from: its own
/// `access_token_env`, else the server's, else the keyring.
fn wopi_files(
    raw: &RawServer,
    index: usize,
    at: &At<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<String>, BTreeMap<String, TokenSource>), ConfigError> {
    let from_env = |var: &Spanned<String>, key: String| -> Result<TokenSource, ConfigError> {
        let value = env(var.get_ref()).ok_or_else(|| {
            at(
                var.span(),
                Some(key),
                format!(
                    "the environment variable {} is not set; set it to the access token, or remove it to use the OS keyring",
                    var.get_ref()
                ),
            )
        })?;
        Ok(TokenSource::Env {
            var: var.get_ref().clone(),
            value: Secret::new(value),
        })
    };
    let server_token = match &raw.access_token_env {
        Some(var) => Some(from_env(var, format!("servers[{index}].access_token_env"))?),
        None => None,
    };
    let mut ids = Vec::new();
    let mut tokens = BTreeMap::new();
    for (i, entry) in raw.watch.iter().enumerate() {
        let key = format!("servers[{index}].watch[{i}]");
        let (id, source) = match entry.get_ref() {
            RawWatch::Path(id) => (id.trim().to_owned(), None),
            RawWatch::File(file) => {
                let source = match &file.access_token_env {
                    Some(var) => Some(from_env(
                        &Spanned::new(entry.span(), var.clone()),
                        format!("{key}.access_token_env"),
                    )?),
                    None => None,
                };
                (file.id.trim().to_owned(), source)
            }
        };
        if id.is_empty()
            || id.contains('/')
            || id.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(at(
                entry.span(),
                Some(key),
                format!("\"{id}\" is not a WOPI file id (no spaces or slashes)"),
            ));
        }
        let source = source
            .or_else(|| server_token.clone())
            .unwrap_or(TokenSource::Keyring);
        if !ids.contains(&id) {
            ids.push(id.clone());
        }
        tokens.insert(id, source);
    }
    for (list, entries) in [("wanted", &raw.wanted), ("auto_lock", &raw.auto_lock)] {
        for (i, wanted) in entries.iter().enumerate() {
            if !tokens.contains_key(wanted.get_ref().trim()) {
                return Err(at(
                    wanted.span(),
                    Some(format!("servers[{index}].{list}[{i}]")),
                    format!("\"{}\" is not among the watched file ids", wanted.get_ref()),
                ));
            }
        }
    }
    Ok((ids, tokens))
}

/// Validates a `[servers.ask]` table.
fn ask_settings(
    spanned: &Spanned<RawAsk>,
    index: usize,
    at: &At<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AskSettings, ConfigError> {
    let raw = spanned.get_ref();
    let key = |field: &str| Some(format!("servers[{index}].ask.{field}"));
    let url = match (&raw.webhook_url, &raw.webhook_url_env) {
        (Some(_), Some(var)) => {
            return Err(at(
                var.span(),
                key("webhook_url_env"),
                "give either webhook_url or webhook_url_env, not both".into(),
            ));
        }
        (Some(url), None) => Some((url.get_ref().clone(), url.span(), "webhook_url")),
        (None, Some(var)) => {
            let value = env(var.get_ref()).ok_or_else(|| {
                at(
                    var.span(),
                    key("webhook_url_env"),
                    format!("the environment variable {} is not set", var.get_ref()),
                )
            })?;
            Some((value, var.span(), "webhook_url_env"))
        }
        (None, None) => None,
    };
    let webhook = match url {
        None => None,
        Some((url, span, field)) => {
            let parsed = Url::parse(url.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"));
            if parsed.is_none() {
                // The URL itself is a secret: say what is wrong without repeating it.
                return Err(at(span, key(field), "is not an http(s) URL".into()));
            }
            Some(Webhook {
                url: Secret::new(url.trim()),
                format: raw.webhook_format.unwrap_or(WebhookFormat::Slack),
            })
        }
    };
    if raw.via.contains(&AskChannel::Webhook) && webhook.is_none() {
        return Err(at(
            spanned.span(),
            key("via"),
            "lists \"webhook\" but no webhook_url is set".into(),
        ));
    }
    Ok(AskSettings {
        via: raw.via.clone(),
        webhook,
        emails: raw.emails.clone(),
    })
}

fn positive(v: &Spanned<i64>) -> Option<u64> {
    u64::try_from(*v.get_ref()).ok().filter(|&n| n >= 1)
}

/// Parses a server base URL: absolute http(s), no credentials, no query; a trailing `/` is added.
fn parse_base_url(raw: &str) -> Result<Url, String> {
    let mut url =
        Url::parse(raw.trim()).map_err(|err| format!("\"{raw}\" is not a valid URL ({err})"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("\"{raw}\" must start with https:// or http://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("\"{raw}\" has no host name"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password; use `username` and `password_env` or the keyring".into());
    }
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

type At<'a> = dyn Fn(std::ops::Range<usize>, Option<String>, String) -> ConfigError + 'a;

/// Validates watch / wanted entries: relative, no `.` / `..` segments, no duplicates.
fn normalise_paths(
    entries: &[Spanned<String>],
    field: &str,
    index: usize,
    at: &At<'_>,
) -> Result<Vec<String>, ConfigError> {
    let mut out: Vec<String> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let key = Some(format!("servers[{index}].{field}[{i}]"));
        let path = entry.get_ref().trim_start_matches('/');
        if path.is_empty() && !entry.get_ref().is_empty() {
            // "/" watches the base folder itself.
            out.push(String::new());
            continue;
        }
        if path.is_empty() {
            return Err(at(
                entry.span(),
                key,
                "is empty; give a path relative to the server URL".into(),
            ));
        }
        if path.split('/').any(|seg| seg == "." || seg == "..") || path.contains("//") {
            return Err(at(
                entry.span(),
                key,
                format!("\"{path}\" must be a plain relative path (no `.`, `..` or `//`)"),
            ));
        }
        if path.chars().any(char::is_control) {
            return Err(at(entry.span(), key, "contains control characters".into()));
        }
        if !out.iter().any(|p| p == path) {
            out.push(path.to_owned());
        }
    }
    Ok(out)
}

/// 1-based line and column (in characters) of byte offset `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "config.toml", &|var| {
            (var == "TEAM_PW").then(|| "s3cret".to_owned())
        })
    }

    const GOOD: &str = r#"
poll_interval_secs = 10

[[servers]]
name = "team"
kind = "nextcloud"
url = "https://cloud.example.com/remote.php/dav/files/alice"
username = "alice"
password_env = "TEAM_PW"
watch = ["Reports/", "Budget.xlsx", "Budget.xlsx"]
wanted = ["Budget.xlsx", "Reports/Q3.docx", "Other.odt"]

[[servers]]
name = "public"
url = "http://127.0.0.1:8080/dav/"
"#;

    #[test]
    fn direct_members_of_folders_and_of_the_server_folder() {
        assert!(is_direct_member("Reports/", "Reports/a.odt"));
        assert!(is_direct_member("Reports/", "Reports/Sub/"));
        assert!(!is_direct_member("Reports/", "Reports/Sub/a.odt"));
        assert!(!is_direct_member("Reports/", "Reports/"));
        assert!(is_direct_member("", "a.odt"));
        assert!(!is_direct_member("", "Reports/a.odt"));
        // A watched file has no members, whatever its name.
        assert!(!is_direct_member("Reports", "Reportsa.odt"));
    }

    #[test]
    fn the_read_set_reads_nested_folders_and_each_file_once() {
        let config = parse(
            "[[servers]]\nname = \"a\"\nurl = \"http://h/\"\nwatch = [\"Reports/a.odt\", \"Reports/\", \"Reports/2026/\", \"Budget.xlsx\", \"Reports/\"]\nwanted = [\"Reports/b.odt\", \"Other.odt\", \"Budget.xlsx\"]\n",
        )
        .unwrap();
        let server = &config.servers[0];
        // Files listed by a watched folder are read with it, wherever they appear; the folder inside
        // the watched one has members of its own to read.
        assert_eq!(
            server.read_set(),
            vec!["Reports/", "Reports/2026/", "Budget.xlsx", "Other.odt"]
        );
        assert!(server.covers("Reports/2026/q1.odt"));
    }

    #[test]
    fn each_path_of_a_reading_belongs_to_one_entry_of_the_read_list() {
        let list: Vec<String> = ["Reports/", "Reports/2026/", "Reports/a.odt", ""]
            .map(String::from)
            .to_vec();
        assert_eq!(owner(&list, "Reports/b.odt"), Some("Reports/"));
        // The entry naming a path wins over the folder listing it.
        assert_eq!(owner(&list, "Reports/a.odt"), Some("Reports/a.odt"));
        assert_eq!(owner(&list, "Reports/2026/"), Some("Reports/2026/"));
        assert_eq!(owner(&list, "Reports/2026/q1.odt"), Some("Reports/2026/"));
        assert_eq!(owner(&list, "Top.odt"), Some(""));
        assert_eq!(owner(&list, "Reports/2026/deep/x.odt"), None);
        assert_eq!(owner(&list[..1], "Elsewhere.odt"), None);
    }

    #[test]
    fn parses_the_documented_example() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.poll_interval, Duration::from_secs(10));
        let team = &config.servers[0];
        assert_eq!(team.kind, KindSetting::Nextcloud);
        assert_eq!(
            team.url.as_str(),
            "https://cloud.example.com/remote.php/dav/files/alice/"
        );
        assert_eq!(team.watch, vec!["Reports/", "Budget.xlsx"]);
        assert_eq!(
            team.read_set(),
            vec!["Reports/", "Budget.xlsx", "Other.odt"]
        );
        assert!(
            matches!(&team.password, PasswordSource::Env { var, value } if var == "TEAM_PW" && value.expose() == "s3cret")
        );
        let public = &config.servers[1];
        assert_eq!(public.kind, KindSetting::Auto);
        assert_eq!(public.password, PasswordSource::Anonymous);
        assert_eq!(public.timeout, Duration::from_secs(DEFAULT_TIMEOUT_SECS));
    }

    #[test]
    fn empty_is_what_an_empty_file_means() {
        assert_eq!(Config::empty(), parse("").unwrap());
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let err = parse("[[servers]]\nname = \"a\"\nurl = \"http://h/\"\npasword_env = \"X\"\n")
            .unwrap_err();
        assert_eq!(err.line, Some(4));
        assert_eq!(err.key.as_deref(), Some("pasword_env"));
        assert!(err.message.contains("unknown field"), "{err}");
        assert!(
            err.to_string()
                .starts_with("config.toml:4:1: pasword_env: "),
            "{err}"
        );
    }

    #[test]
    fn duplicate_names_are_rejected_with_both_lines() {
        let err = parse("[[servers]]\nname = \"a\"\nurl = \"http://h/\"\n[[servers]]\nname = \"a\"\nurl = \"http://g/\"\n").unwrap_err();
        assert_eq!(err.line, Some(5));
        assert_eq!(err.key.as_deref(), Some("servers[1].name"));
        assert!(err.message.contains("first used on line 2"), "{err}");
    }

    #[test]
    fn bad_urls_are_rejected() {
        for (url, needle) in [
            ("not a url", "not a valid URL"),
            ("ftp://h/", "https://"),
            ("https://bob:pw@h/", "must not contain a user name"),
        ] {
            let err = parse(&format!("[[servers]]\nname = \"a\"\nurl = \"{url}\"\n")).unwrap_err();
            assert_eq!(err.key.as_deref(), Some("servers[0].url"), "{url}");
            assert_eq!(err.line, Some(3));
            assert!(err.message.contains(needle), "{url}: {err}");
            assert!(
                !err.to_string().contains("pw@"),
                "credentials echoed: {err}"
            );
        }
    }

    #[test]
    fn missing_password_variable_is_a_located_error_without_the_value() {
        let err = parse("[[servers]]\nname = \"a\"\nurl = \"http://h/\"\nusername = \"u\"\npassword_env = \"NOPE\"\n").unwrap_err();
        assert_eq!(err.line, Some(5));
        assert_eq!(err.key.as_deref(), Some("servers[0].password_env"));
        assert!(err.message.contains("NOPE is not set"), "{err}");
    }

    #[test]
    fn wrong_types_and_values_are_located() {
        let err = parse("poll_interval_secs = \"often\"\n").unwrap_err();
        assert_eq!(err.line, Some(1));
        let err = parse("poll_interval_secs = 0\n").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("poll_interval_secs"));
        let err =
            parse("[[servers]]\nname = \"a\"\nurl = \"http://h/\"\nkind = \"ftp\"\n").unwrap_err();
        assert_eq!(err.line, Some(4), "{err}");
        let err = parse("[[servers]]\nname = \"a\"\nurl = \"http://h/\"\nwatch = [\"../etc\"]\n")
            .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("servers[0].watch[0]"));
        let err = parse("[[servers]]\nname = \"a\"\nurl = \"http://h/\"\nwanted = [\"Dir/\"]\n")
            .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("servers[0].wanted"));
    }

    #[test]
    fn auto_lock_files_are_wanted_files() {
        let config = parse("[[servers]]\nname = \"a\"\nurl = \"http://h/\"\nwanted = [\"A.odt\"]\nauto_lock = [\"/B.odt\", \"A.odt\"]\n").unwrap();
        let server = &config.servers[0];
        assert_eq!(server.wanted, vec!["A.odt", "B.odt"]);
        assert_eq!(server.auto_lock, vec!["B.odt", "A.odt"]);
        assert!(server.is_auto_lock("B.odt") && server.is_wanted("B.odt"));
        assert!(server.read_set().contains(&"B.odt".to_owned()));
        let err = parse("[[servers]]\nname = \"a\"\nurl = \"http://h/\"\nauto_lock = [\"Dir/\"]\n")
            .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("servers[0].auto_lock"));
        assert_eq!(err.line, Some(4));
        let err = parse("[[servers]]\nname = \"w\"\nkind = \"wopi\"\nurl = \"http://h/wopi/files/\"\nwatch = [\"f1\"]\nauto_lock = [\"f2\"]\n")
            .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("servers[0].auto_lock[0]"), "{err}");
    }

    #[test]
    fn broken_toml_reports_line_and_column() {
        let err = parse("[[servers]]\nname = \"a\nurl = 1\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        assert!(err.column.is_some());
    }

    #[test]
    fn watch_keys_have_defaults_and_are_validated() {
        let config = parse(GOOD).unwrap();
        assert_eq!(
            config.servers[0].wanted_interval,
            Duration::from_secs(DEFAULT_WANTED_INTERVAL_SECS)
        );
        assert_eq!(config.stale_after, Duration::from_secs(8 * 3600));
        assert_eq!(config.history_retention, Duration::from_secs(90 * 86_400));
        let config = parse("stale_after_secs = 60\nhistory_days = 2\n[[servers]]\nname = \"a\"\nurl = \"http://h/\"\nwanted_interval_secs = 2\n").unwrap();
        assert_eq!(config.servers[0].wanted_interval, Duration::from_secs(2));
        assert_eq!(config.stale_after, Duration::from_secs(60));
        assert_eq!(config.history_retention, Duration::from_secs(2 * 86_400));
        let err =
            parse("[[servers]]\nname = \"a\"\nurl = \"http://h/\"\nwanted_interval_secs = 0\n")
                .unwrap_err();
        assert_eq!(err.key.as_deref(), Some("servers[0].wanted_interval_secs"));
        assert_eq!(err.line, Some(4));
        let err = parse("history_days = -1\n").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("history_days"));
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\nçd", 5), (2, 2));
        assert_eq!(line_col("", 0), (1, 1));
    }
}
