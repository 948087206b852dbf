//! What the app is watching right now: the config file's servers, the built-in demo, or nothing, and
//! whether watching is paused; and the actions a person takes on it.
//!
//! Every operation here is one engine call plus bookkeeping: reading is [`lockwatch::status::collect`], the
//! demo is [`lockwatch::demo::Demo`], lock actions [`lockwatch::actions`], asking a holder
//! [`lockwatch::ask`], history [`lockwatch::history`], config edits [`lockwatch::config_file`]. What
//! outlives the session (keyring, held locks, the history database that also logs ask-to-release requests,
//! the system's link opener) comes in as one [`Environment`], made in one place, so tests swap all of it. The session keeps
//! the latest [`Snapshot`] so opening the window shows the table at once, and edits it when an action
//! changes a file. Background watching is the engine's [`Monitor`], started by [`Session::start_watching`]
//! (the app's watch loop in `lib.rs`) and kept in step with the config in use; without it (tests) the
//! session reads on request only. It knows nothing of Tauri's windows, so it is tested without a runtime.
//! Time comes in as `now`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lockwatch::actions::{self, Action, ActionReport};
use lockwatch::ask::{self, AskRequest};
use lockwatch::config::{Config, DEFAULT_POLL_INTERVAL_SECS};
use lockwatch::config_file::{self, EditWatch, ServerEdit};
use lockwatch::demo::Demo;
use lockwatch::held::HeldLocks;
use lockwatch::history::{History, Hold};
use lockwatch::model::{AskChannel, Capabilities, FileEntry};
use lockwatch::monitor::{Monitor, Setup, Update};
use lockwatch::protocol::Server;
use lockwatch::secrets::{KeyringStore, MemoryStore, Secret, SecretStore};
use lockwatch::sync::guard;
use lockwatch::watch::notice::Notifier;
use lockwatch::watch::{Health, SystemClock};
use lockwatch::{Error, ErrorInfo, ErrorKind, status};
use tokio::sync::mpsc;

use crate::dto::{AskSent, ServerHealth, ServerSettings, Snapshot};

/// How often the demo's simulated colleagues take or release a lock.
const DEMO_EVERY: Duration = Duration::from_secs(6);

/// Opens a link (a `mailto:` for asking by e-mail) with the desktop's handler, outside the app's window.
pub type LinkOpener = dyn Fn(&str) -> std::io::Result<()> + Send + Sync;

/// Everything the session reads and writes outside itself. Made once, in [`Environment::for_user`] (the
/// same stores as the `lockwatch` command line), or per test.
pub struct Environment {
    /// Server passwords (the OS keyring).
    pub secrets: Arc<dyn SecretStore>,
    /// Locks taken through Lockwatch, so they can be released later and show as "yours".
    pub held: HeldLocks,
    /// The history database: who held which file, and every ask-to-release request (the rate limit
    /// reads it). `None` when there is no data directory.
    pub history: Option<PathBuf>,
    /// The desktop's link handler.
    pub open_link: Arc<LinkOpener>,
}

impl Environment {
    /// The user's keyring and data files, shared with the `lockwatch` command line: held locks in the data
    /// dir, the history database at `LOCKWATCH_HISTORY` or its default place.
    pub fn for_user() -> Result<Environment, ErrorInfo> {
        let err = |err: Error| ErrorInfo {
            kind: err.kind(),
            message: err.to_string(),
        };
        Ok(Environment {
            secrets: Arc::new(KeyringStore),
            held: HeldLocks::in_data_dir().map_err(err)?,
            history: lockwatch::history::path(),
            open_link: Arc::new(|link: &str| open::that_detached(link)),
        })
    }

