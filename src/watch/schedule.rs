//! The polling loop: one tokio task per server, each folding its readings into the snapshot and turning
//! them into [`LockEvent`]s with [`apply`] (the in-place form of [`diff_with`](super::diff::diff_with)).
//!
//! Each server's task owns everything about that server — its timers, its backoff, and its part of the
//! snapshot, the one copy of its files, which the [`Watcher`] only copies out — so a slow, dead or hostile
//! server can only ever delay itself. A poll of everything goes through [`Reader::poll_each`], which may
//! skip folders the server shows unchanged and hands over each watched folder's answer as soon as it is
//! read, to be folded in at once ([`Fold`]): a server's files are never held twice. Inside a task reads
//! are sequential: a server never has more than one reading of Lockwatch's under way (a reading's own
//! requests go a few at a time, see the protocol modules), which keeps Lockwatch polite towards servers
//! that rate-limit.
//!
//! Timing, per server:
//! - every watched and wanted path is read every `poll_interval_secs`; the wanted files alone every
//!   `wanted_interval_secs` in between; both with ±10 % jitter so many clients do not poll in lockstep;
//! - a lock's warning time fires [`LockEvent::ExpiringSoon`] without any request, and its expiry triggers
//!   an immediate re-read of that file (the server decides whether the lock is gone, or is stale);
//! - a failed reading is retried after 5 s, 10 s, 20 s … up to the poll interval (at most 5 min; plus jitter), and the server's
//!   [`Health::Down`] says when the next attempt comes (`retry_in_secs`); wanted-file polls pause meanwhile;
//! - every reading is bounded by a guard timeout on top of the HTTP client's own limits, so even a reader
//!   that never returns cannot stall its task.
//!
//! The owner steers the tasks through the [`Watcher`]: "refresh now", "re-read these files" (what a
//! server's push channel asks for), pause and resume, and a config reload that keeps what is already known
//! about unchanged servers and files, so a reload announces only real changes. Orders reach a task
//! through its own channel and are served between readings, never in the middle of one; orders queued
//! together are merged into one reading.
//!
//! Time comes from a [`Clock`] (wall time for timestamps) and from tokio's timer (for sleeping), so tests run
//! on tokio's paused clock with [`TokioClock`](super::TokioClock). Events leave through an unbounded channel; the engine knows
//! nothing about who listens. Dropping the [`Watcher`] stops every task.
//!
//! Not here: notifications, history, and any UI — they consume the events; and push channels, which only
//! call [`Watcher::reread`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::diff::{
    Change, DiffOptions, Fold, Health, LockEvent, ServerReading, Snapshot, apply, earliest_deadline,
};
use super::{Clock, Reader};
use crate::config::ServerConfig;
use crate::error::{Error, ErrorInfo, Result};
use crate::model::{Expiry, FileEntry, FileState};
use crate::sync::guard;

/// How the watcher paces itself; the defaults are what `lockwatch watch` uses.
#[derive(Debug, Clone)]
pub struct Pacing {
    /// Interval of full polls (the config's `poll_interval_secs`).
    pub poll_interval: Duration,
    /// First retry delay after a failure; doubles each time.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// Relative jitter on every interval (0.1 = ±10 %; backoff gets 0..+10 %).
    pub jitter: f64,
    /// The diff's tunables.
    pub diff: DiffOptions,
}

impl Pacing {
    /// Default pacing around a poll interval.
    pub fn new(poll_interval: Duration) -> Pacing {
        Pacing {
            poll_interval,
            backoff_base: Duration::from_secs(5),
            // Never slower than the normal poll: a server that comes back is seen within one poll interval,
            // and a server down for long is asked no more often than a healthy one.
            backoff_max: Duration::from_secs(300).min(poll_interval.max(Duration::from_secs(5))),
            jitter: 0.1,
            diff: DiffOptions::default(),
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_max)
    }
}

