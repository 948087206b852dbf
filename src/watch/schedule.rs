//! The polling loop: one tokio task per server, each turning readings into [`LockEvent`]s via [`diff_with`].
//!
//! Each server's task owns everything about that server — its snapshot, its timers, its backoff — so a
//! slow, dead or hostile server can only ever delay itself. Inside a task reads are sequential: a server
//! never has more than one read of Lockwatch's in flight (the per-server concurrency limit is one reading;
//! a reading's own requests are sequential too, see the protocol modules), which keeps Lockwatch polite
//! towards servers that rate-limit.
//!
//! Timing, per server:
//! - every watched and wanted path is read every `poll_interval_secs`; the wanted files alone every
//!   `wanted_interval_secs` in between; both with ±10 % jitter so many clients do not poll in lockstep;
//! - a lock's warning time fires [`LockEvent::ExpiringSoon`] without any request, and its expiry triggers
//!   an immediate re-read of that file (the server decides whether the lock is gone, or is stale);
//! - a failed reading is retried after 5 s, 10 s, 20 s … up to 5 min (plus jitter), and the server's
//!   [`Health::Down`] says when the next attempt comes (`retry_in_secs`); wanted-file polls pause meanwhile;
//! - every reading is bounded by a guard timeout on top of the HTTP client's own limits, so even a reader
//!   that never returns cannot stall its task.
//!
//! Time comes from a [`Clock`] (wall time for timestamps) and from tokio's timer (for sleeping), so tests run
//! on tokio's paused clock with [`TokioClock`](super::TokioClock). Events leave through an unbounded channel; the engine knows
//! nothing about who listens. Dropping the [`Watcher`] stops every task.
//!
//! Not here: notifications, history, and any UI — they consume the events. Nextcloud push is not wired in.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::diff::{
    DiffOptions, Health, LockEvent, ServerReading, Snapshot, diff_with, next_deadlines,
};
use super::{Clock, Reader};
use crate::config::ServerConfig;
use crate::error::{Error, ErrorInfo, Result};
use crate::model::{FileEntry, FileState};

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
            backoff_max: Duration::from_secs(300),
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
pub struct Watcher {
    tasks: Vec<JoinHandle<()>>,
    state: Arc<Mutex<Snapshot>>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("servers", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

impl Watcher {
    /// Starts one task per target; events arrive on the returned receiver.
    pub fn start(
        targets: Vec<Target>,
        pacing: Pacing,
        clock: Arc<dyn Clock>,
    ) -> (Watcher, mpsc::UnboundedReceiver<LockEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(Mutex::new(Snapshot::default()));
        let tasks = targets
            .into_iter()
            .map(|target| {
                let task = ServerTask {
                    jitter: Jitter::seeded(&target.config.name),
                    target,
                    pacing: pacing.clone(),
                    clock: clock.clone(),
                    events: tx.clone(),
                    state: state.clone(),
                    current: Snapshot::default(),
                    failures: 0,
                };
                tokio::spawn(task.run())
            })
            .collect();
        (Watcher { tasks, state }, rx)
    }

    /// What every server looked like at its latest reading (health, retry countdown, files).
    pub fn snapshot(&self) -> Snapshot {
        self.state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Stops every task now (also done on drop).
    pub fn stop(&mut self) {
        for task in &self.tasks {
            task.abort();
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
}

struct ServerTask {
    target: Target,
    pacing: Pacing,
    clock: Arc<dyn Clock>,
    events: mpsc::UnboundedSender<LockEvent>,
    state: Arc<Mutex<Snapshot>>,
    current: Snapshot,
    failures: u32,
    jitter: Jitter,
}

impl ServerTask {
    async fn run(mut self) {
        let all = self.target.config.read_set();
        let wanted = self.target.config.wanted.clone();
        let mut next_full = Instant::now();
        let mut next_wanted = Instant::now() + self.target.config.wanted_interval;
        loop {
            let now = self.clock.now();
            let deadline = if self.failures == 0 {
                next_deadlines(&self.current, now, &self.pacing.diff)
                    .first()
                    .map(|d| Instant::now() + (d.at - now).to_std().unwrap_or_default())
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
            tokio::time::sleep_until(wake).await;
            match due {
                Due::Full => {
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
            }
        }
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
            let mut next = self.current.clone();
            next.at = Some(now);
            self.publish(next, now);
        } else if !self.read(&reread, false).await {
            *next_full = Instant::now() + self.retry_delay();
        }
    }

    /// Files with a lock that expired after the snapshot was taken. Only the server can say whether such a
    /// lock is gone (free!) or still listed (stale), so they are read before the snapshot's time moves past
    /// their expiry: that is what lets the diff trust "still listed". Computed from the snapshot rather
    /// than from the deadline that woke the task, so a late wake-up (a suspended laptop) misses nothing.
    fn expired_since_read(&self, now: DateTime<Utc>) -> Vec<String> {
        let read_at = self.current.at;
        self.current
            .servers
            .values()
            .flat_map(|r| r.files.values())
            .filter(|f| {
                f.locks.iter().any(|l| {
                    l.expiry != crate::model::Expiry::AtMost
                        && l.expires_at
                            .is_some_and(|e| e <= now && read_at.is_none_or(|r| e > r))
                })
            })
            .map(|f| f.path.clone())
            .collect()
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
        let result = match tokio::time::timeout(guard, self.target.reader.read(paths, now)).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                host: crate::http::host_of(&config.url),
                secs: guard.as_secs(),
            }),
        };
        let mut next = self.current.clone();
        let reading = next
            .servers
            .entry(name.clone())
            .or_insert_with(|| ServerReading::up([]));
        match result {
            Ok(entries) => {
                self.failures = 0;
                reading.health = Health::Up;
                let mut fresh: std::collections::BTreeMap<String, FileEntry> =
                    std::collections::BTreeMap::new();
                for mut entry in entries {
                    entry.wanted = config.is_wanted(&entry.path);
                    // A file that could not be read keeps its last known state: "could not read" must not
                    // become "unlocked", nor churn into "locked" again on the next good reading.
                    if !matches!(entry.state, FileState::Locked | FileState::Unlocked)
                        && let Some(old) = reading.files.get(&entry.path)
                        && matches!(old.state, FileState::Locked | FileState::Unlocked)
                    {
                        entry = old.clone();
                    }
                    fresh.insert(entry.path.clone(), entry);
                }
                if full {
                    reading.files = fresh;
                } else {
                    reading.files.extend(fresh);
                }
                next.at = Some(now);
                self.publish(next, now);
                true
            }
            Err(err) => {
                self.failures += 1;
                let delay = self.pacing.backoff(self.failures);
                let since = match &reading.health {
                    Health::Down { since, .. } => *since,
                    Health::Up => now,
                };
                tracing::info!(server = %name, error = %err, retry_in_secs = delay.as_secs(), "reading failed");
                reading.health = Health::Down {
                    error: ErrorInfo::for_server(&name, &err),
                    since,
                    retry_in_secs: Some(delay.as_secs()),
                };
                // The files are last known, not fresh: the diff's time window must not move past an
                // expiry on their account (that would report a stale lock nobody has seen).
                next.at = self.current.at;
                self.publish(next, now);
                false
            }
        }
    }

    fn publish(&mut self, next: Snapshot, now: DateTime<Utc>) {
        for event in diff_with(&self.current, &next, now, &self.pacing.diff) {
            // A closed channel means nobody listens any more; the watcher will be dropped soon.
            let _ = self.events.send(event);
        }
        if let Some(reading) = next.servers.get(&self.target.config.name) {
            let mut shared = self
                .state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            shared
                .servers
                .insert(self.target.config.name.clone(), reading.clone());
            shared.at = next.at.max(shared.at);
        }
        self.current = next;
    }
}

/// A small deterministic random source for jitter (splitmix64): no dependency, and reproducible per
/// server name, which keeps paused-clock tests exact.
struct Jitter(u64);

impl Jitter {
    fn seeded(name: &str) -> Jitter {
        let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Jitter(seed)
    }

    /// A number in [0, 1).
    fn unit(&mut self) -> f64 {
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
