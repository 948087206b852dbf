//! The poll cycle and server isolation, measured against real WebDAV servers on loopback.
//!
//! Workload: 10 folders, 10,000 files, 10 % of them locked by another user — 900 single locks (two thirds
//! exclusive, one third shared) in nine folders and one depth-infinity lock on the tenth folder's 100
//! files. Lockwatch reads it with one Depth-1 PROPFIND per folder; the naive baseline reads every file with
//! its own Depth-0 PROPFIND through the same client and the same concurrency. Both must find the same 1,000
//! locked files. Requests and bytes are counted from the engine's own trace events; CPU time is this
//! process's (with the in-process dav-server, that includes the server's own work).
//!
//! Nextcloud (the emulator in tests/support/nextcloud.rs, as no real Nextcloud runs here; its requests and
//! bytes are what matter, not its speed): a poll asks each folder for its etag and lists only the folders
//! whose etag moved, next to listing them all.
//!
//! Isolation: 50 servers of which 5 accept connections and never answer; the time until the 45 healthy
//! ones are read, next to the same with all 50 healthy.
//!
//! Run: `cargo bench --bench poll` (needs Apache: `scripts/install-test-servers.sh`), or `scripts/bench`.

#[path = "../tests/support/apache.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
mod apache;
#[path = "../tests/support/nextcloud.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
mod nextcloud;
#[path = "../tests/support/server_process.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
mod server_process;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lockwatch::config::Config;
use lockwatch::model::FileState;
use lockwatch::protocol::{LockSource, Server};
use lockwatch::secrets::MemoryStore;
use tracing_subscriber::layer::SubscriberExt;

#[path = "support/workload.rs"]
#[allow(dead_code)]
mod workload;

use workload::{FOLDERS, USERS, client, file, files_in, folder, send, take_locks};

/// Counts the engine's HTTP requests and body bytes from its trace events.
#[derive(Default)]
struct Traffic {
    requests: AtomicU64,
    bytes: AtomicU64,
}

