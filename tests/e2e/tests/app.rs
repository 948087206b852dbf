//! The desktop app as a person sees it: the real binary, its real window, a real WebDAV server.
//!
//! Needs a display, a D-Bus session, `tauri-driver` and `WebKitWebDriver`: `scripts/e2e` provides them
//! (Xvfb and `dbus-run-session`) and builds the app first. The test starts an in-memory WebDAV server
//! (dav-server, the crate behind the engine's demo), takes locks on it the way a desktop client does
//! (`LOCK` with an owner), points the app's config at it, and drives the window over WebDriver: the
//! table shows who holds what (a hostile owner stays text), a release of a wanted file frees the row and
//! reaches a notification server on the session bus, Lock/Unlock through
//! the row's buttons really lock the file on the server, and the bell saves the file as wanted in the
//! config file, and "Start when I log in" writes and removes the autostart entry.
//! Screenshots go to `target/e2e-shots/`: the webview's own and the whole X screen.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dav_server::DavHandler;
use dav_server::memfs::MemFs;
use dav_server::memls::MemLs;
use fantoccini::{Client, ClientBuilder, Locator};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A notification server on the test's D-Bus session (`scripts/e2e` runs everything inside
/// `dbus-run-session`): the engine tests' listener, which prints every notification as a JSON line.
struct Notifications {
    _child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl Notifications {
    async fn start() -> Notifications {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new("/usr/bin/python3")
            .arg(repo_root().join("tests/support/notifications.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 for the notification server");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("the notification server did not start")
            .expect("read")
            .expect("the notification server exited (python3-dbus / python3-gi missing?)");
        assert!(ready.contains("ready"), "{ready}");
        Notifications {
            _child: child,
            lines,
        }
    }

    async fn next(&mut self) -> serde_json::Value {
        let line = tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .expect("no desktop notification within a minute")
            .expect("read")
            .expect("the notification server exited");
        serde_json::from_str(&line).expect("JSON")
    }
}

/// What a hostile server (or colleague) may put in a lock's owner.
const HOSTILE_OWNER: &str = "<img src=x onerror=alert(1)>";
const WAIT: Duration = Duration::from_secs(60);

/// The WebDAV server the app watches, under `/dav/`.
struct Dav {
    handler: DavHandler,
    url: String,
}

impl Dav {
    async fn start() -> Dav {
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
    async fn request(
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

    async fn put(&self, path: &str) {
        let (status, _) = self
            .request("PUT", path, &[], format!("content of {path}\n"))
            .await;
        assert!(status == 201 || status == 204, "PUT {path}: {status}");
    }

    /// Locks `path` exclusively for an hour with `owner` as the owner text (XML-escaped here).
    async fn lock(&self, path: &str, owner: &str) -> String {
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
    async fn lock_status(&self, path: &str) -> (u16, Option<String>) {
        let body = r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>probe</D:owner></D:lockinfo>"#;
        let headers = [
            ("Timeout", "Second-60"),
            ("Depth", "0"),
            ("Content-Type", "application/xml"),
        ];
        self.request("LOCK", path, &headers, body.to_owned()).await
    }

    async fn unlock(&self, path: &str, token: &str) {
        let header = format!("<{token}>");
        let (status, _) = self
            .request("UNLOCK", path, &[("Lock-Token", &header)], String::new())
            .await;
        assert_eq!(status, 204, "UNLOCK {path}");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

fn shots_dir() -> PathBuf {
    let dir = repo_root().join("target/e2e-shots");
    std::fs::create_dir_all(&dir).expect("shots dir");
    dir
}

/// tauri-driver, killed when dropped (it ends the app and WebKitWebDriver with it).
struct Driver {
    _child: tokio::process::Child,
}

impl Driver {
    async fn start(home: &Path, config: &Path) -> (Driver, u16) {
        let port = free_port();
        let native_port = free_port();
        let log = std::fs::File::create(shots_dir().join("tauri-driver.log")).expect("log file");
        // The app inherits this environment: a throw-away HOME and XDG directories (WebKit and the window
        // state plugin write there), and the config to read.
        let child = tokio::process::Command::new(
            std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into()),
        )
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("TMPDIR", home.join("tmp"))
        .env("LOCKWATCH_CONFIG", config)
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
        (Driver { _child: child }, port)
    }
}

async fn connect(port: u16, app: &Path) -> Client {
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
async fn eventually<T, F, Fut>(client: &Client, what: &str, mut check: F) -> T
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
async fn cell(client: &Client, name: &str, class: &str) -> Option<String> {
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

/// A button in `name`'s row: by its text (`Lock`, `Unlock`) or its accessible label (the bell).
async fn row_button(client: &Client, name: &str, button: &str) -> fantoccini::elements::Element {
    let xpath = format!(
        "//tr[contains(@class, 'file-row')][.//*[contains(@class, 'file-name') and text() = '{name}']]//button[normalize-space(text()) = '{button}' or @aria-label = '{button}']"
    );
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|err| panic!("the {button} button of {name}: {err}"))
}

/// Waits until the lock table is on screen (not "Loading…").
async fn table_shown(client: &Client) {
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
async fn screenshots(client: &Client, name: &str) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_shows_locks_and_its_actions_reach_the_server() {
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

    // A WebDAV server with a colleague's lock, a hostile lock owner, and a free file the user wants.
    let dav = Dav::start().await;
    for path in ["Budget 2026.xlsx", "Minutes.odt", "Plan.pptx"] {
        dav.put(path).await;
    }
    let bob = dav.lock("Budget 2026.xlsx", "Bob Builder").await;
    dav.lock("Minutes.odt", HOSTILE_OWNER).await;

    let home = tempfile::tempdir().expect("home");
    std::fs::create_dir_all(home.path().join("tmp")).expect("tmp");
    let config = home.path().join("lockwatch.toml");
    std::fs::write(
        &config,
        format!(
            "poll_interval_secs = 2\n\n# The team's server\n[[servers]]\nname = \"team\"\nkind = \"webdav\"\nurl = \"{}\"\nwatch = [\"Budget 2026.xlsx\", \"Minutes.odt\", \"Plan.pptx\"]\nwanted = [\"Budget 2026.xlsx\"]\n",
            dav.url
        ),
    )
    .expect("config");

    let (_driver, port) = Driver::start(home.path(), &config).await;
    let client = connect(port, &app).await;
    table_shown(&client).await;

    // The table shows the colleague's lock.
    let state = eventually(&client, "Budget 2026.xlsx locked by Bob", || async {
        let state = cell(&client, "Budget 2026.xlsx", ".col-state").await?;
        let holder = cell(&client, "Budget 2026.xlsx", ".col-holder").await?;
        (holder == "Bob Builder").then_some(state)
    })
    .await;
    assert_eq!(state, "Locked");
    assert_eq!(
        cell(&client, "Plan.pptx", ".col-state").await.as_deref(),
        Some("Free")
    );
    assert_eq!(client.title().await.expect("title"), "Lockwatch");
    let status = client
        .find(Locator::Css("footer.statusbar"))
        .await
        .expect("status bar")
        .text()
        .await
        .expect("text");
    assert!(status.contains("3 files · 2 locked · 1 wanted"), "{status}");
    assert!(
        client
            .find_all(Locator::Css(".banner-demo"))
            .await
            .expect("query")
            .is_empty(),
        "not the demo"
    );

    // The hostile owner is literal text, and no element was made from it.
    let holder = cell(&client, "Minutes.odt", ".col-holder")
        .await
        .expect("holder cell");
    // Compared without whitespace: the engine's owner parser (src/protocol/multistatus.rs, push_text)
    // currently adds a space after every text piece, and quick-xml splits `&lt;` into its own piece, so
    // the owner reads "< img … >". Tighten this to exact equality once the engine keeps entity text
    // contiguous.
    let squeeze = |s: &str| s.split_whitespace().collect::<String>();
    assert_eq!(squeeze(&holder), squeeze(HOSTILE_OWNER), "{holder:?}");
    assert!(
        holder.starts_with('<') && holder.ends_with('>'),
        "{holder:?}"
    );
    let images = client
        .execute("return document.querySelectorAll('img').length", vec![])
        .await
        .expect("script");
    assert_eq!(
        images,
        serde_json::json!(0),
        "an <img> was created from server text"
    );
    screenshots(&client, "01-locks").await;

    // Bob releases the wanted file: the row frees without any action in the window, and the desktop
    // says so.
    let mut notifications = Notifications::start().await;
    dav.unlock("Budget 2026.xlsx", &bob).await;
    eventually(&client, "Budget 2026.xlsx to become free", || async {
        (cell(&client, "Budget 2026.xlsx", ".col-state").await? == "Free").then_some(())
    })
    .await;
    screenshots(&client, "02-freed").await;
    let notice = notifications.next().await;
    assert_eq!(notice["app_name"], "Lockwatch", "{notice}");
    assert_eq!(notice["summary"], "Budget 2026.xlsx is free", "{notice}");
    let body = notice["body"].as_str().expect("body");
    assert!(body.starts_with("Bob Builder released it at "), "{body}");

    // Lock and Unlock through the row's buttons: the lock is really on the server, and marked as yours.
    row_button(&client, "Plan.pptx", "Lock")
        .await
        .click()
        .await
        .expect("click Lock");
    let holder = eventually(&client, "Plan.pptx locked by you", || async {
        let state = cell(&client, "Plan.pptx", ".col-state").await?;
        (state == "Locked by you").then_some(())?;
        cell(&client, "Plan.pptx", ".col-holder").await
    })
    .await;
    assert!(
        holder.ends_with("you"),
        "the holder cell has the 'you' badge: {holder:?}"
    );
    let (status, _) = dav.lock_status("Plan.pptx").await;
    assert_eq!(status, 423, "another client cannot lock Plan.pptx now");
    screenshots(&client, "03-locked-by-you").await;
    row_button(&client, "Plan.pptx", "Unlock")
        .await
        .click()
        .await
        .expect("click Unlock");
    eventually(&client, "Plan.pptx free again", || async {
        (cell(&client, "Plan.pptx", ".col-state").await? == "Free").then_some(())
    })
    .await;
    let (status, token) = dav.lock_status("Plan.pptx").await;
    assert_eq!(status, 200, "Plan.pptx is free on the server again");
    dav.unlock("Plan.pptx", &token.expect("token")).await;

    // Want through the bell: pressed at once, and saved in the config file with the rest kept.
    let bell = row_button(&client, "Plan.pptx", "Tell me when Plan.pptx is free").await;
    assert_eq!(
        bell.attr("aria-pressed").await.expect("attr").as_deref(),
        Some("false")
    );
    bell.click().await.expect("click the bell");
    eventually(&client, "the bell pressed", || async {
        let bell = row_button(&client, "Plan.pptx", "Tell me when Plan.pptx is free").await;
        (bell.attr("aria-pressed").await.ok()?.as_deref() == Some("true")).then_some(())
    })
    .await;
    let saved = eventually(&client, "Plan.pptx wanted in the config file", || async {
        let text = std::fs::read_to_string(&config).ok()?;
        text.contains("\"Plan.pptx\"]").then_some(text)
    })
    .await;
    assert!(
        saved.contains("# The team's server"),
        "the comment survived: {saved}"
    );
    let status = client
        .find(Locator::Css("footer.statusbar"))
        .await
        .expect("status bar")
        .text()
        .await
        .expect("text");
    assert!(status.contains("2 wanted"), "{status}");
    screenshots(&client, "04-wanted").await;

    // Force unlock asks first, with the engine's warning about the holder's unsaved work.
    row_button(&client, "Minutes.odt", "More actions for Minutes.odt")
        .await
        .click()
        .await
        .expect("open the row menu");
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(
            "//*[@role='menu']//*[@role='menuitem'][contains(., 'Force unlock')]",
        ))
        .await
        .expect("a Force unlock item (the server shows lock tokens)")
        .click()
        .await
        .expect("choose Force unlock");
    let dialog = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[role=alertdialog] [data-source=engine]"))
        .await
        .expect("the engine's warning in the confirmation");
    let warning = dialog.text().await.expect("text");
    assert!(warning.contains("may lose unsaved work"), "{warning}");
    // Let WebKit paint the warning before the picture is taken.
    tokio::time::sleep(Duration::from_millis(500)).await;
    screenshots(&client, "05-force-unlock-confirm").await;
    client
        .find(Locator::XPath(
            "//*[@role='alertdialog']//button[text()='Cancel']",
        ))
        .await
        .expect("Cancel")
        .click()
        .await
        .expect("cancel");
    assert_eq!(
        cell(&client, "Minutes.odt", ".col-state").await.as_deref(),
        Some("Locked"),
        "cancelling changed nothing"
    );

    // The servers view tests the connection and shows what the server supports. The action toasts from
    // above would cover the form's buttons for a few more seconds: close them as a person would.
    client
        .execute(
            "document.querySelectorAll('.toast button[aria-label=Dismiss]').forEach(b => b.click())",
            vec![],
        )
        .await
        .expect("dismiss the toasts");
    client
        .find(Locator::Css("#tab-servers"))
        .await
        .expect("Servers tab")
        .click()
        .await
        .expect("open Servers");
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath("//button[text()='Test connection']"))
        .await
        .expect("Test connection")
        .click()
        .await
        .expect("test");
    let result = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(".test-result"))
        .await
        .expect("a test result")
        .text()
        .await
        .expect("text");
    assert!(result.contains("Connected. Detected WebDAV"), "{result}");
    screenshots(&client, "06-servers").await;

    // Start at login: the checkbox writes a desktop session's autostart entry that starts the app in
    // the tray, and unticking it removes the entry.
    let autostart_dir = home.path().join(".config/autostart");
    let entries = || -> Vec<PathBuf> {
        std::fs::read_dir(&autostart_dir)
            .map(|dir| dir.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    assert!(entries().is_empty(), "{:?}", entries());
    let checkbox = Locator::XPath("//label[contains(., 'Start when I log in')]/input");
    client
        .find(checkbox)
        .await
        .expect("the Start at login checkbox")
        .click()
        .await
        .expect("tick it");
    let entry = eventually(&client, "an autostart entry", || async {
        let path = entries()
            .into_iter()
            .find(|p| p.extension().is_some_and(|e| e == "desktop"))?;
        std::fs::read_to_string(path).ok()
    })
    .await;
    let exec = entry
        .lines()
        .find(|l| l.starts_with("Exec="))
        .unwrap_or_else(|| panic!("no Exec line: {entry}"));
    assert!(
        exec.contains("lockwatch-app") && exec.contains("--autostart"),
        "{entry}"
    );
    client
        .find(checkbox)
        .await
        .expect("the checkbox")
        .click()
        .await
        .expect("untick it");
    eventually(&client, "the autostart entry removed", || async {
        entries().is_empty().then_some(())
    })
    .await;

    client.close().await.expect("end the session");
}
