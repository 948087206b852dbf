//! Nextcloud push (notify_push) end to end: `lockwatch watch --json` against the Nextcloud emulator with
//! its push websocket, polling only once an hour, so every prompt event below came through push.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use crate::support::nextcloud::{Nextcloud, Options, PushLogin};
use crate::support::{lockwatch_command, wait_for_event, write_config};

const ALICE_PW: &str = "alice-pw-1";
/// Far longer than any wait below: an event that arrives within a wait did not come from polling.
const HOUR: u64 = 3600;
/// Generous bound on "at once": push reaches the engine in milliseconds; the bound only has to be far
/// below the poll interval to tell push from polling on a busy machine.
const PROMPTLY: Duration = Duration::from_secs(30);

fn push_nextcloud(opts: Options) -> Nextcloud {
    let nc = Nextcloud::start_with(Options {
        notify_push: true,
        ..opts
    });
    nc.add_file("Budget.xlsx", "alice");
    nc
}

/// A config for alice watching (and wanting) Budget.xlsx with the given intervals.
fn alice_config(home: &Path, nc: &Nextcloud, poll: u64, wanted: u64) -> std::path::PathBuf {
    write_config(
        home,
        &format!(
            "poll_interval_secs = {poll}\n[[servers]]\nname = \"cloud\"\nkind = \"nextcloud\"\nurl = \"{}\"\nusername = \"alice\"\npassword_env = \"PW_ALICE\"\nwanted = [\"Budget.xlsx\"]\nwanted_interval_secs = {wanted}\n",
            nc.dav_url("alice")
        ),
    )
}

