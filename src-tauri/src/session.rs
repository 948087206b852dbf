//! What the app is watching right now: the config file's servers, the built-in demo, or nothing, and
//! whether watching is paused.
//!
//! Every operation here is one engine call plus bookkeeping: reading is [`lockwatch::status::collect`], the
//! demo is [`lockwatch::demo::Demo`]. The session keeps the latest [`Snapshot`] so opening the window shows
//! the table at once. It does not poll by itself (see `poll.rs`) and knows nothing of Tauri, so it is tested
//! without a runtime. Time comes in as `now`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lockwatch::config::{Config, DEFAULT_POLL_INTERVAL_SECS};
use lockwatch::demo::Demo;
use lockwatch::secrets::SecretStore;
use lockwatch::{Error, ErrorInfo, ErrorKind, status};

use crate::dto::{Feature, ServerHealth, ServerSettings, Snapshot};

/// How often the demo's simulated colleagues take or release a lock.
const DEMO_EVERY: Duration = Duration::from_secs(6);

/// The features whose commands this build registers (see `commands.rs`). Adding a command for one of
/// the UI's pending features means registering it and listing its feature here.
pub const FEATURES: &[Feature] = &[];

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

/// The app's watching state. Shared by the commands, the tray and the poll loop.
pub struct Session {
    config_path: PathBuf,
    secrets: Arc<dyn SecretStore>,
    source: Mutex<Source>,
    paused: AtomicBool,
    last: Mutex<Option<Snapshot>>,
}

impl Session {
    /// Opens the config file at `config_path`; without one, starts the built-in demo. Never fails: an
    /// invalid config is reported by [`Session::refresh`] until it is fixed.
    pub async fn open(config_path: PathBuf, secrets: Arc<dyn SecretStore>) -> Session {
        let source = load(&config_path, true).await;
        Session {
            config_path,
            secrets,
            source: Mutex::new(source),
            paused: AtomicBool::new(false),
            last: Mutex::new(None),
        }
    }

    /// The latest snapshot, reading the servers first when there is none yet.
    pub async fn snapshot(&self, now: DateTime<Utc>) -> Result<Snapshot, ErrorInfo> {
        let last = guard(&self.last).clone();
        match last {
            Some(snapshot) => Ok(snapshot),
            None => self.refresh(now).await,
        }
    }

    /// Reads every server now (even while paused) and keeps the result as the latest snapshot.
    pub async fn refresh(&self, now: DateTime<Utc>) -> Result<Snapshot, ErrorInfo> {
        if matches!(*guard(&self.source), Source::Broken(_)) {
            let reloaded = load(&self.config_path, false).await;
            *guard(&self.source) = reloaded;
        }
        let (config, demo) = match &*guard(&self.source) {
            Source::File(config) => (config.clone(), false),
            Source::Demo { config, .. } => (config.clone(), true),
            Source::Empty => (Config::empty(), false),
            Source::Broken(error) => return Err(error.clone()),
        };
        let report = status::collect(&config, &[], self.secrets.clone(), now).await;
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
            features: FEATURES.to_vec(),
            config_path: self.config_path.display().to_string(),
        };
        *guard(&self.last) = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// Pauses or resumes watching; returns the latest snapshot with the new state, if there is one.
    pub fn set_paused(&self, paused: bool) -> Option<Snapshot> {
        self.paused.store(paused, Ordering::SeqCst);
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

fn internal(message: String) -> ErrorInfo {
    ErrorInfo {
        kind: ErrorKind::Internal,
        message,
    }
}

/// Locks a mutex; a panic elsewhere while holding it leaves plain data that is still usable.
fn guard<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
