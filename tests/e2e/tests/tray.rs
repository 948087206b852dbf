//! The tray icon as a person uses it: the real app docked in a real system tray on the test's display.
//!
//! `trayer` (an XEmbed system tray) runs on the Xvfb display that `scripts/e2e` provides. With no
//! StatusNotifier host on the session bus, the app's tray (libayatana-appindicator) shows a classic
//! XEmbed icon, which docks in `trayer` as on a desktop without an appindicator panel. The test clicks
//! that icon with `xdotool`, walks the menu that pops up with the keyboard, and checks each entry by its
//! effect in the window (over WebDriver) and on the X screen: Pause watching; closing the window
//! destroying it (its web process exits, WebDriver's session has no window left) while the app stays in
//! the tray; Open creating it again at the same size and place (a new webview, which the same WebDriver
//! session sees as a new window to switch to); the wanted file's entry revealing its row, in the open
//! window and in one it opens; a second launch opening the window in the running app; and the icon
//! turning into the "free" padlock when a colleague releases the wanted file (compared pixel by pixel). Then a StatusNotifier host appears on the bus, as when a panel starts: the app moves its icon
//! there, and the test reads the menu's labels and states through com.canonical.dbusmenu and chooses Quit
//! the way GNOME's and KDE's panels do. Screenshots of the whole X screen, the icon and the menu go to
//! `target/e2e-shots/tray-*.png`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::Client;
use fantoccini::wd::WindowHandle;
use lockwatch_e2e::{
    Dav, Driver, Process, WAIT, app_binary, app_environment, cell, connect, eventually,
    home_with_config, main_window_shown, repo_root, shots_dir, table_shown, until,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

/// The name libayatana-appindicator gives the icon's X window (its WM_CLASS): tray-icon names the
/// indicator "tray-icon tray app <tray id>", and the app's tray id is "main".
const ICON_CLASS: &str = "tray-icon tray app main";

/// Runs a command that must succeed and returns its standard output.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|err| {
            panic!("{program}: {err} (scripts/install-desktop-deps.sh installs it)")
        });
    assert!(out.status.success(), "{program} {args:?}: {}", out.status);
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// X windows matching `xdotool search` arguments (empty when none).
fn search(args: &[&str]) -> Vec<String> {
    let out = Command::new("xdotool")
        .arg("search")
        .args(args)
        .output()
        .expect("xdotool (scripts/install-desktop-deps.sh installs it)");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// A window's place on the screen and whether it is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    x: i32,
    y: i32,
    width: u32,
    height: u32,
    viewable: bool,
}

impl Geometry {
    fn of(window: &str) -> Option<Geometry> {
        let out = Command::new("xwininfo")
            .args(["-id", window])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| -> Option<i64> {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
        };
        Some(Geometry {
            x: field("Absolute upper-left X:")? as i32,
            y: field("Absolute upper-left Y:")? as i32,
            width: field("Width:")? as u32,
            height: field("Height:")? as u32,
            viewable: text.contains("Map State: IsViewable"),
        })
    }

    fn crop(&self) -> String {
        format!("{}x{}+{}+{}", self.width, self.height, self.x, self.y)
    }

    fn center(&self) -> (i32, i32) {
        (
            self.x + self.width as i32 / 2,
            self.y + self.height as i32 / 2,
        )
    }
}

