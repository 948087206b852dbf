//! `lockwatch watch` as a user runs it, measured from outside: the real binary against Apache mod_dav on
//! loopback, watching the shared workload (10 folders, 10,000 files, 1,000 locked by bob) plus one wanted
//! file, with a real notification server on a private D-Bus session bus.
//!
//! - **Notification latency**: bob releases the wanted file (UNLOCK), N times (20; 5 in quick mode); each
//!   time, from the UNLOCK's response to the desktop notification arriving at the notification server.
//!   The wanted file is polled every second (`wanted_interval_secs = 1`), so the target is 1 s + 250 ms.
//! - **Footprint**: the same process under `/usr/bin/time -v` for 5 minutes (1 in quick mode), default
//!   `poll_interval_secs`: peak RSS, and CPU seconds (user + system) per hour of watching.
//! - **One-shot `lockwatch status`** over the same watch list, under hyperfine (20 runs; 5 in quick
//!   mode): what a script pays for one reading, process start included.
//!
//! Run: `cargo bench --bench watch` (needs Apache, the D-Bus test listener and hyperfine:
//! `scripts/install-test-servers.sh`), or `scripts/bench`. `LOCKWATCH_BENCH_QUICK=1` shortens it.

#[path = "../tests/support/apache.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
mod apache;
#[path = "../tests/support/notifications.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]
mod notifications;
#[path = "../tests/support/server_process.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
mod server_process;
#[path = "support/workload.rs"]
#[allow(dead_code)]
mod workload;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

use workload::{FOLDERS, USERS, client, folder, lockinfo};

const WANTED: &str = "wanted.txt";

/// Bob locks the wanted file; returns the lock token.
async fn lock_wanted(url: &str) -> String {
    let client = client();
    let reply = client
        .request(reqwest::Method::from_bytes(b"LOCK").expect("method"), url)
        .basic_auth(USERS[1].0, Some(USERS[1].1))
        .header("Depth", "0")
        .header("Timeout", "Second-3600")
        .header("Content-Type", "application/xml")
        .body(lockinfo("exclusive"))
        .send()
        .await
        .expect("LOCK");
    assert!(reply.status().is_success(), "LOCK: {}", reply.status());
    reply
        .headers()
        .get("lock-token")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_matches(|c| c == '<' || c == '>').to_owned())
        .expect("Lock-Token")
}

/// Waits for a `locked` event of the wanted file on the watcher's output.
async fn wanted_locked(events: &mut mpsc::UnboundedReceiver<Value>) {
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(event) = events.recv().await {
            if event["event"] == "locked" && event["path"] == WANTED {
                return;
            }
        }
        panic!("lockwatch watch ended");
    })
    .await;
    found.expect("the watcher did not report the wanted file locked within 30 s");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// A value from `/usr/bin/time -v`'s report, by its label.
