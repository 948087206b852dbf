//! Taking, refreshing, releasing and breaking locks on real servers, with two users. Each outcome is
//! checked against a fresh read of the server, because that is what Lockwatch promises to report.

use std::sync::Arc;
use std::time::Duration;

use lockwatch::ErrorKind;
use lockwatch::actions::{Action, ActionReport, perform};
use lockwatch::held::HeldLocks;
use lockwatch::model::{FileState, LockKind, LockScope};
use lockwatch::protocol::Server;
use lockwatch::secrets::MemoryStore;
use url::Url;

use crate::support::davops::{self, LockSpec};
use crate::support::nextcloud::{NcLock, Nextcloud, Options};
use crate::support::{
    ALICE, BOB, DavServer, apache::Apache, both, config, lockwatch, write_config, wsgidav::WsgiDav,
};

fn url(base: &str, path: &str) -> String {
    lockwatch::protocol::resource_url(&Url::parse(base).unwrap(), path).to_string()
}

/// A connected server for `user` (`None`: anonymous, for dav-server).
async fn server(base: &str, kind: &str, user: Option<(&str, &str)>) -> Server {
    let credentials = match user {
        Some(("alice", _)) => "username = \"alice\"\npassword_env = \"PW_ALICE\"\n".to_owned(),
        Some(("bob", _)) => "username = \"bob\"\npassword_env = \"PW_BOB\"\n".to_owned(),
        Some(_) => unreachable!("test users are alice and bob"),
        None => String::new(),
    };
    let config = config(&format!(
        "[[servers]]\nname = \"srv\"\nkind = \"{kind}\"\nurl = \"{base}\"\n{credentials}"
    ));
    Server::connect(config.servers[0].clone(), Arc::new(MemoryStore::new()))
        .await
        .unwrap()
}

const TEN_MINUTES: Duration = Duration::from_secs(600);

fn lock_action() -> Action {
    Action::Lock {
        shared: false,
        timeout: TEN_MINUTES,
    }
}

#[track_caller]
fn assert_ok(report: &ActionReport) {
    assert!(report.outcome.ok, "{:#?}", report.outcome);
    assert!(report.outcome.error.is_none());
}

#[track_caller]
fn assert_refused(report: &ActionReport, kind: ErrorKind, words: &str) {
    assert!(!report.outcome.ok, "{:#?}", report);
    assert_eq!(
        report.outcome.error.as_ref().map(|e| e.kind),
        Some(kind),
        "{:#?}",
        report.outcome
    );
    assert!(
        report.outcome.message.contains(words),
        "expected {words:?} in {:?}",
        report.outcome.message
    );
}