    /// Everything in `dir`, with `secrets` as the keyring and links recorded instead of opened.
    pub fn in_dir(
        dir: &Path,
        secrets: Arc<dyn SecretStore>,
        opened: Arc<Mutex<Vec<String>>>,
    ) -> Environment {
        Environment {
            secrets,
            held: HeldLocks::at(dir.join("held-locks.json")),
            history: Some(dir.join("history.sqlite3")),
            open_link: Arc::new(move |link: &str| {
                guard(&opened).push(link.to_owned());
                Ok(())
            }),
        }
    }
}

enum Source {
    /// The config file's servers.
    File(Config),
    /// The built-in demo server, with the config that watches it.
    Demo { config: Config, _demo: Demo },
    /// Nothing to watch: the demo was left and there is no config file.
    Empty,
    /// The config file is invalid; reading again retries it.
    Broken(ErrorInfo),
}

/// The app's watching state. Shared by the commands, the tray and the watch loop.
pub struct Session {
    config_path: PathBuf,
    secrets: Arc<dyn SecretStore>,
    env: Environment,
    source: Mutex<Source>,
    paused: AtomicBool,
    last: Mutex<Option<Snapshot>>,
    watching: Mutex<Option<Watching>>,
    /// Edits of the config file made outside the app.
    config_edits: Mutex<EditWatch>,
}

/// Background watching: the engine's monitor for the config in use, its updates forwarded to one
/// long-lived channel so a new monitor (another config) does not change who listens.
struct Watching {
    notifier: Arc<dyn Notifier>,
    updates: mpsc::UnboundedSender<Update>,
    monitor: Option<(Monitor, tokio::task::JoinHandle<()>)>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Some((_, forward)) = &self.monitor {
            forward.abort();
        }
    }
}

impl Session {
    /// Opens the config file at `config_path`; without one, starts the built-in demo. Never fails: an
    /// invalid config is reported by [`Session::refresh`] until it is fixed.
    pub async fn open(config_path: PathBuf, env: Environment) -> Session {
        let source = load(&config_path, true).await;
        Session {
            secrets: env.secrets.clone(),
            env,
            source: Mutex::new(source),
            paused: AtomicBool::new(false),
            last: Mutex::new(None),
            watching: Mutex::new(None),
            config_edits: Mutex::new(EditWatch::new(&config_path)),
            config_path,
        }
    }

    /// Puts the config file in force again when it was edited outside the app (`lockwatch want`, an
    /// editor) and is valid; an invalid edit is logged and the settings in force stay. Returns whether the
    /// config in use changed.
    pub fn follow_config_file(&self) -> bool {
        let Some(loaded) = guard(&self.config_edits).changed() else {
            return false;
        };
        if !matches!(*guard(&self.source), Source::File(_)) {
            return false;
        }
        match loaded {
            Ok(config) => {
                let mut source = guard(&self.source);
                if matches!(&*source, Source::File(current) if *current == config) {
                    return false;
                }
                *source = Source::File(config);
                drop(source);
                *guard(&self.last) = None;
                self.follow_source();
                true
            }
            Err(error) => {
                tracing::warn!(%error, "the edited config file has an error; the settings in force stay");
                false
            }
        }
    }

    /// Starts watching in the background with the engine's monitor (history, notifications through
    /// `notifier`, auto-lock, the user's own locks marked); the monitor follows the config in use from
    /// then on. Updates arrive on the returned receiver. Must run inside the async runtime.
    pub fn start_watching(&self, notifier: Arc<dyn Notifier>) -> mpsc::UnboundedReceiver<Update> {
        let (updates, rx) = mpsc::unbounded_channel();
        *guard(&self.watching) = Some(Watching {
            notifier,
            updates,
            monitor: None,
        });
        self.follow_source();
        rx
    }

