//! Scheduler tests on tokio's paused clock: intervals, backoff, isolation of servers, expiry timers.
//! No test sleeps in real time; tokio advances its clock whenever every task waits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;

use super::*;
use crate::config::Config;
use crate::model::{Expiry, Lock, LockKind, LockScope};
use crate::watch::TokioClock;

fn origin() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn server(name: &str, extra: &str) -> ServerConfig {
    let text = format!("[[servers]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:9/\"\n{extra}\n");
    Config::parse(&text, "t", &|_| None)
        .unwrap()
        .servers
        .remove(0)
}

fn entry(server: &str, path: &str, locks: Vec<Lock>) -> FileEntry {
    FileEntry {
        server: server.into(),
        path: path.into(),
        name: None,
        url: format!("http://127.0.0.1:9/{path}"),
        state: if locks.is_empty() {
            FileState::Unlocked
        } else {
            FileState::Locked
        },
        locks,
        error: None,
        wanted: false,
        etag: None,
    }
}

fn lock(expires_at: Option<DateTime<Utc>>) -> Lock {
    Lock {
        owner: Some("bob".into()),
        owner_id: Some("bob".into()),
        editor: None,
        scope: LockScope::Exclusive,
        kind: LockKind::Webdav,
        token: Some("tok".into()),
        depth: "0".into(),
        root: None,
        acquired_at: None,
        expires_at,
        expiry: if expires_at.is_some() {
            Expiry::At
        } else {
            Expiry::Never
        },
        timeout: None,
        inherited: false,
        mine: false,
    }
}

/// The next event within an hour of virtual time: a missing event fails the test instead of polling
/// forever.
async fn next_event(events: &mut mpsc::UnboundedReceiver<LockEvent>) -> LockEvent {
    tokio::time::timeout(Duration::from_secs(3600), events.recv())
        .await
        .expect("no event within an hour (virtual time)")
        .expect("the watcher stopped")
}

/// Every read as (seconds since the start, paths).
type Log = Arc<Mutex<Vec<(f64, Vec<String>)>>>;

fn recording<F>(log: Log, respond: F) -> Arc<dyn Reader>
where
    F: Fn(&[String], DateTime<Utc>) -> Result<Vec<FileEntry>> + Send + Sync + 'static,
{
    let start = Instant::now();
    let respond = Arc::new(respond);
    Arc::new(FnReader(move |paths: Vec<String>, now: DateTime<Utc>| {
        log.lock()
            .unwrap()
            .push((start.elapsed().as_secs_f64(), paths.clone()));
        let out = respond(&paths, now);
        async move { out }.boxed()
    }))
}

fn pacing(poll: u64) -> Pacing {
    Pacing::new(Duration::from_secs(poll))
}

