//! Reading lock state from real WebDAV servers: the `dav-server` crate in-process, Apache 2.4 mod_dav and
//! WsgiDAV. The same scenario runs against each, because the point is that Lockwatch reads all of them right
//! although each reports locks differently (see tests/fixtures/webdav/README.md).

use std::time::{Duration, Instant};

use chrono::Utc;
use lockwatch::ErrorKind;
use lockwatch::model::{Expiry, FileState, LockKind, LockScope, ServerKind};
use url::Url;

use crate::support::davops::{self, Depth, LockSpec, Scope};
use crate::support::{
    ALICE, BOB, DavServer, PlainHttp, apache::Apache, config, dead_port, file, status,
    wsgidav::WsgiDav,
};

/// The URL of a decoded path below `base`, encoded the way Lockwatch encodes it.
fn url(base: &str, path: &str) -> String {
    lockwatch::protocol::resource_url(&Url::parse(base).unwrap(), path).to_string()
}

const FILES: &[&str] = &[
    "Free.txt",
    "Expiring.txt",
    "Reports/a.txt",
    "Reports/b.txt",
    "Reports/c.txt",
    "Reports/Budget 2026 (final).xlsx",
    "Reports/Ünïcode.odt",
    "Locked/x.txt",
    "Locked/y.txt",
];

/// Creates the scenario's files as alice and has bob (and alice) take the scenario's locks.
async fn set_up(base: &str) {
    for folder in ["Reports/", "Locked/"] {
        let status = davops::mkcol(&url(base, folder), ALICE).await;
        assert!(status.is_success(), "MKCOL {folder}: {status}");
    }
    for path in FILES {
        let status = davops::put(&url(base, path), ALICE, b"content\n").await;
        assert!(status.is_success(), "PUT {path}: {status}");
    }
    let bob_href = Some("<D:href>mailto:bob@example.com</D:href>".to_owned());
    davops::lock(
        &url(base, "Reports/a.txt"),
        BOB,
        &LockSpec {
            owner_xml: bob_href.clone(),
            ..LockSpec::default()
        },
    )
    .await
    .unwrap();
    for (user, owner) in [(ALICE, "Alice Smith"), (BOB, "Bob Builder")] {
        let spec = LockSpec {
            scope: Scope::Shared,
            owner_xml: Some(owner.to_owned()),
            ..LockSpec::default()
        };
        davops::lock(&url(base, "Reports/b.txt"), user, &spec)
            .await
            .unwrap();
    }
    let folder_lock = LockSpec {
        depth: Depth::Infinity,
        owner_xml: bob_href.clone(),
        ..LockSpec::default()
    };
    davops::lock(&url(base, "Locked/"), BOB, &folder_lock)
        .await
        .unwrap();
    let short = LockSpec {
        timeout_secs: Some(2),
        owner_xml: bob_href,
        ..LockSpec::default()
    };
    davops::lock(&url(base, "Expiring.txt"), BOB, &short)
        .await
        .unwrap();
}

fn alice_config(base: &str, with_password: bool) -> lockwatch::config::Config {
    let credentials = if with_password {
        "username = \"alice\"\npassword_env = \"PW_ALICE\"\n"
    } else {
        ""
    };
    config(&format!(
        "[[servers]]\nname = \"srv\"\nurl = \"{base}\"\n{credentials}\
         watch = [\"Free.txt\", \"Expiring.txt\", \"Reports/\", \"Locked/x.txt\"]\nwanted = [\"Reports/a.txt\"]\n"
    ))
}

/// How a server reports a lock once its timeout has passed.
#[derive(PartialEq)]
enum AfterExpiry {
    /// The lock is gone.
    Gone,
    /// The server keeps listing the expired lock (dav-server's MemLs): Lockwatch reports what it says.
    StillListed,
}