/// Lock, a second user blocked, refresh, unlock; shared locks side by side; releasing an expired lock.
async fn round_trips(base: &str, alice: Option<(&str, &str)>, bob: Option<(&str, &str)>) {
    for path in ["Doc.txt", "Shared.txt", "Short.txt"] {
        assert!(
            davops::put(&url(base, path), ALICE, b"x")
                .await
                .is_success()
        );
    }
    let store_dir = tempfile::tempdir().unwrap();
    let held = HeldLocks::at(store_dir.path().join("held.json"));
    let bob_held = HeldLocks::at(store_dir.path().join("bob.json"));
    let as_alice = server(base, "auto", alice).await;
    let as_bob = server(base, "webdav", bob).await;

    let taken = perform(
        &as_alice,
        &held,
        "alice@example.com",
        "Doc.txt",
        lock_action(),
    )
    .await;
    assert_ok(&taken);
    assert!(
        taken
            .outcome
            .message
            .starts_with("Locked Doc.txt for you until "),
        "{}",
        taken.outcome.message
    );
    assert_eq!(taken.file.state, FileState::Locked);
    let lock = &taken.file.locks[0];
    assert!(lock.mine);
    assert_eq!(lock.owner.as_deref(), Some("alice@example.com"));
    let stored = held
        .find("srv", "Doc.txt")
        .unwrap()
        .expect("the token is remembered");
    assert_eq!(stored.token, lock.token);

    // The other user is told who has it and until when.
    let blocked = perform(
        &as_bob,
        &bob_held,
        "bob@example.com",
        "Doc.txt",
        lock_action(),
    )
    .await;
    assert_refused(
        &blocked,
        ErrorKind::Locked,
        "Doc.txt is locked by alice@example.com until ",
    );
    assert!(bob_held.load().unwrap().is_empty());

    let refreshed = perform(
        &as_alice,
        &held,
        "alice@example.com",
        "Doc.txt",
        Action::Refresh {
            timeout: TEN_MINUTES,
        },
    )
    .await;
    assert_ok(&refreshed);
    assert!(
        refreshed
            .outcome
            .message
            .starts_with("Refreshed your lock on Doc.txt until "),
        "{}",
        refreshed.outcome.message
    );

    let released = perform(
        &as_alice,
        &held,
        "alice@example.com",
        "Doc.txt",
        Action::Unlock,
    )
    .await;
    assert_ok(&released);
    assert_eq!(released.file.state, FileState::Unlocked);
    assert_eq!(
        released.outcome.message,
        "Released your lock on Doc.txt; it is unlocked now."
    );
    assert!(held.find("srv", "Doc.txt").unwrap().is_none());

    // Unlocking what Lockwatch never locked is refused without touching the server's state.
    let nothing = perform(
        &as_alice,
        &held,
        "alice@example.com",
        "Doc.txt",
        Action::Unlock,
    )
    .await;
    assert_refused(&nothing, ErrorKind::Conflict, "holds no lock on Doc.txt");

    // Shared locks coexist.
    let shared = Action::Lock {
        shared: true,
        timeout: TEN_MINUTES,
    };
    assert_ok(&perform(&as_alice, &held, "alice@example.com", "Shared.txt", shared).await);
    let second = perform(&as_bob, &bob_held, "bob@example.com", "Shared.txt", shared).await;
    assert_ok(&second);
    assert_eq!(second.file.locks.len(), 2);
    assert!(
        second
            .file
            .locks
            .iter()
            .all(|l| l.scope == LockScope::Shared)
    );
    assert_eq!(second.file.locks.iter().filter(|l| l.mine).count(), 1);

    // A lock that expired before it was released: the outcome says so, and the store forgets it.
    let short = Action::Lock {
        shared: false,
        timeout: Duration::from_secs(2),
    };
    assert_ok(&perform(&as_alice, &held, "alice@example.com", "Short.txt", short).await);
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let late = perform(
        &as_alice,
        &held,
        "alice@example.com",
        "Short.txt",
        Action::Unlock,
    )
    .await;
    assert_ok(&late);
    assert!(held.find("srv", "Short.txt").unwrap().is_none());
}

#[tokio::test]
async fn dav_server_round_trips() {
    let server = DavServer::start();
    round_trips(&server.base_url(), None, None).await;
}

#[tokio::test]
async fn apache_round_trips() {
    let server = Apache::start();
    round_trips(&server.base_url(), Some(ALICE), Some(BOB)).await;
}

#[tokio::test]
async fn wsgidav_round_trips() {
    let server = WsgiDav::start();
    round_trips(&server.base_url(), Some(ALICE), Some(BOB)).await;
}