fn time_field<'a>(report: &'a str, label: &str) -> &'a str {
    report
        .lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .map(|rest| rest.trim_start_matches(':').trim())
        .unwrap_or_else(|| panic!("no {label:?} in /usr/bin/time's report:\n{report}"))
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without it, and a
    // benchmark that takes minutes has no place in the test suite.
    if !std::env::args().any(|a| a == "--bench") {
        println!("watch: run with `cargo bench --bench watch`");
        return;
    }
    let quick = std::env::var_os("LOCKWATCH_BENCH_QUICK").is_some();
    let (duration, releases) = if quick {
        (Duration::from_secs(60), 5)
    } else {
        (Duration::from_secs(300), 20)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let server = apache::Apache::start();
    workload::populate_apache(&server, &rt);
    server.create_file(WANTED, b"x");
    let base = server.base_url();
    let wanted_url = format!("{base}{WANTED}");

    rt.block_on(async {
        let mut token = lock_wanted(&wanted_url).await;
        let mut bus = notifications::NotificationServer::start().await;
        let home = tempfile::tempdir().expect("tempdir");
        let watch: Vec<String> = (0..FOLDERS).map(|f| format!("\"{}\"", folder(f))).collect();
        let config = home.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[[servers]]\nname = \"bench\"\nkind = \"webdav\"\nurl = \"{base}\"\nusername = \"alice\"\npassword_env = \"PW\"\nwatch = [{}]\nwanted = [\"{WANTED}\"]\nwanted_interval_secs = 1\n",
                watch.join(", ")
            ),
        )
        .expect("config");
        let mut child = tokio::process::Command::new("/usr/bin/time")
            .arg("-v")
            .arg(env!("CARGO_BIN_EXE_lockwatch"))
            .args(["--config", config.to_str().expect("path"), "watch", "--json"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join(".config"))
            .env("XDG_DATA_HOME", home.path().join(".local/share"))
            .env("LOCKWATCH_HISTORY", home.path().join("history.sqlite3"))
            .env("PW", USERS[0].1)
            .env("DBUS_SESSION_BUS_ADDRESS", bus.address())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("/usr/bin/time (Debian package `time`)");
        let started = Instant::now();
        // Every line is read as it comes (1,000 `locked` events at start would fill the pipe otherwise).
        let (tx, mut events) = mpsc::unbounded_channel();
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(event) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(event);
                }
            }
        });
        let mut stderr = child.stderr.take().expect("stderr");

        wanted_locked(&mut events).await;
        let first_poll = started.elapsed();
        let mut latencies = Vec::new();
        for _ in 0..releases {
            let unlock = client()
                .request(
                    reqwest::Method::from_bytes(b"UNLOCK").expect("method"),
                    &wanted_url,
                )
                .basic_auth(USERS[1].0, Some(USERS[1].1))
                .header("Lock-Token", format!("<{token}>"))
                .send()
                .await
                .expect("UNLOCK");
            let released = Instant::now();
            assert!(unlock.status().is_success(), "UNLOCK: {}", unlock.status());
            let notice = bus
                .next(Duration::from_secs(10))
                .await
                .expect("no notification within 10 s of the release");
            latencies.push(released.elapsed());
            assert_eq!(notice["summary"], format!("{WANTED} is free"));
            token = lock_wanted(&wanted_url).await;
            wanted_locked(&mut events).await;
        }

        if let Some(rest) = duration.checked_sub(started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
        let pid = child.id().expect("pid");
        // /usr/bin/time passes the interrupt on to lockwatch, which stops cleanly; time then reports.
        let status = std::process::Command::new("pkill")
            .args(["-INT", "-P", &pid.to_string()])
            .status()
            .expect("pkill");
        assert!(status.success(), "lockwatch watch was not running");
        tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .expect("lockwatch watch did not stop within 20 s")
            .expect("wait");
        let mut report = String::new();
        stderr.read_to_string(&mut report).await.expect("stderr");
        drop(bus);

        latencies.sort();
        println!("## Notification latency: release of a wanted file to the desktop notification\n");
        println!("Apache 2.4 mod_dav, `wanted_interval_secs = 1`, {releases} releases (target: 1 s + 250 ms = 1,250 ms)\n");
        println!("| min | median | p95 | max |");
        println!("|---|---|---|---|");
        println!(
            "| {} | {} | {} | {} |",
            ms(latencies[0]),
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.95)),
            ms(latencies[latencies.len() - 1])
        );

        let peak_kb: f64 = time_field(&report, "Maximum resident set size (kbytes)")
            .parse()
            .expect("RSS");
        let user: f64 = time_field(&report, "User time (seconds)").parse().expect("user");
        let system: f64 = time_field(&report, "System time (seconds)").parse().expect("system");
        let wall = started.elapsed().as_secs_f64();
        println!("\n## Footprint of `lockwatch watch` (10 folders, 10,000 files, default poll interval)\n");
        println!("| run | first full poll | peak RSS | CPU (user + system) | CPU per hour |");
        println!("|---|---|---|---|---|");
        println!(
            "| {:.0} s | {} | {:.1} MB | {:.2} s | {:.0} s/h |",
            wall,
            ms(first_poll),
            peak_kb * 1024.0 / 1e6,
            user + system,
            (user + system) / wall * 3600.0
        );

        one_shot_status(&config, home.path(), if quick { 5 } else { 20 });
    });
}

/// `lockwatch status` over the same watch list, as a script runs it (process start, config, one full
/// reading of the 10,000 files, the JSON report, exit), timed by hyperfine.
fn one_shot_status(config: &std::path::Path, home: &std::path::Path, runs: u32) {
    let export = home.join("status.json");
    let command = format!(
        "{} --config {} status --json",
        env!("CARGO_BIN_EXE_lockwatch"),
        config.display()
    );
    let status = std::process::Command::new("hyperfine")
        .args(["--shell=none", "--warmup", "2", "--style", "none", "--runs"])
        .arg(runs.to_string())
        .arg("--export-json")
        .arg(&export)
        .arg(&command)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("LOCKWATCH_HISTORY", home.join("history.sqlite3"))
        .env("PW", USERS[0].1)
        .stdout(Stdio::null())
        .status()
        .expect("hyperfine (Debian package `hyperfine`)");
    assert!(status.success(), "hyperfine failed: {command}");
    let exported: Value =
        serde_json::from_slice(&std::fs::read(&export).expect("hyperfine's report"))
            .expect("hyperfine's JSON");
    let result = &exported["results"][0];
    let secs = |key: &str| {
        let value = result[key].as_f64();
        Duration::from_secs_f64(value.unwrap_or_else(|| panic!("no {key} in {result}")))
    };
    println!(
        "\n## One-shot `lockwatch status` (10 folders, 10,000 files; hyperfine, {runs} runs)\n"
    );
    println!("| mean ± σ | median | min | max | CPU (user + system) |");
    println!("|---|---|---|---|---|");
    println!(
        "| {} ± {} | {} | {} | {} | {} |",
        ms(secs("mean")),
        ms(secs("stddev")),
        ms(secs("median")),
        ms(secs("min")),
        ms(secs("max")),
        ms(secs("user") + secs("system"))
    );
}
