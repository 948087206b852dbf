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
        file_id: None,
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
        pacing(600),
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

/// Retries never wait longer than a normal poll, so a server that comes back is seen within one interval.
#[tokio::test(start_paused = true)]
async fn retries_are_never_slower_than_the_poll_interval() {
    let log: Log = Arc::default();
    let config = server("s", "watch = [\"a.odt\"]");
    let reader = recording(log.clone(), move |_, _| {
        Err(Error::Unreachable {
            host: "127.0.0.1:9".into(),
            detail: "connection refused".into(),
        })
    });
    let (_watcher, _events) = Watcher::start(
        vec![Target { config, reader }],
        pacing(30),
        Arc::new(TokioClock::starting_at(origin())),
    );
    tokio::time::sleep(Duration::from_secs(300)).await;
    let attempts: Vec<f64> = log.lock().unwrap().iter().map(|(t, _)| *t).collect();
    let gaps: Vec<f64> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 6, "{attempts:?}");
    for (gap, want) in gaps.iter().zip([5.0, 10.0, 20.0, 30.0, 30.0, 30.0]) {
        assert!(
            *gap >= want && *gap <= want * 1.1 + 1e-6,
            "gap {gap} for {want}: {gaps:?}"
        );
    }
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

/// A server whose locks the test sets: `locked` files are locked by bob (no expiry), the others free. A
/// folder has one member, `a.odt`.
fn switchable(server: &'static str, log: Log) -> (Arc<Mutex<Vec<String>>>, Arc<dyn Reader>) {
    let locked: Arc<Mutex<Vec<String>>> = Arc::default();
    let state = locked.clone();
    let reader = recording(log, move |paths, _| {
        let locked = state.lock().unwrap();
        Ok(paths
            .iter()
            .map(|p| {
                if p.ends_with('/') {
                    format!("{p}a.odt")
                } else {
                    p.clone()
                }
            })
            .map(|p| {
                let locks = if locked.contains(&p) {
                    vec![lock(None)]
                } else {
                    vec![]
                };
                entry(server, &p, locks)
            })
            .collect())
    });
    (locked, reader)
}

/// Lets every task run what is due now, without moving the clock past `now`.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

fn reads_after(log: &Log, since: f64) -> Vec<Vec<String>> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| *t >= since)
        .map(|(_, p)| p.clone())
        .collect()
}

fn drain(events: &mut mpsc::UnboundedReceiver<LockEvent>) -> Vec<LockEvent> {
    std::iter::from_fn(|| events.try_recv().ok()).collect()
}

