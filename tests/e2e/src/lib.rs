//! What the end-to-end tests share: the WebDAV server the app watches, tauri-driver and the WebDriver
//! session with the app, waiting for what the window shows, and screenshots.
//!
//! Needs a display, a D-Bus session, `tauri-driver` and `WebKitWebDriver`: `scripts/e2e` provides them
//! (Xvfb and `dbus-run-session`) and builds the app first.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dav_server::DavHandler;
use dav_server::memfs::MemFs;
use dav_server::memls::MemLs;
use fantoccini::{Client, ClientBuilder};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// How long anything the tests wait for may take.
pub const WAIT: Duration = Duration::from_secs(60);

/// The app binary: `LOCKWATCH_APP`, else the debug build. Fails when it was not built or there is no
/// display.
pub fn app_binary() -> PathBuf {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "run this through scripts/e2e (it provides the display)"
    );
    let app = std::env::var_os("LOCKWATCH_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/debug/lockwatch-app"));
    assert!(
        app.exists(),
        "{} is missing: build it with `cargo build -p lockwatch-app`",
        app.display()
    );
    app
}

/// The WebDAV server the app watches, under `/dav/`.
pub struct Dav {
    handler: DavHandler,
    /// Where the app reaches it (`http://127.0.0.1:PORT/dav/`).
    pub url: String,
}