/// Breaking bob's lock as alice: dav-server lets any client with the token do it; Apache and WsgiDAV bind
/// tokens to their owner and refuse, and the lock stays.
async fn force_unlock(base: &str, alice: Option<(&str, &str)>, permitted: bool) {
    assert!(
        davops::put(&url(base, "Theirs.txt"), ALICE, b"x")
            .await
            .is_success()
    );
    let owner = Some("<D:href>mailto:bob@example.com</D:href>".to_owned());
    davops::lock(
        &url(base, "Theirs.txt"),
        BOB,
        &LockSpec {
            owner_xml: owner,
            ..LockSpec::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let held = HeldLocks::at(dir.path().join("held.json"));
    let as_alice = server(base, "webdav", alice).await;
    let report = perform(
        &as_alice,
        &held,
        "alice@example.com",
        "Theirs.txt",
        Action::ForceUnlock,
    )
    .await;
    if permitted {
        assert_ok(&report);
        assert_eq!(report.file.state, FileState::Unlocked);
        assert!(
            report
                .outcome
                .message
                .contains("Released bob@example.com's lock on Theirs.txt"),
            "{}",
            report.outcome.message
        );
        assert!(report.outcome.message.contains("may lose unsaved work"));
    } else {
        assert_refused(&report, ErrorKind::Forbidden, "forbidden");
        assert_eq!(
            report.file.state,
            FileState::Locked,
            "the lock is still there"
        );
    }
}

#[tokio::test]
async fn dav_server_allows_force_unlock() {
    let server = DavServer::start();
    force_unlock(&server.base_url(), None, true).await;
}

#[tokio::test]
async fn apache_refuses_force_unlock() {
    let server = Apache::start();
    force_unlock(&server.base_url(), Some(ALICE), false).await;
}

#[tokio::test]
async fn wsgidav_refuses_force_unlock() {
    let server = WsgiDav::start();
    force_unlock(&server.base_url(), Some(ALICE), false).await;
}

async fn nc_server(nc: &Nextcloud, user: (&str, &str)) -> Server {
    server(&nc.dav_url(user.0), "nextcloud", Some(user)).await
}

/// Nextcloud user locks: taken with X-User-Lock so they show the person; another user is told who has the
/// file; only the lock owner or the file owner may release it.
#[tokio::test]
async fn nextcloud_user_locks() {
    let nc = Nextcloud::start();
    nc.add_file("Budget.xlsx", "alice");
    nc.add_file("Bobs.docx", "bob");
    let dir = tempfile::tempdir().unwrap();
    let held = HeldLocks::at(dir.path().join("held.json"));
    let bob_held = HeldLocks::at(dir.path().join("bob.json"));
    let alice = nc_server(&nc, ALICE).await;
    let bob = nc_server(&nc, BOB).await;

    let taken = perform(&bob, &bob_held, "bob", "Budget.xlsx", lock_action()).await;
    assert_ok(&taken);
    let lock = &taken.file.locks[0];
    assert_eq!(
        (lock.kind, lock.owner_id.as_deref(), lock.mine),
        (LockKind::User, Some("bob"), true)
    );
    assert_eq!(nc.lock_of("Budget.xlsx").unwrap().owner, "bob");

    let blocked = perform(&alice, &held, "alice", "Budget.xlsx", lock_action()).await;
    assert_refused(
        &blocked,
        ErrorKind::Locked,
        "Budget.xlsx is locked by Bob Builder",
    );

    let shared = perform(
        &alice,
        &held,
        "alice",
        "Bobs.docx",
        Action::Lock {
            shared: true,
            timeout: TEN_MINUTES,
        },
    )
    .await;
    assert_refused(&shared, ErrorKind::Unsupported, "always exclusive");

    // alice owns Budget.xlsx, so she may break bob's lock on it.
    let broken = perform(&alice, &held, "alice", "Budget.xlsx", Action::ForceUnlock).await;
    assert_ok(&broken);
    assert!(nc.lock_of("Budget.xlsx").is_none());

    // bob owns Bobs.docx and holds a lock there; alice may not break it.
    assert_ok(&perform(&bob, &bob_held, "bob", "Bobs.docx", lock_action()).await);
    let refused = perform(&alice, &held, "alice", "Bobs.docx", Action::ForceUnlock).await;
    assert_refused(
        &refused,
        ErrorKind::Forbidden,
        "only the lock's owner or the file's owner",
    );
    assert!(nc.lock_of("Bobs.docx").is_some());

    let released = perform(&bob, &bob_held, "bob", "Bobs.docx", Action::Unlock).await;
    assert_ok(&released);
    assert_eq!(released.file.state, FileState::Unlocked);

    // bob's store still remembers the lock alice broke, until a read shows it gone.
    let left: Vec<String> = bob_held
        .load()
        .unwrap()
        .into_iter()
        .map(|h| h.path)
        .collect();
    assert_eq!(left, ["Budget.xlsx"]);
    let file = lockwatch::actions::read_file(&bob, "Budget.xlsx", chrono::Utc::now()).await;
    let mut report = lockwatch::model::StatusReport {
        servers: vec![],
        files: vec![file],
    };
    assert_eq!(bob_held.reconcile(&mut report).unwrap(), 1);
    assert!(bob_held.load().unwrap().is_empty());
}

/// Some Nextcloud versions answer 500 instead of 423 for a lock conflict: the re-read still tells who has it.
#[tokio::test]
async fn nextcloud_conflict_answered_with_500() {
    let nc = Nextcloud::start_with(Options {
        conflict_status: 500,
        ..Options::default()
    });
    nc.add_file("Budget.xlsx", "alice");
    nc.set_lock(
        "Budget.xlsx",
        NcLock {
            owner_type: 0,
            owner: "bob".into(),
            display_name: "Bob Builder".into(),
            editor: None,
            time: nc.now(),
            timeout: 0,
            token: "files_lock/1".into(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let held = HeldLocks::at(dir.path().join("held.json"));
    let alice = nc_server(&nc, ALICE).await;
    let report = perform(&alice, &held, "alice", "Budget.xlsx", lock_action()).await;
    assert_refused(
        &report,
        ErrorKind::Locked,
        "Budget.xlsx is locked by Bob Builder",
    );
}

/// The CLI remembers a lock across runs: lock in one process, see it as yours in another, release it in a
/// third; `--force` refuses without `--yes` when not on a terminal.
#[tokio::test]
async fn cli_lock_survives_restart() {
    let server = DavServer::start();
    let base = server.base_url();
    davops::put(&url(&base, "Doc.txt"), ALICE, b"x").await;
    davops::put(&url(&base, "Theirs.txt"), ALICE, b"x").await;
    davops::lock(&url(&base, "Theirs.txt"), BOB, &LockSpec::default())
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &format!(
            "owner = \"alice@example.com\"\n[[servers]]\nname = \"team\"\nurl = \"{base}\"\nwatch = [\"Doc.txt\"]\n"
        ),
    );
    let cfg = cfg.to_str().unwrap();

    let out = lockwatch(
        home.path(),
        &[
            "--config",
            cfg,
            "lock",
            "team",
            "Doc.txt",
            "--timeout",
            "900",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Locked Doc.txt for you until"));

    let out = lockwatch(home.path(), &["--config", cfg, "status", "--json"], &[]).await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["files"][0]["locks"][0]["mine"], true, "{}", both(&out));
    assert_eq!(json["files"][0]["locks"][0]["owner"], "alice@example.com");

    let out = lockwatch(
        home.path(),
        &["--config", cfg, "lock", "team", "Doc.txt", "--json"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["outcome"]["ok"], false);
    assert_eq!(json["outcome"]["error"]["kind"], "locked");
    assert_eq!(json["state"], "locked");

    let out = lockwatch(
        home.path(),
        &["--config", cfg, "unlock", "team", "Doc.txt"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Released your lock on Doc.txt; it is unlocked now."
    );

    let out = lockwatch(
        home.path(),
        &["--config", cfg, "unlock", "team", "Theirs.txt", "--force"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("may lose unsaved work") && stderr.contains("add --yes"),
        "{stderr}"
    );
    let out = lockwatch(
        home.path(),
        &[
            "--config",
            cfg,
            "unlock",
            "team",
            "Theirs.txt",
            "--force",
            "--yes",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));

    let out = lockwatch(home.path(), &["--config", cfg, "servers", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let caps = &json[0]["capabilities"];
    assert_eq!(caps["kind"], "webdav");
    assert_eq!(caps["dav_class2"], true);
    assert_eq!(caps["scopes"], serde_json::json!(["exclusive", "shared"]));
    assert_eq!(caps["reports_locks"], true);
}
