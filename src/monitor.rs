//! Watching as a front end runs it: the watch engine plus everything around it that every front end needs.
//!
//! A [`Monitor`] owns a [`Watcher`] and consumes its events in one place, so the command line's `watch` and
//! the desktop app behave the same:
//! - every event is recorded in the [`History`] (when there is one) before anyone sees it;
//! - locks taken through Lockwatch (the held-lock store, [`HeldLocks`]) are marked `mine` as each reading
//!   comes in, so the snapshot, [`Monitor::report`] and every event know them; the user's own release of a
//!   wanted file is not announced back to them;
//! - releases of wanted files become desktop notices ([`Announcer`]), and files listed in `auto_lock` are
//!   locked for the user the moment they free up;
//! - the config can change while watching: [`Monitor::reload`] (a front end that edited it) or
//!   [`Monitor::follow_config_file`] (someone ran `lockwatch want`); an invalid file is reported and the
//!   previous config stays in force;
//! - "Pause watching", "Refresh now" and user actions ([`Monitor::perform`]) go through it, and a file acted
//!   on is read again at once.
//!
//! Front ends receive [`Update`]s on a channel and decide how to show them. Nothing here prints, and the
//! monitor knows nothing of any UI toolkit.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, Local, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::actions::{self, Action, ActionReport};
use crate::config::Config;
use crate::config_file::EditWatch;
use crate::error::{Error, Result};
use crate::held::{self, HeldLocks};
use crate::history::History;
use crate::model::{FileEntry, ServerStatus, StatusReport};
use crate::protocol::{Server, Take};
use crate::secrets::SecretStore;
use crate::sync::guard;
use crate::watch::notice::{Announcer, LockTaker, Notice, Notifier};
use crate::watch::{
    self, Announcements, Clock, Health, LockEvent, Pacing, Reader, Snapshot, Target, Watcher,
};

/// How often [`Monitor::follow_config_file`] looks at the file.
const CONFIG_CHECK_EVERY: Duration = Duration::from_secs(2);

/// What a front end hears from a running monitor.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "update", rename_all = "snake_case")]
pub enum Update {
    /// A lock event, already recorded in the history, with the user's own locks marked `mine`.
    Event(LockEvent),
    /// A desktop notice was shown.
    Notified(Notice),
    /// The config in force changed (reloaded, or edited by the front end).
    Reconfigured,
    /// Something the user should know that concerns no single server (history unavailable, notifications
    /// unavailable, the config file has an error). Said once per cause.
    Problem {
        /// One sentence for a person.
        message: String,
    },
}

/// What a monitor is built from.
pub struct Setup {
    /// Where passwords come from.
    pub secrets: Arc<dyn SecretStore>,
    /// Shows desktop notices.
    pub notifier: Arc<dyn Notifier>,
    /// Where events (and ask-to-release requests) are recorded; `None` runs without history.
    pub history: Option<Arc<History>>,
    /// The held-lock store: which locks were taken here. `None` marks nothing and cannot auto-lock.
    pub held: Option<HeldLocks>,
    /// Wall-clock time.
    pub clock: Arc<dyn Clock>,
    /// Timing; `None` uses [`Pacing::new`] with the config's poll interval.
    pub pacing: Option<Pacing>,
}

/// A running watch with everything around it. Dropping it stops watching.
pub struct Monitor {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").finish_non_exhaustive()
    }
}

struct Shared {
    config: Mutex<Config>,
    watcher: Watcher,
    secrets: Arc<dyn SecretStore>,
    held: Option<HeldLocks>,
    history: Option<Arc<History>>,
    updates: mpsc::UnboundedSender<Update>,
    auto_lock: mpsc::UnboundedSender<HashSet<(String, String)>>,
    gates: Gates,
}

fn auto_lock_set(config: &Config) -> HashSet<(String, String)> {
    config
        .servers
        .iter()
        .flat_map(|s| s.auto_lock.iter().map(|p| (s.name.clone(), p.clone())))
        .collect()
}

