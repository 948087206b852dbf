//! Reading Nextcloud files_lock locks, against the emulator (tests/support/nextcloud.rs).

use lockwatch::ErrorKind;
use lockwatch::model::{Expiry, FileState, LockKind, ServerKind};

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
