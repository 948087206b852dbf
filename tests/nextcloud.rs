//! Reading Nextcloud files_lock locks, against the emulator (tests/support/nextcloud.rs).

use std::sync::Arc;

use chrono::Utc;
use lockwatch::ErrorKind;
use lockwatch::model::{Expiry, FileState, LockKind, ServerKind};
use lockwatch::protocol::{LockSource, Server};
use lockwatch::secrets::MemoryStore;

use crate::support::nextcloud::{NcLock, Nextcloud, Options};
use crate::support::{config, file, status};

fn lock(
    owner_type: u8,
    owner: &str,
    display: &str,
    editor: Option<&str>,
    time: i64,
    timeout: i64,
) -> NcLock {
    NcLock {
        owner_type,
        owner: owner.to_owned(),
        display_name: display.to_owned(),
        editor: editor.map(str::to_owned),
        time,
        timeout,
        token: format!("files_lock/{owner}-{time}"),
    }
}

fn alice_config(nc: &Nextcloud, kind: &str, watch: &str) -> lockwatch::config::Config {
    // The emulator's alice password is "alice-pw-1", the same as the WebDAV test users'.
    config(&format!(
        "[[servers]]\nname = \"cloud\"\nkind = \"{kind}\"\nurl = \"{}\"\nusername = \"alice\"\npassword_env = \"PW_ALICE\"\nwatch = {watch}\n",
        nc.dav_url("alice")
    ))
}