/// Reads through `inner` and marks the locks the held-lock store says were taken here: the watcher's
/// snapshot, and so every event (a release carries the locks of the reading before), knows the user's own.
///
/// A reading and a user action on the same server never interleave (the `gate`): otherwise a reading taken
/// between an action's LOCK and its entry in the store would report the user's new lock as someone's.
struct MarkingReader {
    inner: Arc<dyn Reader>,
    held: HeldLocks,
    server: String,
    gate: Gate,
}

/// Serialises readings and user actions per server.
type Gate = Arc<tokio::sync::Mutex<()>>;

/// One gate per server name, created on first use.
#[derive(Default)]
struct Gates(Mutex<HashMap<String, Gate>>);

impl Gates {
    fn of(&self, server: &str) -> Gate {
        guard(&self.0).entry(server.to_owned()).or_default().clone()
    }
}

impl MarkingReader {
    /// The locks the held-lock store says are the user's (none when it cannot be read).
    fn held(&self) -> Vec<held::HeldLock> {
        self.held.load().unwrap_or_else(|err| {
            tracing::warn!(error = %err, "cannot read the held-lock store");
            Vec::new()
        })
    }

    /// Marks the locks of `files` that `held` says are the user's.
    fn mark(&self, held: &[held::HeldLock], files: &mut [FileEntry]) {
        if !held.is_empty() {
            for file in files {
                held::mark_mine(held, &file.path, &self.server, &mut file.locks);
            }
        }
    }
}

impl Reader for MarkingReader {
    fn read<'a>(
        &'a self,
        paths: &'a [String],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<FileEntry>>> {
        Box::pin(async move {
            let _turn = self.gate.lock().await;
            let mut files = self.inner.read(paths, now).await?;
            self.mark(&self.held(), &mut files);
            Ok(files)
        })
    }

    fn poll_each<'a>(
        &'a self,
        paths: &'a [String],
        now: DateTime<Utc>,
        take: &'a mut Take<'_>,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            let _turn = self.gate.lock().await;
            let held = self.held();
            let mut marked = |entry: &str, mut files: Vec<FileEntry>| {
                self.mark(&held, &mut files);
                take(entry, files);
            };
            self.inner.poll_each(paths, now, &mut marked).await
        })
    }

    fn listen(&self, announcements: Announcements) -> BoxFuture<'_, ()> {
        self.inner.listen(announcements)
    }
}

/// The watcher's targets for `config`, marking the user's own locks when there is a held-lock store.
fn targets(
    config: &Config,
    secrets: &Arc<dyn SecretStore>,
    held: Option<&HeldLocks>,
    gates: &Gates,
) -> Vec<Target> {
    let mut targets = watch::targets(config, secrets.clone());
    if let Some(held) = held {
        for target in &mut targets {
            target.reader = Arc::new(MarkingReader {
                inner: target.reader.clone(),
                held: held.clone(),
                server: target.config.name.clone(),
                gate: gates.of(&target.config.name),
            });
        }
    }
    targets
}

impl Monitor {
    /// Starts watching every server of `config`; updates arrive on the returned receiver. Must be called
    /// inside a tokio runtime.
    pub fn start(config: Config, setup: Setup) -> (Monitor, mpsc::UnboundedReceiver<Update>) {
        let (updates, rx) = mpsc::unbounded_channel();
        let (auto_lock_tx, auto_lock_rx) = mpsc::unbounded_channel();
        let pacing = setup
            .pacing
            .unwrap_or_else(|| Pacing::new(config.poll_interval));
        let gates = Gates::default();
        let (watcher, events) = Watcher::start(
            targets(&config, &setup.secrets, setup.held.as_ref(), &gates),
            pacing,
            setup.clock.clone(),
        );
        let auto_lock = auto_lock_set(&config);
        let shared = Arc::new(Shared {
            config: Mutex::new(config),
            watcher,
            secrets: setup.secrets,
            held: setup.held,
            history: setup.history,
            updates,
            auto_lock: auto_lock_tx,
            gates,
        });
        let mut announcer = Announcer::new(setup.notifier, Local);
        if shared.held.is_some() {
            announcer = announcer.with_taker(Arc::new(Taker(Arc::downgrade(&shared))), auto_lock);
        }
        let task = tokio::spawn(consume(
            Arc::downgrade(&shared),
            events,
            announcer,
            auto_lock_rx,
        ));
        (
            Monitor {
                shared,
                tasks: vec![task],
            },
            rx,
        )
    }