/// The scenario: every lock shape, read in one status run, then expiry.
async fn reads_every_lock_state(base: &str, with_password: bool, after_expiry: AfterExpiry) {
    set_up(base).await;
    let config = alice_config(base, with_password);
    let report = status(&config).await;
    let started = Utc::now();

    assert_eq!(report.servers.len(), 1);
    let server = &report.servers[0];
    assert!(server.ok, "{server:?}");
    assert_eq!(server.kind, Some(ServerKind::Webdav), "auto-detection");

    // Unlocked file.
    let free = file(&report, "Free.txt");
    assert_eq!(
        (free.state, free.locks.len()),
        (FileState::Unlocked, 0),
        "{free:?}"
    );

    // Exclusive lock by another user, with an e-mail owner and a timeout.
    let a = file(&report, "Reports/a.txt");
    assert_eq!(a.state, FileState::Locked, "{a:?}");
    assert!(a.wanted);
    let lock = &a.locks[0];
    assert_eq!(a.locks.len(), 1);
    assert_eq!(lock.scope, LockScope::Exclusive);
    assert_eq!(lock.kind, LockKind::Webdav);
    assert_eq!(lock.owner.as_deref(), Some("bob@example.com"));
    assert_eq!(lock.owner_id.as_deref(), Some("mailto:bob@example.com"));
    assert!(!lock.inherited);
    assert!(
        lock.token
            .as_deref()
            .is_some_and(|t| !t.is_empty() && !t.starts_with('<')),
        "{lock:?}"
    );
    assert_eq!(lock.expiry, Expiry::At);
    let remaining = (lock.expires_at.unwrap() - started).num_seconds();
    assert!(
        (500..=601).contains(&remaining),
        "expires in {remaining} s: {lock:?}"
    );

    // Two shared locks with plain-text owners.
    let b = file(&report, "Reports/b.txt");
    assert_eq!(b.state, FileState::Locked);
    let mut owners: Vec<&str> = b.locks.iter().filter_map(|l| l.owner.as_deref()).collect();
    owners.sort();
    assert_eq!(owners, ["Alice Smith", "Bob Builder"], "{b:?}");
    assert!(b.locks.iter().all(|l| l.scope == LockScope::Shared));

    // Depth-1 listing: every member, with names decoded, folder entry itself not listed.
    for path in [
        "Reports/c.txt",
        "Reports/Budget 2026 (final).xlsx",
        "Reports/Ünïcode.odt",
    ] {
        assert_eq!(file(&report, path).state, FileState::Unlocked, "{path}");
    }
    assert!(
        report.files.iter().all(|f| f.path != "Reports/"),
        "the folder itself is not a member"
    );
    let budget = file(&report, "Reports/Budget 2026 (final).xlsx");
    assert!(
        budget
            .url
            .ends_with("/Reports/Budget%202026%20(final).xlsx"),
        "{}",
        budget.url
    );

    // A depth-infinity folder lock is seen on a member, whether or not the server repeats it there.
    let x = file(&report, "Locked/x.txt");
    assert_eq!(x.state, FileState::Locked, "{x:?}");
    assert_eq!(x.locks.len(), 1, "the folder lock counted once: {x:?}");
    assert!(x.locks[0].inherited);
    assert_eq!(x.locks[0].depth, "infinity");
    assert_eq!(x.locks[0].owner.as_deref(), Some("bob@example.com"));

    // Expiry: locked now, free once the timeout has passed.
    let expiring = file(&report, "Expiring.txt");
    assert_eq!(expiring.state, FileState::Locked, "{expiring:?}");
    assert!(expiring.locks[0].expires_at.unwrap() <= started + chrono::TimeDelta::seconds(3));
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let later = status(&config).await;
    let expected = if after_expiry == AfterExpiry::Gone {
        FileState::Unlocked
    } else {
        FileState::Locked
    };
    assert_eq!(
        file(&later, "Expiring.txt").state,
        expected,
        "{:?}",
        file(&later, "Expiring.txt")
    );
    assert_eq!(file(&later, "Reports/a.txt").state, FileState::Locked);
    assert!(!later.has_errors());
}

