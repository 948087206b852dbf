//! Test harness: real servers on 127.0.0.1, started and stopped by the tests themselves.
//!
//! - [`apache`]: Apache 2.4 mod_dav (a Debian package, started with its own config per test);
//! - [`wsgidav`]: WsgiDAV (PyPI, in the repository's `.venv`);
//! - [`server_process`]: how those two are started on a free port, waited for and stopped;
//! - [`DavServer`]: the `dav-server` crate in-process;
//! - [`nextcloud`]: an emulator of Nextcloud + files_lock written from the protocol notes;
//! - [`PlainHttp`]: a web server that does not speak WebDAV at all.
//!
//! [`davops`] sets up server state (files, other users' locks) with raw requests, independently of the code
//! under test. Nothing here needs the internet.

#![allow(dead_code)]

pub mod apache;
pub mod davops;
pub mod hostile;
pub mod nextcloud;
pub mod notifications;
pub mod server_process;
pub mod wopi;
pub mod wsgidav;

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lockwatch::config::Config;
use lockwatch::model::StatusReport;
use lockwatch::secrets::MemoryStore;

/// The test users of the WebDAV servers: (user, password).
pub const USERS: &[(&str, &str)] = &[("alice", "alice-pw-1"), ("bob", "bob-pw-2")];
/// alice: the Lockwatch user in the tests.
pub const ALICE: (&str, &str) = ("alice", "alice-pw-1");
/// bob: the colleague who holds locks.
pub const BOB: (&str, &str) = ("bob", "bob-pw-2");

/// A server with a thread and runtime of its own, so tests of any flavour (and CLI subprocesses) can use it.
struct Background {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves `handler` over HTTP/1 on 127.0.0.1 until dropped; returns the guard and the address.
fn serve<F, Fut>(handler: F) -> (Background, SocketAddr)
where
    F: Fn(hyper::Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = hyper::Response<Full<Bytes>>> + Send + 'static,
{
    let std_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            loop {
                tokio::select! {
                    _ = &mut rx => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let handler = handler.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |req| {
                                let handler = handler.clone();
                                async move { Ok::<_, Infallible>(handler(req).await) }
                            });
                            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                        });
                    }
                }
            }
        });
    });
    (
        Background {
            shutdown: Some(tx),
            thread: Some(thread),
        },
        addr,
    )
}

/// The `dav-server` crate (MemFs + MemLs) in-process at `/dav/`. It has no authentication of its own.
pub struct DavServer {
    _guard: Background,
    addr: SocketAddr,
}

impl DavServer {
    /// Starts an empty server.
    pub fn start() -> DavServer {
        let handler = dav_server::DavHandler::builder()
            .filesystem(dav_server::memfs::MemFs::new())
            .locksystem(dav_server::memls::MemLs::new())
            .strip_prefix("/dav")
            .build_handler();
        let (guard, addr) = serve(move |req: hyper::Request<hyper::body::Incoming>| {
            let handler = handler.clone();
            async move {
                use http_body_util::BodyExt;
                let response = handler.handle(req).await;
                let (parts, body) = response.into_parts();
                let bytes = body
                    .collect()
                    .await
                    .map(|c| c.to_bytes())
                    .unwrap_or_default();
                hyper::Response::from_parts(parts, Full::new(bytes))
            }
        });
        DavServer {
            _guard: guard,
            addr,
        }
    }

    /// `http://127.0.0.1:PORT/dav/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/dav/", self.addr)
    }
}

/// A web server that answers every request with a small HTML page and no `DAV` header.
pub struct PlainHttp {
    _guard: Background,
    addr: SocketAddr,
}

impl PlainHttp {
    /// Starts it.
    pub fn start() -> PlainHttp {
        let (guard, addr) = serve(|_req| async {
            hyper::Response::builder()
                .status(200)
                .header("Content-Type", "text/html")
                .body(Full::new(Bytes::from_static(
                    b"<html><body>Welcome to our intranet</body></html>",
                )))
                .unwrap()
        });
        PlainHttp {
            _guard: guard,
            addr,
        }
    }