/// One server to watch: its config (paths, wanted files, intervals) and how to read it.
pub struct Target {
    /// The server's config.
    pub config: ServerConfig,
    /// Reads lock state from it.
    pub reader: Arc<dyn Reader>,
}

/// The running engine. Dropping it stops every server task.
///
/// Besides its timers, the engine takes orders from its owner: read everything now ([`Watcher::refresh`]),
/// read some files now ([`Watcher::reread`], what a server's push channel calls), stop and resume reading
/// ([`Watcher::set_paused`]), and take a new config without restarting ([`Watcher::reconfigure`]). Every
/// method takes `&self`, so the watcher can be shared behind an `Arc`.
pub struct Watcher {
    servers: Mutex<Vec<Handle>>,
    state: Arc<Mutex<Shared>>,
    paused: watch::Sender<bool>,
    events: mpsc::UnboundedSender<LockEvent>,
    pacing: Pacing,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("servers", &guard(&self.servers).len())
            .field("paused", &self.is_paused())
            .finish_non_exhaustive()
    }
}

/// The owner's side of one server task.
struct Handle {
    config: ServerConfig,
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
}

/// An order from the [`Watcher`] (or the server's push channel) to a server task.
enum Command {
    /// Read everything now.
    Refresh,
    /// Read these paths now.
    Reread(Vec<String>),
    /// The server says these things changed.
    Announced(Announcement),
}

/// What a server announced through its push channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announcement {
    /// These files changed, named by the server's file ids ([`FileEntry::file_id`]).
    Files(Vec<String>),
    /// Something changed; the server does not say what.
    Anything,
}

/// Where a server's push channel ([`Reader::listen`]) hands what it hears: the server's task, which re-reads
/// the watched files an announcement names (ids are matched against the latest reading; ids of files
/// that are not watched are ignored) or, when it names none, every watched file. Announcements are
/// ignored while the watcher is paused.
#[derive(Debug, Clone)]
pub struct Announcements(mpsc::UnboundedSender<Command>);

impl Announcements {
    /// Hands over `announcement`; false once the server's task has stopped (the listener can stop too).
    pub fn send(&self, announcement: Announcement) -> bool {
        self.0.send(Command::Announced(announcement)).is_ok()
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Refresh => f.write_str("Refresh"),
            Command::Reread(paths) => f.debug_tuple("Reread").field(paths).finish(),
            Command::Announced(a) => f.debug_tuple("Announced").field(a).finish(),
        }
    }
}

/// Each server's latest reading: the one copy of its files, which its task updates in place and
/// [`Watcher::snapshot`] copies out.
#[derive(Default)]
struct Shared {
    servers: BTreeMap<String, Slot>,
    /// Hands out task generations; see [`Slot::generation`].
    generations: u64,
}

struct Slot {
    /// The task that owns this server. A task whose generation is no longer the slot's has been replaced
    /// (or removed) by a reconfiguration and must publish nothing: checked under the same lock that
    /// replaces it, so an aborted task that is still finishing a step cannot announce anything twice.
    generation: u64,
    /// When `reading` was taken (the task's snapshot time).
    at: Option<DateTime<Utc>>,
    /// `None` until the first reading.
    reading: Option<ServerReading>,
}

impl Slot {
    /// The reading to fold into: an empty one that is up before the first reading.
    fn known(&mut self) -> &mut ServerReading {
        self.reading.get_or_insert_with(|| ServerReading::up([]))
    }
}

impl Watcher {
    /// Starts one task per target; events arrive on the returned receiver.
    pub fn start(
        targets: Vec<Target>,
        pacing: Pacing,
        clock: Arc<dyn Clock>,
    ) -> (Watcher, mpsc::UnboundedReceiver<LockEvent>) {
        let (events, rx) = mpsc::unbounded_channel();
        let watcher = Watcher {
            servers: Mutex::new(Vec::new()),
            state: Arc::new(Mutex::new(Shared::default())),
            paused: watch::Sender::new(false),
            events,
            pacing,
            clock,
        };
        watcher.reconfigure(targets);
        (watcher, rx)
    }