struct Counter(Arc<Traffic>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Counter {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Visit<'a>(&'a Traffic, bool);
        impl tracing::field::Visit for Visit<'_> {
            fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                if field.name() == "bytes" {
                    self.0.bytes.fetch_add(value, Ordering::Relaxed);
                }
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" && format!("{value:?}") == "request" {
                    self.1 = true;
                }
            }
        }
        let mut visit = Visit(&self.0, false);
        event.record(&mut visit);
        if visit.1 {
            self.0.requests.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Reads `watch` once and returns (time, requests, bytes, files, locked files).
async fn cycle(
    source: &dyn LockSource,
    watch: &[String],
    traffic: &Traffic,
) -> (Duration, u64, u64, usize, usize) {
    let (r0, b0) = (
        traffic.requests.load(Ordering::Relaxed),
        traffic.bytes.load(Ordering::Relaxed),
    );
    let started = Instant::now();
    let files = source.read(watch, chrono::Utc::now()).await.expect("read");
    let elapsed = started.elapsed();
    let locked = files
        .iter()
        .filter(|f| f.state == FileState::Locked)
        .count();
    (
        elapsed,
        traffic.requests.load(Ordering::Relaxed) - r0,
        traffic.bytes.load(Ordering::Relaxed) - b0,
        files.len(),
        locked,
    )
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat` (clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// A connected source for the benchmark's server, as the watch engine holds one.
async fn connect(config: &Config) -> Arc<dyn LockSource> {
    let server = Server::connect(config.servers[0].clone(), Arc::new(MemoryStore::new()))
        .await
        .expect("connect");
    server.source().await.expect("source")
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

async fn compare(name: &str, base: &str, credentials: &str, traffic: &Traffic) {
    let folders: Vec<String> = (0..FOLDERS).map(folder).collect();
    let files: Vec<String> = (0..FOLDERS)
        .flat_map(|f| (0..files_in(f)).map(move |i| file(f, i)))
        .collect();
    let config = Config::parse(
        &format!("[[servers]]\nname = \"b\"\nkind = \"webdav\"\nurl = \"{base}\"\ntimeout_secs = 120\n{credentials}"),
        "bench",
        &|_| Some(USERS[0].1.to_owned()),
    )
    .expect("config");
    let quick = std::env::var_os("LOCKWATCH_BENCH_QUICK").is_some();
    let (lockwatch_runs, naive_runs) = if quick { (3, 1) } else { (7, 3) };
    let mut rows = Vec::new();
    // As the watch engine polls: one source for the server's lifetime (it learns how the server reports
    // inherited locks from its first answers), measured after a first poll.
    for (label, watch, runs) in [
        ("Lockwatch (Depth 1 per folder)", &folders, lockwatch_runs),
        ("naive (Depth 0 per file)", &files, naive_runs),
    ] {
        let source = connect(&config).await;
        cycle(&*source, watch, traffic).await;
        let mut times = Vec::new();
        let mut last = (0, 0, 0, 0);
        let cpu_before = cpu_time();
        for _ in 0..runs {
            let (t, r, b, n, l) = cycle(&*source, watch, traffic).await;
            assert_eq!(
                (n, l),
                (10_000, 1_000),
                "{label} on {name}: files and locked files"
            );
            times.push(t);
            last = (r, b, n, l);
        }
        let cpu = (cpu_time() - cpu_before) / runs;
        rows.push((label, median(times), last.0, last.1, cpu));
    }
    let ratio = rows[1].1.as_secs_f64() / rows[0].1.as_secs_f64();
    for (label, time, requests, bytes, cpu) in &rows {
        println!(
            "| {name} | {label} | {requests} | {:.1} MB | {:.0} ms | {:.0} ms |",
            *bytes as f64 / 1e6,
            time.as_secs_f64() * 1000.0,
            cpu.as_secs_f64() * 1000.0
        );
    }
    println!(
        "| {name} | **Lockwatch is {ratio:.0}× faster** with {:.1}% of the requests | | | | |",
        100.0 * rows[0].2 as f64 / rows[1].2 as f64
    );
}

/// Nextcloud: what a poll costs when nothing changed, and when one lock was released, next to listing
/// every folder (what every poll cost before, and what every tenth poll still does).
async fn nextcloud_polls(traffic: &Traffic) {
    let nc = nextcloud::Nextcloud::start();
    let mut locked = 0;
    for f in 0..FOLDERS {
        nc.add_folder(folder(f).trim_end_matches('/'));
        for i in 0..files_in(f) {
            nc.add_file(&file(f, i), "alice");
            if i % 10 == 0 {
                let lock = nextcloud::NcLock {
                    owner_type: 0,
                    owner: "bob".into(),
                    display_name: "Bob".into(),
                    editor: None,
                    time: nc.now(),
                    timeout: -60,
                    token: format!("files_lock/{f}-{i}"),
                };
                nc.set_lock(&file(f, i), lock);
                locked += 1;
            }
        }
    }
    let config = Config::parse(
        &format!(
            "[[servers]]\nname = \"nc\"\nkind = \"nextcloud\"\nurl = \"{}\"\nusername = \"alice\"\npassword_env = \"PW\"\ntimeout_secs = 120\n",
            nc.dav_url("alice")
        ),
        "bench",
        &|_| Some(USERS[0].1.to_owned()),
    )
    .expect("config");
    let source = connect(&config).await;
    let folders: Vec<String> = (0..FOLDERS).map(folder).collect();
    let count = |traffic: &Traffic| {
        (
            traffic.requests.load(Ordering::Relaxed),
            traffic.bytes.load(Ordering::Relaxed),
        )
    };
    let row = |label: &str, before: (u64, u64), time: Duration| {
        let after = count(traffic);
        let bytes = after.1 - before.1;
        let bytes = if bytes < 100_000 {
            format!("{:.1} kB", bytes as f64 / 1e3)
        } else {
            format!("{:.2} MB", bytes as f64 / 1e6)
        };
        println!(
            "| Nextcloud (emulator) | {label} | {} | {bytes} | {:.0} ms |",
            after.0 - before.0,
            time.as_secs_f64() * 1000.0
        );
    };
    let (_, _, _, n, l) = cycle(&*source, &folders, traffic).await;
    assert_eq!(
        (n, l),
        (10_000, locked),
        "Nextcloud: files and locked files"
    );
    let before = count(traffic);
    let started = Instant::now();
    source
        .read(&folders, chrono::Utc::now())
        .await
        .expect("read");
    row(
        "every folder listed (Depth 1 each)",
        before,
        started.elapsed(),
    );
    // The first poll lists everything; the next ones ask for etags.
    source
        .poll(&folders, chrono::Utc::now())
        .await
        .expect("poll");
    let before = count(traffic);
    let started = Instant::now();
    let polled = source
        .poll(&folders, chrono::Utc::now())
        .await
        .expect("poll");
    assert_eq!(polled.unchanged.len(), FOLDERS);
    row(
        "poll, nothing changed (Depth 0 per folder)",
        before,
        started.elapsed(),
    );
    nc.clear_lock(&file(3, 0));
    let before = count(traffic);
    let started = Instant::now();
    let polled = source
        .poll(&folders, chrono::Utc::now())
        .await
        .expect("poll");
    assert_eq!(polled.unchanged.len(), FOLDERS - 1);
    assert!(
        polled
            .files
            .iter()
            .any(|f| f.path == file(3, 0) && f.state == FileState::Unlocked)
    );
    row(
        "poll, one lock released (that folder listed)",
        before,
        started.elapsed(),
    );
}

async fn populate_dav_server(base: &str) {
    let client = client();
    for f in 0..FOLDERS {
        assert_eq!(
            send(
                &client,
                "MKCOL",
                format!("{base}{}", folder(f)),
                None,
                &[],
                String::new()
            )
            .await,
            201
        );
    }
    let jobs: Vec<String> = (0..FOLDERS)
        .flat_map(|f| (0..files_in(f)).map(move |i| file(f, i)))
        .collect();
    futures_util::future::join_all(jobs.chunks(500).map(|chunk| {
        let client = client.clone();
        let chunk = chunk.to_vec();
        async move {
            for path in chunk {
                send(
                    &client,
                    "PUT",
                    format!("{base}{path}"),
                    None,
                    &[],
                    "x".into(),
                )
                .await;
            }
        }
    }))
    .await;
}

/// Starts an in-process dav-server on its own runtime thread; returns its base URL.
fn dav_server(rt: &tokio::runtime::Runtime) -> String {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handler = dav_server::DavHandler::builder()
        .filesystem(dav_server::memfs::MemFs::new())
        .locksystem(dav_server::memls::MemLs::new())
        .strip_prefix("/dav")
        .build_handler();
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let handler = handler.clone();
                    async move { Ok::<_, std::convert::Infallible>(handler.handle(req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}/dav/")
}

/// Reads every server concurrently and returns how long the healthy ones took (the last of them to finish).
async fn healthy_done(configs: &[lockwatch::config::ServerConfig], healthy: &[bool]) -> Duration {
    let started = Instant::now();
    let finish = futures_util::future::join_all(configs.iter().map(|c| {
        let c = c.clone();
        async move {
            let (status, _) =
                lockwatch::status::read_server(c, Arc::new(MemoryStore::new()), chrono::Utc::now())
                    .await;
            (status.ok, started.elapsed())
        }
    }));
    let results = tokio::time::timeout(Duration::from_secs(60), finish)
        .await
        .expect("bounded");
    for ((ok, _), expected) in results.iter().zip(healthy) {
        assert_eq!(ok, expected, "healthy servers answer, black holes do not");
    }
    results
        .iter()
        .zip(healthy)
        .filter(|(_, h)| **h)
        .map(|((_, t), _)| *t)
        .max()
        .unwrap_or_default()
}

fn isolation(rt: &tokio::runtime::Runtime, servers_rt: &tokio::runtime::Runtime) {
    let bases: Vec<String> = (0..50).map(|_| dav_server(servers_rt)).collect();
    for base in &bases {
        rt.block_on(async {
            let client = client();
            send(
                &client,
                "MKCOL",
                format!("{base}docs/"),
                None,
                &[],
                String::new(),
            )
            .await;
            for i in 0..100 {
                send(
                    &client,
                    "PUT",
                    format!("{base}docs/d{i}.txt"),
                    None,
                    &[],
                    "x".into(),
                )
                .await;
            }
        });
    }
    // Black holes: accept and never answer.
    let holes: Vec<std::net::TcpListener> = (0..5)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let config_for = |base: &str| {
        Config::parse(&format!("[[servers]]\nname = \"s\"\nkind = \"webdav\"\nurl = \"{base}\"\ntimeout_secs = 10\nwatch = [\"docs/\"]\n"), "b", &|_| None)
            .expect("config")
            .servers
            .remove(0)
    };
    let all: Vec<_> = bases.iter().map(|b| config_for(b)).collect();
    let mut mixed: Vec<_> = bases[..45].iter().map(|b| config_for(b)).collect();
    mixed.extend(
        holes
            .iter()
            .map(|h| config_for(&format!("http://{}/dav/", h.local_addr().expect("addr")))),
    );
    let healthy_all = vec![true; 50];
    let mut healthy_mixed = vec![true; 45];
    healthy_mixed.extend([false; 5]);
    let mut clean = Vec::new();
    let mut with_holes = Vec::new();
    for _ in 0..5 {
        clean.push(rt.block_on(healthy_done(&all, &healthy_all)));
        with_holes.push(rt.block_on(healthy_done(&mixed, &healthy_mixed)));
    }
    let (clean, with_holes) = (median(clean), median(with_holes));
    println!(
        "| 50 healthy servers | {:.0} ms |",
        clean.as_secs_f64() * 1000.0
    );
    println!(
        "| 45 healthy + 5 that never answer (healthy ones done) | {:.0} ms |",
        with_holes.as_secs_f64() * 1000.0
    );
    println!(
        "| ratio | {:.2}× |",
        with_holes.as_secs_f64() / clean.as_secs_f64()
    );
    drop(holes);
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without it, and a
    // benchmark that takes minutes has no place in the test suite.
    if !std::env::args().any(|a| a == "--bench") {
        println!("poll: run with `cargo bench --bench poll`");
        return;
    }
    let traffic = Arc::new(Traffic::default());
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::TRACE)
            .with(Counter(traffic.clone())),
    )
    .expect("subscriber");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let servers_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");

    println!("## Poll cycle: 10 folders, 10,000 files, 1,000 locked\n");
    println!(
        "| server | approach | requests | bytes | median time | CPU per poll (this process) |"
    );
    println!("|---|---|---|---|---|---|");
    let dav = dav_server(&servers_rt);
    rt.block_on(populate_dav_server(&dav));
    rt.block_on(take_locks(&dav, None));
    rt.block_on(compare("dav-server (in-process)", &dav, "", &traffic));

    let server = apache::Apache::start();
    workload::populate_apache(&server, &rt);
    rt.block_on(compare(
        "Apache 2.4 mod_dav",
        &server.base_url(),
        "username = \"alice\"\npassword_env = \"PW\"\n",
        &traffic,
    ));
    drop(server);

    println!("\n## Nextcloud: polls list only the folders whose etag moved\n");
    println!("| server | poll | requests | bytes | time |");
    println!("|---|---|---|---|---|");
    rt.block_on(nextcloud_polls(&traffic));

    println!("\n## Isolation: time until the healthy servers are read\n");
    println!("| run | median time |");
    println!("|---|---|");
    isolation(&rt, &servers_rt);
}