#[tokio::test(start_paused = true)]
async fn wanted_files_are_polled_faster_than_watched_ones() {
    let log: Log = Arc::default();
    let config = server(
        "s",
        "watch = [\"a.odt\"]\nwanted = [\"w.odt\"]\nwanted_interval_secs = 5",
    );
    let reader = recording(log.clone(), |paths, _| {
        Ok(paths.iter().map(|p| entry("s", p, vec![])).collect())
    });
    let (_watcher, _events) = Watcher::start(
        vec![Target { config, reader }],
        pacing(30),
        Arc::new(TokioClock::starting_at(origin())),
    );
    tokio::time::sleep(Duration::from_secs(95)).await;
    let log = log.lock().unwrap().clone();
    let times = |path: &str| -> Vec<f64> {
        log.iter()
            .filter(|(_, p)| p.iter().any(|x| x == path))
            .map(|(t, _)| *t)
            .collect()
    };
    let gaps = |ts: &[f64]| -> Vec<f64> { ts.windows(2).map(|w| w[1] - w[0]).collect() };
    let watched = times("a.odt");
    let wanted = times("w.odt");
    assert_eq!(
        watched.len(),
        4,
        "full polls at 0 and about every 30 s: {watched:?}"
    );
    assert!(
        gaps(&watched).iter().all(|g| (27.0..=33.0).contains(g)),
        "{watched:?}"
    );
    assert!(
        wanted.len() >= 17,
        "wanted polls about every 5 s: {wanted:?}"
    );
    // The wanted file is never left unread longer than its interval plus jitter.
    assert!(gaps(&wanted).iter().all(|g| *g <= 5.5 + 1e-6), "{wanted:?}");
    // Wanted-only polls read just the wanted file.
    assert!(
        log.iter()
            .filter(|(_, p)| p.len() == 1)
            .all(|(_, p)| p == &vec!["w.odt".to_owned()])
    );
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_exponentially_and_recovery_is_reported() {
    let log: Log = Arc::default();
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = healthy.clone();
    let config = server("s", "watch = [\"a.odt\"]\nwanted = [\"w.odt\"]");
    let reader = recording(log.clone(), move |paths, _| {
        if flag.load(Ordering::SeqCst) {
            Ok(paths.iter().map(|p| entry("s", p, vec![])).collect())
        } else {
            Err(Error::Unreachable {
                host: "127.0.0.1:9".into(),
                detail: "connection refused".into(),
            })
        }
    });
    let (watcher, mut events) = Watcher::start(
        vec![Target { config, reader }],
        pacing(30),
        Arc::new(TokioClock::starting_at(origin())),
    );
    let first = next_event(&mut events).await;
    let LockEvent::ServerDown {
        retry_in_secs,
        error,
        ..
    } = &first
    else {
        panic!("{first:?}")
    };
    assert_eq!(*retry_in_secs, Some(5));
    assert!(error.message.starts_with("s: "), "{error:?}");
    // The state says when the next attempt comes.
    let snapshot = watcher.snapshot();
    assert!(matches!(
        snapshot.servers["s"].health,
        Health::Down {
            retry_in_secs: Some(5),
            ..
        }
    ));
    tokio::time::sleep(Duration::from_secs(700)).await;
    let attempts: Vec<f64> = log.lock().unwrap().iter().map(|(t, _)| *t).collect();
    let gaps: Vec<f64> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    let expected = [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0];
    assert!(gaps.len() >= expected.len(), "{attempts:?}");
    for (gap, want) in gaps.iter().zip(expected) {
        assert!(
            *gap >= want && *gap <= want * 1.1 + 1e-6,
            "gap {gap} for {want}: {gaps:?}"
        );
    }
    // No wanted-file polls while the server is down: every attempt is a full one.
    assert!(log.lock().unwrap().iter().all(|(_, p)| p.len() == 2));
    // Staying down is said once.
    assert!(events.try_recv().is_err());
    healthy.store(true, Ordering::SeqCst);
    let back = next_event(&mut events).await;
    assert!(matches!(back, LockEvent::ServerBack { .. }), "{back:?}");
    assert!(matches!(watcher.snapshot().servers["s"].health, Health::Up));
}

#[tokio::test(start_paused = true)]
async fn a_black_hole_server_does_not_delay_a_healthy_one() {
    let hole_log: Log = Arc::default();
    let hole: Arc<dyn Reader> = {
        let log = hole_log.clone();
        Arc::new(FnReader(move |paths: Vec<String>, _| {
            log.lock().unwrap().push((0.0, paths));
            futures_util::future::pending().boxed()
        }))
    };
    let good_log: Log = Arc::default();
    let good = recording(good_log.clone(), |paths, _| {
        Ok(paths
            .iter()
            .map(|p| entry("good", p, vec![lock(None)]))
            .collect())
    });
    let start = Instant::now();
    let (_watcher, mut events) = Watcher::start(
        vec![
            Target {
                config: server("hole", "watch = [\"x\"]\ntimeout_secs = 20"),
                reader: hole,
            },
            Target {
                config: server("good", "wanted = [\"w.odt\"]\nwanted_interval_secs = 5"),
                reader: good,
            },
        ],
        pacing(30),
        Arc::new(TokioClock::starting_at(origin())),
    );
    // The healthy server's lock is reported at once, long before the black hole's guard expires.
    let first = next_event(&mut events).await;
    assert!(
        matches!(&first, LockEvent::Locked { server, .. } if server == "good"),
        "{first:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(1));
    // Then the black hole is declared down after its guard (20 s × (1 path + 2)).
    let down = next_event(&mut events).await;
    assert!(
        matches!(&down, LockEvent::ServerDown { server, error, .. }
        if server == "hole" && error.kind == crate::ErrorKind::Timeout),
        "{down:?}"
    );
    assert_eq!(start.elapsed().as_secs(), 60);
    // Meanwhile the healthy one kept its 5 s rhythm.
    let good_times: Vec<f64> = good_log.lock().unwrap().iter().map(|(t, _)| *t).collect();
    assert!(good_times.len() >= 11, "{good_times:?}");
    assert!(
        good_times.windows(2).all(|w| w[1] - w[0] <= 5.5 + 1e-6),
        "{good_times:?}"
    );
    assert_eq!(hole_log.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn expiry_timers_fire_between_polls() {
    let log: Log = Arc::default();
    let expiry = origin() + chrono::Duration::seconds(400);
    let config = server("s", "watch = [\"a.odt\"]");
    // Locked until 400 s; the server drops the lock once it has expired.
    let reader = recording(log.clone(), move |paths, now| {
        let locks = if now < expiry {
            vec![lock(Some(expiry))]
        } else {
            vec![]
        };
        Ok(paths.iter().map(|p| entry("s", p, locks.clone())).collect())
    });
    let start = Instant::now();
    let (_watcher, mut events) = Watcher::start(
        vec![Target { config, reader }],
        pacing(7200),
        Arc::new(TokioClock::starting_at(origin())),
    );
    let mut seen = Vec::new();
    for _ in 0..3 {
        let event = next_event(&mut events).await;
        seen.push((event.name(), start.elapsed().as_secs()));
    }
    assert_eq!(
        seen,
        vec![("locked", 0), ("expiring_soon", 100), ("unlocked", 400)]
    );
    // Two reads only: the first poll and the re-read at the expiry; the warning needed none.
    let reads: Vec<f64> = log.lock().unwrap().iter().map(|(t, _)| *t).collect();
    assert_eq!(reads.len(), 2, "{reads:?}");
}

#[tokio::test(start_paused = true)]
async fn dropping_the_watcher_stops_polling() {
    let log: Log = Arc::default();
    let reader = recording(log.clone(), |paths, _| {
        Ok(paths.iter().map(|p| entry("s", p, vec![])).collect())
    });
    let (watcher, _events) = Watcher::start(
        vec![Target {
            config: server("s", "watch = [\"a\"]"),
            reader,
        }],
        pacing(10),
        Arc::new(TokioClock::starting_at(origin())),
    );
    tokio::time::sleep(Duration::from_secs(25)).await;
    drop(watcher);
    let before = log.lock().unwrap().len();
    tokio::time::sleep(Duration::from_secs(100)).await;
    assert_eq!(log.lock().unwrap().len(), before);
    assert!(before >= 3);
}