impl Dav {
    pub async fn start() -> Dav {
        let handler = DavHandler::builder()
            .filesystem(MemFs::new())
            .locksystem(MemLs::new())
            .strip_prefix("/dav")
            .build_handler();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/dav/", listener.local_addr().expect("addr"));
        let served = handler.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handler = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let handler = handler.clone();
                        async move { Ok::<_, Infallible>(handler.handle(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Dav { handler, url }
    }

    /// Sends one request straight to the handler; returns the status and the `Lock-Token` header.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> (u16, Option<String>) {
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(format!("/dav/{}", path.replace(' ', "%20")));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let response = self
            .handler
            .handle(builder.body(Full::new(Bytes::from(body))).expect("request"))
            .await;
        let status = response.status().as_u16();
        let token = response
            .headers()
            .get("lock-token")
            .and_then(|v| v.to_str().ok())
            .map(|t| t.trim_matches(['<', '>']).to_owned());
        let _ = response.into_body().collect().await;
        (status, token)
    }

    pub async fn put(&self, path: &str) {
        let (status, _) = self
            .request("PUT", path, &[], format!("content of {path}\n"))
            .await;
        assert!(status == 201 || status == 204, "PUT {path}: {status}");
    }

    /// Locks `path` exclusively for an hour with `owner` as the owner text (XML-escaped here).
    pub async fn lock(&self, path: &str, owner: &str) -> String {
        let owner = owner
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>{owner}</D:owner></D:lockinfo>"#
        );
        let headers = [
            ("Timeout", "Second-3600"),
            ("Depth", "0"),
            ("Content-Type", "application/xml"),
        ];
        let (status, token) = self.request("LOCK", path, &headers, body).await;
        assert_eq!(status, 200, "LOCK {path}");
        token.expect("a lock token")
    }

    /// Tries to lock `path` as another client would (status, and the token when it worked).
    pub async fn lock_status(&self, path: &str) -> (u16, Option<String>) {
        let body = r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>probe</D:owner></D:lockinfo>"#;
        let headers = [
            ("Timeout", "Second-60"),
            ("Depth", "0"),
            ("Content-Type", "application/xml"),
        ];
        self.request("LOCK", path, &headers, body.to_owned()).await
    }

    pub async fn unlock(&self, path: &str, token: &str) {
        let header = format!("<{token}>");
        let (status, _) = self
            .request("UNLOCK", path, &[("Lock-Token", &header)], String::new())
            .await;
        assert_eq!(status, 204, "UNLOCK {path}");
    }
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// Where screenshots and logs are saved: `target/e2e-shots/`.
pub fn shots_dir() -> PathBuf {
    let dir = repo_root().join("target/e2e-shots");
    std::fs::create_dir_all(&dir).expect("shots dir");
    dir
}

/// A throw-away home for the app (with the `tmp` folder its `TMPDIR` points at) holding `lockwatch.toml`
/// with `config`: the home, and the config file's path.
pub fn home_with_config(config: &str) -> (tempfile::TempDir, PathBuf) {
    let home = tempfile::tempdir().expect("home");
    std::fs::create_dir_all(home.path().join("tmp")).expect("tmp");
    let path = home.path().join("lockwatch.toml");
    std::fs::write(&path, config).expect("config");
    (home, path)
}

/// The app's environment in `home`: a throw-away HOME and XDG directories (WebKit and the window state
/// plugin write there), its `TMPDIR`, and the config to read.
pub fn app_environment(home: &Path, config: &Path) -> [(&'static str, PathBuf); 6] {
    [
        ("HOME", home.to_owned()),
        ("XDG_CONFIG_HOME", home.join(".config")),
        ("XDG_DATA_HOME", home.join(".local/share")),
        ("XDG_CACHE_HOME", home.join(".cache")),
        ("TMPDIR", home.join("tmp")),
        ("LOCKWATCH_CONFIG", config.to_owned()),
    ]
}

/// Waits until `check` gives a value, failing after [`WAIT`] with `what`.
pub async fn until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The app's main window's X id when it is mapped (`xdotool`).
pub fn main_window_shown() -> Option<String> {
    let out = std::process::Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", "^Lockwatch$"])
        .output()
        .expect("xdotool (scripts/install-desktop-deps.sh installs it)");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .map(str::to_owned)
}

/// tauri-driver, killed when dropped (it ends the app and WebKitWebDriver with it).
pub struct Driver {
    child: tokio::process::Child,
}

impl Driver {
    pub async fn start(home: &Path, config: &Path) -> (Driver, u16) {
        let port = free_port();
        let native_port = free_port();
        let log = std::fs::File::create(shots_dir().join("tauri-driver.log")).expect("log file");
        // The app inherits this environment.
        let child = tokio::process::Command::new(
            std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into()),
        )
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .envs(app_environment(home, config))
        .env("LOCKWATCH_LOG", "info")
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect(
            "tauri-driver (install it with `cargo install tauri-driver --version ^2 --locked`)",
        );
        // Wait for the port before connecting: an early connection only produces a confusing backtrace.
        let start = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                start.elapsed() < WAIT,
                "tauri-driver did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (Driver { child }, port)
    }

    /// The app's process (started by WebKitWebDriver under tauri-driver) and every process it started,
    /// once the app runs.
    pub fn app_processes(&self, app: &Path) -> Vec<Process> {
        let Some(driver) = self.child.id() else {
            return Vec::new();
        };
        let below_driver = Process::tree(driver);
        let app = app.canonicalize().unwrap_or_else(|_| app.to_owned());
        let Some(root) = below_driver.iter().find(|p| {
            std::fs::read_link(format!("/proc/{}/exe", p.pid)).is_ok_and(|exe| exe == app)
        }) else {
            return Vec::new();
        };
        Process::tree(root.pid)
    }
}

/// A running process, as `/proc` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    /// Its name (`/proc/PID/comm`, at most 15 bytes: "WebKitWebProces").
    pub name: String,
}

impl Process {
    /// `root` and all its descendants that are alive (zombies, exited but not yet reaped, are left out).
    pub fn tree(root: u32) -> Vec<Process> {
        let mut children: std::collections::HashMap<u32, Vec<u32>> = Default::default();
        let mut alive = std::collections::HashMap::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ')'.
            let Some((head, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let mut fields = rest.split_whitespace();
            let state = fields.next().unwrap_or_default();
            let ppid = fields
                .next()
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(0);
            let name = head.split_once('(').map(|(_, n)| n).unwrap_or_default();
            children.entry(ppid).or_default().push(pid);
            if state != "Z" && state != "X" {
                alive.insert(pid, name.to_owned());
            }
        }
        let mut out = Vec::new();
        let mut todo = vec![root];
        while let Some(pid) = todo.pop() {
            if let Some(name) = alive.get(&pid) {
                out.push(Process {
                    pid,
                    name: name.clone(),
                });
            }
            todo.extend(children.get(&pid).into_iter().flatten());
        }
        out
    }

    /// Whether this process (the same pid, under the same name) is still alive.
    pub fn is_alive(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).is_ok_and(|stat| {
            stat.rsplit_once(')').is_some_and(|(head, rest)| {
                head.ends_with(&format!("({}", self.name))
                    && !matches!(rest.split_whitespace().next(), Some("Z" | "X"))
            })
        })
    }
}

/// A WebDriver session with the app through tauri-driver on `port`: it starts the app.
pub async fn connect(port: u16, app: &Path) -> Client {
    let capabilities = serde_json::json!({
        "browserName": "wry",
        "tauri:options": { "application": app },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    ClientBuilder::native()
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session with the app")
}

/// Polls `check` until it returns `Some`. On time-out it saves what the window showed (screenshot and
/// text, as `timeout.png` / `timeout.txt`) and fails with `what`.
pub async fn eventually<T, F, Fut>(client: &Client, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if start.elapsed() > WAIT {
            let dir = shots_dir();
            if let Ok(png) = client.screenshot().await {
                let _ = std::fs::write(dir.join("timeout.png"), png);
            }
            if let Ok(text) = client
                .execute("return document.body.innerText", vec![])
                .await
            {
                let _ = std::fs::write(dir.join("timeout.txt"), text.as_str().unwrap_or_default());
            }
            panic!("timed out waiting for {what} (see target/e2e-shots/timeout.*)");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The rendered text (`innerText`) of one cell (`.col-state`, `.col-holder`, ...) of `name`'s row. Cells are
/// read one by one: a table's text joins them without separators.
pub async fn cell(client: &Client, name: &str, class: &str) -> Option<String> {
    let script = "const [name, cls] = arguments;
        for (const row of document.querySelectorAll('tr.file-row')) {
            if (row.querySelector('.file-name')?.textContent === name) return row.querySelector(cls)?.innerText ?? null;
        }
        return null;";
    let value = client
        .execute(
            script,
            vec![serde_json::json!(name), serde_json::json!(class)],
        )
        .await
        .ok()?;
    value.as_str().map(|text| text.trim().to_owned())
}

/// Waits until the lock table is on screen (not "Loading…").
pub async fn table_shown(client: &Client) {
    eventually(client, "the lock table", || async {
        let shown = client
            .execute(
                "return !!document.querySelector('table.lock-table tr.file-row') && !document.querySelector('.loading')",
                vec![],
            )
            .await
            .ok()?;
        (shown == serde_json::json!(true)).then_some(())
    })
    .await;
}

/// Saves the webview's screenshot and the whole X screen as `<name>.png` / `<name>-screen.png`.
pub async fn screenshots(client: &Client, name: &str) {
    let dir = shots_dir();
    // The webview's own picture doubles as "the app is alive": a dead app fails here, not with a black image.
    let png = client
        .screenshot()
        .await
        .expect("the app answers (it did not die)");
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    let status = std::process::Command::new("import")
        .args(["-window", "root"])
        .arg(dir.join(format!("{name}-screen.png")))
        .stderr(Stdio::inherit())
        .status()
        .expect("ImageMagick's import");
    assert!(status.success(), "import -window root failed");
}