/// A depth-infinity lock two levels above a watched folder and above a watched file: seen on every member,
/// as the folder's lock, whether the server repeats it on descendants (Apache, dav-server) or not (WsgiDAV).
async fn reads_locks_inherited_from_far_above(base: &str, with_password: bool) {
    for folder in ["Deep/", "Deep/A/", "Deep/A/B/"] {
        let status = davops::mkcol(&url(base, folder), ALICE).await;
        assert!(status.is_success(), "MKCOL {folder}: {status}");
    }
    for path in ["Deep/A/B/f.txt", "Deep/A/g.txt"] {
        let status = davops::put(&url(base, path), ALICE, b"content\n").await;
        assert!(status.is_success(), "PUT {path}: {status}");
    }
    let spec = LockSpec {
        depth: Depth::Infinity,
        owner_xml: Some("<D:href>mailto:bob@example.com</D:href>".to_owned()),
        ..LockSpec::default()
    };
    davops::lock(&url(base, "Deep/"), BOB, &spec).await.unwrap();
    let credentials = if with_password {
        "username = \"alice\"\npassword_env = \"PW_ALICE\"\n"
    } else {
        ""
    };
    for watch in [r#"["Deep/A/B/"]"#, r#"["Deep/A/g.txt"]"#] {
        let report = status(&config(&format!(
            "[[servers]]\nname = \"srv\"\nkind = \"webdav\"\nurl = \"{base}\"\n{credentials}watch = {watch}\n"
        )))
        .await;
        assert!(!report.has_errors(), "{report:?}");
        let path = if watch.contains("B/") {
            "Deep/A/B/f.txt"
        } else {
            "Deep/A/g.txt"
        };
        let f = file(&report, path);
        assert_eq!(f.state, FileState::Locked, "{watch}: {f:?}");
        assert_eq!(f.locks.len(), 1, "{watch}: {f:?}");
        assert!(f.locks[0].inherited, "{watch}: {f:?}");
        assert_eq!(f.locks[0].owner.as_deref(), Some("bob@example.com"));
    }
}

#[tokio::test]
async fn dav_server_locks_inherited_from_far_above() {
    let server = DavServer::start();
    reads_locks_inherited_from_far_above(&server.base_url(), false).await;
}

#[tokio::test]
async fn wsgidav_locks_inherited_from_far_above() {
    let server = WsgiDav::start();
    reads_locks_inherited_from_far_above(&server.base_url(), true).await;
}

/// Apache repeats inherited locks, and says it is mod_dav in every answer: a watched folder costs its own
/// Depth-1 request and nothing else, not even with a lock two levels above it.
#[tokio::test]
async fn apache_locks_inherited_from_far_above_cost_no_extra_request() {
    let server = Apache::start();
    reads_locks_inherited_from_far_above(&server.base_url(), true).await;
    let propfinds: Vec<String> = server
        .access_log()
        .lines()
        .filter(|l| l.contains("\"PROPFIND "))
        .map(str::to_owned)
        .collect();
    let folder_reads: Vec<&String> = propfinds
        .iter()
        .filter(|l| l.contains("/dav/Deep/A/B/ "))
        .collect();
    assert_eq!(folder_reads.len(), 1, "{propfinds:#?}");
    for ancestor in ["/dav/ ", "/dav/Deep/ "] {
        let reads = propfinds.iter().filter(|l| l.contains(ancestor)).count();
        assert_eq!(
            reads, 1,
            "{ancestor}: read for the watched file only: {propfinds:#?}"
        );
    }
}

#[tokio::test]
async fn dav_server_every_lock_state() {
    let server = DavServer::start();
    reads_every_lock_state(&server.base_url(), false, AfterExpiry::StillListed).await;
}

#[tokio::test]
async fn apache_every_lock_state() {
    let server = Apache::start();
    reads_every_lock_state(&server.base_url(), true, AfterExpiry::Gone).await;
}

#[tokio::test]
async fn wsgidav_every_lock_state() {
    let server = WsgiDav::start();
    reads_every_lock_state(&server.base_url(), true, AfterExpiry::Gone).await;
}

