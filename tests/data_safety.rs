//! Nothing is lost when Lockwatch is killed: real `lockwatch` processes are SIGKILLed at random moments
//! while they write the config file (`want` / `unwant`), the held-lock store (`lock` / `unlock`) and the
//! history database (`watch`), and after every kill the file must be whole.
//!
//! Half of the kills come at a random time in the process's run; the other half wait until the process has
//! created its temporary file (the write has begun) and strike a random moment later, so the write itself
//! is hit many times, not only the start-up around it.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lockwatch::config::Config;
use lockwatch::config_file::edit_wanted;
use lockwatch::held::{HeldLock, HeldLocks};

use crate::support::davops::{self, LockSpec};
use crate::support::{ALICE, BOB, DavServer, both, write_config};

/// Kills per test: enough that every phase of a write is hit several times.
const KILLS: usize = 60;

/// When to kill a child.
#[derive(Debug, Clone, Copy)]
enum Strike {
    /// This long after the start.
    After(Duration),
    /// This long after a file whose name starts with the prefix appears in the folder (or at exit).
    AfterTemporary(Duration),
}

/// The environment of a `lockwatch` child: everything of the user's points into `home`.
fn lockwatch(home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lockwatch"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Runs `cmd`, SIGKILLs it as `strike` says (unless it ended first); true when the kill ended it.
fn run_and_kill(mut cmd: Command, strike: Strike, dir: &Path, stem: &str) -> bool {
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    match strike {
        Strike::After(delay) => std::thread::sleep(delay),
        Strike::AfterTemporary(delay) => {
            let marker = format!("{stem}.tmp-{}", child.id());
            // A tight loop: the temporary file lives for a few milliseconds at most.
            while !dir.join(&marker).exists()
                && child.try_wait().unwrap().is_none()
                && started.elapsed() < Duration::from_secs(30)
            {
                std::thread::yield_now();
            }
            spin(delay);
        }
    }
    kill(&mut child)
}

/// Busy-waits `delay` (sleeping would round sub-millisecond delays up to the scheduler's tick).
fn spin(delay: Duration) {
    let until = Instant::now() + delay;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

fn kill(child: &mut Child) -> bool {
    let _ = child.kill(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    status.signal() == Some(9)
}

/// How long an uninterrupted run of `cmd` takes (the median of three).
fn duration_of(mut make: impl FnMut() -> Command) -> Duration {
    let mut runs: Vec<Duration> = (0..3)
        .map(|_| {
            let started = Instant::now();
            make().status().unwrap();
            started.elapsed()
        })
        .collect();
    runs.sort();
    runs[1]
}

/// Every third kill at a random time up to 1.2 × a normal run; the others during the write.
fn strike(i: usize, run: Duration) -> Strike {
    if i.is_multiple_of(3) {
        Strike::After(run.mul_f64(fastrand::f64() * 1.2))
    } else {
        // Log-uniform from 1 µs to 3 ms: a write on tmpfs takes microseconds, on a disk with fsync
        // milliseconds; both are struck at every stage.
        Strike::AfterTemporary(Duration::from_secs_f64(
            10f64.powf(fastrand::f64() * 3.5) / 1e6,
        ))
    }
}

/// Names in `dir` that start with `stem` and contain `.tmp-`: what killed writers left behind.
fn leftovers(dir: &Path, stem: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(stem) && n.contains(".tmp-"))
        .collect()
}

const CONFIG: &str = r#"# Lockwatch config, edited by hand and by `lockwatch want`.
poll_interval_secs = 30 # half a minute

[[servers]]
name = "office" # the team's server
kind = "webdav"
url = "http://127.0.0.1:9/dav/"
watch = ["Reports/"]
wanted = [
    "Budget.xlsx", # Q3 numbers
]

[[servers]]
name = "lab"
kind = "webdav"
url = "http://127.0.0.1:9/lab/"
"#;

#[test]
fn want_and_unwant_killed_at_random_moments_leave_the_old_or_the_new_config() {
    let home = tempfile::tempdir().unwrap();
    let path = write_config(home.path(), CONFIG);
    let cfg = path.to_str().unwrap().to_owned();
    // The two versions the file alternates between (comments and all); nothing else may ever be seen.
    let unwanted = CONFIG.to_owned();
    let wanted = edit_wanted(CONFIG, "office", "Plan B.pptx", true)
        .unwrap()
        .unwrap();
    let versions: HashSet<&str> = [unwanted.as_str(), wanted.as_str()].into();
    let command = |text: &str| {
        let verb = if text == unwanted { "want" } else { "unwant" };
        lockwatch(
            home.path(),
            &["--config", &cfg, verb, "office", "Plan B.pptx"],
        )
    };
    let run = duration_of(|| command(&std::fs::read_to_string(&path).unwrap()));

    let (mut old, mut new, mut mid_write) = (0, 0, 0);
    for i in 0..KILLS {
        let before = std::fs::read_to_string(&path).unwrap();
        let after = if before == unwanted {
            &wanted
        } else {
            &unwanted
        };
        let leftovers_before = leftovers(home.path(), "config.toml").len();
        run_and_kill(command(&before), strike(i, run), home.path(), "config.toml");

        let now = std::fs::read_to_string(&path).unwrap();
        assert!(
            now == before || &now == after,
            "kill {i}: the config is neither the old nor the new version:\n{now}"
        );
        Config::parse(&now, "config", &|_| None).unwrap();
        assert!(now.contains("# Q3 numbers") && now.contains("# the team's server"));
        if let Ok(bak) = std::fs::read_to_string(home.path().join("config.toml.bak")) {
            assert!(
                versions.contains(bak.as_str()),
                "kill {i}: the backup is not a whole version:\n{bak}"
            );
        }
        if now == before {
            old += 1;
        } else {
            new += 1;
            // "The previous version kept": right after a change, the backup is what the file was.
            assert_eq!(
                std::fs::read_to_string(home.path().join("config.toml.bak")).unwrap(),
                before,
                "kill {i}"
            );
        }
        if leftovers(home.path(), "config.toml").len() > leftovers_before {
            mid_write += 1;
        }
    }
    eprintln!(
        "{KILLS} kills (a normal run takes {run:?}): {old} left the old config, {new} the new one, {mid_write} struck mid-write"
    );
    assert!(
        mid_write > 0,
        "no kill struck during a write: the test proves nothing"
    );

    // Temporary files of killed writers never stand in the way of the next edit.
    let out = command(&std::fs::read_to_string(&path).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", both(&out));
}

#[tokio::test]
async fn a_broken_config_is_reported_with_line_and_column_and_never_overwritten() {
    let home = tempfile::tempdir().unwrap();
    // A TOML syntax error on line 7 (an unclosed string).
    let broken = CONFIG.replace(
        "url = \"http://127.0.0.1:9/dav/\"",
        "url = \"http://127.0.0.1:9/dav/",
    );
    // Valid TOML that is not a valid config: a poll interval of zero on line 2.
    let invalid = CONFIG.replace("poll_interval_secs = 30", "poll_interval_secs = 0");
    for (text, line) in [(&broken, 7), (&invalid, 2)] {
        let path = write_config(home.path(), text);
        let _ = std::fs::remove_file(home.path().join("config.toml.bak"));
        // Both would change the file if it could be edited.
        for (verb, file) in [("want", "New.odt"), ("unwant", "Budget.xlsx")] {
            let out = crate::support::lockwatch(
                home.path(),
                &["--config", path.to_str().unwrap(), verb, "office", file],
                &[],
            )
            .await;
            assert_eq!(out.status.code(), Some(2), "{}", both(&out));
            let stderr = String::from_utf8_lossy(&out.stderr);
            // "line 7, column 31" from the TOML parser, "…:2:22: poll_interval_secs: …" from the config's.
            let column = names_line_and_column(&stderr, line);
            assert!(column, "no line and column in: {}", both(&out));
            assert_eq!(&std::fs::read_to_string(&path).unwrap(), text);
            assert!(!home.path().join("config.toml.bak").exists());
            assert!(leftovers(home.path(), "config.toml").is_empty());
        }
    }
}

/// Whether `text` names line `line` and a column, as "line L, column C" or as "NAME:L:C:".
fn names_line_and_column(text: &str, line: usize) -> bool {
    if text.contains(&format!("line {line}, column ")) {
        return true;
    }
    let marker = format!(":{line}:");
    text.match_indices(&marker).any(|(i, _)| {
        text[i + marker.len()..]
            .split(':')
            .next()
            .is_some_and(|c| !c.is_empty() && c.chars().all(|d| d.is_ascii_digit()))
    })
}

/// The held-lock store as a set of (path, token), or `None` when there is no store yet.
fn entries(store: &HeldLocks) -> Vec<(String, Option<String>)> {
    let mut out: Vec<_> = store
        .load()
        .unwrap()
        .into_iter()
        .map(|h: HeldLock| (h.path, h.token))
        .collect();
    out.sort();
    out
}

#[test]
fn lock_and_unlock_killed_at_random_moments_leave_a_whole_held_lock_store() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = DavServer::start();
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &format!(
            "[[servers]]\nname = \"dav\"\nkind = \"webdav\"\nurl = \"{}\"\n",
            server.base_url()
        ),
    );
    let cfg = cfg.to_str().unwrap().to_owned();
    let data = home.path().join(".local/share/lockwatch");
    let store = HeldLocks::at(data.join("held-locks.json"));
    let put = |name: &str| {
        let url = format!("{}{name}", server.base_url());
        assert!(
            runtime
                .block_on(davops::put(&url, ALICE, b"x"))
                .is_success()
        );
    };
    let command =
        |verb: &str, name: &str| lockwatch(home.path(), &["--config", &cfg, verb, "dav", name]);
    put("warmup.txt");
    let run = duration_of(|| command("lock", "warmup.txt"));
    std::fs::create_dir_all(&data).unwrap();

    let (mut old, mut new, mut mid_write) = (0, 0, 0);
    for i in 0..KILLS {
        let before = entries(&store);
        // Even kills take a lock on a new file; odd ones release the newest held one.
        let (verb, name) = match before.iter().rev().find(|(p, _)| p.starts_with("f-")) {
            Some((held, _)) if i % 2 == 1 => ("unlock", held.clone()),
            _ => {
                let name = format!("f-{i}.txt");
                put(&name);
                ("lock", name)
            }
        };
        let leftovers_before = leftovers(&data, "held-locks.json").len();
        run_and_kill(
            command(verb, &name),
            strike(i, run),
            &data,
            "held-locks.json",
        );

        let after = entries(&store); // panics if the store does not parse
        let changed: Vec<_> = if verb == "lock" {
            assert!(
                after.len() == before.len() + 1 || after == before,
                "kill {i}: {before:?} -> {after:?}"
            );
            after.iter().filter(|e| !before.contains(e)).collect()
        } else {
            assert!(
                after.len() + 1 == before.len() || after == before,
                "kill {i}: {before:?} -> {after:?}"
            );
            before.iter().filter(|e| !after.contains(e)).collect()
        };
        if after == before {
            old += 1;
        } else {
            new += 1;
            assert!(
                changed.len() == 1 && changed[0].0 == name,
                "kill {i}: {verb} {name} changed {changed:?}"
            );
            // The previous version is kept and is whole.
            let bak = HeldLocks::at(data.join("held-locks.json.bak"));
            assert_eq!(entries(&bak), before, "kill {i}");
        }
        if leftovers(&data, "held-locks.json").len() > leftovers_before {
            mid_write += 1;
        }
    }
    eprintln!(
        "{KILLS} kills (a normal run takes {run:?}): {old} left the old store, {new} the new one, {mid_write} struck mid-write"
    );
    assert!(
        mid_write > 0,
        "no kill struck during a write: the test proves nothing"
    );
}

/// Locked files in the folder the history test watches: `watch` reports each at start, one event each.
const LOCKED_FILES: usize = 200;

#[test]
fn the_history_database_survives_kills_mid_write_with_every_committed_event() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = DavServer::start();
    runtime.block_on(async {
        assert!(
            davops::mkcol(&format!("{}Many/", server.base_url()), ALICE)
                .await
                .is_success()
        );
        for i in 0..LOCKED_FILES {
            let url = format!("{}Many/file-{i:03}.txt", server.base_url());
            assert!(davops::put(&url, ALICE, b"x").await.is_success());
            davops::lock(&url, BOB, &LockSpec::default()).await.unwrap();
        }
    });
    let home = tempfile::tempdir().unwrap();
    let cfg = write_config(
        home.path(),
        &format!(
            "[[servers]]\nname = \"dav\"\nkind = \"webdav\"\nurl = \"{}\"\nwatch = [\"Many/\"]\n",
            server.base_url()
        ),
    );
    let db: PathBuf = home.path().join("history.sqlite3");
    let mut committed_total = 0usize;
    let mut torn = 0usize;
    for i in 0..KILLS / 3 {
        // Kill once the child has printed a random number of its start-up events (it records an event, then
        // prints it), plus a random moment.
        let kill_at = fastrand::usize(1..=LOCKED_FILES);
        let mut child = lockwatch(
            home.path(),
            &["--config", cfg.to_str().unwrap(), "watch", "--json"],
        )
        .env("LOCKWATCH_HISTORY", &db)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
        let stdout = child.stdout.take().unwrap();
        let printed = Arc::new(Mutex::new(Vec::<String>::new()));
        let (reached_tx, reached_rx) = std::sync::mpsc::channel::<()>();
        let reader = {
            let printed = printed.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let mut printed = printed.lock().unwrap();
                    printed.push(line);
                    if printed.len() == kill_at {
                        let _ = reached_tx.send(());
                    }
                }
            })
        };
        reached_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("watch printed too few events");
        spin(Duration::from_micros(fastrand::u64(0..2_000)));
        assert!(kill(&mut child), "watch ended by itself");
        reader.join().unwrap();
        let printed = printed.lock().unwrap().clone();

        let conn = rusqlite::Connection::open(&db).unwrap();
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok", "kill {i}");
        let stored: Vec<String> = {
            let mut stmt = conn
                .prepare("SELECT json FROM events ORDER BY id LIMIT -1 OFFSET ?1")
                .unwrap();
            stmt.query_map([committed_total as i64], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        drop(conn);
        // Each event is committed, then printed: every printed event is in the database, in order, and so
        // may be a few more (committed, killed before they reached the output).
        assert!(
            stored.len() >= printed.len(),
            "kill {i}: {} printed, {} stored",
            printed.len(),
            stored.len()
        );
        assert_eq!(stored[..printed.len()], printed[..], "kill {i}");
        if stored.len() > printed.len() {
            torn += 1;
        }
        committed_total += stored.len();
    }
    eprintln!(
        "{} kills, {committed_total} events committed and all kept; {torn} kills came between committing events and printing them",
        KILLS / 3
    );
    // The survivor is usable: `lockwatch history` reads it, with one hold per file any event named.
    let files: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT COUNT(DISTINCT path) FROM events", [], |r| r.get(0))
        .unwrap();
    let out = lockwatch(home.path(), &["history", "--json"])
        .env("LOCKWATCH_HISTORY", &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", both(&out));
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(history["holds"].as_array().unwrap().len() as i64, files);
}
