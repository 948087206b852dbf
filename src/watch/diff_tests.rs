//! Table tests of [`diff`](super::diff): every rule of the module documentation, with its edges.

use super::*;
use crate::error::ErrorKind;
use crate::model::{Expiry, LockKind, LockScope};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn lock(owner: &str, token: Option<&str>, expires: Option<i64>) -> Lock {
    Lock {
        owner: Some(owner.to_owned()),
        owner_id: Some(owner.to_owned()),
        editor: None,
        scope: LockScope::Exclusive,
        kind: LockKind::Webdav,
        token: token.map(str::to_owned),
        depth: "0".into(),
        root: None,
        acquired_at: None,
        expires_at: expires.map(t),
        expiry: if expires.is_some() {
            Expiry::At
        } else {
            Expiry::Never
        },
        timeout: None,
        inherited: false,
        mine: false,
    }
}

fn shared(mut l: Lock) -> Lock {
    l.scope = LockScope::Shared;
    l
}

fn file(path: &str, state: FileState, locks: Vec<Lock>) -> FileEntry {
    FileEntry {
        server: "s".into(),
        path: path.into(),
        name: None,
        url: format!("http://h/{path}"),
        state,
        locks,
        error: None,
        wanted: path.starts_with("want"),
        file_id: None,
    }
}

fn locked(locks: Vec<Lock>) -> FileEntry {
    file("a.odt", FileState::Locked, locks)
}

fn free() -> FileEntry {
    file("a.odt", FileState::Unlocked, vec![])
}

fn snap(at: Option<i64>, files: Vec<FileEntry>) -> Snapshot {
    Snapshot {
        at: at.map(t),
        servers: [("s".to_owned(), ServerReading::up(files))].into(),
    }
}

fn down(at: i64, since: i64) -> Snapshot {
    let mut s = snap(Some(at), vec![]);
    s.servers.get_mut("s").unwrap().health = Health::Down {
        error: ErrorInfo {
            kind: ErrorKind::Network,
            message: "s: unreachable".into(),
        },
        since: t(since),
        retry_in_secs: Some(10),
    };
    s
}

fn names(events: &[LockEvent]) -> Vec<&'static str> {
    events.iter().map(LockEvent::name).collect()
}

#[test]
fn table() {
    let alice = || lock("alice", Some("tok-a"), Some(3600));
    let bob = || lock("bob", Some("tok-b"), Some(3600));
    // (case, previous, current, now, expected event names)
    let cases: Vec<(&str, Snapshot, Snapshot, i64, Vec<&str>)> = vec![
        (
            "nothing changes",
            snap(Some(0), vec![locked(vec![alice()])]),
            snap(Some(30), vec![locked(vec![alice()])]),
            30,
            vec![],
        ),
        (
            "a free file is locked",
            snap(Some(0), vec![free()]),
            snap(Some(30), vec![locked(vec![alice()])]),
            30,
            vec!["locked"],
        ),
        (
            "first sight of a locked file reports it",
            Snapshot::default(),
            snap(Some(0), vec![locked(vec![alice()])]),
            0,
            vec!["locked"],
        ),
        (
            "first sight of a free file says nothing",
            Snapshot::default(),
            snap(Some(0), vec![free()]),
            0,
            vec![],
        ),
        (
            "a locked file is released",
            snap(Some(0), vec![locked(vec![alice()])]),
            snap(Some(30), vec![free()]),
            30,
            vec!["unlocked"],
        ),
        (
            "handed over between two polls",
            snap(Some(0), vec![locked(vec![alice()])]),
            snap(Some(30), vec![locked(vec![bob()])]),
            30,
            vec!["holder_changed"],
        ),
        (
            "a second shared holder joins",
            snap(Some(0), vec![locked(vec![shared(alice())])]),
            snap(Some(30), vec![locked(vec![shared(alice()), shared(bob())])]),
            30,
            vec!["holder_changed"],
        ),
        (
            "one of two shared holders leaves: still locked",
            snap(Some(0), vec![locked(vec![shared(alice()), shared(bob())])]),
            snap(Some(30), vec![locked(vec![shared(bob())])]),
            30,
            vec!["holder_changed"],
        ),
        (
            "the last shared holder leaves",
            snap(Some(0), vec![locked(vec![shared(bob())])]),
            snap(Some(30), vec![free()]),
            30,
            vec!["unlocked"],
        ),
        (
            "a read error is not an unlock",
            snap(Some(0), vec![locked(vec![alice()])]),
            snap(Some(30), vec![file("a.odt", FileState::Error, vec![])]),
            30,
            vec![],
        ),
        (
            "unsupported is not an unlock either",
            snap(Some(0), vec![locked(vec![alice()])]),
            snap(
                Some(30),
                vec![file("a.odt", FileState::Unsupported, vec![])],
            ),
            30,
            vec![],
        ),
        (
            "tokenless locks match by holder: same holder, no event",
            snap(Some(0), vec![locked(vec![lock("carol", None, None)])]),
            snap(Some(30), vec![locked(vec![lock("carol", None, None)])]),
            30,
            vec![],
        ),
        (
            "tokenless locks match by holder: another holder",
            snap(Some(0), vec![locked(vec![lock("carol", None, None)])]),
            snap(Some(30), vec![locked(vec![lock("dave", None, None)])]),
            30,
            vec!["holder_changed"],
        ),
        (
            "the server goes down",
            snap(Some(0), vec![]),
            down(30, 30),
            30,
            vec!["server_down"],
        ),
        (
            "the server stays down: no repetition",
            down(30, 30),
            down(60, 30),
            60,
            vec![],
        ),
        (
            "the server is down from the start",
            Snapshot::default(),
            down(0, 0),
            0,
            vec!["server_down"],
        ),
        (
            "the server is back",
            down(30, 30),
            snap(Some(60), vec![]),
            60,
            vec!["server_back"],
        ),
    ];
    for (case, previous, current, now, expected) in cases {
        let events = diff(&previous, &current, t(now));
        assert_eq!(names(&events), expected, "{case}");
        // Folding the new reading into the old one in place says exactly the same, and leaves the new one.
        let (known, applied) = apply_whole(&previous, &current, now);
        assert_eq!(applied, events, "{case}: fold");
        assert_eq!(
            &known, &current.servers["s"],
            "{case}: the fold leaves the new reading"
        );
    }
}