async fn wrong_password_is_unauthorized(base: &str) {
    davops::put(&url(base, "Free.txt"), ALICE, b"x").await;
    let config = config(&format!(
        "[[servers]]\nname = \"srv\"\nurl = \"{base}\"\nusername = \"alice\"\npassword_env = \"WRONG_PW\"\nwatch = [\"Free.txt\"]\n"
    ));
    let report = status(&config).await;
    let server = &report.servers[0];
    assert!(!server.ok);
    let error = server.error.as_ref().unwrap();
    assert_eq!(error.kind, ErrorKind::Unauthorized, "{error:?}");
    assert!(
        error.message.starts_with("srv: ") && error.message.contains("alice"),
        "{}",
        error.message
    );
    assert!(!error.message.contains("not-the-password"));
    assert_eq!(file(&report, "Free.txt").state, FileState::Error);
}

#[tokio::test]
async fn apache_wrong_password() {
    let server = Apache::start();
    wrong_password_is_unauthorized(&server.base_url()).await;
}

#[tokio::test]
async fn wsgidav_wrong_password() {
    let server = WsgiDav::start();
    wrong_password_is_unauthorized(&server.base_url()).await;
}

#[tokio::test]
async fn a_missing_file_is_a_file_error_not_a_server_error() {
    let server = Apache::start();
    let base = server.base_url();
    davops::put(&url(&base, "Here.txt"), ALICE, b"x").await;
    let config = config(&format!(
        "[[servers]]\nname = \"srv\"\nurl = \"{base}\"\nusername = \"alice\"\npassword_env = \"PW_ALICE\"\nwatch = [\"Here.txt\", \"Gone.txt\"]\n"
    ));
    let report = status(&config).await;
    assert!(report.servers[0].ok);
    assert_eq!(file(&report, "Here.txt").state, FileState::Unlocked);
    let gone = file(&report, "Gone.txt");
    assert_eq!(gone.state, FileState::Error);
    assert_eq!(gone.error.as_ref().unwrap().kind, ErrorKind::NotFound);
    assert!(report.has_errors());
}

/// One healthy server, one dead port and one web server that is not WebDAV, read in one run: the healthy
/// one reports correctly, the others fail fast with their own words.
#[tokio::test]
async fn broken_servers_do_not_affect_healthy_ones() {
    let healthy = DavServer::start();
    let plain = PlainHttp::start();
    let base = healthy.base_url();
    davops::put(&url(&base, "Doc.txt"), ALICE, b"x").await;
    davops::lock(&url(&base, "Doc.txt"), BOB, &LockSpec::default())
        .await
        .unwrap();
    let dead = dead_port();
    let config = config(&format!(
        "[[servers]]\nname = \"dead\"\nurl = \"http://127.0.0.1:{dead}/dav/\"\nwatch = [\"Doc.txt\"]\n\
         [[servers]]\nname = \"web\"\nurl = \"{}\"\nwatch = [\"Doc.txt\"]\n\
         [[servers]]\nname = \"good\"\nurl = \"{base}\"\nwatch = [\"Doc.txt\"]\n",
        plain.base_url()
    ));
    let started = Instant::now();
    let report = status(&config).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );

    let by_name = |n: &str| report.servers.iter().find(|s| s.name == n).unwrap();
    let dead = by_name("dead");
    assert_eq!(
        dead.error.as_ref().unwrap().kind,
        ErrorKind::Network,
        "{dead:?}"
    );
    assert!(
        dead.error
            .as_ref()
            .unwrap()
            .message
            .contains("cannot reach 127.0.0.1:"),
        "{dead:?}"
    );
    let web = by_name("web");
    assert_eq!(
        web.error.as_ref().unwrap().kind,
        ErrorKind::Unsupported,
        "{web:?}"
    );
    assert!(
        web.error
            .as_ref()
            .unwrap()
            .message
            .contains("not a WebDAV server"),
        "{web:?}"
    );
    let good = by_name("good");
    assert!(good.ok, "{good:?}");
    let docs: Vec<_> = report
        .files
        .iter()
        .filter(|f| f.path == "Doc.txt")
        .collect();
    assert_eq!(docs.len(), 3);
    assert_eq!(
        docs.iter().find(|f| f.server == "good").unwrap().state,
        FileState::Locked
    );
    assert!(
        docs.iter()
            .filter(|f| f.server != "good")
            .all(|f| f.state == FileState::Error)
    );
}

