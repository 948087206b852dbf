//! The watch commands end to end: `lockwatch watch` against a real server (Apache mod_dav) with a real
//! notification server on a private D-Bus session bus; `history`, `want` and `unwant` on real files.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use url::Url;

use crate::support::davops::{self, LockSpec};
use crate::support::notifications::NotificationServer;
use crate::support::{
    ALICE, BOB, apache::Apache, both, lockwatch, lockwatch_command, wait_for_event, write_config,
};

fn url(base: &str, path: &str) -> String {
    lockwatch::protocol::resource_url(&Url::parse(base).unwrap(), path).to_string()
}

/// Starts `lockwatch watch --json` isolated in `home`, with extra environment.
/// Puts `name` on the server as Alice and has Bob ("Bob Builder") lock it: its URL and Bob's lock token.
async fn locked_by_bob(base: &str, name: &str) -> (String, String) {
    let file = url(base, name);
    assert!(davops::put(&file, ALICE, b"x\n").await.is_success());
    let spec = LockSpec {
        owner_xml: Some("Bob Builder".into()),
        ..LockSpec::default()
    };
    let token = davops::lock(&file, BOB, &spec).await.unwrap();
    (file, token)
}

fn spawn_watch(home: &Path, config: &Path, env: &[(&str, &str)]) -> tokio::process::Child {
    let mut cmd = lockwatch_command(
        home,
        &["--config", config.to_str().unwrap(), "watch", "--json"],
    );
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wanted_file_released_by_a_colleague_reaches_the_desktop() {
    let server = Apache::start();
    let base = server.base_url();
    let (file, token) = locked_by_bob(&base, "Budget 2026.xlsx").await;

    let mut bus = NotificationServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let config = write_config(
        home.path(),
        &format!(
            "# the office server\n[[servers]]\nname = \"office\"\nurl = \"{base}\"\nusername = \"alice\"\npassword_env = \"PW_ALICE\"\nwanted = [\"Budget 2026.xlsx\"]\nwanted_interval_secs = 1\n"
        ),
    );
    let history = home.path().join("history.sqlite3");
    let mut child = spawn_watch(
        home.path(),
        &config,
        &[
            ("PW_ALICE", ALICE.1),
            ("DBUS_SESSION_BUS_ADDRESS", bus.address()),
            ("LOCKWATCH_HISTORY", history.to_str().unwrap()),
        ],
    );
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let locked = wait_for_event(&mut lines, Duration::from_secs(30), "locked event", |v| {
        v["event"] == "locked"
    })
    .await;
    assert_eq!(locked["path"], "Budget 2026.xlsx");
    assert_eq!(locked["wanted"], true);
    assert_eq!(locked["locks"][0]["owner"], "Bob Builder");

    assert!(davops::unlock(&file, BOB, &token).await.is_success());
    let unlocked = wait_for_event(&mut lines, Duration::from_secs(30), "unlocked event", |v| {
        v["event"] == "unlocked"
    })
    .await;
    assert_eq!(unlocked["released"][0]["owner"], "Bob Builder");

    let notice = bus
        .next(Duration::from_secs(30))
        .await
        .expect("no desktop notification within 30 s");
    assert_eq!(notice["app_name"], "Lockwatch");
    assert_eq!(notice["summary"], "Budget 2026.xlsx is free");
    let body = notice["body"].as_str().unwrap();
    assert!(
        body.starts_with("Bob Builder released it at ") && body.ends_with("(office)."),
        "{body}"
    );
    // The test server supports actions: both buttons are offered.
    assert_eq!(
        notice["actions"],
        serde_json::json!(["lock", "Lock it now", "open", "Open"])
    );

    // Ctrl-C stops it cleanly.
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("lockwatch watch did not stop within 10 s of Ctrl-C")
        .unwrap();
    assert!(exit.success(), "{exit:?}");

    // The history knows who held the file, from when to when.
    let out = lockwatch(
        home.path(),
        &["history", "office", "Budget 2026.xlsx", "--json"],
        &[("LOCKWATCH_HISTORY", history.to_str().unwrap())],
    )
    .await;
    assert!(out.status.success(), "{}", both(&out));
    let history: Value = serde_json::from_slice(&out.stdout).unwrap();
    let holds = &history["holds"];
    assert_eq!(holds.as_array().unwrap().len(), 1, "{history:#}");
    assert_eq!(history["requests"], serde_json::json!([]), "{history:#}");
    assert_eq!(holds[0]["holder"], "Bob Builder");
    assert!(holds[0]["until"].is_string(), "{holds:#}");
    assert_eq!(holds[0]["stale"], false);
}

#[tokio::test]
async fn want_and_unwant_edit_the_config_keeping_comments() {
    let home = tempfile::tempdir().unwrap();
    let text = "# my servers\n[[servers]]\nname = \"office\" # the cloud\nurl = \"http://127.0.0.1:9/dav/\"\nwanted = [\"A.odt\"] # waiting\n";
    let config = write_config(home.path(), text);
    let path = config.to_str().unwrap();
    let out = lockwatch(
        home.path(),
        &["--config", path, "want", "office", "Plan B.pptx"],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", both(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Plan B.pptx on office is now wanted"));
    let edited = std::fs::read_to_string(&config).unwrap();
    assert!(
        edited.contains("# my servers") && edited.contains("# the cloud"),
        "{edited}"
    );
    assert!(edited.contains("\"A.odt\", \"Plan B.pptx\""), "{edited}");
    assert_eq!(
        std::fs::read_to_string(home.path().join("config.toml.bak")).unwrap(),
        text
    );

    let out = lockwatch(
        home.path(),
        &["--config", path, "unwant", "office", "A.odt"],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", both(&out));
    let edited = std::fs::read_to_string(&config).unwrap();
    assert!(
        !edited.contains("A.odt") && edited.contains("Plan B.pptx"),
        "{edited}"
    );

    let out = lockwatch(
        home.path(),
        &["--config", path, "want", "nowhere", "x"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no server named \"nowhere\""),
        "{}",
        both(&out)
    );
}

/// Forwards a child's stderr lines to a channel, so a test can wait for one while reading stdout.
fn stderr_lines(child: &mut tokio::process::Child) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = tx.send(line);
        }
    });
    rx
}

