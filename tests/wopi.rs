//! WOPI hosts, against the emulator (tests/support/wopi.rs): reading locks held by online editors, taking
//! and breaking them, the deviations real hosts show, and access tokens never appearing in any output.

use std::sync::Arc;
use std::time::Duration;

use lockwatch::ErrorKind;
use lockwatch::actions::{Action, perform};
use lockwatch::held::HeldLocks;
use lockwatch::model::{Expiry, FileState, LockKind, ServerKind};
use lockwatch::protocol::Server;
use lockwatch::secrets::MemoryStore;

use crate::support::wopi::{Deviations, WopiHost};
use crate::support::{both, config, file, lockwatch, status, write_config};

const OFFICE_ID: &str = r#"{"S":"1d1e7c5e-8d5b-4a9b","F":6,"E":2}"#;

fn wopi_config(host: &WopiHost, watch: &str) -> lockwatch::config::Config {
    config(&format!(
        "[[servers]]\nname = \"office\"\nkind = \"wopi\"\nurl = \"{}\"\naccess_token_env = \"PW_ALICE\"\nwatch = {watch}\n",
        host.base_url()
    ))
}

/// A host with files `free`, `office`, `cool`, `only` (all readable with alice's password as token).
fn host_with_files(deviations: Deviations) -> WopiHost {
    let host = WopiHost::start_with(deviations);
    for (id, name) in [
        ("free", "Free.docx"),
        ("office", "Budget.xlsx"),
        ("cool", "Plan.odt"),
        ("only", "Notes.docx"),
    ] {
        host.add_file(id, name, "alice-pw-1");
    }
    host.set_lock("office", OFFICE_ID);
    host.set_lock("cool", "cool-lock-5f3a");
    host.set_lock("only", "only");
    host
}

#[tokio::test]
async fn reads_locks_held_by_online_editors() {
    let host = host_with_files(Deviations::default());
    let config = wopi_config(&host, r#"["free", "office", "cool", "only"]"#);
    let before = chrono::Utc::now();
    let report = status(&config).await;
    assert!(report.servers[0].ok, "{:?}", report.servers[0]);
    assert_eq!(report.servers[0].kind, Some(ServerKind::Wopi));

    let free = file(&report, "free");
    assert_eq!(
        (free.state, free.name.as_deref()),
        (FileState::Unlocked, Some("Free.docx"))
    );

    let office = file(&report, "office");
    assert_eq!(office.state, FileState::Locked);
    assert_eq!(office.name.as_deref(), Some("Budget.xlsx"));
    let lock = &office.locks[0];
    assert_eq!(lock.kind, LockKind::Wopi);
    assert_eq!(lock.token.as_deref(), Some(OFFICE_ID));
    assert_eq!(lock.owner, None, "WOPI does not reveal the holder");
    assert_eq!(
        lock.editor.as_deref(),
        Some("Office for the web (guessed from the lock id)")
    );
    assert_eq!(lock.expiry, Expiry::AtMost);
    let bound = (lock.expires_at.unwrap() - before).num_seconds();
    assert!(
        (1795..=1805).contains(&bound),
        "at most 30 minutes from now: {bound}"
    );

    assert_eq!(
        file(&report, "cool").locks[0].editor.as_deref(),
        Some("Collabora Online (guessed from the lock id)")
    );
    assert_eq!(
        file(&report, "only").locks[0].editor.as_deref(),
        Some("ONLYOFFICE (guessed from the lock id)")
    );

    // Reading never takes a lock, and file info is fetched once per file.
    let requests = host.requests();
    assert!(
        requests
            .iter()
            .all(|r| !r.starts_with("LOCK") && !r.starts_with("UNLOCK")),
        "{requests:?}"
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.starts_with("CHECK_FILE_INFO"))
            .count(),
        4
    );
    // A long-lived server (as the watcher keeps it) asks again only when the host reports a new version.
    let server = connect(&host).await;
    let ids = ["free".to_owned(), "office".to_owned()];
    let infos = || {
        host.requests()
            .iter()
            .filter(|r| r.starts_with("CHECK_FILE_INFO"))
            .count()
    };
    let source = server.source().await.unwrap();
    source.read(&ids, chrono::Utc::now()).await.unwrap();
    let after_first = infos();
    source.read(&ids, chrono::Utc::now()).await.unwrap();
    assert_eq!(infos(), after_first, "cached");

    // 30 minutes without a refresh: the host lets the lock go.
    host.advance(31 * 60);
    assert_eq!(
        file(&status(&config).await, "office").state,
        FileState::Unlocked
    );
}