    /// Puts the config in use into the monitor: started when there is one to watch, reloaded when it
    /// changed, stopped when there is nothing to watch.
    fn follow_source(&self) {
        let config = self.config().ok().filter(|c| !c.servers.is_empty());
        let mut watching = guard(&self.watching);
        let Some(watching) = watching.as_mut() else {
            return;
        };
        match (config, &watching.monitor) {
            (None, _) => {
                if let Some((_, forward)) = watching.monitor.take() {
                    forward.abort();
                }
            }
            (Some(config), Some((monitor, _))) => monitor.reload(config),
            (Some(config), None) => {
                let now = Utc::now();
                let history = self
                    .env
                    .history
                    .as_ref()
                    .and_then(|path| {
                        History::open(path, config.stale_after, config.history_retention, now)
                            .map_err(|error| tracing::warn!(%error, "the history is off"))
                            .ok()
                    })
                    .map(Arc::new);
                let (monitor, mut rx) = Monitor::start(
                    config,
                    Setup {
                        secrets: self.secrets.clone(),
                        notifier: watching.notifier.clone(),
                        history,
                        held: Some(self.env.held.clone()),
                        clock: Arc::new(SystemClock),
                        pacing: None,
                    },
                );
                monitor.set_paused(self.is_paused());
                let tx = watching.updates.clone();
                let forward = tokio::spawn(async move {
                    while let Some(update) = rx.recv().await {
                        if tx.send(update).is_err() {
                            return;
                        }
                    }
                });
                watching.monitor = Some((monitor, forward));
            }
        }
    }

    /// Runs `f` on the background monitor, when there is one.
    fn with_monitor<T>(&self, f: impl FnOnce(&Monitor) -> T) -> Option<T> {
        let watching = guard(&self.watching);
        watching
            .as_ref()
            .and_then(|w| w.monitor.as_ref())
            .map(|(monitor, _)| f(monitor))
    }

    /// The background monitor's latest readings as a snapshot (kept as the latest), once every server
    /// has been read; `None` before that or without background watching.
    pub fn watched_snapshot(&self, now: DateTime<Utc>) -> Option<Snapshot> {
        let snapshot = self.read_watched(now)?;
        *guard(&self.last) = Some(snapshot.clone());
        Some(snapshot)
    }

    /// The background monitor's latest readings as a snapshot when they differ from the latest snapshot
    /// (apart from its time), kept as the latest: what the watch loop publishes. `None` when nothing
    /// changed (the latest snapshot only takes the new time), before every server was read, or without
    /// background watching. Whoever else changes the latest snapshot (an action, pausing, reading now)
    /// publishes it, so it counts as shown.
    pub fn watched_change(&self, now: DateTime<Utc>) -> Option<Snapshot> {
        let snapshot = self.read_watched(now)?;
        let mut last = guard(&self.last);
        if let Some(before) = last.as_mut()
            && same_apart_from_time(before, &snapshot)
        {
            before.generated_at = snapshot.generated_at;
            return None;
        }
        *last = Some(snapshot.clone());
        Some(snapshot)
    }

    /// The background monitor's latest readings as a snapshot, once every server has been read.
    fn read_watched(&self, now: DateTime<Utc>) -> Option<Snapshot> {
        let paused = self.is_paused();
        let demo = self.is_demo();
        self.with_monitor(|monitor| {
            let readings = monitor.snapshot();
            let config = monitor.config();
            if config
                .servers
                .iter()
                .any(|s| !readings.servers.contains_key(&s.name))
            {
                return None;
            }
            let checked_at = readings.at;
            let retry_in: std::collections::HashMap<String, Option<u64>> = readings
                .servers
                .iter()
                .map(|(name, reading)| {
                    let retry = match &reading.health {
                        Health::Down { retry_in_secs, .. } => *retry_in_secs,
                        Health::Up => None,
                    };
                    (name.clone(), retry)
                })
                .collect();
            let report = monitor.report_of(readings);
            Some(Snapshot {
                servers: report
                    .servers
                    .into_iter()
                    .map(|status| ServerHealth {
                        retry_in_secs: if status.ok || paused {
                            None
                        } else {
                            retry_in
                                .get(&status.name)
                                .copied()
                                .flatten()
                                .and_then(|s| u32::try_from(s).ok())
                        },
                        checked_at,
                        status,
                    })
                    .collect(),
                files: report.files,
                demo,
                paused,
                generated_at: now,
                config_path: self.config_path.display().to_string(),
            })
        })?
    }