    /// What every server looked like at its latest reading (health, retry countdown, files).
    pub fn snapshot(&self) -> Snapshot {
        let shared = guard(&self.state);
        let mut snapshot = Snapshot::default();
        for (name, slot) in &shared.servers {
            if let Some(reading) = &slot.reading {
                snapshot.servers.insert(name.clone(), reading.clone());
                snapshot.at = snapshot.at.max(slot.at);
            }
        }
        snapshot
    }

    /// Reads every watched file of every server now (or of the server named `server` only), as if its
    /// poll interval had just passed ("Refresh now"). A server waiting to retry after a failure is tried
    /// at once. Does nothing while paused (resuming reads everything anyway) or for an unknown name.
    pub fn refresh(&self, server: Option<&str>) {
        for handle in guard(&self.servers).iter() {
            if server.is_none_or(|name| name == handle.config.name) {
                let _ = handle.commands.send(Command::Refresh);
            }
        }
    }

    /// Reads just `paths` of `server` now, e.g. because the server announced that they changed. Paths the
    /// server's config does not cover (neither watched or wanted, nor a member of a watched folder) are
    /// ignored, and so is the whole call while paused or for an unknown server.
    pub fn reread(&self, server: &str, paths: Vec<String>) {
        if paths.is_empty() {
            return;
        }
        if let Some(handle) = guard(&self.servers)
            .iter()
            .find(|h| h.config.name == server)
        {
            let _ = handle.commands.send(Command::Reread(paths));
        }
    }

    /// Pauses or resumes watching. A paused watcher sends no request, keeps no push channel open and
    /// fires no timer (no warnings, no expiry re-reads); a reading already under way completes.
    /// Resuming reads every server at once, and the events of everything that changed meanwhile follow
    /// from that reading.
    pub fn set_paused(&self, paused: bool) {
        self.paused.send_if_modified(|current| {
            let changed = *current != paused;
            *current = paused;
            changed
        });
    }

    /// Whether watching is paused.
    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// Takes a new set of servers (a reloaded config) without announcing what is already known:
    /// - a server whose config is unchanged keeps its task, timers and state (its new reader is unused);
    /// - a changed server's task is replaced by one that starts from the previous reading of the files
    ///   the new config still covers, and reads at once: re-adding a path or changing `wanted` announces
    ///   only real changes, and events carry the new `wanted` flags from that reading on;
    /// - a new server starts as at [`Watcher::start`];
    /// - a server no longer listed stops, and its files leave the snapshot.
    ///
    /// Servers are told apart by name (the config keeps names unique).
    pub fn reconfigure(&self, targets: Vec<Target>) {
        let mut servers = guard(&self.servers);
        let mut shared = guard(&self.state);
        let mut old = std::mem::take(&mut *servers);
        for target in targets {
            let name = target.config.name.clone();
            let previous = old
                .iter()
                .position(|h| h.config.name == name)
                .map(|i| old.swap_remove(i));
            if let Some(handle) = previous {
                if handle.config == target.config {
                    servers.push(handle);
                    continue;
                }
                handle.task.abort();
            }
            shared.generations += 1;
            let generation = shared.generations;
            // The new task starts from the previous reading of the files the new config still covers.
            let (at, mut reading) = shared
                .servers
                .remove(&name)
                .map_or((None, None), |slot| (slot.at, slot.reading));
            if let Some(reading) = &mut reading {
                reading.files.retain(|path, _| target.config.covers(path));
                for file in reading.files.values_mut() {
                    file.wanted = target.config.is_wanted(&file.path);
                }
            }
            shared.servers.insert(
                name.clone(),
                Slot {
                    generation,
                    at,
                    reading,
                },
            );
            let (commands, orders) = mpsc::unbounded_channel();
            let announcements = Announcements(commands.clone());
            let task = ServerTask {
                jitter: Jitter::seeded(&name),
                all: target.config.read_set(),
                target: Target {
                    config: target.config.clone(),
                    reader: target.reader,
                },
                pacing: self.pacing.clone(),
                clock: self.clock.clone(),
                events: self.events.clone(),
                state: self.state.clone(),
                generation,
                failures: 0,
                commands: orders,
                paused: self.paused.subscribe(),
            };
            servers.push(Handle {
                config: target.config,
                commands,
                task: tokio::spawn(task.run(announcements)),
            });
        }
        for handle in old {
            handle.task.abort();
            shared.servers.remove(&handle.config.name);
        }
    }