#[tokio::test(start_paused = true)]
async fn refresh_reads_at_once_every_server_or_the_named_one() {
    let (a_log, b_log): (Log, Log) = Default::default();
    let (_, a) = switchable("a", a_log.clone());
    let (b_locked, b) = switchable("b", b_log.clone());
    let (watcher, mut events) = Watcher::start(
        vec![
            Target {
                config: server("a", "watch = [\"x\"]"),
                reader: a,
            },
            Target {
                config: server("b", "watch = [\"y\"]"),
                reader: b,
            },
        ],
        pacing(3600),
        Arc::new(TokioClock::starting_at(origin())),
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(a_log.lock().unwrap().len(), 1);
    b_locked.lock().unwrap().push("y".into());
    watcher.refresh(None);
    settle().await;
    assert_eq!(reads_after(&a_log, 10.0), vec![vec!["x".to_owned()]]);
    assert_eq!(reads_after(&b_log, 10.0), vec![vec!["y".to_owned()]]);
    let event = next_event(&mut events).await;
    assert!(
        matches!(&event, LockEvent::Locked { server, .. } if server == "b"),
        "{event:?}"
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    watcher.refresh(Some("b"));
    watcher.refresh(Some("nobody"));
    settle().await;
    assert_eq!(reads_after(&a_log, 20.0), Vec::<Vec<String>>::new());
    assert_eq!(reads_after(&b_log, 20.0), vec![vec!["y".to_owned()]]);
    // A refresh does not disturb the rhythm beyond restarting the interval: the next poll is an hour on.
    tokio::time::sleep(Duration::from_secs(3000)).await;
    assert_eq!(reads_after(&b_log, 21.0), Vec::<Vec<String>>::new());
}

#[tokio::test(start_paused = true)]
async fn refresh_tries_a_failing_server_at_once() {
    let log: Log = Arc::default();
    let reader = recording(log.clone(), |_, _| {
        Err(Error::Unreachable {
            host: "127.0.0.1:9".into(),
            detail: "connection refused".into(),
        })
    });
    let (watcher, _events) = Watcher::start(
        vec![Target {
            config: server("s", "watch = [\"a\"]"),
            reader,
        }],
        pacing(30),
        Arc::new(TokioClock::starting_at(origin())),
    );
    // Failures at 0, 5, 15, 35; the next retry would come at 75.
    tokio::time::sleep(Duration::from_secs(40)).await;
    assert_eq!(log.lock().unwrap().len(), 4);
    watcher.refresh(None);
    settle().await;
    assert_eq!(reads_after(&log, 40.0).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_paused_watcher_reads_nothing_and_resuming_reads_at_once() {
    let log: Log = Arc::default();
    // Locked until 60 s; the warning falls inside the first reading's window.
    let expiry = origin() + chrono::Duration::seconds(60);
    let reader = recording(log.clone(), move |paths, now| {
        let locks = if now < expiry {
            vec![lock(Some(expiry))]
        } else {
            vec![]
        };
        Ok(paths.iter().map(|p| entry("s", p, locks.clone())).collect())
    });
    let (watcher, mut events) = Watcher::start(
        vec![Target {
            config: server(
                "s",
                "watch = [\"a.odt\"]\nwanted = [\"w.odt\"]\nwanted_interval_secs = 5",
            ),
            reader,
        }],
        pacing(30),
        Arc::new(TokioClock::starting_at(origin())),
    );
    let names: Vec<&str> = drain_after_settle(&mut events).await;
    assert_eq!(
        names,
        ["locked", "expiring_soon", "locked", "expiring_soon"]
    );
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(!watcher.is_paused());
    watcher.set_paused(true);
    assert!(watcher.is_paused());
    let reads_before = log.lock().unwrap().len();
    // Orders during the pause are dropped: the reading at resumption covers them.
    watcher.refresh(None);
    watcher.reread("s", vec!["a.odt".into()]);
    // Neither polls, nor wanted-file polls, nor the expiry at 60 s read anything; nothing is announced.
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert_eq!(log.lock().unwrap().len(), reads_before);
    assert!(drain(&mut events).is_empty());
    watcher.set_paused(false);
    settle().await;
    let resumed = reads_after(&log, 312.0);
    assert_eq!(resumed, vec![vec!["a.odt".to_owned(), "w.odt".to_owned()]]);
    // What changed meanwhile is announced by that reading.
    let names: Vec<&str> = drain(&mut events).iter().map(LockEvent::name).collect();
    assert_eq!(names, ["unlocked", "unlocked"]);
    // And the rhythm resumes: wanted-file polls every 5 s.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(reads_after(&log, 313.0).len() >= 2);
}

/// The names of the events announced once every task has run what is due now.
async fn drain_after_settle(events: &mut mpsc::UnboundedReceiver<LockEvent>) -> Vec<&'static str> {
    settle().await;
    drain(events).iter().map(LockEvent::name).collect()
}

#[tokio::test(start_paused = true)]
async fn reread_reads_just_the_covered_paths_asked_for_in_one_request() {
    let log: Log = Arc::default();
    let (locked, reader) = switchable("s", log.clone());
    locked.lock().unwrap().push("Docs/a.odt".into());
    let (watcher, mut events) = Watcher::start(
        vec![Target {
            config: server("s", "watch = [\"Docs/\", \"b.odt\"]"),
            reader,
        }],
        pacing(3600),
        Arc::new(TokioClock::starting_at(origin())),
    );
    settle().await;
    assert_eq!(reads_after(&log, 0.0).len(), 1);
    drain(&mut events);
    tokio::time::sleep(Duration::from_secs(100)).await;
    locked.lock().unwrap().clear();
    // Two announcements in a row become one reading of what the config covers.
    watcher.reread(
        "s",
        vec![
            "Docs/a.odt".into(),
            "elsewhere.odt".into(),
            "Docs/sub/c.odt".into(),
        ],
    );
    watcher.reread("s", vec!["b.odt".into(), "Docs/a.odt".into()]);
    watcher.reread("nobody", vec!["b.odt".into()]);
    settle().await;
    assert_eq!(
        reads_after(&log, 100.0),
        vec![vec!["Docs/a.odt".to_owned(), "b.odt".to_owned()]]
    );
    let event = next_event(&mut events).await;
    assert!(
        matches!(&event, LockEvent::Unlocked { path, at, .. }
            if path == "Docs/a.odt" && (*at - origin()).num_seconds() == 100),
        "{event:?}"
    );
    // Nothing covered: no request at all.
    watcher.reread("s", vec!["elsewhere.odt".into()]);
    settle().await;
    assert_eq!(reads_after(&log, 100.0).len(), 1);
    // The folder's own poll still reads the whole set an hour after the first.
    tokio::time::sleep(Duration::from_secs(3700)).await;
    assert_eq!(
        reads_after(&log, 101.0),
        vec![vec!["Docs/".to_owned(), "b.odt".to_owned()]]
    );
}

#[tokio::test(start_paused = true)]
async fn reconfigure_announces_only_real_changes() {
    let (keep_log, change_log, gone_log, new_log): (Log, Log, Log, Log) = Default::default();
    let (keep_locked, keep) = switchable("keep", keep_log.clone());
    let (change_locked, change) = switchable("change", change_log.clone());
    let (gone_locked, gone) = switchable("gone", gone_log.clone());
    keep_locked.lock().unwrap().push("k.odt".into());
    change_locked.lock().unwrap().extend([
        "a.odt".to_owned(),
        "b.odt".to_owned(),
        "c.odt".to_owned(),
    ]);
    gone_locked.lock().unwrap().push("g.odt".into());
    let keep_config = server("keep", "watch = [\"k.odt\"]");
    let (watcher, mut events) = Watcher::start(
        vec![
            Target {
                config: keep_config.clone(),
                reader: keep,
            },
            Target {
                config: server("change", "watch = [\"a.odt\", \"c.odt\"]"),
                reader: change.clone(),
            },
            Target {
                config: server("gone", "watch = [\"g.odt\"]"),
                reader: gone,
            },
        ],
        pacing(3600),
        Arc::new(TokioClock::starting_at(origin())),
    );
    assert_eq!(drain_after_settle(&mut events).await.len(), 4);
    tokio::time::sleep(Duration::from_secs(100)).await;

    let (new_locked, new) = switchable("new", new_log.clone());
    new_locked.lock().unwrap().push("n.odt".into());
    let (_, unused) = switchable("keep", keep_log.clone());
    watcher.reconfigure(vec![
        Target {
            config: keep_config,
            reader: unused,
        },
        // a.odt is now wanted, b.odt is added, c.odt is dropped.
        Target {
            config: server(
                "change",
                "watch = [\"a.odt\", \"b.odt\"]\nwanted = [\"a.odt\"]",
            ),
            reader: change,
        },
        Target {
            config: server("new", "watch = [\"n.odt\"]"),
            reader: new,
        },
    ]);
    // Right away: the dropped file and the removed server leave the snapshot, the wanted flag shows.
    let snapshot = watcher.snapshot();
    assert_eq!(
        snapshot.servers.keys().collect::<Vec<_>>(),
        ["change", "keep"]
    );
    let change_files = &snapshot.servers["change"].files;
    assert_eq!(change_files.keys().collect::<Vec<_>>(), ["a.odt"]);
    assert!(change_files["a.odt"].wanted);
    let events_now: Vec<(String, String)> = {
        settle().await;
        drain(&mut events)
            .iter()
            .map(|e| (e.server().to_owned(), e.path().unwrap_or("-").to_owned()))
            .collect()
    };
    // Only what nobody knew yet: the new file of the changed server and the new server's lock.
    assert_eq!(
        events_now,
        [
            ("change".to_owned(), "b.odt".to_owned()),
            ("new".to_owned(), "n.odt".to_owned())
        ]
    );
    // The unchanged server kept its task (no new reading), the changed one read at once, the removed one
    // stopped.
    assert!(reads_after(&keep_log, 1.0).is_empty());
    assert_eq!(
        reads_after(&change_log, 100.0),
        vec![vec!["a.odt".to_owned(), "b.odt".to_owned()]]
    );
    tokio::time::sleep(Duration::from_secs(4000)).await;
    assert!(reads_after(&gone_log, 1.0).is_empty());
    assert_eq!(
        reads_after(&keep_log, 1.0).len(),
        1,
        "the hourly poll goes on"
    );
    // The new wanted flag is in the events of the next reading.
    change_locked.lock().unwrap().clear();
    watcher.refresh(Some("change"));
    settle().await;
    let released: Vec<(String, bool)> = drain(&mut events)
        .iter()
        .filter_map(|e| match e {
            LockEvent::Unlocked { path, wanted, .. } => Some((path.clone(), *wanted)),
            _ => None,
        })
        .collect();
    assert_eq!(
        released,
        [("a.odt".to_owned(), true), ("b.odt".to_owned(), false)]
    );
}

#[tokio::test(start_paused = true)]
async fn changing_only_wanted_announces_nothing_until_a_real_change() {
    let log: Log = Arc::default();
    let (locked, reader) = switchable("s", log.clone());
    locked.lock().unwrap().push("a.odt".into());
    let (watcher, mut events) = Watcher::start(
        vec![Target {
            config: server("s", "watch = [\"a.odt\"]"),
            reader: reader.clone(),
        }],
        pacing(3600),
        Arc::new(TokioClock::starting_at(origin())),
    );
    let first = next_event(&mut events).await;
    assert!(
        matches!(first, LockEvent::Locked { wanted: false, .. }),
        "{first:?}"
    );
    tokio::time::sleep(Duration::from_secs(60)).await;
    watcher.reconfigure(vec![Target {
        config: server("s", "wanted = [\"a.odt\"]\nwanted_interval_secs = 5"),
        reader,
    }]);
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(drain(&mut events).is_empty());
    // The wanted interval applies now.
    assert!(reads_after(&log, 60.0).len() >= 3);
    locked.lock().unwrap().clear();
    let released = next_event(&mut events).await;
    assert!(
        matches!(released, LockEvent::Unlocked { wanted: true, .. }),
        "{released:?}"
    );
}

/// A reader with a push channel the test feeds; files carry the id `id:{path}`.
struct Pushing {
    inner: Arc<dyn Reader>,
    feed: Mutex<Option<mpsc::UnboundedReceiver<Announcement>>>,
}

impl Reader for Pushing {
    fn read<'a>(
        &'a self,
        paths: &'a [String],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<FileEntry>>> {
        Box::pin(async move {
            let mut files = self.inner.read(paths, now).await?;
            for file in &mut files {
                file.file_id = Some(format!("id:{}", file.path));
            }
            Ok(files)
        })
    }

    fn listen(&self, announcements: Announcements) -> BoxFuture<'_, ()> {
        let feed = self.feed.lock().unwrap().take();
        Box::pin(async move {
            if let Some(mut feed) = feed {
                while let Some(announcement) = feed.recv().await {
                    announcements.send(announcement);
                }
            }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn announcements_reread_the_files_they_name() {
    let log: Log = Arc::default();
    let (locked, inner) = switchable("s", log.clone());
    locked.lock().unwrap().push("Docs/a.odt".into());
    let (feed, rx) = mpsc::unbounded_channel();
    let reader = Arc::new(Pushing {
        inner,
        feed: Mutex::new(Some(rx)),
    });
    let (watcher, mut events) = Watcher::start(
        vec![Target {
            config: server("s", "watch = [\"Docs/\", \"b.odt\"]"),
            reader,
        }],
        pacing(3600),
        Arc::new(TokioClock::starting_at(origin())),
    );
    assert_eq!(drain_after_settle(&mut events).await, ["locked"]);
    tokio::time::sleep(Duration::from_secs(100)).await;

    // Ids are matched against the latest reading; unknown ones are ignored.
    locked.lock().unwrap().clear();
    feed.send(Announcement::Files(vec![
        "id:Docs/a.odt".into(),
        "id:elsewhere".into(),
    ]))
    .unwrap();
    assert_eq!(drain_after_settle(&mut events).await, ["unlocked"]);
    assert_eq!(
        reads_after(&log, 100.0),
        vec![vec!["Docs/a.odt".to_owned()]]
    );
    feed.send(Announcement::Files(vec!["id:elsewhere".into()]))
        .unwrap();
    settle().await;
    assert_eq!(reads_after(&log, 100.0).len(), 1);

    // "Something changed" reads every watched path.
    feed.send(Announcement::Anything).unwrap();
    settle().await;
    assert_eq!(
        reads_after(&log, 100.0)[1..],
        [vec!["Docs/".to_owned(), "b.odt".to_owned()]]
    );

    // Paused: announcements are ignored; resuming reads everything anyway.
    watcher.set_paused(true);
    feed.send(Announcement::Anything).unwrap();
    feed.send(Announcement::Files(vec!["id:b.odt".into()]))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(reads_after(&log, 100.0).len(), 2);
    watcher.set_paused(false);
    settle().await;
    assert_eq!(reads_after(&log, 100.0).len(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_push_channel_stops_with_its_server() {
    let log: Log = Arc::default();
    let (_, inner) = switchable("s", log.clone());
    let (feed, rx) = mpsc::unbounded_channel();
    let reader = Arc::new(Pushing {
        inner,
        feed: Mutex::new(Some(rx)),
    });
    let (watcher, _events) = Watcher::start(
        vec![Target {
            config: server("s", "watch = [\"a.odt\"]"),
            reader,
        }],
        pacing(3600),
        Arc::new(TokioClock::starting_at(origin())),
    );
    settle().await;
    assert!(!feed.is_closed());
    // Removing the server stops its listener (which drops the feed's receiver).
    watcher.reconfigure(vec![]);
    settle().await;
    assert!(feed.is_closed());
}

/// A server whose polls hand over each folder as it is read; from the second poll on, it fails after
/// the first folder.
struct HalfWay {
    polls: std::sync::atomic::AtomicUsize,
}

impl Reader for HalfWay {
    fn read<'a>(
        &'a self,
        paths: &'a [String],
        _now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<FileEntry>>> {
        let files = paths.iter().map(|p| entry("s", p, vec![])).collect();
        async move { Ok(files) }.boxed()
    }

    fn poll_each<'a>(
        &'a self,
        _paths: &'a [String],
        _now: DateTime<Utc>,
        take: &'a mut crate::protocol::Take<'_>,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        let poll = self.polls.fetch_add(1, Ordering::SeqCst);
        async move {
            let a = if poll == 0 { vec![lock(None)] } else { vec![] };
            take("A/", vec![entry("s", "A/a.odt", a)]);
            if poll > 0 {
                return Err(Error::Unreachable {
                    host: "127.0.0.1".into(),
                    detail: "connection reset".into(),
                });
            }
            take("B/", vec![entry("s", "B/b.odt", vec![lock(None)])]);
            Ok(Vec::new())
        }
        .boxed()
    }
}

#[tokio::test(start_paused = true)]
async fn a_poll_that_fails_half_way_keeps_the_parts_it_read() {
    let config = server("s", "watch = [\"A/\", \"B/\"]");
    let reader = Arc::new(HalfWay {
        polls: Default::default(),
    });
    let (watcher, mut events) = Watcher::start(
        vec![Target { config, reader }],
        pacing(30),
        Arc::new(TokioClock::starting_at(origin())),
    );
    for path in ["A/a.odt", "B/b.odt"] {
        let event = next_event(&mut events).await;
        assert_eq!((event.name(), event.path()), ("locked", Some(path)));
    }
    // The second poll hears that A/a.odt is free, then loses the server.
    let event = next_event(&mut events).await;
    assert_eq!((event.name(), event.path()), ("unlocked", Some("A/a.odt")));
    assert_eq!(next_event(&mut events).await.name(), "server_down");
    let snapshot = watcher.snapshot();
    let reading = &snapshot.servers["s"];
    assert!(matches!(reading.health, Health::Down { .. }));
    assert_eq!(reading.files["A/a.odt"].state, FileState::Unlocked);
    assert_eq!(reading.files["B/b.odt"].state, FileState::Locked);
    // The snapshot's time is the last whole reading's.
    assert_eq!(snapshot.at, Some(origin()));
}