/// Every lock type, never-expiring and expiring timeouts, a Depth-1 folder: one PROPFIND per entry.
#[tokio::test]
async fn reads_every_files_lock_shape() {
    let nc = Nextcloud::start();
    let now = nc.now();
    nc.add_folder("Reports");
    for path in [
        "Budget.xlsx",
        "Reports/user.docx",
        "Reports/app.docx",
        "Reports/token.docx",
        "Reports/free.docx",
        "Reports/Plan 2026 (v2).odt",
    ] {
        nc.add_file(path, "alice");
    }
    nc.set_lock(
        "Budget.xlsx",
        lock(0, "bob", "Bob Builder", None, now - 60, 1800),
    );
    nc.set_lock(
        "Reports/user.docx",
        lock(0, "bob", "Bob Builder", None, now - 10, -60),
    );
    nc.set_lock(
        "Reports/app.docx",
        lock(
            1,
            "richdocuments",
            "Nextcloud Office",
            Some("richdocuments"),
            now - 5,
            0,
        ),
    );
    nc.set_lock(
        "Reports/token.docx",
        lock(
            2,
            "carol id",
            "Carol (Desktop client)",
            None,
            now - 120,
            600,
        ),
    );

    let config = alice_config(&nc, "auto", r#"["Budget.xlsx", "Reports/"]"#);
    let report = status(&config).await;
    assert!(report.servers[0].ok, "{:?}", report.servers[0]);
    assert_eq!(
        report.servers[0].kind,
        Some(ServerKind::Nextcloud),
        "detected from capabilities"
    );

    let budget = file(&report, "Budget.xlsx");
    assert_eq!(budget.state, FileState::Locked);
    let l = &budget.locks[0];
    assert_eq!(
        (l.kind, l.owner.as_deref(), l.owner_id.as_deref()),
        (LockKind::User, Some("Bob Builder"), Some("bob"))
    );
    assert_eq!(l.acquired_at.unwrap().timestamp(), now - 60);
    assert_eq!(
        (l.expiry, l.expires_at.unwrap().timestamp()),
        (Expiry::At, now - 60 + 1800)
    );
    assert_eq!(l.timeout.as_deref(), Some("1800"));

    let user = &file(&report, "Reports/user.docx").locks[0];
    assert_eq!(
        (user.expiry, user.expires_at),
        (Expiry::Never, None),
        "timeout -60 never expires"
    );

    let app = &file(&report, "Reports/app.docx").locks[0];
    assert_eq!(app.kind, LockKind::App);
    assert_eq!(app.editor.as_deref(), Some("richdocuments"));
    assert_eq!(app.owner_id, None, "app locks have no user");
    assert_eq!(app.expiry, Expiry::Never);

    let token = &file(&report, "Reports/token.docx").locks[0];
    assert_eq!(token.kind, LockKind::Token);
    assert_eq!(token.owner_id.as_deref(), Some("carol id"));
    assert!(token.token.is_some());

    assert_eq!(
        file(&report, "Reports/free.docx").state,
        FileState::Unlocked
    );
    assert_eq!(
        file(&report, "Reports/Plan 2026 (v2).odt").state,
        FileState::Unlocked
    );
    // Files carry their oc:fileid (what push announcements name), read from the same requests.
    for path in ["Budget.xlsx", "Reports/user.docx", "Reports/free.docx"] {
        assert_eq!(
            file(&report, path).file_id,
            Some(nc.file_id(path).to_string()),
            "{path}"
        );
    }

    let propfinds: Vec<_> = nc
        .requests()
        .into_iter()
        .filter(|r| r.method == "PROPFIND")
        .collect();
    assert_eq!(
        propfinds.len(),
        2,
        "one PROPFIND per watch entry: {propfinds:?}"
    );
    assert_eq!(
        propfinds
            .iter()
            .filter(|r| r.depth.as_deref() == Some("1"))
            .count(),
        1
    );
}

#[tokio::test]
async fn expired_locks_disappear() {
    let nc = Nextcloud::start();
    nc.add_file("Budget.xlsx", "alice");
    nc.set_lock(
        "Budget.xlsx",
        lock(0, "bob", "Bob Builder", None, nc.now(), 60),
    );
    let config = alice_config(&nc, "nextcloud", r#"["Budget.xlsx"]"#);
    assert_eq!(
        file(&status(&config).await, "Budget.xlsx").state,
        FileState::Locked
    );
    nc.advance(61);
    assert_eq!(
        file(&status(&config).await, "Budget.xlsx").state,
        FileState::Unlocked
    );
}

#[tokio::test]
async fn wrong_password_and_missing_file() {
    let nc = Nextcloud::start();
    nc.add_file("Budget.xlsx", "alice");
    let wrong = config(&format!(
        "[[servers]]\nname = \"cloud\"\nkind = \"nextcloud\"\nurl = \"{}\"\nusername = \"alice\"\npassword_env = \"WRONG_PW\"\nwatch = [\"Budget.xlsx\"]\n",
        nc.dav_url("alice")
    ));
    let report = status(&wrong).await;
    assert_eq!(
        report.servers[0].error.as_ref().unwrap().kind,
        ErrorKind::Unauthorized
    );

    let missing = alice_config(&nc, "nextcloud", r#"["Budget.xlsx", "Nope.xlsx"]"#);
    let report = status(&missing).await;
    assert!(report.servers[0].ok);
    assert_eq!(
        file(&report, "Nope.xlsx").error.as_ref().unwrap().kind,
        ErrorKind::NotFound
    );
    assert_eq!(file(&report, "Budget.xlsx").state, FileState::Unlocked);
}

/// A Nextcloud without files_lock has no locks to watch: auto-detection says so instead of "unlocked".
#[tokio::test]
async fn nextcloud_without_files_lock_is_reported_as_such() {
    let nc = Nextcloud::start_with(Options {
        files_lock: false,
        ..Options::default()
    });
    nc.add_file("Budget.xlsx", "alice");
    let report = status(&alice_config(&nc, "auto", r#"["Budget.xlsx"]"#)).await;
    let error = report.servers[0].error.as_ref().unwrap();
    assert_eq!(error.kind, ErrorKind::Unsupported);
    assert!(error.message.contains("files_lock"), "{}", error.message);
}

/// A user id with a space: the DAV root URL is percent-encoded and hrefs still resolve.
#[tokio::test]
async fn user_ids_with_spaces() {
    let nc = Nextcloud::start();
    nc.add_folder("Shared");
    nc.add_file("Shared/Notes.md", "alice");
    nc.set_lock(
        "Shared/Notes.md",
        lock(0, "bob", "Bob Builder", None, nc.now(), 0),
    );
    let config = config(&format!(
        "[[servers]]\nname = \"cloud\"\nurl = \"{}\"\nusername = \"carol id\"\npassword_env = \"PW_CAROL\"\nwatch = [\"Shared/\"]\n",
        nc.dav_url("carol id")
    ));
    let report = status(&config).await;
    assert!(report.servers[0].ok, "{:?}", report.servers[0]);
    let notes = file(&report, "Shared/Notes.md");
    assert_eq!(notes.state, FileState::Locked);
    assert!(
        notes.url.contains("/files/carol%20id/Shared/Notes.md"),
        "{}",
        notes.url
    );
}

/// The PROPFINDs of `nc` from request `from` on: (depth, path below the user's root).
fn propfinds(nc: &Nextcloud, from: usize) -> Vec<(String, String)> {
    nc.requests()[from..]
        .iter()
        .filter(|r| r.method == "PROPFIND")
        .map(|r| {
            let path = r.path.rsplit_once("/alice/").map_or("", |(_, p)| p);
            (r.depth.clone().unwrap_or_default(), path.to_owned())
        })
        .collect()
}

/// [`propfinds`] grouped by path, each path's requests in the order they came. The watched paths are
/// read concurrently, so the order between paths is the scheduler's, not the engine's.
fn propfinds_per_path(nc: &Nextcloud, from: usize) -> Vec<(String, String)> {
    let mut seen = propfinds(nc, from);
    seen.sort_by(|a, b| a.1.cmp(&b.1));
    seen
}

async fn alice_source(nc: &Nextcloud, watch: &str) -> std::sync::Arc<dyn LockSource> {
    let config = alice_config(nc, "nextcloud", watch);
    let server = Server::connect(config.servers[0].clone(), Arc::new(MemoryStore::new()))
        .await
        .unwrap();
    server.source().await.unwrap()
}

fn reports(nc: &Nextcloud) {
    nc.add_folder("Reports");
    for name in ["a.docx", "b.docx", "c.docx"] {
        nc.add_file(&format!("Reports/{name}"), "alice");
    }
    nc.set_lock(
        "Reports/b.docx",
        lock(0, "bob", "Bob Builder", None, nc.now(), -60),
    );
}

/// A poll asks a watched folder for its etag (`Depth: 0`) and lists it (`Depth: 1`) only when the etag
/// moved, which files_lock makes it do on every lock and unlock below it.
#[tokio::test]
async fn polls_list_only_folders_whose_etag_moved() {
    let nc = Nextcloud::start();
    reports(&nc);
    nc.add_file("Budget.xlsx", "alice");
    let source = alice_source(&nc, r#"["Reports/", "Budget.xlsx"]"#).await;
    let watch = vec!["Reports/".to_owned(), "Budget.xlsx".to_owned()];
    let depth1 = |d: &str| ("1".to_owned(), d.to_owned());
    let depth0 = |d: &str| ("0".to_owned(), d.to_owned());

    let mark = nc.requests().len();
    let first = source.poll(&watch, Utc::now()).await.unwrap();
    assert!(first.unchanged.is_empty());
    assert_eq!(first.files.len(), 4);
    assert_eq!(
        propfinds_per_path(&nc, mark),
        [depth0("Budget.xlsx"), depth1("Reports/")]
    );

    // Nothing changed: one small request for the folder; a watched file is read as always.
    let mark = nc.requests().len();
    let second = source.poll(&watch, Utc::now()).await.unwrap();
    assert_eq!(second.unchanged, ["Reports/"]);
    assert_eq!(
        second
            .files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>(),
        ["Budget.xlsx"]
    );
    assert_eq!(
        propfinds_per_path(&nc, mark),
        [depth0("Budget.xlsx"), depth0("Reports/")]
    );

    // Bob releases b.docx: the folder's etag moved, so it is listed, and the release is seen.
    nc.clear_lock("Reports/b.docx");
    let mark = nc.requests().len();
    let third = source.poll(&watch, Utc::now()).await.unwrap();
    assert!(third.unchanged.is_empty());
    assert_eq!(
        file_in(&third.files, "Reports/b.docx").state,
        FileState::Unlocked
    );
    assert_eq!(
        propfinds_per_path(&nc, mark),
        [
            depth0("Budget.xlsx"),
            depth0("Reports/"),
            depth1("Reports/")
        ]
    );

    // A full read (`lockwatch status`) never takes the shortcut.
    let mark = nc.requests().len();
    assert_eq!(source.read(&watch, Utc::now()).await.unwrap().len(), 4);
    assert_eq!(
        propfinds_per_path(&nc, mark),
        [depth0("Budget.xlsx"), depth1("Reports/")]
    );
}

/// Every CHECK_EVERY-th poll lists every folder whatever its etag says; a server whose folder etag
/// stayed while a lock changed (files_lock before it moved etags) is then always listed in full.
#[tokio::test]
async fn folders_are_checked_in_full_and_a_server_whose_etags_stay_is_not_trusted() {
    use lockwatch::protocol::nextcloud::CHECK_EVERY;
    for moves in [true, false] {
        let nc = Nextcloud::start_with(Options {
            lock_moves_etag: moves,
            ..Options::default()
        });
        reports(&nc);
        let source = alice_source(&nc, r#"["Reports/"]"#).await;
        let watch = vec!["Reports/".to_owned()];
        let mut listed = Vec::new();
        for poll in 1..=CHECK_EVERY + 2 {
            if poll == 3 {
                // Under an old files_lock this moves no etag: the polls until the check miss it.
                nc.clear_lock("Reports/b.docx");
            }
            let polled = source.poll(&watch, Utc::now()).await.unwrap();
            if polled.unchanged.is_empty() {
                let b = file_in(&polled.files, "Reports/b.docx");
                listed.push((poll, b.state));
            }
        }
        let free = FileState::Unlocked;
        let expected = if moves {
            // First poll, the release, the check; then probing goes on.
            vec![(1, FileState::Locked), (3, free), (CHECK_EVERY, free)]
        } else {
            // First poll, the check (which finds the release the etag did not show), and every poll
            // after it.
            vec![
                (1, FileState::Locked),
                (CHECK_EVERY, free),
                (CHECK_EVERY + 1, free),
                (CHECK_EVERY + 2, free),
            ]
        };
        assert_eq!(listed, expected, "lock_moves_etag: {moves}");
    }
}

fn file_in<'a>(
    files: &'a [lockwatch::model::FileEntry],
    path: &str,
) -> &'a lockwatch::model::FileEntry {
    files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} not in {files:?}"))
}

/// A lock that times out moves no etag, so the folder's probe says "unchanged"; the watch engine still
/// sees the file free, because it re-reads a file when its lock's known expiry passes.
#[tokio::test]
async fn an_expiry_in_an_unchanged_folder_is_still_seen() {
    use lockwatch::watch::{LockEvent, Pacing, SystemClock, Watcher, targets};
    let nc = Nextcloud::start();
    reports(&nc);
    nc.set_lock(
        "Reports/c.docx",
        lock(0, "bob", "Bob Builder", None, nc.now(), 3),
    );
    let config = alice_config(&nc, "nextcloud", r#"["Reports/"]"#);
    let mark = nc.requests().len();
    let (_watcher, mut events) = Watcher::start(
        targets(&config, Arc::new(MemoryStore::new())),
        Pacing::new(std::time::Duration::from_secs(1)),
        Arc::new(SystemClock),
    );
    let freed = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            match events.recv().await.expect("watcher stopped") {
                LockEvent::Unlocked { path, .. } if path == "Reports/c.docx" => break,
                _ => {}
            }
        }
    })
    .await;
    assert!(
        freed.is_ok(),
        "no unlocked event: {:?}",
        propfinds(&nc, mark)
    );
    let seen = propfinds(&nc, mark);
    let listings = seen.iter().filter(|(d, _)| d == "1").count();
    assert_eq!(
        listings, 1,
        "only the first poll lists the folder: {seen:?}"
    );
    assert!(
        seen.contains(&("0".to_owned(), "Reports/".to_owned())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("0".to_owned(), "Reports/c.docx".to_owned())),
        "{seen:?}"
    );
}
