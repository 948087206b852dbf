//! The parsers and the lock interpretation on responses recorded from real servers
//! (tests/fixtures/webdav/README.md and tests/fixtures/nextcloud/README.md say how each was recorded).
//! Each test pins a behaviour of one real server that the engine must handle.

use chrono::{DateTime, TimeDelta, Utc};
use url::Url;

use super::*;
use crate::config::Config;
use crate::protocol::nextcloud::{Nextcloud, parse_capabilities};

const SERVERS: [&str; 3] = ["apache", "wsgidav", "dav-server"];

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn server(url: &str, kind: &str) -> (crate::config::ServerConfig, HttpClient) {
    let config = Config::parse(
        &format!("[[servers]]\nname = \"s\"\nkind = \"{kind}\"\nurl = \"{url}\"\n"),
        "t",
        &|_| None,
    )
    .unwrap();
    let server = config.servers[0].clone();
    let http = HttpClient::new(&server, None).unwrap();
    (server, http)
}

fn webdav() -> WebDav {
    let (config, http) = server("http://127.0.0.1:1/dav/", "webdav");
    WebDav::new(&config, http)
}

/// The entry for a Depth-0 recording of `path`.
fn depth0(server: &str, name: &str, path: &str) -> FileEntry {
    let responses = parse(&fixture(&format!("webdav/{server}"), name)).unwrap();
    let base = Url::parse("http://127.0.0.1:1/dav/").unwrap();
    let fetched = sort_listing(&base, path, responses).unwrap();
    webdav().entry(path, &fetched.own.unwrap(), &[], now())
}

/// The member entries of a Depth-1 recording of folder `folder`, with the folder's own locks applied.
fn depth1(server: &str, name: &str, folder: &str) -> Vec<FileEntry> {
    let responses = parse(&fixture(&format!("webdav/{server}"), name)).unwrap();
    let base = Url::parse("http://127.0.0.1:1/dav/").unwrap();
    let fetched = sort_listing(&base, folder, responses).unwrap();
    let inherited = fetched
        .own
        .as_ref()
        .map(|own| infinity_locks(folder, own))
        .unwrap_or_default();
    let source = webdav();
    fetched
        .members
        .iter()
        .map(|(path, r)| source.entry(path, r, &inherited, now()))
        .collect()
}

#[test]
fn unlocked_files() {
    for s in SERVERS {
        let entry = depth0(s, "propfind-depth0-unlocked.xml", "Reports/c.txt");
        assert_eq!(
            (entry.state, entry.locks.len()),
            (FileState::Unlocked, 0),
            "{s}"
        );
    }
}

#[test]
fn exclusive_lock_with_mailto_owner() {
    for (s, token_prefix) in [
        ("apache", "opaquelocktoken:"),
        ("wsgidav", "opaquelocktoken:0x"),
        ("dav-server", "urn:uuid:"),
    ] {
        let entry = depth0(
            s,
            "propfind-depth0-exclusive-owner-href.xml",
            "Reports/a.txt",
        );
        assert_eq!(entry.state, FileState::Locked, "{s}");
        let lock = &entry.locks[0];
        assert_eq!(lock.owner.as_deref(), Some("bob@example.com"), "{s}");
        assert_eq!(
            lock.owner_id.as_deref(),
            Some("mailto:bob@example.com"),
            "{s}"
        );
        assert_eq!(
            (lock.scope, lock.depth.as_str(), lock.inherited),
            (LockScope::Exclusive, "0", false),
            "{s}"
        );
        assert!(
            lock.token.as_deref().unwrap().starts_with(token_prefix),
            "{s}: {lock:?}"
        );
        assert_eq!(lock.expiry, Expiry::At, "{s}");
        let remaining = (lock.expires_at.unwrap() - now()).num_seconds();
        assert!((590..=600).contains(&remaining), "{s}: {remaining}");
    }
}

#[test]
fn text_and_missing_owners() {
    for s in SERVERS {
        let text = depth0(s, "propfind-depth0-owner-text.xml", "Misc/owner-text.txt");
        assert_eq!(text.locks[0].owner.as_deref(), Some("Bob Builder"), "{s}");
        let none = depth0(s, "propfind-depth0-no-owner.xml", "Misc/no-owner.txt");
        assert_eq!(none.state, FileState::Locked, "{s}");
        assert_eq!(
            (
                none.locks[0].owner.as_deref(),
                none.locks[0].owner_id.as_deref()
            ),
            (None, None),
            "{s}"
        );
    }
}