    /// The config in force.
    pub fn config(&self) -> Config {
        guard(&self.shared.config).clone()
    }

    /// What every server looked like at its latest reading (health with the retry countdown, files).
    pub fn snapshot(&self) -> Snapshot {
        self.shared.watcher.snapshot()
    }

    /// The latest readings as a status report, in the config's server order, the user's own locks marked.
    /// A server not read yet is `ok: false` without an error.
    pub fn report(&self) -> StatusReport {
        self.report_of(self.snapshot())
    }

    /// [`Monitor::report`] of readings taken with [`Monitor::snapshot`], for a front end that also wants
    /// the readings' times and retry countdowns without copying every file twice.
    pub fn report_of(&self, snapshot: Snapshot) -> StatusReport {
        let config = self.config();
        let mut readings = snapshot.servers;
        let mut report = StatusReport {
            servers: Vec::new(),
            files: Vec::new(),
        };
        for server in &config.servers {
            let reading = readings.remove(&server.name);
            let (ok, error) = match reading.as_ref().map(|r| &r.health) {
                Some(Health::Up) => (true, None),
                Some(Health::Down { error, .. }) => (false, Some(error.clone())),
                None => (false, None),
            };
            report.servers.push(ServerStatus {
                name: server.name.clone(),
                kind: server.kind.fixed(),
                ok,
                error,
            });
            if let Some(reading) = reading {
                report
                    .files
                    .extend(reading.files.into_values().map(|mut f| {
                        // The wanted flag follows the config in force, also between readings.
                        f.wanted = server.is_wanted(&f.path);
                        f
                    }));
            }
        }
        if let Some(held) = &self.shared.held
            && let Err(err) = held.reconcile(&mut report)
        {
            tracing::warn!(error = %err, "cannot read the held-lock store");
        }
        report
    }

    /// Stops or resumes polling ("Pause watching").
    pub fn set_paused(&self, paused: bool) {
        self.shared.watcher.set_paused(paused);
    }

    /// Whether polling is paused.
    pub fn is_paused(&self) -> bool {
        self.shared.watcher.is_paused()
    }

    /// Reads every server (or one) now ("Refresh now").
    pub fn refresh(&self, server: Option<&str>) {
        self.shared.watcher.refresh(server);
    }

    /// Puts `config` in force: servers whose settings are unchanged keep their state; changed `wanted` and
    /// `auto_lock` lists take effect at once.
    pub fn reload(&self, config: Config) {
        self.shared.reload(config);
    }

    /// Keeps the config in force in step with the file at `path`: when it changes, it is read and, when
    /// valid, put in force; an invalid file is reported (with its line and column) and ignored.
    pub fn follow_config_file(&mut self, path: PathBuf) {
        let shared = Arc::downgrade(&self.shared);
        self.tasks.push(tokio::spawn(follow(shared, path)));
    }

    /// Performs a user action on a file and reads the file again at once, so the table and the events
    /// follow. Errors only when the server is not configured or cannot be connected.
    pub async fn perform(&self, server: &str, path: &str, action: Action) -> Result<ActionReport> {
        self.shared.perform(server, path, action).await
    }

    /// A handle for user actions that can be kept across an `.await` while the monitor itself sits
    /// behind a front end's lock.
    pub fn handle(&self) -> ActionHandle {
        ActionHandle(self.shared.clone())
    }
}

/// Performs user actions through a monitor (see [`Monitor::perform`]).
#[derive(Clone)]
pub struct ActionHandle(Arc<Shared>);

impl std::fmt::Debug for ActionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionHandle").finish_non_exhaustive()
    }
}