/// `lockwatch watch --json`, isolated in `home`, logging at `log_level`; stderr is collected in the
/// returned buffer.
fn spawn_watch(
    home: &Path,
    config: &Path,
    log_level: &str,
) -> (Child, Lines<BufReader<ChildStdout>>, Arc<Mutex<String>>) {
    let mut child = lockwatch_command(
        home,
        &["--config", config.to_str().unwrap(), "watch", "--json"],
    )
    .env("LOCKWATCH_HISTORY", home.join("history.sqlite3"))
    .env("PW_ALICE", ALICE_PW)
    .env("LOCKWATCH_LOG", log_level)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let stderr = Arc::new(Mutex::new(String::new()));
    let sink = stderr.clone();
    let mut err_lines = BufReader::new(child.stderr.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = err_lines.next_line().await {
            let mut all = sink.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
    (child, lines, stderr)
}

/// Polls `condition` every 50 ms until it holds, failing after `within`.
async fn until(within: Duration, what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// bob takes or releases his user lock (`X-User-Lock`) on `path` through WebDAV, as the files app does.
async fn bob(nc: &Nextcloud, method: &str, path: &str) {
    let url = format!("{}{path}", nc.dav_url("bob"));
    let reply = reqwest::Client::new()
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
        .basic_auth("bob", Some("bob-pw-2"))
        .header("X-User-Lock", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200, "bob's {method} of {path}");
}

fn is(event: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v["event"] == event && v["path"] == "Budget.xlsx"
}

#[tokio::test(flavor = "multi_thread")]
async fn a_colleague_releasing_a_wanted_file_is_announced_at_once() {
    let nc = push_nextcloud(Options::default());
    bob(&nc, "LOCK", "Budget.xlsx").await;
    let home = tempfile::tempdir().unwrap();
    let config = alice_config(home.path(), &nc, HOUR, HOUR);
    // The most talkative log level: the password must not show there either, in any form.
    let (_child, mut lines, stderr) = spawn_watch(home.path(), &config, "trace");
    let locked = wait_for_event(&mut lines, PROMPTLY, "the first reading", is("locked")).await;
    assert_eq!(locked["locks"][0]["owner"], "Bob Builder");
    until(PROMPTLY, "a push login asking for file ids", || {
        nc.push_listeners() == 1
    })
    .await;
    assert_eq!(
        nc.push_logins(),
        [PushLogin {
            user: "alice".into(),
            accepted: true
        }]
    );
    let requests_before = nc.requests().len();

    let released_at = tokio::time::Instant::now();
    bob(&nc, "UNLOCK", "Budget.xlsx").await;
    let unlocked = wait_for_event(&mut lines, PROMPTLY, "the unlocked event", is("unlocked")).await;
    let latency = released_at.elapsed();
    assert_eq!(unlocked["wanted"], true);
    assert_eq!(unlocked["released"][0]["owner"], "Bob Builder");
    // Just that file was read again: one Depth-0 PROPFIND of it (after bob's own UNLOCK request).
    let after: Vec<_> = nc.requests()[requests_before..]
        .iter()
        .filter(|r| r.user.as_deref() == Some("alice"))
        .cloned()
        .collect();
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(after[0].method, "PROPFIND");
    assert!(after[0].path.ends_with("/Budget.xlsx"), "{after:#?}");
    assert_eq!(after[0].depth.as_deref(), Some("0"));

    // Taking it again is announced the same way.
    bob(&nc, "LOCK", "Budget.xlsx").await;
    wait_for_event(&mut lines, PROMPTLY, "the locked event", is("locked")).await;
    let log = stderr.lock().unwrap().clone();
    assert!(log.contains("push channel open"), "{log}");
    let hex: String = ALICE_PW.bytes().map(|b| format!("{b:02x}")).collect();
    for secret in [ALICE_PW, &hex] {
        let leaks: Vec<&str> = log.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret} in the log: {leaks:#?}");
    }
    eprintln!("unlock to event through push: {latency:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_push_login_leaves_polling_on() {
    let nc = push_nextcloud(Options {
        push_refuses_logins: true,
        ..Options::default()
    });
    bob(&nc, "LOCK", "Budget.xlsx").await;
    let home = tempfile::tempdir().unwrap();
    // Polling the wanted file every second: the only way left to notice the release.
    let config = alice_config(home.path(), &nc, HOUR, 1);
    let (_child, mut lines, stderr) = spawn_watch(home.path(), &config, "warn");
    wait_for_event(&mut lines, PROMPTLY, "the first reading", is("locked")).await;
    until(PROMPTLY, "the warning about push", || {
        stderr
            .lock()
            .unwrap()
            .contains("push notifications are off")
    })
    .await;
    let log = stderr.lock().unwrap().clone();
    assert!(log.contains("cloud"), "names the server: {log}");
    assert!(log.contains("Invalid credentials"), "{log}");
    assert!(!log.contains(ALICE_PW), "{log}");

    bob(&nc, "UNLOCK", "Budget.xlsx").await;
    wait_for_event(&mut lines, PROMPTLY, "the unlocked event", is("unlocked")).await;
    // One attempt only: a refused login is not retried.
    assert_eq!(
        nc.push_logins(),
        [PushLogin {
            user: "alice".into(),
            accepted: false
        }]
    );
    assert_eq!(
        stderr
            .lock()
            .unwrap()
            .matches("push notifications are off")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_push_connection_is_reopened_and_catches_up() {
    let nc = push_nextcloud(Options::default());
    let home = tempfile::tempdir().unwrap();
    let config = alice_config(home.path(), &nc, HOUR, HOUR);
    let (_child, mut lines, stderr) = spawn_watch(home.path(), &config, "info");
    until(PROMPTLY, "the first push login", || {
        nc.push_listeners() == 1
    })
    .await;

    // The connection breaks, and bob locks the file before it is back: that announcement is lost.
    assert_eq!(nc.drop_push_connections(), 1);
    bob(&nc, "LOCK", "Budget.xlsx").await;
    until(PROMPTLY, "a second push login", || {
        nc.push_logins().len() == 2 && nc.push_listeners() == 1
    })
    .await;
    // The reopened channel reads every watched file once: the lock taken meanwhile is found.
    let locked = wait_for_event(&mut lines, PROMPTLY, "the locked event", is("locked")).await;
    assert_eq!(locked["locks"][0]["owner"], "Bob Builder");

    // And the new connection carries announcements again.
    bob(&nc, "UNLOCK", "Budget.xlsx").await;
    wait_for_event(&mut lines, PROMPTLY, "the unlocked event", is("unlocked")).await;
    assert!(nc.push_logins().iter().all(|l| l.accepted));
    let log = stderr.lock().unwrap().clone();
    assert!(!log.contains(ALICE_PW), "{log}");
}

/// A paused watcher sends nothing, push included: pausing closes the push channel, and resuming opens it
/// again and reads everything, so a lock taken while paused is still reported.
#[tokio::test(flavor = "multi_thread")]
async fn pausing_closes_the_push_channel_and_resuming_opens_it_again() {
    use lockwatch::secrets::MemoryStore;
    use lockwatch::watch::{LockEvent, Pacing, SystemClock, Watcher, targets};
    let nc = push_nextcloud(Options::default());
    let config = crate::support::config(&format!(
        "[[servers]]\nname = \"cloud\"\nkind = \"nextcloud\"\nurl = \"{}\"\nusername = \"alice\"\npassword_env = \"PW_ALICE\"\nwatch = [\"Budget.xlsx\"]\n",
        nc.dav_url("alice")
    ));
    let (watcher, mut events) = Watcher::start(
        targets(&config, Arc::new(MemoryStore::new())),
        Pacing::new(Duration::from_secs(HOUR)),
        Arc::new(SystemClock),
    );
    until(PROMPTLY, "the first push login", || {
        nc.push_listeners() == 1
    })
    .await;

    watcher.set_paused(true);
    until(PROMPTLY, "the push channel closing", || {
        nc.push_listeners() == 0
    })
    .await;
    bob(&nc, "LOCK", "Budget.xlsx").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(nc.push_logins().len(), 1, "no new login while paused");
    assert_eq!(nc.push_listeners(), 0, "no push connection while paused");

    watcher.set_paused(false);
    until(PROMPTLY, "a second push login", || {
        nc.push_logins().len() == 2 && nc.push_listeners() == 1
    })
    .await;
    let locked = tokio::time::timeout(PROMPTLY, async {
        loop {
            match events.recv().await.expect("watcher stopped") {
                LockEvent::Locked { path, .. } if path == "Budget.xlsx" => break,
                _ => {}
            }
        }
    })
    .await;
    assert!(
        locked.is_ok(),
        "the lock taken while paused was not reported"
    );
}