#[test]
fn two_shared_locks() {
    for s in SERVERS {
        let entry = depth0(s, "propfind-depth0-two-shared.xml", "Reports/b.txt");
        assert_eq!(entry.locks.len(), 2, "{s}");
        assert!(
            entry.locks.iter().all(|l| l.scope == LockScope::Shared),
            "{s}"
        );
        assert_ne!(entry.locks[0].token, entry.locks[1].token, "{s}");
    }
}

/// Apache keeps `Infinite`; WsgiDAV turns it into four weeks; dav-server caps it at ten minutes.
#[test]
fn infinite_timeouts_as_each_server_reports_them() {
    let apache = depth0(
        "apache",
        "propfind-depth0-timeout-infinite.xml",
        "Misc/infinite.txt",
    );
    assert_eq!(
        (apache.locks[0].expiry, apache.locks[0].expires_at),
        (Expiry::Never, None)
    );
    let wsgidav = depth0(
        "wsgidav",
        "propfind-depth0-timeout-infinite.xml",
        "Misc/infinite.txt",
    );
    assert!(wsgidav.locks[0].expires_at.unwrap() > now() + TimeDelta::days(27));
    let dav = depth0(
        "dav-server",
        "propfind-depth0-timeout-infinite.xml",
        "Misc/infinite.txt",
    );
    assert_eq!(dav.locks[0].timeout.as_deref(), Some("Second-600"));
}

/// Apache and WsgiDAV count the timeout down; dav-server reports the same value each time.
#[test]
fn timeouts_count_down_or_not() {
    for (s, counts_down) in [("apache", true), ("wsgidav", true), ("dav-server", false)] {
        let before = depth0(
            s,
            "propfind-depth0-exclusive-owner-href.xml",
            "Reports/a.txt",
        );
        let after = depth0(
            s,
            "propfind-depth0-exclusive-owner-href-after-5s.xml",
            "Reports/a.txt",
        );
        let (b, a) = (
            before.locks[0].expires_at.unwrap(),
            after.locks[0].expires_at.unwrap(),
        );
        assert_eq!(a < b, counts_down, "{s}: {b} then {a}");
    }
}

#[test]
fn depth1_listing_with_mixed_states_and_encoded_names() {
    for s in SERVERS {
        let members = depth1(s, "propfind-depth1-mixed.xml", "Reports/");
        let state = |path: &str| {
            members
                .iter()
                .find(|m| m.path == path)
                .unwrap_or_else(|| {
                    panic!(
                        "{s}: no {path} in {:?}",
                        members.iter().map(|m| &m.path).collect::<Vec<_>>()
                    )
                })
                .state
        };
        assert_eq!(
            members.len(),
            5,
            "{s}: {:?}",
            members.iter().map(|m| &m.path).collect::<Vec<_>>()
        );
        assert_eq!(state("Reports/a.txt"), FileState::Locked, "{s}");
        assert_eq!(state("Reports/b.txt"), FileState::Locked, "{s}");
        assert_eq!(state("Reports/c.txt"), FileState::Unlocked, "{s}");
        assert_eq!(
            state("Reports/Budget 2026 (final).xlsx"),
            FileState::Unlocked,
            "{s}"
        );
        assert_eq!(state("Reports/Ünïcode.odt"), FileState::Unlocked, "{s}");
    }
}

/// A depth-infinity folder lock: Apache repeats it on members without a lockroot, dav-server repeats it
/// with `Infinity` capitalised, WsgiDAV does not repeat it at all. Every member is locked, once.
#[test]
fn folder_lock_applies_to_every_member_once() {
    for s in SERVERS {
        let members = depth1(s, "propfind-depth1-locked-folder.xml", "Locked/");
        assert_eq!(members.len(), 2, "{s}");
        for m in &members {
            assert_eq!(m.state, FileState::Locked, "{s}: {m:?}");
            assert_eq!(m.locks.len(), 1, "{s}: {m:?}");
            assert!(m.locks[0].inherited, "{s}: {m:?}");
            assert_eq!(m.locks[0].depth, "infinity", "{s}");
        }
    }
    let wsgidav = depth0(
        "wsgidav",
        "propfind-depth0-inherited-member.xml",
        "Locked/x.txt",
    );
    assert_eq!(
        wsgidav.state,
        FileState::Unlocked,
        "WsgiDAV alone does not show the folder lock on the member"
    );
}