/// `current`'s whole reading of server "s" folded into `previous`'s as the scheduler does: a reading
/// that answered through [`Fold`], a part per file, and a failed one through [`apply`]. The reading after,
/// and the events.
fn apply_whole(
    previous: &Snapshot,
    current: &Snapshot,
    now: i64,
) -> (ServerReading, Vec<LockEvent>) {
    let mut known = previous
        .servers
        .get("s")
        .cloned()
        .unwrap_or_else(|| ServerReading::up([]));
    let reading = &current.servers["s"];
    let options = DiffOptions::default();
    if reading.health != Health::Up {
        let change = Change {
            health: Some(reading.health.clone()),
            files: reading.files.values().cloned().collect(),
        };
        let events = apply(&mut known, "s", previous.at, change, t(now), &options);
        return (known, events);
    }
    let mut read: Vec<String> = known
        .files
        .keys()
        .chain(reading.files.keys())
        .cloned()
        .collect();
    read.sort();
    read.dedup();
    let fold = Fold::new("s", &read, previous.at, t(now), &options);
    let mut events = Vec::new();
    for entry in &read {
        let part = reading.files.get(entry).cloned().into_iter().collect();
        events.extend(fold.part(&mut known, entry, part));
    }
    events.extend(fold.finish(&mut known, &[]));
    (known, events)
}