/// The whole X screen as `tray-<name>.png`. With the window open, the webview is asked for its own
/// picture first: that makes WebKit paint what the page already shows (on Xvfb the X window otherwise
/// lags behind the DOM that WebDriver reads, up to a blank window just after start).
async fn screen(window: Option<&Client>, name: &str) -> PathBuf {
    if let Some(client) = window {
        client
            .screenshot()
            .await
            .expect("the app answers (it did not die)");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let path = shots_dir().join(format!("tray-{name}.png"));
    run("import", &["-window", "root", path.to_str().expect("path")]);
    path
}

/// Cuts `area` out of a screenshot into `tray-<name>.png` and returns its RGB pixels.
fn crop(screen: &Path, area: Geometry, name: &str) -> Vec<u8> {
    let path = shots_dir().join(format!("tray-{name}.png"));
    let pixels = Command::new("/usr/bin/convert")
        .arg(screen)
        .args(["-crop", &area.crop(), "+repage", "-write"])
        .arg(&path)
        .args(["-depth", "8", "rgb:-"])
        .stderr(Stdio::inherit())
        .output()
        .expect("ImageMagick's convert");
    assert!(pixels.status.success(), "convert -crop");
    assert_eq!(
        pixels.stdout.len(),
        (area.width * area.height * 3) as usize,
        "RGB pixels of {name}"
    );
    pixels.stdout
}

/// How many pixels are clearly green (the "free" padlock's colour).
fn green(pixels: &[u8]) -> usize {
    pixels
        .chunks_exact(3)
        .filter(|p| {
            let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
            g > r + 40 && g > b + 40
        })
        .count()
}

/// The system tray: `trayer` at the top right of the screen, killed when dropped.
struct SystemTray {
    _child: tokio::process::Child,
}

impl SystemTray {
    async fn start() -> SystemTray {
        let log = std::fs::File::create(shots_dir().join("trayer.log")).expect("log file");
        let child = tokio::process::Command::new("trayer")
            .args([
                "--edge",
                "top",
                "--align",
                "right",
                "--widthtype",
                "request",
                "--height",
                "32",
                "--SetDockType",
                "false",
                "--SetPartialStrut",
                "false",
                "--transparent",
                "false",
            ])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("trayer (scripts/install-desktop-deps.sh installs it)");
        until("trayer's panel", || {
            (!search(&["--class", "trayer"]).is_empty()).then_some(())
        })
        .await;
        SystemTray { _child: child }
    }
}

/// The docked icon's window, once it is on screen.
async fn docked_icon() -> (String, Geometry) {
    until("the Lockwatch icon docked in the tray", || {
        search(&["--classname", ICON_CLASS])
            .into_iter()
            .find_map(|w| {
                let g = Geometry::of(&w)?;
                (g.viewable && g.width > 1 && g.height > 1).then_some((w, g))
            })
    })
    .await
}

/// Clicks the tray icon and waits for its menu: a newly mapped window of the app other than the main
/// window. Returns the menu's geometry.
async fn open_menu(icon: Geometry, button: &str) -> Geometry {
    let before = search(&["--onlyvisible", "--class", "lockwatch-app"]);
    let (x, y) = icon.center();
    run(
        "xdotool",
        &["mousemove", &x.to_string(), &y.to_string(), "click", button],
    );
    let menu = until("the tray menu to pop up", || {
        search(&["--onlyvisible", "--class", "lockwatch-app"])
            .into_iter()
            .filter(|w| !before.contains(w))
            .find_map(|w| Geometry::of(&w).filter(|g| g.viewable && g.height > 40))
    })
    .await;
    // Let GTK paint the entries before the picture is taken.
    tokio::time::sleep(Duration::from_millis(300)).await;
    menu
}

/// Chooses the `n`-th enabled entry of the open menu with the keyboard (Down skips separators and
/// disabled entries, as for a person).
fn choose(n: usize) {
    let mut keys = vec!["Down"; n];
    keys.push("Return");
    let mut args = vec!["key", "--delay", "80"];
    args.extend(keys);
    run("xdotool", &args);
}

async fn script(client: &Client, js: &str) -> serde_json::Value {
    client
        .execute(js, vec![])
        .await
        .expect("the app answers (it did not die)")
}

/// A StatusNotifier host on the session bus (`tests/support/status_notifier_host.py`).
struct NotifierHost {
    child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl NotifierHost {
    async fn start() -> NotifierHost {
        let mut child = tokio::process::Command::new("/usr/bin/python3")
            .arg(repo_root().join("tests/support/status_notifier_host.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 for the StatusNotifier host");
        let lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut host = NotifierHost { child, lines };
        let ready = host.next().await;
        assert_eq!(ready["ready"], true, "{ready}");
        host
    }

    async fn next(&mut self) -> serde_json::Value {
        let line = tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .expect("nothing from the StatusNotifier host within a minute")
            .expect("read")
            .expect("the StatusNotifier host exited (python3-dbus / python3-gi missing?)");
        let value: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        assert!(value.get("error").is_none(), "{value}");
        value
    }

    /// Sends a command and returns the first answer that has `key`.
    async fn ask(&mut self, command: serde_json::Value, key: &str) -> serde_json::Value {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin
            .write_all(format!("{command}\n").as_bytes())
            .await
            .expect("write");
        loop {
            let answer = self.next().await;
            if answer.get(key).is_some() {
                return answer;
            }
        }
    }
}

/// The file name of the table row that has the keyboard focus, once one has it.
async fn focused_row(client: &Client) -> String {
    eventually(client, "the wanted file's row focused", || async {
        let name = script(
            client,
            "return document.activeElement?.closest('tr.file-row')?.querySelector('.file-name')?.textContent ?? null",
        )
        .await;
        name.as_str().map(str::to_owned)
    })
    .await
}

/// Closes the main window as a window manager does and checks that it is gone with its web process:
/// WebDriver's session has no window left, and the app runs on with WebKit's network process only.
async fn close_main_window(driver: &Driver, app: &Path, client: &Client, shot: &str) {
    let open = driver.app_processes(app);
    let web: Vec<Process> = open
        .iter()
        .filter(|p| p.name.starts_with("WebKitWebProces"))
        .cloned()
        .collect();
    assert_eq!(web.len(), 1, "one web process renders the window: {open:?}");
    let window = main_window_shown().expect("the main window is mapped");
    run(
        "/usr/bin/python3",
        &[
            repo_root()
                .join("tests/support/close_window.py")
                .to_str()
                .expect("path"),
            &window,
        ],
    );
    until("the window to close", || {
        main_window_shown().is_none().then_some(())
    })
    .await;
    until("the web process to exit", || {
        web.iter().all(|p| !p.is_alive()).then_some(())
    })
    .await;
    assert_eq!(
        client.windows().await.expect("the session's windows"),
        [],
        "the webview is destroyed, not hidden"
    );
    let closed = driver.app_processes(app);
    let names: Vec<&str> = closed.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["lockwatch-app", "WebKitNetworkPr"],
        "the app runs on with the network process only: {closed:?}"
    );
    println!("tray: window open {open:?}, closed {closed:?}");
    screen(None, shot).await;
}

/// Waits for a WebDriver window other than `old` (a new webview of the app) and makes it the current one.
async fn switch_to_new_window(client: &Client, old: &WindowHandle) -> WindowHandle {
    let handle = eventually(client, "a new window in the WebDriver session", || async {
        let handles = client.windows().await.ok()?;
        match handles.as_slice() {
            [one] if one != old => Some(one.clone()),
            _ => None,
        }
    })
    .await;
    client
        .switch_to_window(handle.clone())
        .await
        .expect("switch to the new window");
    handle
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tray_icon_shows_the_state_and_its_menu_drives_the_app() {
    let app = app_binary();
    let started = Instant::now();
    let tray = SystemTray::start().await;

    // A colleague holds the file the user wants.
    let dav = Dav::start().await;
    for path in ["Budget 2026.xlsx", "Plan.pptx"] {
        dav.put(path).await;
    }
    let bob = dav.lock("Budget 2026.xlsx", "Bob Builder").await;
    dav.lock("Plan.pptx", "Carol").await;

    let (home, config) = home_with_config(&format!(
        "poll_interval_secs = 2\n\n[[servers]]\nname = \"team\"\nkind = \"webdav\"\nurl = \"{}\"\nwatch = [\"Budget 2026.xlsx\", \"Plan.pptx\"]\nwanted = [\"Budget 2026.xlsx\"]\n",
        dav.url
    ));

    let (driver, port) = Driver::start(home.path(), &config).await;
    let client = connect(port, &app).await;
    table_shown(&client).await;
    eventually(&client, "Budget 2026.xlsx locked by Bob", || async {
        (cell(&client, "Budget 2026.xlsx", ".col-holder").await? == "Bob Builder").then_some(())
    })
    .await;

    // The icon is docked in the tray, as the locked padlock.
    let (icon_window, icon) = docked_icon().await;
    // Just after start the X window takes a moment longer to show the table the page already has.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let shot = screen(Some(&client), "01-docked").await;
    let locked_icon = crop(&shot, icon, "01-icon-locked");
    assert!(
        locked_icon.chunks_exact(3).any(|p| *p != locked_icon[..3]),
        "the docked icon is not blank"
    );
    assert_eq!(green(&locked_icon), 0, "no green while the file is locked");

    // A click pops the menu up; the third enabled entry (Open, the wanted file, Pause) pauses watching.
    let menu = open_menu(icon, "1").await;
    crop(
        &screen(Some(&client), "02-menu").await,
        menu,
        "02-menu-only",
    );
    choose(3);
    eventually(&client, "the window to show that watching is paused", || async {
        let paused = script(
            &client,
            "return !!document.querySelector('.banner-paused') && document.querySelector('footer .status-paused')?.textContent",
        )
        .await;
        (paused == "Paused").then_some(())
    })
    .await;
    screen(Some(&client), "03-paused").await;

    // Closing the window destroys it with its webview, and WebKit ends the web process that rendered it;
    // the app stays in the tray. (WebKit's network process stays while WebDriver drives the app: ending
    // it would end the session. tests/rest.rs checks that it ends otherwise.)
    let geometry = Geometry::of(&main_window_shown().expect("the main window is mapped"))
        .expect("the window's geometry");
    let first = client
        .window()
        .await
        .expect("the window's WebDriver handle");
    close_main_window(&driver, &app, &client, "04-window-closed").await;
    assert_eq!(
        Geometry::of(&icon_window).map(|g| g.viewable),
        Some(true),
        "the tray icon stayed"
    );

    // The menu says watching is paused (its first line and the tick); its first entry opens the window
    // again: a new window, at the same size and place, with a new webview that WebDriver sees as a new
    // browsing context of the same session.
    let menu = open_menu(icon, "3").await;
    crop(
        &screen(None, "05-menu-paused").await,
        menu,
        "05-menu-paused-only",
    );
    choose(1);
    let reopened = until("the window to come back", main_window_shown).await;
    let second = switch_to_new_window(&client, &first).await;
    table_shown(&client).await;
    assert_eq!(
        script(&client, "return document.visibilityState").await,
        "visible"
    );
    let again = Geometry::of(&reopened).expect("the window's geometry");
    assert_eq!(
        (again.width, again.height, again.x, again.y),
        (geometry.width, geometry.height, geometry.x, geometry.y),
        "the window comes back at its size and place"
    );
    assert!(
        driver
            .app_processes(&app)
            .iter()
            .any(|p| p.name.starts_with("WebKitWebProces")),
        "a new web process renders it"
    );
    screen(Some(&client), "06-reopened").await;

    // The wanted file's entry reveals its row (focused in the table) in the open window.
    open_menu(icon, "1").await;
    choose(2);
    assert_eq!(focused_row(&client).await, "Budget 2026.xlsx");

    // And with the window closed, the same entry opens a new window at that row.
    close_main_window(&driver, &app, &client, "06b-window-closed-again").await;
    open_menu(icon, "1").await;
    choose(2);
    until("the window to open for the wanted file", main_window_shown).await;
    switch_to_new_window(&client, &second).await;
    assert_eq!(focused_row(&client).await, "Budget 2026.xlsx");
    screen(Some(&client), "06c-opened-at-the-wanted-file").await;

    // Starting Lockwatch a second time with the window closed opens it in the running app; the second
    // process ends at once.
    let third = client
        .window()
        .await
        .expect("the window's WebDriver handle");
    close_main_window(
        &driver,
        &app,
        &client,
        "06d-window-closed-for-a-second-launch",
    )
    .await;
    let second_launch = tokio::process::Command::new(&app)
        .envs(app_environment(home.path(), &config))
        .kill_on_drop(true)
        .status();
    let status = tokio::time::timeout(WAIT, second_launch)
        .await
        .expect("the second launch ends at once")
        .expect("start the app a second time");
    assert!(status.success(), "the second launch: {status}");
    until(
        "the window to open for the second launch",
        main_window_shown,
    )
    .await;
    switch_to_new_window(&client, &third).await;
    table_shown(&client).await;

    // Pause again resumes watching.
    open_menu(icon, "1").await;
    choose(3);
    eventually(&client, "watching to resume", || async {
        let paused = script(&client, "return !!document.querySelector('.banner-paused')").await;
        (paused == false).then_some(())
    })
    .await;

    // Bob releases the file: the icon turns into the free padlock.
    dav.unlock("Budget 2026.xlsx", &bob).await;
    eventually(&client, "Budget 2026.xlsx to become free", || async {
        (cell(&client, "Budget 2026.xlsx", ".col-state").await? == "Free").then_some(())
    })
    .await;
    let start = Instant::now();
    let (shot, free_icon) = loop {
        // The tray may repaint a moment after the window: compare until the icon changed.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (_, now) = docked_icon().await;
        let shot = screen(Some(&client), "07-freed").await;
        let pixels = crop(&shot, now, "07-icon-free");
        if pixels != locked_icon || start.elapsed() > WAIT {
            break (shot, pixels);
        }
    };
    let changed = free_icon
        .chunks_exact(3)
        .zip(locked_icon.chunks_exact(3))
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        changed * 10 > free_icon.len() / 3,
        "the icon changed ({changed} of {} pixels differ; see {})",
        free_icon.len() / 3,
        shot.display()
    );
    assert!(
        green(&free_icon) * 20 > free_icon.len() / 3,
        "the free icon is green ({} green pixels)",
        green(&free_icon)
    );

    // A StatusNotifier host appears, as when a panel starts: the app leaves the XEmbed tray for it, and
    // its menu reads as a panel shows it.
    let mut host = NotifierHost::start().await;
    let registered = host.next().await;
    assert!(registered.get("registered").is_some(), "{registered}");
    until("the XEmbed icon to leave the tray", || {
        Geometry::of(&icon_window)
            .is_none_or(|g| !g.viewable)
            .then_some(())
    })
    .await;
    screen(Some(&client), "08-moved-to-notifier-host").await;
    let menu = host.ask(serde_json::json!({"menu": true}), "menu").await;
    let entries = menu["menu"].as_array().expect("entries");
    let labels: Vec<&str> = entries
        .iter()
        .filter(|e| e["visible"] == true)
        .map(|e| e["label"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        labels,
        [
            "1 locked · 1 wanted · 1 free",
            "",
            "Open Lockwatch",
            "",
            "Wanted files",
            "Budget 2026.xlsx — free",
            "",
            "Pause watching",
            "Refresh now",
            "",
            "Quit Lockwatch",
        ],
        "{menu}"
    );
    assert_eq!(entries[0]["enabled"], false, "the counts are not an action");
    let pause = entries
        .iter()
        .find(|e| e["label"] == "Pause watching")
        .expect("Pause watching");
    assert_eq!(pause["toggle_type"], "checkmark", "{pause}");
    assert_eq!(pause["toggle_state"], 0, "not paused: {pause}");
    assert_eq!(menu["status"], "Active", "{menu}");

    // Quit ends the app: its item leaves the bus.
    host.ask(serde_json::json!({"click": "Quit Lockwatch"}), "clicked")
        .await;
    let gone = host.next().await;
    assert!(gone.get("unregistered").is_some(), "{gone}");
    println!(
        "tray: end-to-end tray test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(tray);
}