/// A server configured as WebDAV that answers with an HTML page: a readable protocol error, not a panic.
#[tokio::test]
async fn html_instead_of_multistatus_is_a_clear_error() {
    let plain = PlainHttp::start();
    let config = config(&format!(
        "[[servers]]\nname = \"web\"\nkind = \"webdav\"\nurl = \"{}\"\nwatch = [\"Doc.txt\"]\n",
        plain.base_url()
    ));
    let report = status(&config).await;
    let entry = file(&report, "Doc.txt");
    let error = entry.error.as_ref().unwrap();
    assert_eq!(error.kind, ErrorKind::Protocol, "{error:?}");
    assert!(error.message.contains("HTML page"), "{}", error.message);
}

/// A server that accepts the connection and never answers: a timeout error within the configured time,
/// naming the host.
#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = config(&format!(
        "[[servers]]\nname = \"silent\"\nurl = \"http://127.0.0.1:{port}/dav/\"\nkind = \"webdav\"\ntimeout_secs = 1\nwatch = [\"Doc.txt\"]\n"
    ));
    let started = Instant::now();
    let report = status(&config).await;
    let elapsed = started.elapsed();
    drop(listener);
    let error = report.servers[0].error.as_ref().unwrap();
    assert_eq!(error.kind, ErrorKind::Timeout, "{error:?}");
    assert!(
        error
            .message
            .contains(&format!("127.0.0.1:{port} did not answer within 1 s")),
        "{}",
        error.message
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

/// Apache keeps a file's etag when the file is locked or unlocked. A source that reuses the entries of
/// unchanged files from one poll to the next must still see every lock change.
#[tokio::test]
async fn apache_lock_changes_with_the_same_etag_are_seen_poll_after_poll() {
    use lockwatch::protocol::Server;
    let server = Apache::start();
    let base = server.base_url();
    assert!(
        davops::mkcol(&url(&base, "Docs/"), ALICE)
            .await
            .is_success()
    );
    for path in ["Docs/a.txt", "Docs/b.txt"] {
        assert!(
            davops::put(&url(&base, path), ALICE, b"x\n")
                .await
                .is_success()
        );
    }
    let config = config(&format!(
        "[[servers]]\nname = \"srv\"\nkind = \"webdav\"\nurl = \"{base}\"\nusername = \"alice\"\npassword_env = \"PW_ALICE\"\nwatch = [\"Docs/\"]\n"
    ));
    let connected = Server::connect(
        config.servers[0].clone(),
        std::sync::Arc::new(lockwatch::secrets::MemoryStore::new()),
    )
    .await
    .unwrap();
    let source = connected.source().await.unwrap();
    let watch = vec!["Docs/".to_owned()];
    let mut etag = None;
    let mut token = None;
    for round in 0..5 {
        let files = source.read(&watch, Utc::now()).await.unwrap();
        let a = files.iter().find(|f| f.path == "Docs/a.txt").unwrap();
        let expected = if round % 2 == 1 {
            FileState::Locked
        } else {
            FileState::Unlocked
        };
        assert_eq!(a.state, expected, "round {round}: {a:?}");
        let (_, _, body) =
            davops::propfind(&url(&base, "Docs/a.txt"), ALICE, "0", davops::LOCK_PROPFIND).await;
        let now_etag = body
            .split_once("getetag>")
            .and_then(|(_, rest)| rest.split_once("</"))
            .map(|(tag, _)| tag.to_owned())
            .unwrap_or_else(|| panic!("no getetag in {body}"));
        if let Some(etag) = &etag {
            assert_eq!(&now_etag, etag, "Apache keeps the etag across lock changes");
        }
        etag = Some(now_etag);
        match token.take() {
            None => {
                token = Some(
                    davops::lock(&url(&base, "Docs/a.txt"), BOB, &LockSpec::default())
                        .await
                        .unwrap(),
                )
            }
            Some(t) => assert!(
                davops::unlock(&url(&base, "Docs/a.txt"), BOB, &t)
                    .await
                    .is_success()
            ),
        }
    }
}
