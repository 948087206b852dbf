//! The watch engine: poll every server, turn changes into [`LockEvent`]s, tell the user when a wanted file
//! is free.
//!
//! Three layers, each usable and tested alone:
//! - [`mod@diff`]: the pure decision "what changed between two readings at time `now`" — table-tested;
//! - [`schedule`]: the tokio loop that reads each server on its own task, with intervals, jitter, backoff
//!   and expiry timers, and publishes events on a channel — tested on tokio's paused clock;
//! - [`notice`]: what a wanted file's release looks like as a desktop notification, sent through the
//!   [`notice::Notifier`] trait (notify-rust on the desktop, a recorder in tests), at most once per release;
//! - [`push`]: Nextcloud's push channel (notify_push), which tells the scheduler which files changed so
//!   they are read at once instead of at the next poll.
//!
//! The engine reads servers through [`Reader`]; [`ServerReader`] adapts the protocol layer's
//! [`Server`] (credentials, detection) to it. Time comes from a [`Clock`]; the
//! engine itself never asks the system for the time. It knows nothing of any UI, and it never takes or
//! releases a lock itself: auto-lock plugs in through [`notice::LockTaker`].

pub mod diff;
pub mod notice;
pub mod push;
pub mod schedule;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use tokio::sync::OnceCell;

pub use diff::{DiffOptions, Health, LockEvent, ServerReading, Snapshot, diff};
pub use schedule::{Announcement, Announcements, Pacing, Target, Watcher};

use crate::config::ServerConfig;
use crate::error::Result;
use crate::model::FileEntry;
use crate::protocol::{Server, Take, hand_out};
use crate::secrets::SecretStore;

/// Where wall-clock time comes from.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock: the one place the engine's time comes from in production.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Wall time that follows tokio's clock from a fixed origin, so a paused, auto-advancing test runtime moves
/// timestamps and timers together.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: DateTime<Utc>,
    started: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads `origin` now and advances with `tokio::time::Instant`.
    pub fn starting_at(origin: DateTime<Utc>) -> TokioClock {
        TokioClock {
            origin,
            started: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default();
        self.origin + elapsed
    }
}

/// Reads the lock state of some paths of one server (a narrower view of
/// [`LockSource`](crate::protocol::LockSource) that also covers connecting).
pub trait Reader: Send + Sync {
    /// Reads `paths` (relative to the server URL; `Folder/` reads its members). Whole-server problems are
    /// `Err`; file problems are entries in state `error`.
    fn read<'a>(
        &'a self,
        paths: &'a [String],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<FileEntry>>>;

    /// Reads a server task's whole read list `paths` for a poll of everything, handing each entry's part to
    /// `take` as it is read; folders the server shows unchanged since the previous poll may be skipped,
    /// and are returned (see [`LockSource::poll_each`](crate::protocol::LockSource::poll_each)). The
    /// default reads everything with [`read`](Reader::read) and hands it out.
    fn poll_each<'a>(
        &'a self,
        paths: &'a [String],
        now: DateTime<Utc>,
        take: &'a mut Take<'_>,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            hand_out(paths, self.read(paths, now).await?, take);
            Ok(Vec::new())
        })
    }

    /// Listens to the server's push channel, if it has one, handing what it announces to
    /// `announcements`; returns when there is no channel or it is closed for good (a channel that
    /// breaks is reopened here, not by the caller). Runs on its own task beside the readings and is
    /// stopped with the server's task. The default has no channel.
    fn listen(&self, announcements: Announcements) -> BoxFuture<'_, ()> {
        let _ = announcements;
        Box::pin(async {})
    }
}

/// A configured server as a [`Reader`]: connects (password, protocol detection) on first use and again after
/// a failure to connect, so a keyring that unlocks later or a server that comes up later just works.
pub struct ServerReader {
    config: ServerConfig,
    secrets: Arc<dyn SecretStore>,
    server: OnceCell<Server>,
}

impl ServerReader {
    /// A reader for `config`, taking a keyring password from `secrets` when needed.
    pub fn new(config: ServerConfig, secrets: Arc<dyn SecretStore>) -> ServerReader {
        ServerReader {
            config,
            secrets,
            server: OnceCell::new(),
        }
    }
}

impl ServerReader {
    /// The connected server (connecting now if needed).
    async fn server(&self) -> Result<&Server> {
        self.server
            .get_or_try_init(|| Server::connect(self.config.clone(), self.secrets.clone()))
            .await
    }
}

impl Reader for ServerReader {
    fn read<'a>(
        &'a self,
        paths: &'a [String],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<FileEntry>>> {
        Box::pin(async move { self.server().await?.source().await?.read(paths, now).await })
    }

    fn poll_each<'a>(
        &'a self,
        paths: &'a [String],
        now: DateTime<Utc>,
        take: &'a mut Take<'_>,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            let source = self.server().await?.source().await?;
            source.poll_each(paths, now, take).await
        })
    }

    fn listen(&self, announcements: Announcements) -> BoxFuture<'_, ()> {
        Box::pin(push::listen(self, announcements))
    }
}

/// The targets for every server of `config`, read through [`ServerReader`].
pub fn targets(config: &crate::config::Config, secrets: Arc<dyn SecretStore>) -> Vec<Target> {
    config
        .servers
        .iter()
        .map(|server| Target {
            config: server.clone(),
            reader: Arc::new(ServerReader::new(server.clone(), secrets.clone())),
        })
        .collect()
}