#[test]
fn applying_some_files_is_diffing_the_snapshot_with_them_replaced() {
    let at = |path: &str, state, locks| file(path, state, locks);
    let alice = |exp| lock("alice", Some("tok-a"), Some(exp));
    let bob = |exp| lock("bob", Some("tok-b"), Some(exp));
    // Five files: one of them changes, and time passes over the warnings and expiries of the others.
    let previous = snap(
        Some(0),
        vec![
            at("a.odt", FileState::Locked, vec![alice(3600)]),
            at("b.odt", FileState::Locked, vec![bob(300)]),
            at("c.odt", FileState::Unlocked, vec![]),
            at("d.odt", FileState::Locked, vec![bob(20)]),
            at("want.odt", FileState::Locked, vec![alice(7200)]),
        ],
    );
    let changes: Vec<(&str, Vec<FileEntry>, i64)> = vec![
        ("nothing read: time alone", vec![], 30),
        (
            "the wanted file is released",
            vec![at("want.odt", FileState::Unlocked, vec![])],
            30,
        ),
        (
            "a free file is locked",
            vec![at("c.odt", FileState::Locked, vec![alice(900)])],
            10,
        ),
        (
            "a new file appears",
            vec![at("e.odt", FileState::Locked, vec![bob(60)])],
            5,
        ),
        (
            "a path read twice keeps the state before the reading as the old one",
            vec![
                at("c.odt", FileState::Locked, vec![alice(900)]),
                at("c.odt", FileState::Locked, vec![bob(900)]),
            ],
            10,
        ),
    ];
    for (case, files, now) in changes {
        let mut expected = previous.clone();
        expected.at = Some(t(now));
        let reading = expected.servers.get_mut("s").unwrap();
        for f in &files {
            reading.files.insert(f.path.clone(), f.clone());
        }
        let mut known = previous.servers["s"].clone();
        let change = Change {
            health: Some(Health::Up),
            files,
        };
        let events = apply(
            &mut known,
            "s",
            previous.at,
            change,
            t(now),
            &DiffOptions::default(),
        );
        assert_eq!(events, diff(&previous, &expected, t(now)), "{case}");
        assert!(
            !events.is_empty() || case.starts_with("nothing"),
            "{case}: says something"
        );
        assert_eq!(known, expected.servers["s"], "{case}: the reading after");
    }
    // Health alone: down, then back.
    let mut known = previous.servers["s"].clone();
    let went_down = down(0, 40).servers["s"].health.clone();
    let change = |health| Change {
        health: Some(health),
        ..Change::default()
    };
    let events = apply(
        &mut known,
        "s",
        previous.at,
        change(went_down),
        t(40),
        &DiffOptions::default(),
    );
    assert_eq!(names(&events), ["server_down", "expired"]);
    let events = apply(
        &mut known,
        "s",
        Some(t(40)),
        change(Health::Up),
        t(50),
        &DiffOptions::default(),
    );
    assert_eq!(names(&events), ["server_back"]);
}

#[test]
fn unlocked_names_who_released_and_carries_wanted() {
    let prev = snap(
        Some(0),
        vec![file(
            "wanted.xlsx",
            FileState::Locked,
            vec![lock("bob", Some("t"), None)],
        )],
    );
    let cur = snap(
        Some(5),
        vec![file("wanted.xlsx", FileState::Unlocked, vec![])],
    );
    let events = diff(&prev, &cur, t(5));
    let [
        LockEvent::Unlocked {
            released,
            wanted,
            path,
            at,
            ..
        },
    ] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert!(wanted);
    assert_eq!(path, "wanted.xlsx");
    assert_eq!(*at, t(5));
    assert_eq!(released[0].owner.as_deref(), Some("bob"));
}

#[test]
fn refresh_counts_only_beyond_elapsed_time_and_tolerance() {
    let with_expiry = |e: i64| snap_one(lock("alice", Some("tok"), Some(e)));
    // A counting-down server: the expiry stays put (±1 s of rounding), then jumps on a real refresh.
    assert_eq!(
        names(&diff(
            &at(0, with_expiry(600)),
            &at(30, with_expiry(601)),
            t(30)
        )),
        Vec::<&str>::new()
    );
    assert_eq!(
        names(&diff(
            &at(0, with_expiry(600)),
            &at(30, with_expiry(930)),
            t(30)
        )),
        vec!["refreshed"]
    );
    // A server that repeats the original timeout: "now + 600" moves by exactly the elapsed 30 s each
    // poll, plus jitter inside the tolerance: not a refresh.
    assert_eq!(
        names(&diff(
            &at(0, with_expiry(600)),
            &at(30, with_expiry(630)),
            t(30)
        )),
        Vec::<&str>::new()
    );
    assert_eq!(
        names(&diff(
            &at(0, with_expiry(600)),
            &at(30, with_expiry(635)),
            t(30)
        )),
        Vec::<&str>::new()
    );
    // One second more than elapsed + tolerance is a refresh.
    assert_eq!(
        names(&diff(
            &at(0, with_expiry(600)),
            &at(30, with_expiry(636)),
            t(30)
        )),
        vec!["refreshed"]
    );
    // A shorter expiry is not a refresh.
    assert_eq!(
        names(&diff(
            &at(0, with_expiry(600)),
            &at(30, with_expiry(500)),
            t(30)
        )),
        Vec::<&str>::new()
    );
    // "Never" to a time, or the reverse, is not a refresh either (no jump to measure).
    let never = snap_one(lock("alice", Some("tok"), None));
    assert_eq!(
        names(&diff(
            &at(0, never.clone()),
            &at(30, with_expiry(900)),
            t(30)
        )),
        Vec::<&str>::new()
    );
    assert_eq!(
        names(&diff(&at(0, with_expiry(900)), &at(30, never), t(30))),
        Vec::<&str>::new()
    );
}