/// The status of one file as `lockwatch status --json` reports it (with the user's own locks marked).
async fn status_of(home: &Path, config: &Path, env: &[(&str, &str)], path: &str) -> Value {
    let out = lockwatch(
        home,
        &["--config", config.to_str().unwrap(), "status", "--json"],
        env,
    )
    .await;
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", both(&out)));
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("{path} not in {report:#}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_lock_and_lock_it_now_take_the_file_for_the_user() {
    let server = Apache::start();
    let base = server.base_url();
    let mut tokens = Vec::new();
    for name in ["Budget.xlsx", "Plan.odt"] {
        tokens.push(locked_by_bob(&base, name).await);
    }

    let mut bus = NotificationServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let config = write_config(
        home.path(),
        &format!(
            "owner = \"Alice Smith\"\n[[servers]]\nname = \"office\"\nurl = \"{base}\"\nusername = \"alice\"\npassword_env = \"PW_ALICE\"\nwanted = [\"Plan.odt\"]\nauto_lock = [\"Budget.xlsx\"]\nwanted_interval_secs = 1\n"
        ),
    );
    let history = home.path().join("history.sqlite3");
    let address = bus.address().to_owned();
    let env = [
        ("PW_ALICE", ALICE.1),
        ("DBUS_SESSION_BUS_ADDRESS", address.as_str()),
        ("LOCKWATCH_HISTORY", history.to_str().unwrap()),
    ];
    let mut child = spawn_watch(home.path(), &config, &env);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Both in one reading, in the order the files are read.
    let mut locked = Vec::new();
    while locked.len() < 2 {
        let event = wait_for_event(&mut lines, Duration::from_secs(30), "locked event", |v| {
            v["event"] == "locked"
        })
        .await;
        locked.push(event["path"].as_str().unwrap().to_owned());
    }
    locked.sort();
    assert_eq!(locked, ["Budget.xlsx", "Plan.odt"]);

    // Auto-lock: the moment Bob lets go of the budget, it is Alice's.
    assert!(
        davops::unlock(&tokens[0].0, BOB, &tokens[0].1)
            .await
            .is_success()
    );
    let notice = bus
        .next(Duration::from_secs(30))
        .await
        .expect("no notification for the auto-locked file");
    assert_eq!(notice["summary"], "Budget.xlsx is now locked for you");
    assert_eq!(notice["actions"], serde_json::json!(["open", "Open"]));
    let mine = wait_for_event(&mut lines, Duration::from_secs(30), "own lock", |v| {
        v["event"] == "locked" && v["path"] == "Budget.xlsx"
    })
    .await;
    assert_eq!(mine["locks"][0]["mine"], true, "{mine:#}");
    let budget = status_of(home.path(), &config, &env, "Budget.xlsx").await;
    assert_eq!(budget["locks"][0]["mine"], true, "{budget:#}");
    assert_eq!(budget["locks"][0]["owner"], "Alice Smith", "{budget:#}");

    // "Lock it now" on the plain wanted file's notification takes it too.
    assert!(
        davops::unlock(&tokens[1].0, BOB, &tokens[1].1)
            .await
            .is_success()
    );
    let notice = bus
        .next(Duration::from_secs(30))
        .await
        .expect("no notification for the wanted file");
    assert_eq!(notice["summary"], "Plan.odt is free");
    assert_eq!(
        notice["actions"],
        serde_json::json!(["lock", "Lock it now", "open", "Open"])
    );
    // A person clicks a moment after the notification appears; the client subscribes to button presses
    // only once the notification is shown, so an instant click could go unheard.
    tokio::time::sleep(Duration::from_secs(1)).await;
    bus.invoke(notice["id"].as_u64().unwrap(), "lock").await;
    let mine = wait_for_event(&mut lines, Duration::from_secs(30), "own lock", |v| {
        v["event"] == "locked" && v["path"] == "Plan.odt"
    })
    .await;
    assert_eq!(mine["locks"][0]["mine"], true, "{mine:#}");

    // Alice releasing her own lock is an event, but not news to announce to her.
    let out = lockwatch(
        home.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "unlock",
            "office",
            "Budget.xlsx",
        ],
        &env,
    )
    .await;
    assert!(out.status.success(), "{}", both(&out));
    let released = wait_for_event(&mut lines, Duration::from_secs(30), "own release", |v| {
        v["event"] == "unlocked" && v["path"] == "Budget.xlsx"
    })
    .await;
    assert_eq!(released["released"][0]["mine"], true, "{released:#}");
    assert_eq!(bus.next(Duration::from_secs(3)).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_watch_follows_want_edits() {
    let server = Apache::start();
    let base = server.base_url();
    let (file, token) = locked_by_bob(&base, "Q3.docx").await;

    let mut bus = NotificationServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let config = write_config(
        home.path(),
        &format!(
            "[[servers]]\nname = \"office\"\nurl = \"{base}\"\nusername = \"alice\"\npassword_env = \"PW_ALICE\"\nwatch = [\"Q3.docx\"]\nwanted_interval_secs = 1\n"
        ),
    );
    let address = bus.address().to_owned();
    let env = [
        ("PW_ALICE", ALICE.1),
        ("DBUS_SESSION_BUS_ADDRESS", address.as_str()),
        ("LOCKWATCH_HISTORY", "/dev/null/none"),
    ];
    let mut child = spawn_watch(home.path(), &config, &env);
    let mut errors = stderr_lines(&mut child);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let locked = wait_for_event(&mut lines, Duration::from_secs(30), "locked event", |v| {
        v["event"] == "locked"
    })
    .await;
    assert_eq!(locked["wanted"], false);

    // A broken edit is reported and ignored; the watch goes on with what it had.
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{good}bogus_key = 1\n")).unwrap();
    let complaint = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let line = errors.recv().await.expect("stderr closed");
            if line.contains("bogus_key") {
                return line;
            }
        }
    })
    .await
    .expect("the broken config was not reported");
    assert!(complaint.contains("config.toml:8:1"), "{complaint}");
    assert!(complaint.contains("stay in force"), "{complaint}");
    std::fs::write(&config, &good).unwrap();

    let out = lockwatch(
        home.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "want",
            "office",
            "Q3.docx",
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", both(&out));
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let line = errors.recv().await.expect("stderr closed");
            if line.contains("config file changed") {
                return;
            }
        }
    })
    .await
    .expect("the watch did not pick up the edited config");

    assert!(davops::unlock(&file, BOB, &token).await.is_success());
    let unlocked = wait_for_event(&mut lines, Duration::from_secs(30), "unlocked event", |v| {
        v["event"] == "unlocked"
    })
    .await;
    assert_eq!(unlocked["wanted"], true, "{unlocked:#}");
    let notice = bus
        .next(Duration::from_secs(30))
        .await
        .expect("no notification after the file became wanted");
    assert_eq!(notice["summary"], "Q3.docx is free");
}