    /// Stops every task now (also done on drop).
    pub fn stop(&self) {
        for handle in guard(&self.servers).iter() {
            handle.task.abort();
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a wake-up of a server task is for.
enum Due {
    Full,
    Wanted,
    Deadlines,
    Paths(Vec<String>),
}

/// One server's task. Its target never changes: a new config means a new task.
struct ServerTask {
    target: Target,
    /// What a full reading reads.
    all: Vec<String>,
    pacing: Pacing,
    clock: Arc<dyn Clock>,
    events: mpsc::UnboundedSender<LockEvent>,
    state: Arc<Mutex<Shared>>,
    generation: u64,
    failures: u32,
    jitter: Jitter,
    commands: mpsc::UnboundedReceiver<Command>,
    paused: watch::Receiver<bool>,
}

impl ServerTask {
    async fn run(mut self, announcements: Announcements) {
        // The push channel runs beside the readings and stops with this task (the guard aborts it). It
        // is closed while the watcher is paused, which sends nothing, and opened again on resuming, whose
        // reading of everything covers what it would have announced meanwhile.
        let listen = |reader: Arc<dyn Reader>| {
            let announcements = announcements.clone();
            AbortOnDrop(tokio::spawn(async move {
                reader.listen(announcements).await;
            }))
        };
        let mut listener = Some(listen(self.target.reader.clone()));
        let wanted = self.target.config.wanted.clone();
        let mut next_full = Instant::now();
        let mut next_wanted = Instant::now() + self.target.config.wanted_interval;
        loop {
            if *self.paused.borrow_and_update() {
                drop(listener.take());
                if !self.sit_out_pause().await {
                    return;
                }
                listener = Some(listen(self.target.reader.clone()));
                // Everything is read at once; the wanted files' clock restarts after that reading.
                next_full = Instant::now();
                next_wanted = next_full + self.target.config.wanted_interval;
            }
            let now = self.clock.now();
            let deadline = if self.failures == 0 {
                let options = self.pacing.diff;
                self.with_slot(|slot| {
                    let files = slot.reading.iter().flat_map(|r| r.files.values());
                    earliest_deadline(files, now, &options)
                })
                .flatten()
                .map(|at| Instant::now() + (at - now).to_std().unwrap_or_default())
            } else {
                None
            };
            let mut wake = next_full;
            let mut due = Due::Full;
            if self.failures == 0 && !wanted.is_empty() && next_wanted < wake {
                wake = next_wanted;
                due = Due::Wanted;
            }
            if let Some(deadline) = deadline
                && deadline < wake
            {
                wake = deadline;
                due = Due::Deadlines;
            }
            let due = tokio::select! {
                biased;
                changed = self.paused.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    continue;
                }
                command = self.commands.recv() => match command {
                    Some(command) => self.gather(command),
                    None => return,
                },
                () = tokio::time::sleep_until(wake) => due,
            };
            match due {
                Due::Full => {
                    let all = self.all.clone();
                    let ok = self.read(&all, true).await;
                    let interval = if ok {
                        self.jitter
                            .spread(self.pacing.poll_interval, self.pacing.jitter)
                    } else {
                        self.retry_delay()
                    };
                    next_full = Instant::now() + interval;
                    // The wanted files were just read (or the server is down): their clock restarts.
                    next_wanted = Instant::now()
                        + self
                            .jitter
                            .spread(self.target.config.wanted_interval, self.pacing.jitter);
                }
                Due::Wanted => {
                    if !self.read(&wanted, false).await {
                        next_full = Instant::now() + self.retry_delay();
                    }
                    next_wanted = Instant::now()
                        + self
                            .jitter
                            .spread(self.target.config.wanted_interval, self.pacing.jitter);
                }
                Due::Deadlines => self.deadlines(&mut next_full).await,
                Due::Paths(paths) => {
                    if !paths.is_empty() && !self.read(&paths, false).await {
                        next_full = Instant::now() + self.retry_delay();
                    }
                }
            }
        }
    }

    /// Waits for the end of a pause; orders that arrive meanwhile are dropped (the reading that follows
    /// the pause covers them). False when the watcher is gone.
    async fn sit_out_pause(&mut self) -> bool {
        loop {
            tokio::select! {
                resumed = self.paused.wait_for(|paused| !*paused) => return resumed.is_ok(),
                command = self.commands.recv() => {
                    if command.is_none() {
                        return false;
                    }
                }
            }
        }
    }

    /// Merges `first` with every order already queued into one reading: a full one if any order asks for
    /// it, else one of the union of the paths asked for that the config covers. A burst of announcements
    /// costs one request, not one each.
    fn gather(&mut self, first: Command) -> Due {
        let mut full = false;
        let mut paths: Vec<String> = Vec::new();
        let mut take = |command: Command| match command {
            Command::Refresh => full = true,
            Command::Reread(more) => {
                for path in more {
                    if self.target.config.covers(&path) && !paths.contains(&path) {
                        paths.push(path);
                    }
                }
            }
            Command::Announced(Announcement::Anything) => full = true,
            Command::Announced(Announcement::Files(ids)) => {
                let known = with_slot(
                    &self.state,
                    &self.target.config.name,
                    self.generation,
                    |slot| {
                        slot.reading
                            .iter()
                            .flat_map(|reading| reading.files.values())
                            .filter(|f| f.file_id.as_ref().is_some_and(|id| ids.contains(id)))
                            .map(|f| f.path.clone())
                            .collect::<Vec<_>>()
                    },
                );
                for path in known.into_iter().flatten() {
                    if !paths.contains(&path) {
                        paths.push(path);
                    }
                }
            }
        };
        take(first);
        while let Ok(command) = self.commands.try_recv() {
            take(command);
        }
        if full { Due::Full } else { Due::Paths(paths) }
    }

    /// The delay before the next attempt after the current failure count (what `retry_in_secs` said).
    fn retry_delay(&mut self) -> Duration {
        let base = self.pacing.backoff(self.failures);
        base + base.mul_f64(self.jitter.unit() * self.pacing.jitter)
    }

    /// Handles every deadline that has come: re-reads files whose lock expired, otherwise just lets the
    /// diff see the time pass (for warnings).
    async fn deadlines(&mut self, next_full: &mut Instant) {
        let now = self.clock.now();
        let reread = self.expired_since_read(now);
        if reread.is_empty() {
            // Only time passed: the same files, judged at a later moment.
            self.publish(Change::default(), Some(now), now);
        } else if !self.read(&reread, false).await {
            *next_full = Instant::now() + self.retry_delay();
        }
    }

    /// Files with a lock that expired after the snapshot was taken. Only the server can say whether such a
    /// lock is gone (free!) or still listed (stale), so they are read before the snapshot's time moves past
    /// their expiry: that is what lets the diff trust "still listed". Computed from the snapshot rather
    /// than from the deadline that woke the task, so a late wake-up (a suspended laptop) misses nothing.
    fn expired_since_read(&self, now: DateTime<Utc>) -> Vec<String> {
        self.with_slot(|slot| {
            let read_at = slot.at;
            slot.reading
                .iter()
                .flat_map(|r| r.files.values())
                .filter(|f| {
                    f.locks.iter().any(|l| {
                        l.expiry != Expiry::AtMost
                            && l.expires_at
                                .is_some_and(|e| e <= now && read_at.is_none_or(|r| e > r))
                    })
                })
                .map(|f| f.path.clone())
                .collect()
        })
        .unwrap_or_default()
    }

    /// Reads `paths` (plus any file whose lock expired since the last reading) and publishes what changed;
    /// false when the server failed.
    async fn read(&mut self, paths: &[String], full: bool) -> bool {
        let now = self.clock.now();
        let mut paths = paths.to_vec();
        if !full {
            for extra in self.expired_since_read(now) {
                if !paths.contains(&extra) {
                    paths.push(extra);
                }
            }
        }
        let paths = &paths[..];
        let config = &self.target.config;
        let name = config.name.clone();
        // A guard over the whole reading: each request already has `timeout`, and a reading is at most one
        // request per path plus a detection or ancestor request.
        let guard = config.timeout.saturating_mul(
            u32::try_from(paths.len())
                .unwrap_or(u32::MAX)
                .saturating_add(2),
        );
        let result = if full {
            self.read_everything(paths, now, guard).await
        } else {
            self.read_some(paths, now, guard).await
        };
        match result {
            Ok(()) => {
                self.failures = 0;
                true
            }
            Err(err) => {
                self.failures += 1;
                let delay = self.pacing.backoff(self.failures);
                tracing::info!(server = %name, error = %err, retry_in_secs = delay.as_secs(), "reading failed");
                let error = ErrorInfo::for_server(&name, &err);
                let since = self
                    .with_slot(|slot| match slot.reading.as_ref().map(|r| &r.health) {
                        Some(Health::Down { since, .. }) => *since,
                        _ => now,
                    })
                    .unwrap_or(now);
                let down = Change {
                    health: Some(Health::Down {
                        error,
                        since,
                        retry_in_secs: Some(delay.as_secs()),
                    }),
                    ..Change::default()
                };
                // The files are last known, not fresh: the diff's time window must not move past an
                // expiry on their account (that would report a stale lock nobody has seen).
                self.publish(down, None, now);
                false
            }
        }
    }

    /// A reading of some files (wanted files, expired locks, what the server announced): folded in whole.
    async fn read_some(
        &mut self,
        paths: &[String],
        now: DateTime<Utc>,
        guard: Duration,
    ) -> Result<()> {
        let config = &self.target.config;
        let mut files = within(guard, config, self.target.reader.read(paths, now)).await?;
        mark_wanted(config, &mut files);
        let change = Change {
            health: Some(Health::Up),
            files,
        };
        self.publish(change, Some(now), now);
        Ok(())
    }

    /// A poll of everything: each part of the reading is folded in as soon as it is read (see [`Fold`]),
    /// so the server's files are never held twice; the snapshot's time moves once the reading is whole.
    /// A reading that fails half-way keeps the parts already folded in: they are what the server said.
    async fn read_everything(
        &mut self,
        paths: &[String],
        now: DateTime<Utc>,
        guard: Duration,
    ) -> Result<()> {
        let config = &self.target.config;
        let (state, events, generation) = (&self.state, &self.events, self.generation);
        let since = self.with_slot(|slot| slot.at).flatten();
        let fold = Fold::new(&config.name, paths, since, now, &self.pacing.diff);
        let mut take = |entry: &str, mut files: Vec<FileEntry>| {
            mark_wanted(config, &mut files);
            with_slot(state, &config.name, generation, |slot| {
                let known = slot.known();
                keep_last_known(known, &mut files);
                send(events, fold.part(known, entry, files));
            });
        };
        let reading = self.target.reader.poll_each(paths, now, &mut take);
        let unchanged = within(guard, config, reading).await?;
        with_slot(state, &config.name, generation, |slot| {
            let known = slot.known();
            send(events, fold.finish(known, &unchanged));
            slot.at = Some(now);
        });
        // The previous reading's entries were dropped part by part, in holes among the new ones.
        crate::memory::return_free_pages();
        Ok(())
    }

    /// Runs `f` on this task's slot; `None` once a reconfiguration replaced or removed the task.
    fn with_slot<R>(&self, f: impl FnOnce(&mut Slot) -> R) -> Option<R> {
        with_slot(&self.state, &self.target.config.name, self.generation, f)
    }

    /// Folds `change` into the server's reading and sends the events it makes. `at` is the reading's new
    /// time (`None` keeps the old one). Nothing happens for a task that was replaced.
    fn publish(&mut self, mut change: Change, at: Option<DateTime<Utc>>, now: DateTime<Utc>) {
        let options = self.pacing.diff;
        let events = &self.events;
        let name = &self.target.config.name;
        with_slot(&self.state, name, self.generation, |slot| {
            let since = slot.at;
            let known = slot.known();
            keep_last_known(known, &mut change.files);
            send(events, apply(known, name, since, change, now, &options));
            if at.is_some() {
                slot.at = at;
            }
        });
    }
}

/// `reading` of `config`'s server, or a timeout error once `guard` has passed.
async fn within<T>(
    guard: Duration,
    config: &ServerConfig,
    reading: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(guard, reading)
        .await
        .unwrap_or_else(|_| {
            Err(Error::Timeout {
                host: crate::http::host_of(&config.url),
                secs: guard.as_secs(),
            })
        })
}

/// Sets each file's `wanted` flag from `config`.
fn mark_wanted(config: &ServerConfig, files: &mut [FileEntry]) {
    for file in files {
        file.wanted = config.is_wanted(&file.path);
    }
}

/// A file that could not be read keeps its last known state: "could not read" must not become
/// "unlocked", nor churn into "locked" again on the next good reading.
fn keep_last_known(known: &ServerReading, files: &mut [FileEntry]) {
    for entry in files {
        if !matches!(entry.state, FileState::Locked | FileState::Unlocked)
            && let Some(old) = known.files.get(&entry.path)
            && matches!(old.state, FileState::Locked | FileState::Unlocked)
        {
            *entry = old.clone();
        }
    }
}

/// Sends `batch` to whoever listens; a closed channel means nobody does any more (the watcher will be
/// dropped soon).
fn send(events: &mpsc::UnboundedSender<LockEvent>, batch: Vec<LockEvent>) {
    for event in batch {
        let _ = events.send(event);
    }
}

/// Runs `f` on the slot of task `generation` of server `name`, unless a reconfiguration replaced the task
/// (checked under the same lock that replaces it, so a task that is still finishing a step after being
/// aborted cannot announce anything twice).
fn with_slot<R>(
    state: &Mutex<Shared>,
    name: &str,
    generation: u64,
    f: impl FnOnce(&mut Slot) -> R,
) -> Option<R> {
    let mut shared = guard(state);
    shared
        .servers
        .get_mut(name)
        .filter(|slot| slot.generation == generation)
        .map(f)
}

/// Aborts a spawned task when dropped, so a helper task never outlives its owner.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A small deterministic random source for jitter (splitmix64): no dependency, and reproducible per
/// server name, which keeps paused-clock tests exact.
pub(super) struct Jitter(u64);

impl Jitter {
    pub(super) fn seeded(name: &str) -> Jitter {
        let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Jitter(seed)
    }

    /// A number in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        // 53 random bits make an exactly representable fraction.
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `interval` spread by ±`fraction`.
    fn spread(&mut self, interval: Duration, fraction: f64) -> Duration {
        let factor = 1.0 + fraction * (2.0 * self.unit() - 1.0);
        interval.mul_f64(factor.max(0.0))
    }
}

/// A [`Reader`] made of a closure, for tests and adapters.
pub struct FnReader<F>(pub F);

impl<F> Reader for FnReader<F>
where
    F: Fn(Vec<String>, DateTime<Utc>) -> BoxFuture<'static, Result<Vec<FileEntry>>> + Send + Sync,
{
    fn read<'a>(
        &'a self,
        paths: &'a [String],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<FileEntry>>> {
        (self.0)(paths.to_vec(), now)
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