fn snap_one(l: Lock) -> Snapshot {
    snap(None, vec![locked(vec![l])])
}

fn at(secs: i64, mut s: Snapshot) -> Snapshot {
    s.at = Some(t(secs));
    s
}

#[test]
fn expiring_soon_fires_once_at_the_window_edge() {
    // Expiry at 1000 s; the warning window opens at 700 s.
    let s = |when: i64| at(when, snap_one(lock("alice", Some("tok"), Some(1000))));
    assert_eq!(names(&diff(&s(0), &s(699), t(699))), Vec::<&str>::new());
    // Exactly at the edge: fires (the window is (previous, now]).
    assert_eq!(names(&diff(&s(0), &s(700), t(700))), vec!["expiring_soon"]);
    // Crossed between two evaluations.
    assert_eq!(
        names(&diff(&s(690), &s(710), t(710))),
        vec!["expiring_soon"]
    );
    // Already inside at the previous evaluation: not again.
    assert_eq!(names(&diff(&s(700), &s(730), t(730))), Vec::<&str>::new());
    // A lock first seen inside its window warns at once.
    assert_eq!(
        names(&diff(&Snapshot::default(), &s(800), t(800))),
        vec!["locked", "expiring_soon"]
    );
}

#[test]
fn expired_means_still_listed_after_the_expiry_once() {
    let s = |when: i64| at(when, snap_one(lock("alice", Some("tok"), Some(1000))));
    assert_eq!(names(&diff(&s(990), &s(999), t(999))), Vec::<&str>::new());
    // At the expiry instant, a fresh read still lists it: stale.
    assert_eq!(names(&diff(&s(990), &s(1000), t(1000))), vec!["expired"]);
    // Still listed later: reported only once.
    assert_eq!(
        names(&diff(&s(1000), &s(1030), t(1030))),
        Vec::<&str>::new()
    );
    // First seen already expired: locked and expired at once (no "expiring soon" for the past).
    assert_eq!(
        names(&diff(&Snapshot::default(), &s(2000), t(2000))),
        vec!["locked", "expired"]
    );
    // Refreshed after expiring, then expiring again: reported again.
    let r = |when: i64| at(when, snap_one(lock("alice", Some("tok"), Some(5000))));
    assert_eq!(names(&diff(&s(1030), &r(1060), t(1060))), vec!["refreshed"]);
    assert_eq!(names(&diff(&r(4990), &r(5001), t(5001))), vec!["expired"]);
}

#[test]
fn deadlines_list_warnings_and_rereads_in_order() {
    let s = snap(
        Some(0),
        vec![
            locked(vec![lock("alice", Some("a"), Some(1000))]),
            file(
                "b.odt",
                FileState::Locked,
                vec![lock("bob", Some("b"), Some(100))],
            ),
            file(
                "c.odt",
                FileState::Locked,
                vec![lock("carol", Some("c"), None)],
            ),
        ],
    );
    let d = next_deadlines(&s, t(0), &DiffOptions::default());
    let got: Vec<(i64, &str, bool)> = d
        .iter()
        .map(|d| {
            (
                d.at.timestamp() - t(0).timestamp(),
                d.path.as_str(),
                d.reread,
            )
        })
        .collect();
    // b's warning (100 - 300 s) is already past: only its expiry remains.
    assert_eq!(
        got,
        vec![
            (100, "b.odt", true),
            (700, "a.odt", false),
            (1000, "a.odt", true)
        ]
    );
}

#[test]
fn events_serialise_as_tagged_json_lines() {
    let prev = snap(Some(0), vec![locked(vec![lock("bob", Some("t"), None)])]);
    let cur = snap(Some(5), vec![free()]);
    let events = diff(&prev, &cur, t(5));
    let json = serde_json::to_value(&events[0]).unwrap();
    assert_eq!(json["event"], "unlocked");
    assert_eq!(json["server"], "s");
    assert_eq!(json["path"], "a.odt");
    assert_eq!(json["released"][0]["owner"], "bob");
    let back: LockEvent = serde_json::from_value(json).unwrap();
    assert_eq!(back, events[0]);
}