    /// `http://127.0.0.1:PORT/dav/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/dav/", self.addr)
    }
}

/// A loopback port with nothing listening on it.
pub fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Parses config text; `PW_*` variables resolve to the test users' passwords, `WRONG_PW` to a wrong one.
pub fn config(text: &str) -> Config {
    Config::parse(text, "test.toml", &test_env)
        .unwrap_or_else(|err| panic!("bad test config: {err}\n{text}"))
}

fn test_env(var: &str) -> Option<String> {
    match var {
        "PW_ALICE" => Some(ALICE.1.to_owned()),
        "PW_BOB" => Some(BOB.1.to_owned()),
        // The Nextcloud emulator's user "carol id".
        "PW_CAROL" => Some("carol-pw-3".to_owned()),
        "WRONG_PW" => Some("not-the-password".to_owned()),
        _ => None,
    }
}

/// Reads every server of `config` the way `lockwatch status` does.
pub async fn status(config: &Config) -> StatusReport {
    lockwatch::status::collect(
        config,
        &[],
        Arc::new(MemoryStore::new()),
        chrono::Utc::now(),
    )
    .await
}

/// The entry for `path` in `report` (panics with the report when missing).
pub fn file<'r>(report: &'r StatusReport, path: &str) -> &'r lockwatch::model::FileEntry {
    report
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| {
            panic!(
                "no entry for {path} in {:#?}",
                report.files.iter().map(|f| &f.path).collect::<Vec<_>>()
            )
        })
}

/// Writes `text` to `dir/config.toml`.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the `lockwatch` binary with `args` and extra environment, isolated from the user's own config and
/// keyring (HOME and XDG dirs point into `home`).
pub async fn lockwatch(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = lockwatch_command(home, args);
    cmd.env("COLUMNS", "120");
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("lockwatch did not finish within 60 s")
        .unwrap()
}

/// The `lockwatch` binary with `args`, isolated in `home` (config, data, keyring-free environment), killed
/// when dropped.
pub fn lockwatch_command(home: &Path, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_lockwatch"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .kill_on_drop(true);
    cmd
}

/// Reads `lockwatch watch --json` lines until one matches, failing after `within` (or when the watch
/// ends) with every line seen.
pub async fn wait_for_event(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    within: std::time::Duration,
    what: &str,
    matches: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no {what} within {within:?}; saw {seen:#?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("lockwatch watch ended before {what}; saw {seen:#?}"));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        if matches(&value) {
            return value;
        }
        seen.push(value);
    }
}

/// stdout and stderr of a finished command, for assertion messages.
pub fn both(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A real HTTP server that records every request body and answers with a fixed status: the other end of
/// a webhook.
pub struct Receiver {
    _guard: Background,
    addr: SocketAddr,
    bodies: Received,
}

/// What a [`Receiver`] got: each request's `Authorization` header and body.
type Received = Arc<std::sync::Mutex<Vec<(Option<String>, Vec<u8>)>>>;

impl Receiver {
    /// Starts one that answers `status`.
    pub fn start(status: u16) -> Receiver {
        let bodies: Received = Arc::default();
        let seen = bodies.clone();
        let (guard, addr) = serve(move |req: hyper::Request<hyper::body::Incoming>| {
            let seen = seen.clone();
            async move {
                use http_body_util::BodyExt;
                let auth = req
                    .headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|c| c.to_bytes().to_vec())
                    .unwrap_or_default();
                seen.lock().unwrap().push((auth, body));
                hyper::Response::builder()
                    .status(status)
                    .body(Full::new(Bytes::from_static(b"ok")))
                    .unwrap()
            }
        });
        Receiver {
            _guard: guard,
            addr,
            bodies,
        }
    }

    /// `http://127.0.0.1:PORT/hooks/T000/B000/secret`.
    pub fn url(&self) -> String {
        format!("http://{}/hooks/T000/B000/secret", self.addr)
    }

    /// The JSON bodies received so far.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_slice(b).unwrap())
            .collect()
    }

    /// Whether any request carried an `Authorization` header.
    pub fn saw_credentials(&self) -> bool {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .any(|(auth, _)| auth.is_some())
    }
}