/// What each server's answers show about inherited locks, which decides whether ancestors must be read:
/// Apache (by its mod_dav_fs namespace, even with no lock in sight) and dav-server (by a folder lock listed
/// on its members) repeat them; WsgiDAV's members leave the folder's lock out.
#[test]
fn each_server_shows_how_it_reports_inherited_locks() {
    let base = Url::parse("http://127.0.0.1:1/dav/").unwrap();
    let evidence = |s: &str, name: &str, entry: &str| {
        let body = fixture(&format!("webdav/{s}"), name);
        let fetched = sort_listing(&base, entry, parse(&body).unwrap()).unwrap();
        inheritance_evidence(&body, &fetched)
    };
    let locked = "propfind-depth1-locked-folder.xml";
    assert_eq!(
        evidence("apache", locked, "Locked/"),
        Some(Inheritance::Repeated)
    );
    assert_eq!(
        evidence("dav-server", locked, "Locked/"),
        Some(Inheritance::Repeated)
    );
    assert_eq!(
        evidence("wsgidav", locked, "Locked/"),
        Some(Inheritance::Omitted)
    );
    let unlocked = "propfind-depth0-unlocked.xml";
    assert_eq!(
        evidence("apache", unlocked, "Reports/c.txt"),
        Some(Inheritance::Repeated),
        "mod_dav, known by its namespace"
    );
    assert_eq!(evidence("dav-server", unlocked, "Reports/c.txt"), None);
    assert_eq!(evidence("wsgidav", unlocked, "Reports/c.txt"), None);

    // A watched file under a locked folder, against the folder's lock read as an ancestor.
    for (s, expected) in [
        ("apache", Inheritance::Repeated),
        ("dav-server", Inheritance::Repeated),
        ("wsgidav", Inheritance::Omitted),
    ] {
        let folder = parse(&fixture(&format!("webdav/{s}"), locked)).unwrap();
        let ancestor_locks = infinity_locks("Locked/", &folder[0]);
        let member = parse(&fixture(
            &format!("webdav/{s}"),
            "propfind-depth0-inherited-member.xml",
        ))
        .unwrap();
        assert_eq!(
            repeated_below(&ancestor_locks, &[&member[0]]),
            Some(expected),
            "{s}"
        );
    }

    // Learning: "omitted" is final, whatever comes after.
    let source = webdav();
    assert_eq!(source.inheritance(), Inheritance::Unknown);
    source.learn(Some(Inheritance::Repeated));
    assert_eq!(source.clone().inheritance(), Inheritance::Repeated);
    source.learn(Some(Inheritance::Omitted));
    source.learn(Some(Inheritance::Repeated));
    assert_eq!(source.inheritance(), Inheritance::Omitted);
}

#[test]
fn nextcloud_user_lock_recorded_from_a_real_server() {
    let (config, http) = server(
        "https://cloud.example.com/remote.php/dav/files/test/",
        "nextcloud",
    );
    let source = Nextcloud::new(&config, http);
    let responses = parse(&fixture("nextcloud", "propfind-depth0-locked-file.xml")).unwrap();
    let entry = source.entry("test.md", &responses[0], now());
    assert_eq!(entry.state, FileState::Locked);
    let lock = &entry.locks[0];
    assert_eq!(
        (lock.kind, lock.owner_id.as_deref(), lock.owner.as_deref()),
        (LockKind::User, Some("test"), Some("test"))
    );
    assert_eq!(lock.acquired_at.unwrap().timestamp(), 1_650_637_795);
    assert_eq!(lock.expires_at.unwrap().timestamp(), 1_650_637_795 + 1800);
    assert_eq!(lock.editor, None, "lock-owner-editor came back 404");
}

#[test]
fn nextcloud_capabilities_recorded_from_a_real_server() {
    let caps = parse_capabilities(&fixture("nextcloud", "capabilities-nc35-excerpt.json")).unwrap();
    assert_eq!(caps.locking.as_deref(), Some("1.0"));
    assert!(caps.lock_type_feature);
}