    /// The latest snapshot, reading the servers first when there is none yet.
    pub async fn snapshot(&self, now: DateTime<Utc>) -> Result<Snapshot, ErrorInfo> {
        let last = guard(&self.last).clone();
        match last {
            Some(snapshot) => Ok(snapshot),
            None => self.refresh(now).await,
        }
    }

    /// Reads every server now (even while paused) and keeps the result as the latest snapshot; with
    /// background watching, the monitor does the reading.
    pub async fn refresh(&self, now: DateTime<Utc>) -> Result<Snapshot, ErrorInfo> {
        self.follow_config_file();
        if matches!(*guard(&self.source), Source::Broken(_)) {
            let reloaded = load(&self.config_path, false).await;
            *guard(&self.source) = reloaded;
            self.follow_source();
        }
        // Watching in the background, the monitor reads now and its updates follow; the answer is what it
        // has. Paused, or before it has read every server (just started, or a new config), read here.
        if !self.is_paused()
            && self.with_monitor(|monitor| monitor.refresh(None)).is_some()
            && let Some(snapshot) = self.watched_snapshot(now)
        {
            return Ok(snapshot);
        }
        let (config, demo) = match &*guard(&self.source) {
            Source::File(config) => (config.clone(), false),
            Source::Demo { config, .. } => (config.clone(), true),
            Source::Empty => (Config::empty(), false),
            Source::Broken(error) => return Err(error.clone()),
        };
        let mut report = status::collect(&config, &[], self.secrets.clone(), now).await;
        // Mark the locks taken through Lockwatch as the user's, and forget those that are gone. A damaged
        // store costs the "yours" marks, not the table.
        if let Err(error) = self.env.held.reconcile(&mut report) {
            tracing::warn!(%error, "cannot read the held-lock store");
        }
        let paused = self.is_paused();
        let retry = u32::try_from(config.poll_interval.as_secs()).ok();
        let snapshot = Snapshot {
            servers: report
                .servers
                .into_iter()
                .map(|status| ServerHealth {
                    retry_in_secs: if status.ok || paused { None } else { retry },
                    checked_at: Some(now),
                    status,
                })
                .collect(),
            files: report.files,
            demo,
            paused,
            generated_at: now,
            config_path: self.config_path.display().to_string(),
        };
        *guard(&self.last) = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// Pauses or resumes watching; returns the latest snapshot with the new state, if there is one.
    pub fn set_paused(&self, paused: bool) -> Option<Snapshot> {
        self.paused.store(paused, Ordering::SeqCst);
        self.with_monitor(|monitor| monitor.set_paused(paused));
        let mut last = guard(&self.last);
        if let Some(snapshot) = last.as_mut() {
            snapshot.paused = paused;
            for server in &mut snapshot.servers {
                if paused {
                    server.retry_in_secs = None;
                }
            }
        }
        last.clone()
    }

    /// Whether watching is paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// How long the poll loop waits between two reads.
    pub fn poll_interval(&self) -> Duration {
        match &*guard(&self.source) {
            Source::File(config) | Source::Demo { config, .. } => config.poll_interval,
            Source::Empty | Source::Broken(_) => Duration::from_secs(DEFAULT_POLL_INTERVAL_SECS),
        }
    }

    /// The configured servers, without passwords: only whether one is available.
    pub async fn servers(&self) -> Result<Vec<ServerSettings>, ErrorInfo> {
        let servers = match &*guard(&self.source) {
            Source::File(config) | Source::Demo { config, .. } => config.servers.clone(),
            Source::Empty => Vec::new(),
            Source::Broken(error) => return Err(error.clone()),
        };
        let secrets = self.secrets.clone();
        // The keyring answers over D-Bus and blocks; a keyring that fails counts as "no password".
        let blocking = move || {
            servers
                .iter()
                .map(|s| ServerSettings::new(s, matches!(secrets.get(&s.name), Ok(Some(_)))))
                .collect()
        };
        tauri::async_runtime::spawn_blocking(blocking)
            .await
            .map_err(|err| internal(format!("cannot list the servers: {err}")))
    }

    /// Shows the built-in demo instead of the configured servers.
    pub async fn enter_demo(&self) -> Result<(), ErrorInfo> {
        let source = start_demo()
            .await
            .map_err(|err| internal(format!("cannot start the demo server: {err}")))?;
        *guard(&self.source) = source;
        *guard(&self.last) = None;
        self.follow_source();
        Ok(())
    }

    /// Leaves the demo: back to the config file's servers, or to nothing when there is no file.
    pub async fn exit_demo(&self) {
        if !matches!(*guard(&self.source), Source::Demo { .. }) {
            return;
        }
        let source = load(&self.config_path, false).await;
        *guard(&self.source) = source;
        *guard(&self.last) = None;
        self.follow_source();
    }

    /// The config in use (the file's or the demo's).
    fn config(&self) -> Result<Config, ErrorInfo> {
        match &*guard(&self.source) {
            Source::File(config) | Source::Demo { config, .. } => Ok(config.clone()),
            Source::Empty => Ok(Config::empty()),
            Source::Broken(error) => Err(error.clone()),
        }
    }

    fn is_demo(&self) -> bool {
        matches!(*guard(&self.source), Source::Demo { .. })
    }

    /// Connects to server `name` of the config in use.
    async fn server(&self, name: &str) -> Result<(Config, Server), ErrorInfo> {
        let config = self.config()?;
        let Some(server) = config.server(name).cloned() else {
            return Err(ErrorInfo {
                kind: ErrorKind::Config,
                message: format!(
                    "There is no server named \u{201c}{name}\u{201d} in the settings any more."
                ),
            });
        };
        let server = Server::connect(server, self.secrets.clone())
            .await
            .map_err(|err| ErrorInfo::for_server(name, &err))?;
        Ok((config, server))
    }

    /// Puts `file` (as read after an action) into the latest snapshot; returns the snapshot to publish.
    fn replace_file(&self, file: &FileEntry) -> Option<Snapshot> {
        let mut last = guard(&self.last);
        let snapshot = last.as_mut()?;
        let entry = snapshot
            .files
            .iter_mut()
            .find(|f| f.server == file.server && f.path == file.path)?;
        *entry = file.clone();
        Some(snapshot.clone())
    }

    /// Takes, releases or breaks a lock (`actions::perform`), recording held locks like the command line;
    /// the report's file replaces the row in the latest snapshot (returned for publishing).
    pub async fn act(
        &self,
        server: &str,
        path: &str,
        action: Action,
    ) -> Result<(ActionReport, Option<Snapshot>), ErrorInfo> {
        let path = file_path(path)?;
        let monitor = self.with_monitor(Monitor::handle);
        let report = match monitor {
            // Through the monitor: never interleaved with its reading of the server, read again at once.
            Some(handle) => handle
                .perform(server, path, action)
                .await
                .map_err(|err| ErrorInfo::for_server(server, &err))?,
            None => {
                let (config, connected) = self.server(server).await?;
                let owner = actions::lock_owner(config.owner.as_deref(), &connected);
                actions::perform(&connected, &self.env.held, &owner, path, action).await
            }
        };
        let snapshot = self.replace_file(&report.file);
        Ok((report, snapshot))
    }

    /// What the server supports (force unlock, shared locks, ...).
    pub async fn capabilities(&self, server: &str) -> Result<Capabilities, ErrorInfo> {
        let (_, connected) = self.server(server).await?;
        actions::capabilities(&connected)
            .await
            .map_err(|err| ErrorInfo::for_server(server, &err))
    }

    /// The warning to confirm before breaking other users' locks on the file as it is now.
    pub async fn force_unlock_warning(
        &self,
        server: &str,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<String, ErrorInfo> {
        let (_, connected) = self.server(server).await?;
        let file = actions::read_file(&connected, file_path(path)?, now).await;
        match file.error {
            Some(error) => Err(error),
            None => Ok(actions::force_unlock_warning(&file)),
        }
    }

    /// The ways to ask the file's current holder to release it (empty when nobody can be asked).
    pub async fn ask_channels(
        &self,
        server: &str,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<AskChannel>, ErrorInfo> {
        let (_, connected) = self.server(server).await?;
        let file = actions::read_file(&connected, file_path(path)?, now).await;
        if let Some(error) = file.error {
            return Err(error);
        }
        Ok(ask::channels(&connected, &file).await)
    }

    /// Asks the holder to release the file (`ask::ask`, recorded in the history database like the command
    /// line's requests). A `mailto:` link is handed to the desktop's mail client, never to the window.
    pub async fn ask(
        &self,
        server: &str,
        path: &str,
        via: Option<AskChannel>,
        message: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AskSent, ErrorInfo> {
        let path = file_path(path)?;
        let (config, connected) = self.server(server).await?;
        let requester = ask::requester(config.owner.as_deref(), &connected);
        let request = AskRequest {
            path,
            via,
            message: message.filter(|m| !m.trim().is_empty()),
            requester: &requester,
        };
        let log = self.history_db(&config, now)?;
        let outcome = ask::ask(&connected, &config, &log, request, now).await;
        if !outcome.ok {
            return Err(outcome.error.unwrap_or(ErrorInfo {
                kind: ErrorKind::Internal,
                message: outcome.message,
            }));
        }
        if let Some(link) = &outcome.mailto {
            (self.env.open_link)(link).map_err(|err| ErrorInfo {
                kind: ErrorKind::Internal,
                message: format!(
                    "Lockwatch could not open your mail client ({err}). Set a default e-mail app in the system settings and try again."
                ),
            })?;
        }
        Ok(AskSent {
            channel: outcome.channel,
            holder: outcome.holder,
            message: outcome.message,
        })
    }

    /// The history database with `config`'s stale threshold and retention.
    fn history_db(&self, config: &Config, now: DateTime<Utc>) -> Result<History, ErrorInfo> {
        let Some(path) = &self.env.history else {
            return Err(ErrorInfo {
                kind: ErrorKind::Internal,
                message: "Lockwatch cannot find your data folder for its history; set LOCKWATCH_HISTORY to a file path.".into(),
            });
        };
        History::open(path, config.stale_after, config.history_retention, now).map_err(info)
    }

    /// Who held the file when, newest first, from the history database (empty when nothing was recorded).
    pub async fn history(
        &self,
        server: &str,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Hold>, ErrorInfo> {
        let config = self.config()?;
        let Some(db) = self.env.history.clone() else {
            return Ok(Vec::new());
        };
        let (server, path) = (server.to_owned(), file_path(path)?.to_owned());
        let read = move || -> lockwatch::Result<Vec<Hold>> {
            if !db.exists() {
                return Ok(Vec::new());
            }
            let history = History::open(&db, config.stale_after, config.history_retention, now)?;
            history.holds(Some(&server), Some(&path), now)
        };
        tauri::async_runtime::spawn_blocking(read)
            .await
            .map_err(|err| internal(format!("cannot read the history: {err}")))?
            .map_err(|err| ErrorInfo {
                kind: err.kind(),
                message: err.to_string(),
            })
    }

    /// Adds `path` to (or removes it from) the server's wanted files: in the config file, written
    /// atomically, or for the demo in memory. Returns the latest snapshot with the new mark.
    pub async fn set_wanted(
        &self,
        server: &str,
        path: &str,
        wanted: bool,
    ) -> Result<Option<Snapshot>, ErrorInfo> {
        let path = file_path(path)?;
        let config = {
            let mut source = guard(&self.source);
            match &mut *source {
                Source::Demo { config, .. } => {
                    let Some(entry) = config.servers.iter_mut().find(|s| s.name == server) else {
                        return Err(no_server(server));
                    };
                    entry.wanted.retain(|w| w.trim_start_matches('/') != path);
                    if wanted {
                        entry.wanted.push(path.to_owned());
                    }
                    Some(config.clone())
                }
                Source::Broken(error) => return Err(error.clone()),
                Source::Empty => return Err(no_server(server)),
                Source::File(_) => None,
            }
        };
        let config = match config {
            Some(config) => config,
            None => {
                config_file::set_wanted(&self.config_path, server, path, wanted).map_err(info)?;
                let config = Config::load(&self.config_path).map_err(|err| info(err.into()))?;
                *guard(&self.source) = Source::File(config.clone());
                config
            }
        };
        self.follow_source();
        let mut last = guard(&self.last);
        let Some(snapshot) = last.as_mut() else {
            return Ok(None);
        };
        for file in &mut snapshot.files {
            file.wanted = config
                .server(&file.server)
                .is_some_and(|s| s.is_wanted(&file.path));
        }
        Ok(Some(snapshot.clone()))
    }

    /// Adds (`edit` = Add) or changes a server in the config file, creating the file when needed; a
    /// non-empty `password` goes to the keyring, never to the file. Leaves the demo. The next read shows
    /// the server.
    pub async fn save_server(
        &self,
        settings: ServerSettings,
        edit: ServerEdit,
        password: Option<String>,
    ) -> Result<(), ErrorInfo> {
        let entry = settings.entry();
        let text = config_file::read_text(&self.config_path).map_err(info)?;
        let edited = config_file::edit_server(&text, &entry, edit).map_err(info)?;
        if let Some(edited) = &edited {
            // The same check the app makes when it starts, with the real environment variables, so a save
            // never leaves a file the app then refuses.
            let env = |var: &str| std::env::var(var).ok();
            Config::parse(edited, &self.config_path.display().to_string(), &env)
                .map_err(|err| info(err.into()))?;
        }
        if let Some(password) = password.filter(|p| !p.is_empty()) {
            if entry.username.is_none() {
                return Err(ErrorInfo {
                    kind: ErrorKind::Config,
                    message: "A password needs a user name: enter the user name that goes with it."
                        .into(),
                });
            }
            let secrets = self.secrets.clone();
            let name = entry.name.clone();
            tauri::async_runtime::spawn_blocking(move || {
                secrets.set(&name, &Secret::new(password))
            })
            .await
            .map_err(|err| internal(format!("cannot store the password: {err}")))?
            .map_err(info)?;
        }
        if let Some(edited) = edited {
            config_file::write_atomic(&self.config_path, edited.as_bytes()).map_err(info)?;
        }
        self.reload().await;
        Ok(())
    }

    /// Removes a server from the config file and its password from the keyring.
    pub async fn remove_server(&self, name: &str) -> Result<(), ErrorInfo> {
        if self.is_demo() {
            return Err(ErrorInfo {
                kind: ErrorKind::Config,
                message: "The demo server is not in your settings; leave the demo instead.".into(),
            });
        }
        if config_file::remove_server(&self.config_path, name).map_err(info)?
            == config_file::Outcome::Unchanged
        {
            return Err(no_server(name));
        }
        let secrets = self.secrets.clone();
        let owned = name.to_owned();
        let deleted = tauri::async_runtime::spawn_blocking(move || secrets.delete(&owned))
            .await
            .map_err(|err| internal(format!("cannot reach the keyring: {err}")))?;
        self.reload().await;
        deleted.map_err(info)
    }

    /// Connects with settings that are not saved yet and reports what the server supports. `password`
    /// is used for this test only; without one the stored password is.
    pub async fn test_connection(
        &self,
        settings: ServerSettings,
        password: Option<String>,
    ) -> Result<Capabilities, ErrorInfo> {
        let entry = settings.entry();
        let text = config_file::edit_server("", &entry, ServerEdit::Add)
            .map_err(info)?
            .unwrap_or_default();
        let env = |var: &str| std::env::var(var).ok();
        let config =
            Config::parse(&text, "the server form", &env).map_err(|err| info(err.into()))?;
        let Some(server) = config.servers.into_iter().next() else {
            return Err(internal("the server form made no server".into()));
        };
        let secrets: Arc<dyn SecretStore> = match password.filter(|p| !p.is_empty()) {
            Some(password) => {
                let typed = MemoryStore::new();
                typed
                    .set(&server.name, &Secret::new(password))
                    .map_err(info)?;
                Arc::new(typed)
            }
            None => self.secrets.clone(),
        };
        let name = server.name.clone();
        let connected = Server::connect(server, secrets)
            .await
            .map_err(|err| ErrorInfo::for_server(&name, &err))?;
        actions::capabilities(&connected)
            .await
            .map_err(|err| ErrorInfo::for_server(&name, &err))
    }

    /// Reads the config file again (after an edit): the demo ends, the latest snapshot is dropped.
    async fn reload(&self) {
        let source = load(&self.config_path, false).await;
        *guard(&self.source) = source;
        *guard(&self.last) = None;
        self.follow_source();
    }
}

/// Loads the config at `path`. A missing file means the demo (`demo_if_missing`) or nothing.
async fn load(path: &std::path::Path, demo_if_missing: bool) -> Source {
    if !path.exists() {
        if !demo_if_missing {
            return Source::Empty;
        }
        return start_demo().await.unwrap_or_else(|err| {
            Source::Broken(internal(format!("cannot start the demo server: {err}")))
        });
    }
    match Config::load(path) {
        Ok(config) => Source::File(config),
        Err(err) => {
            let err = Error::from(err);
            Source::Broken(ErrorInfo {
                kind: err.kind(),
                message: err.to_string(),
            })
        }
    }
}

async fn start_demo() -> lockwatch::Result<Source> {
    let mut demo = Demo::start(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    demo.simulate_colleagues(DEMO_EVERY);
    let config = demo.config()?;
    Ok(Source::Demo {
        config,
        _demo: demo,
    })
}

/// Whether two snapshots show the same, whenever they were made: compared in place, as copying 10,000
/// files to compare them every few seconds would cost more than the comparison.
fn same_apart_from_time(a: &Snapshot, b: &Snapshot) -> bool {
    let Snapshot {
        servers,
        files,
        demo,
        paused,
        generated_at: _,
        config_path,
    } = a;
    *servers == b.servers
        && *files == b.files
        && *demo == b.demo
        && *paused == b.paused
        && *config_path == b.config_path
}

/// A path that names a file (locks are taken on files), without a leading slash.
fn file_path(path: &str) -> Result<&str, ErrorInfo> {
    let path = path.trim_start_matches('/');
    if path.is_empty() || path.ends_with('/') {
        return Err(ErrorInfo {
            kind: ErrorKind::Config,
            message: format!("\u{201c}{path}\u{201d} is not a file; locks are taken on files."),
        });
    }
    Ok(path)
}

fn no_server(name: &str) -> ErrorInfo {
    ErrorInfo {
        kind: ErrorKind::Config,
        message: format!("There is no server named \u{201c}{name}\u{201d} in the settings."),
    }
}

fn info(err: Error) -> ErrorInfo {
    ErrorInfo {
        kind: err.kind(),
        message: err.to_string(),
    }
}

fn internal(message: String) -> ErrorInfo {
    ErrorInfo {
        kind: ErrorKind::Internal,
        message,
    }
}
