//! The monitor in-process against a real server (Apache mod_dav, two users): what a front end gets from
//! it — the user's own locks marked, events recorded in the history, wanted files announced once and not
//! for the user's own release, settings reloaded without repeating what is known, pause and resume.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use lockwatch::actions::Action;
use lockwatch::held::HeldLocks;
use lockwatch::history::History;
use lockwatch::monitor::{Monitor, Setup, Update};
use lockwatch::secrets::MemoryStore;
use lockwatch::watch::notice::{Notice, Notifier};
use lockwatch::watch::{LockEvent, SystemClock};
use tokio::sync::mpsc::UnboundedReceiver;
use url::Url;

use crate::support::davops::{self, LockSpec};
use crate::support::{ALICE, BOB, apache::Apache, config};

/// Keeps every notice instead of showing it.
#[derive(Default)]
struct Recorder(Mutex<Vec<Notice>>);

impl Notifier for Recorder {
    fn show<'a>(&'a self, notice: &'a Notice) -> BoxFuture<'a, lockwatch::Result<()>> {
        self.0.lock().unwrap().push(notice.clone());
        Box::pin(async { Ok(()) })
    }
}

/// The next event matching `what`, skipping others; fails after 30 s.
async fn event(
    updates: &mut UnboundedReceiver<Update>,
    what: &str,
    matches: impl Fn(&LockEvent) -> bool,
) -> LockEvent {
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match updates.recv().await.expect("the monitor stopped") {
                Update::Event(e) if matches(&e) => return e,
                other => seen.push(other),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within 30 s; saw {seen:#?}"))
}

fn settings(base: &str, wanted: &str) -> String {
    format!(
        "owner = \"Alice Smith\"\npoll_interval_secs = 3600\n[[servers]]\nname = \"office\"\nurl = \"{base}\"\nusername = \"alice\"\npassword_env = \"PW_ALICE\"\nwatch = [\"A.odt\", \"B.odt\"]\nwanted = [{wanted}]\nwanted_interval_secs = 3600\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_monitor_marks_records_announces_and_reloads() {
    let server = Apache::start();
    let base = server.base_url();
    let url =
        |p: &str| lockwatch::protocol::resource_url(&Url::parse(&base).unwrap(), p).to_string();
    for p in ["A.odt", "B.odt"] {
        assert!(davops::put(&url(p), ALICE, b"x").await.is_success());
    }
    let spec = LockSpec {
        owner_xml: Some("Bob Builder".into()),
        ..LockSpec::default()
    };
    let bobs = davops::lock(&url("B.odt"), BOB, &spec).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let held = HeldLocks::at(dir.path().join("held.json"));
    let history = Arc::new(
        History::in_memory(Duration::from_secs(3600), Duration::from_secs(86_400)).unwrap(),
    );
    let notices = Arc::new(Recorder::default());
    let (monitor, mut updates) = Monitor::start(
        config(&settings(&base, "\"A.odt\"")),
        Setup {
            secrets: Arc::new(MemoryStore::new()),
            notifier: notices.clone(),
            history: Some(history.clone()),
            held: Some(held.clone()),
            clock: Arc::new(SystemClock),
            pacing: None,
        },
    );
    let locked = event(
        &mut updates,
        "Bob's lock",
        |e| matches!(e, LockEvent::Locked { path, .. } if path == "B.odt"),
    )
    .await;
    let LockEvent::Locked { locks, wanted, .. } = locked else {
        unreachable!()
    };
    assert!(!wanted && !locks[0].mine, "{locks:#?}");

    // Alice locks A through the monitor: the table and the events know it is hers at once.
    let report = monitor
        .perform(
            "office",
            "A.odt",
            Action::Lock {
                shared: false,
                timeout: Duration::from_secs(600),
            },
        )
        .await
        .unwrap();
    assert!(report.outcome.ok, "{:#?}", report.outcome);
    let mine = event(
        &mut updates,
        "Alice's lock",
        |e| matches!(e, LockEvent::Locked { path, .. } if path == "A.odt"),
    )
    .await;
    let LockEvent::Locked { locks, .. } = mine else {
        unreachable!()
    };
    assert!(locks[0].mine, "{locks:#?}");
    let status = monitor.report();
    assert_eq!(status.servers.len(), 1);
    assert!(status.servers[0].ok, "{:#?}", status.servers);
    let a = status.files.iter().find(|f| f.path == "A.odt").unwrap();
    assert!(a.wanted && a.locks[0].mine, "{a:#?}");
    let b = status.files.iter().find(|f| f.path == "B.odt").unwrap();
    assert!(!b.wanted && !b.locks[0].mine, "{b:#?}");

    // B becomes wanted while watching: nothing already known is announced again...
    monitor.reload(config(&settings(&base, "\"A.odt\", \"B.odt\"")));
    let next = tokio::time::timeout(Duration::from_secs(30), updates.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(next, Update::Reconfigured),
        "before the reload took effect: {next:#?}"
    );
    assert!(monitor.report().files.iter().all(|f| f.wanted));
    // ...and Bob's release is announced, once.
    assert!(davops::unlock(&url("B.odt"), BOB, &bobs).await.is_success());
    monitor.refresh(None);
    let freed = event(&mut updates, "Bob's release", |e| {
        matches!(e, LockEvent::Unlocked { .. })
    })
    .await;
    assert!(
        matches!(&freed, LockEvent::Unlocked { path, wanted: true, .. } if path == "B.odt"),
        "{freed:#?}"
    );

    // Alice's own release is an event, not a notice.
    let report = monitor
        .perform("office", "A.odt", Action::Unlock)
        .await
        .unwrap();
    assert!(report.outcome.ok, "{:#?}", report.outcome);
    let own = event(
        &mut updates,
        "Alice's release",
        |e| matches!(e, LockEvent::Unlocked { path, .. } if path == "A.odt"),
    )
    .await;
    let LockEvent::Unlocked { released, .. } = own else {
        unreachable!()
    };
    assert!(released[0].mine, "{released:#?}");
    let shown: Vec<String> = notices
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|n| n.summary.clone())
        .collect();
    assert_eq!(shown, vec!["B.odt is free"]);

    // Everything went into the history before the front end saw it.
    let holds = history
        .holds(Some("office"), None, chrono::Utc::now())
        .unwrap();
    let mut who: Vec<(String, Option<String>, bool)> = holds
        .iter()
        .map(|h| (h.path.clone(), h.holder.clone(), h.until.is_some()))
        .collect();
    who.sort();
    assert_eq!(
        who,
        vec![
            ("A.odt".into(), Some("Alice Smith".into()), true),
            ("B.odt".into(), Some("Bob Builder".into()), true),
        ]
    );

    // Paused, nothing is read, even on request; resuming reads at once.
    monitor.set_paused(true);
    assert!(monitor.is_paused());
    davops::lock(&url("B.odt"), BOB, &spec).await.unwrap();
    monitor.refresh(None);
    let quiet = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            if let Update::Event(e) = updates.recv().await.unwrap() {
                return e;
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "read while paused: {quiet:#?}");
    monitor.set_paused(false);
    event(
        &mut updates,
        "Bob's new lock after resuming",
        |e| matches!(e, LockEvent::Locked { path, .. } if path == "B.odt"),
    )
    .await;
}