#[tokio::test]
async fn deviations_of_real_hosts() {
    let host = host_with_files(Deviations {
        unlocked_is_409: true,
        omit_empty_lock_header: true,
        item_version_header: true,
        camel_case_info: true,
        failure_reason: None,
    });
    let report = status(&wopi_config(&host, r#"["free", "cool"]"#)).await;
    let free = file(&report, "free");
    assert_eq!(
        free.state,
        FileState::Unlocked,
        "409 without a lock header means unlocked: {free:?}"
    );
    assert_eq!(
        free.name.as_deref(),
        Some("Free.docx"),
        "camelCase CheckFileInfo"
    );
    assert_eq!(file(&report, "cool").state, FileState::Locked);
}

#[tokio::test]
async fn bad_tokens_and_unknown_files_are_per_file_errors() {
    let host = host_with_files(Deviations::default());
    host.add_file("secret", "Secret.docx", "another-token");
    let report = status(&wopi_config(&host, r#"["free", "secret", "missing"]"#)).await;
    assert!(
        report.servers[0].ok,
        "a bad token concerns one file: {:?}",
        report.servers[0]
    );
    assert_eq!(file(&report, "free").state, FileState::Unlocked);
    let secret = file(&report, "secret").error.as_ref().unwrap();
    assert_eq!(secret.kind, ErrorKind::Unauthorized);
    assert!(
        secret
            .message
            .contains("rejected the access token for WOPI file secret"),
        "{}",
        secret.message
    );
    assert_eq!(
        file(&report, "missing").error.as_ref().unwrap().kind,
        ErrorKind::NotFound
    );
}

async fn connect(host: &WopiHost) -> Server {
    let config = wopi_config(host, r#"["free", "office", "cool", "only"]"#);
    Server::connect(config.servers[0].clone(), Arc::new(MemoryStore::new()))
        .await
        .unwrap()
}

#[tokio::test]
async fn lock_refresh_unlock_and_force_unlock() {
    let host = host_with_files(Deviations {
        failure_reason: Some("Locked by Collabora Online".into()),
        ..Deviations::default()
    });
    let server = connect(&host).await;
    let dir = tempfile::tempdir().unwrap();
    let held = HeldLocks::at(dir.path().join("held.json"));
    let lock = Action::Lock {
        shared: false,
        timeout: Duration::from_secs(1800),
    };

    let taken = perform(&server, &held, "alice", "free", lock).await;
    assert!(taken.outcome.ok, "{:?}", taken.outcome);
    let id = host.lock_of("free").expect("locked on the host");
    assert!(id.starts_with("lockwatch-"));
    assert!(taken.file.locks[0].mine);
    assert_eq!(
        held.find("office", "free")
            .unwrap()
            .unwrap()
            .token
            .as_deref(),
        Some(id.as_str())
    );

    host.advance(20 * 60);
    let refreshed = perform(
        &server,
        &held,
        "alice",
        "free",
        Action::Refresh {
            timeout: Duration::from_secs(1800),
        },
    )
    .await;
    assert!(refreshed.outcome.ok, "{:?}", refreshed.outcome);
    host.advance(20 * 60);
    assert_eq!(
        host.lock_of("free").as_deref(),
        Some(id.as_str()),
        "the refresh restarted the 30 minutes"
    );

    let released = perform(&server, &held, "alice", "free", Action::Unlock).await;
    assert!(released.outcome.ok, "{:?}", released.outcome);
    assert_eq!(host.lock_of("free"), None);

    // Another session holds it: "locked by another session (<editor guess>)" with the host's reason.
    host.set_lock("cool", "cool-lock-5f3a");
    let blocked = perform(&server, &held, "alice", "cool", lock).await;
    assert!(!blocked.outcome.ok);
    assert_eq!(
        blocked.outcome.error.as_ref().map(|e| e.kind),
        Some(ErrorKind::Locked)
    );
    assert!(
        blocked.outcome.message.contains("locked by another session (Collabora Online (guessed from the lock id)): Locked by Collabora Online"),
        "{}",
        blocked.outcome.message
    );

    let broken = perform(&server, &held, "alice", "cool", Action::ForceUnlock).await;
    assert!(broken.outcome.ok, "{:?}", broken.outcome);
    assert_eq!(host.lock_of("cool"), None);
}

/// At trace log level, in the table and in JSON, on success and on failure: the access token appears
/// nowhere.
#[tokio::test]
async fn access_tokens_never_reach_the_output() {
    let host = host_with_files(Deviations::default());
    host.add_file("secret", "Secret.docx", "another-token");
    let home = tempfile::tempdir().unwrap();
    let token = "tok-9f8e7d6c5b4a";
    for id in ["free", "office", "cool"] {
        host.add_file(id, &format!("{id}.docx"), token);
    }
    host.set_lock("office", OFFICE_ID);
    let cfg = write_config(
        home.path(),
        &format!(
            "[[servers]]\nname = \"office\"\nkind = \"wopi\"\nurl = \"{}\"\naccess_token_env = \"WOPI_TOKEN\"\nwatch = [\"free\", \"office\", \"secret\", \"gone\"]\n",
            host.base_url()
        ),
    );
    let cfg = cfg.to_str().unwrap();
    let env = [("WOPI_TOKEN", token), ("LOCKWATCH_LOG", "trace")];
    for args in [
        vec!["--config", cfg, "status"],
        vec!["--config", cfg, "status", "--json"],
        vec!["--config", cfg, "lock", "office", "free"],
        vec!["--config", cfg, "unlock", "office", "free", "--json"],
        vec![
            "--config", cfg, "unlock", "office", "office", "--force", "--yes",
        ],
        vec!["--config", cfg, "servers"],
    ] {
        let out = lockwatch(home.path(), &args, &env).await;
        let all = both(&out);
        assert!(
            all.contains("TRACE") || all.contains("DEBUG"),
            "logging was on: {all}"
        );
        assert!(!all.contains(token), "the token leaked in {args:?}:\n{all}");
        assert!(
            all.contains("access_token=%5Bredacted%5D") || all.contains("access_token=[redacted]"),
            "{args:?}: {all}"
        );
    }
    assert_eq!(
        host.lock_of("office"),
        None,
        "the force-unlock went through"
    );
}

#[test]
fn wopi_config_entries() {
    let config = lockwatch::config::Config::parse(
        "[[servers]]\nname = \"o\"\nkind = \"wopi\"\nurl = \"https://h/wopi/files/\"\naccess_token_env = \"ALL\"\n\
         watch = [\"a\", { id = \"b\", access_token_env = \"B\" }, { id = \"c\" }]\nwanted = [\"b\"]\n",
        "t",
        &|var| Some(format!("value-of-{var}")),
    )
    .unwrap();
    let server = &config.servers[0];
    assert_eq!(server.watch, ["a", "b", "c"]);
    let token = |id: &str| match &server.access_tokens[id] {
        lockwatch::config::TokenSource::Env { value, .. } => value.expose().to_owned(),
        lockwatch::config::TokenSource::Keyring => "keyring".to_owned(),
    };
    assert_eq!(
        (token("a"), token("b"), token("c")),
        (
            "value-of-ALL".into(),
            "value-of-B".into(),
            "value-of-ALL".into()
        )
    );

    let err = lockwatch::config::Config::parse(
        "[[servers]]\nname = \"d\"\nurl = \"https://h/dav/\"\nwatch = [{ id = \"b\" }]\n",
        "t",
        &|_| None,
    )
    .unwrap_err();
    assert_eq!(err.key.as_deref(), Some("servers[0].watch[0]"));
    assert!(err.message.contains("only for kind = \"wopi\""), "{err}");

    let err = lockwatch::config::Config::parse(
        "[[servers]]\nname = \"o\"\nkind = \"wopi\"\nurl = \"https://h/wopi/files/\"\nwatch = [{ id = \"b\", access_token_env = \"UNSET\" }]\n",
        "t",
        &|_| None,
    )
    .unwrap_err();
    assert!(err.message.contains("UNSET is not set"), "{err}");
    assert!(!err.to_string().contains("value-of"));
}