#[test]
fn a_complete_reading_keeps_the_members_of_unchanged_folders() {
    let alice = |exp| lock("alice", Some("tok-a"), Some(exp));
    let previous = snap(
        Some(0),
        vec![
            file("F/kept.odt", FileState::Locked, vec![alice(200)]),
            file("F/sub/deeper.odt", FileState::Unlocked, vec![]),
            file("G/read.odt", FileState::Locked, vec![alice(3600)]),
            file("G/gone.odt", FileState::Unlocked, vec![]),
        ],
    );
    // G/ was listed (read.odt is free now, gone.odt is gone); F/ was not, its etag having stayed. No entry
    // reads F/sub/ any more.
    let read = file("G/read.odt", FileState::Unlocked, vec![]);
    let mut expected = snap(
        Some(0),
        vec![
            previous.servers["s"].files["F/kept.odt"].clone(),
            read.clone(),
        ],
    );
    expected.at = Some(t(60));
    let mut known = previous.servers["s"].clone();
    let list = ["F/".to_owned(), "G/".to_owned()];
    let fold = Fold::new("s", &list, previous.at, t(60), &DiffOptions::default());
    let mut events = fold.part(&mut known, "G/", vec![read]);
    events.extend(fold.finish(&mut known, &["F/".to_owned()]));
    // The kept lock's warning (at 200 - 300 s) is judged for it as for any file the reading did not touch.
    assert_eq!(names(&events), ["unlocked"]);
    assert_eq!(events, diff(&previous, &expected, t(60)));
    assert_eq!(known, expected.servers["s"]);
}

#[test]
fn each_part_of_a_reading_replaces_what_its_entry_reads() {
    let alice = lock("alice", Some("tok-a"), None);
    let before = vec![
        file("F/a.odt", FileState::Locked, vec![alice.clone()]),
        file("F/b.odt", FileState::Unlocked, vec![]),
        file("F/x.odt", FileState::Unlocked, vec![]),
        FileEntry::failed(
            "s",
            "G/",
            "http://h/G/",
            ErrorInfo {
                kind: ErrorKind::NotFound,
                message: "G/ was not found".into(),
            },
        ),
    ];
    let mut previous = down(0, 0);
    previous.servers.get_mut("s").unwrap().files = ServerReading::up(before).files;
    let list: Vec<String> = ["F/", "F/x.odt", "G/"].map(String::from).to_vec();
    let mut known = previous.servers["s"].clone();
    let fold = Fold::new("s", &list, previous.at, t(30), &DiffOptions::default());
    // F/'s listing: a.odt is free, b.odt is gone, c.odt is new. x.odt is read as an entry of its own
    // and deep/z.odt is read by no entry: the listing's word on them does not count.
    let mut events = fold.part(
        &mut known,
        "F/",
        vec![
            file("F/c.odt", FileState::Unlocked, vec![]),
            file("F/a.odt", FileState::Unlocked, vec![]),
            file("F/x.odt", FileState::Locked, vec![alice.clone()]),
            file("F/deep/z.odt", FileState::Unlocked, vec![]),
        ],
    );
    assert_eq!(names(&events), ["server_back", "unlocked"]);
    assert!(!known.files.contains_key("F/b.odt"));
    assert_eq!(known.files["F/x.odt"].state, FileState::Unlocked);
    events.extend(fold.part(
        &mut known,
        "F/x.odt",
        vec![file("F/x.odt", FileState::Unlocked, vec![])],
    ));
    // G/ is readable again and has many members: they replace its error entry.
    let members: Vec<FileEntry> = (0..40)
        .rev()
        .map(|i| file(&format!("G/f{i:02}.odt"), FileState::Unlocked, vec![]))
        .collect();
    events.extend(fold.part(&mut known, "G/", members.clone()));
    events.extend(fold.finish(&mut known, &[]));

    let mut now_files = vec![
        file("F/a.odt", FileState::Unlocked, vec![]),
        file("F/c.odt", FileState::Unlocked, vec![]),
        file("F/x.odt", FileState::Unlocked, vec![]),
    ];
    now_files.extend(members);
    let expected = snap(Some(30), now_files);
    assert_eq!(known, expected.servers["s"]);
    assert_eq!(events, diff(&previous, &expected, t(30)));
}