impl ActionHandle {
    /// As [`Monitor::perform`].
    pub async fn perform(&self, server: &str, path: &str, action: Action) -> Result<ActionReport> {
        self.0.perform(server, path, action).await
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Shared {
    fn config(&self) -> Config {
        guard(&self.config).clone()
    }

    fn problem(&self, message: String) {
        let _ = self.updates.send(Update::Problem { message });
    }

    fn reload(&self, config: Config) {
        let targets = targets(&config, &self.secrets, self.held.as_ref(), &self.gates);
        let _ = self.auto_lock.send(auto_lock_set(&config));
        *guard(&self.config) = config;
        self.watcher.reconfigure(targets);
        let _ = self.updates.send(Update::Reconfigured);
    }

    async fn perform(&self, server: &str, path: &str, action: Action) -> Result<ActionReport> {
        let config = self.config();
        let server_config = config
            .server(server)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                what: format!("server \"{server}\" in the config"),
            })?;
        let held = match &self.held {
            Some(held) => held.clone(),
            None => HeldLocks::in_data_dir()?,
        };
        let connected = Server::connect(server_config, self.secrets.clone()).await?;
        let owner = actions::lock_owner(config.owner.as_deref(), &connected);
        let report = {
            let gate = self.gates.of(server);
            let _turn = gate.lock().await;
            actions::perform(&connected, &held, &owner, path, action).await
        };
        self.watcher.reread(server, vec![path.to_owned()]);
        Ok(report)
    }
}

/// Auto-lock: takes the lock through the same path as the user's "Lock" button.
struct Taker(Weak<Shared>);

impl LockTaker for Taker {
    fn take<'a>(&'a self, server: &'a str, path: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let shared = self.0.upgrade().ok_or_else(|| Error::Conflict {
                detail: "watching has stopped".into(),
            })?;
            let report = shared.perform(server, path, Action::LOCK_NOW).await?;
            if report.outcome.ok {
                Ok(())
            } else {
                Err(Error::Conflict {
                    detail: report.outcome.message,
                })
            }
        })
    }
}

/// The one consumer of the watcher's events: marks, records, announces, forwards.
async fn consume(
    shared: Weak<Shared>,
    mut events: mpsc::UnboundedReceiver<LockEvent>,
    mut announcer: Announcer<Local>,
    mut auto_lock: mpsc::UnboundedReceiver<HashSet<(String, String)>>,
) {
    let mut history_failed = false;
    let mut notices_failed = false;
    loop {
        let event = tokio::select! {
            Some(set) = auto_lock.recv() => {
                announcer.set_auto_lock(set);
                continue;
            }
            event = events.recv() => match event {
                Some(event) => event,
                None => return,
            },
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if let Some(history) = &shared.history {
            match history.record(&event) {
                Ok(()) => history_failed = false,
                Err(err) if !history_failed => {
                    history_failed = true;
                    shared.problem(format!("the history is not being recorded: {err}"));
                }
                Err(_) => {}
            }
        }
        let own_release = matches!(
            &event,
            LockEvent::Unlocked { released, .. }
                if !released.is_empty() && released.iter().all(|l| l.mine)
        );
        if !own_release {
            // Dropping `shared` first would let the monitor stop mid-notice; holding it is fine: the
            // announcer's auto-lock needs it alive anyway.
            match announcer.handle(&event).await {
                Ok(Some(notice)) => {
                    let _ = shared.updates.send(Update::Notified(notice));
                }
                Ok(None) => {}
                Err(err) if !notices_failed => {
                    notices_failed = true;
                    shared.problem(format!("desktop notifications are unavailable: {err}"));
                }
                Err(_) => {}
            }
        }
        if shared.updates.send(Update::Event(event)).is_err() {
            return;
        }
    }
}

async fn follow(shared: Weak<Shared>, path: PathBuf) {
    let mut edits = EditWatch::new(path);
    let mut reported: Option<String> = None;
    loop {
        tokio::time::sleep(CONFIG_CHECK_EVERY).await;
        let Some(loaded) = edits.changed() else {
            continue;
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        match loaded {
            Ok(config) => {
                reported = None;
                if config != shared.config() {
                    shared.reload(config);
                }
            }
            Err(err) => {
                let message =
                    format!("{err}; the previous settings stay in force until it is fixed");
                if reported.as_deref() != Some(message.as_str()) {
                    shared.problem(message.clone());
                    reported = Some(message);
                }
            }
        }
    }
}
